"""The deploy form's cost line says how the form's choice fits the cluster's GPUs."""

from __future__ import annotations

from dataclasses import replace

from bot.blocks.deploy_cost import Budget, cost_line, form_gpus, form_size
from bot.blocks.deploy_form import DeployForm, initial_form
from bot.capacity import Capacity, Fit, GpuNode, Need, fit
from bot.catalog import Catalog
from bot.policy import Usage


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
