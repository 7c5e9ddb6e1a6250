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


class Component(NamedTuple):  # internal: a NamedTuple is cheaper to build than a dataclass
    name: str
    type: str
    replicas: int
    gpus_per_replica: int


class PodFailure(NamedTuple):
    reason: str
    persisting: bool
