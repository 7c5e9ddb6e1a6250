"""Reading a DGD for the simulated operator: its components as ``ComponentPlan`` values.

The two API versions describe a component differently: ``nvidia.com/v1beta1`` lists
``spec.components`` with a pod template whose ``main`` container is the worker, while
``nvidia.com/v1alpha1`` maps ``spec.services`` names to an ``extraPodSpec.mainContainer`` plus
``resources`` and ``envFromSecret``. Both become the same frozen ``ComponentPlan`` here, so the
scheduler, the kubelet and the status writer never look at a spec again. What the real operator
adds to a frontend (command, port, env) is added here too, and a DGD it could not render (a
component without image or main container) is refused with ``SpecError``.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from bot.sim.k8s.store import copy_json

__all__ = [
    "FRONTEND_PORT",
    "GPU",
    "SYSTEM_PORT",
    "WORKER_TYPES",
    "ComponentPlan",
    "SpecError",
    "image_tag",
    "plan_components",
]

GPU = "nvidia.com/gpu"
FRONTEND_PORT = 8000  # DynamoServicePort, named "http"
SYSTEM_PORT = 9090  # the worker system/health port, named "system"
# Components whose objects carry the worker hash (isWorkerComponent in the operator's
# api/v1beta1/worker_hash.go): every worker generation gets its own Deployment and Service.
WORKER_TYPES = frozenset({"worker", "prefill", "decode"})
_WORKER_HASH_VERSION = "dgd-worker-rollout-v2"

Obj = dict[str, Any]


class SpecError(ValueError):
    """The DGD cannot be turned into pods; the operator reports state ``failed``."""


@dataclass(frozen=True)
class ComponentPlan:
    """What one DGD component becomes: ``replicas`` pods running ``container``."""

    name: str
    type: str
    sub_type: str | None
    replicas: int
    gpus: int
    container: Mapping[str, Any]
    secrets: tuple[str, ...]
    model: str | None
    spec_hash: str
    worker_hash: str | None = None  # set on worker, prefill and decode components

    @property
    def resource_name(self) -> str:
        """``<component>`` as it appears in child resource names, with the worker hash.

        Lowercased, dots -> hyphens (``NormalizeKubeResourceName``), and ``-<8 hex>`` on
        worker components, as the operator names their Deployment, Service and selector label.
        """
        base = self.name.lower().replace(".", "-")
        return f"{base}-{self.worker_hash}" if self.worker_hash else base

    @property
    def is_worker(self) -> bool:
        return self.type in WORKER_TYPES or self.sub_type in ("prefill", "decode")


def plan_components(dgd: Mapping[str, Any]) -> tuple[ComponentPlan, ...]:
    """The components of a DGD of either API version, in spec order. Raises SpecError."""
    spec = dgd.get("spec") or {}
    if "components" in spec:
        plans = tuple(_plan_v1beta1(c) for c in spec.get("components") or [])
    else:
        services = (spec.get("services") or {}).items()
        plans = tuple(_plan_v1alpha1(n, s or {}) for n, s in services)
    hashed = worker_hash(spec, plans)
    return tuple(replace(p, worker_hash=hashed) if p.is_worker else p for p in plans)


def worker_hash(spec: Mapping[str, Any], plans: tuple[ComponentPlan, ...]) -> str:
    """8 hex digits of a SHA-256 over the worker components' specs, as the operator hashes them.

    The operator (``ComputeDGDWorkersSpecHash``) hashes a versioned JSON document of the
    backend framework and each worker's pod-shaping fields, keyed by component name and with
    replicas left out, so scaling keeps the name and a new image or flag makes a new one.
    The same shape here, over the rendered main containers: deterministic, not byte-equal.
    """
    document = {
        "version": _WORKER_HASH_VERSION,
        "backendFramework": spec.get("backendFramework") or "",
        "workers": {
            plan.name: {"type": plan.sub_type or plan.type, "container": plan.container}
            for plan in sorted(plans, key=lambda p: p.name)
            if plan.is_worker
        },
    }
    data = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(data).hexdigest()[:8]


def image_tag(image: str) -> str | None:
    """The tag of ``registry/repo:tag``; None for a digest (always pullable here)."""
    if "@" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else "latest"


def _plan_v1beta1(component: Mapping[str, Any]) -> ComponentPlan:
    name = str(component.get("name", ""))
    containers = ((component.get("podTemplate") or {}).get("spec") or {}).get("containers") or []
    main = next((c for c in containers if c.get("name") == "main"), None)
    if main is None:
        raise SpecError(f"component {name} has no container named main")
    container = copy_json(main)
    limits = (container.get("resources") or {}).get("limits") or {}
    secrets = [
        ref["secretRef"]["name"]
        for ref in container.get("envFrom") or []
        if (ref.get("secretRef") or {}).get("name") and not ref["secretRef"].get("optional")
    ]
    return _plan(
        name=name,
        component_type=str(component.get("type", "")),
        sub_type=None,
        replicas=component.get("replicas"),
        gpus=limits.get(GPU),
        container=container,
        secrets=secrets,
    )


def _plan_v1alpha1(name: str, service: Mapping[str, Any]) -> ComponentPlan:
    container: Obj = {
        "name": "main",
        **copy_json((service.get("extraPodSpec") or {}).get("mainContainer") or {}),
    }
    resources = service.get("resources") or {}
    gpus = (resources.get("limits") or {}).get("gpu") or (resources.get("requests") or {}).get(
        "gpu"
    )
    if gpus:
        container["resources"] = {"limits": {GPU: str(gpus)}, "requests": {GPU: str(gpus)}}
    secret = service.get("envFromSecret")
    if secret:
        container.setdefault("envFrom", []).append({"secretRef": {"name": secret}})
    return _plan(
        name=name,
        component_type=str(service.get("componentType", "")),
        sub_type=service.get("subComponentType"),
        replicas=service.get("replicas"),
        gpus=gpus,
        container=container,
        secrets=[secret] if secret else [],
    )


def _plan(
    *,
    name: str,
    component_type: str,
    sub_type: str | None,
    replicas: object,
    gpus: object,
    container: Obj,
    secrets: list[str],
) -> ComponentPlan:
    if not container.get("image"):
        raise SpecError(f"component {name} has no image")
    if component_type == "frontend":
        _inject_frontend(container)
    else:
        _inject_system_port(container)
    return ComponentPlan(
        name=name,
        type=component_type,
        sub_type=sub_type,
        replicas=1 if replicas is None else max(int(str(replicas)), 0),
        gpus=int(str(gpus)) if gpus else 0,
        container=container,
        secrets=tuple(secrets),
        model=_model_argument(container.get("args") or []),
        spec_hash=f"{zlib.crc32(json.dumps(container, sort_keys=True).encode()):08x}",
    )


def _inject_frontend(container: Obj) -> None:
    """What the operator adds to a frontend (its frontend defaults: command, port, env)."""
    container.setdefault("command", ["python3", "-m", "dynamo.frontend"])
    container.setdefault(
        "ports", [{"name": "http", "containerPort": FRONTEND_PORT, "protocol": "TCP"}]
    )
    env = container.setdefault("env", [])
    if not any(e.get("name") == "DYN_HTTP_PORT" for e in env):
        env.append({"name": "DYN_HTTP_PORT", "value": str(FRONTEND_PORT)})


def _inject_system_port(container: Obj) -> None:
    """The system (health, metrics) port the operator gives every non-frontend container."""
    ports = container.setdefault("ports", [])
    if not any(p.get("name") == "system" for p in ports):
        ports.append({"name": "system", "containerPort": SYSTEM_PORT, "protocol": "TCP"})


def _model_argument(args: list[Any]) -> str | None:
    """The model id from ``--model X``, ``--model-path X`` or their ``=`` forms."""
    for index, arg in enumerate(args):
        text = str(arg)
        for flag in ("--model", "--model-path"):
            if text == flag and index + 1 < len(args):
                return str(args[index + 1])
            if text.startswith(flag + "="):
                return text.split("=", 1)[1]
    return None
