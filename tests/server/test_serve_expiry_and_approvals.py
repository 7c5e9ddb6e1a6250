"""Expiry and approvals through `dynamote serve --simulate` itself.

``run_serve`` runs in a thread as in ``test_runner``: its own simulated cluster and operator,
its notifier (lease, sweeps, watches), its HTTP server. The test acts as Slack and kubectl
would: signed requests over HTTP to ``/slack/events``, the Slack Web API stand-in for what
the bot sent, and the official Kubernetes client against the simulated API server (the
kubeconfig serve writes to ``DYNAMOTE_SIM_KUBECONFIG``) for what kubectl would read and edit.

Expiry times are real wall-clock seconds away: the sweep runs every second, the reminder's
lead (one minute, the shortest duration the settings take) is longer than the time left, so
the reminder goes out at once and the deletion at the time itself.
"""

from __future__ import annotations

import http.client
import itertools
import json
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from prometheus_client.parser import text_string_to_metric_families

from bot.blocks.ids import (
    ACTION_APPROVE,
    ACTION_DELETE_DEPLOYMENT,
    ACTION_DENY,
    ACTION_EXPIRY_KEEP,
    BLOCK_DENY_REASON,
    BLOCK_NAME,
    BLOCK_SIZE,
)
from bot.domain.expiry import ANNOTATION_EXPIRES_AT, format_expires_at, parse_expires_at
from bot.domain.manifest import ANNOTATION_REQUEST, ANNOTATION_THREAD
from bot.sim.slack.web_api import SlackStandIn
from tests.stacks import text_of
from tests.standins.slack_requests import (
    SlackRequest,
    block_actions,
    slash_command,
    view_state,
    view_submission,
)
from tests.waiting import WAIT_SECONDS, wait_for, wait_until

from .conftest import SIGNING_SECRET
from .test_runner import Running, answers, get, settings_for

pytestmark = pytest.mark.runs_long  # the whole bot twice, and real seconds of expiry

NAMESPACE = "team-a"
CHANNEL = "C0ML"
APPROVALS = "C0APPROVE"
GROUP, PLURAL = "nvidia.com", "dynamographdeployments"
_RESPONSES = itertools.count(1)
# How far ahead kubectl sets the expiry: time for the reminder and a Keep on a loaded machine.
SECONDS_LEFT = 15


class Serving:
    """A running ``dynamote serve --simulate``, driven as Slack and kubectl drive it."""

    def __init__(self, running: Running, slack: SlackStandIn, kubeconfig: Path) -> None:
        self.running, self.slack = running, slack
        wait_until(lambda: answers(f"{running.url}/readyz"), what="serve ready")
        api = k8s_config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=str(kubeconfig)
        )
        self.api = api
        self.objects = k8s_client.CustomObjectsApi(api)
        self.views_opened = 0

    # --- as Slack ------------------------------------------------------------------------

    def post(self, request: SlackRequest) -> bytes:
        """POST to /slack/events, signed; asserts Slack's 3 s ack."""
        connection = http.client.HTTPConnection("127.0.0.1", self.running.port, timeout=15)
        started = time.monotonic()
        try:
            connection.request(
                "POST", "/slack/events", body=request.body, headers=request.headers(SIGNING_SECRET)
            )
            answer = connection.getresponse()
            body = answer.read()
        finally:
            connection.close()
        took = time.monotonic() - started
        assert took < 3.0, f"the ack took {took:.1f} s"
        assert answer.status == 200, (answer.status, body)
        return body

    def deploy_form(self, *, user: str = "U0ALICE") -> dict[str, Any]:
        """``/dynamote deploy qwen3 0.6b`` in CHANNEL; the modal as Slack holds it."""
        self.post(
            slash_command(
                "deploy qwen3 0.6b",
                user=user,
                channel=CHANNEL,
                response_url=self.slack.response_url(f"cmd{next(_RESPONSES)}"),
            )
        )
        self.views_opened += 1
        opened = self.slack.wait_for("views.open", count=self.views_opened, timeout=WAIT_SECONDS)
        view = self.slack.view(str(opened[-1].response["view"]["id"]))
        assert view is not None
        return view

    def submit(
        self, view: Mapping[str, Any], typed: Mapping[str, Any], *, user: str = "U0ALICE"
    ) -> dict[str, Any]:
        submitted = {**view, "state": {"values": view_state(view, typed)}}
        body = self.post(view_submission(submitted, user=user))
        answer: dict[str, Any] = json.loads(body) if body else {}
        return answer

    def press(self, message: Mapping[str, Any], action_id: str, *, user: str, channel: str) -> str:
        """Press a button of a posted ``message`` (with its ts, and thread_ts in a thread) as
        ``user``; returns the response_url name of the press."""
        block, element = _button(message, action_id)
        name = f"press{next(_RESPONSES)}"
        container: dict[str, Any] = {"message_ts": message["ts"]}
        echoed = {"type": "message", "ts": message["ts"], "blocks": message["blocks"]}
        if message.get("thread_ts"):
            container["thread_ts"] = echoed["thread_ts"] = message["thread_ts"]
        self.post(
            block_actions(
                [{"action_id": action_id, "type": "button", "value": element["value"]}],
                user=user,
                channel=channel,
                response_url=self.slack.response_url(name),
                container=container,
                message=echoed,
                block_id=str(block.get("block_id") or "b"),
            )
        )
        return name

    def replied(self, name: str) -> list[dict[str, Any]] | None:
        """What the bot said on the response_url of press ``name``, if anything yet."""
        said = [c.params for c in self.slack.calls("response_url") if c.path.endswith(f"/{name}")]
        return said or None

    def replies(self, name: str) -> list[dict[str, Any]]:
        return wait_for(lambda: self.replied(name), what=f"a reply on {name}")

    def posted(self, channel: str, *, thread_ts: str | None = None) -> list[dict[str, Any]]:
        """Messages Slack took in ``channel``: top-level ones, or those in ``thread_ts``."""
        return [
            {**c.params, "ts": c.response["ts"]}
            for c in self.slack.calls("chat.postMessage")
            if c.ok and c.params["channel"] == channel and c.params.get("thread_ts") == thread_ts
        ]

    def answer(self, pressed: str, thread_ts: str, words: str) -> dict[str, Any]:
        """What answered press ``pressed``: a message with ``words`` in the thread, or else
        the first reply on its response_url (a refusal or an error)."""

        def found() -> dict[str, Any] | None:
            said = self.posted(CHANNEL, thread_ts=thread_ts)
            told = next((m for m in said if words in text_of(m)), None)
            return told or next(iter(self.replied(pressed) or []), None)

        return wait_for(found, what=f"an answer to {pressed}")

    def thread_says(
        self, thread_ts: str, words: str, timeout: float = WAIT_SECONDS
    ) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            return next(
                (m for m in self.posted(CHANNEL, thread_ts=thread_ts) if words in text_of(m)),
                None,
            )

        return wait_for(found, timeout, what=f"{words!r} in the thread {thread_ts}")

    def sweeps(self) -> float:
        """How many notifier sweeps have finished, from serve's /metrics."""
        status, body = get(f"{self.running.url}/metrics")
        assert status == 200
        for family in text_string_to_metric_families(body.decode()):
            if family.name == "dynamote_sweep_duration_seconds":
                for sample in family.samples:
                    if sample.name.endswith("_count"):
                        return float(sample.value)
        return 0.0

    # --- as kubectl ----------------------------------------------------------------------

    def dgd(self, name: str) -> dict[str, Any] | None:
        try:
            found = self.objects.get_namespaced_custom_object(
                GROUP, "v1beta1", NAMESPACE, PLURAL, name
            )
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        assert isinstance(found, dict)
        return found

    def wait_for_dgd(self, name: str) -> dict[str, Any]:
        return wait_for(lambda: self.dgd(name), what=f"DGD {name} created")

    def card_of(self, name: str) -> str:
        """The ts of the DGD's card, once the bot recorded it on the DGD."""

        def recorded() -> str | None:
            dgd = self.dgd(name)
            return None if dgd is None else dgd["metadata"]["annotations"].get(ANNOTATION_THREAD)

        return wait_for(recorded, what=f"{name}'s card recorded on it")

    def annotate(self, name: str, annotations: Mapping[str, str]) -> None:
        """``kubectl annotate --overwrite``: a JSON merge patch of metadata.annotations."""
        self.objects.patch_namespaced_custom_object(
            GROUP, "v1beta1", NAMESPACE, PLURAL, name, {"metadata": {"annotations": annotations}}
        )


def _button(message: Mapping[str, Any], action_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    for block in message["blocks"]:
        for element in block.get("elements") or []:
            if element.get("action_id") == action_id:
                return dict(block), dict(element)
    raise AssertionError(f"no {action_id} button in {text_of(message)!r}")


def _expires(dgd: Mapping[str, Any]) -> datetime | None:
    return parse_expires_at(dgd["metadata"]["annotations"].get(ANNOTATION_EXPIRES_AT))


@pytest.fixture
def serve_with(
    slack_standin: SlackStandIn, sim_kubeconfig: Path
) -> Iterator[Callable[..., Serving]]:
    """``serve_with(**settings)`` starts ``dynamote serve --simulate --http`` with these settings
    on top of one namespace, team-a, and a sweep every second; it stops at teardown."""

    def start(**overrides: Any) -> Serving:
        settings = settings_for(
            slack_standin,
            namespaces=[NAMESPACE],
            default_namespace=NAMESPACE,
            sweep_interval=1.0,
            slack_channel_interval=0.2,
            **overrides,
        )
        started.append(Running(settings))
        serving.append(Serving(started[-1], slack_standin, sim_kubeconfig))
        return serving[-1]

    started: list[Running] = []
    serving: list[Serving] = []
    yield start
    for each in serving:
        each.api.close()
    for running in started:
        assert running.finish() == 0


def test_a_near_expiry_reminds_keep_saves_one_and_the_other_is_deleted_at_its_time(
    serve_with: Callable[..., Serving],
) -> None:
    serving = serve_with(
        expiry_choices="1h,1d", expiry_default="1h", expiry_max="1d", expiry_reminder="1m"
    )
    names = ("qwen-kept", "qwen-ends")
    for name in names:  # through the deploy modal, as people deploy
        ack = serving.submit(serving.deploy_form(), {BLOCK_NAME: name})
        assert ack.get("response_action") == "update", ack
    dgds = {name: serving.wait_for_dgd(name) for name in names}
    cards = {name: serving.card_of(name) for name in names}
    for dgd in dgds.values():  # the form's "Keep for" default, an hour
        expires = _expires(dgd)
        assert expires is not None
        assert timedelta(minutes=59) < expires - datetime.now(UTC) <= timedelta(hours=1)

    # kubectl moves both to real seconds from now: within the reminder's lead at once.
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=SECONDS_LEFT)
    for name in names:
        serving.annotate(name, {ANNOTATION_EXPIRES_AT: format_expires_at(soon)})

    reminders = {
        name: serving.thread_says(cards[name], "Dynamote deletes it then") for name in names
    }
    for reminder in reminders.values():
        assert "<@U0ALICE>" in text_of(reminder)
        assert _button(reminder, ACTION_EXPIRY_KEEP) and _button(reminder, ACTION_DELETE_DEPLOYMENT)
    assert datetime.now(UTC) < soon, "the reminders came too late to test Keep"

    pressed = serving.press(
        reminders["qwen-kept"], ACTION_EXPIRY_KEEP, user="U0ALICE", channel=CHANNEL
    )
    told = serving.answer(pressed, cards["qwen-kept"], "<@U0ALICE> kept")
    assert "<@U0ALICE> kept" in text_of(told), text_of(told)
    kept = _expires(serving.wait_for_dgd("qwen-kept"))
    assert kept is not None and kept >= soon + timedelta(hours=1)

    # The one left alone goes at its time, told in its thread.
    left = (soon - datetime.now(UTC)).total_seconds()
    serving.thread_says(cards["qwen-ends"], "Deleted at its expiry time", left + WAIT_SECONDS)
    assert datetime.now(UTC) >= soon
    assert serving.dgd("qwen-ends") is None
    # Two sweeps finished after the old time: the second began after it, and judged the kept
    # one on what it says now.
    after = serving.sweeps()
    wait_until(lambda: serving.sweeps() >= after + 2, what="two more sweeps")
    assert serving.dgd("qwen-kept") is not None
    assert not any(
        "Deleted" in text_of(m) for m in serving.posted(CHANNEL, thread_ts=cards["qwen-kept"])
    )


APPROVER = "U0BOSS"


def _ask_for_two_gpus(serving: Serving, name: str) -> tuple[dict[str, Any], str]:
    """Alice submits 2 replicas of a 1-GPU model (2 GPUs, above 1): the approvals message
    and the card's ts."""
    before = len(serving.posted(APPROVALS))
    ack = serving.submit(serving.deploy_form(), {BLOCK_NAME: name, BLOCK_SIZE: "1x2"})
    assert ack.get("response_action") == "update", ack
    asked = wait_for(
        lambda: next(iter(serving.posted(APPROVALS)[before:]), None),
        what="the approval request",
    )
    assert f"asks to deploy *{name}*" in text_of(asked)
    card = wait_for(
        lambda: next((m for m in serving.posted(CHANNEL) if name in text_of(m)), None),
        what=f"{name}'s card",
    )
    return asked, str(card["ts"])


def test_above_the_threshold_an_approver_decides_and_the_requesters_thread_hears_it(
    serve_with: Callable[..., Serving],
) -> None:
    serving = serve_with(approvers=APPROVER, approval_channel=APPROVALS, approval_above_gpus=1)
    asked, card = _ask_for_two_gpus(serving, "qwen-big")
    assert "more than the 1 allowed without approval" in text_of(asked)
    assert _button(asked, ACTION_APPROVE) and _button(asked, ACTION_DENY)
    assert serving.dgd("qwen-big") is None

    own = serving.replies(serving.press(asked, ACTION_APPROVE, user="U0ALICE", channel=APPROVALS))
    assert "You asked for it" in text_of(own)
    assert serving.dgd("qwen-big") is None

    serving.press(asked, ACTION_APPROVE, user=APPROVER, channel=APPROVALS)
    dgd = serving.wait_for_dgd("qwen-big")
    assert serving.card_of("qwen-big") == card
    asked_for = json.loads(dgd["metadata"]["annotations"][ANNOTATION_REQUEST])
    assert asked_for["replicas"] == 2  # exactly what the approver saw
    serving.thread_says(card, f"Approved by <@{APPROVER}>")

    denied, denied_card = _ask_for_two_gpus(serving, "qwen-bigger")
    opened = len(serving.slack.calls("views.open"))
    serving.press(denied, ACTION_DENY, user=APPROVER, channel=APPROVALS)
    modal = serving.slack.wait_for("views.open", count=opened + 1)[-1].response["view"]
    serving.submit(modal, {BLOCK_DENY_REASON: "use 1 GPU first"}, user=APPROVER)
    serving.thread_says(denied_card, f"Denied by <@{APPROVER}>: use 1 GPU first")
    assert serving.dgd("qwen-bigger") is None
