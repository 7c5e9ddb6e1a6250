"""GPU scheduling for the simulated operator: the simulated nodes' GPUs, shared by all DGDs.

A pod goes to the first node (``bot.sim.operator.nodes``) that takes new pods (not cordoned, no
taint it does not tolerate, as the node object in the Store says now) with enough free GPUs that
together hold its model (the catalog's ``minGpuMemory``, GiB, over the pod's GPUs; a stand-in
for the node selector a real deployment would carry). When no node does, the pod stays Pending
and the scheduler's ``FailedScheduling`` message says why, per node, in the real scheduler's
words (kube-scheduler's FitError: reasons counted over nodes, sorted, then the preemption
verdict), e.g. "0/3 nodes are available: 3 Insufficient nvidia.com/gpu. preemption: 0/3 nodes
are available: 3 No preemption victims found for incoming pod.". A node whose GPUs are too
small for the model also counts as Insufficient nvidia.com/gpu. ``GpuPool`` counts free GPUs
per node; ``PodTracks`` remembers, per DGD, the pods the operator has seen and the node and
GPUs each holds, so a pod that goes away (deleted by the operator or behind its back) gives
them back.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.sim.operator.nodes import SimNode, node_name
from bot.sim.operator.plan import GPU, ComponentPlan
from bot.sim.operator.pods import is_ready

__all__ = ["GpuPool", "PodTrack", "PodTracks", "node_name"]

Key = tuple[str, str]  # (namespace, name)
_log = logging.getLogger(__name__)
_INSUFFICIENT = f"Insufficient {GPU}"
_NO_VICTIMS = "No preemption victims found for incoming pod"
_NOT_HELPFUL = "Preemption is not helpful for scheduling"


def _histogram(counts: Counter[str]) -> str:
    """kube-scheduler's reason list: "2 Insufficient nvidia.com/gpu, 1 node(s) were ...",
    each "count reason", sorted as text."""
    return ", ".join(sorted(f"{count} {reason}" for reason, count in counts.items()))


class GpuPool:
    """Free GPUs per simulated node; a model's memory (for the kubelet's out-of-memory) is
    read from the catalog on first use.

    ``read_node`` gives a node's object as the API server holds it now, so a node cordoned
    (``spec.unschedulable``), tainted or deleted with kubectl takes no new pods, as on a real
    cluster; without it every node of the fleet takes pods.
    """

    def __init__(
        self,
        fleet: Sequence[SimNode],
        read_node: Callable[[str], Mapping[str, Any] | None] | None = None,
    ) -> None:
        self._fleet = tuple(fleet)
        self._free = [node.gpus for node in self._fleet]
        self._index = {node.name: i for i, node in enumerate(self._fleet)}
        self._read_node = read_node
        self._min_gpu_memory: Callable[[str], int | None] | None = None

    def place(self, plan: ComponentPlan) -> int | None:
        """First node with enough free GPUs (and GPUs big enough for the model), or None."""
        for node, free in enumerate(self._free):
            # Only GPUs count: the scheduler knows nothing of a model's weights (a model too
            # big for its GPUs is placed, and its worker runs out of memory:
            # bot.sim.operator.crashes).
            if free >= plan.gpus and self._refusal(node, plan) == "":
                self._free[node] -= plan.gpus
                return node
        return None

    def adopt(self, name: str, gpus: int) -> int:
        """Count ``gpus`` as taken on the node called ``name`` (a pod found there); its index."""
        node = self._index.get(name, 0)
        self._free[node] -= gpus
        return node

    def release(self, node: int, gpus: int) -> None:
        """Give ``gpus`` back to ``node``."""
        self._free[node] += gpus

    def unschedulable_message(self, plan: ComponentPlan) -> str:
        """What kube-scheduler says about ``plan``'s pod, which fits no node now: each
        node's reason counted, the counts sorted as text, then the preemption verdict."""
        reasons: Counter[str] = Counter()
        preemption: Counter[str] = Counter()
        for index in range(len(self._fleet)):
            refusal = self._refusal(index, plan)
            if refusal is None:
                continue  # no such node any more
            if refusal:
                reasons[refusal] += 1
                preemption[_NOT_HELPFUL] += 1
            elif self._free[index] < plan.gpus:
                reasons[_INSUFFICIENT] += 1
                preemption[_NO_VICTIMS] += 1
        nodes = sum(reasons.values())
        return (
            f"0/{nodes} nodes are available: {_histogram(reasons)}. preemption: "
            f"0/{nodes} nodes are available: {_histogram(preemption)}."
        )

    def _refusal(self, index: int, plan: ComponentPlan) -> str | None:
        """Why the node takes no pod of ``plan`` whatever its GPUs ("" = it takes them);
        None when the node is gone."""
        if self._read_node is None:
            return ""
        node = self._read_node(self._fleet[index].name)
        if node is None:
            return None
        spec = node.get("spec") or {}
        if spec.get("unschedulable"):
            return "node(s) were unschedulable"
        for taint in spec.get("taints") or ():
            if taint.get("effect") not in ("NoSchedule", "NoExecute"):
                continue
            # ExtendedResourceToleration: pods asking for GPUs tolerate the GPU taint.
            if taint.get("key") == GPU and plan.gpus > 0:
                continue
            return f"node(s) had untolerated taint {{{taint.get('key')}: {taint.get('value', '')}}}"
        return ""

    def memory_gib(self, node: int) -> int:
        """GiB per GPU of ``node``, as bot.domain.capacity reads the GFD label: nvidia-smi's MiB,
        rounded."""
        return round(self._fleet[node].memory_mib / 1024)

    def model_memory(self, model_id: str) -> int | None:
        """The catalog's ``minGpuMemory`` of a model (GiB); None when unknown."""
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


def _catalog_lookup() -> Callable[[str], int | None]:
    """model id -> minGpuMemory (GiB) from the catalog; unknown models (or no catalog) fit."""
    try:
        from bot.domain.catalog import load_catalog  # noqa: PLC0415  (the catalog is optional here)

        catalog = load_catalog()
    except Exception:  # no catalog, or a broken one: every model is assumed to fit
        _log.warning("No model catalog: the simulator assumes every model fits its GPUs")
        return lambda _model_id: None

    def lookup(model_id: str) -> int | None:
        model = catalog.get(model_id)
        return model.min_gpu_memory if model is not None else None

    return lookup
