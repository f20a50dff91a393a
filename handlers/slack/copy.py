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
OFFER_CLOSED = "This offer is closed. Tell me what you'd like to pay, or type `/pay`."
"""The ephemeral answer to a press on a message whose offer has ended."""
OFFER_TITLES = {
    "card": "Card entry",
    "pay": "Payment",
    "terms": "Terms",
    "bank": "Bank confirmation",
}
"""What each kind of offer message is called once it is closed."""
OFFER_ENDS = {
    "saved": "closed: your card is saved",
    "paid": "closed: paid",
    "cancelled": "closed: cancelled",
    "forgotten": "closed: your details were forgotten",
    "superseded": "closed: replaced by the newer message below",
    "closed": "closed",
}
"""Why an offer message was closed, as its closed text says it."""
SUGGESTED_PROMPTS = (
    {"title": "Pay an invoice", "message": "I'd like to pay an invoice"},
    {
        "title": "What card do you have on file?",
        "message": "What's my status, and which card do you have on file?",
    },
    {"title": "Forget my details", "message": "Forget my details"},
)
"""The Messages tab's suggested prompts: each message is one the conversation answers."""
WORKING = "is working on it…"
"""The thread's status while a turn waits on the model or Stripe ("paybot is working…")."""
WORKING_STEPS = ["Thinking…", "Checking with Stripe…"]
CHARGING = "is checking with Stripe…"
"""The Pay message's status while the charge is with Stripe."""
