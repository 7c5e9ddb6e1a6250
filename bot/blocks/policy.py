"""What a person sees when the policy says no: the reason, and whom to ask, with mentions.

Unlike :func:`bot.blocks.common.error_message`, which escapes everything, the mentions the
policy writes (``<@U…>``, ``<!subteam^S…>``, ``<#C…>``) stay live so the person can reach
the admin or channel in one click. Everything else is escaped, then only those exact shapes
are restored, so nothing else in a reason can ping anyone.
"""

from __future__ import annotations

import re

from bot.blocks.common import Message, escape, section, truncate
from bot.domain.policy import Decision

__all__ = ["build_denial"]

_ESCAPED_MENTION = re.compile(r"&lt;((?:@[UW]|#[CG]|!subteam\^S)[A-Z0-9]{2,30})&gt;")


def _with_mentions(text: str) -> str:
    return _ESCAPED_MENTION.sub(r"<\1>", escape(text))


def build_denial(decision: Decision, *, title: str = "You cannot do that here") -> Message:
    """An ephemeral message: ``title``, the reason, and whom to ask."""
    lines = [f":no_entry: *{escape(title)}*", _with_mentions(decision.reason)]
    if decision.whom_to_ask:
        lines.append(f":point_right: To change that, {_with_mentions(decision.whom_to_ask)}.")
    fallback = truncate(f"{title}: {decision.text}", 300)
    return Message(text=_with_mentions(fallback), blocks=[section("\n".join(lines))])
