"""Waiting on events, for tests: one timeout, one polling helper, one drain for background work.

Tests wait for what they expect to happen (:func:`wait_until`, :func:`wait_for`), and prove
that something did *not* happen by draining the work that could have done it
(:meth:`Background.drain`), never by sleeping for a while and looking.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from bot.sim.k8s.store import Store

__all__ = ["WAIT_SECONDS", "Background", "wait_for", "wait_until", "when_watched"]

# How long a test waits for something that should happen: long enough for a loaded 2-core
# machine; a passing test never waits this long, so it costs nothing.
WAIT_SECONDS = 20.0
_POLL_SECONDS = 0.01

T = TypeVar("T")
E = TypeVar("E", bound=Executor)


def wait_until(
    check: Callable[[], bool], timeout: float = WAIT_SECONDS, what: str | None = None
) -> None:
    """Return once ``check()`` is true; AssertionError naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout}s: {what or check}")
        time.sleep(_POLL_SECONDS)


def wait_for(
    found: Callable[[], T | None], timeout: float = WAIT_SECONDS, what: str | None = None
) -> T:
    """The first value ``found()`` returns that is not None; AssertionError after ``timeout``.

    ``False`` is a value too, so a yes/no check handed here would return at once: that is a
    TypeError (such a check belongs in :func:`wait_until`).
    """
    deadline = time.monotonic() + timeout
    while (value := found()) is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing after {timeout}s: {what or found}")
        time.sleep(_POLL_SECONDS)
    if value is False:
        raise TypeError(
            f"wait_for got False from {what or found}: wait on a yes/no with wait_until"
        )
    return value


def when_watched(
    store: Store, action: Callable[[], object], *, watches: int = 1
) -> threading.Thread:
    """Run ``action`` in a thread once ``watches`` more watches are open on ``store``, so the
    change it makes reaches them live rather than from the store's history."""
    # Each open watch of the Kubernetes stand-in is one subscriber of its store.
    before = len(store._subscribers)

    def run() -> None:
        wait_until(lambda: len(store._subscribers) >= before + watches, what="the watch to open")
        action()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


class Background:
    """Counts the work submitted to the executors it tracks, across all of them.

    Work in one tracked executor that submits to another (a Bolt listener handing cluster work
    to the app's pool) is counted before the first finishes, so the count reaches zero only
    when no tracked work is left anywhere: :meth:`drain` then proves that whatever a request
    could have set off has finished.
    """

    def __init__(self) -> None:
        self._pending = 0
        self._changed = threading.Condition()

    def track(self, executor: E) -> E:
        """Count what is submitted to ``executor`` from now on; returns it."""
        submit = executor.submit

        def counted(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
            with self._changed:
                self._pending += 1
            try:
                future = submit(fn, *args, **kwargs)
            except BaseException:
                self._finished()
                raise
            future.add_done_callback(lambda _: self._finished())
            return future

        executor.submit = counted  # type: ignore[method-assign]
        return executor

    def _finished(self) -> None:
        with self._changed:
            self._pending -= 1
            self._changed.notify_all()

    def drain(self, timeout: float = WAIT_SECONDS) -> None:
        """Return once no tracked work is queued or running."""
        with self._changed:
            if not self._changed.wait_for(lambda: self._pending == 0, timeout):
                raise AssertionError(f"{self._pending} background tasks busy after {timeout}s")
