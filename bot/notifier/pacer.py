"""Slack's pace: at most one message per ``interval`` seconds per key (a channel), never dropped.

``chat.postMessage`` allows about one message per second per channel (Slack's rate limits).
:meth:`Pacer.wait` reserves the key's next free slot and sleeps until it, so callers queue in
order instead of being refused; a 429's Retry-After pushes the key's next slot back with
:meth:`Pacer.hold`. Clock and sleep are injectable so tests run in simulated time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["Pacer"]

_PRUNE_AT = 1024  # keys kept before slots in the past are forgotten


class Pacer:
    """Per-key spacing of Slack writes. Thread-safe; sleeps outside its lock."""

    def __init__(
        self,
        interval: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        self._interval = max(interval, 0.0)
        self._clock = clock
        self._sleep = sleep
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, key: str) -> float:
        """Block until ``key`` may send, taking that slot; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next.get(key, now))
            self._next[key] = slot + self._interval
            if len(self._next) > _PRUNE_AT:
                self._prune(now)
        delay = slot - now
        if delay > 0:
            self._sleep(delay)
        return delay

    def hold(self, key: str, seconds: float) -> None:
        """Nothing more for ``key`` until ``seconds`` from now (Slack said Retry-After)."""
        with self._lock:
            until = self._clock() + max(seconds, 0.0)
            self._next[key] = max(self._next.get(key, until), until)

    def next_slot(self, key: str) -> float:
        """When ``key`` may send next (the clock's time)."""
        with self._lock:
            return max(self._clock(), self._next.get(key, 0.0))

    def _prune(self, now: float) -> None:
        for key in [key for key, slot in self._next.items() if slot <= now]:
            del self._next[key]
