"""User group membership through the Slack stand-in: cached, served stale while a background
lookup refreshes it, and failures deny without raising.

The directory's clock is a fake (TTL, max-stale, backoff); Slack's latency is real, because
what matters is how long a caller waits on it.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from slack_sdk import WebClient

from bot.config.settings import load_settings
from bot.domain.policy import Membership
from bot.sim.slack.web_api import SlackStandIn
from bot.slack.app import AppContext
from bot.slack.client import retry_handlers
from bot.slack.listeners import guard
from bot.slack.user_groups import LOOKUP_BUDGET_SECONDS, MAX_STALE_SECONDS, TOO_SLOW, GroupDirectory

LATENCY = 0.8  # seconds Slack takes when a test makes it slow
# A read that waited on Slack takes LATENCY at least; one that did not, far less even on a
# loaded machine: half of it tells the two apart.
NO_WAIT = LATENCY / 2


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def client(slack: SlackStandIn) -> WebClient:
    # The app's own client retries 429s; the directory must not (it may run before an ack).
    return WebClient(token=slack.token, base_url=slack.url, retry_handlers=retry_handlers())


def lookups(slack: SlackStandIn) -> int:
    return len(slack.calls("usergroups.users.list"))


def timed(groups: GroupDirectory, client: WebClient, user: str) -> tuple[Membership, float]:
    started = time.perf_counter()
    membership = groups.membership(client, user, ["S0DEPLOY"])
    return membership, time.perf_counter() - started


def settle(groups: GroupDirectory) -> None:
    assert groups.wait_for_refreshes(5.0), "a background lookup never finished"


@pytest.fixture
def stale(slack: SlackStandIn, client: WebClient) -> tuple[GroupDirectory, Clock]:
    """A directory that looked S0DEPLOY (Alice) up, 61 s ago with a 60 s TTL."""
    slack.set_usergroup("S0DEPLOY", ["U0ALICE"])
    clock = Clock()
    groups = GroupDirectory(ttl=60, clock=clock)
    assert groups.membership(client, "U0ALICE", ["S0DEPLOY"]).groups == {"S0DEPLOY"}
    clock.now += 61
    return groups, clock


def test_membership_is_looked_up_once_per_cache_window(
    slack: SlackStandIn, client: WebClient
) -> None:
    slack.set_usergroup("S0DEPLOY", ["U0ALICE"])
    clock = Clock()
    groups = GroupDirectory(ttl=60, clock=clock)
    assert groups.membership(client, "U0ALICE", ["S0DEPLOY"]).groups == {"S0DEPLOY"}
    clock.now += 59
    assert groups.membership(client, "U0BOB", ["S0DEPLOY"]).groups == frozenset()
    assert lookups(slack) == 1
    assert groups.lookups == 1


def test_a_stale_list_is_served_at_once_while_slack_is_slow_and_a_change_lands_after_refresh(
    slack: SlackStandIn, client: WebClient, stale: tuple[GroupDirectory, Clock]
) -> None:
    groups, _ = stale
    slack.set_usergroup("S0DEPLOY", ["U0ALICE", "U0BOB"])  # Bob was added in Slack
    slack.add_latency("usergroups.users.list", LATENCY)

    membership, took = timed(groups, client, "U0BOB")

    assert membership == Membership()  # the stale list: Bob not yet, and nothing unknown
    assert took < NO_WAIT, f"a stale read waited {took:.3f}s on Slack"
    slack.wait_for("usergroups.users.list", count=2)  # the refresh went out
    settle(groups)
    membership, took = timed(groups, client, "U0BOB")
    assert membership.groups == {"S0DEPLOY"}
    assert took < NO_WAIT
    assert lookups(slack) == 2


def test_a_removed_member_loses_the_group_once_the_refresh_lands(
    slack: SlackStandIn, client: WebClient, stale: tuple[GroupDirectory, Clock]
) -> None:
    groups, _ = stale
    slack.set_usergroup("S0DEPLOY", [])
    assert groups.membership(client, "U0ALICE", ["S0DEPLOY"]).groups == {"S0DEPLOY"}  # stale
    settle(groups)
    assert groups.membership(client, "U0ALICE", ["S0DEPLOY"]).groups == frozenset()


def test_many_concurrent_stale_reads_make_one_refresh_and_none_waits(
    slack: SlackStandIn, client: WebClient, stale: tuple[GroupDirectory, Clock]
) -> None:
    groups, _ = stale
    slack.add_latency("usergroups.users.list", LATENCY)

    with ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(lambda _: timed(groups, client, "U0ALICE"), range(200)))
    settle(groups)

    assert all(m.groups == {"S0DEPLOY"} for m, _ in results)
    slowest = max(took for _, took in results)
    assert slowest < NO_WAIT, f"a stale read waited {slowest:.3f}s"
    assert lookups(slack) == 2  # the first lookup, and one refresh for all 200 reads
    assert groups.lookups == 2


def test_a_cold_cache_waits_for_slack_and_concurrent_callers_share_one_lookup(
    slack: SlackStandIn, client: WebClient
) -> None:
    slack.set_usergroup("S0DEPLOY", ["U0ALICE"])
    slack.add_latency("usergroups.users.list", 0.3)
    groups = GroupDirectory(ttl=60, clock=Clock())

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda _: timed(groups, client, "U0ALICE"), range(20)))

    assert all(m.groups == {"S0DEPLOY"} for m, _ in results)
    assert min(took for _, took in results) > 0.2  # each waited (on the one lookup)
    assert lookups(slack) == 1


def test_a_cold_cache_waits_no_longer_than_the_budget_and_the_late_answer_is_kept(
    slack: SlackStandIn, client: WebClient
) -> None:
    slack.set_usergroup("S0DEPLOY", ["U0ALICE"])
    slack.add_latency("usergroups.users.list", LOOKUP_BUDGET_SECONDS + 0.3, times=1)
    groups = GroupDirectory(ttl=60, clock=Clock())

    membership, took = timed(groups, client, "U0ALICE")

    assert membership.unknown == {"S0DEPLOY": TOO_SLOW}
    assert LOOKUP_BUDGET_SECONDS - 0.05 <= took < LOOKUP_BUDGET_SECONDS + 0.25
    settle(groups)  # the lookup carried on and filled the cache
    assert groups.membership(client, "U0ALICE", ["S0DEPLOY"]).groups == {"S0DEPLOY"}
    assert lookups(slack) == 1


def test_a_failed_refresh_keeps_the_stale_list_and_backs_off(
    slack: SlackStandIn, client: WebClient, stale: tuple[GroupDirectory, Clock]
) -> None:
    groups, clock = stale
    slack.server_error("usergroups.users.list", times=None, status=503)

    for _ in range(3):  # the first read starts a refresh, which fails; the rest back off
        assert groups.membership(client, "U0ALICE", ["S0DEPLOY"]) == Membership({"S0DEPLOY"})
        settle(groups)
    assert lookups(slack) == 2
    clock.now += 9
    groups.membership(client, "U0ALICE", ["S0DEPLOY"])
    assert lookups(slack) == 2  # within the first 10 s backoff
    clock.now += 2
    assert groups.membership(client, "U0ALICE", ["S0DEPLOY"]).groups == {"S0DEPLOY"}
    settle(groups)
    assert lookups(slack) == 3
    clock.now += 19  # the second failure in a row backs off 20 s
    groups.membership(client, "U0ALICE", ["S0DEPLOY"])
    assert lookups(slack) == 3


def test_a_rate_limited_refresh_waits_out_retry_after_and_keeps_the_stale_list(
    slack: SlackStandIn, client: WebClient, stale: tuple[GroupDirectory, Clock]
) -> None:
    groups, clock = stale
    slack.rate_limit("usergroups.users.list", times=1, retry_after=45)
    slack.set_usergroup("S0DEPLOY", ["U0ALICE", "U0BOB"])

    assert groups.membership(client, "U0BOB", ["S0DEPLOY"]) == Membership()
    settle(groups)
    assert [c.status for c in slack.calls("usergroups.users.list")] == [200, 429]  # no retry
    clock.now += 44
    assert groups.membership(client, "U0BOB", ["S0DEPLOY"]) == Membership()  # still stale
    assert lookups(slack) == 2
    clock.now += 2
    groups.membership(client, "U0BOB", ["S0DEPLOY"])
    settle(groups)
    assert groups.membership(client, "U0BOB", ["S0DEPLOY"]).groups == {"S0DEPLOY"}


def test_a_stale_list_is_not_trusted_past_max_stale_while_slack_is_down(
    slack: SlackStandIn, client: WebClient, stale: tuple[GroupDirectory, Clock]
) -> None:
    groups, clock = stale
    slack.server_error("usergroups.users.list", times=None, status=500)
    assert groups.membership(client, "U0ALICE", ["S0DEPLOY"]).groups == {"S0DEPLOY"}
    settle(groups)
    clock.now = 100 + 60 + MAX_STALE_SECONDS - 1  # fetched at 100: 1 s before TTL + max-stale
    assert groups.membership(client, "U0ALICE", ["S0DEPLOY"]).groups == {"S0DEPLOY"}
    settle(groups)
    clock.now += 2

    membership = groups.membership(client, "U0ALICE", ["S0DEPLOY"])

    assert membership.groups == frozenset()
    assert "internal_error" in membership.unknown["S0DEPLOY"]
    settle(groups)
    slack.clear_faults()
    clock.now += 200  # past any backoff: the next check asks again, and waits for it
    assert groups.membership(client, "U0ALICE", ["S0DEPLOY"]).groups == {"S0DEPLOY"}


def test_slack_saying_the_group_is_gone_drops_the_stale_list(
    slack: SlackStandIn, client: WebClient, stale: tuple[GroupDirectory, Clock]
) -> None:
    groups, _ = stale
    slack.fail("usergroups.users.list", "no_such_subteam")
    groups.membership(client, "U0ALICE", ["S0DEPLOY"])  # served stale; the refresh fails
    settle(groups)

    membership = groups.membership(client, "U0ALICE", ["S0DEPLOY"])

    assert membership.groups == frozenset()
    assert "does not exist" in membership.unknown["S0DEPLOY"]


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
    with caplog.at_level(logging.WARNING, logger="bot.slack.user_groups"):
        for _ in range(3):
            membership = groups.membership(client, "U0ALICE", ["S0DEPLOY"])
            clock.now += 30  # past every backoff: each round asks Slack again
    assert membership.groups == frozenset()
    assert reason in membership.unknown["S0DEPLOY"]
    assert lookups(slack) == 3
    assert len([r for r in caplog.records if "S0DEPLOY" in r.getMessage()]) == 1


def test_a_rate_limited_cold_lookup_is_not_retried_inline_and_is_held_for_retry_after(
    slack: SlackStandIn, client: WebClient
) -> None:
    slack.set_usergroup("S0DEPLOY", ["U0ALICE"])
    slack.rate_limit("usergroups.users.list", times=1, retry_after=30)
    clock = Clock()
    groups = GroupDirectory(ttl=60, clock=clock)
    first = groups.membership(client, "U0ALICE", ["S0DEPLOY"])
    assert "slow down" in first.unknown["S0DEPLOY"]
    assert lookups(slack) == 1  # no retry, no sleep
    clock.now += 15
    assert "slow down" in groups.membership(client, "U0ALICE", ["S0DEPLOY"]).unknown["S0DEPLOY"]
    assert lookups(slack) == 1
    clock.now += 16
    assert groups.membership(client, "U0ALICE", ["S0DEPLOY"]).groups == {"S0DEPLOY"}


def test_an_unreachable_slack_is_an_unknown_group_not_an_exception() -> None:
    client = WebClient(token="xoxb-test", base_url="http://127.0.0.1:9/api/", retry_handlers=[])
    membership = GroupDirectory(ttl=60).membership(client, "U0ALICE", ["S0DEPLOY"])
    assert "S0DEPLOY" in membership.unknown


def test_no_groups_means_no_call(slack: SlackStandIn, client: WebClient) -> None:
    assert GroupDirectory(ttl=60).membership(client, "U0ALICE", []).groups == frozenset()
    assert slack.calls("usergroups.users.list") == []


def test_prewarming_looks_groups_up_in_the_background_so_the_first_check_does_not_wait(
    slack: SlackStandIn, client: WebClient
) -> None:
    slack.set_usergroup("S0DEPLOY", ["U0ALICE"])
    slack.add_latency("usergroups.users.list", LATENCY)
    groups = GroupDirectory(ttl=60, clock=Clock())

    started = time.perf_counter()
    groups.prewarm(client, ["S0DEPLOY", "S0DEPLOY"])
    assert time.perf_counter() - started < NO_WAIT  # it does not wait for Slack
    settle(groups)

    membership, took = timed(groups, client, "U0ALICE")
    assert membership.groups == {"S0DEPLOY"}
    assert took < NO_WAIT
    assert lookups(slack) == 1


def test_the_app_prewarms_the_configured_groups_once(
    slack: SlackStandIn, client: WebClient
) -> None:
    slack.set_usergroup("S0DEPLOY", ["U0ALICE"])
    slack.set_usergroup("S0ADMINS", ["U0ADMIN"])
    settings = load_settings(deployers=["S0DEPLOY", "U0BOB"], admins=["S0ADMINS", "U0ROOT"])
    dynamote = AppContext(settings=settings, catalog=None, service=None)  # type: ignore[arg-type]
    try:
        guard.warm_groups(dynamote, client)
        settle(dynamote.groups)
        asked = sorted(c.params["usergroup"] for c in slack.calls("usergroups.users.list"))
        assert asked == ["S0ADMINS", "S0DEPLOY"]  # user ids are not looked up
    finally:
        dynamote.close()
