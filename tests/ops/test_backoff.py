"""bot.ops.backoff: exponential waits with a cap, and jitter that never makes a wait longer."""

from __future__ import annotations

import itertools

from bot.ops import backoff


def test_waits_double_from_the_first_up_to_the_cap() -> None:
    waits = list(itertools.islice(backoff.delays(first=1.0, cap=30.0), 7))
    assert waits == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


def test_no_failure_means_no_wait_and_a_long_run_of_failures_stays_at_the_cap() -> None:
    assert backoff.delay(0, first=15.0, cap=600.0) == 0.0
    assert backoff.delay(-3, first=15.0, cap=600.0) == 0.0
    assert backoff.delay(5000, first=15.0, cap=600.0) == 600.0  # no float overflow


def test_jitter_keeps_each_wait_between_half_and_all_of_it() -> None:
    for failures in range(1, 9):
        plain = backoff.delay(failures, first=1.0, cap=30.0)
        for _ in range(50):
            jittered = backoff.delay(failures, first=1.0, cap=30.0, jitter=True)
            assert plain / 2 <= jittered <= plain
    spread = {backoff.delay(3, first=1.0, cap=30.0, jitter=True) for _ in range(50)}
    assert len(spread) > 1  # replicas failing together do not all come back at once
