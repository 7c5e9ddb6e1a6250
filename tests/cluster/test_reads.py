"""Reading pods, their events and logs, and whether secrets exist, against the stand-in."""

from __future__ import annotations

from typing import Any

import pytest

from bot.cluster import DGD_NAME_LABEL, Cluster, NotFound

from .conftest import HF_SECRET, total_calls

POD_LOG_ANNOTATION = "sim.dynamote/log"  # where the stand-in keeps a pod's log text


def add_pod(
    standin: Any, name: str, dgd: str, *, namespace: str = "default", log: str = ""
) -> None:
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "labels": {DGD_NAME_LABEL: dgd, "nvidia.com/dynamo-component": "Frontend"},
    }
    if log:
        metadata["annotations"] = {POD_LOG_ANNOTATION: log}
    standin.store.create(
        "pods",
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": metadata,
            "spec": {"containers": [{"name": "main", "image": "x"}]},
            "status": {"phase": "Running"},
        },
    )


def add_event(
    standin: Any, name: str, pod: str, reason: str, *, kind: str = "Pod", namespace: str = "default"
) -> None:
    standin.store.create(
        "events",
        {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": {"kind": kind, "name": pod, "namespace": namespace},
            "reason": reason,
            "message": f"{reason} happened",
            "type": "Warning",
        },
    )


def names(objects: list[dict[str, Any]]) -> set[str]:
    return {obj["metadata"]["name"] for obj in objects}


def test_a_dgds_pods_are_listed_by_the_operators_label(cluster: Cluster, standin: Any) -> None:
    add_pod(standin, "qwen-frontend-1", "qwen")
    add_pod(standin, "qwen-worker-1", "qwen")
    add_pod(standin, "other-frontend-1", "other")
    assert names(cluster.list_dgd_pods("default", "qwen")) == {"qwen-frontend-1", "qwen-worker-1"}


@pytest.mark.parametrize("pods_per_dgd", [1, 30])
def test_listing_pods_costs_one_call_per_namespace_however_many_pods(
    cluster: Cluster, standin: Any, pods_per_dgd: int
) -> None:
    for dgd in ("a", "b"):
        for n in range(pods_per_dgd):
            add_pod(standin, f"{dgd}-{n}", dgd)
            add_pod(standin, f"{dgd}-{n}", dgd, namespace="dynamo-system")
    before = total_calls(standin)
    pods = cluster.list_pods(["default", "dynamo-system"], DGD_NAME_LABEL)
    assert len(pods) == 4 * pods_per_dgd
    assert total_calls(standin) - before == 2
    before = total_calls(standin)
    assert len(cluster.list_pods(None, DGD_NAME_LABEL)) == 4 * pods_per_dgd
    assert total_calls(standin) - before == 1


def test_pod_events_are_those_of_the_named_pods_only(cluster: Cluster, standin: Any) -> None:
    add_event(standin, "e1", "qwen-worker-1", "FailedScheduling")
    add_event(standin, "e2", "qwen-frontend-1", "Pulled")
    add_event(standin, "e3", "other-worker-1", "BackOff")
    add_event(standin, "e4", "qwen-worker-1", "ScalingReplicaSet", kind="Deployment")
    events = cluster.list_pod_events("default", ["qwen-worker-1", "qwen-frontend-1"])
    assert names(events) == {"e1", "e2"}


def test_pod_events_cost_one_call_whatever_the_number_of_pods(
    cluster: Cluster, standin: Any
) -> None:
    pods = [f"pod-{n}" for n in range(25)]
    for n, pod in enumerate(pods):
        add_event(standin, f"event-{n}", pod, "BackOff")
    before = total_calls(standin)
    assert len(cluster.list_pod_events("default", pods)) == 25
    assert total_calls(standin) - before == 1


def test_no_pod_names_means_no_events_and_no_call(cluster: Cluster, standin: Any) -> None:
    before = total_calls(standin)
    assert cluster.list_pod_events("default", []) == []
    assert total_calls(standin) == before


def test_a_log_tail_returns_the_last_lines(cluster: Cluster, standin: Any) -> None:
    log = "\n".join(f"line {n}" for n in range(1, 51)) + "\n"
    add_pod(standin, "qwen-worker-1", "qwen", log=log)
    tail = cluster.pod_log_tail("default", "qwen-worker-1", lines=3)
    assert tail is not None
    assert tail.splitlines() == ["line 48", "line 49", "line 50"]


def test_the_log_of_a_missing_pod_raises_not_found(cluster: Cluster) -> None:
    with pytest.raises(NotFound):
        cluster.pod_log_tail("default", "ghost")


def test_a_secret_that_exists_is_reported_present(cluster: Cluster) -> None:
    assert cluster.secret_exists("default", HF_SECRET) is True


def test_a_missing_secret_is_reported_absent(cluster: Cluster) -> None:
    assert cluster.secret_exists("default", "no-such-secret") is False
