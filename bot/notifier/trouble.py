"""Which pods are in trouble (their events are worth a call) and whose log is worth reading. Pure.

Events explain scheduling failures and failed pulls; they cost one call per namespace, so a
sweep reads them only for deployments with a pod that has no node yet or a container that is
waiting (other than creating) or terminated. A log exists only for a container that ran: a
crash loop or an error exit, never an image pull or a missing secret.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.domain.status import DeploymentStatus
from bot.domain.status.raw import meta_of
from bot.domain.status.spec import operator_says_ready

__all__ = ["log_tail_source", "operator_ready", "troubled_pods"]

_NORMAL_WAITING = frozenset({"ContainerCreating", "PodInitializing"})
_RAN = frozenset({"CrashLoopBackOff", "Error", "OOMKilled", "Completed"})


def troubled_pods(pods: Iterable[Mapping[str, Any]]) -> list[str]:
    """Names of the pods whose events could change the verdict."""
    return [_name(pod) for pod in pods if _troubled(pod)]


def _troubled(pod: Mapping[str, Any]) -> bool:
    if not (pod.get("spec") or {}).get("nodeName"):
        return True
    status = pod.get("status") or {}
    for container in status.get("containerStatuses") or ():
        state = container.get("state") or {}
        waiting = (state.get("waiting") or {}).get("reason")
        if (waiting and waiting not in _NORMAL_WAITING) or "terminated" in state:
            return True
    return False


def _name(pod: Mapping[str, Any]) -> str:
    return meta_of(pod).name


def log_tail_source(status: DeploymentStatus) -> str | None:
    """The pod whose ``main`` log tells why it fails, or None when no container ran."""
    for pod in status.pods:
        if pod.reason in _RAN or (pod.reason and pod.restarts > 0):
            return pod.name
    return None


def operator_ready(dgd: Mapping[str, Any]) -> bool:
    """The operator reports the DGD ready and it is not being deleted: pods add nothing."""
    if meta_of(dgd).deletion_timestamp:
        return False
    status = dgd.get("status") or {}
    ready = next(
        (c.get("status") for c in status.get("conditions") or () if c.get("type") == "Ready"),
        None,
    )
    return operator_says_ready(status.get("state"), ready)
