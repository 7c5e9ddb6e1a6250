"""Requests exactly as Slack sends them to an app: encoded, signed, with realistic payloads.

Slash commands are form-encoded fields; interactivity (block_actions, view_submission) is a
form with one ``payload`` field holding JSON; Events API callbacks are JSON. Every request
carries ``X-Slack-Request-Timestamp`` and the v0 HMAC-SHA256 ``X-Slack-Signature``. Tests and
benchmarks use these to drive the real HTTP server the way Slack would.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

__all__ = [
    "SlackRequest",
    "block_actions",
    "event_callback",
    "signed_headers",
    "slash_command",
    "view_state",
    "view_submission",
]

TEAM = {"id": "T0DYNAMOTE", "domain": "dynamote"}
_TRIGGERS = itertools.count(1)


@dataclass(frozen=True)
class SlackRequest:
    """A body and its content type, ready to be signed and posted to /slack/events."""

    body: bytes
    content_type: str

    def headers(self, secret: str, *, timestamp: int | None = None) -> dict[str, str]:
        return signed_headers(
            self.body, secret, timestamp=timestamp, content_type=self.content_type
        )


def signed_headers(
    body: bytes,
    secret: str,
    *,
    timestamp: int | None = None,
    content_type: str = "application/x-www-form-urlencoded",
) -> dict[str, str]:
    """Headers signed as Slack signs them: ``v0=`` HMAC-SHA256 over ``v0:<ts>:<body>``."""
    sent = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=sent, body=body)
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": sent,
        "X-Slack-Signature": str(signature),
    }


def new_trigger_id() -> str:
    return f"{next(_TRIGGERS)}.{time.time_ns()}.0123456789abcdef"


def slash_command(
    text: str,
    *,
    user: str = "U0ALICE",
    channel: str = "C0GENERAL",
    command: str = "/dynamote",
    response_url: str = "",
    trigger_id: str | None = None,
) -> SlackRequest:
    fields = {
        "token": "deprecated-verification-token",
        "team_id": TEAM["id"],
        "team_domain": TEAM["domain"],
        "channel_id": channel,
        "channel_name": "general",
        "user_id": user,
        "user_name": user.lower(),
        "command": command,
        "text": text,
        "api_app_id": "A0DYNAMOTE",
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or new_trigger_id(),
    }
    return SlackRequest(urlencode(fields).encode(), "application/x-www-form-urlencoded")


def _interactive(payload: Mapping[str, Any]) -> SlackRequest:
    body = urlencode({"payload": json.dumps(payload)}).encode()
    return SlackRequest(body, "application/x-www-form-urlencoded")


def block_actions(
    actions: Sequence[Mapping[str, Any]],
    *,
    user: str = "U0ALICE",
    channel: str | None = "C0GENERAL",
    response_url: str | None = None,
    view: Mapping[str, Any] | None = None,
    container: Mapping[str, Any] | None = None,
    trigger_id: str | None = None,
) -> SlackRequest:
    """A click or selection; ``view`` when it happened inside a modal or Home."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "team": TEAM,
        "user": {"id": user, "username": user.lower(), "team_id": TEAM["id"]},
        "api_app_id": "A0DYNAMOTE",
        "token": "deprecated-verification-token",
        "trigger_id": trigger_id or new_trigger_id(),
        "container": dict(container or {"type": "message"}),
        "actions": [
            {"action_ts": f"{time.time():.6f}", "block_id": "b", **action} for action in actions
        ],
    }
    if channel:
        payload["channel"] = {"id": channel, "name": "general"}
    if response_url:
        payload["response_url"] = response_url
    if view is not None:
        payload["view"] = dict(view)
    return _interactive(payload)


def view_submission(view: Mapping[str, Any], *, user: str = "U0ALICE") -> SlackRequest:
    """A modal's submit: the view as Slack holds it, including ``state.values``."""
    payload = {
        "type": "view_submission",
        "team": TEAM,
        "user": {"id": user, "username": user.lower(), "team_id": TEAM["id"]},
        "api_app_id": "A0DYNAMOTE",
        "token": "deprecated-verification-token",
        "trigger_id": new_trigger_id(),
        "view": dict(view),
        "response_urls": [],
    }
    return _interactive(payload)


def event_callback(event: Mapping[str, Any]) -> SlackRequest:
    """An Events API delivery (e.g. ``app_home_opened``)."""
    body = {
        "token": "deprecated-verification-token",
        "team_id": TEAM["id"],
        "api_app_id": "A0DYNAMOTE",
        "event": dict(event),
        "type": "event_callback",
        "event_id": f"Ev{time.time_ns()}",
        "event_time": int(time.time()),
    }
    return SlackRequest(json.dumps(body).encode(), "application/json")


def view_state(
    view: Mapping[str, Any], typed: Mapping[str, str | Sequence[str] | None] | None = None
) -> dict[str, Any]:
    """``view.state.values`` as Slack sends them: initial values, changed where ``typed`` says.

    ``typed`` maps a block id (or its base, before any ``.revision`` suffix) to what the person
    entered: text for text and number inputs, an option value for selects and radio buttons,
    a list of option values for checkboxes, None to clear the input.
    """
    changes = dict(typed or {})
    values: dict[str, Any] = {}
    for block in view.get("blocks") or []:
        if block.get("type") != "input":
            continue
        block_id = str(block["block_id"])
        element = block["element"]
        base = block_id.split(".", 1)[0]
        key = block_id if block_id in changes else base
        state = _initial_state(element)
        if key in changes:
            state = _typed_state(element, changes[key])
        values[block_id] = {element["action_id"]: state}
    return values


def _options(element: Mapping[str, Any]) -> list[dict[str, Any]]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options += group.get("options") or []
    return options


def _initial_state(element: Mapping[str, Any]) -> dict[str, Any]:
    kind = element["type"]
    if kind in ("static_select", "radio_buttons"):
        return {"type": kind, "selected_option": element.get("initial_option")}
    if kind == "checkboxes":
        return {"type": kind, "selected_options": element.get("initial_options") or []}
    return {"type": kind, "value": element.get("initial_value")}


def _typed_state(element: Mapping[str, Any], typed: str | Sequence[str] | None) -> dict[str, Any]:
    kind = element["type"]
    by_value = {str(o.get("value")): o for o in _options(element)}
    if kind in ("static_select", "radio_buttons"):
        return {"type": kind, "selected_option": by_value.get(str(typed)) if typed else None}
    if kind == "checkboxes":
        chosen = [typed] if isinstance(typed, str) else list(typed or [])
        return {"type": kind, "selected_options": [by_value[v] for v in chosen if v in by_value]}
    return {"type": kind, "value": typed}
