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

import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.sim.store import copy_json

__all__ = [
    "FRONTEND_PORT",
    "GPU",
    "ComponentPlan",
    "SpecError",
    "image_tag",
    "plan_components",
]

GPU = "nvidia.com/gpu"
FRONTEND_PORT = 8000

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

    @property
    def resource_name(self) -> str:
        """``<component>`` as it appears in child resource names: lowercased, dots -> hyphens."""
        return self.name.lower().replace(".", "-")


def plan_components(dgd: Mapping[str, Any]) -> tuple[ComponentPlan, ...]:
    """The components of a DGD of either API version, in spec order. Raises SpecError."""
    spec = dgd.get("spec") or {}
    if "components" in spec:
        return tuple(_plan_v1beta1(c) for c in spec.get("components") or [])
    return tuple(_plan_v1alpha1(n, s or {}) for n, s in (spec.get("services") or {}).items())


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
    """What the operator adds to a frontend (NOTES.md, "How each engine's worker is launched")."""
    container.setdefault("command", ["python3", "-m", "dynamo.frontend"])
    container.setdefault("ports", [{"name": "http", "containerPort": FRONTEND_PORT}])
    env = container.setdefault("env", [])
    if not any(e.get("name") == "DYN_HTTP_PORT" for e in env):
        env.append({"name": "DYN_HTTP_PORT", "value": str(FRONTEND_PORT)})


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
