"""`python -m emulator.slack_api --port 3001`."""

from emulator.slack_api.urls import main

main()
