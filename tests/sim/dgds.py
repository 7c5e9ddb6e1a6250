"""Small DGD manifests for the stand-in's tests, in both API versions."""

from __future__ import annotations

from typing import Any

GROUP = "nvidia.com"
PLURAL = "dynamographdeployments"
# The operator's webhook (1.5 and later) wants an image with a release tag on every component.
IMAGE = "nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.4.0"


def _pod_template() -> dict[str, Any]:
    return {"spec": {"containers": [{"name": "main", "image": IMAGE}]}}


def v1beta1_dgd(name: str = "demo", *, replicas: int = 1, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "nvidia.com/v1beta1",
        "kind": "DynamoGraphDeployment",
        "metadata": {"name": name, "labels": dict(labels)},
        "spec": {
            "backendFramework": "vllm",
            "components": [
                {
                    "name": "Frontend",
                    "type": "frontend",
                    "replicas": 1,
                    "podTemplate": _pod_template(),
                },
                {
                    "name": "VllmDecodeWorker",
                    "type": "worker",
                    "replicas": replicas,
                    "podTemplate": _pod_template(),
                },
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
                "Frontend": {
                    "componentType": "frontend",
                    "replicas": 1,
                    "extraPodSpec": {"mainContainer": {"image": IMAGE}},
                },
                "VllmDecodeWorker": {
                    "componentType": "worker",
                    "replicas": replicas,
                    "extraPodSpec": {"mainContainer": {"image": IMAGE}},
                    "envFromSecret": "hf-token-secret",
                    "resources": {"limits": {"gpu": "1"}},
                },
            }
        },
    }
