"""The audit trail: one structured log record per create, delete and denial.

Records go to the ``dynamote.audit`` logger so a platform team can route them apart (a JSON
formatter, a SIEM). The fields ride on the record as ``extra`` attributes
(``record.user``, ``record.outcome``...; ``bot.ops.logs`` prints them as fields), except the DGD's
name, which is ``record.deployment``: ``logging`` refuses ``extra`` keys that clash with
LogRecord's own, and ``name`` (the logger's) is one. :func:`audit` returns the fields under
their plain names. The DGD itself carries who created it (annotation ``dynamote.dev/requester``).
"""

from __future__ import annotations

import logging
from typing import Literal, TypedDict

__all__ = ["AUDIT_LOGGER", "AuditFields", "Outcome", "audit"]

AUDIT_LOGGER = "dynamote.audit"
Outcome = Literal[
    "created", "deleted", "scaled", "tried", "denied", "failed", "changed", "requested", "approved"
]

log = logging.getLogger(AUDIT_LOGGER)


class AuditFields(TypedDict):
    action: str  # "deploy", "delete", "scale", "try", or what was denied ("read", ...)
    user: str
    channel: str | None
    namespace: str | None
    name: str | None
    model: str | None
    gpus: int | None
    outcome: Outcome
    reason: str


def audit(
    action: str,
    *,
    user: str,
    outcome: Outcome,
    channel: str | None = None,
    namespace: str | None = None,
    name: str | None = None,
    model: str | None = None,
    gpus: int | None = None,
    reason: str = "",
) -> AuditFields:
    """Log one audit record (WARNING for denials and failures, INFO otherwise)."""
    fields = AuditFields(
        action=action,
        user=user,
        channel=channel,
        namespace=_short(namespace),
        name=_short(name),
        model=_short(model),
        gpus=gpus,
        outcome=outcome,
        reason=reason[:500],
    )
    level = logging.WARNING if outcome in ("denied", "failed") else logging.INFO
    target = f"{namespace}/{name}" if name else (namespace or "-")
    log.log(
        level,
        "%s %s by %s in %s: %s%s",
        action,
        target,
        user or "?",
        channel or "-",
        outcome,
        f" ({fields['reason']})" if reason else "",
        extra=_as_extra(fields),
    )
    return fields


def _short(value: str | None) -> str | None:
    # What a person typed lands here on denials; a log record stays bounded.
    return value[:253] if value is not None else None


def _as_extra(fields: AuditFields) -> dict[str, object]:
    extra: dict[str, object] = dict(fields)
    extra["deployment"] = extra.pop("name")
    return extra
