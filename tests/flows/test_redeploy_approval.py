"""A Redeploy… above the approval threshold is held as a replacement of the deployment it was
opened for, end to end (signed requests to the app, the Slack and Kubernetes stand-ins, the
simulated kubelet failing the pull so the thread gets Redeploy…): nothing is deleted or created
while it waits, its own thread hears it (its card stays), the approvals message says what it
replaces, an approver's yes replaces it under the same name as an unapproved Redeploy… does,
and a Deny leaves it as it is."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.blocks.ids import (
    ACTION_APPROVE,
    ACTION_DENY,
    ACTION_REDEPLOY,
    BLOCK_DENY_REASON,
    CALLBACK_DEPLOY,
)
from bot.cluster import ClusterError
from bot.domain.expiry import ANNOTATION_EXPIRES_AT
from bot.domain.manifest import ANNOTATION_REQUEST, ANNOTATION_THREAD
from bot.domain.provenance import claim_of
from bot.domain.request import parse_request
from bot.notifier.controller import Notifier
from bot.ops.audit import AUDIT_LOGGER
from bot.slack.listeners.approvals import approval_store
from tests.flows.test_approvals import APPROVALS, _button, _press
from tests.flows.test_fixit_flow import BAD_IMAGE, NAME, buttons, deployed_and_failed
from tests.stacks import Stack, app_stack, stack_settings, stand_ins, text_of
from tests.standins.slack_requests import view_submission
from tests.waiting import wait_for

APPROVAL = {"approvers": "U0BOSS", "approval_channel": APPROVALS, "approval_above_gpus": 1}


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    settings = stack_settings(image_vllm=BAD_IMAGE, **APPROVAL)
    with stand_ins(tmp_path) as shared, app_stack(shared, settings) as running:
        yield running


def _dgd(stack: Stack) -> dict[str, Any]:
    found = stack.k8s.store.get("dynamographdeployments", "team-a", NAME)
    assert found is not None
    return found


def _redeploy_bigger(stack: Stack, value: str) -> str:
    """Redeploy… (the button's ``value``), asking for 2 replicas (2 GPUs, above 1); the form's
    id."""
    stack.click(ACTION_REDEPLOY, value)
    view_id = str(stack.slack.wait_for("views.open", count=2)[1].response["view"]["id"])
    form: dict[str, Any] = wait_for(
        lambda: ((v := stack.slack.view(view_id) or {}).get("callback_id") == CALLBACK_DEPLOY
                 and v) or None,
        what="the prefilled form",
    )  # fmt: skip
    ack, took = stack.submit(form, {"size": "1x2"})
    assert took < 3.0 and ack["response_action"] == "update", ack
    return view_id


def _asked(stack: Stack) -> dict[str, Any]:
    def posted() -> dict[str, Any] | None:
        for call in stack.slack.calls("chat.postMessage"):
            if call.ok and call.params["channel"] == APPROVALS:
                return {**call.params, "ts": call.response["ts"]}
        return None

    return wait_for(posted, what="the approval request")


def _thread(stack: Stack, thread: str) -> list[str]:
    return [
        text_of(c.params)
        for c in stack.slack.calls("chat.postMessage")
        if c.ok and c.params.get("thread_ts") == thread
    ]


def _deployed(stack: Stack) -> dict[str, Any]:
    """NAME deployed through the form, its card recorded (the pull has not failed yet)."""
    stack.command("deploy qwen3 0.6b", channel="C0ML")
    ack, _ = stack.submit(stack.opened_view(), {"name": NAME})
    assert ack["response_action"] == "update", ack

    def carded() -> dict[str, Any] | None:
        dgd = stack.k8s.store.get("dynamographdeployments", "team-a", NAME) or {}
        annotations = (dgd.get("metadata") or {}).get("annotations") or {}
        return dgd if annotations.get(ANNOTATION_THREAD) else None

    return wait_for(carded, what="the status card recorded")


def _held(
    stack: Stack, *, failed: bool = True
) -> tuple[dict[str, Any], dict[str, Any], str, dict[str, Any]]:
    """Deployed (and failed: Redeploy… from the Failed reply; else the same button value,
    sooner), Redeploy… submitted bigger and held: (the DGD as it was, the approval request, the
    card's ts, the card in C0ML as it stood before the submission)."""
    if failed:
        dgd, reply, _ = deployed_and_failed(stack)
        value = buttons(reply)[ACTION_REDEPLOY]["value"]
    else:
        dgd, value = _deployed(stack), f"team-a/{NAME}"
    thread = dgd["metadata"]["annotations"][ANNOTATION_THREAD]
    card_before = stack.slack.message("C0ML", thread)
    view_id = _redeploy_bigger(stack, value)
    asked = _asked(stack)
    wait_for(
        lambda: "waiting for approval" in text_of(stack.slack.view(view_id) or {}) or None,
        what="the modal saying it waits",
    )
    wait_for(
        lambda: (
            any("Redeploy" in line or "redeploy" in line for line in _thread(stack, thread)) or None
        ),
        what="the thread told it waits",
    )
    assert card_before is not None
    return dgd, asked, thread, card_before


def test_a_redeploy_above_the_threshold_waits_as_a_replacement_and_approve_replaces_it(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    dgd, asked, thread, card_before = _held(stack)
    old_uid = dgd["metadata"]["uid"]

    text = text_of(asked["blocks"])
    assert f"<@U0ALICE> asks to redeploy *{NAME}*" in text
    assert f"replacing *{NAME}* under the same name" in text
    assert "`team-a`, 2 GPUs" in text
    assert f"Approve deletes *{NAME}* and creates this in its place" in text
    [record] = approval_store(stack.context).pending()
    assert (record.replaces, record.replaces_uid) == (f"team-a/{NAME}", old_uid)
    assert record.thread_ts == thread  # its own thread, no new card
    waiting = [line for line in _thread(stack, thread) if "waiting for approval" in line]
    assert len(waiting) == 1 and f"*{NAME}* stays as it is until then" in waiting[0]
    # Held: the failed one is neither marked nor deleted, nothing new, no second card.
    stack.settle()
    now = _dgd(stack)
    assert now["metadata"]["uid"] == old_uid
    assert claim_of(now).deleted_by is None
    cards = [
        c
        for c in stack.slack.calls("chat.postMessage")
        if c.ok and c.params["channel"] == "C0ML" and not c.params.get("thread_ts")
    ]
    assert len(cards) == 1
    assert stack.slack.message("C0ML", thread) == card_before

    [own] = stack.replies(_press(stack, asked, ACTION_APPROVE, "U0ALICE"))
    assert "You asked for it" in text_of(own)
    assert _dgd(stack)["metadata"]["uid"] == old_uid

    _press(stack, asked, ACTION_APPROVE, "U0BOSS")

    def replaced() -> dict[str, Any] | None:
        current = stack.k8s.store.get("dynamographdeployments", "team-a", NAME) or {}
        uid = (current.get("metadata") or {}).get("uid")
        return current if uid not in (None, old_uid) else None

    new = wait_for(replaced, what="the replacement")
    annotations = new["metadata"]["annotations"]
    assert annotations[ANNOTATION_THREAD] == thread  # the same card and thread
    assert json.loads(annotations[ANNOTATION_REQUEST])["replicas"] == 2  # exactly as shown
    assert ANNOTATION_EXPIRES_AT in annotations  # the form's Keep for, as for any deploy
    assert stack.context.service.provenance.verify(new)
    told = wait_for(
        lambda: [line for line in _thread(stack, thread) if f"redeployed *{NAME}*" in line] or None,
        what="the redeploy told in the thread",
    )
    assert "<@U0ALICE> redeployed" in told[0]
    assert any(f"Approved by <@U0BOSS>: *{NAME}* is being replaced" in line
               for line in _thread(stack, thread))  # fmt: skip
    settled = wait_for(
        lambda: ((m := stack.slack.message(APPROVALS, asked["ts"])) and "replaced" in
                 text_of(m["blocks"]) and m) or None,
        what="the approvals message settled",
    )  # fmt: skip
    assert "Approved by <@U0BOSS>; replaced." in text_of(settled["blocks"])
    stack.settle()
    audited = [(getattr(r, "action", None), getattr(r, "outcome", None)) for r in caplog.records]
    assert {("redeploy", "requested"), ("redeploy", "approved"), ("redeploy", "created")} <= set(
        audited
    )
    assert audited.count(("deploy", "created")) == 1  # the first one: never a create beside it


def test_deny_leaves_the_deployment_and_its_card_as_they_are(stack: Stack) -> None:
    dgd, asked, thread, _ = _held(stack, failed=False)
    old_uid = dgd["metadata"]["uid"]
    _press(stack, asked, ACTION_DENY, "U0BOSS")
    modal = stack.slack.wait_for("views.open", count=3)[-1].response["view"]
    values = {
        f"{BLOCK_DENY_REASON}.0": {
            BLOCK_DENY_REASON: {"type": "plain_text_input", "value": "one GPU is enough"}
        }
    }
    status, _, _ = stack.post(
        view_submission({**modal, "state": {"values": values}}, user="U0BOSS")
    )
    assert status == 200
    denied = wait_for(
        lambda: [line for line in _thread(stack, thread) if "Denied by <@U0BOSS>" in line] or None,
        what="the denial in the thread",
    )
    assert f"one GPU is enough. *{NAME}* stays as it is." in denied[0]
    stack.settle()
    now = _dgd(stack)
    assert now["metadata"]["uid"] == old_uid
    assert claim_of(now).deleted_by is None
    card_now = stack.slack.message("C0ML", thread)
    assert card_now is not None and "Denied" not in text_of(card_now["blocks"])
    settled = stack.slack.message(APPROVALS, asked["ts"])
    assert settled is not None and "Denied by <@U0BOSS>" in text_of(settled["blocks"])
    assert ACTION_APPROVE not in json.dumps(settled["blocks"])
    assert approval_store(stack.context).pending() == []
    assert _button(asked, ACTION_APPROVE)  # the request had the buttons; they are gone now


def test_a_lapsed_replacement_leaves_the_deployment_and_its_card(stack: Stack) -> None:
    dgd, asked, thread, _ = _held(stack, failed=False)
    stack.settle()
    client = WebClient(token=stack.slack.token, base_url=stack.slack.url, retry_handlers=[])
    later = datetime.now(UTC) + stack.settings.approval_policy.ttl + timedelta(seconds=1)
    Notifier(stack.cluster, client, stack.settings, now=lambda: later).sweep()

    lapsed = [line for line in _thread(stack, thread) if "lapsed" in line]
    assert len(lapsed) == 1 and "nothing was replaced" in lapsed[0]
    now = _dgd(stack)
    assert now["metadata"]["uid"] == dgd["metadata"]["uid"]
    assert claim_of(now).deleted_by is None
    card_now = stack.slack.message("C0ML", thread)
    assert card_now is not None and "Lapsed" not in text_of(card_now["blocks"])
    settled = stack.slack.message(APPROVALS, asked["ts"])
    assert settled is not None and "Lapsed" in text_of(settled["blocks"])
    assert approval_store(stack.context).pending() == []


def test_approving_after_the_deployment_was_replaced_by_hand_replaces_nothing(
    stack: Stack,
) -> None:
    dgd, asked, thread, _ = _held(stack, failed=False)
    stack.settle()
    # Someone deletes it and creates one of the same name: not the object the approver saw.
    stack.k8s.store.delete("dynamographdeployments", "team-a", NAME)
    again = stack.cluster.create_dgd(
        {k: v for k, v in dgd.items() if k != "status"}
        | {"metadata": {k: v for k, v in dgd["metadata"].items()
                        if k in ("name", "namespace", "labels", "annotations")}}
    )  # fmt: skip
    assert again["metadata"]["uid"] != dgd["metadata"]["uid"]

    _press(stack, asked, ACTION_APPROVE, "U0BOSS")
    refused = wait_for(
        lambda: (
            [line for line in _thread(stack, thread) if "Approved by <@U0BOSS>" in line] or None
        ),
        what="the approval's outcome in the thread",
    )
    assert "nothing was replaced" in refused[0]
    assert "not the deployment it was asked to replace any more" in refused[0]
    stack.settle()
    assert _dgd(stack)["metadata"]["uid"] == again["metadata"]["uid"]


def test_a_replacement_bound_to_one_object_leaves_another_of_the_name_untouched(
    stack: Stack,
) -> None:
    # The approval's uid check and the delete are apart in time; the service checks again,
    # so an object made anew under the name in between is neither marked nor deleted.
    dgd, _, _, _ = _held(stack, failed=False)
    stack.settle()
    service = stack.context.service
    request = parse_request(
        json.loads(dgd["metadata"]["annotations"][ANNOTATION_REQUEST]),
        catalog=stack.context.catalog,
        limits=service.limits,
    )

    with pytest.raises(ClusterError, match="not the deployment that was asked to be replaced"):
        service.redeploy(request, by_user="U0ALICE", expected_uid="uid-of-an-earlier-object")

    after = _dgd(stack)
    assert after["metadata"]["uid"] == dgd["metadata"]["uid"]
    assert claim_of(after).deleted_by is None
