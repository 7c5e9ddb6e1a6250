"""What the bot keeps of a listed DGD or pod: the fields status and listings read, no more.

A sweep lists every managed DGD (and, while some are starting, their pods) each interval. As
decoded JSON a DGD costs about 14 KB of Python objects, most of it the pod template of each
component (image, command, args, env) and, on a real cluster, ``metadata.managedFields``. None
of that decides a status, so list answers are projected item by item as they are parsed
(``bot.cluster.listing``) and the full objects are never all alive at once.

What is kept is exactly what ``bot.domain.status.compute_status`` and ``bot.domain.deployments``
read; ``tests/cluster/test_slim.py`` checks that both give the same answer for a slim object as for
the full one over every example and simulated state. A single ``get`` still returns the
whole object.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["slim_dgd", "slim_pod"]

Obj = dict[str, Any]

# Per component (v1beta1 list entry or v1alpha1 map value): what sizes and counts it.
_COMPONENT_KEYS = (
    "name",
    "type",
    "componentType",
    "subComponentType",
    "replicas",
    "multinode",
    "resources",
)
_CONTAINER_KEYS = ("name", "image", "resources")


def slim_dgd(dgd: Obj) -> Obj:
    """The DGD with its metadata, status and a spec reduced to components' sizes."""
    slim = _with_slim_metadata(dgd)
    spec = dgd.get("spec")
    if isinstance(spec, Mapping):
        slim["spec"] = _slim_dgd_spec(spec)
    return slim


def slim_pod(pod: Obj) -> Obj:
    """The pod with its metadata, status, node and containers' names, images and resources."""
    slim = _with_slim_metadata(pod)
    spec = pod.get("spec")
    if isinstance(spec, Mapping):
        kept: Obj = {}
        if "nodeName" in spec:
            kept["nodeName"] = spec["nodeName"]
        for key in ("containers", "initContainers"):
            if isinstance(spec.get(key), list):
                kept[key] = [_pick(c, _CONTAINER_KEYS) for c in spec[key]]
        slim["spec"] = kept
    return slim


def _with_slim_metadata(obj: Obj) -> Obj:
    slim = dict(obj)
    metadata = obj.get("metadata")
    if isinstance(metadata, Mapping) and "managedFields" in metadata:
        # Server-side apply's bookkeeping: often the largest part of a real object.
        slim["metadata"] = {k: v for k, v in metadata.items() if k != "managedFields"}
    return slim


def _slim_dgd_spec(spec: Mapping[str, Any]) -> Obj:
    slim: Obj = {}
    if "backendFramework" in spec:
        slim["backendFramework"] = spec["backendFramework"]
    components = spec.get("components")
    if isinstance(components, list):  # v1beta1
        slim["components"] = [_slim_component(c) for c in components]
    services = spec.get("services")
    if isinstance(services, Mapping):  # v1alpha1
        slim["services"] = {name: _slim_component(s) for name, s in services.items()}
    return slim


def _slim_component(component: Any) -> Any:
    if not isinstance(component, Mapping):
        return component  # malformed: keep it as it is, status copes with that
    slim = _pick(component, _COMPONENT_KEYS)
    template = component.get("podTemplate")
    if isinstance(template, Mapping):  # v1beta1 GPUs live on the main container
        pod_spec = template.get("spec")
        containers = pod_spec.get("containers") if isinstance(pod_spec, Mapping) else None
        if isinstance(containers, list):
            slim["podTemplate"] = {
                "spec": {"containers": [_pick(c, _CONTAINER_KEYS) for c in containers]}
            }
    return slim


def _pick(obj: Any, keys: tuple[str, ...]) -> Any:
    if not isinstance(obj, Mapping):
        return obj
    return {key: obj[key] for key in keys if key in obj}
