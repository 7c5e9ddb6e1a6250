"""Capacity in `/dynamote cluster` and `/dynamote models`: what is free, how a model fits,
within Block Kit's limits however many products and blocked nodes there are."""

from __future__ import annotations

from bot.blocks.cluster import GpuUse, build_cluster_status
from bot.blocks.models import build_models
from bot.domain.capacity import Capacity, GpuNode
from bot.domain.catalog import Catalog
from tests.blocks.conftest import NASTY, fits_message

H100 = GpuNode("h1", 8, "NVIDIA-H100-80GB-HBM3", 80, used=3)
L40S = GpuNode("l1", 8, "NVIDIA-L40S", 45, used=8)
CORDONED = GpuNode("h2", 8, "NVIDIA-H100-80GB-HBM3", 80, blocked="cordoned")


def cluster(**kwargs: object) -> dict[str, object]:
    message = build_cluster_status(
        reachable=True,
        server_version="v1.31.0",
        dgd_versions=["nvidia.com/v1beta1"],
        namespaces=["team-a"],
        error=None,
        writes="nvidia.com/v1beta1",
        **kwargs,  # type: ignore[arg-type]
    )
    return fits_message(message)


def text(payload: dict[str, object]) -> str:
    return str(payload["blocks"])


def test_cluster_shows_free_gpus_by_product_blocked_nodes_and_your_use() -> None:
    capacity = Capacity((CORDONED, H100, L40S), node_count=4)
    use = GpuUse(deployments=1, gpus=2, max_gpus=8, max_deployments=3)
    payload = cluster(capacity=capacity, use=use)
    shown = text(payload)
    assert "*Free GPUs: 5 of 16* on 2 GPU nodes" in shown
    assert "*NVIDIA H100 80GB HBM3*: 5 of 8 free on 1 node, at most 5 on one node" in shown
    assert "*NVIDIA L40S 45 GiB*: 0 of 8 free on 1 node, at most 0 on one node" in shown
    assert "`h2` (cordoned)" in shown
    assert "2 GPUs of your 8 in 1 deployment of your 3" in shown
    assert payload["text"] == "The cluster is reachable and ready; 5 GPUs free"


def test_unknown_capacity_says_why() -> None:
    shown = text(cluster(capacity_unknown="Dynamote may not list nodes"))
    assert "*Free GPUs*\\nunknown: Dynamote may not list nodes" in shown


def test_without_capacity_arguments_the_answer_is_as_before() -> None:
    assert "Free GPUs" not in text(cluster())


def test_many_products_and_blocked_nodes_stay_within_limits() -> None:
    nodes = tuple(
        GpuNode(f"{NASTY}-{i}" * 3, 8, f"{NASTY}-{i}" * 4, 80, blocked="tainted " + NASTY * 5)
        if i % 2
        else GpuNode(f"n{i}", 8, f"{NASTY}-{i}" * 4, i)
        for i in range(200)
    )
    payload = cluster(capacity=Capacity(nodes, 200))
    assert "and 90 more products" in text(payload)


def test_models_say_how_each_fits_the_cluster(catalog: Catalog) -> None:
    capacity = Capacity((H100, L40S), node_count=2)
    payload = fits_message(build_models(catalog.models, capacity=capacity, max_gpus=8))
    shown = text(payload)
    # The L40S would hold the small models, but only the H100 has GPUs free now.
    assert "fits on 1 \N{MULTIPLICATION SIGN} NVIDIA H100 80GB HBM3" in shown
    tiny = Capacity((GpuNode("t", 1, "Tesla-T4", 15),), node_count=1)
    big = max(catalog.models, key=lambda m: m.min_gpu_memory)
    shown = text(fits_message(build_models([big], capacity=tiny, max_gpus=8)))
    assert "does not fit this cluster" in shown
    assert "fits on" not in text(fits_message(build_models(catalog.models)))
