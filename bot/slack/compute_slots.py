"""At most a few tasks computing at once; a task waiting on the network gives its slot away.

Work after an ack shares one interpreter lock with the threads that answer Slack. Many such
tasks computing at once (parsing lists, building Block Kit) make every ack wait its turn
behind them, and they finish no sooner for it. Waiting on the cluster is different: a slow
cluster needs many calls in flight. So a task takes a slot to start; a supervisor thread
looks at each holder's CPU clock every ``check_every`` seconds and frees the slot of one that
has barely run meanwhile (it is waiting on the network), letting the next task start. A task
shorter than ``check_every`` is never looked at.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["ComputeSlots", "thread_cpu_seconds"]

# A holder that ran less than this share of a check's interval is waiting, not computing.
WAITING_SHARE = 0.25


def thread_cpu_seconds(ident: int) -> float | None:
    """CPU seconds the thread ``ident`` has run; None where there is no per-thread clock."""
    try:
        return time.clock_gettime(time.pthread_getcpuclockid(ident))
    except (AttributeError, OSError):  # no such clock here, or the thread ended
        return None


@dataclass
class _Holder:
    cpu: float | None  # CPU seconds at the last check


class ComputeSlots:
    """Runs callables so that at most ``slots`` of them compute at once. Thread-safe.

    ``cpu`` reads a thread's CPU seconds (tests pass their own); ``supervise=False`` leaves
    the checks to explicit :meth:`check` calls.
    """

    def __init__(
        self,
        slots: int = 2,
        *,
        check_every: float = 0.1,
        cpu: Callable[[int], float | None] = thread_cpu_seconds,
        supervise: bool = True,
    ) -> None:
        self._check_every = check_every
        self._cpu = cpu
        self._supervise = supervise
        self._cond = threading.Condition()
        self._free = max(slots, 1)
        self._waiting = 0
        self._holders: dict[int, _Holder] = {}
        self._supervisor: threading.Thread | None = None
        self._closed = False

    @property
    def waiting(self) -> int:
        """Tasks waiting for a slot."""
        with self._cond:
            return self._waiting

    @property
    def free(self) -> int:
        """Slots free now."""
        with self._cond:
            return self._free

    def run(self, work: Callable[[], None]) -> None:
        """Wait for a slot, run ``work`` on this thread, give the slot back (if still held)."""
        ident = threading.get_ident()
        with self._cond:
            self._waiting += 1
            while self._free <= 0 and not self._closed:
                self._cond.wait()
            self._waiting -= 1
            self._free -= 1
            self._holders[ident] = _Holder(self._cpu(ident))
            self._start_supervisor()
        try:
            work()
        finally:
            with self._cond:
                if self._holders.pop(ident, None) is not None:
                    self._release()

    def check(self) -> None:
        """Free the slot of every holder that has barely run since the last check."""
        with self._cond:
            for ident, holder in list(self._holders.items()):
                cpu = self._cpu(ident)
                ran = None if cpu is None or holder.cpu is None else cpu - holder.cpu
                if ran is None or ran < WAITING_SHARE * self._check_every:
                    del self._holders[ident]
                    self._release()
                else:
                    holder.cpu = cpu

    def close(self) -> None:
        """Stop the supervisor; tasks still waiting start at once."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _release(self) -> None:  # with the lock held
        self._free += 1
        self._cond.notify()

    def _start_supervisor(self) -> None:  # with the lock held
        if self._supervise and self._supervisor is None and not self._closed:
            self._supervisor = threading.Thread(
                target=self._run_supervisor, name="dynamote-compute-slots", daemon=True
            )
            self._supervisor.start()

    def _run_supervisor(self) -> None:
        """Check every ``check_every`` seconds until no task holds a slot."""
        while True:
            time.sleep(self._check_every)
            with self._cond:
                if not self._holders or self._closed:
                    self._supervisor = None
                    return
            self.check()
