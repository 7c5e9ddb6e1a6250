"""Pending approvals, in a ConfigMap beside the leader Lease (``<lease name>-approvals``).

One data key per request (its id), the value ``bot.domain.approvals.PendingApproval`` as JSON. Every
write is a read-modify-replace with the resourceVersion read, so two replicas cannot both
take the same request: :meth:`ApprovalStore.take` removes it and only the replica whose
replace lands gets it (the other sees it gone). The bot may read and write only this
ConfigMap and the card ledger (RBAC by ``resourceNames``, ``bot.cluster.permissions``).
"""

from __future__ import annotations

from typing import Any

from bot.cluster.client import Cluster
from bot.cluster.errors import AlreadyExists, Conflict, NotFound
from bot.cluster.permissions import approvals_name
from bot.domain.approvals import PendingApproval, records
from bot.domain.dgd import LABEL_MANAGED_BY, MANAGED_BY_VALUE

__all__ = ["ApprovalStore"]

_ATTEMPTS = 5
MANAGED_BY = {LABEL_MANAGED_BY: MANAGED_BY_VALUE}


class ApprovalStore:
    def __init__(self, cluster: Cluster, *, namespace: str, lease_name: str) -> None:
        self._cluster = cluster
        self.namespace = namespace
        self.name = approvals_name(lease_name)

    def pending(self) -> list[PendingApproval]:
        return list(self._read()[1].values())

    def get(self, approval_id: str) -> PendingApproval | None:
        return self._read()[1].get(approval_id)

    def put(self, record: PendingApproval, *, only_if_present: bool = False) -> None:
        """Store ``record`` (retrying when another replica wrote meanwhile); with
        ``only_if_present``, only while it is still stored (never bring back a taken one)."""
        for _ in range(_ATTEMPTS):
            version, data = self._read_raw()
            if only_if_present and record.id not in data:
                return
            data[record.id] = record.to_json()
            if self._write(version, data):
                return
        raise Conflict("The approvals kept changing; try again.", status=409, reason="Conflict")

    def take(self, approval_id: str) -> PendingApproval | None:
        """Remove and return the record; None when it is gone (another approver was first)."""
        for _ in range(_ATTEMPTS):
            version, data = self._read_raw()
            found = records(data).get(approval_id)
            if found is None:
                return None
            del data[approval_id]
            if self._write(version, data):
                return found
        raise Conflict("The approvals kept changing; try again.", status=409, reason="Conflict")

    def _read(self) -> tuple[str | None, dict[str, PendingApproval]]:
        version, data = self._read_raw()
        return version, records(data)

    def _read_raw(self) -> tuple[str | None, dict[str, str]]:
        try:
            config_map = self._cluster.get_config_map(self.namespace, self.name)
        except NotFound:
            return None, {}
        version = str((config_map.get("metadata") or {}).get("resourceVersion") or "")
        data = config_map.get("data") or {}
        return version, {str(k): str(v) for k, v in data.items()}

    def _write(self, version: str | None, data: dict[str, str]) -> bool:
        """False when another replica wrote first (read again and retry)."""
        metadata: dict[str, Any] = {
            "name": self.name,
            "namespace": self.namespace,
            "labels": dict(MANAGED_BY),
        }
        body: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata}
        body["data"] = data
        try:
            if version is None:
                self._cluster.create_config_map(self.namespace, body)
            else:
                metadata["resourceVersion"] = version
                self._cluster.replace_config_map(self.namespace, self.name, body)
        except (Conflict, AlreadyExists):
            return False
        return True
