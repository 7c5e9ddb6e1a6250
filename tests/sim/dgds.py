"""Small DGD manifests for the stand-in's tests, in both API versions."""

from __future__ import annotations

from typing import Any

GROUP = "nvidia.com"
PLURAL = "dynamographdeployments"


def v1beta1_dgd(name: str = "demo", *, replicas: int = 1, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "nvidia.com/v1beta1",
        "kind": "DynamoGraphDeployment",
        "metadata": {"name": name, "labels": dict(labels)},
        "spec": {
            "backendFramework": "vllm",
            "components": [
                {"name": "Frontend", "type": "frontend", "replicas": 1},
                {"name": "VllmDecodeWorker", "type": "worker", "replicas": replicas},
            ],
        },
    }


def v1alpha1_dgd(name: str = "demo-alpha", *, replicas: int = 1) -> dict[str, Any]:
    return {
        "apiVersion": "nvidia.com/v1alpha1",
        "kind": "DynamoGraphDeployment",
        "metadata": {"name": name},
        "spec": {
            "services": {
                "Frontend": {"componentType": "frontend", "replicas": 1},
                "VllmDecodeWorker": {
                    "componentType": "worker",
                    "replicas": replicas,
                    "envFromSecret": "hf-token-secret",
                    "resources": {"limits": {"gpu": "1"}},
                },
            }
        },
    }
