"""GPU capacity read from the cluster, cached and refreshed in the background.

One read is two streamed lists (``bot.cluster.listing``): every node, projected as it arrives
to its GPUs (:func:`bot.domain.capacity.gpu_node`), then every pod that has not ended, projected to
(node, GPUs held) or dropped (:func:`bot.domain.capacity.pod_gpus`), so 50,000 pods never sit in
memory at full size. Reading needs the optional ``CAPACITY_PERMISSIONS``.

The answer is served stale-while-revalidate, as ``bot.slack.user_groups`` serves user groups:
- fresh (younger than ``ttl``): from the cache;
- stale (past ``ttl``, within ``max_stale`` more): from the cache at once, while one background
  read refreshes it;
- cold, or too stale to trust: unknown (with why), while the background read runs.
A caller that may wait (after its ack) waits for the read of a not-fresh answer at most
``wait`` seconds, and gets the stale or unknown answer when that is not enough.
A failed read backs off (a refused one longer: RBAC rarely changes within seconds) and keeps
the last answer until it is too stale. Nothing here raises to a caller.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.cluster.client import Cluster
from bot.cluster.errors import ClusterError, Forbidden
from bot.domain.capacity import Capacity, build_capacity, gpu_node, pod_gpus
from bot.ops import backoff

__all__ = [
    "ENABLE_HINT",
    "CapacityCache",
    "CapacityReading",
    "read_capacity",
]

log = logging.getLogger(__name__)

TTL_SECONDS = 15.0
MAX_STALE_SECONDS = 120.0  # past this a stale answer is no answer: GPUs change hands
FAILURE_BACKOFF_SECONDS = 5.0  # first wait after a failed read, doubling per failure
MAX_BACKOFF_SECONDS = 60.0
FORBIDDEN_BACKOFF_SECONDS = 60.0
ENABLE_HINT = (
    "Dynamote may not list nodes and pods cluster-wide. To show GPU capacity, apply the "
    "optional component manifests/capacity/ (README: GPU capacity)."
)
READING = "still reading the cluster's nodes"


def read_capacity(cluster: Cluster) -> Capacity:
    """Nodes and the GPUs their running pods hold, in two streamed lists."""
    nodes = cluster.list_nodes(keep=gpu_node)
    usage = cluster.list_active_pods(keep=pod_gpus)
    return build_capacity(nodes, usage)


@dataclass(frozen=True)
class CapacityReading:
    """The capacity to show now, or None with why it is unknown."""

    capacity: Capacity | None
    unknown: str = ""
    age: float | None = None  # seconds since it was read
    forbidden: bool = False  # unknown because the optional permissions are missing


@dataclass
class _State:
    capacity: Capacity | None = None
    fetched: float = -math.inf
    error: str = READING
    forbidden: bool = False
    retry_at: float = -math.inf
    failures: int = 0
    flight: threading.Event | None = None
    reads: int = 0  # reads started, for tests and metrics
    logged: set[str] = field(default_factory=set)


class CapacityCache:
    """The cluster's GPU capacity, stale-while-revalidate (see the module doc). Thread-safe."""

    def __init__(
        self,
        read: Callable[[], Capacity],
        *,
        ttl: float = TTL_SECONDS,
        max_stale: float = MAX_STALE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self._ttl = ttl
        self._max_stale = max_stale
        self._clock = clock
        self._lock = threading.Lock()
        self._state = _State()

    @property
    def reads(self) -> int:
        return self._state.reads

    def get(self, *, wait: float = 0.0) -> CapacityReading:
        """What to show now; starts a background read when the answer is not fresh.

        ``wait`` > 0 (callers past their ack): when the answer is not fresh, wait that long
        for the read in flight.
        """
        with self._lock:
            reading, flight = self._current()
        if flight is not None and wait > 0:
            flight.wait(wait)
            with self._lock:
                reading, _ = self._current(start=False)
        return reading

    def prewarm(self) -> None:
        """Start a read in the background (at startup), so the first answers know."""
        with self._lock:
            self._current()

    def wait_for_read(self, timeout: float) -> bool:
        """Wait until no read is in flight; False on timeout. For tests and shutdown."""
        with self._lock:
            flight = self._state.flight
        return flight is None or flight.wait(timeout)

    def _current(self, *, start: bool = True) -> tuple[CapacityReading, threading.Event | None]:
        """Holds the lock."""
        state = self._state
        age = self._clock() - state.fetched
        flight = state.flight
        if age >= self._ttl:
            flight = self._start_read() if start else None
        if state.capacity is not None and age < self._ttl + self._max_stale:
            return CapacityReading(state.capacity, age=age), flight
        return CapacityReading(None, state.error, forbidden=state.forbidden), flight

    def _start_read(self) -> threading.Event | None:
        """The read in flight, else a new one; None while backing off. Holds the lock."""
        state = self._state
        if state.flight is not None:
            return state.flight
        if self._clock() < state.retry_at:
            return None
        state.flight = threading.Event()
        state.reads += 1
        threading.Thread(
            target=self._run_read,
            args=(state.flight,),
            name="dynamote-capacity",
            daemon=True,  # never holds up shutdown; at most one at a time
        ).start()
        return state.flight

    def _run_read(self, flight: threading.Event) -> None:
        capacity: Capacity | None = None
        error, forbidden = "the cluster did not answer", False
        try:
            capacity = self._read()
        except Forbidden:
            error, forbidden = ENABLE_HINT, True
        except ClusterError as failure:
            error = failure.message
        except Exception:
            log.exception("Failed to read the cluster's GPU capacity")
            error = "Unexpected error reading the cluster's GPU capacity."
        finally:
            with self._lock:
                self._settle(capacity, error, forbidden)
                self._state.flight = None
                flight.set()

    def _settle(self, capacity: Capacity | None, error: str, forbidden: bool) -> None:
        """Holds the lock."""
        state = self._state
        if capacity is not None:
            state.capacity, state.fetched = capacity, self._clock()
            state.error, state.forbidden, state.failures = "", False, 0
            state.retry_at = -math.inf
            state.logged.clear()
            return
        state.failures += 1
        wait = backoff.delay(state.failures, first=FAILURE_BACKOFF_SECONDS, cap=MAX_BACKOFF_SECONDS)
        if forbidden:
            wait = FORBIDDEN_BACKOFF_SECONDS
            state.capacity = None  # refused: what was read before is no longer ours to show
        state.retry_at = self._clock() + wait
        state.error, state.forbidden = error, forbidden
        if error not in state.logged:
            state.logged.add(error)
            log.warning("Could not read GPU capacity: %s", error)
