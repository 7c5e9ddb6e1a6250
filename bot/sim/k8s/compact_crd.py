"""A compact DGD CRD of our own, used when the operator's CRD file is not available.

It covers what Dynamote writes and what the upstream examples use (v1beta1 `spec.components[]`,
v1alpha1 `spec.services{}`), in the same structural-schema dialect as the real CRD, so the
same pruning and validation code handles both. Pod templates and other large upstream types
are `x-kubernetes-preserve-unknown-fields` here: looser than the real schema, never stricter.
"""

from __future__ import annotations

from typing import Any

__all__ = ["compact_crd_versions"]

Schema = dict[str, Any]

_PRESERVE: Schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
_STRING_MAP: Schema = {"type": "object", "additionalProperties": {"type": "string"}}
_INT_OR_STRING: Schema = {"x-kubernetes-int-or-string": True}
_ENV_LIST: Schema = {"type": "array", "items": _PRESERVE}
_COMPONENT_TYPES = ["frontend", "worker", "prefill", "decode", "planner", "epp"]


def _v1beta1_component() -> Schema:
    return {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {
                "type": "string",
                "maxLength": 63,
                "pattern": "^[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?$",
            },
            "type": {"type": "string", "enum": _COMPONENT_TYPES},
            "replicas": {"type": "integer", "format": "int32", "minimum": 0},
            "podTemplate": _PRESERVE,
            "multinode": _PRESERVE,
            "sharedMemorySize": _INT_OR_STRING,
            "scalingAdapter": _PRESERVE,
            "minAvailable": _INT_OR_STRING,
        },
    }


def _resources() -> Schema:
    item = {
        "type": "object",
        "properties": {
            "cpu": {"type": "string"},
            "memory": {"type": "string"},
            "gpu": {"type": "string"},
            "gpuType": {"type": "string"},
            "custom": _STRING_MAP,
        },
    }
    return {"type": "object", "properties": {"requests": item, "limits": item, "claims": _ENV_LIST}}


def _v1alpha1_service() -> Schema:
    return {
        "type": "object",
        "properties": {
            "componentType": {"type": "string"},
            "subComponentType": {"type": "string"},
            "replicas": {"type": "integer", "format": "int32", "minimum": 0},
            "resources": _resources(),
            "envFromSecret": {"type": "string"},
            "envs": _ENV_LIST,
            "extraPodSpec": _PRESERVE,
            "extraPodMetadata": _PRESERVE,
            "annotations": _STRING_MAP,
            "labels": _STRING_MAP,
            "multinode": _PRESERVE,
            "sharedMemory": _PRESERVE,
            "volumeMounts": _ENV_LIST,
            "dynamoNamespace": {"type": "string"},
        },
    }


def _version(name: str, spec: Schema, *, storage: bool) -> Schema:
    status = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    columns = [
        {
            "name": "Ready",
            "type": "string",
            "jsonPath": '.status.conditions[?(@.type=="Ready")].status',
        },
        {"name": "Backend", "type": "string", "jsonPath": ".spec.backendFramework"},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ]
    return {
        "name": name,
        "served": True,
        "storage": storage,
        "additionalPrinterColumns": columns,
        "subresources": {"status": {}},
        "schema": {
            "openAPIV3Schema": {
                "type": "object",
                "properties": {
                    "apiVersion": {"type": "string"},
                    "kind": {"type": "string"},
                    "metadata": {"type": "object"},
                    "spec": spec,
                    "status": status,
                },
            }
        },
    }


def compact_crd_versions() -> dict[str, Any]:
    """A small CRD of our own for when the operator's CRD file is absent."""
    common = {"backendFramework": {"type": "string", "enum": ["sglang", "vllm", "trtllm"]}}
    beta_spec = {
        "type": "object",
        "properties": {
            **common,
            "env": _ENV_LIST,
            "annotations": _STRING_MAP,
            "labels": _STRING_MAP,
            "components": {
                "type": "array",
                "items": _v1beta1_component(),
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name"],
            },
        },
    }
    alpha_spec = {
        "type": "object",
        "properties": {
            **common,
            "envs": _ENV_LIST,
            "annotations": _STRING_MAP,
            "labels": _STRING_MAP,
            "services": {"type": "object", "additionalProperties": _v1alpha1_service()},
        },
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "dynamographdeployments.nvidia.com"},
        "spec": {
            "group": "nvidia.com",
            "names": {
                "kind": "DynamoGraphDeployment",
                "listKind": "DynamoGraphDeploymentList",
                "plural": "dynamographdeployments",
                "singular": "dynamographdeployment",
                "shortNames": ["dgd"],
            },
            "scope": "Namespaced",
            "versions": [
                _version("v1alpha1", alpha_spec, storage=False),
                _version("v1beta1", beta_spec, storage=True),
            ],
        },
    }
