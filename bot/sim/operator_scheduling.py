"""GPU scheduling for the simulated operator: ``nodes x gpus_per_node`` GPUs shared by all DGDs.

A pod goes to the first node with enough free GPUs; it does not fit when it asks for more GPUs
than any node has free, or when the catalog says its model needs more memory than its GPUs
hold together. Then it stays Pending with the scheduler's "Insufficient nvidia.com/gpu"
message, which Dynamote turns into "waiting for GPUs". ``GpuPool`` counts free GPUs per node;
``PodTracks`` remembers, per DGD, the pods the operator has seen and the node and GPUs each
holds, so a pod that goes away (deleted by the operator or behind its back) gives them back.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.sim.operator_plan import GPU, ComponentPlan
from bot.sim.operator_pods import is_ready

__all__ = ["GpuPool", "PodTrack", "PodTracks", "node_name"]

Key = tuple[str, str]  # (namespace, name)
_log = logging.getLogger(__name__)


def node_name(index: int) -> str:
    """The name of simulated node ``index``."""
    return f"sim-gpu-node-{index}"


class GpuPool:
    """Free GPUs per simulated node; the model memory check reads the catalog on first use."""

    def __init__(self, *, nodes: int, gpus_per_node: int, gpu_memory_gib: int) -> None:
        self._free = [gpus_per_node] * nodes
        self._gpu_memory_gib = gpu_memory_gib
        self._min_gpu_memory: Callable[[str], int | None] | None = None

    def place(self, plan: ComponentPlan) -> int | None:
        """First node with enough free GPUs (and GPUs big enough for the model), or None."""
        if plan.gpus > 0 and not self._model_fits(plan):
            return None
        for node, free in enumerate(self._free):
            if free >= plan.gpus:
                self._free[node] -= plan.gpus
                return node
        return None

    def adopt(self, name: str, gpus: int) -> int:
        """Count ``gpus`` as taken on the node called ``name`` (a pod found there); its index."""
        node = _node_index(name) % len(self._free)
        self._free[node] -= gpus
        return node

    def release(self, node: int, gpus: int) -> None:
        """Give ``gpus`` back to ``node``."""
        self._free[node] += gpus

    def unschedulable_message(self) -> str:
        """What the scheduler says about a pod that fits nowhere."""
        nodes = len(self._free)
        return f"0/{nodes} nodes are available: {nodes} Insufficient {GPU}."

    def _model_fits(self, plan: ComponentPlan) -> bool:
        if plan.model is None:
            return True
        needed = self._model_memory(plan.model)
        return needed is None or needed <= self._gpu_memory_gib * plan.gpus

    def _model_memory(self, model_id: str) -> int | None:
        if self._min_gpu_memory is None:
            self._min_gpu_memory = _catalog_lookup()
        return self._min_gpu_memory(model_id)


@dataclass
class PodTrack:
    """The simulator's memory of one pod (mutable, internal)."""

    gpus: int
    node: int | None = None
    started: float | None = None  # clock time its containers could start
    pull_failed: float | None = None  # clock time of the first failed image pull


class PodTracks:
    """The pods the operator has seen, by DGD, with the node and GPUs each holds."""

    def __init__(self, pool: GpuPool) -> None:
        self._pool = pool
        self._tracks: dict[Key, PodTrack] = {}
        self._pods_of: dict[Key, set[str]] = {}  # DGD -> names of its tracked pods

    def track(self, dgd: Key, pod: Mapping[str, Any], plan: ComponentPlan) -> PodTrack:
        """The pod's track; a pod this operator did not create is adopted as it stands."""
        pod_key = (pod["metadata"]["namespace"], pod["metadata"]["name"])
        track = self._tracks.get(pod_key)
        if track is None:
            track = PodTrack(gpus=plan.gpus)
            name = pod["spec"].get("nodeName")
            if name:
                track.node = self._pool.adopt(name, plan.gpus)
            if is_ready(pod):
                track.started = -math.inf
            self._tracks[pod_key] = track
            self._pods_of.setdefault(dgd, set()).add(pod_key[1])
        return track

    def release(self, pod_key: Key) -> bool:
        """Forget the pod; whether that gave GPUs back."""
        track = self._tracks.pop(pod_key, None)
        if track is None or track.node is None:
            return False
        self._pool.release(track.node, track.gpus)
        return True

    def keep_only(self, dgd: Key, present: set[str]) -> bool:
        """Release the DGD's pods not in ``present``; whether that gave GPUs back."""
        tracked = self._pods_of.get(dgd, set())
        freed = False
        for pod_name in tracked - present:
            freed = self.release((dgd[0], pod_name)) or freed
        tracked &= present
        return freed

    def forget(self, dgd: Key) -> None:
        """The DGD is gone (its pods released already)."""
        self._pods_of.pop(dgd, None)


def _node_index(name: str) -> int:
    tail = name.rsplit("-", 1)[-1]
    return int(tail) if tail.isascii() and tail.isdigit() else 0


def _catalog_lookup() -> Callable[[str], int | None]:
    """model id -> minGpuMemory (GiB) from the catalog; unknown models (or no catalog) fit."""
    try:
        from bot.catalog import load_catalog  # noqa: PLC0415  (the catalog is optional here)

        catalog = load_catalog()
    except Exception:  # no catalog, or a broken one: every model is assumed to fit
        _log.warning("No model catalog: the simulator assumes every model fits its GPUs")
        return lambda _model_id: None

    def lookup(model_id: str) -> int | None:
        model = catalog.get(model_id)
        return model.min_gpu_memory if model is not None else None

    return lookup
