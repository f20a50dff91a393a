"""`python -m emulator.stripe_api --port N`: the Stripe test API on 127.0.0.1."""

from emulator.stripe_api.urls import main

main()
