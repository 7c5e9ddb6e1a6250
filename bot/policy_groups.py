"""User group membership for the policy: ``usergroups.users.list``, cached briefly.

Why cached: the method is Tier 2 (about 20 calls a minute) and every guarded interaction may
need it. Why its own client without retries and with a short timeout: lookups can run before
an ack (a modal submission is answered in its HTTP response), and the app's client sleeps on
a 429 for Retry-After. A failed lookup (``plan_upgrade_required``, ``no_such_subteam``, 429,
5xx, a timeout) never raises: the group is reported as unknown with a reason, the policy
denies with that reason, and the failure is logged once until the group answers again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.policy import Membership

__all__ = ["FAILURE_CACHE_SECONDS", "LOOKUP_BUDGET_SECONDS", "GroupDirectory"]

log = logging.getLogger(__name__)

LOOKUP_TIMEOUT_SECONDS = 1  # per call; WebClient takes whole seconds
LOOKUP_BUDGET_SECONDS = 1.5  # all lookups of one check, so a denial still acks in 3 s
FAILURE_CACHE_SECONDS = 10.0  # a failure is retried after this (or Retry-After), not per click

_REASONS = {
    "plan_upgrade_required": "user groups need a paid Slack plan",
    "no_such_subteam": "that user group does not exist",
    "ratelimited": "Slack asked Dynamote to slow down",
    "missing_scope": "the bot lacks the usergroups:read scope",
    "unreachable": "Slack did not answer in time",
}


@dataclass(frozen=True)
class _Entry:
    expires: float
    members: frozenset[str] | None  # None when the lookup failed
    error: str = ""


class GroupDirectory:
    """Members of user groups, each list cached for ``ttl`` seconds. Thread-safe."""

    def __init__(self, *, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[str, _Entry] = {}
        self._logged: set[tuple[str, str]] = set()
        self.lookups = 0  # calls made to Slack, for tests and metrics

    def membership(self, client: WebClient, user: str, groups: Sequence[str]) -> Membership:
        """Which of ``groups`` the user is in; groups that could not be checked, and why."""
        if not groups:
            return Membership()
        started = self._clock()
        found: set[str] = set()
        unknown: dict[str, str] = {}
        lookup_client: WebClient | None = None
        for group in groups:
            entry = self._cached(group)
            if entry is None:
                if self._clock() - started > LOOKUP_BUDGET_SECONDS:
                    unknown[group] = "Slack was too slow to answer"
                    continue
                lookup_client = lookup_client or _quick_client(client)
                entry = self._look_up(lookup_client, group)
            if entry.members is None:
                unknown[group] = entry.error
            elif user in entry.members:
                found.add(group)
        return Membership(groups=frozenset(found), unknown=unknown)

    def _cached(self, group: str) -> _Entry | None:
        with self._lock:
            entry = self._cache.get(group)
        return entry if entry is not None and entry.expires > self._clock() else None

    def _look_up(self, client: WebClient, group: str) -> _Entry:
        self.lookups += 1
        try:
            response = client.usergroups_users_list(usergroup=group)
            members = frozenset(str(u) for u in (response.get("users") or []))
        except SlackApiError as error:
            code = str(error.response.get("error") or f"HTTP {error.response.status_code}")
            retry_after = _retry_after(error)
            return self._failed(group, code, max(FAILURE_CACHE_SECONDS, retry_after))
        except Exception as error:  # a timeout or a refused connection: the same answer
            log.debug("usergroups.users.list for %s failed: %r", group, error)
            return self._failed(group, "unreachable", FAILURE_CACHE_SECONDS)
        entry = _Entry(self._clock() + self._ttl, members)
        with self._lock:
            self._cache[group] = entry
            self._logged = {k for k in self._logged if k[0] != group}
        return entry

    def _failed(self, group: str, code: str, hold: float) -> _Entry:
        reason = _REASONS.get(code, f"Slack answered {code}")
        entry = _Entry(
            self._clock() + min(hold, max(self._ttl, FAILURE_CACHE_SECONDS)), None, reason
        )
        with self._lock:
            self._cache[group] = entry
            first = (group, code) not in self._logged
            self._logged.add((group, code))
        if first:
            log.warning("Could not list the members of user group %s: %s", group, code)
        return entry


def _quick_client(client: WebClient) -> WebClient:
    return WebClient(
        token=client.token,
        base_url=client.base_url,
        timeout=LOOKUP_TIMEOUT_SECONDS,
        retry_handlers=[],
    )


def _retry_after(error: SlackApiError) -> float:
    headers = getattr(error.response, "headers", None) or {}
    raw = headers.get("Retry-After") or headers.get("retry-after") or "0"
    try:
        return float(raw if isinstance(raw, str) else raw[0])
    except (TypeError, ValueError, IndexError):
        return 0.0
