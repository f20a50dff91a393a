"""What the bot says only on Slack: help naming `/pay`, and the card modal's timing."""

from __future__ import annotations

HELP = (
    "I collect a payment card safely: you type the card into a private Slack form, "
    "it goes straight to our payment provider, and this chat only ever shows the brand "
    "and last four digits.\n"
    "• `/pay` opens the secure card form\n"
    "• `/pay 45 USD INV-1001` opens it for an amount and reference\n"
    "• `/pay status` shows where things stand\n"
    "• `/pay cancel` stops the current payment\n"
    "• `/pay forget` deletes what I keep about you\n"
    "• `/pay payments` lists your last payments, where I take payments\n"
    "Or just tell me here what you'd like to pay."
)
FORM_TIMED_OUT = "I couldn't open the card form in time. Please type `/pay` again."
FORM_DID_NOT_OPEN = "I couldn't open the card form in time. Please press the button again."
UNKNOWN_OPTION = "I didn't recognise that option."
