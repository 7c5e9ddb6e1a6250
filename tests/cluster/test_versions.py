"""Which DGD apiVersion Dynamote writes, and what the cluster status says about it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.cluster import Cluster, OperatorNotInstalled
from bot.cluster.versions import choose_version
from bot.sim.k8s.standin import StandIn

from .conftest import HF_SECRET, make_settings, total_calls


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def running(versions: tuple[str, ...], tmp_path: Path) -> Iterator[tuple[Any, Path]]:
    """A stand-in serving these DGD versions; none = a cluster without the operator."""
    with StandIn(
        port=0, dgd_versions=versions or ("v1beta1",), hf_secret=HF_SECRET
    ) as server:
        if not versions:
            # The stand-in always serves a DGD version; a 404 for the whole nvidia.com group
            # is what a cluster without the operator answers.
            server.faults.add_error(404, path_regex=r"^/apis/nvidia\.com")
        yield server, Path(server.write_kubeconfig(tmp_path / "kubeconfig"))


@pytest.mark.parametrize(
    ("served", "expected"),
    [
        (("v1beta1", "v1alpha1"), "nvidia.com/v1beta1"),
        (("v1beta1",), "nvidia.com/v1beta1"),
        (("v1alpha1",), "nvidia.com/v1alpha1"),
    ],
)
def test_the_cluster_chooses_v1beta1_when_served_and_falls_back_to_v1alpha1(
    served: tuple[str, ...], expected: str, tmp_path: Path
) -> None:
    for _, kubeconfig in running(served, tmp_path):
        with Cluster(kubeconfig, settings=make_settings()) as cluster:
            assert cluster.dgd_api_version() == expected


@pytest.mark.parametrize("forced", ["nvidia.com/v1beta1", "nvidia.com/v1alpha1"])
def test_a_setting_forces_the_version_without_asking_the_cluster(
    forced: str, tmp_path: Path
) -> None:
    for server, kubeconfig in running(("v1beta1", "v1alpha1"), tmp_path):
        with Cluster(kubeconfig, settings=make_settings(api_version=forced)) as cluster:
            before = total_calls(server)
            assert cluster.dgd_api_version() == forced
            assert total_calls(server) == before


def test_no_dgd_api_served_raises_operator_not_installed_with_how_to_install(
    tmp_path: Path,
) -> None:
    for _, kubeconfig in running((), tmp_path):
        with Cluster(kubeconfig, settings=make_settings()) as cluster:
            with pytest.raises(OperatorNotInstalled) as caught:
                cluster.dgd_api_version()
            message = caught.value.message
            assert message.startswith("The Dynamo operator is not installed in this cluster")
            assert "dynamographdeployments.nvidia.com" in message
            assert "Install it with" in message
            assert not caught.value.temporary
            with pytest.raises(OperatorNotInstalled):
                cluster.list_managed_dgds(["default"])


def test_the_version_is_cached_until_it_expires(tmp_path: Path) -> None:
    clock = FakeClock()
    for server, kubeconfig in running(("v1beta1", "v1alpha1"), tmp_path):
        settings = make_settings(api_version_cache_seconds=30)
        with Cluster(kubeconfig, settings=settings, clock=clock) as cluster:
            cluster.dgd_api_version()
            after_first = total_calls(server)
            clock.now += 29
            cluster.dgd_api_version()
            assert total_calls(server) == after_first, "a fresh answer is reused"
            clock.now += 2
            cluster.dgd_api_version()
            assert total_calls(server) > after_first, "an expired answer is asked again"


def test_a_zero_cache_time_asks_the_cluster_every_time(tmp_path: Path) -> None:
    for server, kubeconfig in running(("v1beta1",), tmp_path):
        settings = make_settings(api_version_cache_seconds=0)
        with Cluster(kubeconfig, settings=settings) as cluster:
            cluster.dgd_api_version()
            first = total_calls(server)
            cluster.dgd_api_version()
            assert total_calls(server) == 2 * first


def test_cluster_status_reports_the_server_version_and_every_dgd_version_served(
    tmp_path: Path,
) -> None:
    for _, kubeconfig in running(("v1beta1", "v1alpha1"), tmp_path):
        with Cluster(kubeconfig, settings=make_settings()) as cluster:
            status = cluster.cluster_status()
    assert status.reachable
    assert status.server_version and status.server_version.startswith("v1.")
    assert set(status.dgd_versions_served) == {"nvidia.com/v1beta1", "nvidia.com/v1alpha1"}
    assert status.error is None
    assert status.writes == "nvidia.com/v1beta1"


def test_cluster_status_with_a_forced_version_the_cluster_does_not_serve_says_so(
    tmp_path: Path,
) -> None:
    # The same rule as doctor's CRD check: a forced version is written only where served.
    settings = make_settings(api_version="nvidia.com/v1beta1")
    for _, kubeconfig in running(("v1alpha1",), tmp_path):
        with Cluster(kubeconfig, settings=settings) as cluster:
            status = cluster.cluster_status()
    assert status.reachable and status.writes is None
    assert status.error and "(served: nvidia.com/v1alpha1)" in status.error


def test_cluster_status_without_the_operator_is_reachable_with_an_error(tmp_path: Path) -> None:
    for _, kubeconfig in running((), tmp_path):
        with Cluster(kubeconfig, settings=make_settings()) as cluster:
            status = cluster.cluster_status()
    assert status.reachable
    assert status.dgd_versions_served == ()
    assert status.error and "not installed" in status.error
    assert status.writes is None


def test_cluster_status_of_a_refusing_server_is_unreachable_and_does_not_raise(
    tmp_path: Path,
) -> None:
    for server, kubeconfig in running(("v1beta1",), tmp_path):
        server.faults.refuse_connections()
        with Cluster(kubeconfig, settings=make_settings()) as cluster:
            status = cluster.cluster_status()
    assert not status.reachable
    assert status.server_version is None
    assert status.error and "cannot reach" in status.error


@pytest.mark.parametrize(
    ("served", "expected"),
    [
        (("nvidia.com/v1alpha1", "nvidia.com/v1beta1"), "nvidia.com/v1beta1"),
        (("nvidia.com/v1alpha1",), "nvidia.com/v1alpha1"),
        (("nvidia.com/v2",), None),
        ((), None),
    ],
)
def test_choosing_prefers_v1beta1_whatever_the_order_served(
    served: tuple[str, ...], expected: str | None
) -> None:
    assert choose_version(served) == expected
