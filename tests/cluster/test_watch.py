"""Watching Dynamote's DGDs and their pods: events in order, 410 as Expired, bounded in time."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.cluster import DGD_NAME_LABEL, Cluster, Expired, Forbidden
from bot.sim.k8s import standin as standin_module
from bot.sim.k8s.standin import StandIn
from tests.waiting import when_watched

from .conftest import HF_SECRET, dgd_manifest, make_settings
from .test_reads import add_pod


def collect(events: Iterator[tuple[str, dict[str, Any]]], until: int) -> list[tuple[str, str]]:
    """(type, name) of events, BOOKMARKs skipped, until `until` of them arrived or it ends."""
    seen: list[tuple[str, str]] = []
    for kind, obj in events:
        if kind != "BOOKMARK":
            seen.append((kind, obj["metadata"]["name"]))
        if len(seen) >= until:
            break
    return seen


def test_a_watch_from_a_snapshot_yields_later_changes_of_managed_dgds_only(
    cluster: Cluster, standin: StandIn, version: str, create_unmanaged: Callable[[str], None]
) -> None:
    cluster.create_dgd(dgd_manifest(version, "before"))
    snapshot = cluster.snapshot_managed_dgds(["default"])
    assert [d["metadata"]["name"] for d in snapshot.items] == ["before"]

    def change() -> None:
        create_unmanaged("theirs")
        created = cluster.create_dgd(dgd_manifest(version, "after"))
        cluster.patch_dgd_annotations(
            "default", "after", {"x": "1"}, resource_version=created["metadata"]["resourceVersion"]
        )
        cluster.delete_dgd("default", "before")

    when_watched(standin.store, change)
    events = cluster.watch_dgds(
        ["default"], resource_version=snapshot.resource_version, timeout_seconds=5
    )
    assert collect(events, until=3) == [
        ("ADDED", "after"),
        ("MODIFIED", "after"),
        ("DELETED", "before"),
    ]


def test_a_watch_without_a_resource_version_starts_with_what_exists(
    cluster: Cluster, version: str
) -> None:
    cluster.create_dgd(dgd_manifest(version, "one"))
    events = cluster.watch_dgds(["default"], resource_version=None, timeout_seconds=2)
    assert collect(events, until=1) == [("ADDED", "one")]


def test_a_watch_over_several_namespaces_merges_their_events(
    cluster: Cluster, version: str
) -> None:
    cluster.create_dgd(dgd_manifest(version, "a", namespace="default"))
    cluster.create_dgd(dgd_manifest(version, "b", namespace="dynamo-system"))
    events = cluster.watch_dgds(
        ["default", "dynamo-system"], resource_version=None, timeout_seconds=2
    )
    assert sorted(collect(events, until=2)) == [("ADDED", "a"), ("ADDED", "b")]


def test_a_cluster_wide_watch_sees_every_namespace(cluster: Cluster, version: str) -> None:
    cluster.create_dgd(dgd_manifest(version, "a", namespace="default"))
    cluster.create_dgd(dgd_manifest(version, "b", namespace="dynamo-system"))
    events = cluster.watch_dgds(None, resource_version=None, timeout_seconds=2)
    assert sorted(collect(events, until=2)) == [("ADDED", "a"), ("ADDED", "b")]


def test_a_quiet_watch_ends_when_its_server_side_timeout_passes(cluster: Cluster) -> None:
    started = time.monotonic()
    events = list(cluster.watch_dgds(["default"], resource_version=None, timeout_seconds=1))
    assert all(kind == "BOOKMARK" for kind, _ in events)
    assert 0.9 <= time.monotonic() - started < 3


def test_a_watch_from_a_resource_version_too_old_raises_expired(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_class = standin_module.Store

    # A short history, so a few changes push the first resourceVersions out of it.
    monkeypatch.setattr(standin_module, "Store", lambda: store_class(history_limit=3))
    with StandIn(port=0, dgd_versions=("v1beta1",), hf_secret=HF_SECRET) as server:
        kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig")
        with Cluster(kubeconfig, settings=make_settings()) as cluster:
            first = cluster.create_dgd(dgd_manifest("v1beta1", "churn"))
            rv = first["metadata"]["resourceVersion"]
            for n in range(5):
                current = cluster.get_dgd("default", "churn")["metadata"]["resourceVersion"]
                cluster.patch_dgd_annotations(
                    "default", "churn", {"n": str(n)}, resource_version=current
                )
            with pytest.raises(Expired) as caught:
                list(cluster.watch_dgds(["default"], resource_version=rv, timeout_seconds=5))
    assert caught.value.temporary
    assert caught.value.status == 410


def test_a_forbidden_watch_raises_forbidden(cluster: Cluster, standin: Any) -> None:
    standin.faults.forbid("watch", "dynamographdeployments", "dynamo-system")
    events = cluster.watch_dgds(
        ["default", "dynamo-system"], resource_version=None, timeout_seconds=2
    )
    with pytest.raises(Forbidden) as caught:
        list(events)
    assert (caught.value.verb, caught.value.namespace) == ("watch", "dynamo-system")


def test_pods_of_managed_dgds_can_be_watched_by_label(cluster: Cluster, standin: Any) -> None:
    snapshot = cluster.snapshot_pods(["default"], DGD_NAME_LABEL)
    when_watched(standin.store, lambda: add_pod(standin, "qwen-worker-1", "qwen"))
    events = cluster.watch_pods(
        ["default"], DGD_NAME_LABEL, resource_version=snapshot.resource_version, timeout_seconds=5
    )
    assert collect(events, until=1) == [("ADDED", "qwen-worker-1")]
