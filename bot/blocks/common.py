"""What every surface shares: the Message value, phase badges, escaping, ages, small block makers.

Builders return ``slack_sdk.models`` objects; a chat message is a :class:`Message` (fallback
text + blocks) that listeners turn into keyword arguments with :meth:`Message.as_kwargs`.
The helpers here keep every text inside Slack's limits (bot.blocks.limit_rules) by trimming, so a
long name or a chatty operator message can never make Slack refuse a payload. Pure: no I/O.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    OverflowMenuElement,
    PlainTextObject,
    SectionBlock,
)

__all__ = [
    "MAX_SECTION_TEXT",
    "PHASE_BADGES",
    "Message",
    "age",
    "badge",
    "button",
    "code",
    "context",
    "error_message",
    "escape",
    "header",
    "mention",
    "page_slice",
    "pager",
    "section",
    "text_sections",
    "truncate",
]

T = TypeVar("T")

MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75
MAX_CONTEXT_TEXT = 2000

PHASE_BADGES: dict[str, str] = {
    "Pending": ":large_yellow_circle: Pending",
    "Deploying": ":large_blue_circle: Deploying",
    "Running": ":large_green_circle: Running",
    "Failed": ":red_circle: Failed",
    "Terminating": ":large_orange_circle: Terminating",
    "Deleted": ":white_circle: Deleted",
}

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,40}$")


@dataclass(frozen=True)
class Message:
    """A chat message or an ephemeral reply: notification fallback text plus blocks."""

    text: str
    blocks: list[Block]

    def as_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for chat_postMessage, chat_update or respond()."""
        return {"text": self.text or " ", "blocks": [block.to_dict() for block in self.blocks]}


def badge(phase: str) -> str:
    """``":large_green_circle: Running"``; an unknown phase gets a question mark."""
    return PHASE_BADGES.get(phase, f":grey_question: {escape(phase) or 'Unknown'}")


def escape(text: str) -> str:
    """Escape ``& < >`` so user input shows as typed in mrkdwn (and cannot ping anyone)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ending with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + "…"


def mention(user_id: str | None) -> str:
    """``<@U123>`` for a Slack user id; anything else (hand-edited annotations) as plain text."""
    if not user_id:
        return "someone"
    if _USER_ID.fullmatch(user_id):
        return f"<@{user_id}>"
    return escape(truncate(user_id, 40))


def age(created_at: datetime | None, now: datetime) -> str:
    """How long ago, in one unit: ``"45s"``, ``"3m"``, ``"2h"``, ``"5d"``; ``"?"`` if unknown."""
    if created_at is None:
        return "?"
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    seconds = max(int((now - created_at).total_seconds()), 0)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def code(text: str) -> str:
    """A fenced mrkdwn code block; escaped, and with no fence inside to end it early."""
    return "```\n" + escape(text).replace("```", "``\u200b`") + "\n```"


# --- block makers --------------------------------------------------------------------------


def section(
    text: str,
    *,
    accessory: ButtonElement | OverflowMenuElement | None = None,
    block_id: str | None = None,
) -> SectionBlock:
    """A mrkdwn section, trimmed to Slack's 3000 characters."""
    return SectionBlock(
        text=MarkdownTextObject(text=truncate(text, MAX_SECTION_TEXT) or " "),
        accessory=accessory,
        block_id=block_id,
    )


def header(text: str) -> HeaderBlock:
    """A header block (plain text, at most 150 characters)."""
    return HeaderBlock(text=PlainTextObject(text=truncate(text, MAX_HEADER_TEXT) or " "))


def context(*texts: str) -> ContextBlock:
    """A context block of up to 10 mrkdwn snippets."""
    elements = [MarkdownTextObject(text=truncate(t, MAX_CONTEXT_TEXT) or " ") for t in texts[:10]]
    return ContextBlock(elements=elements)


def button(
    text: str,
    action_id: str,
    value: str,
    *,
    style: str | None = None,
    confirm: ConfirmObject | None = None,
) -> ButtonElement:
    """A button; its label is trimmed to 75 characters."""
    return ButtonElement(
        text=PlainTextObject(text=truncate(text, MAX_BUTTON_TEXT), emoji=True),
        action_id=action_id,
        value=value,
        style=style,
        confirm=confirm,
    )


def text_sections(lines: Sequence[str], *, limit: int = MAX_SECTION_TEXT) -> list[SectionBlock]:
    """Lines packed into as few sections as fit ``limit`` characters each (long lines trimmed)."""
    sections: list[SectionBlock] = []
    chunk = ""
    for raw in lines:
        line = truncate(raw, limit)
        candidate = f"{chunk}\n{line}" if chunk else line
        if len(candidate) > limit:
            sections.append(section(chunk))
            candidate = line
        chunk = candidate
    if chunk:
        sections.append(section(chunk))
    return sections


# --- paging --------------------------------------------------------------------------------


def page_slice(items: Sequence[T], page: int, page_size: int) -> tuple[list[T], int, int]:
    """The items on ``page`` (clamped into range), that page and the page count (>= 1)."""
    size = max(page_size, 1)
    pages = max(math.ceil(len(items) / size), 1)
    page = min(max(page, 0), pages - 1)
    return list(items[page * size : (page + 1) * size]), page, pages


def pager(
    action_id: str,
    *,
    page: int,
    pages: int,
    total: int,
    noun: str,
    value: Callable[[int], dict[str, Any]],
) -> list[Block]:
    """ "Page N of M" and Previous/Next buttons carrying ``value(page)`` as JSON.

    Both buttons share ``action_id`` (one listener pages either way), and an action id must be
    unique within its block, so each button sits in its own actions block. One page: nothing.
    """
    if pages <= 1:
        return []
    blocks: list[Block] = [context(f"Page {page + 1} of {pages} · {total} {noun}")]
    if page > 0:
        previous = button(":arrow_left: Previous", action_id, _page_value(value(page - 1)))
        blocks.append(ActionsBlock(elements=[previous]))
    if page < pages - 1:
        following = button("Next :arrow_right:", action_id, _page_value(value(page + 1)))
        blocks.append(ActionsBlock(elements=[following]))
    return blocks


def _page_value(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"))


# --- errors --------------------------------------------------------------------------------


def error_message(title: str, detail: str, *, fix: str | None = None) -> Message:
    """An ephemeral error: what went wrong, and how to fix it when there is a way."""
    title = title.strip() or "Something went wrong"
    detail = detail.strip()
    detail = detail[:1].upper() + detail[1:]  # a sentence, even from a terse parser message
    lines = [f":warning: *{escape(title)}*", escape(detail)]
    if fix:
        lines.append(f":point_right: {escape(fix.strip())}")
    text = "\n".join(line for line in lines if line)
    return Message(text=escape(truncate(f"{title}: {detail}", 300)), blocks=[section(text)])
