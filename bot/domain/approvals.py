"""Approvals: which deploy requests wait for an approver's yes, and the record of one. Pure.

A request above ``DYNAMOTE_APPROVAL_ABOVE_GPUS`` GPUs in total, or in one of
``DYNAMOTE_APPROVAL_NAMESPACES``, creates nothing at submission: a :class:`PendingApproval`
is stored (``bot.cluster.approvals``) and the approvals channel asked. The record holds the
exact request (its stored JSON, ``DeploymentRequest.to_annotation``) and a hash over it, the
requester and where the requester hears about it; the Approve button carries the hash, so what
is approved is exactly what the message showed. A record lapses after ``DYNAMOTE_APPROVAL_TTL``.

A Redeploy… that needs approval is held as a replacement: ``replaces`` names the deployment
(``<namespace>/<name>``) and ``replaces_uid`` the very object shown, both under the hash, so
an approval replaces that object and no other, and never becomes a create beside it.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "ApprovalPolicy",
    "PendingApproval",
    "new_approval",
    "request_hash",
]

_ID_BYTES = 6


def request_hash(
    request_json: str, *, requester: str, replaces: str = "", replaces_uid: str = ""
) -> str:
    """SHA-256 over the stored request, who asked and what it replaces, if anything (hex, 32
    characters; 12 shown on the message)."""
    bound = [request_json, requester]
    if replaces or replaces_uid:
        bound += [replaces, replaces_uid]
    canonical = json.dumps(bound, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class ApprovalPolicy:
    """Who approves, where they are asked, what needs it and how long a request waits."""

    approvers: tuple[str, ...] = ()
    channel: str | None = None
    above_gpus: int | None = None
    namespaces: tuple[str, ...] = ()
    ttl: timedelta = timedelta(days=1)

    @property
    def active(self) -> bool:
        """Anything needs approval (a threshold or namespaces are set)."""
        return self.above_gpus is not None or bool(self.namespaces)

    @property
    def complete(self) -> str | None:
        """What is missing for approvals to work when active (None: nothing)."""
        if not self.active:
            return None
        missing = [
            name
            for name, present in (
                ("DYNAMOTE_APPROVERS", bool(self.approvers)),
                ("DYNAMOTE_APPROVAL_CHANNEL", bool(self.channel)),
            )
            if not present
        ]
        return f"{' and '.join(missing)} unset" if missing else None

    def needs(self, *, gpus: int, namespace: str) -> str | None:
        """Why a request of ``gpus`` GPUs in ``namespace`` needs approval; None if it does not."""
        if self.above_gpus is not None and gpus > self.above_gpus:
            return f"it needs {gpus} GPUs, more than the {self.above_gpus} allowed without approval"
        if namespace in self.namespaces:
            return f"deployments in {namespace} need approval"
        return None

    def whom(self) -> str:
        """The approvers as Slack mentions (users and user groups)."""
        return ", ".join(_mention(who) for who in self.approvers) or "nobody (none are set)"


def _mention(principal: str) -> str:
    return f"<!subteam^{principal}>" if principal.startswith("S") else f"<@{principal}>"


@dataclass(frozen=True)
class PendingApproval:
    """One request waiting for an approver. ``request`` is the stored request JSON."""

    id: str
    request: str
    hash: str
    requester: str
    channel: str | None  # where the requester's card is (None: their DM)
    thread_ts: str | None  # the card; its thread hears every step
    reason: str  # why it needs approval
    created_at: str  # RFC 3339
    expires_at: str  # RFC 3339
    note: str = ""  # the requester's "why", if given
    gpus: int = 0  # GPUs in total, as the request computed them
    keep: str = ""  # the form's "Keep for" choice, applied from the approval on
    message_ts: str = ""  # the request's message in the approvals channel
    replaces: str = ""  # "<namespace>/<name>" a Redeploy… replaces ("": a new deployment)
    replaces_uid: str = ""  # the uid of the object it replaces, as it was asked

    def expired(self, now: datetime) -> bool:
        return now >= datetime.fromisoformat(self.expires_at)

    def intact(self) -> bool:
        """The stored request is still the one hashed (a hand-edited ConfigMap is not)."""
        return secrets.compare_digest(
            self.hash,
            request_hash(
                self.request,
                requester=self.requester,
                replaces=self.replaces,
                replaces_uid=self.replaces_uid,
            ),
        )

    def request_data(self) -> dict[str, Any]:
        value = json.loads(self.request)
        return value if isinstance(value, dict) else {}

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> PendingApproval | None:
        """The record, or None for anything unreadable (never raises)."""
        try:
            value = json.loads(text)
            return cls(**{k: value[k] for k in cls.__dataclass_fields__ if k in value})
        except (ValueError, TypeError, KeyError):
            return None


def new_approval(
    request_json: str,
    *,
    requester: str,
    channel: str | None,
    thread_ts: str | None,
    reason: str,
    now: datetime,
    ttl: timedelta,
    gpus: int,
    keep: str = "",
    note: str = "",
    replaces: str = "",
    replaces_uid: str = "",
) -> PendingApproval:
    return PendingApproval(
        id=secrets.token_hex(_ID_BYTES),
        request=request_json,
        hash=request_hash(
            request_json, requester=requester, replaces=replaces, replaces_uid=replaces_uid
        ),
        requester=requester,
        channel=channel,
        thread_ts=thread_ts,
        reason=reason,
        created_at=_rfc3339(now),
        expires_at=_rfc3339(now + ttl),
        note=note,
        gpus=gpus,
        keep=keep,
        replaces=replaces,
        replaces_uid=replaces_uid,
    )


def policy_from(
    approvers: Sequence[str],
    channel: str | None,
    above_gpus: int | None,
    namespaces: Sequence[str],
    ttl: timedelta,
) -> ApprovalPolicy:
    return ApprovalPolicy(tuple(approvers), channel, above_gpus, tuple(namespaces), ttl)


def records(data: Mapping[str, str]) -> dict[str, PendingApproval]:
    """The readable records of a store's data (by id)."""
    found = {}
    for key, text in data.items():
        record = PendingApproval.from_json(text)
        if record is not None and record.id == key:
            found[key] = record
    return found


def _rfc3339(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
