"""Every listener answers its request before any Slack call it makes.

The App runs each listener on the thread that answers Slack and sends the ack only when the
listener returns (``process_before_response``), so a listener must ack and hand the rest to
Dynamote's pools. Here every Slack Web API call and response_url post takes ``SLACK_SLOW``
seconds: an ack that waited on one of them would take at least that long, whatever the
machine's load. Each case then waits for the call to arrive, so the work did happen.
(Bolt's own ``auth.test`` on the first request is not a listener's and is done first.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bot.blocks.ids import (
    ACTION_BROWSE_MODELS,
    ACTION_MODEL_SELECT,
    ACTION_MODELS_PAGE,
    ACTION_OPEN_DEPLOY,
    ACTION_PREVIEW_YAML,
)
from tests.stacks import Stack
from tests.standins.slack_requests import (
    SlackRequest,
    block_actions,
    event_callback,
    slash_command,
    view_state,
)

pytestmark = pytest.mark.runs_long  # every case waits out a slow Slack call

SLACK_SLOW = 2.0  # seconds each Slack call takes once the case starts


def _command(text: str) -> Callable[[Stack], SlackRequest]:
    return lambda stack: slash_command(text, response_url=stack.slack.response_url("slow"))


def _button(action_id: str, value: str) -> Callable[[Stack], SlackRequest]:
    return lambda stack: block_actions(
        [{"action_id": action_id, "type": "button", "value": value}],
        response_url=stack.slack.response_url("slow"),
    )


def _in_modal(action: dict[str, Any]) -> Callable[[Stack], SlackRequest]:
    def build(stack: Stack) -> SlackRequest:
        view = stack.opened_view()  # opened before Slack turned slow
        return block_actions(
            [action],
            view={**view, "state": {"values": view_state(view)}},
            channel=None,
            container={"type": "view"},
        )

    return build


_TINYLLAMA = "TinyLlama/TinyLlama-1.1B-Chat-v1.0"
CASES: dict[str, tuple[Callable[[Stack], SlackRequest], str]] = {
    "help": (_command("help"), "response_url"),
    "bad command": (_command("list nobody"), "response_url"),
    "list": (_command("list all"), "response_url"),
    "deploy": (_command("deploy qwen3 0.6b"), "views.open"),
    "deploy button": (_button(ACTION_OPEN_DEPLOY, "Qwen/Qwen3-0.6B"), "views.open"),
    "browse models": (_button(ACTION_BROWSE_MODELS, ""), "response_url"),
    "models page": (_button(ACTION_MODELS_PAGE, '{"page": 1}'), "response_url"),
    "model select": (
        _in_modal(
            {
                "action_id": ACTION_MODEL_SELECT,
                "type": "static_select",
                "selected_option": {
                    "value": _TINYLLAMA,
                    "text": {"type": "plain_text", "text": "TinyLlama"},
                },
            }
        ),
        "views.update",
    ),
    "preview": (_in_modal({"action_id": ACTION_PREVIEW_YAML, "type": "button"}), "views.push"),
    "App Home": (
        lambda _stack: event_callback(
            {"type": "app_home_opened", "user": "U0ALICE", "tab": "home"}
        ),
        "views.publish",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_ack_never_waits_on_a_slack_call(stack: Stack, case: str) -> None:
    build, method = CASES[case]
    # Bolt's authorization calls auth.test on the first request (once); a modal case opens
    # its modal then, at full speed.
    stack.command("deploy qwen3 0.6b" if case in ("model select", "preview") else "help")
    request = build(stack)
    before = len(stack.slack.calls(method))
    stack.slack.add_latency(None, SLACK_SLOW)
    status, _, took = stack.post(request)
    assert status == 200
    assert took < SLACK_SLOW, f"{case}: the ack waited on Slack ({took:.2f} s)"
    stack.slack.wait_for(method, count=before + 1, timeout=SLACK_SLOW + 10)
    stack.slack.clear_faults()
