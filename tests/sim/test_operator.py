"""Tests of the simulated Dynamo operator over the Store, and its agreement with bot.domain.status.

Time is a fake clock moved by hand and every pass is an explicit ``reconcile_once()``: the tests
never sleep (except the one that checks the background thread).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.domain.catalog import load_catalog
from bot.domain.status import DeploymentStatus, compute_status
from bot.sim.k8s.resources import POD_LOG_ANNOTATION
from bot.sim.k8s.store import Store
from bot.sim.operator.controller import SimOperator, make_ready
from bot.sim.operator.pods import replica_index
from tests.waiting import wait_until

from .conftest import FakeClock

VERSIONS = ["v1beta1", "v1alpha1"]
NS = "team-a"
DGD = "dynamographdeployments"
LABEL_DGD = "nvidia.com/dynamo-graph-deployment-name"
READY_AFTER = 10.0
IMAGE = "nvcr.io/nvidia/ai-dynamo/vllm-runtime:0.7.1"
MODEL = "Qwen/Qwen3-0.6B"
CRD_FILE = "nvidia.com_dynamographdeployments.yaml"
GPU_MESSAGE = (
    "0/3 nodes are available: 3 Insufficient nvidia.com/gpu. preemption: 0/3 nodes are "
    "available: 3 No preemption victims found for incoming pod."
)


@pytest.fixture
def store() -> Store:
    store = Store()
    add_secret(store)
    return store


@pytest.fixture
def operator(store: Store, clock: FakeClock) -> Iterator[SimOperator]:
    operator = SimOperator(store, ready_after=READY_AFTER, clock=clock)
    yield operator
    operator.stop()


def add_secret(store: Store, name: str = "hf-token-secret") -> None:
    store.create("secrets", {"metadata": {"name": name, "namespace": NS}, "data": {}})


def make_dgd(
    version: str,
    name: str = "qwen",
    *,
    image: str = IMAGE,
    model: str = MODEL,
    replicas: int = 1,
    gpus: int = 1,
    disaggregated: bool = False,
) -> dict[str, Any]:
    """A vLLM DGD shaped like the operator's examples, in either API version."""
    workers = [("VllmDecodeWorker", "decode" if disaggregated else None)]
    if disaggregated:
        workers.append(("VllmPrefillWorker", "prefill"))
    args = ["--model", model]
    if version == "v1beta1":
        components = [_v1beta1("Frontend", "frontend", image, replicas=1)]
        components += [
            _v1beta1(w, mode or "worker", image, replicas=replicas, gpus=gpus, args=args)
            for w, mode in workers
        ]
        spec: dict[str, Any] = {"components": components}
    else:
        services = {"Frontend": _v1alpha1("frontend", None, image, replicas=1)}
        services |= {
            w: _v1alpha1("worker", mode, image, replicas=replicas, gpus=gpus, args=args)
            for w, mode in workers
        }
        spec = {"services": services}
    return {
        "apiVersion": f"nvidia.com/{version}",
        "kind": "DynamoGraphDeployment",
        "metadata": {"name": name, "namespace": NS},
        "spec": spec,
    }


def _v1beta1(
    name: str, kind: str, image: str, *, replicas: int, gpus: int = 0, args: list[str] | None = None
) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "main", "image": image}
    if args:
        container |= {
            "command": ["python3", "-m", "dynamo.vllm"],
            "args": args,
            "envFrom": [{"secretRef": {"name": "hf-token-secret"}}],
            "resources": {"limits": {"nvidia.com/gpu": str(gpus)}},
        }
    return {
        "name": name,
        "type": kind,
        "replicas": replicas,
        "podTemplate": {"spec": {"containers": [container]}},
    }


def _v1alpha1(
    kind: str,
    sub_kind: str | None,
    image: str,
    *,
    replicas: int,
    gpus: int = 0,
    args: list[str] | None = None,
) -> dict[str, Any]:
    main: dict[str, Any] = {"image": image}
    service: dict[str, Any] = {
        "componentType": kind,
        "replicas": replicas,
        "extraPodSpec": {"mainContainer": main},
    }
    if sub_kind:
        service["subComponentType"] = sub_kind
    if args:
        main |= {"command": ["python3", "-m", "dynamo.vllm"], "args": args}
        service |= {"envFromSecret": "hf-token-secret", "resources": {"limits": {"gpu": str(gpus)}}}
    return service


def worker_spec(dgd: dict[str, Any], name: str = "VllmDecodeWorker") -> dict[str, Any]:
    """The worker's component (v1beta1) or service (v1alpha1) dict, for editing."""
    spec = dgd["spec"]
    component: dict[str, Any]
    if "components" in spec:
        component = next(c for c in spec["components"] if c["name"] == name)
    else:
        component = spec["services"][name]
    return component


def pods_of(store: Store, name: str = "qwen") -> list[dict[str, Any]]:
    return store.list("pods", NS, label_selector=f"{LABEL_DGD}={name}")[0]


def worker_pods(store: Store, name: str = "qwen") -> list[dict[str, Any]]:
    return [p for p in pods_of(store, name) if "worker" in p["metadata"]["name"]]


def events_of(store: Store, pod_name: str) -> list[dict[str, Any]]:
    events, _ = store.list("events")
    return [e for e in events if e["involvedObject"]["name"] == pod_name]


def status_of(store: Store, name: str = "qwen") -> DeploymentStatus:
    dgd = store.get(DGD, NS, name)
    assert dgd is not None
    pods = pods_of(store, name)
    events = [e for p in pods for e in events_of(store, p["metadata"]["name"])]
    return compute_status(dgd, pods, events)


def worker_hash(store: Store) -> str:
    """The worker hash in the DGD's status (the worker's object name ends with it)."""
    for entry in (dgd_status(store).get("components") or dgd_status(store)["services"]).values():
        name = entry["componentNames"][0]
        if "worker" in name:
            return str(name.rsplit("-", 1)[1])
    raise AssertionError("no worker in the status")


def status_now(store: Store, name: str = "qwen") -> DeploymentStatus:
    """The status as the notifier judges it: with the wall clock the pods' times are in."""
    dgd = store.get(DGD, NS, name)
    assert dgd is not None
    pods = pods_of(store, name)
    events = [e for p in pods for e in events_of(store, p["metadata"]["name"])]
    return compute_status(dgd, pods, events, now=datetime.now(UTC))


def dgd_status(store: Store, name: str = "qwen") -> dict[str, Any]:
    dgd = store.get(DGD, NS, name)
    assert dgd is not None
    status: dict[str, Any] = dgd.get("status", {})
    return status


def ready_condition(store: Store, name: str = "qwen") -> dict[str, Any]:
    return next(c for c in dgd_status(store, name)["conditions"] if c["type"] == "Ready")


def replica_status(store: Store, version: str, name: str = "qwen") -> dict[str, Any]:
    key = "components" if version == "v1beta1" else "services"
    counts: dict[str, Any] = dgd_status(store, name)[key]
    return counts


def container_state(pod: dict[str, Any]) -> dict[str, Any]:
    state: dict[str, Any] = pod["status"]["containerStatuses"][0]["state"]
    return state


def pod_condition(pod: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(c for c in pod["status"]["conditions"] if c["type"] == kind)


def step(operator: SimOperator, clock: FakeClock, *, to: float) -> None:
    clock.now = to
    operator.reconcile_once()


# --- the happy path -------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_a_dgd_goes_from_pending_through_running_to_ready(
    version: str, store: Store, operator: SimOperator, clock: FakeClock
) -> None:
    store.create(DGD, make_dgd(version))

    step(operator, clock, to=0)
    assert {p["status"]["phase"] for p in pods_of(store)} == {"Pending"}
    assert container_state(worker_pods(store)[0]) == {"waiting": {"reason": "ContainerCreating"}}
    assert dgd_status(store)["state"] == "pending"
    assert ready_condition(store)["reason"] == "some_resources_are_not_ready"
    assert (status_of(store).phase, status_of(store).reason) == ("Deploying", "0/2 replicas ready")

    step(operator, clock, to=READY_AFTER / 2)
    assert {p["status"]["phase"] for p in pods_of(store)} == {"Running"}
    assert not any(pod_condition(p, "Ready")["status"] == "True" for p in pods_of(store))
    assert status_of(store).phase == "Deploying"

    step(operator, clock, to=READY_AFTER)
    assert all(pod_condition(p, "Ready")["status"] == "True" for p in pods_of(store))
    assert dgd_status(store)["state"] == "successful"
    assert ready_condition(store)["status"] == "True"
    assert ready_condition(store)["reason"] == "all_resources_are_ready"
    assert (status_of(store).phase, status_of(store).reason) == ("Running", "ready")


@pytest.mark.parametrize("version", VERSIONS)
def test_the_status_has_the_shape_of_the_dgds_version(
    version: str, store: Store, operator: SimOperator, clock: FakeClock
) -> None:
    store.create(DGD, make_dgd(version, replicas=2))
    step(operator, clock, to=0)
    step(operator, clock, to=READY_AFTER)

    status = dgd_status(store)
    assert status["observedGeneration"] == 1
    assert ("services" if version == "v1beta1" else "components") not in status
    worker = replica_status(store, version)["VllmDecodeWorker"]
    (object_name,) = worker["componentNames"]
    assert re.fullmatch(r"qwen-vllmdecodeworker-[0-9a-f]{8}", object_name)
    expected = {
        "componentKind": "Deployment",
        "componentNames": [object_name],
        "runtimeNamespace": f"{NS}-qwen",
        "replicas": 2,
        "updatedReplicas": 2,
        "readyReplicas": 2,
        "availableReplicas": 2,
    }
    if version == "v1alpha1":
        expected["componentName"] = object_name
    assert worker == expected
    assert status_of(store).replicas_ready == 3


@pytest.mark.parametrize("version", VERSIONS)
def test_pods_carry_the_operators_labels_a_main_container_and_a_node(
    version: str, store: Store, operator: SimOperator, clock: FakeClock
) -> None:
    store.create(DGD, make_dgd(version, gpus=2))
    step(operator, clock, to=0)

    (pod,) = worker_pods(store)
    labels = pod["metadata"]["labels"]
    worker_hash = labels["nvidia.com/dynamo-worker-hash"]
    assert re.fullmatch(r"[0-9a-f]{8}", worker_hash)
    object_name = f"qwen-vllmdecodeworker-{worker_hash}"
    # A Deployment's pod: <deployment>-<pod-template-hash>-<suffix>
    assert re.fullmatch(rf"{object_name}-[a-z0-9]{{10}}-[a-z0-9]{{5}}", pod["metadata"]["name"])
    assert labels == {
        "nvidia.com/dynamo-graph-deployment-name": "qwen",
        "nvidia.com/dynamo-component": "VllmDecodeWorker",
        "nvidia.com/dynamo-component-type": "worker",
        "nvidia.com/dynamo-namespace": f"{NS}-qwen",
        "nvidia.com/selector": object_name,
        "nvidia.com/dynamo-worker-hash": worker_hash,
        "nvidia.com/metrics-enabled": "true",
        "pod-template-hash": pod["metadata"]["name"].split("-")[-2],
    }
    (container,) = pod["spec"]["containers"]
    assert (container["name"], container["image"]) == ("main", IMAGE)
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "2"
    assert pod["spec"]["nodeName"].startswith("sim-gpu-node-")
    assert pod_condition(pod, "PodScheduled")["status"] == "True"


@pytest.mark.parametrize("version", VERSIONS)
def test_disaggregated_workers_are_labelled_by_their_role(
    version: str, store: Store, operator: SimOperator, clock: FakeClock
) -> None:
    store.create(DGD, make_dgd(version, disaggregated=True))
    step(operator, clock, to=0)

    labels = {
        p["metadata"]["labels"]["nvidia.com/dynamo-component"]: p["metadata"]["labels"]
        for p in worker_pods(store)
    }
    if version == "v1beta1":  # prefill and decode are component types
        assert labels["VllmPrefillWorker"]["nvidia.com/dynamo-component-type"] == "prefill"
        assert "nvidia.com/dynamo-sub-component-type" not in labels["VllmPrefillWorker"]
    else:  # worker with a sub-component type
        assert labels["VllmPrefillWorker"]["nvidia.com/dynamo-component-type"] == "worker"
        assert labels["VllmPrefillWorker"]["nvidia.com/dynamo-sub-component-type"] == "prefill"
        assert labels["VllmDecodeWorker"]["nvidia.com/dynamo-sub-component-type"] == "decode"


@pytest.mark.parametrize("version", VERSIONS)
def test_the_frontend_gets_the_operators_command_and_port(
    version: str, store: Store, operator: SimOperator, clock: FakeClock
) -> None:
    store.create(DGD, make_dgd(version))
    step(operator, clock, to=0)

    frontend = next(p for p in pods_of(store) if "frontend" in p["metadata"]["name"])
    (container,) = frontend["spec"]["containers"]
    assert container["command"] == ["python3", "-m", "dynamo.frontend"]
    assert container["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
    assert status_of(store).frontend_service == "qwen-frontend"


@pytest.mark.parametrize("version", VERSIONS)
def test_worker_pods_have_an_engine_log_once_running(
    version: str, store: Store, operator: SimOperator, clock: FakeClock
) -> None:
    store.create(DGD, make_dgd(version))
    step(operator, clock, to=0)
    assert POD_LOG_ANNOTATION not in worker_pods(store)[0]["metadata"].get("annotations", {})

    step(operator, clock, to=READY_AFTER)
    log = worker_pods(store)[0]["metadata"]["annotations"][POD_LOG_ANNOTATION]
    assert f"Loading model {MODEL}" in log


@pytest.mark.parametrize("version", VERSIONS)
def test_nothing_is_written_once_a_dgd_is_ready(
    version: str, store: Store, operator: SimOperator, clock: FakeClock
) -> None:
    store.create(DGD, make_dgd(version))
    step(operator, clock, to=0)
    step(operator, clock, to=READY_AFTER)
    operator.reconcile_once()  # the last pass's own writes settle
    before = store.resource_version()

    clock.now = READY_AFTER * 10
    assert operator.reconcile_once() == 0
    assert store.resource_version() == before


@pytest.mark.parametrize("version", VERSIONS)
def test_annotating_a_dgd_does_not_touch_its_pods_or_status(
    version: str, store: Store, operator: SimOperator, clock: FakeClock
) -> None:
    store.create(DGD, make_dgd(version))
    step(operator, clock, to=0)
    step(operator, clock, to=READY_AFTER)
    before = store.resource_version()

    store.update(
        DGD, NS, "qwen", lambda o: o["metadata"].setdefault("annotations", {}).update(a="1")
    )
    operator.reconcile_once()
    assert int(store.resource_version()) == int(before) + 1  # only the annotation write


# --- scheduling failures --------------------------------------------------------------------


def largest_catalog_model() -> tuple[str, int]:
    model = max(load_catalog(), key=lambda m: m.min_gpu_memory)
    return model.id, model.min_gpu_memory


@pytest.mark.parametrize("version", VERSIONS)
def test_a_model_larger_than_the_gpu_memory_is_scheduled_and_its_worker_runs_out_of_memory(
    version: str, store: Store, clock: FakeClock
) -> None:
    # The scheduler counts GPUs, not weights: the pod gets a node, the worker dies loading.
    model, memory = largest_catalog_model()
    operator = SimOperator(store, ready_after=READY_AFTER, gpu_memory_gib=memory - 1, clock=clock)
    store.create(DGD, make_dgd(version, model=model))
    step(operator, clock, to=0)
    step(operator, clock, to=READY_AFTER * 2)

    (pod,) = worker_pods(store)
    assert pod["spec"].get("nodeName")
    assert pod_condition(pod, "PodScheduled")["status"] == "True"
    state = pod["status"]["containerStatuses"][0]
    assert state["restartCount"] >= 1 and state["lastState"]["terminated"]["exitCode"] == 1
    assert "torch.OutOfMemoryError: CUDA out of memory." in pod["metadata"]["annotations"][
        POD_LOG_ANNOTATION]  # fmt: skip
    operator.stop()


@pytest.mark.parametrize("version", VERSIONS)
def test_a_model_fits_when_its_gpus_together_hold_it(
    version: str, store: Store, clock: FakeClock
) -> None:
    model, memory = largest_catalog_model()
    operator = SimOperator(store, ready_after=0, gpu_memory_gib=memory // 2 + 1, clock=clock)
    store.create(DGD, make_dgd(version, model=model, gpus=2))
    step(operator, clock, to=0)
    assert status_of(store).phase == "Running"
    operator.stop()


@pytest.mark.parametrize("version", VERSIONS)
def test_a_pod_wanting_more_gpus_than_a_node_has_stays_pending(
    version: str, store: Store, operator: SimOperator, clock: FakeClock
) -> None:
    store.create(DGD, make_dgd(version, gpus=9))
    step(operator, clock, to=0)

    assert pod_condition(worker_pods(store)[0], "PodScheduled")["reason"] == "Unschedulable"
    assert status_of(store).phase == "Pending"


@pytest.mark.parametrize("version", VERSIONS)
def test_gpus_are_shared_between_dgds_and_freed_by_deleting_one(
    version: str, store: Store, clock: FakeClock
) -> None:
    operator = SimOperator(store, ready_after=0, nodes=1, gpus_per_node=2, clock=clock)
    store.create(DGD, make_dgd(version, "first", gpus=2))
    store.create(DGD, make_dgd(version, "second", gpus=1))
    step(operator, clock, to=0)
    assert status_of(store, "first").phase == "Running"
    second = status_of(store, "second")
    assert (second.phase, second.reason) == (
        "Pending",
        "waiting for GPUs: 0/1 nodes have nvidia.com/gpu free; VllmDecodeWorker needs 1 GPU "
        "on one node",
    )

    store.delete(DGD, NS, "first")
    step(operator, clock, to=1)
    operator.reconcile_once()
    # Its old FailedScheduling event stays, as on a real cluster; the pod has a node now.
    assert status_of(store, "second").phase == "Running"
    operator.stop()


@pytest.mark.parametrize("version", VERSIONS)
def test_replicas_beyond_the_free_gpus_wait_while_the_others_run(
    version: str, store: Store, clock: FakeClock
) -> None:
    operator = SimOperator(store, ready_after=0, nodes=3, gpus_per_node=1, clock=clock)
    store.create(DGD, make_dgd(version, replicas=4))
    step(operator, clock, to=0)

    scheduled = [p for p in worker_pods(store) if p["spec"].get("nodeName")]
    assert len(scheduled) == 3
    status = status_of(store)
    assert (status.phase, status.replicas_ready, status.replicas_desired) == ("Pending", 4, 5)
    operator.stop()


# --- container failures ---------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_a_missing_hf_secret_fails_the_container_until_the_secret_exists(
    version: str, clock: FakeClock
) -> None:
    store = Store()  # no secret
    operator = SimOperator(store, ready_after=READY_AFTER, clock=clock)
    store.create(DGD, make_dgd(version))
    step(operator, clock, to=0)
    step(operator, clock, to=READY_AFTER * 3)

    (pod,) = worker_pods(store)
    assert container_state(pod) == {
        "waiting": {
            "reason": "CreateContainerConfigError",
            "message": 'secret "hf-token-secret" not found',
        }
    }
    assert pod_condition(pod, "Ready")["status"] == "False"
    (event,) = events_of(store, pod["metadata"]["name"])
    assert (event["reason"], event["message"]) == (
        "Failed",
        'Error: secret "hf-token-secret" not found',
    )
    assert dgd_status(store)["state"] == "pending"
    status = status_of(store)
    assert (status.phase, status.reason) == ("Failed", "secret hf-token-secret not found")

    add_secret(store)
    step(operator, clock, to=READY_AFTER * 3 + 1)
    assert container_state(worker_pods(store)[0]) == {"waiting": {"reason": "ContainerCreating"}}
    assert status_of(store).phase == "Deploying"
    step(operator, clock, to=READY_AFTER * 4 + 1)
    assert status_of(store).phase == "Running"
    operator.stop()


@pytest.mark.parametrize("version", VERSIONS)
def test_an_image_on_an_invalid_registry_fails_to_pull_until_dynamote_calls_it_failed(
    version: str, store: Store, operator: SimOperator, clock: FakeClock
) -> None:
    image = "registry.example.invalid/ai-dynamo/vllm-runtime:1.4.0"
    store.create(DGD, make_dgd(version, image=image))
    step(operator, clock, to=0)

    (pod,) = worker_pods(store)
    assert container_state(pod)["waiting"]["reason"] == "ErrImagePull"
    (event,) = events_of(store, pod["metadata"]["name"])
    assert (event["reason"], event["count"]) == ("Failed", 1)
    assert event["message"].startswith(f'Failed to pull image "{image}": ')
    assert event["message"].endswith("lookup registry.example.invalid: no such host")
    first_pull = status_now(store)
    assert (first_pull.phase, first_pull.reason) == (
        "Pending",
        f"image pull failed: {image} (retrying)",
    )

    step(operator, clock, to=READY_AFTER / 2)
    (pod,) = worker_pods(store)
    assert container_state(pod)["waiting"]["reason"] == "ImagePullBackOff"
    reasons = {e["reason"] for e in events_of(store, pod["metadata"]["name"])}
    assert reasons == {"Failed", "BackOff"}
    assert status_now(store).phase == "Pending"  # one failed pull may be a registry hiccup

    step(operator, clock, to=READY_AFTER)  # the kubelet's second pull fails too
    failed = next(e for e in events_of(store, pod["metadata"]["name"]) if e["reason"] == "Failed")
    assert failed["count"] == 2
    assert dgd_status(store)["state"] == "pending"
    assert ready_condition(store)["status"] == "False"
    status = status_now(store)
    assert (status.phase, status.reason) == ("Failed", f"image pull failed: {image}")


def test_the_examples_placeholder_tag_is_not_found_at_the_registry(
    store: Store, operator: SimOperator, clock: FakeClock
) -> None:
    image = "nvcr.io/nvidia/ai-dynamo/vllm-runtime:my-tag"
    store.create(DGD, make_dgd("v1beta1", image=image))
    step(operator, clock, to=0)
    (pod,) = worker_pods(store)
    assert container_state(pod)["waiting"]["reason"] == "ErrImagePull"
    (event,) = events_of(store, pod["metadata"]["name"])
    assert event["message"].endswith(f"{image}: not found")


@pytest.mark.parametrize("tag", ["1.4.0", "1.7.1", "9.9.9", "1.4.0-cuda13"])
def test_any_release_tag_on_a_real_registry_pulls(
    tag: str, store: Store, operator: SimOperator, clock: FakeClock
) -> None:
    store.create(DGD, make_dgd("v1beta1", image=f"nvcr.io/nvidia/ai-dynamo/vllm-runtime:{tag}"))
    step(operator, clock, to=0)
    step(operator, clock, to=READY_AFTER)
    assert status_of(store).phase == "Running"


@pytest.mark.parametrize("version", VERSIONS)
def test_a_component_without_an_image_makes_the_operator_report_failed(
    version: str, store: Store, operator: SimOperator, clock: FakeClock
) -> None:
    dgd = make_dgd(version)
    if version == "v1beta1":
        worker_spec(dgd)["podTemplate"]["spec"]["containers"][0].pop("image")
    else:
        worker_spec(dgd)["extraPodSpec"]["mainContainer"].pop("image")
    store.create(DGD, dgd)
    step(operator, clock, to=0)

    assert dgd_status(store)["state"] == "failed"
    assert ready_condition(store)["reason"] == "failed_to_reconcile_the_resources"
    assert "observedGeneration" not in dgd_status(store)  # set only by a reconcile that worked
    assert pods_of(store) == []
    status = status_of(store)
    assert (status.phase, status.reason) == (
        "Failed",
        "failed to reconcile Dynamo components deployments: "
        "component VllmDecodeWorker has no image",
    )


# --- deletion, scaling, spec changes --------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_deleting_a_dgd_removes_its_pods_and_their_events(version: str, clock: FakeClock) -> None:
    store = Store()  # no secret: the worker gets an event
    operator = SimOperator(store, ready_after=READY_AFTER, clock=clock)
    store.create(DGD, make_dgd(version))
    step(operator, clock, to=0)
    assert pods_of(store) and store.list("events")[0]

    store.delete(DGD, NS, "qwen")
    step(operator, clock, to=1)
    assert pods_of(store) == []
    assert store.list("events")[0] == []
    operator.stop()


@pytest.mark.parametrize("version", VERSIONS)
def test_scaling_up_and_down_adds_and_removes_replicas(
    version: str, store: Store, operator: SimOperator, clock: FakeClock
) -> None:
    store.create(DGD, make_dgd(version))
    step(operator, clock, to=0)
    step(operator, clock, to=READY_AFTER)

    store.update(DGD, NS, "qwen", lambda o: worker_spec(o).update(replicas=3))
    step(operator, clock, to=READY_AFTER + 1)
    assert len(worker_pods(store)) == 3
    assert dgd_status(store)["observedGeneration"] == 2
    scaling = status_of(store)
    assert (scaling.phase, scaling.reason) == ("Deploying", "2/4 replicas ready")
    step(operator, clock, to=READY_AFTER * 3)
    assert replica_status(store, version)["VllmDecodeWorker"]["readyReplicas"] == 3
    assert status_of(store).phase == "Running"

    store.update(DGD, NS, "qwen", lambda o: worker_spec(o).update(replicas=1))
    step(operator, clock, to=READY_AFTER * 3 + 1)
    (pod,) = worker_pods(store)
    assert replica_index(pod) == 0  # the surplus replicas went, the first one stays
    assert pod["metadata"]["labels"]["nvidia.com/dynamo-worker-hash"] == worker_hash(store)
    assert replica_status(store, version)["VllmDecodeWorker"]["replicas"] == 1
    assert status_of(store).phase == "Running"


@pytest.mark.parametrize("version", VERSIONS)
def test_a_changed_worker_spec_replaces_its_pods(
    version: str, store: Store, operator: SimOperator, clock: FakeClock
) -> None:
    store.create(DGD, make_dgd(version))
    step(operator, clock, to=0)
    step(operator, clock, to=READY_AFTER)
    (old,) = worker_pods(store)

    def change_image(dgd: dict[str, Any]) -> None:
        image = IMAGE.replace("0.7.1", "1.4.0")
        if version == "v1beta1":
            worker_spec(dgd)["podTemplate"]["spec"]["containers"][0]["image"] = image
        else:
            worker_spec(dgd)["extraPodSpec"]["mainContainer"]["image"] = image

    store.update(DGD, NS, "qwen", change_image)
    step(operator, clock, to=READY_AFTER + 1)
    (new,) = worker_pods(store)
    assert new["metadata"]["name"] != old["metadata"]["name"]
    assert new["spec"]["containers"][0]["image"].endswith(":1.4.0")
    assert status_of(store).phase == "Deploying"
    step(operator, clock, to=READY_AFTER * 3)
    assert status_of(store).phase == "Running"


@pytest.mark.parametrize("version", VERSIONS)
def test_a_pod_deleted_by_someone_else_is_recreated(
    version: str, store: Store, operator: SimOperator, clock: FakeClock
) -> None:
    store.create(DGD, make_dgd(version))
    step(operator, clock, to=0)
    step(operator, clock, to=READY_AFTER)
    (pod,) = worker_pods(store)

    store.delete("pods", NS, pod["metadata"]["name"])
    step(operator, clock, to=READY_AFTER + 1)
    assert len(worker_pods(store)) == 1
    assert status_of(store).phase == "Deploying"


def test_dgds_created_before_the_operator_are_reconciled(store: Store, clock: FakeClock) -> None:
    store.create(DGD, make_dgd("v1beta1"))
    operator = SimOperator(store, ready_after=0, clock=clock)
    step(operator, clock, to=0)
    assert status_of(store).phase == "Running"
    operator.stop()


# --- make_ready, speed, the thread, HTTP ----------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_make_ready_creates_a_running_dgd_the_operator_leaves_alone(
    version: str, store: Store, operator: SimOperator, clock: FakeClock
) -> None:
    make_ready(store, make_dgd(version, replicas=2))
    status = status_of(store)
    assert (status.phase, status.replicas_ready, status.replicas_desired) == ("Running", 3, 3)
    assert dgd_status(store)["state"] == "successful"

    operator.reconcile_once()
    before = store.resource_version()
    operator.reconcile_once()
    assert store.resource_version() == before


def test_make_ready_without_pods_still_reads_as_running(store: Store) -> None:
    make_ready(store, make_dgd("v1beta1"), with_pods=False)
    assert pods_of(store) == []
    assert status_of(store).phase == "Running"


def test_many_ready_dgds_cost_nothing_to_revisit(store: Store, clock: FakeClock) -> None:
    # How fast this is, is the benchmark's to measure; here: a second pass writes nothing.
    for index in range(1_000):
        make_ready(store, make_dgd(VERSIONS[index % 2], f"dgd-{index}"))
    operator = SimOperator(store, ready_after=READY_AFTER, clock=clock)
    operator.reconcile_once()  # the first pass adopts what is there
    before = store.resource_version()
    assert operator.reconcile_once() == 0
    assert store.resource_version() == before
    operator.stop()


def test_the_background_thread_reconciles_on_its_own(store: Store) -> None:
    operator = SimOperator(store, ready_after=0, tick=0.01)
    operator.start()
    try:
        store.create(DGD, make_dgd("v1beta1"))
        wait_until(lambda: dgd_status(store).get("state") == "successful", what="successful")
        assert status_of(store).phase == "Running"
    finally:
        operator.stop()


def test_a_dgd_created_over_http_becomes_ready_for_the_kubernetes_client(
    tmp_path: Path, clock: FakeClock, crd_path: Path | None
) -> None:
    import kubernetes  # noqa: PLC0415

    from bot.sim.k8s.standin import StandIn  # noqa: PLC0415

    with StandIn(crd_path=crd_path, seed_namespaces=(NS,)) as standin:
        operator = SimOperator(standin.store, ready_after=READY_AFTER, clock=clock)
        config = tmp_path / "kubeconfig"
        standin.write_kubeconfig(config)
        client = kubernetes.config.new_client_from_config(config_file=str(config))
        custom = kubernetes.client.CustomObjectsApi(client)
        core = kubernetes.client.CoreV1Api(client)
        custom.create_namespaced_custom_object(
            "nvidia.com", "v1beta1", NS, DGD, make_dgd("v1beta1")
        )
        step(operator, clock, to=0)
        step(operator, clock, to=READY_AFTER)

        dgd = custom.get_namespaced_custom_object("nvidia.com", "v1beta1", NS, DGD, "qwen")
        assert dgd["status"]["state"] == "successful"
        pods = core.list_namespaced_pod(NS, label_selector=f"{LABEL_DGD}=qwen").items
        assert sorted(p.metadata.labels["nvidia.com/dynamo-component"] for p in pods) == [
            "Frontend",
            "VllmDecodeWorker",
        ]
        worker = next(p for p in pods if "worker" in p.metadata.name)
        assert worker.status.container_statuses[0].ready is True
        log = core.read_namespaced_pod_log(worker.metadata.name, NS)
        assert f"Loading model {MODEL}" in log
        operator.stop()


@pytest.mark.parametrize("version", VERSIONS)
def test_deleting_the_secret_of_a_running_pod_leaves_it_running(
    version: str, store: Store, operator: SimOperator, clock: FakeClock
) -> None:
    store.create(DGD, make_dgd(version))
    step(operator, clock, to=0)
    step(operator, clock, to=READY_AFTER)

    store.delete("secrets", NS, "hf-token-secret")
    store.update(DGD, NS, "qwen", lambda o: worker_spec(o, "Frontend").update(replicas=2))
    step(operator, clock, to=READY_AFTER + 1)
    assert pod_condition(worker_pods(store)[0], "Ready")["status"] == "True"


@pytest.fixture(scope="module")
def status_schemas(dynamo_reference: Path) -> dict[str, Any]:
    """The CRD's status schema per version (the 12,000-line CRD is parsed once)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    crd = yaml.load((dynamo_reference / "crd" / CRD_FILE).read_text(), Loader=loader)
    return {
        served["name"]: served["schema"]["openAPIV3Schema"]["properties"]["status"]
        for served in crd["spec"]["versions"]
    }


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("secret", [True, False])
def test_the_status_written_validates_against_the_operators_crd(
    version: str, secret: bool, status_schemas: dict[str, Any], clock: FakeClock
) -> None:
    import jsonschema  # noqa: PLC0415

    status_schema = status_schemas[version]
    store = Store()
    if secret:
        add_secret(store)
    operator = SimOperator(store, ready_after=READY_AFTER, clock=clock)
    store.create(DGD, make_dgd(version))
    for now in (0, READY_AFTER / 2, READY_AFTER):
        step(operator, clock, to=now)
        jsonschema.validate(dgd_status(store), status_schema)
    operator.stop()


# --- Services, names, reconcile errors --------------------------------------------------------


def services_of(store: Store, name: str = "qwen") -> dict[str, dict[str, Any]]:
    services, _ = store.list("services", NS, label_selector=f"{LABEL_DGD}={name}")
    return {s["metadata"]["name"]: s for s in services}


@pytest.mark.parametrize("version", VERSIONS)
def test_each_component_gets_a_service_named_as_the_operator_names_it(
    version: str, store: Store, operator: SimOperator, clock: FakeClock
) -> None:
    store.create(DGD, make_dgd(version, disaggregated=True))
    step(operator, clock, to=0)

    hashed = worker_hash(store)
    services = services_of(store)
    assert set(services) == {
        "qwen-frontend",
        f"qwen-vllmdecodeworker-{hashed}",
        f"qwen-vllmprefillworker-{hashed}",
    }
    frontend = services["qwen-frontend"]["spec"]
    assert frontend["type"] == "ClusterIP"
    assert frontend["ports"] == [
        {"name": "http", "port": 8000, "protocol": "TCP", "targetPort": "http"}
    ]
    assert frontend["selector"] == {
        "nvidia.com/dynamo-component-type": "frontend",
        "nvidia.com/dynamo-namespace": f"{NS}-qwen",
        "nvidia.com/dynamo-component": "Frontend",
    }
    worker = services[f"qwen-vllmdecodeworker-{hashed}"]["spec"]
    assert worker["ports"][0]["name"] == "system"
    assert worker["selector"] == {"nvidia.com/selector": f"qwen-vllmdecodeworker-{hashed}"}
    assert status_of(store).frontend_service in services


@pytest.mark.parametrize("version", VERSIONS)
def test_the_frontend_endpoints_list_its_pod_once_it_is_ready(
    version: str, store: Store, operator: SimOperator, clock: FakeClock
) -> None:
    store.create(DGD, make_dgd(version))
    step(operator, clock, to=0)
    step(operator, clock, to=READY_AFTER / 2)  # running, not ready yet
    endpoints = store.get("endpoints", NS, "qwen-frontend")
    assert endpoints is not None
    (subset,) = endpoints["subsets"]
    assert "addresses" not in subset and len(subset["notReadyAddresses"]) == 1

    step(operator, clock, to=READY_AFTER)
    endpoints = store.get("endpoints", NS, "qwen-frontend")
    assert endpoints is not None
    (subset,) = endpoints["subsets"]
    (address,) = subset["addresses"]
    (pod,) = [p for p in pods_of(store) if p["metadata"]["name"].startswith("qwen-frontend-")]
    assert address["ip"] == pod["status"]["podIP"]
    assert address["targetRef"]["name"] == pod["metadata"]["name"]
    assert subset["ports"] == [{"name": "http", "port": 8000, "protocol": "TCP"}]


@pytest.mark.parametrize("version", VERSIONS)
def test_a_new_worker_spec_gets_a_new_hash_and_scaling_keeps_it(
    version: str, store: Store, operator: SimOperator, clock: FakeClock
) -> None:
    store.create(DGD, make_dgd(version))
    step(operator, clock, to=0)
    first = worker_hash(store)

    store.update(DGD, NS, "qwen", lambda o: worker_spec(o).update(replicas=2))
    step(operator, clock, to=1)
    assert worker_hash(store) == first

    def new_model(obj: dict[str, Any]) -> None:
        spec = worker_spec(obj)
        main = (
            spec["podTemplate"]["spec"]["containers"][0]
            if version == "v1beta1"
            else spec["extraPodSpec"]["mainContainer"]
        )
        main["args"] = ["--model", "Qwen/Qwen3-8B"]

    store.update(DGD, NS, "qwen", new_model)
    step(operator, clock, to=2)
    second = worker_hash(store)
    assert second != first
    assert set(services_of(store)) == {"qwen-frontend", f"qwen-vllmdecodeworker-{second}"}
    assert {p["metadata"]["labels"]["nvidia.com/selector"] for p in worker_pods(store)} == {
        f"qwen-vllmdecodeworker-{second}"
    }


@pytest.mark.parametrize("version", VERSIONS)
def test_a_name_the_api_server_refuses_fails_the_reconcile_with_its_message(
    version: str, store: Store, operator: SimOperator, clock: FakeClock
) -> None:
    name = "a-deployment-name-long-enough-that-its-worker-service-is-too-long"  # 64 characters
    store.create(DGD, make_dgd(version, name=name))
    step(operator, clock, to=0)

    status = dgd_status(store, name)
    assert status["state"] == "failed"
    condition = ready_condition(store, name)
    assert (condition["status"], condition["reason"]) == (
        "False",
        "failed_to_reconcile_the_resources",
    )
    assert condition["message"].startswith(
        f'failed to reconcile Dynamo components deployments: Service "{name}-frontend" is invalid'
    )
    assert "must be no more than 63 characters" in condition["message"]
    assert pods_of(store, name) == [] and services_of(store, name) == {}


@pytest.mark.parametrize("version", VERSIONS)
def test_a_transient_reconcile_failure_reads_failed_then_recovers_by_itself(
    version: str, store: Store, operator: SimOperator, clock: FakeClock
) -> None:
    store.create(DGD, make_dgd(version))
    step(operator, clock, to=0)
    operator.fail_reconciles(NS, "qwen", seconds=READY_AFTER * 2)
    step(operator, clock, to=1)

    status = dgd_status(store)
    assert status["state"] == "failed"
    assert ("components" if version == "v1beta1" else "services") not in status
    condition = ready_condition(store)
    assert condition["reason"] == "failed_to_reconcile_the_resources"
    assert (
        'Operation cannot be fulfilled on deployments.apps "qwen-frontend"' in condition["message"]
    )
    retrying = status_now(store)
    assert retrying.phase == "Deploying"
    assert "operator retrying: failed to reconcile" in retrying.reason

    step(operator, clock, to=READY_AFTER)  # the pods carry on meanwhile
    assert dgd_status(store)["state"] == "failed"
    assert status_now(store).phase == "Running"

    step(operator, clock, to=READY_AFTER * 2)  # the failure ends at its time, unprompted
    assert dgd_status(store)["state"] == "successful"
    assert ready_condition(store)["reason"] == "all_resources_are_ready"


def test_the_transient_failure_setting_fails_each_new_dgd_for_a_while(
    store: Store, clock: FakeClock
) -> None:
    operator = SimOperator(store, ready_after=READY_AFTER, transient_failure=5.0, clock=clock)
    store.create(DGD, make_dgd("v1beta1"))
    step(operator, clock, to=0)
    assert dgd_status(store)["state"] == "failed"
    step(operator, clock, to=5.0)
    assert dgd_status(store)["state"] == "pending"
    operator.stop()


@pytest.mark.parametrize("version", VERSIONS)
def test_deleting_a_dgd_removes_its_services_and_endpoints(
    version: str, store: Store, operator: SimOperator, clock: FakeClock
) -> None:
    store.create(DGD, make_dgd(version))
    step(operator, clock, to=0)
    assert services_of(store) and store.list("endpoints", NS)[0]

    store.delete(DGD, NS, "qwen")
    step(operator, clock, to=1)
    assert services_of(store) == {}
    assert store.list("endpoints", NS)[0] == []
