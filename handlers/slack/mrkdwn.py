"""Slack's mrkdwn at the edge: the core's chat markdown out, a person's Slack text in.

The core writes chat markdown (`bot.messages`): `**bold**`, `` `code` ``, Unicode
emoji, commands as code spans of their words. Slack sends a person's text with
its own markup: `&amp;`-style escapes, `<@U123>` mentions, `<https://…|label>`
links, `:+1:` emoji names. Both translations happen here, and nowhere else.
"""

from __future__ import annotations

import re

_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
# A code span holding one of the bot's commands: `pay`, `pay status`, `pay 45 USD INV-1`.
_COMMAND = re.compile(r"`pay((?: [^`\n]*)?)`")
# <@U123>, <#C1|general>, <!here>, <https://…|label>, <mailto:a@b.co|a@b.co>
_MARKUP = re.compile(r"<([^<>]*)>")
_SKIN_TONE = re.compile(r"::skin-tone-[2-6]:")
_EMOJI = {
    ":+1:": "👍",
    ":thumbsup:": "👍",
    ":ok_hand:": "👌",
    ":ok:": "🆗",
    ":white_check_mark:": "✅",
    ":heavy_check_mark:": "✔️",
    ":wave:": "👋",
}
_EMOJI_NAME = re.compile("|".join(re.escape(name) for name in _EMOJI))


def to_mrkdwn(text: str) -> str:
    """Chat markdown as Slack shows it, never as a mention or a link.

    Escapes exactly `&`, `<` and `>` (what Slack asks), makes `**bold**` Slack's
    `*bold*`, and writes a command span as the slash command people type.
    """
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _BOLD.sub(r"*\1*", text)
    return _COMMAND.sub(r"`/pay\1`", text)


def from_mrkdwn(text: str) -> str:
    """A person's Slack message as plain text: what they see, minus mentions and links.

    A mailto link becomes its address (a receipt email is a slot); every other link,
    mention or channel becomes a space, so that neither an id nor a URL is read as an
    amount or a reference. Slack's escapes and the emoji names the rules know are
    turned back into characters.
    """
    text = _MARKUP.sub(_readable, text)
    text = _EMOJI_NAME.sub(lambda found: _EMOJI[found.group(0)], _SKIN_TONE.sub(":", text))
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _readable(markup: re.Match[str]) -> str:
    target, _, label = markup.group(1).partition("|")
    if target.startswith("mailto:"):
        return label or target.removeprefix("mailto:")
    return " "
