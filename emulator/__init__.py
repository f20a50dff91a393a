"""Local stand-ins that speak Slack's, Stripe's and Bedrock's protocols."""
