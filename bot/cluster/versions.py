"""Which DynamoGraphDeployment API version to write, decided from what the cluster serves.

Operators since 2026-05 serve ``v1beta1`` (storage since 2026-08) and still serve the
deprecated ``v1alpha1``; older ones serve only ``v1alpha1``. Dynamote prefers ``v1beta1``,
falls back to ``v1alpha1``, and lets a setting force either. Discovery documents are parsed
here; the HTTP calls live in :mod:`bot.cluster.client`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.cluster.permissions import DGD_PLURAL
from bot.domain.dgd import API_VERSIONS, ApiVersion

__all__ = [
    "VersionCache",
    "choose_version",
    "group_versions",
    "serves_dgds",
    "version_to_write",
]


def group_versions(group_document: dict[str, Any]) -> list[str]:
    """The versions an ``APIGroup`` discovery document (``/apis/nvidia.com``) lists."""
    return [
        str(entry.get("version"))
        for entry in group_document.get("versions") or ()
        if isinstance(entry, dict) and entry.get("version")
    ]


def serves_dgds(resource_list: dict[str, Any]) -> bool:
    """Whether an ``APIResourceList`` (``/apis/nvidia.com/<v>``) lists the DGD resource."""
    return any(
        isinstance(resource, dict) and resource.get("name") == DGD_PLURAL
        for resource in resource_list.get("resources") or ()
    )


def choose_version(served: tuple[str, ...]) -> ApiVersion | None:
    """The apiVersion to write, e.g. ``nvidia.com/v1beta1``; None when none is usable."""
    for version in API_VERSIONS:
        if version in served:
            return version
    return None


def version_to_write(served: tuple[str, ...], forced: str) -> str | None:
    """The apiVersion Dynamote writes on a cluster serving ``served``: ``forced`` (the setting;
    ``auto`` chooses) if the cluster serves it, else :func:`choose_version`'s; None when it
    can write none (no operator, or one serving only versions Dynamote does not write)."""
    if forced != "auto":
        return forced if forced in served else None
    return choose_version(served)


@dataclass(frozen=True)
class _Entry:
    served: tuple[str, ...]
    fetched_at: float


class VersionCache:
    """Remembers the served DGD versions for ``ttl`` seconds; thread-safe.

    Only a non-empty answer is remembered, so a cluster whose operator was just installed
    is noticed on the next call rather than after the expiry.
    """

    def __init__(self, ttl: float, clock: Callable[[], float]) -> None:
        self._ttl = ttl
        self._clock = clock
        self._entry: _Entry | None = None
        self._lock = threading.Lock()

    def get(self) -> tuple[str, ...] | None:
        with self._lock:
            entry = self._entry
        if entry is None or self._clock() - entry.fetched_at >= self._ttl:
            return None
        return entry.served

    def put(self, served: tuple[str, ...]) -> None:
        with self._lock:
            self._entry = _Entry(served, self._clock()) if served else None
