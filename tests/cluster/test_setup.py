"""How a Cluster finds its API server, and that importing bot.cluster stays cheap."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.cluster import AlreadyExists, Cluster, Conflict, NotConfigured

from .conftest import make_settings


def test_importing_bot_cluster_does_not_import_kubernetes() -> None:
    code = "import sys, bot.cluster; print('kubernetes' in sys.modules, 'urllib3' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.split() == ["False", "False"]


def test_the_kubeconfig_environment_variable_is_used_when_no_path_is_given(
    kubeconfig: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    with Cluster(settings=make_settings()) as cluster:
        assert cluster.cluster_status().reachable


def test_inside_a_pod_the_service_account_is_used_and_its_absence_is_explained(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "1")
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "ignored-in-a-pod"))
    cluster = Cluster(settings=make_settings())
    with pytest.raises(NotConfigured) as caught:
        cluster.get_dgd("default", "x")
    assert not caught.value.temporary
    assert isinstance(caught.value.__cause__, Exception)


def test_nothing_is_loaded_until_the_first_call(tmp_path: Path) -> None:
    Cluster(tmp_path / "absent", settings=make_settings()).close()  # no error: nothing loaded


LEASE = {
    "apiVersion": "coordination.k8s.io/v1",
    "kind": "Lease",
    "metadata": {"name": "dynamote-leader", "namespace": "default"},
    "spec": {
        "holderIdentity": "pod-a",
        "leaseDurationSeconds": 15,
        "renewTime": "2026-11-27T09:00:00.000000Z",
    },
}


def test_a_lease_is_created_read_and_replaced_keeping_its_micro_times(cluster: Cluster) -> None:
    made = cluster.create_lease("default", LEASE)
    assert cluster.get_lease("default", "dynamote-leader")["spec"]["holderIdentity"] == "pod-a"
    renewed = {**made, "spec": {**made["spec"], "renewTime": "2026-11-27T09:00:05.000000Z"}}
    replaced = cluster.replace_lease("default", "dynamote-leader", renewed)
    assert replaced["spec"]["renewTime"] == "2026-11-27T09:00:05.000000Z"


def test_a_second_lease_creator_gets_already_exists(cluster: Cluster) -> None:
    cluster.create_lease("default", LEASE)
    with pytest.raises(AlreadyExists):
        cluster.create_lease("default", LEASE)


def test_replacing_a_lease_someone_renewed_meanwhile_is_a_conflict(cluster: Cluster) -> None:
    made: dict[str, Any] = cluster.create_lease("default", LEASE)
    cluster.replace_lease("default", "dynamote-leader", made)
    with pytest.raises(Conflict):
        cluster.replace_lease("default", "dynamote-leader", made)
