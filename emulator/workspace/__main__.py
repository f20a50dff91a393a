"""`python -m emulator.workspace --port 3000 --bot-url URL --signing-secret S`."""

from emulator.workspace.urls import main

main()
