"""Fixtures for the cluster tests: a Kubernetes API stand-in over real HTTP, and a Cluster.

Each test gets its own stand-in on a free port of 127.0.0.1 and a kubeconfig that points at
it; the official client talks to it exactly as it would to a real API server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from bot.cluster import MANAGED_BY_LABEL, MANAGED_BY_VALUE
from bot.config.settings import Settings, load_settings
from bot.sim.k8s.standin import StandIn

VERSIONS = ("v1beta1", "v1alpha1")
HF_SECRET = "hf-token-secret"
READ_TIMEOUT = 1.0


def make_settings(**overrides: Any) -> Settings:
    """Settings with short timeouts, whatever the environment says."""
    values: dict[str, Any] = {
        "k8s_connect_timeout": 1.0,
        "k8s_read_timeout": READ_TIMEOUT,
        "api_version": "auto",
        "api_version_cache_seconds": 60.0,
        "hf_secret": HF_SECRET,
        "default_namespace": "default",
        "namespaces": ["default", "dynamo-system"],
    }
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture
def standin(version: str) -> Iterator[StandIn]:
    with StandIn(port=0, dgd_versions=(version,), hf_secret=HF_SECRET) as server:
        yield server


@pytest.fixture
def cluster_settings() -> Callable[..., Settings]:
    return make_settings


@pytest.fixture
def create_unmanaged(kubeconfig: Path, version: str) -> Iterator[Callable[[str], None]]:
    """Create a DGD without the managed-by label, as someone with kubectl would."""
    api_client = config.new_client_from_config(config_file=str(kubeconfig))  # type: ignore[no-untyped-call]
    objects = client.CustomObjectsApi(api_client)

    def create(name: str) -> None:
        manifest = dgd_manifest(version, name, managed=False)
        objects.create_namespaced_custom_object(
            "nvidia.com", version, "default", "dynamographdeployments", manifest
        )

    yield create
    api_client.close()


def total_calls(standin: Any) -> int:
    """How many API requests the stand-in has answered so far."""
    return sum(standin.api_calls().values())


def dgd_manifest(
    version: str,
    name: str = "qwen-small",
    *,
    namespace: str = "default",
    managed: bool = True,
    replicas: int = 1,
) -> dict[str, Any]:
    """A small valid DGD (the operator's vllm-agg example), in either API version."""
    labels = {MANAGED_BY_LABEL: MANAGED_BY_VALUE} if managed else {"team": "someone-else"}
    metadata = {"name": name, "namespace": namespace, "labels": labels}
    image = "nvcr.io/nvidia/ai-dynamo/vllm-runtime:0.7.1"
    worker_command = ["python3", "-m", "dynamo.vllm"]
    worker_args = ["--model", "Qwen/Qwen3-0.6B"]
    if version == "v1alpha1":
        spec: dict[str, Any] = {
            "services": {
                "Frontend": {
                    "componentType": "frontend",
                    "replicas": 1,
                    "extraPodSpec": {"mainContainer": {"image": image}},
                },
                "VllmDecodeWorker": {
                    "envFromSecret": HF_SECRET,
                    "componentType": "worker",
                    "replicas": replicas,
                    "resources": {"limits": {"gpu": "1"}},
                    "extraPodSpec": {
                        "mainContainer": {
                            "image": image,
                            "workingDir": "/workspace/examples/backends/vllm",
                            "command": worker_command,
                            "args": worker_args,
                        }
                    },
                },
            }
        }
    else:
        spec = {
            "components": [
                {
                    "name": "Frontend",
                    "type": "frontend",
                    "replicas": 1,
                    "podTemplate": {"spec": {"containers": [{"name": "main", "image": image}]}},
                },
                {
                    "name": "VllmDecodeWorker",
                    "type": "worker",
                    "replicas": replicas,
                    "podTemplate": {
                        "spec": {
                            "containers": [
                                {
                                    "name": "main",
                                    "image": image,
                                    "command": worker_command,
                                    "args": worker_args,
                                    "envFrom": [{"secretRef": {"name": HF_SECRET}}],
                                    "workingDir": "/workspace/examples/backends/vllm",
                                    "resources": {"limits": {"nvidia.com/gpu": "1"}},
                                }
                            ]
                        }
                    },
                },
            ]
        }
    return {
        "apiVersion": f"nvidia.com/{version}",
        "kind": "DynamoGraphDeployment",
        "metadata": metadata,
        "spec": spec,
    }
