"""Fixtures every test directory shares, each defined once: the Dynamo reference material, the
Slack Web API stand-in, the DGD API versions, a kubeconfig for a directory's Kubernetes
stand-in, and Clusters connected to it.

A directory's conftest defines ``standin`` (the Kubernetes API stand-in its tests need: which
DGD versions it serves, which CRD it validates with); ``kubeconfig`` here points at it. One
that uses ``connect`` or ``cluster`` also defines ``cluster_settings``: how its tests' settings
are made.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from bot.cluster import Cluster
from bot.config.settings import Settings, get_settings
from bot.sim.k8s.standin import StandIn
from bot.sim.slack.web_api import SlackStandIn

# Property tests check what holds, not how fast an example runs: on 2 shared cores with four
# workers an example can take longer than hypothesis's 200 ms deadline without anything being
# wrong, so no deadline and no too-slow health check (a test may still set its own).
settings.register_profile("suite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("suite")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files marked ``runs_long`` first, the rest in their order: pytest-xdist hands out files in
    this order, so no worker is left with a long one while the others have finished."""
    items.sort(key=lambda item: item.get_closest_marker("runs_long") is None)


@pytest.fixture(scope="session")
def dynamo_reference() -> Path:
    """``shared/dynamo`` beside the project (DYNAMOTE_DYNAMO_REFERENCE); skip when absent."""
    path = get_settings().dynamo_reference
    if not (path / "crd" / "nvidia.com_dynamographdeployments.yaml").is_file():
        pytest.skip(f"the Dynamo reference folder is absent at {path} (DYNAMOTE_DYNAMO_REFERENCE)")
    return path


@pytest.fixture(params=["v1beta1", "v1alpha1"])
def version(request: pytest.FixtureRequest) -> str:
    """Each DGD API version in turn, for a ``standin`` that serves only that one."""
    return str(request.param)


@pytest.fixture
def kubeconfig(standin: StandIn, tmp_path: Path) -> Path:
    """A kubeconfig for this directory's ``standin``."""
    return standin.write_kubeconfig(tmp_path / "kubeconfig")


@pytest.fixture
def connect(
    kubeconfig: Path, cluster_settings: Callable[..., Settings]
) -> Iterator[Callable[..., Cluster]]:
    """Build a Cluster for the stand-in with some settings changed; closed after the test."""
    made: list[Cluster] = []

    def build(*, clock: Callable[[], float] = time.monotonic, **overrides: Any) -> Cluster:
        cluster = Cluster(kubeconfig, settings=cluster_settings(**overrides), clock=clock)
        made.append(cluster)
        return cluster

    yield build
    for cluster in made:
        cluster.close()


@pytest.fixture
def cluster(connect: Callable[..., Cluster]) -> Cluster:
    return connect()


@pytest.fixture
def lenient_slack_standin() -> Iterator[SlackStandIn]:
    """A running Slack stand-in that leaves Block Kit violations for the test to inspect."""
    with SlackStandIn() as standin:
        yield standin


@pytest.fixture
def slack_standin(lenient_slack_standin: SlackStandIn) -> Iterator[SlackStandIn]:
    """A running Slack stand-in; the test fails if anything sent to it broke a Block Kit limit."""
    yield lenient_slack_standin
    violations = lenient_slack_standin.violations()
    if violations:
        pytest.fail("Block Kit limits broken:\n" + "\n".join(violations), pytrace=False)


@pytest.fixture
def slack(slack_standin: SlackStandIn) -> SlackStandIn:
    """``slack_standin`` under the shorter name the notifier, policy and deploy tests use."""
    return slack_standin


@pytest.fixture(autouse=True)
def logging_restored() -> Iterator[None]:
    """configure_logging (bot.ops.logs) changes the root logger; undo it after every test."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.captureWarnings(False)


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    """get_settings() reads the environment again (the test changes it); cleared after."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
