"""The expiry reminder says how many requests the deployment served lately, as its frontend's
``/metrics`` counts them (the simulated frontend behind the stand-in's service proxy) against
the readings the notifier keeps on the DGD (so a restarted bot still has them), says so when
the frontend restarted since, and says nothing of it when the frontend cannot be reached."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from bot.domain.served import Reading, readings_of
from bot.domain.tryit import chat_request
from bot.sim.k8s.standin import StandIn
from bot.sim.operator.controller import SimOperator
from bot.sim.operator.pods import LABEL_DGD, LABEL_TYPE
from bot.sim.slack.web_api import SlackStandIn

from .conftest import NAMESPACE, READY_AFTER, Bot, replies

MODEL = "Qwen/Qwen3-0.6B"


def _reminder(slack: SlackStandIn, card: str) -> str:
    [reminder] = [r for r in replies(slack, card) if r["text"].endswith("expires soon")]
    return str(reminder["blocks"])


def _readings(bot: Bot, name: str = "qwen") -> tuple[Reading, ...]:
    return readings_of(bot.cluster.get_dgd(NAMESPACE, name)["metadata"].get("annotations") or {})


def _running(
    bot: Bot, deploy: Callable[..., tuple[dict[str, Any], str]], operator: SimOperator
) -> str:
    """qwen deployed and Running, to expire in three days; its card's ts."""
    _, card = deploy("qwen")
    operator.reconcile_once()
    bot.clock.advance(READY_AFTER)
    operator.reconcile_once()
    bot.expire_in("qwen", timedelta(days=3))
    return card


def _chat(bot: Bot, prompt: str) -> None:
    lines = bot.cluster.frontend.stream_chat(
        NAMESPACE, "qwen-frontend", chat_request(MODEL, prompt, 8)
    )
    assert b"data: [DONE]" in b"".join(lines)


def test_the_reminder_says_how_many_requests_a_running_deployment_served(
    bot: Bot,
    deploy: Callable[..., tuple[dict[str, Any], str]],
    slack: SlackStandIn,
    operator: SimOperator,
    standin: StandIn,
) -> None:
    standin.frontends.first_token_after = 0.0
    standin.frontends.tokens_per_second = 1000.0
    notifier = bot.notifier()
    _, card = deploy("qwen")
    operator.reconcile_once()
    bot.clock.advance(READY_AFTER)
    operator.reconcile_once()
    notifier.sweep()  # Running: the frontend lists the model
    assert bot.cluster.frontend.served_models(NAMESPACE, "qwen-frontend") == [MODEL]
    _chat(bot, "one")
    _chat(bot, "two")
    _chat(bot, "three")

    bot.expire_in("qwen", timedelta(minutes=1))
    notifier.sweep()
    assert "It has served 3 requests since it started." in _reminder(slack, card)


def test_the_reminder_counts_from_the_readings_a_restarted_bot_kept_on_the_dgd(
    bot: Bot,
    deploy: Callable[..., tuple[dict[str, Any], str]],
    slack: SlackStandIn,
    operator: SimOperator,
    standin: StandIn,
) -> None:
    standin.frontends.first_token_after = 0.0
    standin.frontends.tokens_per_second = 1000.0
    card = _running(bot, deploy, operator)
    for prompt in ("before", "the", "first"):
        _chat(bot, prompt)
    bot.notifier().sweep()  # Ready: the first reading
    [first] = _readings(bot)
    assert first.count == 3
    version = bot.cluster.get_dgd(NAMESPACE, "qwen")["metadata"]["resourceVersion"]
    bot.notifier().sweep()  # a restarted bot: the reading is there, none is due
    assert bot.cluster.get_dgd(NAMESPACE, "qwen")["metadata"]["resourceVersion"] == version

    _chat(bot, "day one")
    _chat(bot, "day one again")
    bot.offset = timedelta(hours=13)
    bot.notifier().sweep()  # restarted again, 13 hours on: the second reading
    assert [r.count for r in _readings(bot)] == [3, 5]
    for prompt in ("a", "b", "c"):
        _chat(bot, prompt)
    bot.offset = timedelta(hours=26)
    bot.notifier().sweep()  # the third; the first is dropped
    assert [r.count for r in _readings(bot)] == [5, 8]
    for prompt in ("d", "e", "f", "g"):
        _chat(bot, prompt)

    bot.offset = timedelta(hours=30)
    bot.expire_in("qwen", timedelta(hours=2))
    bot.notifier().sweep()
    # 12 now, 5 at the reading 17 hours ago (hour 13).
    assert "It served 7 requests in the last 17 hours." in _reminder(slack, card)


def test_a_restarted_frontend_is_counted_since_its_restart_and_said_so(
    bot: Bot,
    deploy: Callable[..., tuple[dict[str, Any], str]],
    slack: SlackStandIn,
    operator: SimOperator,
    standin: StandIn,
) -> None:
    standin.frontends.first_token_after = 0.0
    standin.frontends.tokens_per_second = 1000.0
    card = _running(bot, deploy, operator)
    for prompt in ("one", "two", "three"):
        _chat(bot, prompt)
    bot.notifier().sweep()
    assert [r.count for r in _readings(bot)] == [3]

    pods, _ = standin.store.list("pods", NAMESPACE, label_selector=f"{LABEL_DGD}=qwen")
    [frontend] = [p for p in pods if p["metadata"]["labels"].get(LABEL_TYPE) == "frontend"]
    standin.store.delete("pods", NAMESPACE, frontend["metadata"]["name"])
    operator.reconcile_once()  # a new frontend pod: a new process, its counter from zero
    bot.clock.advance(READY_AFTER)
    operator.reconcile_once()
    _chat(bot, "after the restart")

    bot.offset = timedelta(hours=20)
    bot.expire_in("qwen", timedelta(hours=2))
    bot.notifier().sweep()
    reminder = _reminder(slack, card)
    assert "Its frontend restarted within the last 20 hours; it has served 1 request since." in (
        reminder
    )


def test_without_a_reachable_frontend_the_reminder_goes_without_the_count(
    bot: Bot, deploy: Callable[..., tuple[dict[str, Any], str]], slack: SlackStandIn
) -> None:
    notifier = bot.notifier()
    _, card = deploy("qwen")  # never reconciled: no Service, the proxy answers 404
    notifier.sweep()
    bot.expire_in("qwen", timedelta(minutes=1))
    notifier.sweep()
    reminder = _reminder(slack, card)
    assert "expires" in reminder
    assert "served" not in reminder


def test_a_frontend_with_no_ready_pod_leaves_the_count_out(
    bot: Bot,
    deploy: Callable[..., tuple[dict[str, Any], str]],
    slack: SlackStandIn,
    operator: SimOperator,
    standin: StandIn,
) -> None:
    notifier = bot.notifier()
    _, card = deploy("qwen")
    operator.reconcile_once()  # the Service exists, its pods are still starting
    assert standin.store.get("services", NAMESPACE, "qwen-frontend") is not None
    notifier.sweep()
    bot.expire_in("qwen", timedelta(minutes=1))
    notifier.sweep()
    assert "served" not in _reminder(slack, card)


def test_a_frontend_that_does_not_answer_in_time_delays_the_reminder_only_by_the_timeout(
    bot: Bot,
    deploy: Callable[..., tuple[dict[str, Any], str]],
    slack: SlackStandIn,
    standin: StandIn,
) -> None:
    stall = 6.0  # well past the read timeout the notifier's settings give (2 s)
    standin.faults.add_latency(stall, method="GET", path_regex=r"/proxy/metrics$")
    notifier = bot.notifier()
    _, card = deploy("qwen")
    notifier.sweep()
    bot.expire_in("qwen", timedelta(minutes=1))
    started = time.monotonic()
    notifier.sweep()
    took = time.monotonic() - started
    assert "served" not in _reminder(slack, card)
    assert took < stall - 1.0, f"the sweep waited {took:.1f}s for the frontend"
