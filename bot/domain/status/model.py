"""What a status is made of: the public result types and the constants the rules use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, NamedTuple

__all__ = [
    "COMPONENT_LABEL",
    "CRASH_LOOP_RESTARTS",
    "FAILURE_GRACE",
    "GPU_RESOURCE",
    "MAIN_CONTAINER",
    "RECONCILE_RETRY_WINDOW",
    "RETRIED_REASONS",
    "Component",
    "Condition",
    "DeploymentStatus",
    "Phase",
    "PodFailure",
    "PodStatus",
]

Phase = Literal["Pending", "Deploying", "Running", "Failed", "Terminating"]

CRASH_LOOP_RESTARTS = 3
FAILURE_GRACE = timedelta(seconds=30)
# How long the operator may report a reconcile error before Dynamote calls it a failure. The
# operator requeues a reconcile that returned an error with controller-runtime's default
# back-off (5 ms doubling, capped at 1000 s): three minutes cover about 15 retries, the last
# ones already 40-80 s apart. Conflicts, webhook timeouts and API server blips clear within
# the first few; an error still there after that is a real one (RBAC, a refused name).
RECONCILE_RETRY_WINDOW = timedelta(minutes=3)
# Ready reasons the operator writes when a reconcile returned an error and is requeued
# (Reconcile in its dynamographdeployment_controller.go). Not retried, so not listed:
# unsupported_workload_provider (terminal) and waiting_for_checkpoint (a pending state).
RETRIED_REASONS = frozenset(
    {
        "failed_to_reconcile_the_resources",
        "failed_to_handle_the_finalizer",
        "failed_to_initialize_worker_hash",
        "failed_to_migrate_worker_hash",
        "rolling_update_failed",
        "no_multinode_orchestrator_available",
        "selected_workload_provider_unavailable",
    }
)

COMPONENT_LABEL = "nvidia.com/dynamo-component"
GPU_RESOURCE = "nvidia.com/gpu"
MAIN_CONTAINER = "main"


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
    # (ready, desired) copies of the model, frontend left out; None: not known (no worker).
    model_replicas: tuple[int, int] | None = None


class Component(NamedTuple):  # internal: a NamedTuple is cheaper to build than a dataclass
    name: str
    type: str
    replicas: int
    gpus_per_replica: int


class PodFailure(NamedTuple):
    reason: str
    persisting: bool
    pending: bool = False  # the pod cannot start until it clears (an image that does not pull)
