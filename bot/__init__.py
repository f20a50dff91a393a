"""paybot: collect a payment card in Slack without keeping card data."""
