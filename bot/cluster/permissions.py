"""What Dynamote is allowed to do in a cluster: the one declared list, and how to check it.

``REQUIRED_PERMISSIONS`` names every (verb, group, resource, subresource) that
:class:`bot.cluster.Cluster` calls, and nothing else. The RBAC manifests are compared with it
both ways by a test, and ``dynamote doctor`` checks it against a live cluster with
SelfSubjectAccessReview. Change a call in the client, change this list.

Not listed, because every authenticated account may use them (``system:discovery`` and
``system:public-info-viewer``): the non-resource URLs ``/version``, ``/apis`` and
``/apis/nvidia.com[/...]`` that the client reads to pick the DGD version.

``CAPACITY_PERMISSIONS`` are optional: cluster-wide reads of nodes and pods for GPU capacity
(``bot.cluster.capacity``), granted by the kustomize component ``manifests/capacity/``. Without
them every surface works and says capacity is unknown; ``dynamote doctor`` says how to enable
them. The base RBAC grants exactly ``REQUIRED_PERMISSIONS``, the component exactly these.

``named``: the permission is granted for one object only (RBAC ``resourceNames``), found with
:func:`resource_name`: the HF token secret, the leader Lease, the card ledger ConfigMap. Not
``create``: Kubernetes RBAC cannot limit ``create`` by name (the name is not known when the
request is authorized), so creating Leases and ConfigMaps is granted in the bot's namespace,
which holds nothing else of value; reading and overwriting is limited to the bot's own two.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "CAPACITY_PERMISSIONS",
    "DGD_GROUP",
    "DGD_PLURAL",
    "REQUIRED_PERMISSIONS",
    "Permission",
    "PermissionCheck",
    "access_review",
    "approvals_name",
    "card_ledger_name",
    "resource_name",
]

DGD_GROUP = "nvidia.com"
DGD_PLURAL = "dynamographdeployments"

# Where a permission must hold: in each namespace Dynamote deploys to, in the bot's own
# namespace (it holds the leader-election Lease and the notifier's card ledger), or cluster-wide.
Scope = Literal["deployments", "lease", "cluster"]
# The one object a permission is limited to (see the module docstring); "" = any object.
Named = Literal["", "hf_secret", "lease", "card_ledger", "approvals"]


@dataclass(frozen=True)
class Permission:
    """One RBAC rule the bot needs; with ``named``, grant it with resourceNames."""

    verb: str
    group: str
    resource: str
    subresource: str = ""
    scope: Scope = "deployments"
    named: Named = ""

    @property
    def only_hf_secret(self) -> bool:
        return self.named == "hf_secret"


def card_ledger_name(lease_name: str) -> str:
    """The notifier's card ledger ConfigMap, named after the leader Lease."""
    return f"{lease_name}-cards"


def approvals_name(lease_name: str) -> str:
    """The pending approvals' ConfigMap (bot.cluster.approvals), named after the leader Lease."""
    return f"{lease_name}-approvals"


def resource_name(permission: Permission, *, hf_secret: str, lease_name: str) -> str:
    """The object ``permission`` is limited to, "" when none: what the RBAC rule lists in
    resourceNames, and what an access review for it asks about."""
    names = {
        "": "",
        "hf_secret": hf_secret,
        "lease": lease_name,
        "card_ledger": card_ledger_name(lease_name),
        "approvals": approvals_name(lease_name),
    }
    return names[permission.named]


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
    _dgd("patch"),  # patch_dgd_annotations, patch_dgd (scale)
    Permission("list", "", "pods"),  # list_dgd_pods, list_pods
    Permission("watch", "", "pods"),  # watch_pods
    Permission("get", "", "pods", "log"),  # pod_log_tail
    Permission("list", "", "events"),  # list_pod_events
    # Try it through the API server (bot.cluster.frontend, service-proxy access): GET
    # /v1/models needs get, POST /v1/chat/completions create (the verb follows the method).
    Permission("get", "", "services", "proxy"),  # Frontend.served_models, requests_served
    Permission("create", "", "services", "proxy"),  # Frontend.stream_chat
    Permission("get", "", "secrets", named="hf_secret"),  # secret_exists
    Permission("get", "coordination.k8s.io", "leases", scope="lease", named="lease"),  # get_lease
    Permission("create", "coordination.k8s.io", "leases", scope="lease"),  # create_lease
    Permission(
        "update", "coordination.k8s.io", "leases", scope="lease", named="lease"
    ),  # replace_lease
    # The card ledger (bot.notifier.ledger), the only ConfigMap the bot reads or writes.
    Permission("get", "", "configmaps", scope="lease", named="card_ledger"),  # get_config_map
    Permission("create", "", "configmaps", scope="lease"),  # create_config_map
    Permission(
        "update", "", "configmaps", scope="lease", named="card_ledger"
    ),  # replace_config_map
    # Pending approvals (bot.cluster.approvals), beside the ledger.
    Permission("get", "", "configmaps", scope="lease", named="approvals"),  # get_config_map
    Permission("update", "", "configmaps", scope="lease", named="approvals"),  # replace_config_map
    Permission(
        "create", "authorization.k8s.io", "selfsubjectaccessreviews", scope="cluster"
    ),  # check_permissions
)


# Optional (see the module docstring): GPU capacity reads every node and every running pod.
CAPACITY_PERMISSIONS: tuple[Permission, ...] = (
    Permission("list", "", "nodes", scope="cluster"),  # list_nodes
    Permission("list", "", "pods", scope="cluster"),  # list_active_pods
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
