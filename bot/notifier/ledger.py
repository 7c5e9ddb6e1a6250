"""The card ledger: where each open status card is, in a ConfigMap beside the leader Lease.

A DGD carries its card's place in annotations, and a deletion the bot sees (watch or sweep)
is announced from its memory of the DGD. But a DGD deleted while no replica runs takes that
record with it, and a restarted bot would never know there was a card to close. So the
leader keeps one ConfigMap (``<lease name>-cards`` in the bot's namespace) mapping each known
DGD's uid to its card string (``bot.notifier.memory.card_of``), written only when that set
changes; on taking over, a leader reads it and announces every DGD listed there that is gone.

The map is gzip'ed JSON in ``binaryData`` (about 40 bytes a DGD): a ConfigMap holds at most
1 MiB, so some 20,000 DGDs fit. Past :data:`MAX_BYTES` the ledger is not written (logged),
and only deletions while no replica runs go unannounced.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import logging
from collections.abc import Mapping
from typing import Any

from bot.cluster import AlreadyExists, Cluster, NotFound
from bot.domain.dgd import LABEL_MANAGED_BY, MANAGED_BY_VALUE
from bot.domain.status.raw import meta_of

__all__ = ["LEDGER_KEY", "MAX_BYTES", "CardLedger", "decode_cards", "encode_cards"]

log = logging.getLogger(__name__)

LEDGER_KEY = "cards.json.gz"
MAX_BYTES = 900 * 1024  # below the 1 MiB ConfigMap limit, with room for metadata
MANAGED_BY = {LABEL_MANAGED_BY: MANAGED_BY_VALUE}


def encode_cards(cards: Mapping[str, str]) -> str:
    """The base64 ``binaryData`` value holding ``cards`` (uid -> card string)."""
    text = json.dumps(dict(cards), sort_keys=True, separators=(",", ":"))
    return base64.b64encode(gzip.compress(text.encode(), mtime=0)).decode()


def decode_cards(value: str) -> dict[str, str]:
    """``cards`` back from :func:`encode_cards`; {} (logged) when the value is damaged."""
    try:
        parsed = json.loads(gzip.decompress(base64.b64decode(value, validate=True)))
    except (ValueError, OSError, EOFError, binascii.Error):
        log.warning("The card ledger could not be read; starting a new one")
        return {}
    if not isinstance(parsed, dict):
        return {}
    return {str(uid): card for uid, card in parsed.items() if isinstance(card, str)}


class CardLedger:
    """Reads and writes the ledger ConfigMap; remembers its resourceVersion and last content.

    Writes carry the resourceVersion read, so two replicas that both think they lead cannot
    silently overwrite each other: the loser gets Conflict and reads again.
    """

    def __init__(self, cluster: Cluster, *, namespace: str, name: str) -> None:
        self._cluster = cluster
        self.namespace = namespace
        self.name = name
        self._version: str | None = None  # None: no ConfigMap yet (or not read)
        self._saved: dict[str, str] | None = None
        self._too_big_logged = False

    def load(self) -> dict[str, str]:
        """The cards stored; {} when there is no ledger yet. Raises ClusterError."""
        try:
            config_map = self._cluster.get_config_map(self.namespace, self.name)
        except NotFound:
            self._version, self._saved = None, {}
            return {}
        self._version = meta_of(config_map).resource_version
        value = (config_map.get("binaryData") or {}).get(LEDGER_KEY)
        cards = decode_cards(value) if isinstance(value, str) else {}
        self._saved = dict(cards)
        return cards

    def save(self, cards: Mapping[str, str]) -> bool:
        """Write ``cards`` unless they are what was last read or written; True if written.

        Raises Conflict or AlreadyExists when another replica wrote meanwhile (call
        :meth:`load` again), ClusterError for the rest.
        """
        if self._saved is not None and self._saved == cards:
            return False
        encoded = encode_cards(cards)
        if len(encoded) > MAX_BYTES:
            if not self._too_big_logged:
                log.error(
                    "The card ledger for %d deployments is %d bytes, over %d: not written, so "
                    "deletions while no replica runs will not be announced",
                    len(cards),
                    len(encoded),
                    MAX_BYTES,
                )
                self._too_big_logged = True
            return False
        body = self._body(encoded)
        if self._version is None:
            try:
                written = self._cluster.create_config_map(self.namespace, body)
            except AlreadyExists:
                self._saved = None
                raise
        else:
            written = self._cluster.replace_config_map(self.namespace, self.name, body)
        self._version = meta_of(written).resource_version
        self._saved = dict(cards)
        return True

    def _body(self, encoded: str) -> dict[str, Any]:
        metadata: dict[str, Any] = {
            "name": self.name,
            "namespace": self.namespace,
            "labels": dict(MANAGED_BY),
        }
        if self._version:
            metadata["resourceVersion"] = self._version
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": metadata,
            "binaryData": {LEDGER_KEY: encoded},
        }
