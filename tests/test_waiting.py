"""The waiting helpers of tests/waiting.py: a drain proves background work finished."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.waiting import Background, wait_for, wait_until


def test_drain_waits_for_work_one_pool_hands_to_another() -> None:
    background = Background()
    release, done = threading.Event(), threading.Event()
    with (
        ThreadPoolExecutor(2) as listeners,
        ThreadPoolExecutor(8) as pool,
    ):
        background.track(listeners)
        background.track(pool)

        def slow_follow_up() -> None:
            release.wait(5)
            done.set()

        def listener() -> None:
            pool.submit(slow_follow_up)  # handed on before the listener itself ends

        listeners.submit(listener).result(timeout=5)
        # A no-op through the busy pool is no barrier: it finishes while the follow-up waits.
        pool.submit(lambda: None).result(timeout=5)
        assert not done.is_set()
        threading.Timer(0.05, release.set).start()

        background.drain()

        assert done.is_set()


def test_drain_fails_while_work_is_still_running() -> None:
    background = Background()
    release = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        background.track(pool).submit(release.wait, 5)
        try:
            with pytest.raises(AssertionError, match="1 background tasks busy"):
                background.drain(timeout=0.05)
        finally:
            release.set()
        background.drain()


def test_drain_counts_work_whose_submit_failed_as_done() -> None:
    background = Background()
    pool = ThreadPoolExecutor(1)
    pool.shutdown()
    with pytest.raises(RuntimeError):
        background.track(pool).submit(lambda: None)

    background.drain(timeout=0.05)


def test_wait_until_and_wait_for_name_what_never_happened() -> None:
    with pytest.raises(AssertionError, match="the card"):
        wait_until(lambda: False, timeout=0.05, what="the card")
    with pytest.raises(AssertionError, match="the DGD"):
        wait_for(lambda: None, timeout=0.05, what="the DGD")
    assert wait_for(lambda: 3) == 3


def test_wait_for_refuses_a_yes_no_check_that_would_return_at_once() -> None:
    with pytest.raises(TypeError, match="wait_until"):
        wait_for(lambda: False, what="the deployment running")
    assert wait_for(lambda: True) is True  # "or None" checks still return what they found
