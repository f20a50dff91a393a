"""`python -m emulator.teams_connector --port 3005 --tokens-port 3004`."""

from emulator.teams_connector.urls import main

main()
