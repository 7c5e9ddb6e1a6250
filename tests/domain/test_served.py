"""How many requests a deployment served lately, from readings of its frontend's counter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.served import (
    ANNOTATION_REQUESTS_SERVED,
    Reading,
    Served,
    format_readings,
    format_window,
    reading_due,
    readings_of,
    served_lately,
    with_reading,
)

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def ago(hours: float) -> datetime:
    return NOW - timedelta(hours=hours)


def test_readings_round_trip_oldest_first() -> None:
    readings = (Reading(3, ago(20)), Reading(40, ago(8)))
    raw = format_readings(readings)
    assert raw == "3@2026-12-05T16:00:00Z,40@2026-12-06T04:00:00Z"
    assert readings_of({ANNOTATION_REQUESTS_SERVED: raw}) == readings
    swapped = ",".join(reversed(raw.split(",")))
    assert readings_of({ANNOTATION_REQUESTS_SERVED: swapped}) == readings


@pytest.mark.parametrize(
    "raw",
    ["", "many", "3@yesterday", "-1@2026-12-05T16:00:00Z", "3@2026-12-05T16:00:00", "x" * 300],
)
def test_an_unreadable_value_is_no_readings(raw: str) -> None:
    assert readings_of({ANNOTATION_REQUESTS_SERVED: raw}) == ()


def test_a_reading_is_due_first_then_every_twelve_hours_and_the_last_two_are_kept() -> None:
    assert reading_due((), NOW)
    assert not reading_due((Reading(1, ago(11.9)),), NOW)
    assert reading_due((Reading(1, ago(12)),), NOW)
    assert reading_due((Reading(1, NOW + timedelta(hours=1)),), NOW)  # a clock moved back
    kept = with_reading((Reading(1, ago(30)), Reading(5, ago(15))), Reading(9, NOW))
    assert kept == (Reading(5, ago(15)), Reading(9, NOW))
    future = Reading(4, NOW + timedelta(hours=1))
    renewed = with_reading((Reading(1, ago(30)), future), Reading(9, NOW))
    assert renewed == (Reading(1, ago(30)), Reading(9, NOW))
    assert not reading_due(renewed, NOW)  # once replaced, the future one asks for no more


@pytest.mark.parametrize(
    ("readings", "current", "served"),
    [
        ((), 7, Served(7)),  # no earlier reading: since it started
        ((Reading(10, ago(20)), Reading(30, ago(8))), 45, Served(35, timedelta(hours=20))),
        ((Reading(10, ago(5)),), 12, Served(2, timedelta(hours=5))),
        # the frontend restarted since the newest reading: what it served since, said so
        ((Reading(10, ago(20)), Reading(30, ago(8))), 4, Served(4, timedelta(hours=8), True)),
        # restarted between the two readings: counted from the newer one
        ((Reading(50, ago(20)), Reading(6, ago(8))), 9, Served(3, timedelta(hours=8))),
        # a reading this young says nothing of "lately": since it started
        ((Reading(10, NOW - timedelta(minutes=5)),), 10, Served(10)),
        # ... unless a restart lies before it: since then, within the older reading's age
        ((Reading(50, ago(20)), Reading(6, ago(0.5))), 9, Served(9, timedelta(hours=20), True)),
        ((Reading(10, NOW + timedelta(hours=1)),), 12, Served(12)),  # from the future: ignored
    ],
)
def test_served_lately(readings: tuple[Reading, ...], current: int, served: Served) -> None:
    assert served_lately(readings, current, NOW) == served


@pytest.mark.parametrize(
    ("window", "words"),
    [
        (timedelta(seconds=5), "1 minute"),
        (timedelta(minutes=45), "45 minutes"),
        (timedelta(hours=1, minutes=20), "1 hour"),
        (timedelta(hours=19, minutes=40), "20 hours"),
        (timedelta(hours=50), "2 days"),
    ],
)
def test_format_window(window: timedelta, words: str) -> None:
    assert format_window(window) == words
