"""Free GPUs per node and product from nodes and pods, and whether a request fits (pure)."""

from __future__ import annotations

from typing import Any

from bot.domain.capacity import (
    Capacity,
    GpuNode,
    Need,
    build_capacity,
    fit,
    gpu_node,
    model_fit,
    pod_gpus,
    shortfall,
)
from bot.domain.status import compute_status
from tests.domain.test_status import GPU_MESSAGE, make_dgd, make_event, make_pod

# Label values as GPU Feature Discovery writes them: the product with dashes, memory in MiB
# as nvidia-smi reports it (81559 MiB for an H100 80GB, 46068 MiB for an L40S 48GB).
H100 = ("NVIDIA-H100-80GB-HBM3", "81559")
L40S = ("NVIDIA-L40S", "46068")


def node(name: str, gpus: int, gpu: tuple[str, str] = H100, **spec: Any) -> dict[str, Any]:
    product, memory = gpu
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "nvidia.com/gpu.product": product,
                "nvidia.com/gpu.memory": memory,
                "nvidia.com/gpu.count": str(gpus),
            },
        },
        "spec": spec,
        "status": {"allocatable": {"cpu": "64", "nvidia.com/gpu": str(gpus)}},
    }


def pod(node_name: str | None, *gpus: int, phase: str = "Running", init: int = 0) -> dict[str, Any]:
    containers = [
        {"name": f"c{i}", "resources": {"limits": {"nvidia.com/gpu": str(g)}}}
        for i, g in enumerate(gpus)
    ]
    spec: dict[str, Any] = {"containers": containers}
    if node_name:
        spec["nodeName"] = node_name
    if init:
        spec["initContainers"] = [
            {"name": "i", "resources": {"requests": {"nvidia.com/gpu": init}}}
        ]
    return {"metadata": {"name": "p"}, "spec": spec, "status": {"phase": phase}}


def capacity(nodes: list[dict[str, Any]], pods: list[dict[str, Any]] = ()) -> Capacity:  # type: ignore[assignment]
    usage = [u for u in (pod_gpus(p) for p in pods) if u is not None]
    return build_capacity((gpu_node(n) for n in nodes), usage)


def test_a_node_reads_its_gpus_product_and_memory_from_gfd_labels() -> None:
    read = gpu_node(node("a", 8))
    assert read == GpuNode("a", 8, "NVIDIA-H100-80GB-HBM3", 80, "")
    assert gpu_node(node("b", 4, L40S)).memory_gib == 45


def test_cordoned_and_tainted_nodes_take_no_pods_but_the_gpu_taint_is_tolerated() -> None:
    assert gpu_node(node("a", 8, unschedulable=True)).blocked == "cordoned"
    taint = {"key": "team", "value": "ml", "effect": "NoSchedule"}
    assert gpu_node(node("a", 8, taints=[taint])).blocked == "tainted team=ml"
    soft = {"key": "team", "effect": "PreferNoSchedule"}
    gpu_taint = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
    assert gpu_node(node("a", 8, taints=[soft, gpu_taint])).blocked == ""


def test_pods_hold_gpus_while_bound_and_not_ended() -> None:
    assert pod_gpus(pod("a", 2, 1)) == ("a", 3)
    assert pod_gpus(pod("a", 1, init=4)) == ("a", 4)  # the larger of sum and any init
    assert pod_gpus(pod(None, 2)) is None  # not scheduled yet: holds nothing
    assert pod_gpus(pod("a", 2, phase="Succeeded")) is None
    assert pod_gpus(pod("a", 2, phase="Failed")) is None
    assert pod_gpus(pod("a")) is None  # no GPUs asked


def test_free_gpus_per_node_and_product() -> None:
    cap = capacity(
        [node("h1", 8), node("h2", 8), node("l1", 4, L40S), node("cpu", 0)],
        [pod("h1", 4), pod("h1", 2), pod("l1", 4), pod("cpu", 0)],
    )
    assert cap.node_count == 4
    assert [n.name for n in cap.gpu_nodes] == ["h1", "h2", "l1"]
    assert (cap.total, cap.free, cap.used) == (20, 10, 10)
    h100, l40s = cap.by_product()
    assert (h100.product, h100.nodes, h100.total, h100.free, h100.largest_free) == (
        "NVIDIA-H100-80GB-HBM3", 2, 16, 10, 8,
    )  # fmt: skip
    assert (l40s.free, l40s.largest_free, l40s.label) == (0, 0, "NVIDIA L40S 45 GiB")


def test_a_cordoned_node_counts_no_free_gpus() -> None:
    cap = capacity([node("h1", 8, unschedulable=True), node("h2", 8)])
    assert (cap.total, cap.free) == (8, 8)
    assert [n.name for n in cap.blocked_nodes()] == ["h1"]


def test_fit_now_and_will_wait_name_the_largest_free_block() -> None:
    cap = capacity([node("h1", 8), node("h2", 8)], [pod("h1", 7), pod("h2", 7)])
    assert fit(cap, Need(1, 2, 16)).text == "fits now"
    waiting = fit(cap, Need(2, 1, 16))
    assert (waiting.ever, waiting.now) == (True, False)
    assert waiting.text == "will wait: needs 2 GPUs on one node, largest free block 1"
    several = fit(capacity([node("h1", 8)], [pod("h1", 6)]), Need(1, 3, 8))
    assert (
        several.text
        == "will wait: needs 3 workers \N{MULTIPLICATION SIGN} 1 GPU on one node each, 2 fit now"
    )


def test_never_fits_when_no_node_has_that_many_gpus() -> None:
    cap = capacity([node("h1", 8), node("l1", 4, L40S)])
    never = fit(cap, Need(9, 1, 8))
    assert (never.ever, never.now) == (False, False)
    assert never.text == "needs 9 GPUs on one node; the largest GPU node has 8"


def test_never_fits_when_the_gpus_are_too_small_for_the_model() -> None:
    cap = capacity([node("l1", 4, L40S)])
    assert fit(cap, Need(1, 1, 45)).ever
    never = fit(cap, Need(1, 1, 60))
    assert (
        never.text
        == "needs 1 GPU of ≥ 60 GiB on one node; the largest GPUs on a node with 1 or more "
        "have 45 GiB"
    )
    assert fit(cap, Need(2, 1, 60)).now  # two of them together hold it


def test_never_fits_when_the_cluster_holds_fewer_workers() -> None:
    cap = capacity([node("h1", 8), node("h2", 8)])
    assert fit(cap, Need(4, 4, 8)).now
    never = fit(cap, Need(4, 5, 8))
    assert not never.ever
    assert "the cluster's GPUs hold 4 at most" in never.text


def test_an_empty_or_cordoned_cluster_never_fits() -> None:
    assert (
        fit(capacity([]), Need(1, 1, 8)).text == "needs 1 GPU on one node; no node takes GPU pods"
    )
    assert not fit(capacity([node("h1", 8, unschedulable=True)]), Need(1, 1, 8)).ever


def test_the_model_picker_names_the_fewest_smallest_gpus_that_hold_the_model() -> None:
    cap = capacity([node("h1", 8), node("l1", 4, L40S)])
    assert model_fit(cap, 24, max_gpus=8) == "fits on 1 \N{MULTIPLICATION SIGN} NVIDIA L40S 45 GiB"
    assert (
        model_fit(cap, 60, max_gpus=8) == "fits on 1 \N{MULTIPLICATION SIGN} NVIDIA H100 80GB HBM3"
    )
    assert (
        model_fit(cap, 120, max_gpus=8) == "fits on 2 \N{MULTIPLICATION SIGN} NVIDIA H100 80GB HBM3"
    )
    assert model_fit(cap, 2000, max_gpus=8).startswith("does not fit this cluster")
    busy = capacity([node("h1", 1)], [pod("h1", 1)])
    assert model_fit(busy, 8, max_gpus=8).endswith("(none free now)")


def test_shortfall_says_what_is_free() -> None:
    cap = capacity([node("h1", 8), node("h2", 8)], [pod("h1", 7), pod("h2", 6)])
    assert shortfall(cap) == "largest free block 2, 3 of 16 free"


def test_junk_in_nodes_and_pods_reads_as_no_gpus() -> None:
    odd = {
        "metadata": {"labels": {"nvidia.com/gpu.memory": "lots"}},
        "status": {"allocatable": {"nvidia.com/gpu": "1.5"}},
    }
    assert gpu_node(odd).allocatable == 0
    assert gpu_node({}).memory_gib is None
    assert pod_gpus({"spec": {"nodeName": "a", "containers": "x"}}) is None


# --- the Pending reason names the shortfall ------------------------------------------------


def test_a_pending_gpu_pod_names_its_component_and_the_gpus_it_needs_on_one_node() -> None:
    waiting = make_pod("qwen-vllmdecodeworker-0-b", node=None, unschedulable_message=GPU_MESSAGE)
    waiting["spec"]["containers"][0]["resources"] = {
        "limits": {"nvidia.com/gpu": "4"},
        "requests": {"nvidia.com/gpu": "4"},
    }
    event = make_event(waiting["metadata"]["name"], "FailedScheduling", GPU_MESSAGE)
    status = compute_status(make_dgd("v1beta1", state="pending"), [waiting], [event])
    assert (status.phase, status.reason) == (
        "Pending",
        "waiting for GPUs: 0/3 nodes have nvidia.com/gpu free; VllmDecodeWorker needs 4 GPUs "
        "on one node",
    )
