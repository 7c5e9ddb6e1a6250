"""Kubernetes watch streams as plain ``(event type, object)`` pairs, with typed errors.

A watch is a list call with ``watch=true`` whose response is one JSON event per line. Lines
are parsed straight into dicts (no model deserialization). An ``ERROR`` event carries a
``Status``; a 410 in it means the resourceVersion is too old and becomes :class:`Expired`, so
the caller lists again. Several namespaces are watched at once by one thread per namespace
feeding a single iterator.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, cast

from bot.cluster.errors import Target, from_status, raising_cluster_errors

__all__ = ["merge_streams", "watch_events"]

WatchEvent = tuple[str, dict[str, Any]]


def watch_events(response: Any, target: Target) -> Iterator[WatchEvent]:
    """The events of an open watch response (``_preload_content=False``), until it ends."""
    from kubernetes.watch.watch import iter_resp_lines  # noqa: PLC0415  (slow import)

    try:
        with raising_cluster_errors(target):
            for line in iter_resp_lines(response):  # type: ignore[no-untyped-call]
                event = _parse(line)
                if event is None:
                    continue
                kind, obj = event
                if kind == "ERROR":
                    raise from_status(int(obj.get("code") or 0), obj, target)
                yield kind, obj
    finally:
        response.close()
        response.release_conn()


def _parse(line: str) -> WatchEvent | None:
    if not line.strip():
        return None
    try:
        event = json.loads(line)
    except ValueError:
        return None
    if not isinstance(event, dict) or not isinstance(event.get("object"), dict):
        return None
    return str(event.get("type") or ""), event["object"]


_DONE = object()


def merge_streams(streams: Sequence[Callable[[], Iterator[WatchEvent]]]) -> Iterator[WatchEvent]:
    """Events of several watches as one iterator; the first error raised by any is re-raised.

    Each watch ends on its own server-side timeout, so the threads are bounded in time even
    when the consumer stops early; they also stop at their next event once it has.
    """
    if len(streams) == 1:
        yield from streams[0]()
        return
    events: queue.Queue[object] = queue.Queue()
    stop = threading.Event()
    for open_stream in streams:
        threading.Thread(
            target=_pump, args=(open_stream, events, stop), daemon=True, name="dynamote-watch"
        ).start()
    try:
        running = len(streams)
        while running:
            item = events.get()
            if item is _DONE:
                running -= 1
            elif isinstance(item, BaseException):
                raise item
            else:
                yield cast(WatchEvent, item)
    finally:
        stop.set()


def _pump(
    open_stream: Callable[[], Iterator[WatchEvent]],
    events: queue.Queue[object],
    stop: threading.Event,
) -> None:
    try:
        stream = open_stream()
        try:
            for event in stream:
                if stop.is_set():
                    break
                events.put(event)
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
    except Exception as error:  # handed to the consumer's thread, which raises it
        events.put(error)
    finally:
        events.put(_DONE)
