"""What Dynamote is allowed to do in a cluster: the one declared list, and how to check it.

``REQUIRED_PERMISSIONS`` names every (verb, group, resource, subresource) that
:class:`bot.cluster.Cluster` calls, and nothing else. The RBAC manifests are compared with it
both ways by a test, and ``dynamote doctor`` checks it against a live cluster with
SelfSubjectAccessReview. Change a call in the client, change this list.

Not listed, because every authenticated account may use them (``system:discovery`` and
``system:public-info-viewer``): the non-resource URLs ``/version``, ``/apis`` and
``/apis/nvidia.com[/...]`` that the client reads to pick the DGD version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "DGD_GROUP",
    "DGD_PLURAL",
    "REQUIRED_PERMISSIONS",
    "Permission",
    "PermissionCheck",
    "access_review",
]

DGD_GROUP = "nvidia.com"
DGD_PLURAL = "dynamographdeployments"

# Where a permission must hold: in each namespace Dynamote deploys to, in the bot's own
# namespace (it holds the leader-election Lease and the notifier's card ledger), or cluster-wide.
Scope = Literal["deployments", "lease", "cluster"]


@dataclass(frozen=True)
class Permission:
    """One RBAC rule the bot needs. ``only_hf_secret``: grant it with resourceNames."""

    verb: str
    group: str
    resource: str
    subresource: str = ""
    scope: Scope = "deployments"
    only_hf_secret: bool = False


@dataclass(frozen=True)
class PermissionCheck:
    """The answer of one SelfSubjectAccessReview."""

    verb: str
    group: str
    resource: str
    subresource: str
    namespace: str | None
    allowed: bool
    reason: str
    name: str = ""


def _dgd(verb: str) -> Permission:
    return Permission(verb, DGD_GROUP, DGD_PLURAL)


REQUIRED_PERMISSIONS: tuple[Permission, ...] = (
    _dgd("get"),  # get_dgd, delete_dgd's ownership check, free-name suggestions
    _dgd("list"),  # list_managed_dgds
    _dgd("watch"),  # watch_dgds
    _dgd("create"),  # create_dgd, dry run included
    _dgd("delete"),  # delete_dgd
    _dgd("patch"),  # patch_dgd_annotations
    Permission("list", "", "pods"),  # list_dgd_pods, list_pods
    Permission("watch", "", "pods"),  # watch_pods
    Permission("get", "", "pods", "log"),  # pod_log_tail
    Permission("list", "", "events"),  # list_pod_events
    Permission("get", "", "secrets", only_hf_secret=True),  # secret_exists
    Permission("get", "coordination.k8s.io", "leases", scope="lease"),  # get_lease
    Permission("create", "coordination.k8s.io", "leases", scope="lease"),  # create_lease
    Permission("update", "coordination.k8s.io", "leases", scope="lease"),  # replace_lease
    Permission("get", "", "configmaps", scope="lease"),  # get_config_map (the card ledger)
    Permission("create", "", "configmaps", scope="lease"),  # create_config_map
    Permission("update", "", "configmaps", scope="lease"),  # replace_config_map
    Permission(
        "create", "authorization.k8s.io", "selfsubjectaccessreviews", scope="cluster"
    ),  # check_permissions
)


def access_review(permission: Permission, namespace: str | None, name: str = "") -> dict[str, Any]:
    """The SelfSubjectAccessReview body that asks whether ``permission`` holds."""
    attributes: dict[str, Any] = {
        "verb": permission.verb,
        "group": permission.group,
        "resource": permission.resource,
    }
    if permission.subresource:
        attributes["subresource"] = permission.subresource
    if namespace:
        attributes["namespace"] = namespace
    if name:
        attributes["name"] = name
    return {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": attributes},
    }


def check_from_review(
    permission: Permission, namespace: str | None, name: str, review: dict[str, Any]
) -> PermissionCheck:
    """A PermissionCheck from the API server's answer to :func:`access_review`."""
    status = review.get("status") or {}
    allowed = bool(status.get("allowed")) and not status.get("denied")
    reason = str(status.get("reason") or status.get("evaluationError") or "")
    return PermissionCheck(
        verb=permission.verb,
        group=permission.group,
        resource=permission.resource,
        subresource=permission.subresource,
        namespace=namespace,
        allowed=allowed,
        reason=reason,
        name=name,
    )
