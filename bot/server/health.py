"""Readiness for `/readyz`: Slack authentication done and the Kubernetes API reachable.

Why cached: Kubernetes probes (and load balancers, and people with curl) may hit `/readyz`
often, and every uncached answer would cost calls to the API server. The cluster probe's answer,
good or bad, is reused for ``cache_seconds``, so readiness drops within that window when the
cluster goes away and comes back within it when the cluster returns.

Why in the background: a probe can take seconds (the first one imports and configures the
Kubernetes client; a dead API server takes the connect timeout), longer than a kubelet waits
for `/readyz`. The probe runs in its own thread, one at a time; a caller waits for it at most
``probe_wait_seconds`` and otherwise gets the last answer (not ready if there is none yet).

Liveness (`/healthz`) needs no state: the process answering is the answer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

__all__ = ["DEFAULT_CACHE_SECONDS", "DEFAULT_PROBE_WAIT_SECONDS", "Health"]

logger = logging.getLogger(__name__)

DEFAULT_CACHE_SECONDS = 2.0
DEFAULT_PROBE_WAIT_SECONDS = 0.8  # under the kubelet's default 1 s probe timeout

SLACK_NOT_READY = "Slack authentication (auth.test) has not succeeded yet"
CLUSTER_UNREACHABLE = "the Kubernetes API server is unreachable"
CLUSTER_CHECKING = "checking whether the Kubernetes API server is reachable"
READY = "ready"


class Health:
    """Process readiness. Thread-safe: the server's threads call :meth:`ready` concurrently."""

    def __init__(
        self,
        cluster_probe: Callable[[], bool],
        *,
        cache_seconds: float = DEFAULT_CACHE_SECONDS,
        probe_wait_seconds: float = DEFAULT_PROBE_WAIT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._probe = cluster_probe
        self._cache_seconds = cache_seconds
        self._probe_wait_seconds = probe_wait_seconds
        self._clock = clock
        self._slack_ready = threading.Event()
        self._lock = threading.Lock()
        self._last: tuple[float, bool] | None = None  # (when, reachable)
        self._in_flight: threading.Event | None = None  # set when the running probe is done

    def mark_slack_ready(self) -> None:
        """Call once auth.test has succeeded with the bot token."""
        self._slack_ready.set()

    @property
    def slack_ready(self) -> bool:
        return self._slack_ready.is_set()

    def ready(self) -> tuple[bool, str]:
        """(ready, reason): the reason says what is missing, or "ready"."""
        if not self._slack_ready.is_set():
            return False, SLACK_NOT_READY
        reachable = self._cluster_reachable()
        if reachable is None:
            return False, CLUSTER_CHECKING
        if not reachable:
            return False, CLUSTER_UNREACHABLE
        return True, READY

    def refresh(self) -> threading.Event:
        """Start a probe unless one is running; the event is set when it is done.

        The runner calls this at start so the first `/readyz` finds the client warmed up.
        """
        with self._lock:
            if self._in_flight is None:
                done = threading.Event()
                self._in_flight = done
                threading.Thread(
                    target=self._probe_in_background,
                    args=(done,),
                    name="dynamote-cluster-probe",
                    daemon=True,
                ).start()
            return self._in_flight

    def _cluster_reachable(self) -> bool | None:
        with self._lock:
            last = self._last
            if last is not None and self._clock() - last[0] < self._cache_seconds:
                return last[1]
        self.refresh().wait(self._probe_wait_seconds)
        with self._lock:
            last = self._last
        return None if last is None else last[1]

    def _probe_in_background(self, done: threading.Event) -> None:
        reachable = self._run_probe()
        with self._lock:
            self._last = (self._clock(), reachable)
            self._in_flight = None
        done.set()

    def _run_probe(self) -> bool:
        try:
            return bool(self._probe())
        except Exception:  # a probe that raises means "not reachable", never a 500
            logger.exception("Failed to probe the Kubernetes API server")
            return False
