"""The simulated cluster's GPU nodes, as the NVIDIA GPU Operator leaves them.

Each node has ``nvidia.com/gpu`` in ``status.capacity`` and ``status.allocatable`` (what the
device plugin advertises) and the labels GPU Feature Discovery writes:
``nvidia.com/gpu.present``, ``nvidia.com/gpu.product`` (the product name with dashes),
``nvidia.com/gpu.memory`` (MiB per GPU as nvidia-smi reports it, so a little less than the
marketed size: 81559 for an H100 80GB, 46068 for an L40S 48GB) and ``nvidia.com/gpu.count``.
The default fleet has two products of different memory, so fit and "free by product" have
something to tell apart. Pure: rendering only; ``write_nodes`` puts them in the Store.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.sim.k8s.store import AlreadyExists, Store
from bot.sim.operator.plan import GPU

__all__ = [
    "DEFAULT_FLEET",
    "SimNode",
    "node_address",
    "node_name",
    "render_node",
    "uniform_fleet",
    "write_nodes",
]


@dataclass(frozen=True)
class SimNode:
    """One simulated node: its name, GPUs and their product and memory (MiB per GPU)."""

    name: str
    gpus: int
    product: str
    memory_mib: int
    family: str = ""


def node_name(index: int) -> str:
    """The name of simulated node ``index``."""
    return f"sim-gpu-node-{index}"


# 24 GPUs in all, at most 8 on one node: two H100 80GB nodes and an L40S 48GB one.
DEFAULT_FLEET: tuple[SimNode, ...] = (
    SimNode(node_name(0), 8, "NVIDIA-H100-80GB-HBM3", 81559, "hopper"),
    SimNode(node_name(1), 8, "NVIDIA-H100-80GB-HBM3", 81559, "hopper"),
    SimNode(node_name(2), 8, "NVIDIA-L40S", 46068, "ada-lovelace"),
)


def uniform_fleet(*, nodes: int, gpus_per_node: int, gpu_memory_gib: int) -> tuple[SimNode, ...]:
    """``nodes`` alike nodes (tests that need one exact shape)."""
    product = f"NVIDIA-SIM-{gpu_memory_gib}GB"
    return tuple(
        SimNode(node_name(i), gpus_per_node, product, gpu_memory_gib * 1024) for i in range(nodes)
    )


def node_address(index: int) -> str:
    """The node's InternalIP, which its pods report as hostIP."""
    return f"10.0.0.{10 + index}"


def render_node(node: SimNode, index: int) -> dict[str, Any]:
    """The Node object the API server holds for ``node``."""
    labels = {
        "kubernetes.io/hostname": node.name,
        "kubernetes.io/os": "linux",
        "nvidia.com/gpu.present": "true",
        "nvidia.com/gpu.product": node.product,
        "nvidia.com/gpu.memory": str(node.memory_mib),
        "nvidia.com/gpu.count": str(node.gpus),
    }
    if node.family:
        labels["nvidia.com/gpu.family"] = node.family
    resources = {
        "cpu": "64",
        "memory": "527937232Ki",
        "pods": "110",
        GPU: str(node.gpus),
    }
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": node.name, "labels": labels},
        "spec": {"podCIDR": f"10.244.{index}.0/24"},
        "status": {
            "capacity": dict(resources),
            "allocatable": dict(resources),
            "addresses": [
                {"type": "InternalIP", "address": node_address(index)},
                {"type": "Hostname", "address": node.name},
            ],
            "conditions": [
                {"type": "Ready", "status": "True", "reason": "KubeletReady"},
            ],
        },
    }


def write_nodes(store: Store, fleet: Sequence[SimNode]) -> None:
    """Create the fleet's Node objects; nodes already there (a restarted operator) stay."""
    for index, node in enumerate(fleet):
        with contextlib.suppress(AlreadyExists):
            store.create("nodes", render_node(node, index))
