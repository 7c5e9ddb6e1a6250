"""User group membership for the policy: ``usergroups.users.list``, cached, stale-while-revalidate.

Why cached: the method is Tier 2 (about 20 calls a minute) and every guarded interaction may
need it. Why the lookups run on their own threads with their own client (short timeout, no
retries): membership is asked for before an ack (a modal submission is answered in its HTTP
response), and the app's client sleeps on a 429 for Retry-After.

How a group's list is served:
- fresh (younger than ``ttl``): from the cache;
- stale (past ``ttl``, within ``max_stale`` more): from the cache at once, while one background
  lookup per group refreshes it; a failed refresh keeps the stale list and backs off;
- cold (never looked up) or too stale to trust: the caller waits for the lookup, at most
  :data:`LOOKUP_BUDGET_SECONDS` for all its groups, so a denial still acks within 3 seconds.
``max_stale`` bounds how long someone removed from a group keeps its rights while Slack is down.

A failed lookup (``plan_upgrade_required``, ``no_such_subteam``, 429, 5xx, a timeout) never
raises: with nothing to trust the group is reported as unknown with a reason, the policy denies
with that reason, and the failure is logged once until the group answers again. Slack saying the
group cannot be read (gone, no scope, no plan) drops the cached list; Slack being down does not.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain.policy import Membership
from bot.ops import backoff
from bot.slack.client import retry_after, retry_handlers

__all__ = [
    "FAILURE_CACHE_SECONDS",
    "LOOKUP_BUDGET_SECONDS",
    "MAX_STALE_SECONDS",
    "GroupDirectory",
]

log = logging.getLogger(__name__)

LOOKUP_TIMEOUT_SECONDS = 2  # per call (WebClient takes whole seconds); callers wait less
LOOKUP_BUDGET_SECONDS = 1.5  # all lookups of one check, so a denial still acks in 3 s
FAILURE_CACHE_SECONDS = 10.0  # first backoff after a failure (or Retry-After), not per click
MAX_BACKOFF_SECONDS = 120.0  # backoff doubles per failure in a row, up to this
# How long past its TTL a list is still served while refreshes fail: long enough to ride out
# a few Retry-Afters and a short Slack outage, short enough that a removed member's access
# ends within minutes even when Slack cannot be asked.
MAX_STALE_SECONDS = 300.0
TOO_SLOW = "Slack was too slow to answer"

_REASONS = {
    "plan_upgrade_required": "user groups need a paid Slack plan",
    "no_such_subteam": "that user group does not exist",
    "ratelimited": "Slack asked Dynamote to slow down",
    "missing_scope": "the bot lacks the usergroups:read scope",
    "unreachable": "Slack did not answer in time",
}
# Slack being unwell, not an answer about the group: keep serving the stale list meanwhile.
_TRANSIENT = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout"})


@dataclass
class _Flight:
    """One lookup in progress; ``done`` is set once its outcome is filled in."""

    done: threading.Event = field(default_factory=threading.Event)
    members: frozenset[str] | None = None
    error: str = ""


@dataclass
class _Group:
    members: frozenset[str] | None = None  # the last list Slack gave, while it may be trusted
    fetched: float = -math.inf  # when (directory clock) that list was fetched
    error: str = ""  # why the last lookup failed, for people
    retry_at: float = -math.inf  # no lookup before this (backoff, Retry-After)
    failures: int = 0  # failed lookups in a row
    flight: _Flight | None = None  # the lookup in progress, at most one per group


@dataclass(frozen=True)
class _Failure:
    code: str
    retry_after: float = 0.0
    transient: bool = True  # Slack unwell (keep the stale list), not an answer about the group


class GroupDirectory:
    """Members of user groups, served stale-while-revalidate (see the module doc). Thread-safe.

    ``max_stale`` defaults to :data:`MAX_STALE_SECONDS`, or 0 when ``ttl`` is 0 (always ask).
    """

    def __init__(
        self,
        *,
        ttl: float,
        max_stale: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl
        self._max_stale = max_stale if max_stale is not None else (MAX_STALE_SECONDS if ttl else 0)
        self._clock = clock
        self._lock = threading.Lock()
        self._groups: dict[str, _Group] = {}
        self._logged: set[tuple[str, str]] = set()
        self.lookups = 0  # calls made to Slack, for tests and metrics

    def membership(self, client: WebClient, user: str, groups: Sequence[str]) -> Membership:
        """Which of ``groups`` the user is in; groups that could not be checked, and why."""
        deadline = time.monotonic() + LOOKUP_BUDGET_SECONDS  # real time: it bounds the ack
        lists: dict[str, frozenset[str]] = {}
        unknown: dict[str, str] = {}
        waiting: dict[str, _Flight] = {}
        for group in dict.fromkeys(groups):
            members, error, flight = self._read(client, group)
            if members is not None:
                lists[group] = members
            elif flight is not None:
                waiting[group] = flight
            else:
                unknown[group] = error
        for group, flight in waiting.items():
            if not flight.done.wait(max(deadline - time.monotonic(), 0.0)):
                unknown[group] = TOO_SLOW  # the lookup goes on and fills the cache
            elif flight.members is None:
                unknown[group] = flight.error
            else:
                lists[group] = flight.members
        found = frozenset(g for g, members in lists.items() if user in members)
        return Membership(groups=found, unknown=unknown)

    def prewarm(self, client: WebClient, groups: Iterable[str]) -> None:
        """Start looking up ``groups`` in the background (at startup), so few requests wait."""
        for group in dict.fromkeys(groups):
            self._read(client, group)

    def wait_for_refreshes(self, timeout: float) -> bool:
        """Wait until no lookup is in progress; False on timeout. For tests and shutdown."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                flights = [g.flight for g in self._groups.values() if g.flight is not None]
            if not flights:
                return True
            if not flights[0].done.wait(max(deadline - time.monotonic(), 0.0)):
                return False

    def _read(
        self, client: WebClient, group: str
    ) -> tuple[frozenset[str] | None, str, _Flight | None]:
        """(members to use now, else None with why, and the lookup to wait for if any).

        Starts a lookup when the list is not fresh, unless one is in flight or backing off.
        """
        with self._lock:
            state = self._groups.setdefault(group, _Group())
            age = self._clock() - state.fetched
            flight = None if age < self._ttl else self._start_lookup(client, group, state)
            if state.members is not None and age < self._ttl + self._max_stale:
                return state.members, "", None
            return None, state.error, flight

    def _start_lookup(self, client: WebClient, group: str, state: _Group) -> _Flight | None:
        """The lookup in flight, else a new one; None while backing off. Holds the lock."""
        if state.flight is not None:
            return state.flight
        if self._clock() < state.retry_at:
            return None
        state.flight = _Flight()
        self.lookups += 1
        threading.Thread(
            target=self._look_up,
            args=(client, group, state.flight),
            name=f"dynamote-usergroup-{group}",
            daemon=True,  # never holds up shutdown; at most one per group
        ).start()
        return state.flight

    def _look_up(self, client: WebClient, group: str, flight: _Flight) -> None:
        outcome: frozenset[str] | _Failure = _Failure("unreachable")
        first_failure = False
        try:
            outcome = _ask(_quick_client(client), group)
        finally:  # whatever happened, waiters must wake and the next lookup may start
            with self._lock:
                state = self._groups[group]
                if isinstance(outcome, _Failure):
                    first_failure = self._failed(group, state, outcome)
                else:
                    self._succeeded(group, state, outcome)
                # This lookup's own answer: a failure is no list, even with a stale one kept.
                flight.members = None if isinstance(outcome, _Failure) else outcome
                flight.error = state.error
                state.flight = None
                flight.done.set()
        if first_failure and isinstance(outcome, _Failure):
            log.warning("Could not list the members of user group %s: %s", group, outcome.code)

    def _succeeded(self, group: str, state: _Group, members: frozenset[str]) -> None:
        state.members, state.fetched, state.error = members, self._clock(), ""
        state.failures, state.retry_at = 0, -math.inf
        self._logged = {k for k in self._logged if k[0] != group}

    def _failed(self, group: str, state: _Group, failure: _Failure) -> bool:
        """Records the failure; True the first time this group fails this way (to log it)."""
        state.failures += 1
        wait = backoff.delay(state.failures, first=FAILURE_CACHE_SECONDS, cap=MAX_BACKOFF_SECONDS)
        state.retry_at = self._clock() + max(wait, failure.retry_after)
        state.error = _REASONS.get(failure.code, f"Slack answered {failure.code}")
        if not failure.transient:
            state.members = None  # Slack's answer about the group itself: stop trusting the list
        first = (group, failure.code) not in self._logged
        self._logged.add((group, failure.code))
        return first


def _ask(client: WebClient, group: str) -> frozenset[str] | _Failure:
    try:
        response = client.usergroups_users_list(usergroup=group)
    except SlackApiError as error:
        status = error.response.status_code
        code = str(error.response.get("error") or f"HTTP {status}")
        transient = status == 429 or status >= 500 or code in _TRANSIENT
        return _Failure(code, retry_after(error.response), transient)
    except Exception as error:  # a timeout or a refused connection: the same answer
        log.debug("usergroups.users.list for %s failed: %r", group, error)
        return _Failure("unreachable")
    return frozenset(str(u) for u in (response.get("users") or []))


def _quick_client(client: WebClient) -> WebClient:
    return WebClient(
        token=client.token,
        base_url=client.base_url,
        timeout=LOOKUP_TIMEOUT_SECONDS,
        retry_handlers=retry_handlers(retries=False),  # failures counted, never retried
    )
