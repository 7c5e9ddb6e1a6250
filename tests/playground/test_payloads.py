"""What the page's actions become: the payloads Slack sends, key by key as in the corpus.

The playground's server builds every request the bot gets from it here; each kind is compared
with the corpus of Slack's own payloads (tests/slack/corpus), and each is signed so the bot's
own check (slack_sdk's SignatureVerifier) accepts it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from slack_sdk.signature import SignatureVerifier

from bot.playground import payloads
from bot.playground.slack_payloads import SlackRequest
from bot.playground.workspace import Workspace
from bot.sim.slack.web_api import SlackStandIn
from tests.slack.payloads import case
from tests.slack.test_corpus_builders import app_view, assert_same_shape

SECRET = "playground-test-secret"  # made up
USER = "U0DEPLOYER"


@pytest.fixture
def workspace() -> Iterator[Workspace]:
    with SlackStandIn() as standin:
        yield Workspace(standin)


def _signed(request: SlackRequest) -> dict[str, Any]:
    headers = request.headers(SECRET)
    assert SignatureVerifier(SECRET).is_valid_request(request.body, headers)
    return request.payload()


def _the_button(message: Mapping[str, Any]) -> tuple[int, str]:
    for index, block in enumerate(message["blocks"]):
        for element in block.get("elements") or []:
            if element.get("type") == "button":
                return index, str(element["action_id"])
    raise AssertionError("the corpus message has no button")


def test_a_typed_command_is_the_slash_command_slack_sends(workspace: Workspace) -> None:
    built = _signed(payloads.command(workspace, USER, "C0DEPLOYS", "/dynamote deploy qwen3"))

    real = case("slash_commands", "public_channel")
    assert built.keys() == real.keys()
    assert (built["command"], built["text"], built["user_id"]) == (
        "/dynamote",
        "deploy qwen3",
        USER,
    )
    assert built["channel_name"] == "ml-deploys"
    assert built["response_url"].startswith("http://127.0.0.1:")


def test_a_click_on_a_channel_message_is_slacks_block_actions(workspace: Workspace) -> None:
    real = case("block_actions", "channel_message")
    ts = workspace.standin.add_message(
        "C0DEPLOYS", text=real["message"]["text"], blocks=real["message"]["blocks"]
    )
    index, action_id = _the_button(real["message"])

    built = _signed(
        payloads.message_action(
            workspace, USER, channel="C0DEPLOYS", ts=ts,
            where={"block": index, "action_id": action_id}, chosen=None,
        )
    )  # fmt: skip

    assert_same_shape(built, real)
    assert built["container"]["message_ts"] == built["message"]["ts"] == ts
    assert built["actions"][0]["action_id"] == action_id
    assert built["actions"][0]["block_id"] == real["message"]["blocks"][index]["block_id"]


def test_a_click_on_an_ephemeral_message_is_slacks_block_actions(workspace: Workspace) -> None:
    real = case("block_actions", "ephemeral_message")
    blocks = case("block_actions", "channel_message")["message"]["blocks"]
    workspace.ephemeral(USER, "C0DEPLOYS", {"text": "help", "blocks": blocks}, None)
    shown = workspace.snapshot(USER)["messages"]["C0DEPLOYS"][0]
    index, action_id = _the_button(shown)

    built = _signed(
        payloads.ephemeral_action(
            workspace, USER, ephemeral_id=shown["id"],
            where={"block": index, "action_id": action_id}, chosen=None,
        )
    )  # fmt: skip

    assert_same_shape(built, real)
    assert built["container"]["is_ephemeral"] is True


@pytest.mark.parametrize("name", ["modal", "app_home"])
def test_a_click_in_a_view_is_slacks_block_actions(workspace: Workspace, name: str) -> None:
    real = case("block_actions", name)
    view = workspace.standin.add_view(app_view(real["view"]))
    index = next(
        i
        for i, b in enumerate(view["blocks"])
        if b.get("block_id") == real["actions"][0]["block_id"]
    )
    typed = {
        block_id: _chosen(value) for block_id, value in real["view"]["state"]["values"].items()
    }

    built = _signed(
        payloads.view_action(
            workspace, USER, view_id=view["id"],
            where={"block": index, "action_id": real["actions"][0]["action_id"]},
            chosen=None, typed=typed,
        )
    )  # fmt: skip

    assert_same_shape(built, real)
    assert built["view"]["state"] == real["view"]["state"]


@pytest.mark.parametrize("name", ["deploy_modal", "every_input_untouched"])
def test_a_submitted_modal_is_slacks_view_submission(workspace: Workspace, name: str) -> None:
    real = case("view_submission", name)
    view = workspace.standin.add_view(app_view(real["view"]))
    typed = {
        block_id: _chosen(value) for block_id, value in real["view"]["state"]["values"].items()
    }

    built = _signed(payloads.submission(workspace, USER, view["id"], typed))

    assert_same_shape(built, real)
    assert built["view"]["state"] == real["view"]["state"]


def test_opening_app_home_is_slacks_app_home_opened(workspace: Workspace) -> None:
    built = _signed(payloads.app_home_opened(workspace, USER))

    assert_same_shape(built, case("app_home_opened", "first_open"))
    assert built["event"]["user"] == USER


def _chosen(state: Mapping[str, Any]) -> Any:
    """What a person entered, read back from one input's state as Slack sends it."""
    (value,) = state.values()
    if "selected_option" in value:
        return value["selected_option"]["value"] if value["selected_option"] else None
    if "selected_options" in value:
        return [option["value"] for option in value["selected_options"]]
    return value.get("value")


def test_closing_a_modal_that_asked_to_know_is_slacks_view_closed(workspace: Workspace) -> None:
    real = case("view_closed", "deploy_modal_cancelled")
    view = workspace.standin.add_view(app_view(real["view"]) | {"notify_on_close": True})
    typed = {
        block_id: _chosen(value) for block_id, value in real["view"]["state"]["values"].items()
    }

    request = payloads.view_close(workspace, USER, view["id"], typed)

    assert request is not None
    assert_same_shape(_signed(request), real)


def test_closing_a_modal_that_did_not_ask_sends_nothing(workspace: Workspace) -> None:
    view = workspace.standin.add_view(
        app_view(case("view_closed", "deploy_modal_cancelled")["view"])
    )

    assert payloads.view_close(workspace, USER, view["id"], {}) is None
