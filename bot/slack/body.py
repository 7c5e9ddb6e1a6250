"""How a request body from Slack reads: the fields a listener sees, or None when Slack would
never send it.

Slack posts three encodings to one Request URL: a slash command is form fields; interactivity
(block_actions, view_submission, view_closed, shortcuts) is a form whose one field, ``payload``,
holds JSON; Events API callbacks (and url_verification) are JSON. Bolt's own reader takes a form
for an interactivity form whenever the text ``payload`` appears anywhere in the body, so a slash
command from ``#payload-team``, by ``payload.bot``, in a workspace whose domain has the word, or
with the word in its text, would reach Bolt as an empty body and be answered 404.
:func:`read_body` decides by the form's field names instead
(``bot.slack.bolt_handler`` gives Bolt this reading).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

__all__ = ["read_body"]

# Fields Bolt and the listeners read as objects without checking their type. Slack sends
# ``enterprise`` as null outside Enterprise Grid and ``team`` as null in org-wide installs;
# the others are objects whenever they are present.
_OBJECT_FIELDS = ("event", "view", "user", "channel", "container")
_NULLABLE_OBJECT_FIELDS = ("enterprise", "team")


def read_body(text: str, content_type: str) -> dict[str, Any] | None:
    """The body as the listeners see it; None when it is not something Slack sends."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json":
        return _payload(text)
    fields = dict(parse_qsl(text, keep_blank_values=True))
    if "payload" in fields:
        return _payload(fields["payload"])
    return fields  # a slash command (or an empty body)


def _payload(text: str) -> dict[str, Any] | None:
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    if not isinstance(parsed, dict):
        return None
    objects = all(isinstance(parsed[k], dict) for k in _OBJECT_FIELDS if k in parsed)
    nullable = all(
        parsed[k] is None or isinstance(parsed[k], dict)
        for k in _NULLABLE_OBJECT_FIELDS
        if k in parsed
    )
    actions = parsed.get("actions", [])
    well_formed = isinstance(actions, list) and all(isinstance(a, dict) for a in actions)
    return parsed if objects and nullable and well_formed else None
