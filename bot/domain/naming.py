"""The names the Dynamo operator derives from a DGD, and the longest DGD name they allow. Pure.

From the operator's source (``ai-dynamo/dynamo``, ``deploy/operator/internal/dynamo``):

- ``GetDCDResourceName`` (graph.go): each component's objects are named
  ``<dgd>-<component lowercased>``, and a worker component (type ``worker``, ``prefill`` or
  ``decode``; ``IsWorkerComponent``) gets ``-<worker hash>`` appended. The hash is the first 8
  hex digits of a SHA-256 (``ComputeV1beta1DGDWorkersSpecHash``, hash.go; since 2026-02).
  ``NormalizeKubeResourceName`` turns dots into '-'. That name is the Deployment's, the
  ``nvidia.com/selector`` pod label's and, with Kubernetes discovery (the default), the
  Service's, so it must fit a DNS label: 63 characters. Nothing shortens it.
- The Dynamo namespace is ``<k8s namespace>-<dgd>`` (``calculatedNamespace`` in the webhook's
  shared validation); it is the value of the ``nvidia.com/dynamo-namespace`` label: 63 at most.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "DNS_LABEL_MAX",
    "RFC1123_LABEL",
    "WORKER_HASH_LENGTH",
    "ComponentNames",
    "component_object_name",
    "dynamo_namespace",
    "is_worker_type",
    "max_dgd_name_length",
    "too_long",
]

# A Kubernetes name that must be a DNS label (namespaces, DGD names): RFC 1123.
RFC1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

DNS_LABEL_MAX = 63
WORKER_HASH_LENGTH = 8
_WORKER_TYPES = frozenset({"worker", "prefill", "decode"})


def is_worker_type(component_type: str) -> bool:
    """Worker components carry the worker hash in their object names."""
    return component_type in _WORKER_TYPES


def component_object_name(
    dgd_name: str, component: str, component_type: str, worker_hash: str = "0" * 8
) -> str:
    """``<dgd>-<component lowercased>[-<hash>]``, dots as '-', as the operator names objects."""
    base = f"{dgd_name}-{component.lower()}".replace(".", "-")
    return f"{base}-{worker_hash}" if is_worker_type(component_type) else base


def dynamo_namespace(namespace: str, dgd_name: str) -> str:
    """The ``nvidia.com/dynamo-namespace`` label value: ``<namespace>-<dgd>``."""
    return f"{namespace}-{dgd_name}".replace(".", "-")


@dataclass(frozen=True)
class ComponentNames:
    """The longest DGD name, and which derived name sets it."""

    limit: int
    because: str  # e.g. "<name>-vllmprefillworker-<8 hex>" or "<namespace>-<name>"


def max_dgd_name_length(namespace: str, components: Iterable[tuple[str, str]]) -> ComponentNames:
    """The longest DGD name whose derived names all fit 63, for these (name, type) components."""
    best = ComponentNames(
        DNS_LABEL_MAX - len(dynamo_namespace(namespace, "")),
        f"its Dynamo namespace {namespace}-<name>",
    )
    for component, component_type in components:
        suffix = component_object_name("", component, component_type, "x" * WORKER_HASH_LENGTH)
        limit = DNS_LABEL_MAX - len(suffix)
        if limit < best.limit:
            shown = suffix.removesuffix("x" * WORKER_HASH_LENGTH)
            if is_worker_type(component_type):
                shown += f"<{WORKER_HASH_LENGTH} hex>"
            best = ComponentNames(limit, f"the {component} pods and Service <name>{shown}")
    return best


def too_long(dgd_name: str, namespace: str, components: Iterable[tuple[str, str]]) -> list[str]:
    """Every derived name longer than 63 characters (empty when the DGD name fits)."""
    names = [dynamo_namespace(namespace, dgd_name)]
    names += [component_object_name(dgd_name, c, t) for c, t in components]
    return [name for name in names if len(name) > DNS_LABEL_MAX]
