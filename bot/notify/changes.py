"""Decide what a deployment's thread should hear now, from its status and what it heard. Pure.

Rules (the card always shows the current state; replies tell the history):

- The first phase is not a change: a deployment nobody announced yet counts as "Pending,
  announced when it was created", so the card (which already says Pending) gets no reply.
- Every later phase change gets one reply, except Terminating: the Deleted reply follows it.
- Pending for longer than the timeout gets one "stuck" reply per Pending spell, with a fix.
- The card is redrawn when its badge or replica count differs from what it last showed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal

from bot.notify.state import Announced
from bot.status import DeploymentStatus

__all__ = ["Plan", "ReplyKind", "after_reply", "card_signature", "effective", "plan"]

ReplyKind = Literal["phase", "stuck"]


@dataclass(frozen=True)
class Plan:
    """What to send: a reply (or None) and the card's new signature (or None: leave it)."""

    reply: ReplyKind | None
    card: str | None

    @property
    def empty(self) -> bool:
        return self.reply is None and self.card is None


def card_signature(status: DeploymentStatus) -> str:
    """What the card shows that is worth a redraw: ``"Deploying 1/2"``."""
    return f"{status.phase} {status.replicas_ready}/{status.replicas_desired}"


def effective(announced: Announced, status: DeploymentStatus, now: datetime) -> Announced:
    """The record, with "nothing announced yet" read as "Pending since creation"."""
    if announced.phase is not None:
        return announced
    return replace(announced, phase="Pending", at=status.created_at or now)


def plan(
    status: DeploymentStatus,
    announced: Announced,
    *,
    now: datetime,
    pending_timeout: timedelta,
) -> Plan:
    """The reply and card redraw this deployment needs now (see the module rules)."""
    record = effective(announced, status, now)
    signature = card_signature(status)
    card = signature if signature != announced.card else None
    reply: ReplyKind | None = None
    if status.phase == "Pending":
        since = record.at if record.phase == "Pending" else now
        if _elapsed(since, now) >= pending_timeout and not (
            record.phase == "Pending" and record.stuck
        ):
            reply = "stuck"
        elif record.phase != "Pending":
            reply = "phase"
    elif status.phase not in (record.phase, "Terminating"):
        reply = "phase"
    return Plan(reply=reply, card=card)


def after_reply(
    announced: Announced, status: DeploymentStatus, kind: ReplyKind, now: datetime
) -> Announced:
    """The record once Slack accepted a reply of ``kind`` about ``status``."""
    record = effective(announced, status, now)
    if kind == "stuck":
        # Keep the start of the Pending spell, so the timer is not reset by the warning.
        at = record.at if record.phase == "Pending" else now
        return replace(record, phase="Pending", at=at, stuck=True)
    return replace(record, phase=status.phase, at=now, stuck=False)


def _elapsed(since: datetime | None, now: datetime) -> timedelta:
    if since is None:
        return timedelta(0)
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return now - since
