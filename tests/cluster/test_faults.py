"""What each injected fault of the stand-in becomes: denied verbs, slowness, 5xx, refusals."""

from __future__ import annotations

import time
from typing import Any

import pytest

from bot.cluster import (
    Cluster,
    Forbidden,
    NotConfigured,
    ServerError,
    TimedOut,
    Unreachable,
)

from .conftest import HF_SECRET, READ_TIMEOUT, dgd_manifest, make_settings
from .test_reads import add_pod


def test_a_denied_create_names_the_verb_the_resource_and_the_namespace(
    cluster: Cluster, standin: Any, version: str
) -> None:
    standin.faults.forbid("create", "dynamographdeployments", "team-a")
    with pytest.raises(Forbidden) as caught:
        cluster.create_dgd(dgd_manifest(version, "qwen", namespace="team-a"))
    error = caught.value
    assert (error.verb, error.resource, error.namespace) == (
        "create",
        "dynamographdeployments",
        "team-a",
    )
    assert "create dynamographdeployments.nvidia.com" in error.message
    assert 'in namespace "team-a"' in error.message
    assert "Ask your platform team to grant" in error.message
    assert not error.temporary
    assert error.__cause__ is not None


def test_a_denied_verb_leaves_the_other_verbs_working(
    cluster: Cluster, standin: Any, version: str
) -> None:
    standin.faults.forbid("delete", "dynamographdeployments")
    cluster.create_dgd(dgd_manifest(version, "qwen"))
    assert cluster.get_dgd("default", "qwen")["metadata"]["name"] == "qwen"
    with pytest.raises(Forbidden) as caught:
        cluster.delete_dgd("default", "qwen")
    assert caught.value.verb == "delete"


def test_a_denied_list_in_one_namespace_is_forbidden_there(cluster: Cluster, standin: Any) -> None:
    standin.faults.forbid("list", "dynamographdeployments", "dynamo-system")
    assert cluster.list_managed_dgds(["default"]) == []
    with pytest.raises(Forbidden) as caught:
        cluster.list_managed_dgds(["default", "dynamo-system"])
    assert caught.value.namespace == "dynamo-system"


def test_a_secret_the_bot_may_not_read_is_unknown_not_a_failure(
    cluster: Cluster, standin: Any
) -> None:
    standin.faults.forbid("get", "secrets")
    assert cluster.secret_exists("default", HF_SECRET) is None


def test_a_log_the_bot_may_not_read_is_none(cluster: Cluster, standin: Any) -> None:
    add_pod(standin, "qwen-worker-1", "qwen", log="boom\n")
    standin.faults.forbid("get", "pods/log")
    standin.faults.forbid("get", "pods")  # whichever spelling the stand-in uses
    assert cluster.pod_log_tail("default", "qwen-worker-1") is None


def test_a_server_slower_than_the_read_timeout_times_out_quickly(
    cluster: Cluster, standin: Any
) -> None:
    cluster.dgd_api_version()  # warm the version cache
    standin.faults.add_latency(READ_TIMEOUT * 5)
    started = time.monotonic()
    with pytest.raises(TimedOut) as caught:
        cluster.get_dgd("default", "qwen")
    elapsed = time.monotonic() - started
    assert caught.value.temporary
    assert READ_TIMEOUT * 0.9 <= elapsed < READ_TIMEOUT * 2, "one attempt, no retries"
    assert "did not answer in time" in caught.value.message


def test_a_slow_discovery_times_out_too(connect: Any, standin: Any) -> None:
    cluster = connect(k8s_read_timeout=0.3)
    standin.faults.add_latency(2.0, path_regex=r"^/apis/nvidia\.com")
    started = time.monotonic()
    with pytest.raises(TimedOut):
        cluster.dgd_api_version()
    assert time.monotonic() - started < 1.0


def test_a_refusing_server_is_unreachable(cluster: Cluster, standin: Any) -> None:
    standin.faults.refuse_connections()
    started = time.monotonic()
    with pytest.raises(Unreachable) as caught:
        cluster.list_managed_dgds(["default"])
    assert time.monotonic() - started < 2.0
    assert caught.value.temporary
    assert "cannot reach the Kubernetes API server" in caught.value.message


def test_the_cluster_works_again_once_the_server_accepts_connections(
    cluster: Cluster, standin: Any
) -> None:
    cluster.dgd_api_version()
    standin.faults.refuse_connections()
    with pytest.raises(Unreachable):
        cluster.list_managed_dgds(["default"])
    standin.faults.refuse_connections(False)
    assert cluster.list_managed_dgds(["default"]) == []


@pytest.mark.parametrize("code", [500, 503])
def test_a_5xx_answer_is_a_temporary_server_error(
    cluster: Cluster, standin: Any, version: str, code: int
) -> None:
    cluster.dgd_api_version()
    standin.faults.add_error(code, method="POST", count=1)
    with pytest.raises(ServerError) as caught:
        cluster.create_dgd(dgd_manifest(version, "qwen"))
    assert caught.value.temporary
    assert caught.value.status == code
    assert "Try again" in caught.value.message
    cluster.create_dgd(dgd_manifest(version, "qwen"))  # the next attempt succeeds


def test_a_missing_kubeconfig_is_not_configured(tmp_path: Any, monkeypatch: Any) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    cluster = Cluster(tmp_path / "absent", settings=make_settings())
    with pytest.raises(NotConfigured) as caught:
        cluster.list_managed_dgds(["default"])
    assert "KUBECONFIG" in caught.value.message
    status = cluster.cluster_status()
    assert not status.reachable
    assert status.error == caught.value.message
