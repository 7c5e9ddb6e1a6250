"""Expiry through the real sweep: ``dynamote.dev/expires-at`` set (here as kubectl would, an
unsigned merge patch) gets one reminder with Keep and Delete in the card's thread, and at the
time the leader deletes the DGD and the thread says why; a moved time wins; once across
restarts and a second replica."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from bot.blocks.ids import ACTION_DELETE_DEPLOYMENT, ACTION_EXPIRY_KEEP
from bot.cluster import NotFound
from bot.domain.expiry import (
    ANNOTATION_EXPIRES_AT,
    ANNOTATION_EXPIRY_REMINDED,
    parse_expires_at,
)
from bot.domain.manifest import ANNOTATION_REQUESTER
from bot.sim.slack.web_api import SlackStandIn

from .conftest import NAMESPACE, REQUESTER, Bot, replies


def _reminders(slack: SlackStandIn, card: str) -> list[dict[str, Any]]:
    """The reminders among the thread's replies (a Pending left long gets a "stuck" one)."""
    return [reply for reply in replies(slack, card) if reply["text"].endswith("expires soon")]


def _actions(reply: dict[str, Any]) -> list[str]:
    return [
        element["action_id"]
        for block in reply["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]


def test_a_deployment_set_to_expire_in_a_minute_is_reminded_once_then_deleted_with_a_reply(
    bot: Bot, deploy: Callable[..., tuple[dict[str, Any], str]], slack: SlackStandIn
) -> None:
    notifier = bot.notifier()
    _, card = deploy("qwen")
    notifier.sweep()
    value = bot.expire_in("qwen", timedelta(minutes=1))

    notifier.sweep()
    notifier.sweep()
    bot.notifier().sweep()  # a restarted bot, or the next leader, reads the record
    [reminder] = replies(slack, card)
    assert f"<@{REQUESTER}>" in str(reminder["blocks"])
    assert "<!date^" in str(reminder["blocks"])  # in the reader's own time zone
    assert _actions(reminder) == [ACTION_EXPIRY_KEEP, ACTION_DELETE_DEPLOYMENT]
    recorded = bot.cluster.get_dgd(NAMESPACE, "qwen")["metadata"]["annotations"]
    assert recorded[ANNOTATION_EXPIRY_REMINDED] == value

    bot.offset = timedelta(minutes=1, seconds=1)
    notifier.sweep()  # the time has come: deleted
    with pytest.raises(NotFound):
        bot.cluster.get_dgd(NAMESPACE, "qwen")
    notifier.sweep()  # the deletion is announced like any other, once
    notifier.sweep()
    _, deleted = replies(slack, card)
    assert "Deleted at its expiry time" in str(deleted["blocks"])


def test_a_time_moved_later_wins_and_nothing_is_deleted(
    bot: Bot, deploy: Callable[..., tuple[dict[str, Any], str]], slack: SlackStandIn
) -> None:
    notifier = bot.notifier()
    _, card = deploy("qwen")
    notifier.sweep()
    bot.expire_in("qwen", timedelta(minutes=1))
    notifier.sweep()
    assert len(_reminders(slack, card)) == 1

    bot.expire_in("qwen", timedelta(days=3))  # "Keep", or kubectl
    bot.offset = timedelta(minutes=2)
    notifier.sweep()
    notifier.sweep()
    assert bot.cluster.get_dgd(NAMESPACE, "qwen")["metadata"]["name"] == "qwen"
    assert len(_reminders(slack, card)) == 1  # none yet for the new time

    bot.offset = timedelta(days=2, hours=1)  # within a day of the new time
    notifier.sweep()
    assert len(_reminders(slack, card)) == 2  # the new time gets its own reminder
    assert not any("Deleted" in reply["text"] for reply in replies(slack, card))


def test_a_second_replica_taking_over_neither_reminds_again_nor_deletes_twice(
    bot: Bot, deploy: Callable[..., tuple[dict[str, Any], str]], slack: SlackStandIn
) -> None:
    leading = [True, False]
    first = bot.notifier(may_send=lambda: leading[0])
    second = bot.notifier(may_send=lambda: leading[1])
    _, card = deploy("qwen")
    first.sweep()
    second.sweep()  # a follower: does nothing
    bot.expire_in("qwen", timedelta(minutes=1))
    first.sweep()
    leading.reverse()  # the lease moves
    second.sweep()
    first.sweep()
    assert len(replies(slack, card)) == 1
    bot.offset = timedelta(minutes=5)
    second.sweep()
    first.sweep()
    second.sweep()
    _, deleted = replies(slack, card)
    assert "Deleted at its expiry time" in str(deleted["blocks"])


def test_an_unreadable_time_deletes_nothing(
    bot: Bot, deploy: Callable[..., tuple[dict[str, Any], str]], slack: SlackStandIn
) -> None:
    notifier = bot.notifier()
    _, card = deploy("qwen")
    bot.annotate("qwen", {ANNOTATION_EXPIRES_AT: "2000-01-01 00:00"})  # not RFC 3339
    notifier.sweep()
    notifier.sweep()
    assert bot.cluster.get_dgd(NAMESPACE, "qwen")["metadata"]["name"] == "qwen"
    assert replies(slack, card) == []


def test_a_dgd_whose_claim_was_changed_by_hand_is_never_deleted_by_expiry(
    bot: Bot, deploy: Callable[..., tuple[dict[str, Any], str]], slack: SlackStandIn
) -> None:
    notifier = bot.notifier()
    _, card = deploy("qwen")
    notifier.sweep()
    bot.expire_in("qwen", timedelta(minutes=1))
    bot.annotate("qwen", {ANNOTATION_REQUESTER: "U0MALLORY"})  # the signature breaks
    bot.offset = timedelta(minutes=5)
    notifier.sweep()
    notifier.sweep()
    assert bot.cluster.get_dgd(NAMESPACE, "qwen")["metadata"]["name"] == "qwen"
    assert replies(slack, card) == []


def test_a_kubectl_edit_of_the_expiry_redraws_the_card_with_the_new_time(
    bot: Bot, deploy: Callable[..., tuple[dict[str, Any], str]], slack: SlackStandIn
) -> None:
    notifier = bot.notifier()
    _, card = deploy("qwen")
    notifier.sweep()
    value = bot.expire_in("qwen", timedelta(days=3))  # as `kubectl annotate --overwrite`
    notifier.sweep()
    stamp = int(parse_expires_at(value).timestamp())  # type: ignore[union-attr]
    updates = [c.params for c in slack.calls("chat.update") if c.params.get("ts") == card]
    assert updates, "the card is redrawn when its expiry changes"
    assert f"<!date^{stamp}^" in str(updates[-1]["blocks"])
    drawn = len(updates)
    notifier.sweep()  # nothing changed since: no redraw
    assert len([c for c in slack.calls("chat.update") if c.params.get("ts") == card]) == drawn
