"""One retry policy for the notifier's Slack calls, through the Slack stand-in over HTTP.

The client's retry handlers (``bot.slack.client``) are the only retries of a send; a message
Slack still refuses waits for a later sweep, behind the pacer; and no caller of the notifier
waits while a send is stuck at Slack.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from bot.notifier.controller import SweepReport
from bot.sim.k8s.standin import StandIn
from bot.sim.operator.controller import SimOperator
from bot.sim.slack.web_api import SlackStandIn
from bot.slack.client import RATE_LIMIT_RETRIES, make_web_client
from tests.waiting import WAIT_SECONDS

from .conftest import CHANNEL, NAMESPACE, READY_AFTER, Bot, make_settings, replies


def running(bot: Bot, operator: SimOperator) -> None:
    """Every DGD created so far reconciled to Running."""
    operator.reconcile_once()
    bot.clock.advance(READY_AFTER)
    operator.reconcile_once()


# slack_sdk sleeps Retry-After (at least 1 s, as Slack sends it) for real before each retry;
# the DGD's API version plays no part, so one is enough.
@pytest.mark.parametrize("version", ["v1beta1"])
def test_a_rate_limited_reply_takes_one_call_plus_the_clients_retries_and_no_more(
    bot: Bot,
    deploy: Callable[..., tuple[dict[str, Any], str]],
    operator: SimOperator,
    slack: SlackStandIn,
) -> None:
    settings = make_settings(slack_bot_token=slack.token, slack_api_url=slack.url)
    bot.client = make_web_client(settings)  # the product's client and its retry handlers
    notifier = bot.notifier()
    deploy("qwen")
    running(bot, operator)
    limit = slack.rate_limit("chat.postMessage", times=None, retry_after=1)

    report = notifier.sweep()

    assert report.errors == ("('default', 'qwen'): Slack said ratelimited",)
    assert limit.hits == 1 + RATE_LIMIT_RETRIES  # the handler's retries, none around them
    assert len(slack.calls("chat.postMessage")) == 1 + RATE_LIMIT_RETRIES


def test_a_reply_slack_refused_with_a_429_waits_out_retry_after_in_the_next_sweep(
    bot: Bot,
    deploy: Callable[..., tuple[dict[str, Any], str]],
    operator: SimOperator,
    slack: SlackStandIn,
) -> None:
    notifier = bot.notifier()  # the fixture's client: no handler retries
    _, card = deploy("qwen")
    running(bot, operator)
    slack.rate_limit("chat.postMessage", times=1, retry_after=5)

    notifier.sweep()
    assert [c.status for c in slack.calls("chat.postMessage")] == [429]  # not retried in-sweep
    refused_at = bot.clock()
    notifier.sweep()

    [reply] = replies(slack, card)
    assert reply["text"].startswith("qwen is running")
    assert bot.clock() - refused_at >= 5  # the pacer held the channel for Retry-After


def test_nobody_waits_on_the_notifier_while_one_of_its_sends_is_stuck_at_slack(
    bot: Bot,
    deploy: Callable[..., tuple[dict[str, Any], str]],
    operator: SimOperator,
    slack: SlackStandIn,
    standin: StandIn,
) -> None:
    notifier = bot.notifier()
    _, other_card = deploy("other", channel="C0OTHER")
    running(bot, operator)
    notifier.sweep()  # other: Running told
    _, card = deploy("qwen")
    running(bot, operator)
    stuck = slack.pause("chat.postMessage")
    sweeping = threading.Thread(target=notifier.sweep, name="test-sweep")
    sweeping.start()
    try:
        assert stuck.arrived.wait(WAIT_SECONDS)  # qwen's Running reply is held at Slack
        gone = standin.store.delete("dynamographdeployments", NAMESPACE, "other")
        answers: list[SweepReport] = []

        def watch_thread() -> None:  # what the watches call, meanwhile
            notifier.on_deleted(gone)
            answers.append(notifier.sweep_keys([(NAMESPACE, "other")]))

        watching = threading.Thread(target=watch_thread, name="test-watch")
        watching.start()
        watching.join(WAIT_SECONDS)
        assert not watching.is_alive()  # returned while the send was still held
        assert answers == [SweepReport(queued=True)]
        assert not stuck.released.is_set()
    finally:
        stuck.release()
        sweeping.join(WAIT_SECONDS)
    assert not sweeping.is_alive()
    # The sweeping thread did the deletion it was handed once its own send went through.
    [running_reply] = replies(slack, card)
    assert running_reply["text"].startswith("qwen is running")
    deleted = [r["text"] for r in replies(slack, other_card) if "Deleted" in r["text"]]
    assert deleted == ["other: Deleted outside Dynamote (kubectl?)"]
    assert slack.message(CHANNEL, card) is not None
