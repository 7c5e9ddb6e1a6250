"""Faults at every step: the person hears about it within 3 seconds and nothing is half-applied.

Kubernetes faults (API down, slower than the client's timeout, 5xx, 403 on the step's verb, the
DGD API missing) are injected into the stand-in at each step: opening the modal, submitting
it, list, status, delete and the notifier's sweep. Slack faults (429 and 5xx) hit every Web API
method the app calls; the production retry handlers must carry the call through.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.ids import (
    ACTION_DELETE_DEPLOYMENT,
    ACTION_MODEL_SELECT,
    ACTION_MY_DEPLOYMENTS,
    ACTION_PREVIEW_YAML,
)
from bot.blocks.status_card import build_status_card
from bot.domain.deployments import deployment_from
from bot.domain.manifest import ANNOTATION_DELETED_BY, ANNOTATION_THREAD, SlackOrigin
from bot.domain.request import parse_request
from bot.notifier.controller import Notifier
from bot.notifier.pacer import Pacer
from bot.server.health import Health
from bot.slack.announce import post_card
from bot.slack.client import retry_handlers
from tests.stacks import Stack, deploy_directly, stack_maker, text_of
from tests.standins.slack_requests import block_actions, view_state
from tests.waiting import WAIT_SECONDS, wait_for, wait_until

from .conftest import ErrorLog

pytestmark = pytest.mark.runs_long  # a stack per case, timeouts and retries

DGDS = "dynamographdeployments"
FAST = 3.0  # seconds within which a person hears back

MakeStack = Callable[..., Stack]


@pytest.fixture
def make_stack(tmp_path: Path) -> Iterator[MakeStack]:
    with stack_maker(tmp_path, api_version_cache_seconds=0) as make:
        yield make


def inject(stack: Stack, fault: str, verb: str) -> None:
    faults = stack.k8s.faults
    if fault == "down":
        faults.refuse_connections()
    elif fault == "slow":
        faults.add_latency(3.0)  # the stack's read timeout is 1 s
    elif fault == "5xx":
        faults.add_error(503)
    elif fault == "403":
        faults.forbid(verb, DGDS)
        faults.forbid(verb, "secrets")
    elif fault == "no-crd":
        faults.add_error(404, path_regex=r"^/apis/nvidia\.com")


FAULTS = ["down", "slow", "5xx", "403", "no-crd"]


def first_reply_after(stack: Stack, name: str, started: float) -> tuple[dict[str, Any], float]:
    reply = stack.replies(name, timeout=WAIT_SECONDS)[0]
    (call,) = [c for c in stack.slack.calls("response_url") if c.path.endswith(f"/{name}")]
    return reply, call.at - started


def dgd_names(stack: Stack) -> list[str]:
    return [d["metadata"]["name"] for d in stack.k8s.store.list(DGDS)[0]]


# --- Kubernetes faults at each step ------------------------------------------------------------


@pytest.mark.parametrize("fault", FAULTS)
def test_the_modal_opens_at_once_and_notes_the_cluster_problem(
    make_stack: MakeStack, fault: str
) -> None:
    stack = make_stack()
    inject(stack, fault, "get")
    started = time.time()
    stack.command("deploy qwen3 0.6b")
    opened = stack.slack.wait_for("views.open")[0]
    assert opened.at - started < FAST and opened.ok
    # The secret check does not touch the DGD API, and a 403 on secrets means "cannot tell".
    if fault in ("down", "slow", "5xx"):
        update = stack.slack.wait_for("views.update", timeout=WAIT_SECONDS)[0]
        assert ":warning:" in text_of(update.params["view"])
    assert dgd_names(stack) == []


@pytest.mark.parametrize("fault", FAULTS)
def test_a_submission_during_a_fault_is_answered_fast_and_creates_nothing(
    make_stack: MakeStack, fault: str
) -> None:
    stack = make_stack()
    stack.command("deploy qwen3 0.6b")
    view = stack.opened_view()
    inject(stack, fault, "create")
    ack, took = stack.submit(view)
    assert took < FAST
    if ack.get("response_action") == "update":  # "Deploying…", then the outcome
        updates = wait_for(
            lambda: [c for c in stack.slack.calls("views.update")
                     if "Deploying" not in text_of(c.params.get("view"))] or None,
            what="the person hearing how the deploy ended",
        )  # fmt: skip
        assert "qwen3-0-6b" in text_of(updates[-1].params["view"])
    else:
        assert ack["response_action"] == "errors" and ack["errors"]
    stack.k8s.faults.clear()
    stack.settle()  # whatever the submission set off has finished
    assert dgd_names(stack) == [], "a DGD was created although the cluster failed"


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize(
    ("step", "verb"), [("list all", "list"), ("status qwen-here", "get")]
)  # fmt: skip
def test_list_and_status_say_what_went_wrong_within_three_seconds(
    make_stack: MakeStack, fault: str, step: str, verb: str
) -> None:
    stack = make_stack()
    deploy_directly(stack, "qwen-here")
    inject(stack, fault, verb)
    started = time.time()
    reply, took = first_reply_after(stack, stack.command(step), started)
    assert took < FAST, took
    text = text_of(reply)
    assert "Could not" in text and "Something went wrong" not in text, text


@pytest.mark.parametrize("fault", FAULTS)
def test_a_delete_during_a_fault_is_answered_fast_and_leaves_the_dgd_untouched(
    make_stack: MakeStack, fault: str
) -> None:
    stack = make_stack()
    deploy_directly(stack, "qwen-keep")
    inject(stack, fault, "delete")
    started = time.time()
    reply, took = first_reply_after(
        stack, stack.click(ACTION_DELETE_DEPLOYMENT, "team-a/qwen-keep"), started
    )
    assert took < FAST, took
    assert "Could not delete" in text_of(reply)
    stack.k8s.faults.clear()
    kept = stack.k8s.store.get(DGDS, "team-a", "qwen-keep")
    assert kept is not None
    assert ANNOTATION_DELETED_BY not in kept["metadata"].get("annotations", {}), (
        "a failed delete left the DGD marked as deleted"
    )


@pytest.mark.parametrize("fault", FAULTS)
def test_a_sweep_during_a_fault_reports_errors_and_never_raises(
    make_stack: MakeStack, fault: str
) -> None:
    stack = make_stack()
    deploy_directly(stack, "qwen-swept")
    client = WebClient(token=stack.slack.token, base_url=stack.slack.url)
    notifier = Notifier(stack.cluster, client, stack.settings, pacer=Pacer(0))
    inject(stack, fault, "list")
    started = time.monotonic()
    report = notifier.sweep()
    assert report.errors and time.monotonic() - started < 10
    stack.k8s.faults.clear()
    assert not notifier.sweep().errors


def test_readyz_is_not_ready_while_the_cluster_is_unreachable_and_recovers(
    make_stack: MakeStack,
) -> None:
    holder: list[Stack] = []
    health = Health(lambda: holder[0].cluster.cluster_status().reachable, cache_seconds=0.1)
    health.mark_slack_ready()
    stack = make_stack(health=health)
    holder.append(stack)

    def readyz() -> int:
        connection = http.client.HTTPConnection("127.0.0.1", stack.server.port, timeout=5)
        try:
            connection.request("GET", "/readyz")
            return connection.getresponse().status
        finally:
            connection.close()

    def eventually(status: int) -> None:
        wait_until(lambda: readyz() == status, what=f"/readyz answering {status}")

    eventually(200)
    stack.k8s.faults.refuse_connections()
    eventually(503)
    stack.k8s.faults.refuse_connections(False)
    eventually(200)


# --- Slack faults on every call the app makes --------------------------------------------------


def _with_state(view: dict[str, Any]) -> dict[str, Any]:
    return {**view, "state": {"values": view_state(view)}}


def _open_modal(stack: Stack) -> dict[str, Any]:
    stack.command("deploy qwen3 0.6b")
    return stack.opened_view()


def drive(stack: Stack, method: str) -> None:
    """Do what makes the app call ``method``."""
    if method == "views.open":
        stack.command("deploy qwen3 0.6b")
    elif method == "views.update":
        stack.click(ACTION_MODEL_SELECT, view=_with_state(_open_modal(stack)),
                    selected={"value": "Qwen/Qwen3-0.6B"})  # fmt: skip
    elif method == "views.push":
        stack.click(ACTION_PREVIEW_YAML, view=_with_state(_open_modal(stack)))
    elif method == "chat.postMessage":
        stack.submit(_open_modal(stack))
    elif method == "response_url":
        stack.command("list all")
    elif method == "conversations.open":
        stack.post(block_actions([{"action_id": ACTION_MY_DEPLOYMENTS, "type": "button"}],
                                 channel=None, container={"type": "view"},
                                 view={"id": "V0HOME", "type": "home", "blocks": []}))  # fmt: skip
    elif method == "views.publish":
        stack.event({"type": "app_home_opened", "user": "U0ALICE", "tab": "home"})


METHODS = ["views.open", "views.update", "views.push", "chat.postMessage", "response_url",
           "conversations.open", "views.publish"]  # fmt: skip


@pytest.mark.parametrize("kind", ["429", "5xx"])
@pytest.mark.parametrize("method", METHODS)
def test_a_slack_429_or_5xx_is_retried_and_the_call_goes_through(
    make_stack: MakeStack, errors: ErrorLog, method: str, kind: str
) -> None:
    stack = make_stack()
    if kind == "429":
        fault = stack.slack.rate_limit(method, times=1, retry_after=1)
    else:
        fault = stack.slack.server_error(method, times=1, status=503)
    drive(stack, method)
    wait_until(
        lambda: any(c.ok for c in stack.slack.calls(method)),
        what=f"{method} going through after a {kind}",
    )
    assert fault.hits == 1
    stack.settle()
    assert not errors.records, errors.describe()


def test_chat_update_of_a_card_is_retried_after_a_429(make_stack: MakeStack) -> None:
    stack = make_stack()
    stack.submit(_open_modal(stack))
    stack.wait_for_dgd("team-a", "qwen3-0-6b")
    stack.slack.wait_for("chat.postMessage")
    client = WebClient(token=stack.slack.token, base_url=stack.slack.url,
                       retry_handlers=retry_handlers())  # fmt: skip
    notifier = Notifier(stack.cluster, client, stack.settings, pacer=Pacer(0))
    fault = stack.slack.rate_limit("chat.update", times=1, retry_after=1)

    def updated() -> bool:
        notifier.sweep()  # each sweep tries the update again once the 429 has passed
        return any(c.ok for c in stack.slack.calls("chat.update"))

    wait_until(updated, what="the card updated")
    assert fault.hits == 1


# --- a crash between creating the DGD and posting its card --------------------------------------


def test_a_dgd_whose_card_was_never_posted_gets_a_late_card_from_the_notifier(
    make_stack: MakeStack,
) -> None:
    stack = make_stack()
    request = parse_request(
        {"model": "Qwen/Qwen3-0.6B", "name": "orphan", "namespace": "team-a", "engine": "vllm"},
        catalog=stack.context.catalog,
    )
    created = stack.context.service.create(
        request, SlackOrigin(user="U0ALICE", channel="C0GENERAL")
    )
    stack.slack.fail("chat.postMessage", "internal_error", times=1)  # the bot "crashes" here
    client = WebClient(token=stack.slack.token, base_url=stack.slack.url)
    card = build_status_card(deployment_from(created, verified=True)).as_kwargs()
    with pytest.raises(SlackApiError):
        post_card(client, card, channel="C0GENERAL", user="U0ALICE")
    assert ANNOTATION_THREAD not in stack.wait_for_dgd("team-a", "orphan")["metadata"].get(
        "annotations", {}
    )
    later = datetime.now(UTC) + timedelta(minutes=5)  # past the notifier's grace period
    notifier = Notifier(stack.cluster, client, stack.settings, pacer=Pacer(0), now=lambda: later)
    report = notifier.sweep()
    assert report.cards == 1, report
    posted = [c for c in stack.slack.calls("chat.postMessage") if c.ok]
    assert posted and posted[0].params["channel"] == "C0GENERAL"
    assert "orphan" in text_of(posted[0].params)
    annotations = stack.k8s.store.get(DGDS, "team-a", "orphan")["metadata"]["annotations"]
    assert annotations[ANNOTATION_THREAD] == posted[0].response["ts"]


def test_the_modal_still_closes_when_the_card_cannot_be_posted(make_stack: MakeStack) -> None:
    stack = make_stack()
    stack.slack.fail("chat.postMessage", "internal_error")
    stack.slack.fail("conversations.open", "internal_error")
    stack.submit(_open_modal(stack))
    stack.wait_for_dgd("team-a", "qwen3-0-6b")
    done = stack.slack.wait_for("views.update", timeout=WAIT_SECONDS)[-1]
    assert "qwen3-0-6b" in json.dumps(done.params["view"])
