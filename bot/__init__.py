"""paybot: collect a payment card in a chat, without keeping card data."""
