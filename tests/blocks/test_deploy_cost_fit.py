"""The deploy form's cost line says how the form's choice fits the cluster's GPUs."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.blocks.deploy_cost import Budget, cost_line, form_gpus, form_size
from bot.blocks.deploy_form import DeployForm, ModalMetadata, initial_form
from bot.blocks.deploy_modal import build_deploy_modal
from bot.domain.capacity import Capacity, Fit, GpuNode, Need, fit
from bot.domain.catalog import Catalog
from bot.domain.policy import Usage
from bot.domain.request import RequestLimits
from tests.blocks.conftest import fits_view


def form_of(
    catalog: Catalog, *, gpus: str = "1", replicas: str = "1", mode: str = "aggregated"
) -> DeployForm:
    form = initial_form(
        catalog, catalog.get("Qwen/Qwen3-0.6B"), namespace="team-a", hf_secret="hf-token-secret"
    )
    return replace(form, gpus=gpus, replicas=replicas, mode=mode)


def test_the_forms_size_is_gpus_per_worker_and_workers(catalog: Catalog) -> None:
    assert form_size(form_of(catalog, gpus="2", replicas="3")) == (2, 3)
    # Disaggregated: a prefill and a decode worker per replica.
    assert form_size(form_of(catalog, gpus="2", replicas="3", mode="disaggregated")) == (2, 6)
    assert form_gpus(form_of(catalog, gpus="2", replicas="3", mode="disaggregated")) == 12
    assert form_size(form_of(catalog, gpus="two")) is None


def test_fits_now_follows_the_free_gpus(catalog: Catalog) -> None:
    budget = Budget(free_gpus=6, fit=Fit(True, True, "fits now"))
    line = cost_line(form_of(catalog, gpus="2"), budget)
    assert line.text == "Uses 2 GPUs · 6 GPUs free in the cluster · fits now."
    assert line.fits


def test_a_choice_that_must_wait_says_what_it_waits_for(catalog: Catalog) -> None:
    waiting = Fit(True, False, "will wait: needs 2 GPUs on one node, largest free block 1")
    line = cost_line(form_of(catalog, gpus="2"), Budget(free_gpus=1, fit=waiting))
    assert line.text == (
        "Uses 2 GPUs · 1 GPU free in the cluster · will wait: needs 2 GPUs on one node, "
        "largest free block 1."
    )
    assert "it will wait until enough are free" not in line.text  # the fit says it better
    assert line.fits


def test_a_choice_the_cluster_can_never_run_does_not_fit(catalog: Catalog) -> None:
    never = Fit(False, False, "needs 16 GPUs on one node; the largest GPU node has 8")
    line = cost_line(form_of(catalog, gpus="16"), Budget(free_gpus=24, fit=never))
    assert line.text == (
        ":no_entry: Does not fit: this cluster can never run it (needs 16 GPUs on one node; "
        "the largest GPU node has 8). Uses 16 GPUs · 24 GPUs free in the cluster."
    )
    assert not line.fits


def test_no_fit_is_said_while_capacity_is_unknown(catalog: Catalog) -> None:
    budget = Budget(max_gpus_per_user=8, usage=Usage(0, 0))
    line = cost_line(form_of(catalog), budget)
    assert "fits" not in line.text and "wait" not in line.text


def test_the_line_reads_what_bot_capacity_fit_answers(catalog: Catalog) -> None:
    # One node of 2 free out of 8 (the shape `bot.cluster.capacity.read_capacity` builds).
    node = GpuNode(name="gpu-1", allocatable=8, used=6, product="NVIDIA-L40S", memory_gib=45)
    capacity = Capacity(gpu_nodes=(node,), node_count=1)
    verdict = fit(capacity, Need(gpus_per_worker=4, workers=1, model_gib=8))
    line = cost_line(form_of(catalog, gpus="4"), Budget(free_gpus=2, fit=verdict))
    assert line.text.endswith("will wait: needs 4 GPUs on one node, largest free block 2.")


# --- the chosen model's fit, under the model select -------------------------------------------


def model_fit_line(
    catalog: Catalog, model_id: str, budget: Budget | None, max_gpus: int = 8
) -> str:
    form = initial_form(
        catalog, catalog.get(model_id), namespace="team-a", hf_secret="hf-token-secret"
    )
    view = fits_view(
        build_deploy_modal(
            catalog,
            form,
            namespaces=("team-a",),
            limits=RequestLimits(max_gpus_per_worker=max_gpus),
            metadata=ModalMetadata("U1", "C1", 0),
            budget=budget,
        )
    )
    blocks = view["blocks"]
    model_at = next(i for i, b in enumerate(blocks) if b.get("block_id") == "model.0")
    after = blocks[model_at + 1]
    return str(after["elements"][0]["text"]) if after["type"] == "context" else ""


# Two 16 GiB GPUs on one node (an unnamed product: the memory is said).
SMALL = Capacity(gpu_nodes=(GpuNode(name="n1", allocatable=2, memory_gib=16),), node_count=1)


def test_the_chosen_models_fit_is_under_the_model_select(catalog: Catalog) -> None:
    budget = Budget(capacity=SMALL)
    assert model_fit_line(catalog, "Qwen/Qwen3-0.6B", budget) == (
        "Qwen3 0.6B fits on 1 \N{MULTIPLICATION SIGN} GPU 16 GiB"
    )
    # 24 GiB: two of the 16 GiB GPUs hold it.
    deepseek = "deepseek-ai/DeepSeek-R1-Distill-Llama-8B"
    assert model_fit_line(catalog, deepseek, budget) == (
        "DeepSeek R1 Distill Llama 8B fits on 2 \N{MULTIPLICATION SIGN} GPU 16 GiB"
    )
    assert model_fit_line(catalog, deepseek, budget, max_gpus=1) == (
        "DeepSeek R1 Distill Llama 8B does not fit this cluster: needs 24 GiB of GPU memory "
        "on one node"
    )


def test_no_model_fit_line_while_capacity_is_unknown(catalog: Catalog) -> None:
    assert model_fit_line(catalog, "Qwen/Qwen3-0.6B", Budget(free_gpus=3)) == ""
    assert model_fit_line(catalog, "Qwen/Qwen3-0.6B", None) == ""


def test_each_model_choice_says_how_it_fits_in_its_description(catalog: Catalog) -> None:
    form = initial_form(
        catalog, catalog.get("Qwen/Qwen3-0.6B"), namespace="team-a", hf_secret="hf-token-secret"
    )

    def model_options(budget: Budget) -> dict[str, Any]:
        view = fits_view(
            build_deploy_modal(
                catalog,
                form,
                namespaces=("team-a",),
                limits=RequestLimits(max_gpus_per_worker=1),
                metadata=ModalMetadata("U1", "C1", 0),
                budget=budget,
            )
        )
        select = next(b for b in view["blocks"] if b.get("block_id") == "model.0")["element"]
        assert select["initial_option"] in select["options"]  # Slack wants an exact match
        return {o["value"]: o.get("description", {}).get("text") for o in select["options"]}

    described = model_options(Budget(capacity=SMALL))
    assert described["Qwen/Qwen3-0.6B"] == "fits on 1 \N{MULTIPLICATION SIGN} GPU 16 GiB"
    assert described["deepseek-ai/DeepSeek-R1-Distill-Llama-8B"] == (
        "does not fit this cluster: needs 24 GiB of GPU memory on one node"
    )
    assert set(model_options(Budget()).values()) == {None}  # unknown capacity: no description
