"""The simulated GPU nodes: labelled as GPU Feature Discovery labels them, served by the API,
filled by the operator's pods, and a pod that fits nowhere Pending with kube-scheduler's words."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from bot.domain.capacity import build_capacity, gpu_node, pod_gpus
from bot.sim.k8s.standin import StandIn
from bot.sim.k8s.store import Store
from bot.sim.operator.controller import SimOperator
from bot.sim.operator.nodes import DEFAULT_FLEET

from .conftest import FakeClock
from .test_operator import (
    DGD,
    NS,
    add_secret,
    events_of,
    make_dgd,
    pod_condition,
    step,
    worker_pods,
)


@pytest.fixture
def store() -> Store:
    store = Store()
    add_secret(store)
    return store


def capacity_in(store: Store) -> tuple[int, int]:
    """(free, total) GPUs as bot.domain.capacity reads the store's nodes and pods."""
    nodes = [gpu_node(n) for n in store.list("nodes")[0]]
    usage = [u for u in (pod_gpus(p) for p in store.list("pods")[0]) if u is not None]
    capacity = build_capacity(nodes, usage)
    return capacity.free, capacity.total


def test_the_default_fleet_has_two_gpu_products_labelled_as_gfd_labels_them(
    standin: StandIn, core: client.CoreV1Api
) -> None:
    operator = SimOperator(standin.store, ready_after=0)
    try:
        nodes = core.list_node().items
    finally:
        operator.stop()
    assert [n.metadata.name for n in nodes] == [n.name for n in DEFAULT_FLEET]
    labels = {n.metadata.labels["nvidia.com/gpu.product"] for n in nodes}
    assert labels == {"NVIDIA-H100-80GB-HBM3", "NVIDIA-L40S"}
    memory = {n.metadata.labels["nvidia.com/gpu.memory"] for n in nodes}
    assert memory == {"81559", "46068"}  # MiB, as nvidia-smi reports them
    assert all(n.status.allocatable["nvidia.com/gpu"] == "8" for n in nodes)
    assert all(n.metadata.labels["nvidia.com/gpu.count"] == "8" for n in nodes)


@pytest.mark.parametrize("version", ["v1beta1", "v1alpha1"])
def test_running_pods_take_gpus_of_a_node_and_give_them_back(
    version: str, store: Store, clock: FakeClock
) -> None:
    operator = SimOperator(store, ready_after=0, clock=clock)
    assert capacity_in(store) == (24, 24)
    store.create(DGD, make_dgd(version, gpus=4, replicas=2))
    step(operator, clock, to=0)
    assert capacity_in(store) == (16, 24)
    nodes = {p["spec"]["nodeName"] for p in worker_pods(store)}
    assert nodes == {"sim-gpu-node-0"}  # first fit: both on the first node

    store.delete(DGD, NS, "qwen")
    step(operator, clock, to=1)
    assert capacity_in(store) == (24, 24)
    operator.stop()


@pytest.mark.parametrize("version", ["v1beta1"])
def test_a_pod_that_fits_nowhere_gets_the_schedulers_message(
    version: str, store: Store, clock: FakeClock
) -> None:
    operator = SimOperator(store, ready_after=0, clock=clock)
    store.create(DGD, make_dgd(version, "big", gpus=8, replicas=3))
    store.create(DGD, make_dgd(version, "late", gpus=2))
    step(operator, clock, to=0)
    (late,) = worker_pods(store, "late")
    assert pod_condition(late, "PodScheduled")["reason"] == "Unschedulable"
    (event,) = events_of(store, late["metadata"]["name"])
    assert (event["reason"], event["source"]["component"]) == (
        "FailedScheduling",
        "default-scheduler",
    )
    assert event["message"] == (
        "0/3 nodes are available: 3 Insufficient nvidia.com/gpu. preemption: 0/3 nodes are "
        "available: 3 No preemption victims found for incoming pod."
    )
    operator.stop()


def cordon(store: Store, name: str, cordoned: bool = True) -> None:
    def change(node: dict[str, Any]) -> None:
        node["spec"]["unschedulable"] = cordoned

    store.update("nodes", None, name, change)


def test_a_cordoned_or_tainted_node_takes_no_new_pods_in_the_schedulers_words(
    store: Store, clock: FakeClock
) -> None:
    operator = SimOperator(store, ready_after=0, clock=clock)
    cordon(store, "sim-gpu-node-0")

    def taint(node: dict[str, Any]) -> None:
        node["spec"]["taints"] = [{"key": "team", "value": "ml", "effect": "NoSchedule"}]

    store.update("nodes", None, "sim-gpu-node-1", taint)
    store.create(DGD, make_dgd("v1beta1", "big", gpus=8))
    store.create(DGD, make_dgd("v1beta1", "late", gpus=1))
    step(operator, clock, to=0)

    (big,) = worker_pods(store, "big")
    assert big["spec"]["nodeName"] == "sim-gpu-node-2"
    (late,) = worker_pods(store, "late")
    (event,) = events_of(store, late["metadata"]["name"])
    assert event["message"] == (
        "0/3 nodes are available: 1 Insufficient nvidia.com/gpu, 1 node(s) had untolerated "
        "taint {team: ml}, 1 node(s) were unschedulable. preemption: 0/3 nodes are available: "
        "1 No preemption victims found for incoming pod, 2 Preemption is not helpful for "
        "scheduling."
    )
    # Uncordoning the node lets the waiting pod in, without any change to its DGD.
    cordon(store, "sim-gpu-node-0", cordoned=False)
    step(operator, clock, to=1)
    (late,) = worker_pods(store, "late")
    assert late["spec"]["nodeName"] == "sim-gpu-node-0"
    operator.stop()
