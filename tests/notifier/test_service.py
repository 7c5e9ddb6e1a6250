"""The running service: watches make announcements prompt; two replicas announce once."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.cluster import Cluster
from bot.notifier.service import NotifierService
from bot.sim.k8s.standin import StandIn
from bot.sim.operator.controller import SimOperator
from bot.sim.slack.web_api import SlackStandIn
from tests.waiting import wait_until

from .conftest import make_settings, replies


@pytest.fixture
def live_operator(standin: StandIn) -> Iterator[SimOperator]:
    sim = SimOperator(standin.store, ready_after=0.3, tick=0.05)
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def services(
    connect: Callable[..., Cluster], web_client: WebClient
) -> Iterator[Callable[..., NotifierService]]:
    made: list[NotifierService] = []

    def build(identity: str, **overrides: Any) -> NotifierService:
        values: dict[str, Any] = {
            "sweep_interval": 30.0,  # only the watch can be this prompt
            "lease_duration": 1,
            "slack_channel_interval": 0.2,
            "watch_timeout": 5,
        }
        values.update(overrides)
        settings = make_settings(**values)
        service = NotifierService(
            settings, connect(), web_client, lambda _user: None, identity=identity
        )
        made.append(service)
        service.start()
        return service

    yield build
    for service in made:
        service.stop()


def sweep_both(*bots: NotifierService) -> None:
    """A full sweep by each bot, in this thread: what a later sweep would announce again is
    sent before this returns. While a bot's own thread is sweeping, a sweep asked for is queued
    for that thread, so this asks again until one runs here."""
    for bot in bots:
        notifier = bot.notifier
        wait_until(lambda: not notifier.sweep().queued, what="a sweep here")  # noqa: B023 - used at once


def running_replies(slack: SlackStandIn, name: str) -> list[float]:
    return [
        call.at
        for call in slack.calls("chat.postMessage")
        if call.ok and str(call.params.get("text", "")).startswith(f"{name} is running")
    ]


def test_running_is_announced_within_about_a_second_though_sweeps_are_30_s_apart(
    services: Callable[..., NotifierService],
    deploy: Callable[..., tuple[dict[str, Any], str]],
    live_operator: SimOperator,
    slack: SlackStandIn,
    standin: StandIn,
) -> None:
    service = services("solo")
    wait_until(lambda: service.notifier.resource_versions[0] is not None)  # first sweep done
    ready_at: list[float] = []

    def on_change(event: Any) -> None:
        status = event.object.get("status") or {}
        if event.resource == "dynamographdeployments" and status.get("state") == "successful":
            ready_at.append(time.time())

    unsubscribe = standin.store.subscribe(on_change)
    deploy("quick")
    wait_until(lambda: bool(running_replies(slack, "quick")))
    unsubscribe()
    assert running_replies(slack, "quick")[0] - ready_at[0] < 2.0
    texts = [r["text"].split(":")[0] for r in replies(slack)]
    assert len(texts) == len(set(texts))  # Deploying (if seen) and Running, once each


def test_two_bots_announce_each_change_once_and_the_follower_takes_over_from_a_dead_leader(
    services: Callable[..., NotifierService],
    deploy: Callable[..., tuple[dict[str, Any], str]],
    live_operator: SimOperator,
    slack: SlackStandIn,
) -> None:
    first, second = services("bot-a"), services("bot-b")
    wait_until(lambda: first.is_leader or second.is_leader)
    leader, follower = (first, second) if first.is_leader else (second, first)
    deploy("one")
    wait_until(lambda: bool(running_replies(slack, "one")))
    sweep_both(first, second)  # a bot that would announce it again does so now
    texts = [r["text"].split(":")[0] for r in replies(slack)]
    assert texts.count("one is running") == 1
    assert len(texts) == len(set(texts))  # each change once (Deploying may be too brief)

    leader.elector.release = lambda: None  # type: ignore[method-assign]  # dies holding it
    leader.stop()
    started = time.monotonic()
    wait_until(lambda: follower.is_leader, timeout=5)
    assert time.monotonic() - started < 2.5  # a lease period (1 s) plus ticks
    deploy("two")
    wait_until(lambda: bool(running_replies(slack, "two")))
    sweep_both(first, second)
    texts = [r["text"].split(":")[0] for r in replies(slack)]
    assert texts.count("two is running") == 1
    assert len(texts) == len(set(texts))


def test_a_deletion_while_no_bot_runs_is_announced_by_the_next_bot_it_starts(
    services: Callable[..., NotifierService],
    deploy: Callable[..., tuple[dict[str, Any], str]],
    live_operator: SimOperator,
    slack: SlackStandIn,
    standin: StandIn,
) -> None:
    first = services("bot-a")
    _, card = deploy("gone")
    wait_until(lambda: bool(running_replies(slack, "gone")))
    # The ledger (a ConfigMap beside the Lease) names the card once the sweep after it ran.
    ledger = f"{first.elector.name}-cards"
    wait_until(lambda: standin.store.get("configmaps", first.elector.namespace, ledger) is not None)
    first.stop()
    standin.store.delete("dynamographdeployments", "default", "gone")

    second = services("bot-b")

    def told() -> list[dict[str, Any]]:
        return [r for r in replies(slack, card) if "Deleted outside Dynamote" in r["text"]]

    wait_until(lambda: bool(told()))
    sweep_both(first, second)  # a bot that would announce it again does so now
    assert len(told()) == 1
