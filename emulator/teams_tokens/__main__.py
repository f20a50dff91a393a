"""`python -m emulator.teams_tokens --port 3004`."""

from emulator.teams_tokens.urls import main

main()
