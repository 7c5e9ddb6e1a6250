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
   (A ``failed`` state whose ``Ready`` reason says the operator requeued a reconcile error,
   such as ``failed_to_reconcile_the_resources``, is the operator *retrying* for
   :data:`RECONCILE_RETRY_WINDOW` from the condition's ``lastTransitionTime``, or from
   ``failing_since`` (when the ``failed`` state was first seen) if that is later; see
   ``bot.domain.status.retry``. Meanwhile the operator's state and ``Ready`` are set aside, the
   rules below judge by the pods, and Pending/Deploying say "operator retrying: <error>".)
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
   in the reason ("... (retrying)"); an image that does not pull yet is **Pending** with it.
3. **Running** when the operator says ready (``Ready`` condition ``True`` or ``state``
   ``successful``) and ready replicas >= desired replicas. When the operator has reported
   nothing at all (no state, no conditions), all desired replicas ready by the pods suffices.
4. **Pending** when no pod exists yet, or a pod's image does not pull (yet), or a pod is
   unschedulable
   (its ``PodScheduled`` condition is ``False``, or a ``FailedScheduling`` event names it
   while it has no node), or the ``Ready`` reason is ``insufficient_capacity``.
5. Otherwise **Deploying** ("2/3 replicas ready").

Replica counts come from ``status.components`` / ``status.services`` (summed over
components); a component the operator has not reported yet is counted from its pods. Desired
replicas come from the spec (``replicas`` defaults to 1). GPUs are the ``nvidia.com/gpu``
limit (else request) of each component's main container x replicas x multinode nodeCount.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.domain.status.model import (
    CRASH_LOOP_RESTARTS,
    FAILURE_GRACE,
    RECONCILE_RETRY_WINDOW,
    Condition,
    DeploymentStatus,
    Phase,
    PodStatus,
)
from bot.domain.status.pods import (
    by_name,
    first_pod_failure,
    read_pod,
    scheduling_reason,
    unschedulable_message,
)
from bot.domain.status.raw import Meta, as_dict, meta_of, one_line, parse_time
from bot.domain.status.retry import operator_retrying
from bot.domain.status.spec import (
    components_of,
    conditions_of,
    frontend_service_of,
    model_replica_counts,
    operator_says_ready,
    replica_counts,
)

__all__ = [
    "CRASH_LOOP_RESTARTS",
    "FAILURE_GRACE",
    "RECONCILE_RETRY_WINDOW",
    "Condition",
    "DeploymentStatus",
    "Phase",
    "PodStatus",
    "compute_status",
]

_FAILURE_WORDS = ("fail", "error", "invalid")


def compute_status(
    dgd: Mapping[str, Any],
    pods: Sequence[Mapping[str, Any]] = (),
    events: Sequence[Mapping[str, Any]] = (),
    *,
    now: datetime | None = None,
    failing_since: datetime | None = None,
) -> DeploymentStatus:
    """Fold a DGD, its pods and their events into a DeploymentStatus (see the module rules).

    ``failing_since``: when the operator's ``failed`` state was first seen (rule 1's window).
    """
    meta = meta_of(dgd)
    name = meta.name
    status = as_dict(dgd.get("status"))
    components = components_of(as_dict(dgd.get("spec")))
    conditions = conditions_of(status.get("conditions"))
    pairs = [(pod, read_pod(pod)) for pod in pods]
    pod_statuses = tuple(sorted((pod_status for _, pod_status in pairs), key=by_name))
    # Only pods with something wrong need the slower failure and scheduling checks.
    troubled = [pod for pod, pod_status in pairs if pod_status.reason or not pod_status.node]
    desired = sum(component.replicas for component in components)
    reported = as_dict(status.get("components") or status.get("services"))
    ready, available = replica_counts(components, reported, pod_statuses)
    phase, reason = _phase(
        meta=meta,
        status=status,
        conditions=conditions,
        pod_count=len(pod_statuses),
        troubled=troubled,
        events=events,
        desired=desired,
        ready=ready,
        now=now,
        failing_since=failing_since,
    )
    return DeploymentStatus(
        name=name,
        namespace=meta.namespace,
        phase=phase,
        reason=reason,
        replicas_desired=desired,
        replicas_ready=ready,
        replicas_available=available,
        conditions=conditions,
        pods=pod_statuses,
        created_at=parse_time(meta.creation_timestamp),
        frontend_service=frontend_service_of(name, components),
        gpus=sum(component.replicas * component.gpus_per_replica for component in components),
        model_replicas=model_replica_counts(components, reported, pod_statuses),
    )


# --- phase ---------------------------------------------------------------------------------


def _phase(
    *,
    meta: Meta,
    status: Mapping[str, Any],
    conditions: tuple[Condition, ...],
    pod_count: int,
    troubled: Sequence[Mapping[str, Any]],
    events: Sequence[Mapping[str, Any]],
    desired: int,
    ready: int,
    now: datetime | None,
    failing_since: datetime | None,
) -> tuple[Phase, str]:
    if meta.deletion_timestamp:
        return "Terminating", _terminating_reason(pod_count)
    state = status.get("state")
    ready_condition = next((c for c in conditions if c.type == "Ready"), None)
    retrying = operator_retrying(status, now, failing_since)
    if retrying is not None:  # not the operator's last word yet: judge by the pods
        state, ready_condition = None, None
    if state == "failed":
        message = ready_condition.message or ready_condition.reason if ready_condition else ""
        return "Failed", one_line(message) or "the operator reports the deployment failed"
    if ready_condition and ready_condition.status == "False" and _names_failure(ready_condition):
        return "Failed", one_line(ready_condition.message) or ready_condition.reason
    failure = first_pod_failure(troubled, events, now)
    if failure and failure.persisting:
        return "Failed", failure.reason
    operator_ready = operator_says_ready(state, ready_condition.status if ready_condition else None)
    operator_silent = not state and ready_condition is None
    if ready >= desired and (operator_ready or (operator_silent and desired > 0)):
        return "Running", "ready" if desired else "scaled to 0 replicas"
    retry_note = f"; operator retrying: {retrying}" if retrying else ""
    if failure and failure.pending:
        return "Pending", one_line(f"{failure.reason} (retrying){retry_note}")
    pending_reason = _pending_reason(troubled, events, ready_condition, pod_count=pod_count)
    if pending_reason:
        return "Pending", one_line(pending_reason + retry_note)
    progress = f"{ready}/{desired} replicas ready"
    if failure:
        progress = f"{progress}; {failure.reason} (retrying)"
    return "Deploying", one_line(progress + retry_note)


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
        message = unschedulable_message(pod, events)
        if message is not None:
            return scheduling_reason(message, pod)
    if ready_condition and ready_condition.reason == "insufficient_capacity":
        return one_line(f"waiting for capacity: {ready_condition.message}".rstrip(": "))
    if not pod_count:
        return "waiting for the operator to create pods"
    return None
