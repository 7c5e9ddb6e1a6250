"""Decide what a deployment's thread should hear now, from its status and what it heard. Pure.

Rules (the card always shows the current state; replies tell what someone should act on):

- Pending and Deploying get no reply: the card, redrawn, already shows them. A deployment
  nobody announced yet counts as "Pending, announced when it was created".
- Running gets one reply, unless the thread already said Running.
- Failed gets one trouble reply. While the thread says Failed, a new reason updates that
  reply in place instead of posting again, and Pending or Deploying in between (a crash
  loop's restarts) say nothing: the thread stays Failed until Running has lasted
  :data:`RECOVERY_WINDOW`.
- Pending for longer than the timeout gets one "stuck" reply per Pending spell, with a fix.
- Terminating gets no reply: the Deleted reply follows it.
- The owner is mentioned on the first Running reply and on the first trouble reply only, and
  only the first Running reply may go to the channel too: the channel never heard of the
  trouble a later one would end.
- The card is redrawn when its badge or replica count differs from what it last showed.

The record also keeps what was seen: since when the card's phase holds (a Pending spell, a
healthy spell) and since when the operator's ``failed`` state was seen (its retry window,
``bot.domain.status.retry``), so a restarted bot counts on from the same moments.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

from bot.domain.notified import Announced
from bot.domain.status import DeploymentStatus

__all__ = [
    "RECOVERY_WINDOW",
    "Plan",
    "ReplyKind",
    "after_reply",
    "card_signature",
    "effective",
    "failing_since",
    "plan",
    "trouble_mark",
]

ReplyKind = Literal["running", "trouble", "update", "stuck"]

# How long a deployment that the thread called Failed must stay Running before the thread says
# so. The kubelet waits up to 5 minutes between restarts of a crash-looping container
# (CrashLoopBackOff doubles from 10 s to a 5-minute cap): a worker that passes its readiness
# probe and crashes again within one back-off does not flap the thread.
RECOVERY_WINDOW: Final = timedelta(minutes=5)


@dataclass(frozen=True)
class Plan:
    """What to send and keep.

    ``reply``: the reply to post (or ``update``: the trouble reply to edit), or None.
    ``card``: the card's new signature, or None to leave the card. ``record``: the record as
    seen now, before any reply (what to write even when nothing is sent). ``mention``: whether
    the reply mentions the owner. ``changed``: ``record`` differs from the one read.
    """

    reply: ReplyKind | None
    card: str | None
    record: Announced
    mention: bool = False
    changed: bool = False

    @property
    def empty(self) -> bool:
        return self.reply is None and self.card is None and not self.changed

    @property
    def first_running(self) -> bool:
        """The reply is the deployment's first Running reply."""
        return self.reply == "running" and self.mention


def card_signature(status: DeploymentStatus, expires_at: str | None = None) -> str:
    """What the card shows that is worth a redraw: ``"Deploying 1/2"``, and a short digest of
    the expiry the card shows (``dynamote.dev/expires-at``, which kubectl may change)."""
    signature = f"{status.phase} {status.replicas_ready}/{status.replicas_desired}"
    if expires_at:
        signature += " e" + hashlib.blake2s(expires_at.encode(), digest_size=2).hexdigest()
    return signature


def trouble_mark(status: DeploymentStatus) -> str:
    """A short digest of what a trouble reply shows; another one means it needs an update."""
    return hashlib.blake2s(status.reason.encode(), digest_size=4).hexdigest()


def effective(announced: Announced, status: DeploymentStatus, now: datetime) -> Announced:
    """The record, with "nothing announced yet" read as "Pending since creation"."""
    if announced.phase is not None:
        return announced
    return replace(announced, phase="Pending", at=status.created_at or now)


def failing_since(
    announced: Announced, dgd_status: Mapping[str, Any], now: datetime
) -> datetime | None:
    """When the operator's ``failed`` state was first seen, if it is ``failed`` now."""
    if dgd_status.get("state") != "failed":
        return None
    seen = announced.failing_since
    if seen is None or _elapsed(seen, now) < timedelta(0):
        return now  # first seen now (a time not yet come is a hand-edited record)
    return seen


def plan(
    status: DeploymentStatus,
    announced: Announced,
    *,
    now: datetime,
    pending_timeout: timedelta,
    failing: datetime | None = None,
    expires_at: str | None = None,
) -> Plan:
    """The reply and card redraw this deployment needs now (see the module rules).

    ``failing``: what :func:`failing_since` answered, and ``status`` was computed with.
    ``expires_at``: the DGD's expiry annotation, which the card shows.
    """
    record = _seen(status, announced, now, failing)
    signature = card_signature(status, expires_at)
    card = signature if signature != announced.card else None
    told = effective(announced, status, now).phase
    reply = _reply(status, told, record, now, pending_timeout)
    if reply == "running":
        mention = "r" not in record.mentions
    elif reply == "update":
        mention = "t" in record.mentions
    else:
        mention = reply is not None and "f" not in record.mentions
    return Plan(reply, card, record, mention, changed=record != announced)


def _seen(
    status: DeploymentStatus, announced: Announced, now: datetime, failing: datetime | None
) -> Announced:
    """The record with what is seen now: the phase's start, the operator's failed state."""
    record = replace(announced, failing_since=failing)
    if status.phase == announced.card_phase and announced.since is not None:
        return record
    if announced.card_phase is None and status.phase == "Pending":
        since = status.created_at or now  # first seen: Pending since it was created
    else:
        since = now
    return replace(record, since=since, stuck=record.stuck and status.phase == "Pending")


def _reply(
    status: DeploymentStatus,
    told: str | None,
    record: Announced,
    now: datetime,
    pending_timeout: timedelta,
) -> ReplyKind | None:
    phase = status.phase
    if phase == "Running":
        if told == "Running":
            return None
        if told == "Failed" and _elapsed(record.since, now) < RECOVERY_WINDOW:
            return None  # not healthy for long enough yet
        return "running"
    if phase == "Failed":
        if told != "Failed":
            return "trouble"
        if record.trouble and record.trouble_mark != trouble_mark(status):
            return "update"
        return None
    stuck = phase == "Pending" and _elapsed(record.since, now) >= pending_timeout
    if stuck and told != "Failed" and not record.stuck:
        return "stuck"
    return None


def after_reply(
    record: Announced,
    status: DeploymentStatus,
    kind: ReplyKind,
    now: datetime,
    *,
    ts: str | None = None,
    mention: bool = False,
) -> Announced:
    """The record once Slack accepted a reply of ``kind`` (posted at ``ts``) about ``status``.

    ``record`` is the plan's record (what was seen); ``mention``: the reply mentioned the owner.
    """
    mentions = set(record.mentions)
    if kind == "running":
        mentions.discard("t")
        if mention:
            mentions.add("r")
        new = replace(record, phase="Running", at=now, stuck=False, trouble=None)
        return replace(new, trouble_mark=None, mentions="".join(sorted(mentions)))
    if kind == "update":
        return replace(record, trouble_mark=trouble_mark(status))
    if mention:
        mentions.add("f")
    if kind == "stuck":
        return replace(
            record, phase="Pending", at=now, stuck=True, mentions="".join(sorted(mentions))
        )
    if mention:
        mentions.add("t")
    else:
        mentions.discard("t")
    return replace(
        record,
        phase="Failed",
        at=now,
        trouble=ts,
        trouble_mark=trouble_mark(status),
        mentions="".join(sorted(mentions)),
    )


def _elapsed(since: datetime | None, now: datetime) -> timedelta:
    if since is None:
        return timedelta(0)
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return now - since
