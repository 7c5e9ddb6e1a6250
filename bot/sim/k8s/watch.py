"""Watch streams: `?watch=true` answered with one JSON event per line, as the API server does.

Start points follow the API semantics: no resourceVersion or "0" sends the current objects as
ADDED first; a specific resourceVersion replays the store's history after it, or sends one
ERROR event with a 410 Expired Status when the history no longer reaches back that far (what
the real server's watch cache does; the client then relists). The stream ends after
timeoutSeconds, when the server stops, or when the client goes away. With
allowWatchBookmarks, an idle stream gets a BOOKMARK every few seconds.

Selector filtering looks at each event's object as it is now; the real server also turns "no
longer matches" into DELETED, which nothing in the bot relies on.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from bot.sim.k8s.discovery import ApiResource
from bot.sim.k8s.routing import ApiRequest
from bot.sim.k8s.selectors import parse_field_selector, parse_label_selector
from bot.sim.k8s.statuses import ApiError
from bot.sim.k8s.store import Store, WatchEvent

__all__ = ["stream_watch"]

_DEFAULT_TIMEOUT = 1800.0  # the real server picks 30-60 minutes
_BOOKMARK_EVERY = 5.0
_POLL = 0.25  # how often an idle stream checks for shutdown


def _event_line(kind: str, obj: dict[str, Any]) -> bytes:
    return json.dumps({"type": kind, "object": obj}, separators=(",", ":")).encode() + b"\n"


_Emit = Callable[[str, dict[str, Any]], None]


def _rv(obj: dict[str, Any]) -> int:
    return int(obj.get("metadata", {}).get("resourceVersion") or 0)


class _Filter:
    def __init__(self, request: ApiRequest, resource: ApiResource) -> None:
        self.plural = resource.plural
        self.namespace = request.namespace
        self.labels = parse_label_selector(request.query.get("labelSelector"))
        self.fields = parse_field_selector(request.query.get("fieldSelector"))

    def wants(self, event: WatchEvent) -> bool:
        if event.resource != self.plural:
            return False
        meta = event.object.get("metadata", {})
        if self.namespace is not None and meta.get("namespace") != self.namespace:
            return False
        return self.labels.matches(event.object) and self.fields.matches(event.object)


def stream_watch(
    store: Store,
    request: ApiRequest,
    resource: ApiResource,
    stopping: threading.Event,
    render: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> Callable[[Callable[[bytes], None]], None]:
    """A function that writes the watch's events with `write` until the watch ends.

    `render` turns each object into what the client asked for (a Table row for kubectl -w).
    """
    wanted = _Filter(request, resource)
    timeout = float(request.query.get("timeoutSeconds") or _DEFAULT_TIMEOUT)
    bookmarks = request.query.get("allowWatchBookmarks", "").lower() == "true"
    start_rv = request.query.get("resourceVersion", "")

    def run(write: Callable[[bytes], None]) -> None:
        def emit(kind: str, obj: dict[str, Any]) -> None:
            is_object = kind in ("ADDED", "MODIFIED", "DELETED")
            write(_event_line(kind, render(obj) if render and is_object else obj))

        inbox: queue.Queue[WatchEvent] = queue.Queue()
        unsubscribe = store.subscribe(lambda e: inbox.put(e) if wanted.wants(e) else None)
        try:
            last_sent = _send_initial(store, wanted, start_rv, emit)
            if last_sent is not None:
                _follow(
                    inbox,
                    emit,
                    last_sent=last_sent,
                    deadline=time.monotonic() + timeout,
                    bookmarks=bookmarks,
                    stopping=stopping,
                    resource=resource,
                )
        finally:
            unsubscribe()

    return run


def _send_initial(store: Store, wanted: _Filter, start_rv: str, emit: _Emit) -> int | None:
    """Send what precedes live events; the last resourceVersion sent, None if the watch ended."""
    if start_rv in ("", "0"):
        items, list_rv = store.list_shared(wanted.plural, wanted.namespace)
        for obj in items:
            if wanted.labels.matches(obj) and wanted.fields.matches(obj):
                emit("ADDED", obj)
        return int(list_rv)
    history = store.events_since(wanted.plural, start_rv)
    if history is None:
        error = ApiError.gone(start_rv, store.resource_version())
        emit("ERROR", error.body)
        return None
    last = int(start_rv)
    for event in history:
        if wanted.wants(event):
            emit(event.type, event.object)
        last = max(last, _rv(event.object))
    return last


def _follow(
    inbox: queue.Queue[WatchEvent],
    emit: _Emit,
    *,
    last_sent: int,
    deadline: float,
    bookmarks: bool,
    stopping: threading.Event,
    resource: ApiResource,
) -> None:
    idle_since = time.monotonic()
    while not stopping.is_set():
        now = time.monotonic()
        if now >= deadline:
            return
        try:
            event = inbox.get(timeout=min(_POLL, deadline - now))
        except queue.Empty:
            if bookmarks and time.monotonic() - idle_since >= _BOOKMARK_EVERY:
                bookmark = {
                    "kind": resource.kind,
                    "apiVersion": resource.group_version,
                    "metadata": {"resourceVersion": str(last_sent)},
                }
                emit("BOOKMARK", bookmark)
                idle_since = time.monotonic()
            continue
        rv = _rv(event.object)
        if rv <= last_sent:
            continue  # already sent from history or the initial list
        emit(event.type, event.object)
        last_sent, idle_since = rv, time.monotonic()
