"""Exponential backoff with a cap: the one rule for how long the bot waits before trying again.

Slack Web API calls are retried inside slack_sdk by the handlers ``bot.slack.client`` sets
up; this module is for everything else that tries again later: auth.test and the Socket Mode
connection at startup, Socket Mode reconnects, the watches, a deployment Slack keeps refusing,
a user group or GPU capacity lookup that failed.

``delay(n, ...)`` is the wait after the n-th failure in a row: ``first`` doubling each time,
never more than ``cap``. ``jitter`` spreads replicas that failed together ("equal jitter":
half the delay fixed, the other half random), so the wait is never longer than without it.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

__all__ = ["delay", "delays"]


def delay(failures: int, *, first: float, cap: float, jitter: bool = False) -> float:
    """Seconds to wait after ``failures`` failures in a row (0 when there were none)."""
    if failures <= 0:
        return 0.0
    # 2**n overflows a float past n = 1023; by then it is long past any cap.
    seconds: float = min(first * 2.0 ** min(failures - 1, 64), cap)
    if jitter:
        seconds = seconds / 2 + random.uniform(0, seconds / 2)  # noqa: S311 - not security
    return seconds


def delays(*, first: float, cap: float, jitter: bool = False) -> Iterator[float]:
    """The waits after the 1st, 2nd, ... failure; never ends."""
    failures = 0
    while True:
        failures += 1
        yield delay(failures, first=first, cap=cap, jitter=jitter)
