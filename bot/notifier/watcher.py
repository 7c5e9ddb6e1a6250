"""Watches on managed DGDs and their pods that trigger early, targeted sweeps.

The periodic sweep is the resync; these watches make announcements prompt (a DGD turning
Ready is announced within about a second, not a sweep interval later). Each watch starts from
the resourceVersion of the last full sweep's lists (no extra list calls), follows the versions
of the events it sees (BOOKMARKs included) when it is renewed, and on ``Expired`` waits for a
newer full sweep (asking for one at once). Other errors back off up to 30 s. Changed keys are
collected and handed, debounced, to ``on_keys`` in one dispatcher thread; DELETED objects go
to ``on_deleted``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from bot.cluster import DGD_NAME_LABEL, Cluster, ClusterError, Expired
from bot.domain.status.raw import meta_of
from bot.notifier.reading import Key, key_of
from bot.ops import backoff

__all__ = ["Watcher"]

log = logging.getLogger(__name__)

BACKOFF_FIRST = 0.5
BACKOFF_MAX = 30.0
IDLE_POLL = 0.2  # while not the leader, or before the first full sweep
Obj = dict[str, Any]
Versions = Callable[[], tuple[str | None, str | None]]


class Watcher:
    """Two watch threads (DGDs, pods) and a dispatcher. ``active`` gates everything."""

    def __init__(
        self,
        cluster: Cluster,
        namespaces: Sequence[str],
        *,
        versions: Versions,
        on_keys: Callable[[set[Key]], object],
        on_deleted: Callable[[Obj], None],
        want_resync: Callable[[], None],
        active: Callable[[], bool],
        timeout_seconds: int,
        debounce: float = 0.05,
    ) -> None:
        self._cluster = cluster
        self._namespaces = list(namespaces)
        self._versions = versions
        self._on_keys = on_keys
        self._on_deleted = on_deleted
        self._want_resync = want_resync
        self._active = active
        self._timeout = timeout_seconds
        self._debounce = debounce
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._keys: set[Key] = set()
        self._deleted: list[Obj] = []
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self._stopping.clear()
        targets: list[tuple[str, Callable[[], None]]] = [
            ("dynamote-watch-dgds", lambda: self._follow(0, self._open_dgds, self._dgd_event)),
            ("dynamote-watch-pods", lambda: self._follow(1, self._open_pods, self._pod_event)),
            ("dynamote-early-sweeps", self._dispatch),
        ]
        for name, target in targets:
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 1.0) -> None:
        """Stop; watch threads blocked on a quiet stream end at its next line (daemons)."""
        self._stopping.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=timeout if thread.name == "dynamote-early-sweeps" else 0.2)
        self._threads = []

    # --- watching ------------------------------------------------------------------------

    def _open_dgds(self, version: str) -> Iterator[tuple[str, Obj]]:
        return self._cluster.watch_dgds(
            self._namespaces, resource_version=version, timeout_seconds=self._timeout
        )

    def _open_pods(self, version: str) -> Iterator[tuple[str, Obj]]:
        return self._cluster.watch_pods(
            self._namespaces,
            DGD_NAME_LABEL,
            resource_version=version,
            timeout_seconds=self._timeout,
        )

    def _follow(
        self,
        which: int,
        open_watch: Callable[[str], Iterator[tuple[str, Obj]]],
        handle: Callable[[str, Obj], None],
    ) -> None:
        version: str | None = None
        expired: str | None = None
        failures = 0
        while not self._stopping.is_set():
            if not self._active():
                version = None
                self._stopping.wait(IDLE_POLL)
                continue
            if version is None:
                swept = self._versions()[which]
                if swept is None or swept == expired:
                    self._stopping.wait(IDLE_POLL)
                    continue
                version = swept
            try:
                for kind, obj in open_watch(version):
                    if self._stopping.is_set():
                        return
                    version = meta_of(obj).resource_version or version
                    if kind != "BOOKMARK":
                        handle(kind, obj)
                failures = 0
            except Expired:
                log.info("Watch expired at %s; waiting for a fresh sweep", version)
                expired, version = version, None
                self._want_resync()
            except ClusterError as error:
                if self._stopping.is_set():
                    return
                failures += 1
                delay = backoff.delay(failures, first=BACKOFF_FIRST, cap=BACKOFF_MAX)
                log.warning("Watch failed (%s); again in %.1f s", error.message, delay)
                self._stopping.wait(delay)
            except Exception:
                failures += 1
                delay = backoff.delay(failures, first=BACKOFF_FIRST, cap=BACKOFF_MAX)
                log.exception("Watch failed; again in %.1f s", delay)
                self._stopping.wait(delay)

    def _dgd_event(self, kind: str, obj: Obj) -> None:
        with self._lock:
            if kind == "DELETED":
                self._deleted.append(obj)
            else:
                self._keys.add(key_of(obj))
        self._wake.set()

    def _pod_event(self, kind: str, obj: Obj) -> None:
        meta = meta_of(obj)
        owner = meta.label(DGD_NAME_LABEL)
        if owner:
            with self._lock:
                self._keys.add((meta.namespace, owner))
            self._wake.set()

    # --- dispatching ---------------------------------------------------------------------

    def _dispatch(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait()
            if self._stopping.is_set():
                return
            self._stopping.wait(self._debounce)  # let a burst of events gather
            self._wake.clear()
            with self._lock:
                keys, self._keys = self._keys, set()
                deleted, self._deleted = self._deleted, []
            for obj in deleted:
                keys.discard(key_of(obj))
                self._on_deleted(obj)
            if keys:
                self._on_keys(keys)
