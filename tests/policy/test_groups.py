"""User group membership through the Slack stand-in: cached, and failures deny without raising."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from bot.policy_groups import GroupDirectory
from bot.sim.slack_api import SlackStandIn
from bot.slack_client import retry_handlers


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as standin:
        yield standin


@pytest.fixture
def client(slack: SlackStandIn) -> WebClient:
    # The app's own client retries 429s; the directory must not (it may run before an ack).
    return WebClient(token=slack.token, base_url=slack.url, retry_handlers=retry_handlers())


def test_membership_is_looked_up_once_per_cache_window(
    slack: SlackStandIn, client: WebClient
) -> None:
    slack.set_usergroup("S0DEPLOY", ["U0ALICE"])
    clock = Clock()
    groups = GroupDirectory(ttl=60, clock=clock)
    assert groups.membership(client, "U0ALICE", ["S0DEPLOY"]).groups == {"S0DEPLOY"}
    assert groups.membership(client, "U0BOB", ["S0DEPLOY"]).groups == frozenset()
    assert len(slack.calls("usergroups.users.list")) == 1
    slack.set_usergroup("S0DEPLOY", ["U0ALICE", "U0BOB"])
    clock.now += 61
    assert groups.membership(client, "U0BOB", ["S0DEPLOY"]).groups == {"S0DEPLOY"}
    assert len(slack.calls("usergroups.users.list")) == 2


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        ("plan_upgrade_required", "paid Slack plan"),
        ("no_such_subteam", "does not exist"),
        ("missing_scope", "usergroups:read"),
    ],
)
def test_a_failed_lookup_reports_the_group_as_unknown_with_a_reason_and_logs_once(
    slack: SlackStandIn,
    client: WebClient,
    caplog: pytest.LogCaptureFixture,
    error: str,
    reason: str,
) -> None:
    slack.fail("usergroups.users.list", error)
    clock = Clock()
    groups = GroupDirectory(ttl=0, clock=clock)
    with caplog.at_level(logging.WARNING, logger="bot.policy_groups"):
        for _ in range(3):
            membership = groups.membership(client, "U0ALICE", ["S0DEPLOY"])
            clock.now += 30  # past every cache window: each round asks Slack again
    assert membership.groups == frozenset()
    assert reason in membership.unknown["S0DEPLOY"]
    assert len(slack.calls("usergroups.users.list")) == 3
    assert len([r for r in caplog.records if "S0DEPLOY" in r.getMessage()]) == 1


def test_a_rate_limited_lookup_is_not_retried_inline_and_is_held_for_retry_after(
    slack: SlackStandIn, client: WebClient
) -> None:
    slack.set_usergroup("S0DEPLOY", ["U0ALICE"])
    slack.rate_limit("usergroups.users.list", times=1, retry_after=30)
    clock = Clock()
    groups = GroupDirectory(ttl=60, clock=clock)
    first = groups.membership(client, "U0ALICE", ["S0DEPLOY"])
    assert "slow down" in first.unknown["S0DEPLOY"]
    assert len(slack.calls("usergroups.users.list")) == 1  # no retry, no sleep
    clock.now += 15
    assert "S0DEPLOY" in groups.membership(client, "U0ALICE", ["S0DEPLOY"]).unknown
    clock.now += 16
    assert groups.membership(client, "U0ALICE", ["S0DEPLOY"]).groups == {"S0DEPLOY"}


def test_an_unreachable_slack_is_an_unknown_group_not_an_exception() -> None:
    client = WebClient(token="xoxb-test", base_url="http://127.0.0.1:9/api/", retry_handlers=[])
    membership = GroupDirectory(ttl=60).membership(client, "U0ALICE", ["S0DEPLOY"])
    assert "S0DEPLOY" in membership.unknown


def test_no_groups_means_no_call(slack: SlackStandIn, client: WebClient) -> None:
    assert GroupDirectory(ttl=60).membership(client, "U0ALICE", []).groups == frozenset()
    assert slack.calls("usergroups.users.list") == []
