"""What the DGD itself says: components (desired replicas, GPUs) and the operator's status."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from bot.domain.status.model import GPU_RESOURCE, MAIN_CONTAINER, Component, Condition, PodStatus
from bot.domain.status.raw import as_dict, as_list
from bot.ops.redaction import redact

__all__ = [
    "components_of",
    "conditions_of",
    "frontend_service_of",
    "model_replica_counts",
    "operator_says_ready",
    "replica_counts",
]


# --- spec and operator status --------------------------------------------------------------


def components_of(spec: Mapping[str, Any]) -> tuple[Component, ...]:
    if "components" in spec:  # v1beta1: a list keyed by name
        return tuple(_v1beta1_component(c) for c in as_list(spec.get("components")))
    services = as_dict(spec.get("services"))  # v1alpha1: a map keyed by name
    return tuple(_v1alpha1_component(name, as_dict(s)) for name, s in services.items())


def _v1beta1_component(component: Mapping[str, Any]) -> Component:
    pod_spec = as_dict(as_dict(component.get("podTemplate")).get("spec"))
    resources: Mapping[str, Any] = {}
    for container in as_list(pod_spec.get("containers")):  # a loop: no generator per DGD
        if container.get("name") == MAIN_CONTAINER:
            resources = as_dict(container.get("resources"))
            break
    gpus = _gpu_count(as_dict(resources.get("limits")).get(GPU_RESOURCE)) or _gpu_count(
        as_dict(resources.get("requests")).get(GPU_RESOURCE)
    )
    return Component(
        name=str(component.get("name", "")),
        type=str(component.get("type", "")),
        replicas=_replicas(component),
        gpus_per_replica=gpus * _node_count(component),
    )


def _v1alpha1_component(name: str, service: Mapping[str, Any]) -> Component:
    resources = as_dict(service.get("resources"))
    gpus = _gpu_count(as_dict(resources.get("limits")).get("gpu")) or _gpu_count(
        as_dict(resources.get("requests")).get("gpu")
    )
    return Component(
        name=name,
        type=str(service.get("componentType", "")),
        replicas=_replicas(service),
        gpus_per_replica=gpus * _node_count(service),
    )


def _replicas(component: Mapping[str, Any]) -> int:
    replicas = component.get("replicas")
    return 1 if replicas is None else max(int(replicas), 0)


def _node_count(component: Mapping[str, Any]) -> int:
    return max(int(as_dict(component.get("multinode")).get("nodeCount") or 1), 1)


def _gpu_count(quantity: object) -> int:
    try:
        return max(int(str(quantity)), 0) if quantity is not None else 0
    except ValueError:
        return 0


def _component_counts(
    component: Component, reported: Mapping[str, Any], pods: tuple[PodStatus, ...]
) -> tuple[int, int]:
    """(ready, available) of one component; its pods stand in when it is unreported."""
    entry = as_dict(reported.get(component.name))
    if "readyReplicas" in entry or "availableReplicas" in entry:
        return int(entry.get("readyReplicas") or 0), int(entry.get("availableReplicas") or 0)
    from_pods = sum(1 for p in pods if p.ready and p.component == component.name)
    return from_pods, from_pods


def replica_counts(
    components: tuple[Component, ...],
    reported: Mapping[str, Any],
    pods: tuple[PodStatus, ...],
) -> tuple[int, int]:
    """(ready, available) summed over components; pods stand in for unreported ones."""
    counts = [_component_counts(c, reported, pods) for c in components]
    return sum(ready for ready, _ in counts), sum(available for _, available in counts)


def model_replica_counts(
    components: tuple[Component, ...],
    reported: Mapping[str, Any],
    pods: tuple[PodStatus, ...],
) -> tuple[int, int] | None:
    """(ready, desired) copies of the model: its workers, not the frontend. A copy needs one
    of each worker kind (prefill and decode when split), so the scarcest kind counts. None
    when the DGD has no worker."""
    workers = [c for c in components if c.type != "frontend"]
    if not workers:
        return None
    ready = min(min(_component_counts(c, reported, pods)[0], c.replicas) for c in workers)
    return ready, min(c.replicas for c in workers)


def conditions_of(raw: object) -> tuple[Condition, ...]:
    return tuple(
        Condition(
            type=str(c.get("type", "")),
            status=str(c.get("status", "")),
            reason=str(c.get("reason", "")),
            message=_redacted(str(c.get("message", ""))),  # shown in the details view
        )
        for c in as_list(raw)
    )


def operator_says_ready(state: object, ready: str | None) -> bool:
    """The operator's word that a deployment is ready: ``state`` ``successful``, or ``ready``
    (the status of its ``Ready`` condition) ``True``."""
    return state == "successful" or ready == "True"


def _redacted(message: str) -> str:
    # The operator writes the same few condition messages on most DGDs ("All resources are
    # ready"), and redaction (19 patterns) was half of a 10,000-DGD first sweep's status work;
    # long messages (one-offs, and costly to keep) are not remembered.
    return _redacted_short(message) if len(message) <= _MEMO_MAX_CHARS else redact(message)


_MEMO_MAX_CHARS = 512
_redacted_short = lru_cache(maxsize=1024)(redact)


def frontend_service_of(dgd_name: str, components: tuple[Component, ...]) -> str | None:
    for component in components:
        if component.type == "frontend":
            return f"{dgd_name}-{component.name.lower().replace('.', '-')}"
    return None
