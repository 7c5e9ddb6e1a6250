"""Tests of bot.cluster.slim: a slimmed DGD or pod gives the same status and deployment as
the full object, over the simulated operator's states (both API versions, healthy and
failing) and the operator's own examples; and slimming drops the bulk."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cluster.slim import slim_dgd, slim_pod
from bot.domain.catalog import load_catalog
from bot.domain.deployments import deployment_from
from bot.domain.manifest import SlackOrigin, render_dgd
from bot.domain.request import Privileges, parse_request
from bot.domain.status import compute_status
from bot.sim.k8s.store import Store
from bot.sim.operator.controller import SimOperator

NS = "team-a"
DGD = "dynamographdeployments"
LABEL_DGD = "nvidia.com/dynamo-graph-deployment-name"
GOOD_IMAGE = "nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.4.0"
EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "dynamo" / "examples"
MANAGED_FIELDS = [
    {"manager": "dynamo-operator", "operation": "Update", "fieldsV1": {"f:status": {".": {}}}}
]

# (name, request overrides, image): healthy, disaggregated, missing secret, an image on a
# registry that does not resolve, more GPUs than a node has.
SCENARIOS: list[tuple[str, dict[str, Any], str]] = [
    ("ok", {}, GOOD_IMAGE),
    ("disagg", {"mode": "disaggregated"}, GOOD_IMAGE),
    ("nosecret", {"hfTokenSecret": "missing-secret"}, GOOD_IMAGE),
    ("badimage", {}, "registry.example.invalid/ai-dynamo/vllm-runtime:1.4.0"),
    ("toobig", {"gpus": 8}, GOOD_IMAGE),
]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _manifest(name: str, overrides: dict[str, Any], image: str, version: str) -> dict[str, Any]:
    raw = {"model": "Qwen/Qwen3-0.6B", "name": name, "namespace": NS, "engine": "vllm"}
    secret = overrides.get("hfTokenSecret", "hf-token-secret")  # an allowed name, maybe missing
    request = parse_request(
        {**raw, **overrides}, catalog=load_catalog(), privileges=Privileges(hf_secrets=(secret,))
    )
    origin = SlackOrigin(user="U1", channel="C1", thread_ts="1.2")
    return render_dgd(request, image=image, api_version=version, origin=origin)  # type: ignore[arg-type]


def _with_managed_fields(obj: dict[str, Any]) -> dict[str, Any]:
    full = copy.deepcopy(obj)
    full["metadata"]["managedFields"] = MANAGED_FIELDS
    return full


def _states(version: str) -> list[tuple[dict[str, Any], list[dict[str, Any]], list[Any]]]:
    """(DGD, its pods, their events) at several moments of every scenario."""
    store = Store()
    store.create("secrets", {"metadata": {"name": "hf-token-secret", "namespace": NS}})
    clock = Clock()
    operator = SimOperator(store, ready_after=10.0, nodes=2, gpus_per_node=4, clock=clock)
    for name, overrides, image in SCENARIOS:
        store.create(DGD, _manifest(name, overrides, image, version))
    states = []
    for moment in (0.0, 1.0, 5.0, 11.0, 40.0, 400.0):
        clock.now = moment
        operator.reconcile_once()
        events = store.list("events")[0]
        for dgd in store.list(DGD, NS)[0]:
            pods = store.list("pods", NS, label_selector=f"{LABEL_DGD}={dgd['metadata']['name']}")[
                0
            ]
            states.append(
                (_with_managed_fields(dgd), [_with_managed_fields(p) for p in pods], events)
            )
    operator.stop()
    return states


@pytest.mark.parametrize("version", ["nvidia.com/v1beta1", "nvidia.com/v1alpha1"])
def test_status_and_deployment_are_the_same_from_slim_objects(version: str) -> None:
    now = datetime.now(UTC)
    states = _states(version)
    phases = set()
    for dgd, pods, events in states:
        slim_pods = [slim_pod(pod) for pod in pods]
        full_status = compute_status(dgd, pods, events, now=now)
        assert compute_status(slim_dgd(dgd), slim_pods, events, now=now) == full_status
        assert deployment_from(
            slim_dgd(dgd), slim_pods, events, verified=True, now=now
        ) == deployment_from(dgd, pods, events, verified=True, now=now)
        phases.add((full_status.phase, full_status.reason))
    # The corpus covers more than the happy path.
    assert {phase for phase, _ in phases} >= {"Pending", "Deploying", "Running", "Failed"}


def _examples() -> list[Path]:
    return sorted(EXAMPLES.glob("*.yaml")) + sorted((EXAMPLES / "v1alpha1").glob("*.yaml"))


@pytest.mark.parametrize("path", _examples(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_operators_examples_keep_their_sizes_when_slimmed(path: Path) -> None:
    dgd = yaml.safe_load(path.read_text())
    dgd["metadata"].update(namespace=NS, creationTimestamp="2026-08-21T10:00:00Z")
    dgd["status"] = {"state": "pending", "conditions": [{"type": "Ready", "status": "False"}]}
    now = datetime.now(UTC)
    assert compute_status(slim_dgd(dgd), (), (), now=now) == compute_status(dgd, (), (), now=now)


def test_slimming_drops_the_bulk_and_keeps_the_rest() -> None:
    dgd = _with_managed_fields(_manifest("ok", {}, GOOD_IMAGE, "nvidia.com/v1beta1"))
    dgd["status"] = {"state": "successful"}
    slim = slim_dgd(dgd)
    assert "managedFields" not in slim["metadata"]
    assert slim["metadata"]["annotations"] == dgd["metadata"]["annotations"]
    assert slim["status"] == dgd["status"]
    worker = slim["spec"]["components"][1]["podTemplate"]["spec"]["containers"][0]
    assert set(worker) <= {"name", "image", "resources"}
    assert len(json.dumps(slim)) < len(json.dumps(dgd)) * 0.8
    assert "managedFields" in dgd["metadata"]  # the input is left alone


def test_slimming_copes_with_malformed_objects() -> None:
    odd: dict[str, Any] = {"metadata": None, "spec": {"components": [None, 3, {"podTemplate": 1}]}}
    assert slim_dgd(odd)["spec"]["components"] == [None, 3, {}]
    assert slim_pod({"spec": {"containers": "x"}}) == {"spec": {}}
