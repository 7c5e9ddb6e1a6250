"""The Kubernetes side of Dynamote: the only package that talks to the API server.

Public names live here; the modules behind them are internal:

- ``client``: :class:`Cluster`, every call the bot makes, returning raw JSON dicts;
- ``connection``: configuration, timeouts, raw JSON answers and error translation;
- ``dgds``: the managed-by label and the pure rules around creating a DGD;
- ``errors``: the typed error hierarchy (drawn in its docstring) with Slack-safe messages;
- ``permissions``: :data:`REQUIRED_PERMISSIONS`, the one declared list of what is called;
- ``versions``: which DynamoGraphDeployment apiVersion to write;
- ``watching``: watch streams as ``(event type, object)`` pairs.

Importing this package does not import ``kubernetes``; the first API call does.
"""

from bot.cluster.client import Cluster, ClusterStatus
from bot.cluster.connection import Snapshot
from bot.cluster.dgds import (
    DGD_NAME_LABEL,
    MANAGED_BY_LABEL,
    MANAGED_BY_VALUE,
    MANAGED_SELECTOR,
    is_managed,
)
from bot.cluster.errors import (
    AlreadyExists,
    ApiError,
    ClusterError,
    Conflict,
    Expired,
    FieldCause,
    Forbidden,
    Invalid,
    NotConfigured,
    NotFound,
    NotManaged,
    OperatorNotInstalled,
    ServerError,
    TimedOut,
    Unavailable,
    Unreachable,
)
from bot.cluster.permissions import (
    DGD_GROUP,
    DGD_PLURAL,
    REQUIRED_PERMISSIONS,
    Permission,
    PermissionCheck,
)

__all__ = [
    "DGD_GROUP",
    "DGD_NAME_LABEL",
    "DGD_PLURAL",
    "MANAGED_BY_LABEL",
    "MANAGED_BY_VALUE",
    "MANAGED_SELECTOR",
    "REQUIRED_PERMISSIONS",
    "AlreadyExists",
    "ApiError",
    "Cluster",
    "ClusterError",
    "ClusterStatus",
    "Conflict",
    "Expired",
    "FieldCause",
    "Forbidden",
    "Invalid",
    "NotConfigured",
    "NotFound",
    "NotManaged",
    "OperatorNotInstalled",
    "Permission",
    "PermissionCheck",
    "ServerError",
    "Snapshot",
    "TimedOut",
    "Unavailable",
    "Unreachable",
    "is_managed",
]
