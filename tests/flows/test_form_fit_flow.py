"""The deploy form says how its choice fits the simulated cluster's GPUs (two H100 80GB nodes
and an L40S 48GB node, 8 GPUs each), from the cached capacity, and follows the size."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.blocks.ids import ACTION_MODEL_SELECT, ACTION_SIZE_SELECT
from bot.cluster.capacity import CapacityCache, read_capacity
from tests.stacks import Stack, app_stack, stack_settings, stand_ins, text_of
from tests.standins.slack_requests import view_state
from tests.waiting import wait_for, wait_until


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    settings = stack_settings(max_gpus_per_worker=16, max_gpus_per_deployment=None)
    with stand_ins(tmp_path) as shared, app_stack(shared, settings) as running:
        capacity = running.context.service.capacity
        capacity.prewarm()  # as the composition root does at start-up
        assert capacity.wait_for_read(10.0)
        yield running


def held_view_with(stack: Stack, view_id: str, text: str) -> dict[str, Any]:
    def shows() -> dict[str, Any] | None:
        held = stack.slack.view(view_id)
        return held if held is not None and text in text_of(held) else None

    found: dict[str, Any] = wait_for(shows, what=f"the view showing {text!r}")
    return found


def pick_size(stack: Stack, view: dict[str, Any], size: str) -> None:
    stack.click(
        ACTION_SIZE_SELECT,
        view={**view, "state": {"values": view_state(view, {"size": size})}},
        selected={"value": size, "text": {"type": "plain_text", "text": size}},
    )


def test_the_form_says_fits_now_when_it_opens_and_follows_the_size(stack: Stack) -> None:
    stack.command("deploy qwen3 0.6b")
    view = stack.opened_view()
    assert "Uses 1 GPU · 24 GPUs free in the cluster · fits now." in text_of(view)

    pick_size(stack, view, "16x1")  # no node has 16 GPUs
    never = held_view_with(stack, str(view["id"]), "Uses 16 GPUs")
    assert (
        ":no_entry: Does not fit: this cluster can never run it (needs 16 GPUs on one node; "
        "the largest GPU node has 8)."
    ) in text_of(never)

    pick_size(stack, never, "8x3")  # every GPU of the three nodes
    held = held_view_with(stack, str(view["id"]), "Uses 24 GPUs")
    assert "Uses 24 GPUs · 24 GPUs free in the cluster · fits now." in text_of(held)


def test_when_the_gpus_are_taken_the_form_says_what_it_waits_for(stack: Stack) -> None:
    stack.command("deploy qwen3 0.6b")
    ack, _ = stack.submit(stack.opened_view(), {"name": "all-of-it", "size": "8x3"})
    assert ack["response_action"] == "update"

    def taken() -> bool:
        dgd = stack.k8s.store.get("dynamographdeployments", "team-a", "all-of-it") or {}
        return (dgd.get("status") or {}).get("state") == "successful"

    wait_until(taken, what="all-of-it running")
    # A new cache reads the cluster as it is now (the shipped one keeps an answer 15 s).
    service = stack.context.service
    service.capacity = CapacityCache(lambda: read_capacity(service.cluster))
    service.capacity.prewarm()
    assert service.capacity.wait_for_read(10.0)

    stack.command("deploy qwen3 0.6b")
    view = stack.opened_view(2)
    assert (
        "Uses 1 GPU · 0 GPUs free in the cluster · will wait: needs 1 GPU on one node, "
        "largest free block 0."
    ) in text_of(view)


def test_the_chosen_models_fit_is_under_the_model_select_and_follows_the_model(
    stack: Stack,
) -> None:
    stack.command("deploy qwen3 0.6b")
    view = stack.opened_view()
    # The smallest GPUs that hold the model, as `/dynamote models` says it.
    assert "Qwen3 0.6B fits on 1 \N{MULTIPLICATION SIGN} NVIDIA L40S 45 GiB" in text_of(view)
    deepseek = "deepseek-ai/DeepSeek-R1-Distill-Llama-8B"
    stack.click(
        ACTION_MODEL_SELECT,
        view={**view, "state": {"values": view_state(view, {"model": deepseek})}},
        selected={"value": deepseek, "text": {"type": "plain_text", "text": "DeepSeek"}},
    )
    changed = held_view_with(stack, str(view["id"]), "DeepSeek R1 Distill Llama 8B fits on")
    assert "Qwen3 0.6B fits on" not in text_of(changed)
