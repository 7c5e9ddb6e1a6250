"""The simulator fails as real deployments fail: a model too big for its GPUs crash-loops with
PyTorch's out-of-memory line and runs once redeployed with enough GPUs; a token the hub
refuses fails with the hub's 401 (gated-repo for a gated model); a crashing worker restarts
after the kubelet's back-off, 10 s doubling to 5 min. Through the Kubernetes stand-in's
``pods/log`` and the status Dynamote derives, on the simulator's clock."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from bot.domain.failures import diagnose
from bot.domain.status import compute_status
from bot.sim.k8s.standin import StandIn, default_crd_path
from bot.sim.operator.controller import SimOperator
from bot.sim.operator.crashes import BACKOFF_CAP, backoff_text, crash_state
from tests.sim.conftest import FakeClock
from tests.sim.test_operator import DGD, NS, make_dgd, worker_pods

MEMORY_GIB = 16  # per simulated GPU
BIG = "deepseek-ai/DeepSeek-R1-Distill-Llama-8B"  # minGpuMemory 24: two 16 GiB GPUs hold it


@pytest.fixture
def standin() -> Iterator[StandIn]:
    with StandIn(crd_path=default_crd_path(), seed_namespaces=(NS,)) as running:
        yield running


@pytest.fixture
def core(standin: StandIn, tmp_path: Path) -> Iterator[client.CoreV1Api]:
    configuration = client.Configuration()
    kubeconfig = standin.write_kubeconfig(tmp_path / "kubeconfig")
    config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
    api = client.ApiClient(configuration)
    yield client.CoreV1Api(api)
    api.close()


@pytest.fixture
def operator(standin: StandIn, clock: FakeClock) -> Iterator[SimOperator]:
    operator = SimOperator(standin.store, ready_after=10, gpu_memory_gib=MEMORY_GIB, clock=clock)
    yield operator
    operator.stop()


def secret(standin: StandIn, token: str) -> None:
    encoded = base64.b64encode(token.encode()).decode()
    if standin.store.get("secrets", NS, "hf-token-secret") is not None:  # the seeded one
        standin.store.delete("secrets", NS, "hf-token-secret")
    standin.store.create("secrets", {"metadata": {"name": "hf-token-secret", "namespace": NS},
                                     "data": {"HF_TOKEN": encoded}})  # fmt: skip


def run(operator: SimOperator, clock: FakeClock, until: float) -> None:
    """Reconcile at each second of the simulator's clock up to ``until``."""
    while clock.now < until:
        clock.now += 1
        operator.reconcile_once()


def failure_of(standin: StandIn, core: client.CoreV1Api, name: str = "qwen") -> tuple[Any, str]:
    dgd = standin.store.get(DGD, NS, name)
    pods = [p for p in standin.store.list("pods")[0] if p["metadata"]["name"].startswith(name)]
    (worker,) = worker_pods(standin.store, name)
    log = core.read_namespaced_pod_log(worker["metadata"]["name"], NS, container="main")
    return compute_status(dgd or {}, pods), log


def test_a_model_too_big_for_its_gpu_crash_loops_out_of_memory_and_runs_with_enough_gpus(
    standin: StandIn, core: client.CoreV1Api, operator: SimOperator, clock: FakeClock
) -> None:
    secret(standin, "hf_" + "a" * 34)
    standin.store.create(DGD, make_dgd("v1beta1", model=BIG, gpus=1))
    run(operator, clock, 120)
    status, log = failure_of(standin, core)
    assert status.phase == "Failed" and status.reason.startswith("crash looping")
    found = diagnose(status, log, {"gpus": 1})
    assert found is not None and found.kind == "oom" and found.change == {"gpus": 2}
    assert found.line is not None and "GPU 0 has a total capacity of" in found.line

    standin.store.delete(DGD, NS, "qwen")
    operator.reconcile_once()
    standin.store.create(DGD, make_dgd("v1beta1", model=BIG, gpus=2))
    run(operator, clock, clock.now + 30)
    status, log = failure_of(standin, core)
    assert status.phase == "Running", status.reason
    assert "OutOfMemoryError" not in log


@pytest.mark.parametrize(
    ("model", "kind", "line"),
    [
        ("meta-llama/Llama-3.2-1B-Instruct", "gated", "is restricted. You must have access"),
        ("Qwen/Qwen3-0.6B", "bad_token", "Invalid credentials in Authorization header"),
    ],
)
def test_a_token_the_hub_refuses_fails_with_the_hubs_401(
    standin: StandIn, core: client.CoreV1Api, operator: SimOperator, clock: FakeClock,
    model: str, kind: str, line: str,
) -> None:  # fmt: skip
    secret(standin, "hf_invalid" + "x" * 24)
    standin.store.create(DGD, make_dgd("v1beta1", model=model, gpus=1))
    run(operator, clock, 120)
    status, log = failure_of(standin, core)
    assert status.phase == "Failed"
    found = diagnose(status, log)
    assert found is not None and found.kind == kind and line in str(found.line)


def test_a_crashing_worker_restarts_after_a_back_off_that_doubles_to_five_minutes(
    standin: StandIn, operator: SimOperator, clock: FakeClock
) -> None:
    secret(standin, "hf_invalid" + "x" * 24)
    standin.store.create(DGD, make_dgd("v1beta1", gpus=1))
    seen: list[tuple[int, str]] = []
    while clock.now < 1500:
        clock.now += 1
        operator.reconcile_once()
        (pod,) = worker_pods(standin.store)
        state = pod["status"]["containerStatuses"][0]
        waiting = state["state"].get("waiting") or {}
        if waiting.get("reason") == "CrashLoopBackOff":
            entry = (state["restartCount"], waiting["message"].split(" restarting")[0])
            if not seen or seen[-1] != entry:
                seen.append(entry)
    assert [back for _, back in seen[:7]] == [
        "back-off 10s", "back-off 20s", "back-off 40s", "back-off 1m20s", "back-off 2m40s",
        "back-off 5m0s", "back-off 5m0s",
    ]  # fmt: skip
    assert [restarts for restarts, _ in seen[:3]] == [1, 2, 3]
    assert seen[0][1] and "container=main pod=" in waiting["message"]


def test_the_back_off_schedule_itself() -> None:
    assert crash_state(0, 4, runs_for=5).running
    waiting = crash_state(0, 6, runs_for=5)
    assert (waiting.running, waiting.restarts, waiting.backoff) == (False, 1, 10)
    assert crash_state(0, 10_000, runs_for=5).backoff in (0.0, BACKOFF_CAP)
    assert backoff_text(300) == "5m0s" and backoff_text(80) == "1m20s"
