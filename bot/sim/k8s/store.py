"""The stand-in cluster's object store: what etcd plus the API server's bookkeeping do.

Holds every object as the JSON dict a client sent, keyed by (resource, namespace, name), and
maintains the metadata the real server maintains (uid, one global increasing resourceVersion,
creationTimestamp, generation for DGDs). Change notifications feed watches and the simulated
operator; a bounded history lets a watch resume from a resourceVersion or get 410 Gone.

Thread safety: one lock guards the data; subscriber callbacks run after the lock is released,
in resourceVersion order, so a callback may call the store again (its own change is delivered
after the current callback round, never re-entrantly).
"""

from __future__ import annotations

import logging
import pickle
import threading
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from bot.sim.k8s.selectors import parse_field_selector, parse_label_selector

__all__ = [
    "CLUSTER_SCOPED",
    "AlreadyExists",
    "Conflict",
    "NotFoundError",
    "Store",
    "WatchEvent",
    "copy_json",
]

# Resources without a namespace; their objects are stored under namespace None.
CLUSTER_SCOPED = frozenset({"namespaces", "customresourcedefinitions", "nodes"})
# Resources whose metadata.generation counts spec changes (custom resources do; pods don't).
GENERATION_RESOURCES = frozenset({"dynamographdeployments"})
_NAME_SUFFIX_CHARS = "bcdfghjklmnpqrstvwxz2456789"  # what the real server uses for generateName

Obj = dict[str, Any]
_T = TypeVar("_T")
_log = logging.getLogger(__name__)
Key = tuple[str | None, str]  # (namespace, name)


class Conflict(Exception):  # noqa: N818 (name fixed by the Store contract)
    """The object's resourceVersion is not the one the writer expected."""


class AlreadyExists(Exception):  # noqa: N818 (name fixed by the Store contract)
    """An object with this name already exists in this namespace."""


class NotFoundError(Exception):
    """No object with this name in this namespace."""


@dataclass(frozen=True)
class WatchEvent:
    """One change. `object` is shared between subscribers: read it, don't mutate it."""

    type: str  # "ADDED" | "MODIFIED" | "DELETED"
    resource: str
    object: dict[str, Any]


# Named outside Store, whose `list` method shadows the builtin inside the class body.
WatchEventList = list[WatchEvent]
ObjList = list[Obj]


def copy_json(value: _T) -> _T:
    """Deep copy of JSON-shaped data: a pickle round trip is ~4x faster than copy.deepcopy."""
    copied: _T = pickle.loads(pickle.dumps(value, pickle.HIGHEST_PROTOCOL))  # noqa: S301
    return copied  # (pickling our own JSON data, never foreign bytes)


def _now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _namespace_of(resource: str, namespace: str | None) -> str | None:
    return None if resource in CLUSTER_SCOPED else namespace


def _sort_key(pair: tuple[Key, Obj]) -> tuple[str, str]:
    return (pair[0][0] or "", pair[0][1])


def _labels(obj: Obj) -> dict[str, str]:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return labels if isinstance(labels, dict) else {}


class _LabelIndex:
    """(resource, label key, value) -> keys of objects carrying it; narrows selector lists."""

    def __init__(self) -> None:
        self._index: dict[tuple[str, str, str], set[Key]] = defaultdict(set)

    def add(self, resource: str, key: Key, obj: Obj) -> None:
        for label, value in _labels(obj).items():
            self._index[(resource, label, str(value))].add(key)

    def remove(self, resource: str, key: Key, obj: Obj) -> None:
        for label, value in _labels(obj).items():
            bucket = self._index.get((resource, label, str(value)))
            if bucket is not None:
                bucket.discard(key)
                if not bucket:
                    del self._index[(resource, label, str(value))]

    def lookup(self, resource: str, label: str, value: str) -> set[Key]:
        return self._index.get((resource, label, value), set())


class Store:
    """Thread-safe object store with watch history. See the module docstring."""

    def __init__(self, *, history_limit: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._rv = 0
        # resource -> namespace -> name -> object
        self._objects: dict[str, dict[str | None, dict[str, Obj]]] = defaultdict(dict)
        self._labels = _LabelIndex()
        self._history: dict[str, deque[tuple[int, WatchEvent]]] = defaultdict(
            lambda: deque(maxlen=history_limit)
        )
        # Highest resourceVersion dropped from a resource's history: older watches get 410.
        self._history_floor: dict[str, int] = defaultdict(int)
        self._subscribers: list[Callable[[WatchEvent], None]] = []
        self._pending: deque[WatchEvent] = deque()
        self._delivery_lock = threading.Lock()
        self._delivering = threading.local()

    # ----- reads --------------------------------------------------------------------------

    def get(self, resource: str, namespace: str | None, name: str) -> Obj | None:
        """A deep copy of the object, or None."""
        with self._lock:
            obj = self._bucket(resource, namespace).get(name)
            return copy_json(obj) if obj is not None else None

    def list(
        self,
        resource: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> tuple[list[Obj], str]:
        """Matching objects (deep copies, sorted by namespace and name) and the list's RV."""
        shared, rv = self.list_shared(resource, namespace, label_selector, field_selector)
        return copy_json(shared), rv

    def list_shared(
        self,
        resource: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> tuple[ObjList, str]:
        """Like list, but the stored objects themselves: read them, never mutate them.

        For the HTTP server, which only serializes them: copying 30,000 pods per list would
        cost more than the list itself. Safe because the store replaces objects on every
        write instead of changing them in place.
        """
        labels = parse_label_selector(label_selector)
        fields = parse_field_selector(field_selector)
        namespace = _namespace_of(resource, namespace) or fields.pinned("metadata.namespace")
        pinned_name = fields.pinned("metadata.name")
        with self._lock:
            candidates = self._candidates(resource, namespace, labels.requirements, pinned_name)
            matching = [
                obj
                for _, obj in sorted(candidates, key=_sort_key)
                if labels.matches(obj) and fields.matches(obj)
            ]
            return matching, str(self._rv)

    def resource_version(self) -> str:
        """The current (latest) resourceVersion."""
        with self._lock:
            return str(self._rv)

    def events_since(self, resource: str, resource_version: str) -> WatchEventList | None:
        """Changes to `resource` after `resource_version`; None when history no longer has them."""
        since = int(resource_version or 0)
        with self._lock:
            if since < self._history_floor[resource]:
                return None
            events = [event for rv, event in self._history[resource] if rv > since]
        return copy_json(events)

    # ----- writes -------------------------------------------------------------------------

    def create(self, resource: str, obj: Obj) -> Obj:
        """Store a new object; fills uid, resourceVersion, creationTimestamp (and generation)."""
        new = copy_json(obj)
        meta = new.setdefault("metadata", {})
        namespace = _namespace_of(resource, meta.get("namespace"))
        if namespace is None:
            meta.pop("namespace", None)
        with self._lock:
            bucket = self._objects[resource].setdefault(namespace, {})
            name = meta.get("name") or self._generate_name(bucket, meta.get("generateName", ""))
            if name in bucket:
                raise AlreadyExists(name)
            meta["name"] = name
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = _now_rfc3339()
            if resource in GENERATION_RESOURCES:
                meta["generation"] = 1
            self._commit(resource, (namespace, name), None, new, "ADDED")
            result = copy_json(new)
        self._deliver()
        return result

    def update(
        self,
        resource: str,
        namespace: str | None,
        name: str,
        mutate: Callable[[Obj], None],
        *,
        expected_rv: str | None = None,
        subresource: str | None = None,
    ) -> Obj:
        """Apply `mutate` to a copy and store it; with subresource="status" only .status changes.

        Identity fields (name, namespace, uid, creationTimestamp) cannot be changed. The
        resourceVersion always moves on, even when nothing changed (the real server skips
        no-op writes; nothing here depends on that).
        """
        namespace = _namespace_of(resource, namespace)
        with self._lock:
            old = self._bucket(resource, namespace).get(name)
            if old is None:
                raise NotFoundError(name)
            current_rv = old["metadata"]["resourceVersion"]
            if expected_rv and expected_rv != current_rv:
                raise Conflict(f"expected resourceVersion {expected_rv}, have {current_rv}")
            new = copy_json(old)
            mutate(new)
            new = self._merge_allowed_changes(resource, old, new, subresource)
            self._commit(resource, (namespace, name), old, new, "MODIFIED")
            result = copy_json(new)
        self._deliver()
        return result

    def delete(self, resource: str, namespace: str | None, name: str) -> Obj:
        """Remove the object at once (no finalizers) and return it as it was."""
        namespace = _namespace_of(resource, namespace)
        with self._lock:
            bucket = self._bucket(resource, namespace)
            old = bucket.get(name)
            if old is None:
                raise NotFoundError(name)
            del bucket[name]
            self._labels.remove(resource, (namespace, name), old)
            self._rv += 1
            # The real server reports the deletion at a new resourceVersion.
            gone = {**old, "metadata": {**old["metadata"], "resourceVersion": str(self._rv)}}
            self._record(resource, WatchEvent("DELETED", resource, gone))
            result = copy_json(gone)
        self._deliver()
        return result

    # ----- notifications ------------------------------------------------------------------

    def subscribe(self, callback: Callable[[WatchEvent], None]) -> Callable[[], None]:
        """Call `callback` for every later change; returns a function that unsubscribes."""
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    # ----- internals ----------------------------------------------------------------------

    def _bucket(self, resource: str, namespace: str | None) -> dict[str, Obj]:
        return self._objects[resource].get(_namespace_of(resource, namespace), {})

    def _candidates(
        self,
        resource: str,
        namespace: str | None,
        requirements: Iterable[Any],
        pinned_name: str | None,
    ) -> Iterable[tuple[Key, Obj]]:
        """Objects that may match, narrowed by namespace, name and the label index."""
        by_namespace = self._objects[resource]
        spaces = [namespace] if namespace is not None else list(by_namespace)
        if pinned_name is not None:
            return [
                ((ns, pinned_name), by_namespace[ns][pinned_name])
                for ns in spaces
                if pinned_name in by_namespace.get(ns, {})
            ]
        narrowed: set[Key] | None = None
        for req in requirements:
            value = req.equality_value
            if value is not None:
                keys = self._labels.lookup(resource, req.key, value)
                narrowed = keys if narrowed is None else narrowed & keys
        if narrowed is None:
            return [
                ((ns, name), obj) for ns in spaces for name, obj in by_namespace.get(ns, {}).items()
            ]
        return [
            (key, by_namespace[key[0]][key[1]])
            for key in narrowed
            if (namespace is None or key[0] == namespace) and key[1] in by_namespace[key[0]]
        ]

    def _generate_name(self, bucket: dict[str, Obj], prefix: str) -> str:
        if not prefix:
            raise ValueError("metadata.name or metadata.generateName is required")
        while True:
            suffix = "".join(
                _NAME_SUFFIX_CHARS[b % len(_NAME_SUFFIX_CHARS)] for b in uuid.uuid4().bytes[:5]
            )
            if prefix + suffix not in bucket:
                return prefix + suffix

    @staticmethod
    def _merge_allowed_changes(resource: str, old: Obj, new: Obj, subresource: str | None) -> Obj:
        if subresource == "status":
            kept = copy_json(old)
            if "status" in new:
                kept["status"] = new["status"]
            else:
                kept.pop("status", None)
            return kept
        meta, old_meta = new.setdefault("metadata", {}), old["metadata"]
        for field in ("name", "namespace", "uid", "creationTimestamp", "generation"):
            if field in old_meta:
                meta[field] = old_meta[field]
        if resource in GENERATION_RESOURCES and new.get("spec") != old.get("spec"):
            meta["generation"] = int(old_meta.get("generation", 1)) + 1
        return new

    def _commit(self, resource: str, key: Key, old: Obj | None, new: Obj, kind: str) -> None:
        """Store `new` at a fresh resourceVersion and record the event (lock held)."""
        self._rv += 1
        new["metadata"]["resourceVersion"] = str(self._rv)
        if old is not None:
            self._labels.remove(resource, key, old)
        self._objects[resource].setdefault(key[0], {})[key[1]] = new
        self._labels.add(resource, key, new)
        self._record(resource, WatchEvent(kind, resource, new))

    def _record(self, resource: str, event: WatchEvent) -> None:
        history = self._history[resource]
        if history.maxlen is not None and len(history) == history.maxlen:
            self._history_floor[resource] = history[0][0]
        history.append((self._rv, event))
        if self._subscribers:
            # Subscribers get their own copy, so none of them can alter the stored object.
            self._pending.append(WatchEvent(event.type, resource, copy_json(event.object)))

    def _deliver(self) -> None:
        """Hand pending events to subscribers, in order; a nested call leaves it to the outer."""
        if getattr(self._delivering, "active", False):
            return
        with self._delivery_lock:
            self._delivering.active = True
            try:
                while True:
                    with self._lock:
                        if not self._pending:
                            return
                        event = self._pending.popleft()
                        subscribers = list(self._subscribers)
                    for callback in subscribers:
                        try:
                            callback(event)
                        except Exception:  # one broken subscriber must not starve the rest
                            _log.exception("watch subscriber failed on %s", event.type)
            finally:
                self._delivering.active = False
