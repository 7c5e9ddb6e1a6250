"""An operator reconcile error in a deployment's thread: a hiccup is ridden out, a lasting one
is announced once, through the real notifier against the stand-in and the simulated operator.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from bot.sim.operator import SimOperator
from bot.sim.slack_api import SlackStandIn
from bot.sim.standin import StandIn
from bot.status import RECONCILE_RETRY_WINDOW

from .conftest import NAMESPACE, READY_AFTER, Bot, replies


def reply_texts(slack: SlackStandIn, card: str) -> list[str]:
    return [str(r["text"]) for r in replies(slack, card)]


def test_a_reconcile_error_that_clears_within_the_window_gets_no_failed_reply(
    bot: Bot,
    deploy: Callable[..., tuple[dict[str, Any], str]],
    operator: SimOperator,
    standin: StandIn,
    slack: SlackStandIn,
) -> None:
    notifier = bot.notifier()
    _, card = deploy("hiccup")
    operator.reconcile_once()
    notifier.sweep()
    assert reply_texts(slack, card) == ["hiccup is deploying: 0/2 replicas ready"]

    operator.fail_reconciles(NAMESPACE, "hiccup", seconds=READY_AFTER / 2)
    operator.reconcile_once()
    dgd = standin.store.get("dynamographdeployments", NAMESPACE, "hiccup")
    assert dgd is not None and dgd["status"]["state"] == "failed"
    notifier.sweep()
    notifier.sweep()
    assert len(reply_texts(slack, card)) == 1  # still deploying: nothing new to say

    bot.clock.advance(READY_AFTER)  # the failure ends and the pods become ready
    operator.reconcile_once()
    notifier.sweep()
    texts = reply_texts(slack, card)
    assert len(texts) == 2
    assert not any(text.startswith("hiccup failed") for text in texts)
    assert texts[-1].startswith("hiccup is running")


def test_a_hiccup_of_a_running_deployment_does_not_flap_its_thread(
    bot: Bot,
    deploy: Callable[..., tuple[dict[str, Any], str]],
    operator: SimOperator,
    slack: SlackStandIn,
) -> None:
    notifier = bot.notifier()
    _, card = deploy("steady")
    operator.reconcile_once()
    bot.clock.advance(READY_AFTER)
    operator.reconcile_once()
    notifier.sweep()
    before = reply_texts(slack, card)

    operator.fail_reconciles(NAMESPACE, "steady", seconds=30)
    operator.reconcile_once()
    notifier.sweep()
    bot.clock.advance(30)
    operator.reconcile_once()
    notifier.sweep()
    assert reply_texts(slack, card) == before  # pods stayed ready: still Running, no reply


def test_a_reconcile_error_that_outlasts_the_window_gets_one_failed_reply(
    bot: Bot,
    deploy: Callable[..., tuple[dict[str, Any], str]],
    operator: SimOperator,
    slack: SlackStandIn,
) -> None:
    notifier = bot.notifier()
    _, card = deploy("broken")
    operator.reconcile_once()
    operator.fail_reconciles(NAMESPACE, "broken", seconds=3600)
    operator.reconcile_once()
    notifier.sweep()
    (deploying,) = reply_texts(slack, card)
    assert deploying.startswith("broken is deploying: 0/2 replicas ready; operator retrying:")

    bot.offset = RECONCILE_RETRY_WINDOW + timedelta(seconds=1)
    notifier.sweep()
    notifier.sweep()
    failed = [r for r in replies(slack, card) if str(r["text"]).startswith("broken failed")]
    assert len(failed) == 1
    assert "failed to reconcile Dynamo components deployments" in str(failed[0]["blocks"])


def test_the_port_forward_line_names_a_service_the_cluster_has(
    bot: Bot,
    deploy: Callable[..., tuple[dict[str, Any], str]],
    operator: SimOperator,
    standin: StandIn,
    slack: SlackStandIn,
) -> None:
    notifier = bot.notifier()
    _, card = deploy("served")
    operator.reconcile_once()
    bot.clock.advance(READY_AFTER)
    operator.reconcile_once()
    notifier.sweep()
    running = str(replies(slack, card)[-1]["blocks"])
    assert f"kubectl port-forward svc/served-frontend 8000:8000 -n {NAMESPACE}" in running
    service = standin.store.get("services", NAMESPACE, "served-frontend")
    assert service is not None
    assert service["spec"]["ports"][0]["port"] == 8000
    endpoints = standin.store.get("endpoints", NAMESPACE, "served-frontend")
    assert endpoints is not None and endpoints["subsets"][0]["addresses"]
