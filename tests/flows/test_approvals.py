"""Approvals end to end: a deploy above ``DYNAMOTE_APPROVAL_ABOVE_GPUS`` creates nothing and asks
the approvals channel; the requester and non-approvers cannot answer; an approver's Approve
(on another replica: the request lives in the cluster) creates exactly that request in the
requester's thread; Deny asks a reason and the thread hears it; an answer counts once."""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.blocks.ids import ACTION_APPROVE, ACTION_DENY, BLOCK_DENY_REASON, BLOCK_WHY
from bot.domain.manifest import ANNOTATION_REQUEST, ANNOTATION_THREAD
from bot.notifier.controller import Notifier
from bot.ops.audit import AUDIT_LOGGER
from bot.slack.listeners.approvals import approval_store
from tests.stacks import Stack, replicas, text_of
from tests.standins.slack_requests import block_actions, view_submission

APPROVALS = "C0APPROVE"
SETTINGS: dict[str, Any] = {
    "approvers": "U0BOSS",
    "approval_channel": APPROVALS,
    "approval_above_gpus": 1,
}
_NAMES = itertools.count(1)


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[list[Stack]]:
    with replicas(tmp_path, 2, **SETTINGS) as stacks:
        yield stacks


def _submit_big(stack: Stack, why: str | None = None) -> None:
    """Alice asks for 2 replicas of a 1-GPU model: 2 GPUs, above the threshold of 1."""
    stack.command("deploy qwen3 0.6b", channel="C0ML")
    typed = {"size": "1x2"} if why is None else {"size": "1x2", BLOCK_WHY: why}  # 2 replicas
    ack, took = stack.submit(stack.opened_view(), typed)
    assert took < 3.0 and ack["response_action"] == "update"


def _asked(stack: Stack) -> dict[str, Any]:
    """The message in the approvals channel, once posted."""
    for _ in range(3):
        posted = [
            call
            for call in stack.slack.wait_for("chat.postMessage", count=2)
            if call.params["channel"] == APPROVALS
        ]
        if posted:
            return {**posted[0].params, "ts": posted[0].response["ts"]}
    raise AssertionError("no approval request was posted")


def _card(stack: Stack) -> dict[str, Any]:
    [card] = [
        {**c.params, "ts": c.response["ts"]}
        for c in stack.slack.calls("chat.postMessage")
        if c.ok and c.params["channel"] == "C0ML" and not c.params.get("thread_ts")
    ]
    return card


def _button(message: dict[str, Any], action_id: str) -> dict[str, Any]:
    for block in message["blocks"]:
        for element in block.get("elements") or []:
            if element.get("action_id") == action_id:
                return dict(element)
    raise AssertionError(f"no {action_id} button")


def _press(stack: Stack, message: dict[str, Any], action_id: str, user: str) -> str:
    """Press a button on the approvals message as ``user``; returns the response_url name."""
    name = f"approval{next(_NAMES)}"
    button = _button(message, action_id)
    status, _, took = stack.post(
        block_actions(
            [{"action_id": action_id, "type": "button", "value": button["value"]}],
            user=user,
            channel=APPROVALS,
            response_url=stack.slack.response_url(name),
            container={"message_ts": message["ts"]},
            message={"type": "message", "ts": message["ts"], "blocks": message["blocks"]},
        )
    )
    assert status == 200 and took < 3.0
    return name


def _thread(stack: Stack, card_ts: str) -> list[str]:
    return [
        text_of(c.params)
        for c in stack.slack.calls("chat.postMessage")
        if c.ok and c.params.get("thread_ts") == card_ts
    ]


def _dgd(stack: Stack) -> dict[str, Any] | None:
    return stack.k8s.store.get("dynamographdeployments", "team-a", "qwen3-0-6b")


def test_a_big_request_creates_nothing_and_asks_the_approvals_channel(pair: list[Stack]) -> None:
    stack = pair[0]
    _submit_big(stack, why="load test for the launch")
    asked = _asked(stack)
    text = text_of(asked["blocks"])
    assert "Why: load test for the launch" in text
    assert "<@U0ALICE> asks to deploy *qwen3-0-6b*" in text
    assert "Qwen/Qwen3-0.6B" in text and "`team-a`, 2 GPUs" in text
    assert "more than the 1 allowed without approval" in text
    assert _button(asked, ACTION_APPROVE) and _button(asked, ACTION_DENY)
    waiting = [
        c.params["view"]
        for c in stack.slack.wait_for("views.update")
        if "Waiting for approval" in text_of(c.params["view"])
    ]
    assert waiting and "<@U0BOSS>" in text_of(waiting[0])
    assert "Waiting for approval by <@U0BOSS>" in text_of(_card(stack)["blocks"])
    assert _dgd(stack) is None


def test_the_requester_and_non_approvers_cannot_approve(pair: list[Stack]) -> None:
    stack = pair[0]
    _submit_big(stack)
    asked = _asked(stack)
    [own] = stack.replies(_press(stack, asked, ACTION_APPROVE, "U0ALICE"))
    assert "You asked for it" in text_of(own)
    [other] = stack.replies(_press(stack, asked, ACTION_APPROVE, "U0BOB"))
    assert "Only approvers" in text_of(other)
    assert _dgd(stack) is None


def test_an_approvers_yes_on_the_other_replica_creates_it_in_the_requesters_thread(
    pair: list[Stack],
) -> None:
    first, second = pair
    _submit_big(first)
    asked = _asked(first)
    card = _card(first)

    _press(second, asked, ACTION_APPROVE, "U0BOSS")  # the record lives in the cluster
    dgd = second.wait_for_dgd("team-a", "qwen3-0-6b")
    annotations = dgd["metadata"]["annotations"]
    assert annotations[ANNOTATION_THREAD] == card["ts"]
    assert json.loads(annotations[ANNOTATION_REQUEST])["replicas"] == 2  # exactly as shown
    second.slack.wait_for("chat.update")
    assert any("Approved by <@U0BOSS>" in line for line in _thread(second, card["ts"]))
    settled = second.slack.message(APPROVALS, asked["ts"])
    assert settled is not None and "Approved by <@U0BOSS>" in text_of(settled["blocks"])

    [again] = first.replies(_press(first, asked, ACTION_APPROVE, "U0BOSS"))
    assert "answered" in text_of(again)  # counted once


def test_deny_asks_a_reason_and_the_thread_hears_it(
    pair: list[Stack], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    stack = pair[0]
    _submit_big(stack)
    asked = _asked(stack)
    card = _card(stack)
    _press(stack, asked, ACTION_DENY, "U0BOSS")
    modal = [c for c in stack.slack.wait_for("views.open", count=2)][-1].response["view"]
    assert BLOCK_DENY_REASON in json.dumps(modal["blocks"])
    submitted = {
        **modal,
        "state": {
            "values": {
                f"{BLOCK_DENY_REASON}.0": {
                    BLOCK_DENY_REASON: {"type": "plain_text_input", "value": "use 1 GPU first"}
                }
            }
        },
    }
    status, _, _ = stack.post(view_submission(submitted, user="U0BOSS"))
    assert status == 200
    stack.slack.wait_for("chat.update", count=2)  # the card and the approvals message
    assert any(
        "Denied by <@U0BOSS>: use 1 GPU first" in line for line in _thread(stack, card["ts"])
    )
    shown = stack.slack.message("C0ML", card["ts"])
    assert shown is not None and "Denied" in text_of(shown["blocks"])  # the card says so
    assert _dgd(stack) is None
    # The audit keeps who denied it and why.
    denied = [r for r in caplog.records if getattr(r, "outcome", None) == "denied"]
    assert [(r.user, r.reason) for r in denied] == [  # type: ignore[attr-defined]
        ("U0ALICE", "denied by U0BOSS: use 1 GPU first")
    ]


def test_an_unanswered_request_lapses_in_the_leaders_sweep_once(pair: list[Stack]) -> None:
    stack = pair[0]
    _submit_big(stack)
    asked = _asked(stack)
    card = _card(stack)
    client = WebClient(token=stack.slack.token, base_url=stack.slack.url, retry_handlers=[])
    later = datetime.now(UTC) + stack.settings.approval_policy.ttl + timedelta(seconds=1)

    Notifier(stack.cluster, client, stack.settings, now=lambda: later).sweep()
    Notifier(stack.cluster, client, stack.settings, now=lambda: later).sweep()  # a new leader

    lapsed = [line for line in _thread(stack, card["ts"]) if "lapsed" in line]
    assert len(lapsed) == 1
    shown = stack.slack.message("C0ML", card["ts"])
    assert shown is not None and "Lapsed" in text_of(shown["blocks"])  # the card says so
    settled = stack.slack.message(APPROVALS, asked["ts"])
    assert settled is not None and "Lapsed" in text_of(settled["blocks"])
    [late] = stack.replies(_press(stack, asked, ACTION_APPROVE, "U0BOSS"))
    assert "answered" in text_of(late)
    assert _dgd(stack) is None


def test_the_request_is_checked_again_at_approval(pair: list[Stack]) -> None:
    stack = pair[0]
    _submit_big(stack)
    asked = _asked(stack)
    card = _card(stack)
    stack.k8s.store.delete("secrets", "team-a", "hf-token-secret")  # gone since it was asked

    _press(stack, asked, ACTION_APPROVE, "U0BOSS")
    stack.slack.wait_for("chat.update", timeout=15)
    [refused] = [line for line in _thread(stack, card["ts"]) if "Approved by" in line]
    assert "no longer allowed, so nothing was created" in refused
    assert "hf-token-secret" in refused
    assert _dgd(stack) is None


def test_when_the_approvals_channel_refuses_the_modal_says_so_and_nothing_waits(
    pair: list[Stack],
) -> None:
    stack = pair[0]
    stack.slack.fail("chat.postMessage", "not_in_channel", channel=APPROVALS)
    _submit_big(stack)
    failed = [
        c.params["view"]
        for c in stack.slack.wait_for("views.update")
        if "could not ask for approval" in text_of(c.params["view"])
    ]
    assert failed
    assert approval_store(stack.context).pending() == []  # nothing left to lapse later
    assert _dgd(stack) is None
