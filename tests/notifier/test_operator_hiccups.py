"""An operator reconcile error in a deployment's thread: a hiccup is ridden out, a lasting one
is announced once, through the real notifier against the stand-in and the simulated operator.
"""

from __future__ import annotations

from datetime import timedelta

from bot.domain.deployments import deployment_from
from bot.domain.status import RECONCILE_RETRY_WINDOW
from bot.sim.k8s.standin import StandIn
from bot.sim.operator.controller import SimOperator
from bot.sim.slack.web_api import SlackStandIn

from .conftest import NAMESPACE, READY_AFTER, Bot, Deploy, card_updates, replies, run_to_running


def reply_texts(slack: SlackStandIn, card: str) -> list[str]:
    return [str(r["text"]) for r in replies(slack, card)]


def failed_replies(slack: SlackStandIn, card: str, name: str) -> list[str]:
    return [text for text in reply_texts(slack, card) if text.startswith(f"{name} failed")]


def test_a_reconcile_error_that_clears_within_the_window_gets_no_failed_reply(
    bot: Bot,
    deploy: Deploy,
    operator: SimOperator,
    standin: StandIn,
    slack: SlackStandIn,
) -> None:
    notifier = bot.notifier()
    _, card = deploy("hiccup")
    operator.reconcile_once()
    notifier.sweep()
    assert reply_texts(slack, card) == []  # Deploying: the card says so

    operator.fail_reconciles(NAMESPACE, "hiccup", seconds=READY_AFTER / 2)
    operator.reconcile_once()
    dgd = standin.store.get("dynamographdeployments", NAMESPACE, "hiccup")
    assert dgd is not None and dgd["status"]["state"] == "failed"
    notifier.sweep()
    notifier.sweep()
    assert reply_texts(slack, card) == []  # still deploying: nothing to say

    bot.clock.advance(READY_AFTER)  # the failure ends and the pods become ready
    operator.reconcile_once()
    notifier.sweep()
    texts = reply_texts(slack, card)
    assert len(texts) == 1
    assert texts[0].startswith("hiccup is running")


def test_a_hiccup_late_in_a_long_rollout_that_clears_within_the_window_posts_no_failed(
    bot: Bot,
    deploy: Deploy,
    operator: SimOperator,
    standin: StandIn,
    slack: SlackStandIn,
) -> None:
    notifier = bot.notifier()
    _, card = deploy("slow")
    operator.reconcile_once()  # Ready=False from now on, while the pods come up
    notifier.sweep()
    bot.offset = RECONCILE_RETRY_WINDOW + timedelta(minutes=1)  # deploying for 4 minutes

    operator.fail_reconciles(NAMESPACE, "slow", seconds=5)
    operator.reconcile_once()
    dgd = standin.store.get("dynamographdeployments", NAMESPACE, "slow")
    assert dgd is not None and dgd["status"]["state"] == "failed"
    ready = next(c for c in dgd["status"]["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == "failed_to_reconcile_the_resources"
    notifier.sweep()  # Ready went False 4 minutes ago; the error is new
    bot.offset += timedelta(minutes=1)
    bot.notifier().sweep()  # a restarted bot counts from the same moment
    assert failed_replies(slack, card, "slow") == []
    # `/dynamote status` and the lists judge it from the same record.
    pods, _ = standin.store.list("pods", NAMESPACE)
    read = bot.cluster.get_dgd(NAMESPACE, "slow")
    viewed = deployment_from(read, pods, verified=True, now=bot.now())
    assert viewed.status.phase == "Deploying"
    assert "operator retrying" in viewed.status.reason

    bot.clock.advance(5)  # the operator's retry succeeds
    operator.reconcile_once()
    bot.offset += timedelta(minutes=1)
    notifier.sweep()
    bot.clock.advance(READY_AFTER)
    operator.reconcile_once()
    notifier.sweep()
    texts = reply_texts(slack, card)
    assert failed_replies(slack, card, "slow") == []
    assert len(texts) == 1 and texts[0].startswith("slow is running")


def test_a_reconcile_error_late_in_a_long_rollout_that_persists_gets_one_failed_reply(
    bot: Bot,
    deploy: Deploy,
    operator: SimOperator,
    slack: SlackStandIn,
) -> None:
    _, card = deploy("stuck")
    operator.reconcile_once()
    bot.notifier().sweep()
    first_seen = RECONCILE_RETRY_WINDOW + timedelta(minutes=1)
    bot.offset = first_seen

    operator.fail_reconciles(NAMESPACE, "stuck", seconds=3600)
    operator.reconcile_once()
    bot.notifier().sweep()
    # Bot.now is the wall clock plus the offset: room for the real seconds between sweeps.
    bot.offset = first_seen + RECONCILE_RETRY_WINDOW - timedelta(seconds=30)
    bot.notifier().sweep()  # each a restarted bot: the window is not started over
    assert failed_replies(slack, card, "stuck") == []

    bot.offset = first_seen + RECONCILE_RETRY_WINDOW
    for _ in range(3):
        bot.notifier().sweep()
    [failed] = failed_replies(slack, card, "stuck")
    assert reply_texts(slack, card) == [failed]


def test_a_hiccup_of_a_running_deployment_does_not_flap_its_thread(
    bot: Bot,
    deploy: Deploy,
    operator: SimOperator,
    slack: SlackStandIn,
) -> None:
    notifier = bot.notifier()
    _, card = deploy("steady")
    run_to_running(operator, bot.clock)
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
    deploy: Deploy,
    operator: SimOperator,
    slack: SlackStandIn,
) -> None:
    notifier = bot.notifier()
    _, card = deploy("broken")
    operator.reconcile_once()
    operator.fail_reconciles(NAMESPACE, "broken", seconds=3600)
    operator.reconcile_once()
    notifier.sweep()
    assert reply_texts(slack, card) == []
    card_text = str(card_updates(slack, card)[-1]["blocks"])
    assert "operator retrying: failed to reconcile" in card_text

    bot.offset = RECONCILE_RETRY_WINDOW + timedelta(seconds=1)
    notifier.sweep()
    notifier.sweep()
    [failed] = replies(slack, card)
    assert str(failed["text"]).startswith("broken failed")
    assert "failed to reconcile Dynamo components deployments" in str(failed["blocks"])


def test_the_port_forward_line_names_a_service_the_cluster_has(
    bot: Bot,
    deploy: Deploy,
    operator: SimOperator,
    standin: StandIn,
    slack: SlackStandIn,
) -> None:
    notifier = bot.notifier()
    _, card = deploy("served")
    run_to_running(operator, bot.clock)
    notifier.sweep()
    running = str(replies(slack, card)[-1]["blocks"])
    assert f"kubectl port-forward svc/served-frontend 8000:8000 -n {NAMESPACE}" in running
    service = standin.store.get("services", NAMESPACE, "served-frontend")
    assert service is not None
    assert service["spec"]["ports"][0]["port"] == 8000
    endpoints = standin.store.get("endpoints", NAMESPACE, "served-frontend")
    assert endpoints is not None and endpoints["subsets"][0]["addresses"]
