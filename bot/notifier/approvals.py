"""Lapsed approval requests, in the leader's full sweeps: the requester's thread told, the
approvals message settled, the record removed.

The record is taken out of the store first (``bot.cluster.approvals``: with its
resourceVersion), so of two replicas, or a lapse and an approver answering at once, only one
acts. Only when approvals are configured (one ConfigMap read per full sweep).
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot.blocks.approvals import build_approval_note, build_approval_settled
from bot.cluster import Cluster, ClusterError
from bot.cluster.approvals import ApprovalStore
from bot.config.settings import Settings
from bot.domain.policy import Action
from bot.notifier.sender import Sender, SendError
from bot.ops.audit import audit

__all__ = ["Lapses", "lapses_for"]

log = logging.getLogger(__name__)

LAPSED_NOTE = ":hourglass: The approval request lapsed before anyone answered; nothing was created."
# A Redeploy…'s: the thread and card are the deployment's it would have replaced, which stays.
LAPSED_REPLACEMENT_NOTE = (
    ":hourglass: The redeploy's approval request lapsed before anyone answered; nothing was "
    "replaced."
)


class Lapses:
    def __init__(self, store: ApprovalStore, sender: Sender, channel: str | None) -> None:
        self._store = store
        self._sender = sender
        self._channel = channel

    def sweep(self, now: datetime, errors: list[str]) -> int:
        """Lapse every expired request; returns how many thread replies Slack took."""
        try:
            expired = [record for record in self._store.pending() if record.expired(now)]
        except ClusterError as error:
            errors.append(f"approvals: {error.message}")
            return 0
        told = 0
        for stale in expired:
            try:
                record = self._store.take(stale.id)
            except ClusterError as error:
                errors.append(f"approvals: {error.message}")
                continue
            if record is None:
                continue  # answered meanwhile
            audit(
                Action.DEPLOY.value,
                user=record.requester,
                channel=record.channel,
                gpus=record.gpus,
                outcome="denied",
                reason="the approval request lapsed",
            )
            try:
                if record.channel and record.thread_ts:
                    note = LAPSED_REPLACEMENT_NOTE if record.replaces else LAPSED_NOTE
                    self._sender.reply(record.channel, record.thread_ts, build_approval_note(note))
                    told += 1
                if record.channel and record.thread_ts and not record.replaces:
                    lapsed = build_approval_settled(record, ":hourglass: Lapsed.")
                    self._sender.update(record.channel, record.thread_ts, lapsed)  # the card
                if self._channel and record.message_ts:
                    self._sender.update(
                        self._channel,
                        record.message_ts,
                        build_approval_settled(record, ":hourglass: Lapsed: nobody answered."),
                    )
            except SendError as failure:
                errors.append(f"approvals: lapse of {record.id} not told: {failure.kind}")
                log.warning("Failed to tell the lapse of %s: %s", record.id, failure.kind)
        return told


def lapses_for(cluster: Cluster, sender: Sender, settings: Settings) -> Lapses | None:
    """The lapse step when approvals are configured; None (no reads at all) otherwise."""
    policy = settings.approval_policy
    if not policy.active:
        return None
    store = ApprovalStore(
        cluster,
        namespace=settings.lease_namespace or settings.default_namespace,
        lease_name=settings.lease_name,
    )
    return Lapses(store, sender, policy.channel)
