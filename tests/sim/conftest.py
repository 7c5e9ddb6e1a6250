"""Fixtures for the stand-in's tests: a running StandIn on a free port, clients for it, and the
simulated operator's clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config

from bot.sim.k8s.standin import StandIn, default_crd_path


class FakeClock:
    """The simulated operator's clock: it reads ``now``, which only the test moves."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def crd_path() -> Path | None:
    """The operator's CRD when the reference folder is there, else None (compact schema)."""
    path = default_crd_path()
    return path if path.is_file() else None


@pytest.fixture
def standin(crd_path: Path | None) -> Iterator[StandIn]:
    with StandIn(crd_path=crd_path) as running:
        yield running


@pytest.fixture
def api_client(kubeconfig: Path) -> Iterator[client.ApiClient]:
    configuration = client.Configuration()
    config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
    configuration.retries = 0  # a fault must surface, not be retried away
    api = client.ApiClient(configuration)
    yield api
    api.close()


@pytest.fixture
def custom(api_client: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api_client)


@pytest.fixture
def core(api_client: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api_client)
