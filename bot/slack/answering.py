"""Work a listener hands on while Slack's request is answered on this thread starts once the
answer is written (:func:`after_response`), so the ack never waits for a thread it woke.

The HTTP server runs Bolt inside :func:`answer_then_start`; Socket Mode and tests that call
a listener directly have no answer being written, and their work starts at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator

__all__ = ["after_response", "answer_then_start"]

logger = logging.getLogger(__name__)

_answering = threading.local()


def after_response(start: Callable[[], None]) -> None:
    """Call ``start`` once this thread's answer to Slack has been written, or now when the
    thread is not answering one (Socket Mode, tests calling a listener).

    ``start`` only hands work to another thread (a pool's submit): started before the answer
    is written, that thread takes the interpreter lock from the one writing it, and the ack
    waits up to a switch interval (5 ms) for it back, several times over.
    """
    deferred: list[Callable[[], None]] | None = getattr(_answering, "deferred", None)
    if deferred is None:
        start()
    else:
        deferred.append(start)


class _ThenRun:
    """The answer's body; once the server has taken it all (it asks for more) or closes it,
    the deferred starts, once."""

    def __init__(self, answer: Iterable[bytes], deferred: list[Callable[[], None]]) -> None:
        self._answer = answer
        self._chunks = iter(answer)
        self._deferred = deferred

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        try:
            return next(self._chunks)
        except StopIteration:
            self.close()
            raise

    def close(self) -> None:
        close = getattr(self._answer, "close", None)
        try:
            if close is not None:
                close()
        finally:
            _run_all(self._deferred)


def _run_all(deferred: list[Callable[[], None]]) -> None:
    for start in deferred:
        try:
            start()
        except Exception:  # one that cannot start must not stop the others
            logger.exception("Failed to start work after answering Slack")
    deferred.clear()


def answer_then_start(answer: Callable[[], Iterable[bytes]]) -> Iterable[bytes]:
    """Bolt's answer (``answer()``), with what its listener handed on through
    :func:`after_response` started once the server has taken the body, or closed it."""
    deferred: list[Callable[[], None]] = []
    _answering.deferred = deferred
    try:
        body = answer()
    except BaseException:
        _run_all(deferred)
        raise
    finally:
        _answering.deferred = None
    return _ThenRun(body, deferred)
