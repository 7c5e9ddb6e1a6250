"""A Redeploy… waiting for approval, in Slack: the approvals message says what it replaces, the
replaced deployment's thread hears it waits, and the modal says nothing changes until then."""

from __future__ import annotations

import json
from datetime import timedelta

from bot.blocks.approvals import (
    build_approval_request,
    build_approval_settled,
    build_replacement_waiting_note,
    build_waiting_view,
)
from bot.blocks.limits import check_message, check_view
from bot.domain.approvals import PendingApproval, new_approval

from .conftest import NASTY, NOW

REQUEST = json.dumps(
    {"name": "qwen-bad", "namespace": "team-a", "model": "Qwen/Qwen3-0.6B", "engine": "vllm"}
)


def _record(replaces: str = "team-a/qwen-bad") -> PendingApproval:
    return new_approval(
        REQUEST,
        requester="U0ALICE",
        channel="C0ML",
        thread_ts="1.2",
        reason="it needs 2 GPUs, more than the 1 allowed without approval",
        now=NOW,
        ttl=timedelta(days=1),
        gpus=2,
        replaces=replaces,
        replaces_uid="uid-1",
    )


def test_the_approvals_message_says_what_it_replaces() -> None:
    record = _record()
    message = build_approval_request(record, approvers="<@U0BOSS>")
    payload = message.as_kwargs()
    assert check_message(payload) == []
    text = json.dumps(payload["blocks"])
    assert "<@U0ALICE> asks to redeploy *qwen-bad*" in text
    assert "replacing *qwen-bad* under the same name" in text
    assert "Approve deletes *qwen-bad* and creates this in its place; Deny leaves it" in text
    settled = build_approval_settled(record, "done").as_kwargs()
    assert check_message(settled) == []
    assert "replacing *qwen-bad*" in json.dumps(settled["blocks"])


def test_a_new_deployment_is_asked_as_before() -> None:
    record = _record(replaces="")
    text = json.dumps(build_approval_request(record, approvers="x").as_kwargs()["blocks"])
    assert "asks to deploy *qwen-bad*" in text and "replacing" not in text


def test_the_thread_note_and_the_modal_say_it_stays_as_it_is() -> None:
    record = _record(replaces=f"team-a/{NASTY}")
    note = build_replacement_waiting_note(record, approvers="<@U0BOSS>").as_kwargs()
    assert check_message(note) == []
    text = json.dumps(note["blocks"])
    assert "waiting for approval by <@U0BOSS>" in text and "stays as it is until then" in text
    assert "<@U999>" not in text  # the name is escaped
    view = build_waiting_view("qwen-bad", "team-a", approvers="x", private="{}", replacing=True)
    assert check_view(view.to_dict()) == []
    shown = json.dumps(view.to_dict()["blocks"])
    assert "Redeploying *qwen-bad*" in shown and "Nothing changes until it is approved" in shown
