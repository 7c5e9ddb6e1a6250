"""How POST /slack/events reads a body (bot.slack.body) and what Bolt then gets
(bot.slack.bolt_handler): form fields by name, interactivity JSON with Slack's nulls.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.server.wsgi import _well_formed
from bot.slack.body import read_body
from tests.standins.slack_requests import slash_command

from .conftest import Served, signed_headers

FORM = "application/x-www-form-urlencoded"


def interactive(payload: dict[str, Any]) -> str:
    return urlencode({"payload": json.dumps(payload)})


@pytest.mark.parametrize(
    "overrides",
    [
        {"channel_name": "payload-team"},
        {"user_name": "payload.bot"},
        {"team_domain": "payload-labs"},
        {"text": "models payload"},
        {"text": "payload={}"},
    ],
)
def test_a_slash_command_mentioning_payload_reads_as_its_fields(overrides: dict[str, str]) -> None:
    fields = {"command": "/dynamote", "text": "help", "channel_name": "general"} | overrides

    assert read_body(urlencode(fields), FORM) == fields


def test_an_interactivity_form_reads_as_its_payload_with_slacks_nulls() -> None:
    payload = {"type": "block_actions", "team": None, "enterprise": None, "actions": [{}]}

    assert read_body(interactive(payload), FORM + "; charset=utf-8") == payload


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "block_actions", "user": None},
        {"type": "view_submission", "view": None},
        {"type": "block_actions", "team": "T0DYNAMOTE"},
        {"type": "block_actions", "enterprise": ["E0ACME"]},
        {"type": "block_actions", "actions": [1]},
        ["not", "an", "object"],
    ],
)
def test_a_payload_slack_would_never_send_is_refused(payload: Any) -> None:
    assert read_body(interactive(payload), FORM) is None
    assert not _well_formed(interactive(payload), FORM)


def test_an_empty_or_broken_payload_field_is_refused() -> None:
    assert read_body("payload=", FORM) is None
    assert read_body("payload=%7Bnot-json", FORM) is None
    assert read_body("", "application/json") is None


def test_a_command_from_a_payload_channel_reaches_the_listener_with_its_fields(
    served: Served,
) -> None:
    request = slash_command("help", channel="C0PAYLOAD1", channel_name="payload-team")

    status, _, _ = served.request(
        "POST", "/slack/events", request.body, signed_headers(request.body)
    )

    assert status == 200
    assert served.listener.ran.wait(5)
    (command,) = served.listener.commands
    assert (command["channel_name"], command["text"]) == ("payload-team", "help")


def test_a_click_with_enterprise_null_reaches_bolt(served: Served) -> None:
    # The test app has no action listener: Bolt's "unhandled" 404 shows the guard let it by.
    body = interactive(
        {
            "type": "block_actions",
            "team": {"id": "T0DYNAMOTE", "domain": "dynamote"},
            "enterprise": None,
            "is_enterprise_install": False,
            "user": {"id": "U0ALICE", "team_id": "T0DYNAMOTE"},
            "actions": [{"action_id": "nobody_listens", "type": "button"}],
        }
    ).encode()

    status, _, answer = served.request("POST", "/slack/events", body, signed_headers(body))

    assert (status, json.loads(answer)) == (404, {"error": "unhandled request"})
