"""Exactly once: across restarts, Slack failures, deletions and bursts of 429s."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.manifest import ANNOTATION_CHANNEL, ANNOTATION_THREAD
from bot.sim.k8s.standin import StandIn
from bot.sim.operator.controller import SimOperator, make_ready
from bot.sim.slack.web_api import SlackStandIn
from tests.signing import signed_changes

from .conftest import (
    CHANNEL,
    NAMESPACE,
    READY_AFTER,
    REQUESTER,
    Bot,
    Deploy,
    card_updates,
    manifest,
    replies,
    run_to_running,
)


def test_a_change_made_while_the_bot_was_down_is_announced_once_by_the_next_bot(
    bot: Bot,
    deploy: Deploy,
    operator: SimOperator,
    slack: SlackStandIn,
) -> None:
    bot.notifier().sweep()
    deploy("qwen")
    operator.reconcile_once()
    first = bot.notifier()
    first.sweep()  # Deploying: the card says so
    bot.clock.advance(READY_AFTER)
    operator.reconcile_once()  # Running, and the bot "crashes" before its next sweep
    for _ in range(3):
        bot.notifier().sweep()  # each a restarted bot
    texts = [r["text"] for r in replies(slack)]
    assert len(texts) == 1
    assert texts[0].startswith("qwen is running")


def test_a_slack_outage_leaves_the_change_for_a_later_sweep_and_it_is_sent_once(
    bot: Bot,
    deploy: Deploy,
    operator: SimOperator,
    slack: SlackStandIn,
) -> None:
    notifier = bot.notifier()
    deploy("qwen")
    deploy("other", channel="C0OTHER")
    run_to_running(operator, bot.clock)  # both Running: a reply each
    slack.server_error("chat.postMessage", times=1, status=503)
    report = notifier.sweep()
    assert len(report.errors) == 1  # one deployment failed, the other went on
    assert len(replies(slack)) == 1
    notifier.sweep()
    notifier.sweep()
    assert sorted(r["text"].split(":")[0] for r in replies(slack)) == [
        "other is running",
        "qwen is running",
    ]


def test_a_burst_of_429s_delays_but_never_drops_or_doubles_a_reply(
    bot: Bot,
    deploy: Deploy,
    operator: SimOperator,
    slack: SlackStandIn,
) -> None:
    notifier = bot.notifier()
    for name in ("a", "b", "c"):
        deploy(name)
    run_to_running(operator, bot.clock)
    limit = slack.rate_limit("chat.postMessage", times=5, retry_after=2)
    for _ in range(4):
        notifier.sweep()
    assert limit.hits == 5
    assert sorted(r["text"][0] for r in replies(slack)) == ["a", "b", "c"]
    assert sum(1 for s in bot.clock.slept if s >= 2) >= 1  # Retry-After was waited out


def test_messages_to_one_channel_are_at_least_a_second_apart(
    bot: Bot,
    deploy: Deploy,
    operator: SimOperator,
    slack: SlackStandIn,
) -> None:
    notifier = bot.notifier()
    for name in ("a", "b", "c", "d"):
        deploy(name)
    run_to_running(operator, bot.clock)
    start = bot.clock()
    notifier.sweep()
    assert len(replies(slack)) == 4
    assert bot.clock() - start >= 3.0  # 4 replies in one channel: 3 waits of 1 s


def test_a_dgd_deleted_with_the_api_is_announced_once_even_when_watch_and_sweep_both_see_it(
    bot: Bot,
    deploy: Deploy,
    slack: SlackStandIn,
    standin: StandIn,
) -> None:
    notifier = bot.notifier()
    _, card = deploy("qwen")
    notifier.sweep()
    gone = standin.store.delete("dynamographdeployments", NAMESPACE, "qwen")
    notifier.on_deleted(gone)  # the watch's DELETED event
    notifier.sweep()  # and the sweep notices it vanished
    [reply] = replies(slack, card)
    assert reply["text"] == "qwen: Deleted outside Dynamote (kubectl?)"
    final = slack.message(CHANNEL, card)
    assert final is not None and "Deleted" in str(final["blocks"])


def test_a_dgd_that_vanished_between_sweeps_is_announced_with_who_deleted_it(
    bot: Bot,
    deploy: Deploy,
    slack: SlackStandIn,
) -> None:
    notifier = bot.notifier()
    dgd, card = deploy("qwen")
    patched = bot.cluster.patch_dgd_annotations(  # as DeploymentService.delete marks it
        NAMESPACE,
        "qwen",
        signed_changes(dgd, bot.settings, deleted_by="U0BOB"),
        resource_version=dgd["metadata"]["resourceVersion"],
    )
    assert patched
    notifier.sweep()
    bot.cluster.delete_dgd(NAMESPACE, "qwen")
    notifier.sweep()
    notifier.sweep()
    [reply] = replies(slack, card)
    assert "Deleted by <@U0BOB>" in str(reply["blocks"])


def test_a_dgd_without_a_card_gets_one_late_and_it_is_recorded(
    bot: Bot,
    deploy: Deploy,
    operator: SimOperator,
    slack: SlackStandIn,
) -> None:
    deploy("orphan", channel=None)
    run_to_running(operator, bot.clock)
    bot.notifier().sweep()
    assert slack.calls("chat.postMessage") == []  # young: the deploy may still post it
    bot.offset = timedelta(minutes=2)
    bot.notifier().sweep()
    bot.notifier().sweep()
    posts = [c for c in slack.calls("chat.postMessage") if c.ok]
    assert [bool(c.params.get("thread_ts")) for c in posts] == [False, True]
    card = posts[0].response
    annotations = bot.cluster.get_dgd(NAMESPACE, "orphan")["metadata"]["annotations"]
    assert annotations[ANNOTATION_CHANNEL] == card["channel"]
    assert annotations[ANNOTATION_THREAD] == card["ts"]
    assert posts[1].params["thread_ts"] == card["ts"]
    assert card_updates(slack, card["ts"]) == []  # drawn current when posted
    assert slack.calls("conversations.open")[0].params["users"] == REQUESTER


def test_a_sweep_reads_the_cluster_with_as_many_calls_for_100_dgds_as_for_5(
    bot: Bot, standin: StandIn, version: str
) -> None:
    def calls_for(count: int, prefix: str) -> int:
        for index in range(count):
            dgd = manifest(version, f"{prefix}-{index}", thread_ts="1700000000.000100")
            make_ready(standin.store, dgd)
        notifier = bot.notifier()
        notifier.sweep()  # first sweep: announces Running for the new ones
        standin.reset_api_calls()
        notifier.sweep()
        return sum(standin.api_calls().values())

    # Ready DGDs are judged without their pods: one DGD list per namespace.
    assert calls_for(5, "few") == calls_for(45, "many") == 1
    # One not ready: its namespace's pods are listed too, still one call whatever the count.
    standin.store.create("dynamographdeployments", manifest(version, "slow"))
    assert calls_for(5, "more") == calls_for(45, "most") == 2
