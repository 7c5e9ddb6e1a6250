"""A deploy's life in its thread: one reply per phase change, the card redrawn each time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.notify.state import ANNOTATION_NOTIFIED, decode
from bot.sim.operator import SimOperator
from bot.sim.slack_api import SlackStandIn

from .conftest import CHANNEL, NAMESPACE, READY_AFTER, REQUESTER, Bot, card_updates, replies


def test_a_deploy_going_pending_deploying_running_gets_one_reply_per_change_and_card_updates(
    bot: Bot,
    deploy: Callable[..., tuple[dict[str, Any], str]],
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
    notifier.sweep()  # nothing new: nothing sent
    assert [r["text"] for r in replies(slack, card)] == ["qwen is deploying: 0/2 replicas ready"]

    bot.clock.advance(READY_AFTER)
    operator.reconcile_once()
    notifier.sweep()
    notifier.sweep()
    texts = [r["text"] for r in replies(slack, card)]
    assert len(texts) == 2
    running = replies(slack, card)[-1]
    blocks = str(running["blocks"])
    assert f"kubectl port-forward svc/qwen-frontend 8000:8000 -n {NAMESPACE}" in blocks
    assert "curl localhost:8000/v1/chat/completions" in blocks
    assert "Qwen/Qwen3-0.6B" in blocks
    assert f"<@{REQUESTER}>" in blocks
    assert all(r["channel"] == CHANNEL for r in replies(slack))
    updates = card_updates(slack, card)
    assert [u["text"].rsplit(" ", 1)[-1] for u in updates] == ["Pending", "Deploying", "Running"]
    final = slack.message(CHANNEL, card)
    assert final is not None and "Running" in final["text"]


def test_the_announced_phase_is_recorded_on_the_dgd(
    bot: Bot,
    deploy: Callable[..., tuple[dict[str, Any], str]],
    operator: SimOperator,
) -> None:
    notifier = bot.notifier()
    deploy("qwen")
    operator.reconcile_once()
    notifier.sweep()
    dgd = bot.cluster.get_dgd(NAMESPACE, "qwen")
    record = decode(dgd["metadata"]["annotations"][ANNOTATION_NOTIFIED])
    assert record.phase == "Deploying"
    assert record.card == "Deploying 0/2"
