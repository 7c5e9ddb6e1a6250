"""Requests exactly as Slack sends them to an app: encoded, signed, with every field Slack sends.

The playground sends these to the bot for what a person does on its page; the tests send them
too (``tests/standins/slack_requests.py`` re-exports this module), so both speak the shapes one
test checks. Slash commands are form-encoded fields, all strings; interactivity (block_actions,
view_submission, view_closed) is a form with one ``payload`` field holding JSON; Events API
callbacks and url_verification are JSON. Every request carries ``X-Slack-Request-Timestamp`` and
the v0 HMAC-SHA256 ``X-Slack-Signature``. Over Socket Mode the same payloads arrive as JSON
inside envelopes (:meth:`SlackRequest.payload`, :attr:`SlackRequest.envelope_type`).

The shapes follow the corpus in ``tests/slack/corpus`` (Slack's own payloads, with their
sources), down to the nulls: ``enterprise`` is null outside Enterprise Grid, an untouched input
reads ``null`` or ``[]``, and a view carries every field Slack adds to the views it holds.
``tests/slack/test_corpus_builders.py`` compares the two key by key.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode

from slack_sdk.signature import SignatureVerifier

__all__ = [
    "TEAM",
    "SlackRequest",
    "block_actions",
    "event_callback",
    "new_trigger_id",
    "signed_headers",
    "slack_view",
    "slash_command",
    "url_verification",
    "view_closed",
    "view_state",
    "view_submission",
]

TEAM: dict[str, Any] = {"id": "T0DYNAMOTE", "domain": "dynamote"}
APP_ID = "A0DYNAMOTE"
BOT_ID = "B0DYNAMOTE"
BOT_USER_ID = "U0DYNAMOTE"
# Slack still sends its deprecated verification token in every payload.
VERIFICATION_TOKEN = "deprecated-verification-token"  # noqa: S105  (made up, not a secret)
_TRIGGERS = itertools.count(1)
_IDS = itertools.count(1)

EnvelopeType = Literal["slash_commands", "interactive", "events_api"]


@dataclass(frozen=True)
class SlackRequest:
    """A body and its content type, ready to be signed and posted to /slack/events."""

    body: bytes
    content_type: str

    def headers(self, secret: str, *, timestamp: int | None = None) -> dict[str, str]:
        return signed_headers(
            self.body, secret, timestamp=timestamp, content_type=self.content_type
        )

    def payload(self) -> dict[str, Any]:
        """What a Socket Mode envelope carries for this request: the same fields, as JSON."""
        text = self.body.decode()
        if self.content_type == "application/json":
            parsed: dict[str, Any] = json.loads(text)
            return parsed
        fields = dict(parse_qsl(text, keep_blank_values=True))
        return json.loads(fields["payload"]) if "payload" in fields else dict(fields)

    @property
    def envelope_type(self) -> EnvelopeType:
        """The Socket Mode envelope type Slack uses for this kind of request."""
        if self.content_type == "application/json":
            return "events_api"
        fields = dict(parse_qsl(self.body.decode(), keep_blank_values=True))
        return "interactive" if "payload" in fields else "slash_commands"


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


def _new_id(prefix: str) -> str:
    return f"{prefix}0{next(_IDS):08d}"


def _user(user: str, team: Mapping[str, Any] | None) -> dict[str, Any]:
    team_id = (team or TEAM)["id"]
    return {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team_id}


def _channel_name(channel: str) -> str:
    return "directmessage" if channel.startswith("D") else "general"


def slash_command(
    text: str,
    *,
    user: str = "U0ALICE",
    user_name: str | None = None,
    channel: str = "C0GENERAL",
    channel_name: str | None = None,
    team: Mapping[str, Any] = TEAM,
    enterprise: Mapping[str, Any] | None = None,
    command: str = "/dynamote",
    response_url: str = "",
    trigger_id: str | None = None,
) -> SlackRequest:
    """``command text`` typed in ``channel``; ``enterprise`` ({id, name}) on Enterprise Grid.

    ``channel_name`` defaults to what Slack sends: "directmessage" in a DM, else a name.
    """
    fields = {"token": VERIFICATION_TOKEN, "team_id": team["id"], "team_domain": team["domain"]}
    if enterprise is not None:
        fields |= {"enterprise_id": enterprise["id"], "enterprise_name": enterprise["name"]}
    fields |= {
        "channel_id": channel,
        "channel_name": channel_name or _channel_name(channel),
        "user_id": user,
        "user_name": user_name or user.lower(),
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",  # a string: the form has no booleans
        "response_url": response_url,
        "trigger_id": trigger_id or new_trigger_id(),
    }
    return SlackRequest(urlencode(fields).encode(), "application/x-www-form-urlencoded")


def _interactive(payload: Mapping[str, Any]) -> SlackRequest:
    body = urlencode({"payload": json.dumps(payload)}).encode()
    return SlackRequest(body, "application/x-www-form-urlencoded")


def _action(action: Mapping[str, Any], block_id: str) -> dict[str, Any]:
    """An element in ``actions`` as Slack sends it: ids, its type, its text, when it fired."""
    sent: dict[str, Any] = {"block_id": block_id, **action}
    if sent.get("type", "button") == "button":
        sent.setdefault("type", "button")
        label = str(action.get("action_id", "button"))
        sent.setdefault("text", {"type": "plain_text", "text": label, "emoji": True})
    sent.setdefault("action_ts", f"{time.time():.6f}")
    return sent


def _message_with(actions: Sequence[Mapping[str, Any]], block_id: str, ts: str) -> dict[str, Any]:
    """The bot's message holding the clicked elements, as Slack echoes it."""
    elements = [{k: v for k, v in a.items() if k not in ("action_ts", "block_id")} for a in actions]
    return {
        "bot_id": BOT_ID,
        "type": "message",
        "text": "Dynamote",
        "user": BOT_USER_ID,
        "ts": ts,
        "app_id": APP_ID,
        "blocks": [{"type": "actions", "block_id": block_id, "elements": elements}],
        "team": TEAM["id"],
    }


def block_actions(
    actions: Sequence[Mapping[str, Any]],
    *,
    user: str = "U0ALICE",
    channel: str | None = "C0GENERAL",
    response_url: str | None = None,
    view: Mapping[str, Any] | None = None,
    container: Mapping[str, Any] | None = None,
    trigger_id: str | None = None,
    team: Mapping[str, Any] | None = TEAM,
    enterprise: Mapping[str, Any] | None = None,
    ephemeral: bool = False,
    message: Mapping[str, Any] | None = None,
    block_id: str = "b",
) -> SlackRequest:
    """A click or selection: inside ``view`` (a modal or Home) when given, else on a message
    in ``channel`` (``ephemeral``: one only the user sees, which Slack does not echo back).

    ``team`` is None for an org-wide install; ``enterprise`` is {id, name} on Enterprise Grid
    and null elsewhere.
    """
    sent_actions = [_action(action, block_id) for action in actions]
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user, team),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
    }
    if view is not None:
        held = slack_view(view)
        payload["container"] = {"type": "view", "view_id": held["id"], **(container or {})}
    else:
        if not channel or not response_url:
            raise ValueError("a click on a message comes with its channel and a response_url")
        ts = f"{time.time():.6f}"
        payload["container"] = {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel,
            "is_ephemeral": ephemeral,
            **(container or {}),
        }
    payload |= {
        "trigger_id": trigger_id or new_trigger_id(),
        "team": dict(team) if team is not None else None,
        "enterprise": dict(enterprise) if enterprise is not None else None,
        "is_enterprise_install": team is None,
    }
    if view is not None:
        payload["view"] = held
    else:
        payload["channel"] = {"id": channel, "name": _channel_name(str(channel))}
        if not ephemeral:
            payload["message"] = dict(message or _message_with(sent_actions, block_id, ts))
        payload["state"] = {"values": {}}
        payload["response_url"] = response_url
    payload["actions"] = sent_actions
    return _interactive(payload)


def slack_view(view: Mapping[str, Any]) -> dict[str, Any]:
    """``view`` as Slack holds it and sends it back: the fields Slack adds, where missing.

    Without a ``state``, its state is what Slack holds for a view nobody has touched yet.
    """
    view_id = str(view.get("id") or _new_id("V"))
    held: dict[str, Any] = {
        "id": view_id,
        "team_id": TEAM["id"],
        "type": "modal",
        "blocks": [],
        "private_metadata": "",
        "callback_id": "",
        "state": view["state"] if "state" in view else {"values": view_state(view)},
        "hash": f"{int(time.time())}.{view_id[-8:]}",
        "title": {"type": "plain_text", "text": "View Title", "emoji": True},
        "clear_on_close": False,
        "notify_on_close": False,
        "close": None,
        "submit": None,
        "previous_view_id": None,
        "root_view_id": view_id,
        "app_id": APP_ID,
        "external_id": "",
        "app_installed_team_id": TEAM["id"],
        "bot_id": BOT_ID,
    }
    held.update(view)
    return held


def view_submission(
    view: Mapping[str, Any],
    *,
    user: str = "U0ALICE",
    team: Mapping[str, Any] | None = TEAM,
    enterprise: Mapping[str, Any] | None = None,
) -> SlackRequest:
    """A modal's submit: the view as Slack holds it, including ``state.values``."""
    payload: dict[str, Any] = {
        "type": "view_submission",
        "team": dict(team) if team is not None else None,
        "user": _user(user, team),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": new_trigger_id(),
        "view": slack_view(view),
        "response_urls": [],
        "is_enterprise_install": team is None,
        "enterprise": dict(enterprise) if enterprise is not None else None,
    }
    return _interactive(payload)


def view_closed(view: Mapping[str, Any], *, user: str = "U0ALICE") -> SlackRequest:
    """A modal closed with Cancel or its X (sent only for views with notify_on_close)."""
    payload = {
        "type": "view_closed",
        "team": dict(TEAM),
        "user": _user(user, TEAM),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "view": slack_view(view),
        "is_cleared": False,
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return _interactive(payload)


def event_callback(event: Mapping[str, Any]) -> SlackRequest:
    """An Events API delivery (e.g. ``app_home_opened``), with its authorizations."""
    event_id = _new_id("Ev")
    body = {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM["id"],
        "context_team_id": TEAM["id"],
        "context_enterprise_id": None,
        "api_app_id": APP_ID,
        "event": dict(event),
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": TEAM["id"],
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{event_id}",
    }
    return SlackRequest(json.dumps(body).encode(), "application/json")


def url_verification(challenge: str) -> SlackRequest:
    """The check Slack makes when the Request URL is saved."""
    body = {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
    return SlackRequest(json.dumps(body).encode(), "application/json")


def view_state(
    view: Mapping[str, Any], typed: Mapping[str, str | Sequence[str] | None] | None = None
) -> dict[str, Any]:
    """``view.state.values`` as Slack sends them: initial values, changed where ``typed`` says.

    Every input block is there. Untouched, an input without an initial value reads as Slack
    sends it: ``value: null`` (text, number), ``selected_option: null`` (select, radio
    buttons), ``selected_options: []`` (checkboxes, multi-select), ``selected_conversation``
    (conversations select: its initial conversation, else null).

    ``typed`` maps a block id (or its base, before any ``.revision`` suffix) to what the person
    entered: text for text and number inputs, an option value for selects and radio buttons,
    a list of option values for checkboxes and multi-selects, None to clear the input.
    """
    changes = dict(typed or {})
    values: dict[str, Any] = {}
    used: set[str] = set()
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
            used.add(key)
        values[block_id] = {element["action_id"]: state}
    missing = sorted(set(changes) - used)
    if missing:  # nobody can type into an input the view does not show
        raise KeyError(f"the view has no input block {', '.join(missing)}")
    return values


_SINGLE_CHOICE = ("static_select", "radio_buttons")
_MULTIPLE_CHOICE = ("checkboxes", "multi_static_select")


def _options(element: Mapping[str, Any]) -> list[dict[str, Any]]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options += group.get("options") or []
    return options


def _initial_state(element: Mapping[str, Any]) -> dict[str, Any]:
    kind = element["type"]
    if kind == "conversations_select":
        return {"type": kind, "selected_conversation": element.get("initial_conversation")}
    if kind in _SINGLE_CHOICE:
        return {"type": kind, "selected_option": element.get("initial_option")}
    if kind in _MULTIPLE_CHOICE:
        return {"type": kind, "selected_options": list(element.get("initial_options") or [])}
    return {"type": kind, "value": element.get("initial_value")}


def _typed_state(element: Mapping[str, Any], typed: str | Sequence[str] | None) -> dict[str, Any]:
    kind = element["type"]
    if kind == "conversations_select":  # Slack sends the picked conversation's id
        return {"type": kind, "selected_conversation": typed or None}
    by_value = {str(o.get("value")): o for o in _options(element)}
    if kind in _SINGLE_CHOICE:
        return {"type": kind, "selected_option": by_value.get(str(typed)) if typed else None}
    if kind in _MULTIPLE_CHOICE:
        chosen = [typed] if isinstance(typed, str) else list(typed or [])
        return {"type": kind, "selected_options": [by_value[v] for v in chosen if v in by_value]}
    return {"type": kind, "value": typed}
