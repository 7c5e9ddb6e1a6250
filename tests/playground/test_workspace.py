"""What each person sees, replayed from the Web API calls the bot made (through slack_sdk)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from slack_sdk import WebClient

from bot.playground.workspace import Origin, Workspace
from bot.sim.slack.web_api import SlackStandIn

DANA, GUS = "U0DEPLOYER", "U0GUEST"
MODAL: dict[str, Any] = {
    "type": "modal",
    "callback_id": "deploy_modal",
    "title": {"type": "plain_text", "text": "Deploy"},
    "submit": {"type": "plain_text", "text": "Deploy"},
    "blocks": [
        {
            "type": "input",
            "block_id": "name",
            "label": {"type": "plain_text", "text": "Name"},
            "element": {"type": "plain_text_input", "action_id": "name"},
        }
    ],
}


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn() as running:
        yield running


@pytest.fixture
def workspace(standin: SlackStandIn) -> Workspace:
    return Workspace(standin)


@pytest.fixture
def bot(standin: SlackStandIn) -> WebClient:
    return WebClient(token=standin.token, base_url=standin.url)


def _texts(workspace: Workspace, user: str, channel: str = "C0DEPLOYS") -> list[str]:
    return [m.get("text", "") for m in workspace.snapshot(user)["messages"][channel]]


def test_an_ephemeral_message_is_seen_only_by_its_person(
    workspace: Workspace, bot: WebClient
) -> None:
    bot.chat_postMessage(channel="C0DEPLOYS", text="for everyone")
    bot.chat_postEphemeral(channel="C0DEPLOYS", user=DANA, text="for dana")

    assert _texts(workspace, DANA) == ["for everyone", "for dana"]
    assert _texts(workspace, GUS) == ["for everyone"]


def test_a_modal_opens_for_the_person_whose_trigger_it_used(
    workspace: Workspace, bot: WebClient
) -> None:
    bot.views_open(trigger_id=workspace.new_trigger(DANA), view=MODAL)

    assert [v["callback_id"] for v in workspace.snapshot(DANA)["modals"]] == ["deploy_modal"]
    assert workspace.snapshot(GUS)["modals"] == []


def test_a_chat_update_shows_in_the_channel(workspace: Workspace, bot: WebClient) -> None:
    posted = bot.chat_postMessage(channel="C0DEPLOYS", text="Pending")
    bot.chat_update(channel="C0DEPLOYS", ts=posted["ts"], text="Running")

    assert _texts(workspace, GUS) == ["Running"]


def test_response_url_posts_are_applied_as_slack_applies_them(
    workspace: Workspace, bot: WebClient
) -> None:
    card = bot.chat_postMessage(channel="C0DEPLOYS", text="card")["ts"]
    on_card = workspace.new_response_url(Origin(DANA, "C0DEPLOYS", "message", message_ts=card))
    from_command = workspace.new_response_url(Origin(DANA, "C0DEPLOYS", "command"))

    requests.post(from_command, json={"text": "only dana"}, timeout=5).raise_for_status()
    requests.post(from_command, json={"text": "all", "response_type": "in_channel"}, timeout=5)
    requests.post(on_card, json={"text": "card, replaced", "replace_original": True}, timeout=5)

    assert _texts(workspace, DANA) == ["card, replaced", "only dana", "all"]
    assert _texts(workspace, GUS) == ["card, replaced", "all"]
    requests.post(on_card, json={"delete_original": True}, timeout=5).raise_for_status()
    assert _texts(workspace, GUS) == ["all"]


def test_a_submission_ack_errors_update_push_or_close(workspace: Workspace, bot: WebClient) -> None:
    view_id = bot.views_open(trigger_id=workspace.new_trigger(DANA), view=MODAL)["view"]["id"]

    workspace.after_submission(
        DANA, view_id, {"response_action": "errors", "errors": {"name": "no"}}
    )
    assert workspace.snapshot(DANA)["modals"][0]["errors"] == {"name": "no"}

    updated = MODAL | {"callback_id": "deploying"}
    workspace.after_submission(DANA, view_id, {"response_action": "update", "view": updated})
    (shown,) = workspace.snapshot(DANA)["modals"]
    assert (shown["id"], shown["callback_id"], shown["errors"]) == (view_id, "deploying", {})

    pushed = MODAL | {"callback_id": "second"}
    workspace.after_submission(DANA, view_id, {"response_action": "push", "view": pushed})
    assert [v["callback_id"] for v in workspace.snapshot(DANA)["modals"]] == ["deploying", "second"]

    top = workspace.snapshot(DANA)["modals"][-1]["id"]
    workspace.after_submission(DANA, top, {})
    assert [v["callback_id"] for v in workspace.snapshot(DANA)["modals"]] == ["deploying"]
    workspace.after_submission(DANA, view_id, {"response_action": "clear"})
    assert workspace.snapshot(DANA)["modals"] == []


def test_home_is_what_the_bot_published_for_that_person(
    workspace: Workspace, bot: WebClient
) -> None:
    home = {"type": "home", "blocks": [{"type": "divider"}]}
    bot.views_publish(user_id=DANA, view=home)

    assert workspace.snapshot(DANA)["home"]["blocks"] == [{"type": "divider"}]
    assert workspace.snapshot(GUS)["home"] is None
