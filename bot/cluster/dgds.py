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

__all__ = [
    "DGD_NAME_LABEL",
    "MANAGED_BY_LABEL",
    "MANAGED_BY_VALUE",
    "MANAGED_SELECTOR",
    "candidate_names",
    "dgd_version_of",
    "is_managed",
    "with_managed_label",
]

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "dynamote"
MANAGED_SELECTOR = f"{MANAGED_BY_LABEL}={MANAGED_BY_VALUE}"
DGD_NAME_LABEL = "nvidia.com/dynamo-graph-deployment-name"

FREE_NAME_ATTEMPTS = 5
MAX_NAME_LENGTH = 63
_NUMBERED = re.compile(r"^(?P<base>.+)-(?P<number>\d+)$")


def is_managed(obj: Mapping[str, Any]) -> bool:
    """Whether Dynamote created this object (it carries the managed-by label)."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return bool(labels.get(MANAGED_BY_LABEL) == MANAGED_BY_VALUE)


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
    if group != DGD_GROUP or not version or manifest.get("kind") != "DynamoGraphDeployment":
        raise ValueError(
            f"not a DynamoGraphDeployment manifest: apiVersion={manifest.get('apiVersion')!r}, "
            f"kind={manifest.get('kind')!r}"
        )
    return version


def candidate_names(name: str) -> Iterator[str]:
    """name-2, name-3, ... (or the numbers after N for name-N), a few, within 63 characters."""
    numbered = _NUMBERED.match(name)
    base, start = (numbered["base"], int(numbered["number"]) + 1) if numbered else (name, 2)
    for number in range(start, start + FREE_NAME_ATTEMPTS):
        suffix = f"-{number}"
        yield base[: MAX_NAME_LENGTH - len(suffix)].rstrip("-") + suffix
