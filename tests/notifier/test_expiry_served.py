"""The expiry reminder says how many requests the deployment served, as its frontend's
``/metrics`` counts them (the simulated frontend behind the stand-in's service proxy), and
says nothing of it when the frontend cannot be reached."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from bot.expiry import ANNOTATION_EXPIRES_AT, format_expires_at
from bot.sim.operator import SimOperator
from bot.sim.slack_api import SlackStandIn
from bot.sim.standin import StandIn
from bot.tryit import chat_request

from .conftest import NAMESPACE, READY_AFTER, Bot, replies

MODEL = "Qwen/Qwen3-0.6B"


def _expire_in(bot: Bot, name: str, delta: timedelta) -> None:
    current = bot.cluster.get_dgd(NAMESPACE, name)
    bot.cluster.patch_dgd_annotations(
        NAMESPACE,
        name,
        {ANNOTATION_EXPIRES_AT: format_expires_at(bot.now() + delta)},
        resource_version=current["metadata"]["resourceVersion"],
    )


def _reminder(slack: SlackStandIn, card: str) -> str:
    [reminder] = [r for r in replies(slack, card) if r["text"].endswith("expires soon")]
    return str(reminder["blocks"])


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

    _expire_in(bot, "qwen", timedelta(minutes=1))
    notifier.sweep()
    assert "It has served 3 requests since it started." in _reminder(slack, card)


def test_without_a_reachable_frontend_the_reminder_goes_without_the_count(
    bot: Bot, deploy: Callable[..., tuple[dict[str, Any], str]], slack: SlackStandIn
) -> None:
    notifier = bot.notifier()
    _, card = deploy("qwen")  # never reconciled: no Service, the proxy answers 404
    notifier.sweep()
    _expire_in(bot, "qwen", timedelta(minutes=1))
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
    _expire_in(bot, "qwen", timedelta(minutes=1))
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
    _expire_in(bot, "qwen", timedelta(minutes=1))
    started = time.monotonic()
    notifier.sweep()
    took = time.monotonic() - started
    assert "served" not in _reminder(slack, card)
    assert took < stall - 1.0, f"the sweep waited {took:.1f}s for the frontend"
