"""Deletions: each gone DGD's last reply and Deleted card, once, and the card ledger.

The notifier decides *that* a DGD is gone (a watch's DELETED event, a sweep that no longer
lists it, or the ledger naming a DGD no sweep saw); this module tells the thread, remembers
which deletions were told (so the watch and the sweep never both do), retries the ones
Slack refused, and keeps the ledger (``bot.notifier.ledger``) so a deletion while no replica
runs is still told by the next leader. Not thread-safe: the notifier works in one thread at a time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, MutableMapping
from datetime import datetime
from typing import Any

from bot.blocks.notifications import build_deleted_reply
from bot.blocks.status_card import build_deleted_card
from bot.cluster import AlreadyExists, Cluster, ClusterError, Conflict, NotFound
from bot.domain.deployments import deployment_from
from bot.domain.dgd import Dgd
from bot.domain.manifest import ANNOTATION_DELETED_BY
from bot.domain.redeploy import redeployed_by
from bot.notifier.ledger import CardLedger
from bot.notifier.memory import Known, RecentSet, card_of, stub_from_card
from bot.notifier.reading import Key, key_of
from bot.notifier.sender import Sender, SendError

__all__ = ["Deletions"]

log = logging.getLogger(__name__)


class Deletions:
    """Announces deletions; returns how many replies Slack took so the caller can count."""

    def __init__(
        self,
        cluster: Cluster,
        sender: Sender,
        placed: MutableMapping[str, tuple[str, str]],
        ledger: CardLedger | None = None,
    ) -> None:
        self._cluster = cluster
        self._sender = sender
        # uid -> a late card's place not yet recorded on its DGD; shared with the notifier,
        # which fills it; a told deletion has no more use for it.
        self._placed = placed
        self._told = RecentSet()
        self._untold: dict[str, Mapping[str, Any]] = {}  # uid -> stub, Slack refused the reply
        self._ledger = ledger
        self._ledger_read = False  # read once per leadership, after a full sweep

    def told(self, uid: str) -> bool:
        return uid in self._told

    def confirm_gone(self, key: Key, uid: str) -> bool:
        """Whether the DGD is really gone (not just relabelled): one get, only on a vanish."""
        try:
            current = self._cluster.get_dgd(*key)
        except NotFound:
            return True
        return Dgd(current).uid != uid

    def announce(self, stub: Mapping[str, Any], now: datetime, errors: list[str]) -> int:
        """The last reply (and the Deleted card) for a gone DGD, unless told already."""
        view = Dgd(stub)
        uid = view.uid
        if uid in self._told:
            return 0
        # Stubs come only from verified DGDs (the notifier) or the bot's own ledger.
        deployment = deployment_from(stub, verified=True, now=now)
        place = self._placed.get(uid)
        if deployment.channel and deployment.thread_ts:
            place = (deployment.channel, deployment.thread_ts)
        if place is None:
            self._told.add(uid)
            log.info("%s was deleted; it had no card to tell", deployment.key)
            return 0
        by_user = view.annotation(ANNOTATION_DELETED_BY)
        if redeployed_by(by_user):  # replaced under the same name: the thread carries on
            self._told.add(uid)
            self._placed.pop(uid, None)
            return 0
        try:
            self._sender.reply(*place, build_deleted_reply(deployment.name, by_user=by_user))
        except SendError as failure:
            self._untold[uid] = stub
            errors.append(f"{deployment.key}: deletion not announced, Slack said {failure.kind}")
            log.warning("Failed to announce the deletion of %s: %s", deployment.key, failure.kind)
            return 0
        self._told.add(uid)
        self._untold.pop(uid, None)
        self._placed.pop(uid, None)
        try:
            self._sender.update(*place, build_deleted_card(deployment))
        except SendError as failure:
            log.warning("Failed to show %s as deleted: %s", deployment.key, failure.kind)
        return 1

    def retry(self, now: datetime, errors: list[str]) -> int:
        """Try again the deletions Slack refused before."""
        return sum(self.announce(stub, now, errors) for stub in list(self._untold.values()))

    # --- the ledger ------------------------------------------------------------------------

    def leadership_lost(self) -> None:
        self._ledger_read = False  # whoever leads next reads it again

    def keep_ledger(
        self, known: Iterable[Known], now: datetime, errors: list[str], *, full_sweep: bool
    ) -> int:
        """Announce what the ledger names and nobody listed, then save the open cards.

        ``known`` must be every managed DGD when the ledger is first read, so that happens
        only after a full sweep; later a watch's deletion saves it at once (a restart before
        the next sweep would otherwise tell it again).
        """
        if self._ledger is None or not (full_sweep or self._ledger_read):
            return 0
        known = list(known)
        told = 0
        try:
            if not self._ledger_read:
                told = self._announce_unseen(self._ledger.load(), known, now, errors)
                self._ledger_read = True
            self._ledger.save(self._open_cards(known))
        except (Conflict, AlreadyExists):
            self._ledger_read = False  # another replica wrote it: read it again next sweep
            log.info("The card ledger changed under us; reading it again next sweep")
        except ClusterError as error:
            errors.append(f"card ledger: {error.message}")
            log.warning("Failed to keep the card ledger: %s", error.message)
        return told

    def _announce_unseen(
        self, stored: Mapping[str, str], known: list[Known], now: datetime, errors: list[str]
    ) -> int:
        seen = {entry.uid for entry in known}
        told = 0
        for uid, card in stored.items():
            if uid in seen or uid in self._told or uid in self._untold:
                continue
            stub = stub_from_card(uid, card)
            if self.confirm_gone(key_of(stub), uid):
                told += self.announce(stub, now, errors)
        return told

    def _open_cards(self, known: list[Known]) -> dict[str, str]:
        """uid -> card string of every DGD whose deletion is still to be announced."""
        cards = {entry.uid: entry.card for entry in known}
        cards.update((uid, card_of(stub)) for uid, stub in self._untold.items())
        return cards
