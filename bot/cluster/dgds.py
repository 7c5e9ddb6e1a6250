"""What makes a DGD Dynamote's, and the small pure rules around creating one.

Dynamote marks everything it creates with ``app.kubernetes.io/managed-by=dynamote`` and only
lists, deletes and watches what carries it. The operator labels each DGD's pods with
``nvidia.com/dynamo-graph-deployment-name``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from bot.cluster.permissions import DGD_GROUP
from bot.domain.dgd import DGD_KIND, MANAGED_BY_VALUE, MANAGED_SELECTOR, Dgd
from bot.domain.dgd import LABEL_MANAGED_BY as MANAGED_BY_LABEL
from bot.domain.naming import max_dgd_name_length

__all__ = [
    "DGD_NAME_LABEL",
    "MANAGED_BY_LABEL",
    "MANAGED_BY_VALUE",
    "MANAGED_SELECTOR",
    "candidate_names",
    "dgd_version_of",
    "is_managed",
    "longest_name",
    "replicas_patch",
    "with_managed_label",
    "worker_replicas",
]

DGD_NAME_LABEL = "nvidia.com/dynamo-graph-deployment-name"

FREE_NAME_ATTEMPTS = 5
_NUMBERED = re.compile(r"^(?P<base>.+)-(?P<number>\d+)$")


def is_managed(obj: Mapping[str, Any]) -> bool:
    """Whether Dynamote created this object (it carries the managed-by label)."""
    return Dgd(obj).managed


def with_managed_label(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the manifest carrying the managed-by label; the original is left as is."""
    body = dict(manifest)
    metadata = dict(body.get("metadata") or {})
    metadata["labels"] = {**(metadata.get("labels") or {}), MANAGED_BY_LABEL: MANAGED_BY_VALUE}
    body["metadata"] = metadata
    return body


def dgd_version_of(manifest: Mapping[str, Any]) -> str:
    """The version part of a DGD manifest's apiVersion; ValueError for anything else."""
    group, _, version = str(manifest.get("apiVersion") or "").partition("/")
    if group != DGD_GROUP or not version or manifest.get("kind") != DGD_KIND:
        raise ValueError(
            f"not a DynamoGraphDeployment manifest: apiVersion={manifest.get('apiVersion')!r}, "
            f"kind={manifest.get('kind')!r}"
        )
    return version


def longest_name(manifest: Mapping[str, Any], namespace: str) -> int:
    """The longest DGD name whose derived object names fit, for this manifest's components."""
    components = [
        (n, str(c.get("type", c.get("componentType")) or "")) for n, c in _graph(manifest)
    ]
    return max_dgd_name_length(namespace, components).limit


def candidate_names(name: str, limit: int) -> Iterator[str]:
    """name-2, name-3, ... (or the numbers after N for name-N), a few, within ``limit``."""
    numbered = _NUMBERED.match(name)
    base, start = (numbered["base"], int(numbered["number"]) + 1) if numbered else (name, 2)
    for number in range(start, start + FREE_NAME_ATTEMPTS):
        suffix = f"-{number}"
        yield base[: limit - len(suffix)].rstrip("-") + suffix


def _graph(dgd: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """(name, component) for each component: v1beta1's list or v1alpha1's map."""
    spec = dgd.get("spec") or {}
    if isinstance(spec.get("components"), list):
        return [(str(c.get("name", "")), c) for c in spec["components"] if isinstance(c, dict)]
    services = spec.get("services") or {}
    return [(str(n), s) for n, s in services.items() if isinstance(s, dict)]


def _is_worker(component: Mapping[str, Any]) -> bool:
    kind = component.get("type", component.get("componentType"))
    return kind not in ("frontend", "planner")


def worker_replicas(dgd: Mapping[str, Any]) -> int | None:
    """The workers' replicas (the most any worker has), None for a DGD without workers."""
    counts = [int(c.get("replicas", 1) or 0) for _, c in _graph(dgd) if _is_worker(c)]
    return max(counts) if counts else None


def replicas_patch(dgd: Mapping[str, Any], replicas: int) -> dict[str, Any]:
    """The merge patch that sets every worker's replicas (the frontend keeps its own).

    v1beta1 components are a list, which a merge patch replaces whole: the list is written
    back as read, with only the workers' replicas changed, so the patch must carry the
    resourceVersion it was read at (a change made meanwhile is then a Conflict, not lost).
    """
    spec = dgd.get("spec") or {}
    if isinstance(spec.get("components"), list):
        components = [
            {**c, "replicas": replicas} if isinstance(c, dict) and _is_worker(c) else c
            for c in spec["components"]
        ]
        return {"spec": {"components": components}}
    return {
        "spec": {"services": {n: {"replicas": replicas} for n, c in _graph(dgd) if _is_worker(c)}}
    }
