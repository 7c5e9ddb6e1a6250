"""How many requests a deployment served lately, from its frontend's counter. Pure.

Dynamo's frontend counts the requests it answered since it started
(``bot.cluster.frontend.REQUESTS_TOTAL``); "lately" needs an earlier reading of that counter.
The notifier's leader keeps a few on the DGD itself, ``dynamote.dev/requests-served``
(``<count>@<RFC 3339 time>``, oldest first, comma-separated), so a restart or another replica
finds them: the first once the deployment is Ready, then one every :data:`READING_EVERY`,
the last :data:`KEPT` of them. The expiry reminder compares the counter now with the oldest
reading that no restart of the frontend lies after (a counter lower than a reading before it
means the frontend started again in between).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from bot.domain.dgd import ANNOTATION_REQUESTS_SERVED
from bot.domain.expiry import format_expires_at, parse_expires_at

__all__ = [
    "ANNOTATION_REQUESTS_SERVED",
    "KEPT",
    "READING_EVERY",
    "SHORTEST",
    "Reading",
    "Served",
    "format_readings",
    "format_window",
    "reading_due",
    "readings_of",
    "served_lately",
    "with_reading",
]

# A reading every 12 hours, the last two kept: the reminder (a day before the end by default)
# then compares with a reading 12 to 24 hours old, so "lately" is about the last day, one
# whole cycle of a team's daily use, at the cost of at most two small writes a day per DGD.
READING_EVERY: Final = timedelta(hours=12)
KEPT: Final = 2
# A reading younger than this says too little to be called "lately" (one taken in the same
# sweep as the reminder would say 0): the count since the start is said instead.
SHORTEST: Final = timedelta(hours=1)
_READING = re.compile(r"^(\d{1,18})@(\S{1,40})$")


@dataclass(frozen=True)
class Reading:
    """The frontend's counter ``count`` as read at ``at``."""

    count: int
    at: datetime


@dataclass(frozen=True)
class Served:
    """Requests served over ``window`` before now (None: since the frontend started, as far
    as anyone knows). ``restarted``: the frontend started again within ``window``, so
    ``count`` is what it served since then."""

    count: int
    window: timedelta | None = None
    restarted: bool = False


def readings_of(annotations: Mapping[str, str]) -> tuple[Reading, ...]:
    """The readings on a DGD, oldest first; none for a missing or unreadable value (a
    hand-edited annotation costs the "lately", never the reminder)."""
    raw = annotations.get(ANNOTATION_REQUESTS_SERVED)
    if not raw or len(raw) > 200:
        return ()
    found = []
    for part in raw.split(","):
        match = _READING.fullmatch(part.strip())
        at = parse_expires_at(match.group(2)) if match else None
        if match is None or at is None:
            return ()
        found.append(Reading(int(match.group(1)), at))
    return tuple(sorted(found, key=lambda reading: reading.at))


def format_readings(readings: tuple[Reading, ...]) -> str:
    return ",".join(f"{r.count}@{format_expires_at(r.at)}" for r in readings)


def reading_due(readings: tuple[Reading, ...], now: datetime) -> bool:
    """None yet, or the newest is :data:`READING_EVERY` old (or from the future: a clock that
    moved back would otherwise keep the old ones for ever)."""
    if not readings:
        return True
    newest = readings[-1].at
    return now - newest >= READING_EVERY or newest > now


def with_reading(readings: tuple[Reading, ...], reading: Reading) -> tuple[Reading, ...]:
    """The readings with ``reading`` added, the last :data:`KEPT` kept; any later than it (a
    clock that moved back) dropped, so they do not make every sweep's reading due."""
    return (*(r for r in readings if r.at < reading.at), reading)[-KEPT:]


def served_lately(readings: tuple[Reading, ...], current: int, now: datetime) -> Served:
    """What the counter at ``current`` says about the time since the readings."""
    past = [r for r in readings if r.at <= now]
    if not past:
        return Served(current)
    if current < past[-1].count:  # the frontend started again since the newest reading
        return Served(current, now - past[-1].at, restarted=True)
    start = len(past) - 1
    while start > 0 and past[start - 1].count <= past[start].count:
        start -= 1  # no restart between these two readings
    since = past[start]
    if now - since.at >= SHORTEST:
        return Served(current - since.count, now - since.at)
    if start > 0:  # a restart between the one before and this too recent one
        return Served(current, now - past[start - 1].at, restarted=True)
    return Served(current)


def format_window(window: timedelta) -> str:
    """``"45 minutes"``, ``"19 hours"``, ``"3 days"``: rounded to the nearest unit that reads
    well (hours up to two days)."""
    seconds = max(window.total_seconds(), 60.0)
    if seconds < 3600:
        count, name = round(seconds / 60), "minute"
    elif seconds < 48 * 3600:
        count, name = round(seconds / 3600), "hour"
    else:
        count, name = round(seconds / 86400), "day"
    return f"{count} {name}{'' if count == 1 else 's'}"
