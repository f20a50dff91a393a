"""What the connector checks in an activity a bot posts, and in the Adaptive Cards it carries.

The activity is parsed with the Teams SDK's own input models (`ActivityParams`: a message,
a typing indicator or a reaction, told apart by `type`); the connector takes `message` and
`typing`. A message carries `text` or `attachments`. It must stay under Teams' bot message
limit: 100 KB of the payload encoded as UTF-16, else 413 `MessageSizeTooBig`.

Adaptive Cards are held to what Teams renders: `type` `AdaptiveCard`, `version` at most
1.5 (Teams' limit for bot cards), body elements and actions of the types Adaptive Cards 1.5
defines, each parsed with its `microsoft_teams.cards` model (which checks the enumerations:
`weight`, `size`, `style`...) and holding the properties the 1.5 schema requires (the SDK's
models require none). Teams itself accepts such a card and shows its user an error in its
place; the stand-in refuses it with 400 `BadArgument`, so that a test sees it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from microsoft_teams.api.activities import ActivityParams, TypingActivityInput
from microsoft_teams.api.activities.message.message import MessageActivityInput
from microsoft_teams.cards import (
    ActionSet,
    AdaptiveCard,
    ChoiceSetInput,
    Column,
    ColumnSet,
    Container,
    DateInput,
    ExecuteAction,
    Fact,
    FactSet,
    Image,
    ImageSet,
    Media,
    NumberInput,
    OpenUrlAction,
    RichTextBlock,
    SerializableObject,
    ShowCardAction,
    SubmitAction,
    Table,
    TableCell,
    TableRow,
    TextBlock,
    TextInput,
    TextRun,
    TimeInput,
    ToggleInput,
    ToggleVisibilityAction,
)
from pydantic import TypeAdapter, ValidationError

ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
MAX_CARD_VERSION = (1, 5)
MAX_MESSAGE_BYTES = 100 * 1024
"""Teams' bot message limit: the payload as UTF-16, images given as base64 not counted."""

Model = type[SerializableObject]
ELEMENTS: dict[str, Model] = {
    "TextBlock": TextBlock,
    "Image": Image,
    "Media": Media,
    "RichTextBlock": RichTextBlock,
    "ActionSet": ActionSet,
    "Container": Container,
    "ColumnSet": ColumnSet,
    "FactSet": FactSet,
    "ImageSet": ImageSet,
    "Table": Table,
    "Input.Text": TextInput,
    "Input.Number": NumberInput,
    "Input.Date": DateInput,
    "Input.Time": TimeInput,
    "Input.Toggle": ToggleInput,
    "Input.ChoiceSet": ChoiceSetInput,
}
"""The elements a card body may hold in Adaptive Cards 1.5, by `type`."""
ACTIONS: dict[str, Model] = {
    "Action.OpenUrl": OpenUrlAction,
    "Action.Submit": SubmitAction,
    "Action.Execute": ExecuteAction,
    "Action.ShowCard": ShowCardAction,
    "Action.ToggleVisibility": ToggleVisibilityAction,
}
"""The actions Adaptive Cards 1.5 defines, by `type`."""
PARTS: dict[str, Model] = {
    "Column": Column,
    "Fact": Fact,
    "TableRow": TableRow,
    "TableCell": TableCell,
    "TextRun": TextRun,
}
"""What only appears inside another element, by its (implied) `type`."""
REQUIRED: dict[str, tuple[str, ...]] = {
    "TextBlock": ("text",),
    "Image": ("url",),
    "Media": ("sources",),
    "RichTextBlock": ("inlines",),
    "ActionSet": ("actions",),
    "Container": ("items",),
    "FactSet": ("facts",),
    "ImageSet": ("images",),
    "Input.Text": ("id",),
    "Input.Number": ("id",),
    "Input.Date": ("id",),
    "Input.Time": ("id",),
    "Input.Toggle": ("id", "title"),
    "Input.ChoiceSet": ("id",),
    "Action.OpenUrl": ("url",),
    "Action.ToggleVisibility": ("targetElements",),
    "Fact": ("title", "value"),
    "TextRun": ("text",),
}
"""The properties the Adaptive Cards 1.5 schema requires of each type."""
_URL_SCHEMES_WITHOUT_HOST = frozenset({"mailto", "tel"})
_ACTIVITY: TypeAdapter[ActivityParams] = TypeAdapter(ActivityParams)


class BadArgument(ValueError):
    """The connector's 400 `BadArgument`; the message says what was wrong and where."""


class TooBig(ValueError):
    """The connector's 413 `MessageSizeTooBig`."""


def check_activity(payload: object) -> MessageActivityInput | TypingActivityInput:
    """The activity a bot posted, parsed by the SDK; BadArgument or TooBig when refused."""
    if not isinstance(payload, dict):
        raise BadArgument("The request body must be a JSON object (an Activity).")
    kind = payload.get("type")
    if not isinstance(kind, str) or not kind:
        raise BadArgument("Activity type is required.")
    if kind not in ("message", "typing"):
        raise BadArgument(f"Activity type '{kind}' is not supported.")
    try:
        activity = _ACTIVITY.validate_python(payload)
    except ValidationError as invalid:
        raise BadArgument(f"Invalid activity: {_first_error(invalid)}") from None
    if isinstance(activity, TypingActivityInput):
        return activity
    assert isinstance(activity, MessageActivityInput)
    if not activity.text and not activity.attachments:
        raise BadArgument("A message activity needs text or attachments.")
    for index, attachment in enumerate(activity.attachments or []):
        if not attachment.content_type:
            raise BadArgument(f"attachments[{index}]: contentType is required.")
        if attachment.content_type == ADAPTIVE_CARD:
            check_card(attachment.content, f"attachments[{index}].content")
    size = len(json.dumps(payload, ensure_ascii=False).encode("utf-16-le"))
    if size > MAX_MESSAGE_BYTES:
        raise TooBig(f"Message size too big: {size} bytes, limit {MAX_MESSAGE_BYTES}.")
    return activity


def check_card(content: object, where: str = "content", *, nested: bool = False) -> None:
    """An Adaptive Card Teams renders; `nested` (an Action.ShowCard's) needs no version."""
    card = _object(content, where)
    if card.get("type") != "AdaptiveCard":
        raise BadArgument(f"{where}.type: must be 'AdaptiveCard'.")
    version = card.get("version")
    if version is not None or not nested:
        _check_version(version, f"{where}.version")
    _parse(AdaptiveCard, card, where)
    for index, element in enumerate(_list(card, "body", where)):
        _check_element(element, f"{where}.body[{index}]")
    _check_actions(card, where)
    if "selectAction" in card:
        _check_action(card["selectAction"], f"{where}.selectAction", select=True)


def _check_version(version: object, where: str) -> None:
    if not isinstance(version, str):
        raise BadArgument(f"{where}: the card's schema version is required, e.g. '1.5'.")
    try:
        major, minor = (int(part) for part in version.split("."))
    except ValueError:
        raise BadArgument(f"{where}: '{version}' is not a version like '1.5'.") from None
    if (major, minor) > MAX_CARD_VERSION:
        raise BadArgument(
            f"{where}: Teams renders Adaptive Cards up to version 1.5, not {version}."
        )


def _check_element(element: object, where: str) -> None:
    item = _object(element, where)
    kind, model = _known_type(item, ELEMENTS, "element", where)
    _check_typed(model, kind, item, where)
    if "fallback" in item and item["fallback"] != "drop":
        _check_element(item["fallback"], f"{where}.fallback")
    if "selectAction" in item:
        _check_action(item["selectAction"], f"{where}.selectAction", select=True)
    for name, parts in (("items", None), ("columns", "Column"), ("facts", "Fact")):
        for index, part in enumerate(_list(item, name, where)):
            _check_part_or_element(part, parts, f"{where}.{name}[{index}]")
    for index, image in enumerate(_list(item, "images", where)):
        image_where = f"{where}.images[{index}]"
        _check_element({"type": "Image", **_object(image, image_where)}, image_where)
    for index, row in enumerate(_list(item, "rows", where)):
        row_where = f"{where}.rows[{index}]"
        _check_typed(TableRow, "TableRow", _object(row, row_where), row_where)
        for cell_index, cell in enumerate(_list(_object(row, row_where), "cells", row_where)):
            _check_part_or_element(cell, "TableCell", f"{row_where}.cells[{cell_index}]")
    for index, inline in enumerate(_list(item, "inlines", where)):
        if not isinstance(inline, str):
            _check_part_or_element(inline, "TextRun", f"{where}.inlines[{index}]")
    _check_actions(item, where)


def _check_part_or_element(part: object, kind: str | None, where: str) -> None:
    """An element (`kind` None), or a part of the given type that may hold elements."""
    if kind is None:
        _check_element(part, where)
        return
    item = _object(part, where)
    if item.get("type", kind) != kind:
        raise BadArgument(f"{where}.type: expected {kind!r}, not {item.get('type')!r}.")
    _check_typed(PARTS[kind], kind, item, where)
    for index, element in enumerate(_list(item, "items", where)):
        _check_element(element, f"{where}.items[{index}]")
    if "selectAction" in item:
        _check_action(item["selectAction"], f"{where}.selectAction", select=True)


def _check_actions(item: Mapping[str, Any], where: str) -> None:
    for index, action in enumerate(_list(item, "actions", where)):
        _check_action(action, f"{where}.actions[{index}]")


def _check_action(action: object, where: str, *, select: bool = False) -> None:
    item = _object(action, where)
    kind, model = _known_type(item, ACTIONS, "action", where)
    if select and kind == "Action.ShowCard":
        raise BadArgument(f"{where}: Action.ShowCard cannot be a selectAction.")
    if kind == "Action.ShowCard" and "card" in item:
        check_card(item["card"], f"{where}.card", nested=True)  # before the SDK's own parse
    _check_typed(model, kind, item, where)
    if kind == "Action.OpenUrl":
        _check_url(item["url"], f"{where}.url")
    if "fallback" in item and item["fallback"] != "drop":
        _check_action(item["fallback"], f"{where}.fallback", select=select)


def _known_type(
    item: Mapping[str, Any], known: Mapping[str, Model], what: str, where: str
) -> tuple[str, Model]:
    kind = item.get("type")
    model = known.get(kind) if isinstance(kind, str) else None
    if model is None or not isinstance(kind, str):
        raise BadArgument(f"{where}.type: unknown {what} type {kind!r}.")
    return kind, model


def _check_typed(model: Model, kind: str, item: Mapping[str, Any], where: str) -> None:
    missing = [name for name in REQUIRED.get(kind, ()) if item.get(name) in (None, "", [])]
    if missing:
        raise BadArgument(f"{where}: {kind} requires '{missing[0]}'.")
    _parse(model, item, where)


def _check_url(url: object, where: str) -> None:
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or not parts.scheme:
        raise BadArgument(f"{where}: {url!r} is not an absolute URL.")
    if not parts.netloc and parts.scheme not in _URL_SCHEMES_WITHOUT_HOST:
        raise BadArgument(f"{where}: {url!r} is not an absolute URL.")


def _parse(model: Model, item: Mapping[str, Any], where: str) -> None:
    try:
        model.model_validate(item)
    except ValidationError as invalid:
        raise BadArgument(f"{where}: {_first_error(invalid)}") from None


def _object(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadArgument(f"{where}: expected a JSON object.")
    return value


def _list(item: Mapping[str, Any], name: str, where: str) -> list[object]:
    value = item.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadArgument(f"{where}.{name}: expected a list.")
    return value


def _first_error(invalid: ValidationError) -> str:
    error = invalid.errors()[0]
    location = ".".join(str(part) for part in error["loc"])
    return f"{location}: {error['msg']}" if location else str(error["msg"])
