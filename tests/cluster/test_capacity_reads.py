"""GPU capacity read over real HTTP from the stand-in: nodes and running pods, cached."""

from __future__ import annotations

import threading
from typing import Any

from bot.cluster import Cluster, PermissionCheck
from bot.cluster.capacity import ENABLE_HINT, CapacityCache, read_capacity
from bot.cluster.permissions import CAPACITY_PERMISSIONS
from bot.domain.capacity import Capacity
from bot.sim.operator.nodes import DEFAULT_FLEET, write_nodes


def gpu_pod(
    standin: Any, name: str, node: str | None, gpus: int, *, namespace: str = "default",
    phase: str = "Running",
) -> None:  # fmt: skip
    spec: dict[str, Any] = {
        "containers": [
            {"name": "main", "image": "x", "resources": {"limits": {"nvidia.com/gpu": str(gpus)}}}
        ]
    }
    if node:
        spec["nodeName"] = node
    standin.store.create(
        "pods",
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace},
            "spec": spec,
            "status": {"phase": phase},
        },
    )


def test_capacity_counts_the_gpus_of_running_pods_in_every_namespace(
    cluster: Cluster, standin: Any
) -> None:
    write_nodes(standin.store, DEFAULT_FLEET)
    gpu_pod(standin, "a", "sim-gpu-node-0", 3)
    gpu_pod(standin, "b", "sim-gpu-node-0", 2, namespace="dynamo-system")
    gpu_pod(standin, "c", "sim-gpu-node-2", 8)
    gpu_pod(standin, "done", "sim-gpu-node-1", 8, phase="Succeeded")  # holds nothing
    gpu_pod(standin, "waiting", None, 4, phase="Pending")  # no node yet: holds nothing
    standin.reset_api_calls()

    capacity = read_capacity(cluster)

    assert (capacity.node_count, capacity.total, capacity.free) == (3, 24, 11)
    h100, l40s = capacity.by_product()
    assert (h100.product, h100.free, h100.largest_free) == ("NVIDIA-H100-80GB-HBM3", 11, 8)
    assert (l40s.product, l40s.memory_gib, l40s.free) == ("NVIDIA-L40S", 45, 0)
    # Exactly the optional permissions, one list each.
    assert standin.api_calls() == {("list", "nodes"): 1, ("list", "pods"): 1}
    assert {(p.verb, p.resource) for p in CAPACITY_PERMISSIONS} == set(standin.api_calls())


def test_without_the_optional_permissions_capacity_is_unknown_with_how_to_enable_it(
    cluster: Cluster, standin: Any
) -> None:
    write_nodes(standin.store, DEFAULT_FLEET)
    standin.faults.forbid("list", "nodes")
    cache = CapacityCache(lambda: read_capacity(cluster))
    reading = cache.get(wait=5)
    assert reading.capacity is None
    assert reading.forbidden
    assert reading.unknown == ENABLE_HINT
    assert "manifests/capacity/" in reading.unknown


def test_the_optional_permissions_are_reviewed_cluster_wide(cluster: Cluster, standin: Any) -> None:
    standin.faults.forbid("list", "nodes")
    checks = cluster.check_permissions(["default"], permissions=CAPACITY_PERMISSIONS)
    assert [(c.resource, c.namespace, c.allowed) for c in checks] == [
        ("nodes", None, False),
        ("pods", None, True),
    ]
    assert all(isinstance(c, PermissionCheck) for c in checks)


# --- the cache ------------------------------------------------------------------------------


class Reads:
    """A read the test releases: counts calls, answers what the test says."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = threading.Event()
        self.answer: Capacity | Exception = Capacity((), 0)

    def __call__(self) -> Capacity:
        self.calls += 1
        self.release.wait(5)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_cold_cache_answers_unknown_at_once_and_reads_in_the_background() -> None:
    reads, clock = Reads(), Clock()
    cache = CapacityCache(reads, ttl=10, max_stale=60, clock=clock)
    first = cache.get()
    assert first.capacity is None and first.unknown
    reads.release.set()
    assert cache.wait_for_read(5)
    assert cache.get().capacity == Capacity((), 0)
    assert reads.calls == 1


def test_a_stale_answer_is_served_while_one_read_refreshes_it() -> None:
    reads, clock = Reads(), Clock()
    reads.release.set()
    cache = CapacityCache(reads, ttl=10, max_stale=60, clock=clock)
    cache.get(wait=5)
    clock.now = 20  # stale
    reads.release.clear()
    stale = cache.get()
    assert stale.capacity is not None and stale.age == 20
    cache.get()
    assert reads.calls == 2  # one refresh in flight, not one per caller
    reads.release.set()
    assert cache.wait_for_read(5)
    clock.now = 200  # too stale to trust
    reads.answer = RuntimeError("boom")
    reading = cache.get(wait=5)
    assert reading.capacity is None
    assert reading.unknown == "Unexpected error reading the cluster's GPU capacity."


def test_a_failed_read_backs_off() -> None:
    reads, clock = Reads(), Clock()
    reads.release.set()
    reads.answer = RuntimeError("boom")
    cache = CapacityCache(reads, ttl=10, max_stale=60, clock=clock)
    cache.get(wait=5)
    cache.get(wait=5)
    assert reads.calls == 1  # backing off
    clock.now = 6
    cache.get(wait=5)
    assert reads.calls == 2
