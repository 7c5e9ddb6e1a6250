"""Derive one DeploymentStatus from a DGD, its pods and their events. Pure: no I/O.

The notifier, ``/dynamote status`` and ``/dynamote list`` all need the same answer to "how is
this deployment doing, and what should a person do about it?". The operator's own status says
little (``state``, a ``Ready`` condition, replica counts) and nothing about *why* pods are
stuck, so this module reads the pods and their events too, and folds everything into a phase
and one actionable line. It accepts raw JSON as the API returns it (camelCase), for both
``nvidia.com/v1beta1`` (``spec.components`` list, ``status.components`` map) and
``nvidia.com/v1alpha1`` (``spec.services`` map, ``status.services`` map).

Phase rules, first match wins:

1. ``metadata.deletionTimestamp`` is set -> **Terminating**.
2. **Failed** when any of:
   a. ``status.state`` is ``failed``;
   b. the ``Ready`` condition is ``False`` with a reason that names a failure (contains
      ``fail``, ``error`` or ``invalid``);
   c. a pod's container is *currently* waiting with ``ImagePullBackOff``, ``InvalidImageName``,
      ``ErrImagePull``, ``CreateContainerConfigError`` or ``CreateContainerError`` and the
      error persists: it is a back-off, or its event was seen at least twice, or ``now`` is
      ``None`` (judge the snapshot as it is), or it has lasted :data:`FAILURE_GRACE` by ``now``;
   d. a container is in ``CrashLoopBackOff`` with at least :data:`CRASH_LOOP_RESTARTS`
      restarts.
   A failure that has not persisted yet leaves the phase to the rules below, with the error
   in the reason ("... (retrying)").
3. **Running** when the operator says ready (``Ready`` condition ``True`` or ``state``
   ``successful``) and ready replicas >= desired replicas. When the operator has reported
   nothing at all (no state, no conditions), all desired replicas ready by the pods suffices.
4. **Pending** when no pod exists yet, or a pod is unschedulable
   (its ``PodScheduled`` condition is ``False``, or a ``FailedScheduling`` event names it
   while it has no node), or the ``Ready`` reason is ``insufficient_capacity``.
5. Otherwise **Deploying** ("2/3 replicas ready").

Replica counts come from ``status.components`` / ``status.services`` (summed over
components); a component the operator has not reported yet is counted from its pods. Desired
replicas come from the spec (``replicas`` defaults to 1). GPUs are the ``nvidia.com/gpu``
limit (else request) of each component's main container x replicas x multinode nodeCount.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, NamedTuple

__all__ = [
    "CRASH_LOOP_RESTARTS",
    "FAILURE_GRACE",
    "Condition",
    "DeploymentStatus",
    "Phase",
    "PodStatus",
    "compute_status",
]

Phase = Literal["Pending", "Deploying", "Running", "Failed", "Terminating"]

CRASH_LOOP_RESTARTS = 3
FAILURE_GRACE = timedelta(seconds=30)

COMPONENT_LABEL = "nvidia.com/dynamo-component"
GPU_RESOURCE = "nvidia.com/gpu"
MAIN_CONTAINER = "main"

_IMAGE_ERRORS = frozenset({"ImagePullBackOff", "ErrImagePull", "InvalidImageName"})
_CONFIG_ERRORS = frozenset({"CreateContainerConfigError", "CreateContainerError"})
# Back-offs mean the kubelet already failed more than once: no grace needed.
_ALREADY_PERSISTENT = frozenset({"ImagePullBackOff", "InvalidImageName", "CrashLoopBackOff"})
_FAILURE_WORDS = ("fail", "error", "invalid")

_EMPTY: Mapping[str, Any] = {}  # shared, never mutated

_NODES_AVAILABLE = re.compile(r"^(\d+)/(\d+) nodes are available")
_MISSING_OBJECT = re.compile(r'(secret|configmap)s? "([^"]+)" not found', re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class PodStatus:
    """One pod of the deployment, as ``/dynamote status`` lists it."""

    name: str
    component: str
    phase: str
    ready: bool
    restarts: int
    node: str | None
    reason: str | None  # waiting/terminated reason, e.g. ImagePullBackOff


@dataclass(frozen=True, slots=True)
class Condition:
    """A condition of the DGD's status, as the operator wrote it."""

    type: str
    status: str
    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class DeploymentStatus:
    """Everything Dynamote shows and announces about one DGD."""

    name: str
    namespace: str
    phase: Phase
    reason: str
    replicas_desired: int
    replicas_ready: int
    replicas_available: int
    conditions: tuple[Condition, ...]
    pods: tuple[PodStatus, ...]
    created_at: datetime | None
    frontend_service: str | None
    gpus: int


class _Component(NamedTuple):  # internal: a NamedTuple is cheaper to build than a dataclass
    name: str
    type: str
    replicas: int
    gpus_per_replica: int


class _PodFailure(NamedTuple):
    reason: str
    persisting: bool


def compute_status(
    dgd: Mapping[str, Any],
    pods: Sequence[Mapping[str, Any]] = (),
    events: Sequence[Mapping[str, Any]] = (),
    *,
    now: datetime | None = None,
) -> DeploymentStatus:
    """Fold a DGD, its pods and their events into a DeploymentStatus (see the module rules)."""
    metadata = _dict(dgd.get("metadata"))
    name = str(metadata.get("name", ""))
    status = _dict(dgd.get("status"))
    components = _components(_dict(dgd.get("spec")))
    conditions = _conditions(status.get("conditions"))
    pairs = [(pod, _pod_status(pod)) for pod in pods]
    pod_statuses = tuple(sorted((pod_status for _, pod_status in pairs), key=_by_name))
    # Only pods with something wrong need the slower failure and scheduling checks.
    troubled = [pod for pod, pod_status in pairs if pod_status.reason or not pod_status.node]
    desired = sum(component.replicas for component in components)
    ready, available = _replica_counts(
        components, _dict(status.get("components") or status.get("services")), pod_statuses
    )
    phase, reason = _phase(
        metadata=metadata,
        status=status,
        conditions=conditions,
        pod_count=len(pod_statuses),
        troubled=troubled,
        events=events,
        desired=desired,
        ready=ready,
        now=now,
    )
    return DeploymentStatus(
        name=name,
        namespace=str(metadata.get("namespace", "")),
        phase=phase,
        reason=reason,
        replicas_desired=desired,
        replicas_ready=ready,
        replicas_available=available,
        conditions=conditions,
        pods=pod_statuses,
        created_at=_parse_time(metadata.get("creationTimestamp")),
        frontend_service=_frontend_service(name, components),
        gpus=sum(component.replicas * component.gpus_per_replica for component in components),
    )


# --- phase ---------------------------------------------------------------------------------


def _phase(
    *,
    metadata: Mapping[str, Any],
    status: Mapping[str, Any],
    conditions: tuple[Condition, ...],
    pod_count: int,
    troubled: Sequence[Mapping[str, Any]],
    events: Sequence[Mapping[str, Any]],
    desired: int,
    ready: int,
    now: datetime | None,
) -> tuple[Phase, str]:
    if metadata.get("deletionTimestamp"):
        return "Terminating", _terminating_reason(pod_count)
    state = status.get("state")
    ready_condition = next((c for c in conditions if c.type == "Ready"), None)
    if state == "failed":
        message = ready_condition.message if ready_condition else ""
        return "Failed", _one_line(message) or "the operator reports the deployment failed"
    if ready_condition and ready_condition.status == "False" and _names_failure(ready_condition):
        return "Failed", _one_line(ready_condition.message) or ready_condition.reason
    failure = _first_pod_failure(troubled, events, now)
    if failure and failure.persisting:
        return "Failed", failure.reason
    operator_ready = state == "successful" or (
        ready_condition is not None and ready_condition.status == "True"
    )
    operator_silent = not state and ready_condition is None
    if ready >= desired and (operator_ready or (operator_silent and desired > 0)):
        return "Running", "ready" if desired else "scaled to 0 replicas"
    pending_reason = _pending_reason(troubled, events, ready_condition, pod_count=pod_count)
    if pending_reason:
        return "Pending", pending_reason
    progress = f"{ready}/{desired} replicas ready"
    return "Deploying", f"{progress}; {failure.reason} (retrying)" if failure else progress


def _terminating_reason(pods_left: int) -> str:
    if not pods_left:
        return "deleting"
    return f"deleting: {pods_left} pod{'s' if pods_left != 1 else ''} left"


def _names_failure(condition: Condition) -> bool:
    reason = condition.reason.lower()
    return any(word in reason for word in _FAILURE_WORDS)


def _pending_reason(
    troubled: Sequence[Mapping[str, Any]],
    events: Sequence[Mapping[str, Any]],
    ready_condition: Condition | None,
    *,
    pod_count: int,
) -> str | None:
    for pod in troubled:
        message = _unschedulable_message(pod, events)
        if message is not None:
            return _scheduling_reason(message)
    if ready_condition and ready_condition.reason == "insufficient_capacity":
        return _one_line(f"waiting for capacity: {ready_condition.message}".rstrip(": "))
    if not pod_count:
        return "waiting for the operator to create pods"
    return None


def _unschedulable_message(
    pod: Mapping[str, Any], events: Sequence[Mapping[str, Any]]
) -> str | None:
    """The scheduler's complaint about a pod that has no node yet, or None."""
    if _dict(pod.get("spec")).get("nodeName"):
        return None
    pod_status = _dict(pod.get("status"))
    scheduled = _pod_condition(pod_status, "PodScheduled")
    name = _dict(pod.get("metadata")).get("name")
    event = _latest_event(events, name, ("FailedScheduling",)) if events else None
    if event is not None:
        return str(event.get("message") or "")
    if scheduled is not None and scheduled.get("status") == "False":
        return str(scheduled.get("message") or "")
    return None


def _scheduling_reason(message: str) -> str:
    """'0/3 nodes are available: 3 Insufficient nvidia.com/gpu.' -> 'waiting for GPUs: ...'."""
    counts = _NODES_AVAILABLE.match(message)
    if counts and f"Insufficient {GPU_RESOURCE}" in message:
        free, total = counts.groups()
        return f"waiting for GPUs: {free}/{total} nodes have {GPU_RESOURCE} free"
    if not message:
        return "waiting to be scheduled"
    first_part = message.split(" preemption:", maxsplit=1)[0].rstrip(". ")
    return _one_line(f"unschedulable: {first_part}")


# --- pod failures --------------------------------------------------------------------------


def _first_pod_failure(
    pods: Sequence[Mapping[str, Any]], events: Sequence[Mapping[str, Any]], now: datetime | None
) -> _PodFailure | None:
    """The first failure found, preferring one that persists (it decides the phase)."""
    pending: _PodFailure | None = None
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
) -> _PodFailure | None:
    waiting = _dict(_dict(container.get("state")).get("waiting"))
    why = waiting.get("reason")
    if not why:
        return None
    if why == "CrashLoopBackOff":
        restarts = int(container.get("restartCount") or 0)
        if restarts < CRASH_LOOP_RESTARTS:
            return None
        return _PodFailure(_crash_reason(container, restarts), persisting=True)
    if why in _IMAGE_ERRORS:
        image = str(container.get("image") or _spec_image(pod, container.get("name")))
        reason = f"image pull failed: {image}"
    elif why in _CONFIG_ERRORS:
        reason = _config_reason(str(waiting.get("message") or ""))
    else:
        return None
    return _PodFailure(reason, persisting=_persists(why, pod, events, now))


def _crash_reason(container: Mapping[str, Any], restarts: int) -> str:
    last = _dict(_dict(container.get("lastState")).get("terminated")).get("reason")
    detail = f" ({last})" if last and last not in ("Error", "Completed") else ""
    return f"crash looping: {restarts} restarts{detail}"


def _config_reason(message: str) -> str:
    """'secret "hf-token-secret" not found' -> 'secret hf-token-secret not found'."""
    missing = _MISSING_OBJECT.search(message)
    if missing:
        return f"{missing.group(1).lower()} {missing.group(2)} not found"
    return _one_line(f"container config error: {message}".rstrip(": "))


def _persists(
    why: str, pod: Mapping[str, Any], events: Sequence[Mapping[str, Any]], now: datetime | None
) -> bool:
    if why in _ALREADY_PERSISTENT or now is None:
        return True
    name = _dict(pod.get("metadata")).get("name")
    event = _latest_event(events, name, ("Failed", "BackOff"))
    if event is not None and int(event.get("count") or 1) >= 2:
        return True
    since = _parse_time(
        (event or {}).get("firstTimestamp") or _dict(pod.get("metadata")).get("creationTimestamp")
    )
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return since is not None and now - since >= FAILURE_GRACE


def _latest_event(
    events: Sequence[Mapping[str, Any]], pod_name: object, reasons: tuple[str, ...]
) -> Mapping[str, Any] | None:
    latest: Mapping[str, Any] | None = None
    for event in events:
        involved = _dict(event.get("involvedObject"))
        if involved.get("name") != pod_name or event.get("reason") not in reasons:
            continue
        # ISO-8601 UTC timestamps sort as strings: no parsing needed to find the newest.
        if latest is None or _event_time(event) >= _event_time(latest):
            latest = event
    return latest


def _event_time(event: Mapping[str, Any]) -> str:
    return str(event.get("lastTimestamp") or event.get("eventTime") or "")


# --- pods ----------------------------------------------------------------------------------


def _by_name(pod: PodStatus) -> str:
    return pod.name


def _pod_status(pod: Mapping[str, Any]) -> PodStatus:
    metadata = _dict(pod.get("metadata"))
    status = _dict(pod.get("status"))
    restarts = 0
    container_reason: str | None = None
    for container in _container_statuses(pod):
        restarts += int(container.get("restartCount") or 0)
        container_reason = container_reason or _container_reason(container)
    ready_condition = _pod_condition(status, "Ready")
    return PodStatus(
        name=str(metadata.get("name", "")),
        component=str(_dict(metadata.get("labels")).get(COMPONENT_LABEL, "")),
        phase=str(status.get("phase") or "Pending"),
        ready=ready_condition is not None and ready_condition.get("status") == "True",
        restarts=restarts,
        node=_dict(pod.get("spec")).get("nodeName") or None,
        reason=container_reason or _pod_reason(status),
    )


def _container_reason(container: Mapping[str, Any]) -> str | None:
    state = _dict(container.get("state"))
    if "running" in state:
        return None
    for key in ("waiting", "terminated"):
        reason = _dict(state.get(key)).get("reason")
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
    status = _dict(pod.get("status"))
    containers = _list(status.get("containerStatuses"))
    init_containers = status.get("initContainerStatuses")
    return [*_list(init_containers), *containers] if init_containers else containers


def _pod_condition(status: Mapping[str, Any], condition_type: str) -> Mapping[str, Any] | None:
    for condition in _list(status.get("conditions")):
        if condition.get("type") == condition_type:
            return condition
    return None


def _spec_image(pod: Mapping[str, Any], container_name: object) -> str:
    for container in _list(_dict(pod.get("spec")).get("containers")):
        if container.get("name") == container_name:
            return str(container.get("image") or "")
    return "unknown image"


# --- spec and operator status --------------------------------------------------------------


def _components(spec: Mapping[str, Any]) -> tuple[_Component, ...]:
    if "components" in spec:  # v1beta1: a list keyed by name
        return tuple(_v1beta1_component(c) for c in _list(spec.get("components")))
    services = _dict(spec.get("services"))  # v1alpha1: a map keyed by name
    return tuple(_v1alpha1_component(name, _dict(s)) for name, s in services.items())


def _v1beta1_component(component: Mapping[str, Any]) -> _Component:
    pod_spec = _dict(_dict(component.get("podTemplate")).get("spec"))
    containers = _list(pod_spec.get("containers"))
    main = next((c for c in containers if c.get("name") == MAIN_CONTAINER), None)
    resources = _dict((main or {}).get("resources"))
    gpus = _gpu_count(_dict(resources.get("limits")).get(GPU_RESOURCE)) or _gpu_count(
        _dict(resources.get("requests")).get(GPU_RESOURCE)
    )
    return _Component(
        name=str(component.get("name", "")),
        type=str(component.get("type", "")),
        replicas=_replicas(component),
        gpus_per_replica=gpus * _node_count(component),
    )


def _v1alpha1_component(name: str, service: Mapping[str, Any]) -> _Component:
    resources = _dict(service.get("resources"))
    gpus = _gpu_count(_dict(resources.get("limits")).get("gpu")) or _gpu_count(
        _dict(resources.get("requests")).get("gpu")
    )
    return _Component(
        name=name,
        type=str(service.get("componentType", "")),
        replicas=_replicas(service),
        gpus_per_replica=gpus * _node_count(service),
    )


def _replicas(component: Mapping[str, Any]) -> int:
    replicas = component.get("replicas")
    return 1 if replicas is None else max(int(replicas), 0)


def _node_count(component: Mapping[str, Any]) -> int:
    return max(int(_dict(component.get("multinode")).get("nodeCount") or 1), 1)


def _gpu_count(quantity: object) -> int:
    try:
        return max(int(str(quantity)), 0) if quantity is not None else 0
    except ValueError:
        return 0


def _replica_counts(
    components: tuple[_Component, ...],
    reported: Mapping[str, Any],
    pods: tuple[PodStatus, ...],
) -> tuple[int, int]:
    """(ready, available) summed over components; pods stand in for unreported ones."""
    ready = available = 0
    for component in components:
        entry = _dict(reported.get(component.name))
        if "readyReplicas" in entry or "availableReplicas" in entry:
            ready += int(entry.get("readyReplicas") or 0)
            available += int(entry.get("availableReplicas") or 0)
        else:
            from_pods = sum(1 for p in pods if p.ready and p.component == component.name)
            ready += from_pods
            available += from_pods
    return ready, available


def _conditions(raw: object) -> tuple[Condition, ...]:
    return tuple(
        Condition(
            type=str(c.get("type", "")),
            status=str(c.get("status", "")),
            reason=str(c.get("reason", "")),
            message=str(c.get("message", "")),
        )
        for c in _list(raw)
    )


def _frontend_service(dgd_name: str, components: tuple[_Component, ...]) -> str | None:
    for component in components:
        if component.type == "frontend":
            return f"{dgd_name}-{component.name.lower().replace('.', '-')}"
    return None


# --- raw JSON helpers ----------------------------------------------------------------------


def _dict(value: object) -> Mapping[str, Any]:
    # Raw API JSON is made of dicts; the exact-type test is the fast path (an ABC check is not).
    if type(value) is dict:
        return value
    if value is None:
        return _EMPTY
    return value if isinstance(value, Mapping) else _EMPTY


def _list(value: object) -> Sequence[Mapping[str, Any]]:
    """A JSON array of objects (the API server's schema guarantees the items' shape)."""
    return value if type(value) is list else ()


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _one_line(text: str, limit: int = 200) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
