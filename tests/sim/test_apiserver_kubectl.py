"""kubectl 1.32 against the stand-in: apply every upstream example, get, re-apply, delete.

The examples carry the placeholder tag ``my-tag``, which operators before 1.5 admit: most tests
run a stand-in with a 1.4 operator's admission; those with the newest rules say so.
Skipped when kubectl is not installed or the Dynamo reference folder is absent.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bot.sim.k8s.standin import StandIn
from bot.sim.operator.admission import LATEST_OPERATOR_VERSION, OVERRIDE_REQUIRED
from bot.sim.operator.controller import SimOperator
from tests.waiting import when_watched

from .dgds import PLURAL

KUBECTL = shutil.which("kubectl")
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")


def kubectl(kubeconfig: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    assert KUBECTL is not None
    done = subprocess.run(
        [KUBECTL, "--kubeconfig", str(kubeconfig), *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if ok:
        assert done.returncode == 0, done.stderr
    return done


@pytest.fixture
def standin(crd_path: Path | None) -> Iterator[StandIn]:
    """The examples' operator line: a 1.4 webhook, which admits the placeholder tag."""
    with StandIn(crd_path=crd_path, operator_version="1.4.2") as running:
        yield running


@pytest.fixture
def newest(crd_path: Path | None, tmp_path: Path) -> Iterator[tuple[StandIn, Path]]:
    """A stand-in with the newest operator's admission rules, and a kubeconfig for it."""
    with StandIn(crd_path=crd_path, operator_version=LATEST_OPERATOR_VERSION) as running:
        yield running, running.write_kubeconfig(tmp_path / "newest-kubeconfig")


def example_names(folder: Path) -> set[str]:
    return {yaml.safe_load(path.read_text())["metadata"]["name"] for path in folder.glob("*.yaml")}


def test_kubectl_applies_every_example_of_both_versions_and_lists_them_as_dgd(
    standin: StandIn, kubeconfig: Path, dynamo_reference: Path
) -> None:
    beta, alpha = dynamo_reference / "examples", dynamo_reference / "examples" / "v1alpha1"
    standin.create_namespace("alpha")
    applied = kubectl(kubeconfig, "apply", "-f", str(beta)).stdout
    applied_alpha = kubectl(kubeconfig, "apply", "-n", "alpha", "-f", str(alpha)).stdout
    assert applied.count(" created") == applied_alpha.count(" created") == 12
    table = kubectl(kubeconfig, "get", "dgd", "-A").stdout.splitlines()
    assert table[0].split() == ["NAMESPACE", "NAME", "READY", "BACKEND", "AGE"]
    listed = {tuple(row.split()[:2]) for row in table[1:]}
    expected = {("default", name) for name in example_names(beta)}
    expected |= {("alpha", name) for name in example_names(alpha)}
    assert listed == expected and len(listed) == 24
    again = kubectl(kubeconfig, "apply", "-f", str(beta))
    assert again.stdout.count(" unchanged") == 12


def test_kubectl_reapply_patches_and_delete_removes(
    standin: StandIn, kubeconfig: Path, dynamo_reference: Path, tmp_path: Path
) -> None:
    example = dynamo_reference / "examples" / "vllm-agg.yaml"
    kubectl(kubeconfig, "apply", "-f", str(example))
    manifest = yaml.safe_load(example.read_text())
    manifest["spec"]["components"][1]["replicas"] = 2
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(manifest))
    assert "configured" in kubectl(kubeconfig, "apply", "-f", str(changed)).stdout
    stored = standin.store.get(PLURAL, "default", "vllm-agg")
    assert stored is not None and stored["spec"]["components"][1]["replicas"] == 2
    assert stored["metadata"]["generation"] == 2
    kubectl(kubeconfig, "delete", "-f", str(example))
    assert standin.store.get(PLURAL, "default", "vllm-agg") is None
    missing = kubectl(kubeconfig, "get", "dgd", "vllm-agg", ok=False)
    assert 'dynamographdeployments.nvidia.com "vllm-agg" not found' in missing.stderr


def test_kubectl_reports_unknown_fields_as_strict_decoding_errors(
    standin: StandIn, kubeconfig: Path, dynamo_reference: Path, tmp_path: Path
) -> None:
    manifest = yaml.safe_load((dynamo_reference / "examples" / "vllm-agg.yaml").read_text())
    manifest["spec"]["foo"] = 1
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(manifest))
    failed = kubectl(kubeconfig, "apply", "-f", str(broken), ok=False)
    assert failed.returncode != 0
    assert 'strict decoding error: unknown field "spec.foo"' in failed.stderr
    assert standin.store.get(PLURAL, "default", "vllm-agg") is None


def test_kubectl_wait_sees_the_ready_condition_arrive_through_a_watch(
    standin: StandIn, kubeconfig: Path, dynamo_reference: Path
) -> None:
    kubectl(kubeconfig, "apply", "-f", str(dynamo_reference / "examples" / "vllm-agg.yaml"))
    ready = {
        "type": "Ready",
        "status": "True",
        "reason": "AllReady",
        "message": "ready",
        "lastTransitionTime": "2026-01-01T00:00:00Z",
    }

    def become_ready() -> None:
        standin.store.update(
            PLURAL,
            "default",
            "vllm-agg",
            lambda obj: obj.update(status={"conditions": [ready]}),
            subresource="status",
        )

    writer = when_watched(standin.store, become_ready)  # kubectl waits through a watch
    waited = kubectl(kubeconfig, "wait", "--for=condition=Ready", "dgd/vllm-agg", "--timeout=10s")
    writer.join()
    assert "condition met" in waited.stdout


def test_the_newest_operator_refuses_the_placeholder_tag_until_the_override_is_set(
    newest: tuple[StandIn, Path], dynamo_reference: Path, tmp_path: Path
) -> None:
    standin, kubeconfig = newest
    example = dynamo_reference / "examples" / "vllm-agg.yaml"
    refused = kubectl(kubeconfig, "apply", "-f", str(example), ok=False)
    assert refused.returncode != 0
    assert f"spec.components[1].runtimeVersionOverride: Required value: {OVERRIDE_REQUIRED}" in (
        refused.stderr
    )
    assert standin.store.get(PLURAL, "default", "vllm-agg") is None

    manifest = yaml.safe_load(example.read_text())
    for component in manifest["spec"]["components"]:
        component["runtimeVersionOverride"] = "1.4.0"
    fixed = tmp_path / "fixed.yaml"
    fixed.write_text(yaml.safe_dump(manifest))
    assert " created" in kubectl(kubeconfig, "apply", "-f", str(fixed)).stdout


def test_kubectl_gets_the_frontend_service_once_the_dgd_is_ready(
    newest: tuple[StandIn, Path], dynamo_reference: Path, tmp_path: Path
) -> None:
    standin, kubeconfig = newest
    manifest = yaml.safe_load((dynamo_reference / "examples" / "vllm-agg.yaml").read_text())
    for component in manifest["spec"]["components"]:
        main = component["podTemplate"]["spec"]["containers"][0]
        main["image"] = main["image"].replace(":my-tag", ":1.4.0")
    path = tmp_path / "agg.yaml"
    path.write_text(yaml.safe_dump(manifest))
    operator = SimOperator(standin.store, ready_after=0.2, tick=0.02)
    operator.start()
    try:
        kubectl(kubeconfig, "apply", "-f", str(path))
        kubectl(kubeconfig, "wait", "--for=condition=Ready", "dgd/vllm-agg", "--timeout=20s")
        table = kubectl(kubeconfig, "get", "svc", "vllm-agg-frontend").stdout.splitlines()
        assert table[0].split() == ["NAME", "TYPE", "CLUSTER-IP", "PORT(S)", "AGE"]
        assert table[1].split()[:2] == ["vllm-agg-frontend", "ClusterIP"]
        assert table[1].split()[3] == "8000/TCP"
        port = kubectl(
            kubeconfig, "get", "svc", "vllm-agg-frontend", "-o", "jsonpath={.spec.ports[0].name}"
        )
        assert port.stdout == "http"
        ready = kubectl(
            kubeconfig,
            "get",
            "endpoints",
            "vllm-agg-frontend",
            "-o",
            "jsonpath={.subsets[0].addresses[0].targetRef.name}",
        )
        assert ready.stdout.startswith("vllm-agg-frontend-")
        endpoints = kubectl(kubeconfig, "get", "endpoints", "vllm-agg-frontend").stdout
        assert endpoints.splitlines()[0].split() == ["NAME", "ENDPOINTS", "AGE"]
        assert endpoints.splitlines()[1].split()[1].endswith(":8000")
    finally:
        operator.stop()
