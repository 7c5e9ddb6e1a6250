"""A deploy's life in its thread: the card redrawn at each change, one Running reply that the
channel hears too, and the record of it on the DGD."""

from __future__ import annotations

from bot.domain.notified import ANNOTATION_NOTIFIED, decode
from bot.sim.operator.controller import SimOperator
from bot.sim.slack.web_api import SlackStandIn

from .conftest import (
    CHANNEL,
    NAMESPACE,
    READY_AFTER,
    REQUESTER,
    Bot,
    Deploy,
    card_updates,
    make_settings,
    replies,
    run_to_running,
)


def test_a_deploy_going_pending_deploying_running_gets_one_reply_in_channel_and_card_updates(
    bot: Bot,
    deploy: Deploy,
    operator: SimOperator,
    slack: SlackStandIn,
) -> None:
    notifier = bot.notifier()
    _, card = deploy("qwen")

    notifier.sweep()  # Pending: the card already says so, no reply
    assert replies(slack) == []
    assert "Pending" in card_updates(slack, card)[-1]["text"]

    operator.reconcile_once()  # pods created, containers starting
    notifier.sweep()
    notifier.sweep()
    assert replies(slack) == []  # Deploying: the card shows it, the thread stays quiet
    assert "Deploying" in card_updates(slack, card)[-1]["text"]

    bot.clock.advance(READY_AFTER)
    operator.reconcile_once()
    notifier.sweep()
    notifier.sweep()
    [running] = replies(slack, card)
    blocks = str(running["blocks"])
    assert f"kubectl port-forward svc/qwen-frontend 8000:8000 -n {NAMESPACE}" in blocks
    assert "curl localhost:8000/v1/chat/completions" in blocks
    assert "Qwen/Qwen3-0.6B" in blocks
    assert f"<@{REQUESTER}>" in blocks
    assert running["channel"] == CHANNEL
    assert running["reply_broadcast"] is True  # the channel hears it too
    [posted] = [c.response for c in slack.calls("chat.postMessage") if c.ok]
    shown = slack.message(CHANNEL, posted["ts"])
    assert shown is not None and shown["subtype"] == "thread_broadcast"
    assert shown["thread_ts"] == card
    updates = card_updates(slack, card)
    assert [u["text"].rsplit(" ", 1)[-1] for u in updates] == ["Pending", "Deploying", "Running"]
    final = slack.message(CHANNEL, card)
    assert final is not None and "Running" in final["text"]


def test_with_broadcasting_off_the_running_reply_stays_in_the_thread(
    bot: Bot,
    deploy: Deploy,
    operator: SimOperator,
    slack: SlackStandIn,
) -> None:
    bot.settings = make_settings(broadcast_ready=False)
    _, card = deploy("quiet")
    run_to_running(operator, bot.clock)
    bot.notifier().sweep()
    [running] = replies(slack, card)
    assert "reply_broadcast" not in running
    shown = slack.message(CHANNEL, slack.calls("chat.postMessage")[-1].response["ts"])
    assert shown is not None and "subtype" not in shown


def test_what_the_thread_heard_is_recorded_on_the_dgd(
    bot: Bot,
    deploy: Deploy,
    operator: SimOperator,
) -> None:
    notifier = bot.notifier()
    deploy("qwen")
    operator.reconcile_once()
    notifier.sweep()
    dgd = bot.cluster.get_dgd(NAMESPACE, "qwen")
    record = decode(dgd["metadata"]["annotations"][ANNOTATION_NOTIFIED])
    assert record.phase is None  # nothing replied yet
    assert record.card == "Deploying 0/2"
    assert record.since is not None
    bot.clock.advance(READY_AFTER)
    operator.reconcile_once()
    notifier.sweep()
    dgd = bot.cluster.get_dgd(NAMESPACE, "qwen")
    record = decode(dgd["metadata"]["annotations"][ANNOTATION_NOTIFIED])
    assert (record.phase, record.card, record.mentions) == ("Running", "Running 2/2", "r")
