"""GPU capacity: nodes and the pods on them -> free GPUs per node and per product, and whether a
request fits. Pure: no I/O (``bot.cluster.capacity`` reads the cluster and caches the answer).

What a node offers comes from its ``status.allocatable["nvidia.com/gpu"]`` (the NVIDIA device
plugin) and from the labels GPU Feature Discovery sets: ``nvidia.com/gpu.product``
(``NVIDIA-H100-80GB-HBM3``), ``nvidia.com/gpu.memory`` (MiB per GPU, as nvidia-smi reports it:
81559 for an H100 80GB) and ``nvidia.com/gpu.count``. A node takes no new pod when it is
cordoned (``spec.unschedulable``) or carries a ``NoSchedule``/``NoExecute`` taint the pods do
not tolerate; a ``nvidia.com/gpu`` taint is tolerated, as the ExtendedResourceToleration
admission plugin adds that toleration to every pod asking for GPUs. A pod holds its GPUs while
it is bound to a node (``spec.nodeName``) and has not ended (phase Succeeded or Failed); what
it holds is its effective request, the larger of its containers' sum and any one init
container (extended resources default their request to their limit).

A worker's model must fit its GPUs together: ``minGpuMemory`` GiB over ``gpus`` GPUs of one
node, so each GPU needs at least ``ceil(minGpuMemory / gpus)`` GiB.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "COUNT_LABEL",
    "GPU_RESOURCE",
    "MEMORY_LABEL",
    "PRODUCT_LABEL",
    "TIMES",
    "Capacity",
    "Fit",
    "GpuNode",
    "Need",
    "ProductFree",
    "build_capacity",
    "describe_product",
    "fit",
    "gpu_node",
    "model_fit",
    "plural",
    "pod_gpus",
    "product_name",
    "requested_gpus",
    "shortfall",
]

GPU_RESOURCE = "nvidia.com/gpu"
PRODUCT_LABEL = "nvidia.com/gpu.product"
MEMORY_LABEL = "nvidia.com/gpu.memory"
COUNT_LABEL = "nvidia.com/gpu.count"
TIMES = "\N{MULTIPLICATION SIGN}"
_BLOCKING_EFFECTS = frozenset({"NoSchedule", "NoExecute"})
_ENDED_PHASES = frozenset({"Succeeded", "Failed"})


@dataclass(frozen=True, slots=True)
class GpuNode:
    """One node as far as GPUs go; ``blocked`` says why it takes no new pod ("" = it does)."""

    name: str
    allocatable: int
    product: str = ""  # the GFD product label, "" when the node has none
    memory_gib: int | None = None  # per GPU, None when unlabelled
    blocked: str = ""
    used: int = 0

    @property
    def schedulable(self) -> bool:
        return not self.blocked

    @property
    def free(self) -> int:
        """GPUs a new pod could get here now."""
        return max(self.allocatable - self.used, 0) if self.schedulable else 0


@dataclass(frozen=True, slots=True)
class ProductFree:
    """The GPUs of one product across the schedulable nodes that have it."""

    product: str
    memory_gib: int | None
    nodes: int
    total: int
    free: int
    largest_free: int  # most free GPUs on one node

    @property
    def label(self) -> str:
        return describe_product(self.product, self.memory_gib)


@dataclass(frozen=True)
class Capacity:
    """Every node that has GPUs, with what running pods use, and how many nodes there are."""

    gpu_nodes: tuple[GpuNode, ...]
    node_count: int

    @property
    def total(self) -> int:
        return sum(n.allocatable for n in self.gpu_nodes if n.schedulable)

    @property
    def free(self) -> int:
        return sum(n.free for n in self.gpu_nodes)

    @property
    def used(self) -> int:
        return sum(min(n.used, n.allocatable) for n in self.gpu_nodes if n.schedulable)

    def by_product(self) -> list[ProductFree]:
        """Schedulable GPUs per (product, memory), the most free first."""
        groups: dict[tuple[str, int | None], list[GpuNode]] = {}
        for node in self.gpu_nodes:
            if node.schedulable:
                groups.setdefault((node.product, node.memory_gib), []).append(node)
        products = [
            ProductFree(
                product=product,
                memory_gib=memory,
                nodes=len(nodes),
                total=sum(n.allocatable for n in nodes),
                free=sum(n.free for n in nodes),
                largest_free=max(n.free for n in nodes),
            )
            for (product, memory), nodes in groups.items()
        ]
        return sorted(products, key=lambda p: (-p.free, -(p.memory_gib or 0), p.product))

    def blocked_nodes(self) -> list[GpuNode]:
        """GPU nodes that take no new pods (cordoned, tainted)."""
        return [n for n in self.gpu_nodes if not n.schedulable]


# --- reading nodes and pods (each called on one item as a list streams in) ----------------


def gpu_node(node: Mapping[str, Any]) -> GpuNode:
    """A Node object as :class:`GpuNode` (allocatable 0 for a node without GPUs)."""
    metadata = _dict(node.get("metadata"))
    labels = _dict(metadata.get("labels"))
    spec = _dict(node.get("spec"))
    allocatable = _count(_dict(_dict(node.get("status")).get("allocatable")).get(GPU_RESOURCE))
    memory_mib = _count(labels.get(MEMORY_LABEL))
    return GpuNode(
        name=str(metadata.get("name") or ""),
        allocatable=allocatable,
        product=str(labels.get(PRODUCT_LABEL) or ""),
        # nvidia-smi reports a little less than the marketed size (81559 MiB for 80 GB).
        memory_gib=round(memory_mib / 1024) if memory_mib else None,
        blocked=_blocked(spec),
    )


def pod_gpus(pod: Mapping[str, Any]) -> tuple[str, int] | None:
    """(node name, GPUs held) for a pod bound to a node and not ended; else None."""
    node = _dict(pod.get("spec")).get("nodeName")
    if not node or _dict(pod.get("status")).get("phase") in _ENDED_PHASES:
        return None
    gpus = requested_gpus(pod)
    return (str(node), gpus) if gpus else None


def requested_gpus(pod: Mapping[str, Any]) -> int:
    """The GPUs a pod asks for: the larger of its containers' sum and any init container."""
    spec = _dict(pod.get("spec"))
    containers = sum(_requested(c) for c in _list(spec.get("containers")))
    init = max((_requested(c) for c in _list(spec.get("initContainers"))), default=0)
    return max(containers, init)


def build_capacity(nodes: Iterable[GpuNode], usage: Iterable[tuple[str, int]]) -> Capacity:
    """Nodes with the GPUs the pods on them hold (``usage``: (node name, GPUs))."""
    used: dict[str, int] = {}
    for node_name, gpus in usage:
        used[node_name] = used.get(node_name, 0) + gpus
    count = 0
    gpu_nodes = []
    for node in nodes:
        count += 1
        if node.allocatable > 0:
            gpu_nodes.append(_with_used(node, used.get(node.name, 0)))
    gpu_nodes.sort(key=lambda n: n.name)
    return Capacity(gpu_nodes=tuple(gpu_nodes), node_count=count)


def _with_used(node: GpuNode, used: int) -> GpuNode:
    return GpuNode(node.name, node.allocatable, node.product, node.memory_gib, node.blocked, used)


# --- fit -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Need:
    """What a request asks of the cluster: ``workers`` pods of ``gpus_per_worker`` GPUs, each
    on one node, whose GPUs together hold ``model_gib`` (None: unknown model)."""

    gpus_per_worker: int
    workers: int
    model_gib: int | None = None

    @property
    def gpu_gib(self) -> int | None:
        """The memory each GPU needs."""
        if self.model_gib is None:
            return None
        return math.ceil(self.model_gib / max(self.gpus_per_worker, 1))


@dataclass(frozen=True)
class Fit:
    """Whether a request fits the cluster's GPUs at all (``ever``) and now, and why not."""

    ever: bool
    now: bool
    text: str  # "fits now", "will wait: ...", or why it never fits


def fit(capacity: Capacity, need: Need) -> Fit:
    """Does ``need`` fit the GPUs ``capacity`` has at all, and does it fit now?"""
    size = need.gpus_per_worker
    if size <= 0:
        return Fit(True, True, "fits now")
    usable = [n for n in capacity.gpu_nodes if n.schedulable]
    big_enough = [n for n in usable if n.allocatable >= size]
    if not big_enough:
        largest = max((n.allocatable for n in usable), default=0)
        have = f"the largest GPU node has {largest}" if usable else "no node takes GPU pods"
        return Fit(False, False, f"needs {plural(size, 'GPU')} on one node; {have}")
    eligible = [n for n in big_enough if _holds_model(n, need)]
    if not eligible:
        best = max((n.memory_gib or 0) for n in big_enough)
        return Fit(
            False,
            False,
            f"needs {plural(size, 'GPU')} of ≥ {need.gpu_gib} GiB on one node; the largest "
            f"GPUs on a node with {size} or more have {best} GiB",
        )
    ever_slots = sum(n.allocatable // size for n in eligible)
    if ever_slots < need.workers:
        return Fit(
            False,
            False,
            f"needs {need.workers} workers {TIMES} {plural(size, 'GPU')} on one node each; "
            f"the cluster's GPUs hold {ever_slots} at most",
        )
    free_slots = sum(n.free // size for n in eligible)
    if free_slots >= need.workers:
        return Fit(True, True, "fits now")
    largest_free = max(n.free for n in eligible)
    if need.workers == 1 or free_slots == 0:
        text = (
            f"will wait: needs {plural(size, 'GPU')} on one node, largest free block {largest_free}"
        )
    else:
        text = (
            f"will wait: needs {need.workers} workers {TIMES} {plural(size, 'GPU')} on one "
            f"node each, {free_slots} fit now"
        )
    return Fit(True, False, text)


def model_fit(capacity: Capacity, model_gib: int, *, max_gpus: int) -> str:
    """For the model picker: the fewest GPUs of one node that hold the model, e.g.
    "fits on 1 {TIMES} NVIDIA A100 80GB", or why no node of this cluster can."""
    usable = [n for n in capacity.gpu_nodes if n.schedulable]
    for gpus in range(1, max(max_gpus, 1) + 1):
        fitting = [n for n in usable if n.allocatable >= gpus and _holds(n, model_gib, gpus)]
        if fitting:
            # The smallest GPUs that do, free ones first: big ones stay for the models that
            # need them.
            node = min(fitting, key=functools.partial(_picker_order, gpus=gpus))
            now = "" if any(n.free >= gpus for n in fitting) else " (none free now)"
            product = describe_product(node.product, node.memory_gib)
            return f"fits on {gpus} {TIMES} {product}{now}"
    if not usable:
        return f"needs {model_gib} GiB of GPU memory; this cluster has no GPU node"
    return f"does not fit this cluster: needs {model_gib} GiB of GPU memory on one node"


def shortfall(capacity: Capacity) -> str:
    """What is free for a pod that waits for GPUs, e.g. "largest free block 2, 3 of 24 free"."""
    largest_free = max((n.free for n in capacity.gpu_nodes), default=0)
    return f"largest free block {largest_free}, {capacity.free} of {capacity.total} free"


def product_name(product: str) -> str:
    """``NVIDIA-H100-80GB-HBM3`` -> ``NVIDIA H100 80GB HBM3``; "" -> ``GPU``."""
    return product.replace("-", " ").strip() or "GPU"


def describe_product(product: str, memory_gib: int | None) -> str:
    """The product's name, with its memory when the name does not say it."""
    name = product_name(product)
    if memory_gib is None or "GB" in name.upper():
        return name
    return f"{name} {memory_gib} GiB"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


# --- helpers -------------------------------------------------------------------------------


def _picker_order(node: GpuNode, *, gpus: int) -> tuple[bool, int, int, str]:
    return node.free < gpus, node.memory_gib or 0, -node.free, node.name


def _holds_model(node: GpuNode, need: Need) -> bool:
    return need.model_gib is None or _holds(node, need.model_gib, need.gpus_per_worker)


def _holds(node: GpuNode, model_gib: int, gpus: int) -> bool:
    """Whether ``gpus`` GPUs of the node hold the model; unlabelled memory is taken to."""
    return node.memory_gib is None or node.memory_gib * gpus >= model_gib


def _blocked(spec: Mapping[str, Any]) -> str:
    if spec.get("unschedulable"):
        return "cordoned"
    for entry in _list(spec.get("taints")):
        taint = _dict(entry)
        key = str(taint.get("key") or "")
        if taint.get("effect") in _BLOCKING_EFFECTS and key != GPU_RESOURCE:
            value = taint.get("value")
            return f"tainted {key}={value}" if value else f"tainted {key}"
    return ""


def _requested(container: Any) -> int:
    resources = _dict(_dict(container).get("resources"))
    requests = _dict(resources.get("requests"))
    value = requests.get(GPU_RESOURCE)
    if value is None:
        value = _dict(resources.get("limits")).get(GPU_RESOURCE)
    return _count(value)


def _count(value: Any) -> int:
    """A whole-number quantity ("8", 8); anything else (absent, fractional, junk) is 0."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return max(value, 0)
    text = str(value or "").strip()
    return int(text) if text.isascii() and text.isdigit() else 0


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
