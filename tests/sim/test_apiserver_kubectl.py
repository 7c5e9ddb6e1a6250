"""kubectl 1.32 against the stand-in: apply every upstream example, get, re-apply, delete.

Skipped when kubectl is not installed or the Dynamo reference folder is absent.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
import yaml

from bot.sim.standin import StandIn

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
        time.sleep(0.3)
        standin.store.update(
            PLURAL,
            "default",
            "vllm-agg",
            lambda obj: obj.update(status={"conditions": [ready]}),
            subresource="status",
        )

    writer = threading.Thread(target=become_ready)
    writer.start()
    waited = kubectl(kubeconfig, "wait", "--for=condition=Ready", "dgd/vllm-agg", "--timeout=10s")
    writer.join()
    assert "condition met" in waited.stdout
