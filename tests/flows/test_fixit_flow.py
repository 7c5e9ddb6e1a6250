"""Fix a failure end to end: signed requests to the app, the Slack stand-in, the Kubernetes
stand-in whose simulated kubelet cannot pull an image from a ``.invalid`` registry, and the
real notifier for the Failed reply that carries Redeploy…, Full log and Delete."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.blocks.ids import (
    ACTION_BACK_TO_FORM,
    ACTION_DELETE_DEPLOYMENT,
    ACTION_FULL_LOG,
    ACTION_REDEPLOY,
    CALLBACK_DEPLOY,
    base_block_id,
)
from bot.domain.expiry import ANNOTATION_EXPIRES_AT
from bot.domain.manifest import ANNOTATION_CHANNEL, ANNOTATION_THREAD
from bot.domain.status import FAILURE_GRACE
from bot.notifier.controller import Notifier
from bot.notifier.pacer import Pacer
from bot.notifier.watcher import Watcher
from bot.ops.audit import AUDIT_LOGGER
from tests.stacks import Stack, app_stack, stack_settings, stand_ins, text_of
from tests.waiting import wait_for

# A registry name that never resolves (RFC 2606): the simulated kubelet fails its pulls.
BAD_IMAGE = "registry.example.invalid/ai-dynamo/vllm-runtime:1.4.0"
NAME = "qwen-bad"


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    settings = stack_settings(image_vllm=BAD_IMAGE)
    with stand_ins(tmp_path) as shared, app_stack(shared, settings) as running:
        yield running


def buttons(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        element["action_id"]: element
        for block in payload.get("blocks") or ()
        if block.get("type") == "actions"
        for element in block["elements"]
    }


def initial(view: dict[str, Any], block_id: str) -> Any:
    """The initial value (or option's value) the view's input block ``block_id`` shows."""
    for block in view.get("blocks") or ():
        element = block.get("element") or {}
        if block.get("type") == "input" and base_block_id(block["block_id"]) == block_id:
            if "initial_option" in element:
                return element["initial_option"]["value"]
            return element.get("initial_value")
    raise AssertionError(f"no input {block_id} in the view")


def deployed_and_failed(stack: Stack) -> tuple[dict[str, Any], dict[str, Any], Notifier]:
    """Deploy NAME through the form; returns its DGD (card recorded), the Failed reply and
    the notifier that posted it."""
    stack.command("deploy qwen3 0.6b", channel="C0ML")
    ack, _ = stack.submit(stack.opened_view(), {"name": NAME})
    assert ack["response_action"] == "update", ack

    def carded() -> dict[str, Any] | None:
        dgd = stack.k8s.store.get("dynamographdeployments", "team-a", NAME) or {}
        return dgd if (dgd.get("metadata") or {}).get("annotations", {}).get(
            ANNOTATION_THREAD) else None  # fmt: skip

    dgd: dict[str, Any] = wait_for(carded, what="the status card recorded")
    client = WebClient(token=stack.slack.token, base_url=stack.slack.url)
    # The notifier judges as it would once the failure grace has passed, so the first failed
    # pull already counts (the grace itself: tests/domain/test_status.py, tests/notifier).
    notifier = Notifier(
        stack.cluster, client, stack.settings, pacer=Pacer(0),
        now=lambda: datetime.now(UTC) + FAILURE_GRACE,
    )  # fmt: skip
    thread = dgd["metadata"]["annotations"][ANNOTATION_THREAD]

    def failed() -> dict[str, Any] | None:
        notifier.sweep()
        for call in stack.slack.calls("chat.postMessage"):
            params = call.params
            if call.ok and params.get("thread_ts") == thread and ACTION_REDEPLOY in buttons(params):
                return params
        return None

    reply: dict[str, Any] = wait_for(failed, what="the Failed reply")
    return dgd, reply, notifier


def test_an_image_that_cannot_be_pulled_gets_a_failed_reply_whose_redeploy_opens_the_form_prefilled(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    dgd, reply, notifier = deployed_and_failed(stack)
    text = text_of(reply)
    assert "failed: *the image cannot be pulled*" in text
    assert "registry.example.invalid" in text  # the one line that shows it
    shown = buttons(reply)
    assert list(shown) == [ACTION_REDEPLOY, ACTION_FULL_LOG, ACTION_DELETE_DEPLOYMENT]
    assert shown[ACTION_REDEPLOY]["value"] == f"team-a/{NAME}"

    stack.click(ACTION_REDEPLOY, shown[ACTION_REDEPLOY]["value"])
    opened = stack.slack.wait_for("views.open", count=2)[1]
    view_id = str(opened.response["view"]["id"])

    def form() -> dict[str, Any] | None:
        view = stack.slack.view(view_id) or {}
        return view if view.get("callback_id") == CALLBACK_DEPLOY else None

    prefilled: dict[str, Any] = wait_for(form, what="the deploy form prefilled")
    assert initial(prefilled, "model") == "Qwen/Qwen3-0.6B"
    assert initial(prefilled, "name") == NAME
    assert _has_keep_for(prefilled)
    assert "Redeploying qwen-bad" in text_of(prefilled)

    # The notifier watches, as in production: the old object's DELETED event reaches it.
    watcher = Watcher(
        stack.cluster, ["team-a"], versions=lambda: notifier.resource_versions,
        on_keys=lambda _keys: None, on_deleted=notifier.on_deleted,
        want_resync=lambda: None, active=lambda: True, timeout_seconds=30,
    )  # fmt: skip
    watcher.start()
    # Submitting under the same name replaces it: a new object, the same card and thread.
    ack, took = stack.submit(prefilled)
    assert took < 3.0 and ack["response_action"] == "update", ack
    old_uid = dgd["metadata"]["uid"]

    def replaced() -> dict[str, Any] | None:
        now = stack.k8s.store.get("dynamographdeployments", "team-a", NAME) or {}
        return now if (now.get("metadata") or {}).get("uid") not in (None, old_uid) else None

    new: dict[str, Any] = wait_for(replaced, what="the replacement")
    annotations = new["metadata"]["annotations"]
    old = dgd["metadata"]["annotations"]
    assert annotations[ANNOTATION_THREAD] == old[ANNOTATION_THREAD]
    assert annotations[ANNOTATION_CHANNEL] == old[ANNOTATION_CHANNEL]
    assert ANNOTATION_EXPIRES_AT in annotations  # the form's Keep for holds for the new one
    assert stack.context.service.provenance.verify(new)
    thread = old[ANNOTATION_THREAD]
    told = wait_for(
        lambda: [c.params for c in stack.slack.calls("chat.postMessage")
                 if c.params.get("thread_ts") == thread and "redeployed" in text_of(c.params)]
        or None,
        what="the redeploy told in the thread",
    )  # fmt: skip
    assert "<@U0ALICE> redeployed *qwen-bad*" in text_of(told[0])
    (record,) = [r for r in caplog.records if getattr(r, "action", None) == "redeploy"]
    assert (record.outcome, record.user) == ("created", "U0ALICE")  # type: ignore[attr-defined]
    # The old object's deletion reached the notifier, which does not tell it as the end.
    wait_for(lambda: notifier._deletions.told(old_uid) or None, what="the deletion seen")
    watcher.stop()
    stack.settle()
    in_thread = [text_of(c.params) for c in stack.slack.calls("chat.postMessage")
                 if c.params.get("thread_ts") == thread]  # fmt: skip
    assert not any("deleted" in said.lower() for said in in_thread), in_thread


def test_redeploy_refuses_someone_elses_deployment_and_full_log_shows_the_failing_pods(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    _, reply, _ = deployed_and_failed(stack)
    stack.click(ACTION_REDEPLOY, buttons(reply)[ACTION_REDEPLOY]["value"], user="U0BOB")
    view_id = str(stack.slack.wait_for("views.open", count=2)[1].response["view"]["id"])
    refused = wait_for(
        lambda: "Only <@U0ALICE> or an admin" in text_of(stack.slack.view(view_id) or {}) or None,
        what="the refusal",
    )
    assert refused
    stack.click(ACTION_FULL_LOG, f"team-a/{NAME}")
    log_id = str(stack.slack.wait_for("views.open", count=3)[2].response["view"]["id"])
    shown = wait_for(
        lambda: ((v := stack.slack.view(log_id) or {}) and "Reading the logs" not in text_of(v)
        and v) or None,
        what="the Full log",
    )  # fmt: skip
    # The kubelet alternates between the two while it retries the pull.
    assert f"{NAME}" in text_of(shown)
    assert "ImagePullBackOff" in text_of(shown) or "ErrImagePull" in text_of(shown)
    # A form Alice opened, submitted as Bob, is judged again at submit: nothing is replaced.
    stack.click(ACTION_REDEPLOY, f"team-a/{NAME}")
    form_id = str(stack.slack.wait_for("views.open", count=4)[3].response["view"]["id"])
    form = wait_for(
        lambda: ((v := stack.slack.view(form_id) or {}).get("callback_id") == CALLBACK_DEPLOY
        and v) or None,
        what="Alice's form",
    )  # fmt: skip
    before = stack.k8s.store.get("dynamographdeployments", "team-a", NAME)
    stack.submit(form, user="U0BOB")
    said = wait_for(
        lambda: "Only the person who deployed it" in text_of(stack.slack.view(form_id) or {})
        or None,
        what="the refusal at submit",
    )  # fmt: skip
    assert said
    after = stack.k8s.store.get("dynamographdeployments", "team-a", NAME)
    assert before is not None and after is not None
    assert after["metadata"]["uid"] == before["metadata"]["uid"]
    actions = {(getattr(r, "action", None), getattr(r, "outcome", None), getattr(r, "user", None))
               for r in caplog.records}  # fmt: skip
    assert ("redeploy", "denied", "U0BOB") in actions
    assert ("full_log", "tried", "U0ALICE") in actions


def test_a_refused_create_goes_back_to_the_form_with_everything_typed(stack: Stack) -> None:
    stack.command("deploy qwen3 0.6b", channel="C0ML")
    form = stack.opened_view()
    # The checks outlast the ack's budget (the modal says Deploying…), then the cluster
    # refuses: the secret read takes longer than the budget, whatever the machine's load.
    stack.context.submit_budget_seconds = 0.3
    stack.k8s.faults.add_latency(0.6, method="GET", path_regex="secrets")
    stack.k8s.faults.add_error(503, method="POST", path_regex="dynamographdeployments")
    try:
        ack, _ = stack.submit(form, {"name": "qwen-typed"})
        assert ack["response_action"] == "update"

        def refused() -> dict[str, Any] | None:
            view = stack.slack.view(str(form["id"])) or {}
            return view if ACTION_BACK_TO_FORM in buttons(view) else None

        failed: dict[str, Any] = wait_for(refused, what="the refusal with Back to the form")
    finally:
        stack.k8s.faults.clear()
    assert "did not create" in text_of(failed)
    stack.click(ACTION_BACK_TO_FORM, "back", view=failed)

    def back() -> dict[str, Any] | None:
        view = stack.slack.view(str(form["id"])) or {}
        return view if view.get("callback_id") == CALLBACK_DEPLOY else None

    again: dict[str, Any] = wait_for(back, what="the form again")
    assert initial(again, "name") == "qwen-typed"
    assert initial(again, "model") == "Qwen/Qwen3-0.6B"
    assert _has_keep_for(again), "the form comes back with everything the settings put in it"


def _has_keep_for(view: dict[str, Any]) -> bool:
    return any(str(b.get("block_id", "")).startswith("keep_for") for b in view.get("blocks", []))
