"""Fault injection and the request log of the stand-in API server.

Tests change faults while the server runs (latency, 5xx answers, 403 for one verb/resource,
refused connections) to drive the bot's error paths over real HTTP. Every request is also
counted by (Kubernetes verb, resource), so a benchmark can count API calls per sweep.
All methods are thread-safe.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["ErrorRule", "Faults", "Forbidden", "LatencyRule"]


@dataclass
class LatencyRule:
    """Sleep `seconds` before answering requests whose method and path match."""

    seconds: float
    method: str | None = None  # e.g. "GET"; None = any
    path_regex: str | None = None  # searched in the path (without the query)

    def matches(self, method: str, path: str) -> bool:
        return _matches(self.method, self.path_regex, method, path)


@dataclass
class ErrorRule:
    """Answer `status` (5xx) to matching requests; `remaining` None = forever."""

    status: int
    method: str | None = None
    path_regex: str | None = None
    remaining: int | None = None

    def matches(self, method: str, path: str) -> bool:
        return _matches(self.method, self.path_regex, method, path)


@dataclass(frozen=True)
class Forbidden:
    """Deny a Kubernetes verb on a resource, optionally only in one namespace."""

    verb: str
    resource: str
    namespace: str | None = None

    def denies(self, verb: str, resource: str, namespace: str | None) -> bool:
        return (
            self.verb == verb
            and self.resource == resource
            and (self.namespace is None or self.namespace == namespace)
        )


def _matches(want_method: str | None, regex: str | None, method: str, path: str) -> bool:
    if want_method is not None and want_method.upper() != method.upper():
        return False
    return regex is None or re.search(regex, path) is not None


class Faults:
    """What the server should do wrong right now, plus the API call counter."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latency: list[LatencyRule] = []
        self._errors: list[ErrorRule] = []
        self._forbidden: list[Forbidden] = []
        self._calls: Counter[tuple[str, str]] = Counter()
        self._refusing = False
        # Set by the server: closes or reopens its listening socket.
        self.on_refuse_change: Callable[[bool], None] | None = None

    # ----- setting faults -----------------------------------------------------------------

    def add_latency(
        self, seconds: float, *, method: str | None = None, path_regex: str | None = None
    ) -> LatencyRule:
        rule = LatencyRule(seconds, method, path_regex)
        with self._lock:
            self._latency.append(rule)
        return rule

    def add_error(
        self,
        status: int = 503,
        *,
        method: str | None = None,
        path_regex: str | None = None,
        count: int | None = None,
    ) -> ErrorRule:
        rule = ErrorRule(status, method, path_regex, count)
        with self._lock:
            self._errors.append(rule)
        return rule

    def forbid(self, verb: str, resource: str, namespace: str | None = None) -> Forbidden:
        rule = Forbidden(verb, resource, namespace)
        with self._lock:
            self._forbidden.append(rule)
        return rule

    def refuse_connections(self, refuse: bool = True) -> None:
        """Stop accepting connections (the port is closed) until called with False."""
        with self._lock:
            changed, self._refusing = self._refusing != refuse, refuse
        if changed and self.on_refuse_change is not None:
            self.on_refuse_change(refuse)

    def clear(self) -> None:
        """Remove every fault (and accept connections again)."""
        with self._lock:
            self._latency.clear()
            self._errors.clear()
            self._forbidden.clear()
        self.refuse_connections(False)

    # ----- consulted by the server --------------------------------------------------------

    @property
    def refusing(self) -> bool:
        with self._lock:
            return self._refusing

    def latency_for(self, method: str, path: str) -> float:
        with self._lock:
            return sum(rule.seconds for rule in self._latency if rule.matches(method, path))

    def error_for(self, method: str, path: str) -> int | None:
        """The status to fail this request with, consuming one use of a counted rule."""
        with self._lock:
            for rule in self._errors:
                if rule.matches(method, path) and rule.remaining != 0:
                    if rule.remaining is not None:
                        rule.remaining -= 1
                    return rule.status
            return None

    def is_forbidden(self, verb: str, resource: str, namespace: str | None) -> bool:
        with self._lock:
            return any(rule.denies(verb, resource, namespace) for rule in self._forbidden)

    # ----- request log --------------------------------------------------------------------

    def record_call(self, verb: str, resource: str) -> None:
        with self._lock:
            self._calls[(verb, resource)] += 1

    def api_calls(self) -> Counter[tuple[str, str]]:
        with self._lock:
            return Counter(self._calls)

    def reset_api_calls(self) -> None:
        with self._lock:
            self._calls.clear()
