"""REQUIRED_PERMISSIONS is honest (the code calls exactly that), and is checked by SSAR."""

from __future__ import annotations

import contextlib
from typing import Any

from bot.cluster import DGD_NAME_LABEL, REQUIRED_PERMISSIONS, Cluster, PermissionCheck
from bot.cluster.frontend import FrontendError

from .conftest import HF_SECRET, dgd_manifest
from .test_reads import add_pod

NAMESPACES = ["default", "dynamo-system"]


def declared() -> set[tuple[str, str, str, str]]:
    return {(p.verb, p.group, p.resource, p.subresource) for p in REQUIRED_PERMISSIONS}


def test_the_declared_permissions_are_exactly_what_the_design_needs() -> None:
    assert declared() == {
        ("get", "nvidia.com", "dynamographdeployments", ""),
        ("list", "nvidia.com", "dynamographdeployments", ""),
        ("watch", "nvidia.com", "dynamographdeployments", ""),
        ("create", "nvidia.com", "dynamographdeployments", ""),
        ("delete", "nvidia.com", "dynamographdeployments", ""),
        ("patch", "nvidia.com", "dynamographdeployments", ""),
        ("list", "", "pods", ""),
        ("watch", "", "pods", ""),
        ("get", "", "pods", "log"),
        ("list", "", "events", ""),
        ("get", "", "services", "proxy"),
        ("create", "", "services", "proxy"),
        ("get", "", "secrets", ""),
        ("get", "coordination.k8s.io", "leases", ""),
        ("create", "coordination.k8s.io", "leases", ""),
        ("update", "coordination.k8s.io", "leases", ""),
        ("get", "", "configmaps", ""),
        ("create", "", "configmaps", ""),
        ("update", "", "configmaps", ""),
        ("create", "authorization.k8s.io", "selfsubjectaccessreviews", ""),
    }
    assert len(REQUIRED_PERMISSIONS) == len(declared()), "no duplicates"
    secrets = [p for p in REQUIRED_PERMISSIONS if p.resource == "secrets"]
    assert all(p.only_hf_secret for p in secrets), "secrets only by name"


def exercise_every_operation(cluster: Cluster, standin: Any, version: str) -> None:
    """Call each public operation once, the way the bot would."""
    created = cluster.create_dgd(dgd_manifest(version, "qwen"))
    cluster.create_dgd(dgd_manifest(version, "qwen-dry"), dry_run=True)
    cluster.get_dgd("default", "qwen")
    cluster.list_managed_dgds(NAMESPACES)
    cluster.patch_dgd_annotations(
        "default", "qwen", {"a": "1"}, resource_version=created["metadata"]["resourceVersion"]
    )
    list(cluster.watch_dgds(["default"], resource_version=None, timeout_seconds=1))
    add_pod(standin, "qwen-worker-1", "qwen", log="hello\n")
    cluster.list_dgd_pods("default", "qwen")
    list(cluster.watch_pods(["default"], DGD_NAME_LABEL, resource_version=None, timeout_seconds=1))
    cluster.list_pod_events("default", ["qwen-worker-1"])
    cluster.pod_log_tail("default", "qwen-worker-1")
    cluster.secret_exists("default", HF_SECRET)
    # Try it through the service proxy: there is no such Service, but the calls are made.
    with contextlib.suppress(FrontendError):
        cluster.frontend.served_models("default", "qwen-frontend")
    with contextlib.suppress(FrontendError):
        cluster.frontend.stream_chat("default", "qwen-frontend", {"model": "qwen"})
    lease = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "dynamote-leader", "namespace": "default"},
        "spec": {"holderIdentity": "pod-a", "leaseDurationSeconds": 15},
    }
    made = cluster.create_lease("default", lease)
    cluster.get_lease("default", "dynamote-leader")
    cluster.replace_lease("default", "dynamote-leader", made)
    ledger = {"metadata": {"name": "dynamote-notifier-cards"}, "binaryData": {}}
    stored = cluster.create_config_map("default", ledger)
    cluster.get_config_map("default", "dynamote-notifier-cards")
    cluster.replace_config_map("default", "dynamote-notifier-cards", stored)
    cluster.delete_dgd("default", "qwen")
    cluster.check_permissions(["default"])
    cluster.cluster_status()


def test_the_code_calls_exactly_the_declared_permissions(
    cluster: Cluster, standin: Any, version: str
) -> None:
    standin.reset_api_calls()
    exercise_every_operation(cluster, standin, version)
    # The stand-in counts (verb, plural); non-resource paths (discovery, /version) start
    # with "/" and need no RBAC. Subresources are counted as "resource/subresource".
    called = {key for key in standin.api_calls() if not key[1].startswith("/")}
    assert called == {
        (p.verb, f"{p.resource}/{p.subresource}" if p.subresource else p.resource)
        for p in REQUIRED_PERMISSIONS
    }


def test_every_permission_is_reviewed_in_every_namespace_where_it_applies(
    cluster: Cluster,
) -> None:
    checks = cluster.check_permissions(NAMESPACES, lease_namespace="dynamo-system")
    assert all(check.allowed for check in checks)
    per_namespace = [p for p in REQUIRED_PERMISSIONS if p.scope == "deployments"]
    once = [p for p in REQUIRED_PERMISSIONS if p.scope != "deployments"]  # own namespace, cluster
    assert len(once) == 7
    assert len(checks) == len(per_namespace) * len(NAMESPACES) + len(once)
    leases = {c.namespace for c in checks if c.resource == "leases"}
    assert leases == {"dynamo-system"}
    ledgers = {c.namespace for c in checks if c.resource == "configmaps"}
    assert ledgers == {"dynamo-system"}
    (review,) = [c for c in checks if c.resource == "selfsubjectaccessreviews"]
    assert review.namespace is None
    secrets = [c for c in checks if c.resource == "secrets"]
    assert {c.name for c in secrets} == {HF_SECRET}
    log = [c for c in checks if c.subresource == "log"]
    assert {c.namespace for c in log} == set(NAMESPACES)


def test_a_denied_permission_is_reported_not_allowed_with_the_reason(
    cluster: Cluster, standin: Any
) -> None:
    standin.faults.forbid("delete", "dynamographdeployments", "dynamo-system")
    checks = cluster.check_permissions(NAMESPACES)
    denied = [check for check in checks if not check.allowed]
    assert denied == [
        PermissionCheck(
            verb="delete",
            group="nvidia.com",
            resource="dynamographdeployments",
            subresource="",
            namespace="dynamo-system",
            allowed=False,
            reason=denied[0].reason,
        )
    ]
    assert denied[0].reason
