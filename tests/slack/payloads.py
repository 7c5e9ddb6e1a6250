"""The corpus of real Slack payloads (``tests/slack/corpus``), and how tests send its cases.

Each corpus file holds one kind of payload (``_source`` names where its shape comes from) and
its ``cases``. A case is sent as Slack sends it: slash commands form-encoded, interactivity as
``payload=<JSON>``, events as JSON; over Socket Mode, its JSON inside an envelope. Two fields
are Slack's per-request values and are replaced when a case is sent: ``trigger_id`` (single
use), ``event_id`` (one per delivery) and ``response_url`` (a stand-in URL, so that nothing
leaves 127.0.0.1).
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bot.blocks.deploy_form import MAX_ERROR_CHARS
from bot.blocks.limits import check_view
from tests.standins.slack_requests import SlackRequest, new_trigger_id

CORPUS = Path(__file__).parent / "corpus"
# Payload kinds, each a corpus file; socket_mode.json holds the envelopes around them.
KINDS = (
    "slash_commands",
    "block_actions",
    "view_submission",
    "view_closed",
    "app_home_opened",
    "url_verification",
)
_JSON_KINDS = ("app_home_opened", "url_verification")
_FORM_KINDS = ("slash_commands",)
_DELIVERIES = itertools.count(1)


def load(kind: str) -> dict[str, Any]:
    """The corpus file for ``kind``: ``_source``, ``_about`` and ``cases``."""
    data: dict[str, Any] = json.loads((CORPUS / f"{kind}.json").read_text())
    return data


def case(kind: str, name: str) -> dict[str, Any]:
    """A deep copy of one case's body."""
    return copy.deepcopy(load(kind)["cases"][name])


def all_cases(*kinds: str) -> Iterator[tuple[str, str]]:
    """(kind, case name) for every case of ``kinds`` (all kinds when none given)."""
    for kind in kinds or KINDS:
        for name in load(kind)["cases"]:
            yield kind, name


def fresh(kind: str, body: Mapping[str, Any], *, response_url: str) -> dict[str, Any]:
    """``body`` with Slack's per-request values renewed: a new trigger_id and event_id, the
    stand-in's response_url where Slack sends one."""
    sent = copy.deepcopy(dict(body))
    if "trigger_id" in sent:
        sent["trigger_id"] = new_trigger_id()
    if "event_id" in sent:
        sent["event_id"] = f"Ev{next(_DELIVERIES):010d}"
    if "response_url" in sent:
        sent["response_url"] = response_url
    return sent


def encode(kind: str, body: Mapping[str, Any]) -> SlackRequest:
    """``body`` encoded as Slack posts ``kind`` to the Request URL."""
    if kind in _JSON_KINDS:
        return SlackRequest(json.dumps(body).encode(), "application/json")
    if kind in _FORM_KINDS:
        return SlackRequest(urlencode(body).encode(), "application/x-www-form-urlencoded")
    form = urlencode({"payload": json.dumps(body)}).encode()
    return SlackRequest(form, "application/x-www-form-urlencoded")


def envelope_for(kind: str) -> dict[str, Any]:
    """The Socket Mode envelope (from socket_mode.json) that carries ``kind``."""
    envelopes = load("socket_mode")["cases"]
    wanted = {
        "slash_commands": "slash_commands",
        "block_actions": "interactive_block_actions",
        "view_submission": "interactive_view_submission",
        "view_closed": "interactive_view_submission",
        "app_home_opened": "events_api",
    }[kind]
    envelope: dict[str, Any] = envelopes[wanted]
    return envelope


def view_ack_problems(ack: Mapping[str, Any], submitted: Mapping[str, Any]) -> list[str]:
    """What is wrong with an ack to a view_submission, as Slack would judge it.

    ``update`` and ``push`` carry a view: Block Kit's limits apply as to any view. ``errors``
    maps block ids to messages: each must name an input block of the submitted view (Slack
    shows nothing otherwise) and be non-empty text, within the app's own length for them.
    """
    action = ack.get("response_action")
    if action is None or action == "clear":
        return []
    if action in ("update", "push"):
        return check_view(ack.get("view") or {})
    if action != "errors":
        return [f"/response_action: unknown {action!r}"]
    inputs = {
        str(block.get("block_id"))
        for block in submitted.get("blocks") or []
        if isinstance(block, Mapping) and block.get("type") == "input"
    }
    errors = ack.get("errors")
    if not isinstance(errors, Mapping) or not errors:
        return ["/errors: must map input block ids to messages"]
    problems = [
        f"/errors/{key}: not an input block of the view" for key in errors if key not in inputs
    ]
    for key, message in errors.items():
        if not isinstance(message, str) or not message.strip():
            problems.append(f"/errors/{key}: empty message")
        elif len(message) > MAX_ERROR_CHARS:
            problems.append(f"/errors/{key}: {len(message)} characters, over {MAX_ERROR_CHARS}")
    return problems
