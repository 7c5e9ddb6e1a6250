"""The request builders (tests.standins.slack_requests), which every other test uses to act as
Slack, make what the corpus (Slack's own payloads) holds: the same keys at every level, the same
types, nulls where Slack sends nulls. Where a builder is given a case's values, it must make
that case exactly, apart from per-request values (trigger ids, timestamps, event ids).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

import pytest
from websockets.sync.client import connect

from tests.slack.payloads import all_cases, case, load
from tests.standins.slack_requests import (
    SlackRequest,
    block_actions,
    event_callback,
    slack_view,
    slash_command,
    url_verification,
    view_closed,
    view_state,
    view_submission,
)
from tests.standins.slack_socket import SocketModeStandIn

# Lists whose items are the app's own blocks: compared as lists, not item by item.
APP_CONTENT = {"blocks", "elements", "options", "initial_options", "selected_options"}


def shape(value: Any, key: str = "") -> Any:
    """What must match: keys and the types of values, recursively; a list by its first item
    (the app's own content, e.g. blocks, only as a list)."""
    if isinstance(value, Mapping):
        return {k: shape(v, k) for k, v in value.items()}
    if isinstance(value, list):
        if key in APP_CONTENT or not value:
            return "list"
        return [shape(value[0], key)]
    return type(value).__name__


def differences(built: Any, real: Any, path: str = "") -> list[str]:
    """Where ``built`` differs from ``real`` in keys or types."""
    if isinstance(real, dict) and isinstance(built, dict):
        found: list[str] = []
        for key in sorted(real.keys() - built.keys()):
            found.append(f"{path}/{key}: missing (Slack sends {real[key]!r})")
        for key in sorted(built.keys() - real.keys()):
            found.append(f"{path}/{key}: Slack does not send it")
        for key in sorted(real.keys() & built.keys()):
            found += differences(built[key], real[key], f"{path}/{key}")
        return found
    if isinstance(real, list) and isinstance(built, list):
        return differences(built[0], real[0], f"{path}/0")
    return [] if built == real else [f"{path}: {built!r}, Slack sends {real!r}"]


def assert_same_shape(built: Mapping[str, Any], real: Mapping[str, Any]) -> None:
    assert differences(shape(built), shape(real)) == []


def fields(request: SlackRequest) -> dict[str, str]:
    return dict(parse_qsl(request.body.decode(), keep_blank_values=True))


def app_view(held: Mapping[str, Any]) -> dict[str, Any]:
    """Only what the app itself sets on a view: the builders add the rest, as Slack does."""
    own = ("type", "blocks", "private_metadata", "callback_id", "title", "close", "submit")
    return {key: held[key] for key in own if held.get(key) is not None}


# ----- slash commands --------------------------------------------------------------------------


@pytest.mark.parametrize("name", [name for _, name in all_cases("slash_commands")])
def test_slash_command_makes_each_case_field_for_field(name: str) -> None:
    real = case("slash_commands", name)
    enterprise = (
        {"id": real["enterprise_id"], "name": real["enterprise_name"]}
        if "enterprise_id" in real
        else None
    )

    built = fields(
        slash_command(
            real["text"],
            user=real["user_id"],
            user_name=real["user_name"],
            channel=real["channel_id"],
            channel_name=real["channel_name"],
            team={"id": real["team_id"], "domain": real["team_domain"]},
            enterprise=enterprise,
            response_url=real["response_url"],
            trigger_id=real["trigger_id"],
        )
    )

    assert list(built) == list(real)  # the same fields, in the order Slack sends them
    assert {k: v for k, v in built.items() if k != "token"} == {
        k: v for k, v in real.items() if k != "token"
    }


def test_a_command_in_a_dm_is_named_directmessage_by_default() -> None:
    assert fields(slash_command("help", channel="D0ALICEBOT"))["channel_name"] == "directmessage"


# ----- block_actions ---------------------------------------------------------------------------


def _built_click(name: str) -> dict[str, Any]:
    real = case("block_actions", name)
    action = {k: v for k, v in real["actions"][0].items() if k not in ("block_id", "action_ts")}
    container = real["container"]
    common: dict[str, Any] = {
        "user": real["user"]["id"],
        "team": real["team"],
        "enterprise": real["enterprise"],
        "block_id": real["actions"][0]["block_id"],
    }
    if container["type"] == "view":
        request = block_actions(
            [action],
            view=app_view(real["view"]) | {"id": real["view"]["id"]},
            channel=None,
            **common,
        )
    else:
        request = block_actions(
            [action],
            channel=container["channel_id"],
            response_url=real["response_url"],
            ephemeral=container["is_ephemeral"],
            **common,
        )
    return request.payload()


@pytest.mark.parametrize("name", [name for _, name in all_cases("block_actions")])
def test_block_actions_has_every_key_slack_sends(name: str) -> None:
    real = case("block_actions", name)
    built = _built_click(name)

    assert_same_shape(built, real)
    for key in ("type", "team", "enterprise", "is_enterprise_install", "api_app_id"):
        assert built[key] == real[key], key
    assert built["container"]["type"] == real["container"]["type"]
    assert ("message" in built) == ("message" in real)


# ----- views -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [name for _, name in all_cases("view_submission")])
def test_view_submission_has_every_key_slack_sends(name: str) -> None:
    real = case("view_submission", name)

    built = view_submission(
        app_view(real["view"]) | {"state": real["view"]["state"]}, user=real["user"]["id"]
    ).payload()

    assert_same_shape(built, real)
    assert built["enterprise"] is None and built["is_enterprise_install"] is False


def test_a_view_from_the_builders_carries_every_field_slack_adds() -> None:
    real = case("view_submission", "deploy_modal")["view"]

    assert_same_shape(slack_view(app_view(real)), real)


@pytest.mark.parametrize("name", [name for _, name in all_cases("view_submission")])
def test_view_state_is_what_slack_sends_for_every_input(name: str) -> None:
    real = case("view_submission", name)["view"]
    # What the person did in each case: the deploy modal's size, router and one option.
    typed = {"size": "2x1", "router": "kv", "options": ["prefix_caching"]}

    built = view_state(app_view(real), typed if name == "deploy_modal" else None)

    assert built == real["state"]["values"]


def test_view_closed_has_every_key_slack_sends() -> None:
    real = case("view_closed", "deploy_modal_cancelled")

    built = view_closed(app_view(real["view"]), user=real["user"]["id"]).payload()

    assert_same_shape(built, real)


# ----- events ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [name for _, name in all_cases("app_home_opened")])
def test_event_callback_has_every_key_slack_sends(name: str) -> None:
    real = case("app_home_opened", name)
    event = dict(real["event"])
    if "view" in event:
        event["view"] = slack_view(app_view(event["view"]) | {"type": "home"})

    built = event_callback(event).payload()

    assert_same_shape(built, real)


def test_url_verification_is_what_slack_sends() -> None:
    real = case("url_verification", "request_url_saved")

    built = url_verification(real["challenge"]).payload()

    assert {k: v for k, v in built.items() if k != "token"} == {
        k: v for k, v in real.items() if k != "token"
    }


# ----- Socket Mode -----------------------------------------------------------------------------


def test_each_request_goes_in_the_envelope_type_slack_uses() -> None:
    envelopes = load("socket_mode")["cases"]
    requests = {
        "slash_commands": slash_command("help", response_url="http://127.0.0.1:9/r"),
        "interactive_block_actions": block_actions(
            [{"action_id": "open_deploy", "type": "button"}], response_url="http://127.0.0.1:9/r"
        ),
        "interactive_view_submission": view_submission({"type": "modal", "blocks": []}),
        "events_api": event_callback({"type": "app_home_opened", "user": "U0ALICE"}),
    }

    for name, request in requests.items():
        assert request.envelope_type == envelopes[name]["type"], name


def test_the_socket_mode_payload_of_a_command_is_its_form_fields() -> None:
    real = case("slash_commands", "public_channel")
    request = slash_command(real["text"], response_url=real["response_url"])

    payload = request.payload()

    assert list(payload) == list(real)
    assert all(isinstance(value, str) for value in payload.values())
    assert json.loads(json.dumps(payload)) == payload


def test_the_socket_mode_stand_in_sends_envelopes_shaped_as_slacks() -> None:
    envelopes = load("socket_mode")["cases"]
    with (
        SocketModeStandIn() as socket_mode,
        connect(socket_mode.connection_url(), proxy=None, open_timeout=2) as client,
    ):
        client.recv(timeout=2)  # hello
        socket_mode.wait_connected(1)
        for name, real in envelopes.items():
            socket_mode.post_envelope(
                real["type"],
                {"type": name},
                accepts_response_payload=real["accepts_response_payload"],
            )
            sent = json.loads(client.recv(timeout=2))

            assert sent.keys() == real.keys(), name
            assert {k: type(v) for k, v in sent.items()} == {k: type(v) for k, v in real.items()}
            assert sent["accepts_response_payload"] == real["accepts_response_payload"], name
