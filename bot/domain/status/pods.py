"""A DGD's pods: each as ``/dynamote status`` shows it, and what (if anything) is failing.

Which container errors count as failures, and when a failure has persisted long enough to
call the deployment Failed, are the rules 2c and 2d of ``bot.domain.status``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from bot.domain.capacity import plural, requested_gpus
from bot.domain.status.model import (
    COMPONENT_LABEL,
    CRASH_LOOP_RESTARTS,
    FAILURE_GRACE,
    GPU_RESOURCE,
    PodFailure,
    PodStatus,
)
from bot.domain.status.raw import as_dict, as_list, meta_of, one_line, parse_time

__all__ = ["by_name", "first_pod_failure", "read_pod", "scheduling_reason", "unschedulable_message"]

_IMAGE_ERRORS = frozenset({"ImagePullBackOff", "ErrImagePull", "InvalidImageName"})
_CONFIG_ERRORS = frozenset({"CreateContainerConfigError", "CreateContainerError"})
# Errors no retry can clear: no grace needed. An image pull that failed (ErrImagePull, then
# ImagePullBackOff while the kubelet waits to try again) persists once a second pull failed
# too (its Failed event counts 2) or it has lasted FAILURE_GRACE: one failed pull can be a
# registry hiccup.
_ALREADY_PERSISTENT = frozenset({"InvalidImageName", "CrashLoopBackOff"})

_NODES_AVAILABLE = re.compile(r"^(\d+)/(\d+) nodes are available")
_MISSING_OBJECT = re.compile(r'(secret|configmap)s? "([^"]+)" not found', re.IGNORECASE)


def unschedulable_message(
    pod: Mapping[str, Any], events: Sequence[Mapping[str, Any]]
) -> str | None:
    """The scheduler's complaint about a pod that has no node yet, or None."""
    if as_dict(pod.get("spec")).get("nodeName"):
        return None
    pod_status = as_dict(pod.get("status"))
    scheduled = _pod_condition(pod_status, "PodScheduled")
    name = meta_of(pod).name
    event = _latest_event(events, name, ("FailedScheduling",)) if events else None
    if event is not None:
        return str(event.get("message") or "")
    if scheduled is not None and scheduled.get("status") == "False":
        return str(scheduled.get("message") or "")
    return None


def scheduling_reason(message: str, pod: Mapping[str, Any] | None = None) -> str:
    """'0/3 nodes are available: 3 Insufficient nvidia.com/gpu.' -> 'waiting for GPUs: ...',
    naming the pod's component and the GPUs it needs on one node when the pod says them."""
    counts = _NODES_AVAILABLE.match(message)
    if counts and f"Insufficient {GPU_RESOURCE}" in message:
        free, total = counts.groups()
        reason = f"waiting for GPUs: {free}/{total} nodes have {GPU_RESOURCE} free"
        gpus = requested_gpus(pod) if pod is not None else 0
        if gpus:
            component = meta_of(pod).label(COMPONENT_LABEL) or "a pod"
            reason += f"; {component} needs {plural(gpus, 'GPU')} on one node"
        return reason
    if not message:
        return "waiting to be scheduled"
    first_part = message.split(" preemption:", maxsplit=1)[0].rstrip(". ")
    return one_line(f"unschedulable: {first_part}")


# --- pod failures --------------------------------------------------------------------------


def first_pod_failure(
    pods: Sequence[Mapping[str, Any]], events: Sequence[Mapping[str, Any]], now: datetime | None
) -> PodFailure | None:
    """The first failure found, preferring one that persists (it decides the phase)."""
    pending: PodFailure | None = None
    for pod in pods:
        for container in _container_statuses(pod):
            failure = _container_failure(pod, container, events, now)
            if failure and failure.persisting:
                return failure
            pending = pending or failure
    return pending


def _container_failure(
    pod: Mapping[str, Any],
    container: Mapping[str, Any],
    events: Sequence[Mapping[str, Any]],
    now: datetime | None,
) -> PodFailure | None:
    waiting = as_dict(as_dict(container.get("state")).get("waiting"))
    why = waiting.get("reason")
    if not why:
        return None
    if why == "CrashLoopBackOff":
        restarts = int(container.get("restartCount") or 0)
        if restarts < CRASH_LOOP_RESTARTS:
            return None
        return PodFailure(_crash_reason(container, restarts), persisting=True)
    if why in _IMAGE_ERRORS:
        image = str(container.get("image") or _spec_image(pod, container.get("name")))
        reason = f"image pull failed: {image}"
        return PodFailure(reason, persisting=_persists(why, pod, events, now), pending=True)
    if why in _CONFIG_ERRORS:
        reason = _config_reason(str(waiting.get("message") or ""))
        return PodFailure(reason, persisting=_persists(why, pod, events, now))
    return None


def _crash_reason(container: Mapping[str, Any], restarts: int) -> str:
    last = as_dict(as_dict(container.get("lastState")).get("terminated")).get("reason")
    detail = f" ({last})" if last and last not in ("Error", "Completed") else ""
    return f"crash looping: {restarts} restarts{detail}"


def _config_reason(message: str) -> str:
    """'secret "hf-token-secret" not found' -> 'secret hf-token-secret not found'."""
    missing = _MISSING_OBJECT.search(message)
    if missing:
        return f"{missing.group(1).lower()} {missing.group(2)} not found"
    return one_line(f"container config error: {message}".rstrip(": "))


def _persists(
    why: str, pod: Mapping[str, Any], events: Sequence[Mapping[str, Any]], now: datetime | None
) -> bool:
    if why in _ALREADY_PERSISTENT or now is None:
        return True
    name = meta_of(pod).name
    event = _latest_event(events, name, ("Failed", "BackOff"))
    if event is not None and int(event.get("count") or 1) >= 2:
        return True
    since = parse_time((event or {}).get("firstTimestamp") or meta_of(pod).creation_timestamp)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return since is not None and now - since >= FAILURE_GRACE


def _latest_event(
    events: Sequence[Mapping[str, Any]], pod_name: object, reasons: tuple[str, ...]
) -> Mapping[str, Any] | None:
    latest: Mapping[str, Any] | None = None
    for event in events:
        involved = as_dict(event.get("involvedObject"))
        if involved.get("name") != pod_name or event.get("reason") not in reasons:
            continue
        # ISO-8601 UTC timestamps sort as strings: no parsing needed to find the newest.
        if latest is None or _event_time(event) >= _event_time(latest):
            latest = event
    return latest


def _event_time(event: Mapping[str, Any]) -> str:
    return str(event.get("lastTimestamp") or event.get("eventTime") or "")


# --- pods ----------------------------------------------------------------------------------


def by_name(pod: PodStatus) -> str:
    return pod.name


def read_pod(pod: Mapping[str, Any]) -> PodStatus:
    meta = meta_of(pod)
    status = as_dict(pod.get("status"))
    restarts = 0
    container_reason: str | None = None
    for container in _container_statuses(pod):
        restarts += int(container.get("restartCount") or 0)
        container_reason = container_reason or _container_reason(container)
    ready_condition = _pod_condition(status, "Ready")
    return PodStatus(
        name=meta.name,
        component=meta.label(COMPONENT_LABEL) or "",
        phase=str(status.get("phase") or "Pending"),
        ready=ready_condition is not None and ready_condition.get("status") == "True",
        restarts=restarts,
        node=as_dict(pod.get("spec")).get("nodeName") or None,
        reason=container_reason or _pod_reason(status),
    )


def _container_reason(container: Mapping[str, Any]) -> str | None:
    state = as_dict(container.get("state"))
    if "running" in state:
        return None
    for key in ("waiting", "terminated"):
        reason = as_dict(state.get(key)).get("reason")
        if reason:
            return str(reason)
    return None


def _pod_reason(status: Mapping[str, Any]) -> str | None:
    if status.get("reason"):  # e.g. Evicted
        return str(status["reason"])
    scheduled = _pod_condition(status, "PodScheduled")
    if scheduled is not None and scheduled.get("status") == "False":
        return str(scheduled.get("reason") or "Unschedulable")
    return None


def _container_statuses(pod: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
    status = as_dict(pod.get("status"))
    containers = as_list(status.get("containerStatuses"))
    init_containers = status.get("initContainerStatuses")
    return [*as_list(init_containers), *containers] if init_containers else containers


def _pod_condition(status: Mapping[str, Any], condition_type: str) -> Mapping[str, Any] | None:
    for condition in as_list(status.get("conditions")):
        if condition.get("type") == condition_type:
            return condition
    return None


def _spec_image(pod: Mapping[str, Any], container_name: object) -> str:
    for container in as_list(as_dict(pod.get("spec")).get("containers")):
        if container.get("name") == container_name:
            return str(container.get("image") or "")
    return "unknown image"
