"""The card modal's submission: validated and tokenized inside the ack, never deferred."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltRequest
from slack_sdk import WebClient

from bot.card_form import FIELDS
from bot.errors import PaybotError
from handlers.services import Services
from handlers.slack import offers, render
from handlers.slack.blocks import CARD_FORM, result_view
from handlers.slack.links import return_url
from handlers.slack.users import chat_user


def field_value(view: dict[str, Any], block_id: str) -> str:
    """The typed value of one input block; "" when absent or malformed."""
    found: Any = view
    for key in ("state", "values", block_id, block_id, "value"):
        found = found.get(key) if isinstance(found, dict) else None
    return found if isinstance(found, str) else ""


def register(app: App, services: Services) -> None:
    def submit(
        ack: Ack,
        body: dict[str, Any],
        view: dict[str, Any],
        client: WebClient,
        context: BoltContext,
        request: BoltRequest,
    ) -> None:
        team_id, user_id = context.team_id or "", context.user_id or ""
        user = chat_user(team_id, user_id)
        form_ref = view.get("private_metadata")
        fields = {name: field_value(view, name) for name in FIELDS}
        back = return_url(
            request.headers,
            public_url=services.public_url,
            team_id=team_id,
            payload=body,
        )
        try:
            effects = services.conversation.submit_card(
                user,
                form_ref if isinstance(form_ref, str) else "",
                return_url=back,
                **fields,
            )
        except PaybotError as exc:
            ack(response_action="update", view=result_view(render.apology(exc)))
            return
        response = render.view_response(effects)
        ack(**response) if response else ack()
        offers.deliver(services.conversation, client, user, user_id, effects)

    app.view(CARD_FORM)(submit)
