"""Deployments this process is about to create, counted against per-user limits. Pure: no I/O.

Per-user limits are counted live from the cluster, but a DGD only shows up there once it is
created, seconds after its limit check. Two submissions by one person (a double click, two
modals) would both pass. So a submission that passes the check holds a :class:`Ticket` until
its create has finished, and every check counts the tickets it cannot yet see in its list:

- :meth:`Reservations.mark` before the cluster list (the list is not made under the lock);
- :meth:`Reservations.reserve` once the list is in: under one lock it adds what is in flight
  to the listed usage, asks the policy, and holds a ticket when the policy says yes;
- :meth:`Ticket.created` when the DGD exists: it is dropped from the in-flight count, but a
  list that started before (its ``mark`` is older) still counts it, since it may have missed
  it; :meth:`Ticket.cancel` when nothing was created. Both are idempotent; whichever comes
  first wins.

A ticket not given back within ``keep_seconds`` stops counting (a bug must not lock a person
out until restart). Across replicas this registry cannot help; see
``bot/slack/listeners/deploy_submission.py`` for the recount after the create.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import TypeVar

from bot.domain.policy import Usage

__all__ = ["Hold", "Reservations", "Ticket"]

T = TypeVar("T")


@dataclass(frozen=True)
class Hold:
    """What a submission reserves: one deployment of ``gpus`` GPUs for ``user``."""

    user: str
    namespace: str
    name: str
    gpus: int

    @property
    def key(self) -> tuple[str, str]:
        return self.namespace, self.name


@dataclass
class _Entry:
    hold: Hold
    at: float  # when reserved, then when settled (clock seconds)
    settled: int | None = None  # the settlement number once created


class Ticket:
    """One held reservation; give it back with :meth:`created` or :meth:`cancel`."""

    def __init__(self, registry: Reservations, ident: int, hold: Hold) -> None:
        self._registry = registry
        self._ident = ident
        self.hold = hold

    def created(self) -> None:
        """The DGD exists: lists from now on see it; older lists still count it."""
        self._registry._settle(self._ident)

    def cancel(self) -> None:
        """Nothing was created (rejected, failed, or gave up): stop counting it."""
        self._registry._drop(self._ident)


class Reservations:
    """The reservations of one app (one DeploymentService). Thread-safe."""

    def __init__(
        self, *, keep_seconds: float = 300.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._keep = keep_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[int, _Entry] = {}
        self._ids = itertools.count(1)
        self._settlements = 0

    def mark(self) -> int:
        """Call before listing the cluster; pass the answer to :meth:`reserve`."""
        with self._lock:
            return self._settlements

    def reserve(
        self,
        hold: Hold,
        decide: Callable[[Usage], Mapping[str, T]],
        *,
        listed: Usage,
        listed_keys: Collection[tuple[str, str]],
        mark: int,
    ) -> tuple[Ticket | None, Mapping[str, T]]:
        """Decide with what the list showed plus what it cannot show; hold a ticket if allowed.

        ``decide`` gets the user's usage and returns denials (empty: allowed). ``listed_keys``
        are the user's DGDs in the list, so a reservation the list already shows is not
        counted twice. Returns the ticket (None when denied) and the denials.
        """
        with self._lock:
            self._forget_old()
            pending = [
                e.hold
                for e in self._entries.values()
                if e.hold.user == hold.user
                and e.hold.key not in listed_keys
                and (e.settled is None or e.settled > mark)
            ]
            usage = Usage(
                deployments=listed.deployments + len(pending),
                gpus=listed.gpus + sum(h.gpus for h in pending),
            )
            denied = decide(usage)
            if denied:
                return None, denied
            ident = next(self._ids)
            self._entries[ident] = _Entry(hold, self._clock())
            return Ticket(self, ident, hold), denied

    def in_flight(self, user: str) -> Usage:
        """What ``user`` holds that is not created yet (for tests and logs)."""
        with self._lock:
            self._forget_old()
            held = [
                e.hold for e in self._entries.values() if e.hold.user == user and e.settled is None
            ]
        return Usage(deployments=len(held), gpus=sum(h.gpus for h in held))

    def __len__(self) -> int:
        with self._lock:
            self._forget_old()
            return len(self._entries)

    # --- for Ticket ------------------------------------------------------------------------

    def _settle(self, ident: int) -> None:
        with self._lock:
            entry = self._entries.get(ident)
            if entry is not None and entry.settled is None:
                self._settlements += 1
                entry.settled, entry.at = self._settlements, self._clock()

    def _drop(self, ident: int) -> None:
        with self._lock:
            entry = self._entries.get(ident)
            if entry is not None and entry.settled is None:
                del self._entries[ident]

    def _forget_old(self) -> None:
        # Settled entries matter only to lists already running; held ones to a create.
        # Both are over within seconds, so minutes is a safe bound.
        oldest = self._clock() - self._keep
        for ident in [i for i, e in self._entries.items() if e.at < oldest]:
            del self._entries[ident]
