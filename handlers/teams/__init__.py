"""The Microsoft Teams surface: personal chats through the Teams SDK, cards on Stripe's page."""
