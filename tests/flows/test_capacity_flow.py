"""GPU capacity end to end over the simulated cluster's GPU nodes (two H100 80GB nodes and an
L40S 48GB node, 8 GPUs each): `/dynamote cluster` shows what is free, a request no node can
ever hold is refused before anything is created, and one that must wait is Pending with the
shortfall named."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.cluster.capacity import CapacityCache, read_capacity
from bot.domain.request import DeploymentRequest, parse_request
from tests.stacks import Stack, app_stack, stack_settings, stand_ins, text_of
from tests.waiting import wait_for

DGDS = "dynamographdeployments"


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    settings = stack_settings(max_gpus_per_worker=16, max_gpus_per_deployment=None)
    with stand_ins(tmp_path) as shared, app_stack(shared, settings) as running:
        # Every question reads the cluster again (the shipped cache keeps an answer 15 s).
        service = running.context.service
        service.capacity = CapacityCache(lambda: read_capacity(service.cluster), ttl=0)
        yield running


def cluster_text(stack: Stack) -> str:
    return text_of(stack.replies(stack.command("cluster"))[0])


def wait_for_state(stack: Stack, name: str, state: str) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        dgd = stack.k8s.store.get(DGDS, "team-a", name)
        return dgd if dgd is not None and (dgd.get("status") or {}).get("state") == state else None

    return wait_for(reached, what=f"{name} {state}")


def deploy(stack: Stack, typed: dict[str, str], number: int) -> dict[str, Any]:
    stack.command("deploy qwen3 0.6b")
    ack, _ = stack.submit(stack.opened_view(number), typed)
    return ack


def test_cluster_shows_free_gpus_by_product_and_they_drop_once_a_deployment_runs(
    stack: Stack,
) -> None:
    before = cluster_text(stack)
    assert "Free GPUs: 24 of 24" in before
    assert "NVIDIA H100 80GB HBM3*: 16 of 16 free on 2 nodes" in before
    assert "NVIDIA L40S 45 GiB*: 8 of 8 free on 1 node" in before
    assert "Your use*\n0 GPUs in 0 deployments (no limits)" in before
    # The model list uses what that read found, without waiting on the cluster.
    models = text_of(stack.replies(stack.command("models qwen3 0.6b"))[0])
    assert "8 GiB GPU min · fits on 1 \N{MULTIPLICATION SIGN} NVIDIA L40S 45 GiB" in models

    ack = deploy(stack, {"name": "two-gpus", "size": "2x1"}, 1)
    assert ack["response_action"] == "update"
    wait_for_state(stack, "two-gpus", "successful")

    after = cluster_text(stack)
    assert "Free GPUs: 22 of 24" in after
    assert "NVIDIA H100 80GB HBM3*: 14 of 16 free" in after
    assert "Your use*\n2 GPUs in 1 deployment (no limits)" in after


def test_more_gpus_per_worker_than_any_node_has_is_refused_before_anything_is_created(
    stack: Stack,
) -> None:
    ack = deploy(stack, {"name": "too-big", "size": "16x1"}, 1)
    assert ack["response_action"] == "errors"
    errors = {key.split(".")[0]: value for key, value in ack["errors"].items()}
    assert errors["size"] == (  # the size choice holds GPUs per worker
        "GPUs: This can never run on this cluster: it needs 16 GPUs on one node; the largest GPU "
        "node has 8."
    )
    assert not stack.k8s.store.list(DGDS)[0]


def test_a_deployment_that_cannot_be_scheduled_now_is_pending_naming_the_shortfall(
    stack: Stack,
) -> None:
    assert (
        deploy(stack, {"name": "all-of-it", "size": "8x3"}, 1)["response_action"]
        == "update"
    )
    wait_for_state(stack, "all-of-it", "successful")
    assert "Free GPUs: 0 of 24" in cluster_text(stack)
    # What the deploy form's cost line can show before Submit (cached, never waits).
    fit = stack.context.service.capacity_fit(request(stack, gpus=4))
    assert fit is not None and (fit.ever, fit.now) == (True, False)
    assert fit.text == "will wait: needs 4 GPUs on one node, largest free block 0"

    ack = deploy(stack, {"name": "waiting", "size": "4x1"}, 2)
    assert ack["response_action"] == "update"  # it fits the cluster, just not now
    stack.wait_for_dgd("team-a", "waiting")
    deployment = wait_for_pending(stack, "waiting")
    assert deployment == (
        "waiting for GPUs: 0/3 nodes have nvidia.com/gpu free; VllmDecodeWorker needs 4 GPUs "
        "on one node; largest free block 0, 0 of 24 free"
    )


def request(stack: Stack, *, gpus: int) -> DeploymentRequest:
    return parse_request(
        {"model": "Qwen/Qwen3-0.6B", "name": "x", "namespace": "team-a", "engine": "vllm",
         "gpus": gpus},
        catalog=stack.context.catalog,
        limits=stack.context.service.limits,
    )  # fmt: skip


def wait_for_pending(stack: Stack, name: str) -> str:
    """The reason `/dynamote status` gives once the scheduler has said why it waits."""

    def said() -> str | None:
        text = text_of(stack.replies(stack.command(f"status {name}"))[0])
        if "waiting for GPUs" not in text:
            return None
        line = next(line for line in text.splitlines() if "waiting for GPUs" in line)
        return line[line.index("waiting for GPUs") :].rstrip("_*")

    found: str = wait_for(said, what=f"{name} waiting for GPUs")
    return found


def test_without_the_optional_permissions_cluster_says_capacity_is_unknown(
    stack: Stack,
) -> None:
    stack.k8s.faults.forbid("list", "nodes")
    text = cluster_text(stack)
    assert "Free GPUs*\nunknown: Dynamote may not list nodes and pods cluster-wide" in text
    assert "manifests/capacity/" in text
    # The rest of the answer is as without capacity.
    assert "nvidia.com/v1beta1" in text and "team-a" in text
    # And a deploy still works: unknown capacity refuses nothing.
    assert deploy(stack, {"name": "blind", "size": "1x1"}, 1)["response_action"] == "update"
    stack.wait_for_dgd("team-a", "blind")


def test_models_never_wait_for_a_slow_capacity_read(stack: Stack) -> None:
    stack.k8s.faults.add_latency(2.0)
    try:
        started = time.monotonic()
        text = text_of(stack.replies(stack.command("models qwen3 0.6b"))[0])
        took = time.monotonic() - started
    finally:
        stack.k8s.faults.clear()
    assert took < 1.5, "the model list must not wait on the cluster"
    assert "8 GiB GPU min" in text and "fits on" not in text  # capacity not known yet


def test_the_deploy_form_says_how_many_gpus_are_free_once_capacity_is_known(stack: Stack) -> None:
    cluster_text(stack)  # the cache now holds a reading (24 of 24 free)
    stack.command("deploy qwen3 0.6b")
    assert "24 GPUs free in the cluster" in text_of(stack.opened_view())


def test_without_capacity_the_deploy_form_says_nothing_of_free_gpus(stack: Stack) -> None:
    stack.k8s.faults.forbid("list", "nodes")
    cluster_text(stack)
    stack.command("deploy qwen3 0.6b")
    assert "free in the cluster" not in text_of(stack.opened_view())
