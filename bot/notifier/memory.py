"""What one notifier process remembers between sweeps; small, and safe to lose on restart.

The annotation on the DGD is the record of what was announced. Memory only covers the
moments when that record could not be written yet (a Conflict right after Slack accepted a
message), the DGDs seen last sweep (to notice one that vanished and announce its deletion),
deletions already announced (the watch and the sweep must not both announce one), and
backoff after Slack failures.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.domain.dgd import (
    ANNOTATION_CHANNEL,
    ANNOTATION_DELETED_BY,
    ANNOTATION_REQUEST,
    ANNOTATION_REQUESTER,
    ANNOTATION_THREAD,
    Dgd,
)
from bot.domain.notified import Announced
from bot.ops import backoff

__all__ = [
    "Backoff",
    "Known",
    "RecentSet",
    "card_of",
    "known_from",
    "pending_over",
    "stub_from_card",
    "stub_of",
]


@dataclass(frozen=True, slots=True)
class Known:
    """A DGD as last seen: enough to announce its deletion once it is gone.

    ``card`` is one compact string (see :func:`card_of`), not a dict of strings taken from
    the decoded list: at 10,000 DGDs those scattered small objects would keep most of every
    list's memory from being reused by the next one.
    """

    uid: str
    resource_version: str
    card: str

    @property
    def stub(self) -> dict[str, Any]:
        return stub_from_card(self.uid, self.card)


# The fields of a card string, in order.
_CARD_FIELDS = (
    "namespace",
    "name",
    "channel",
    "thread",
    "requester",
    "deleted_by",
    "model",
    "engine",
)


def card_of(dgd: Mapping[str, Any]) -> str:
    """What the deletion reply and the Deleted card need of a DGD, as one JSON array string."""
    view = Dgd(dgd)
    fields = (
        view.namespace,
        view.name,
        view.annotation(ANNOTATION_CHANNEL),
        view.annotation(ANNOTATION_THREAD),
        view.annotation(ANNOTATION_REQUESTER),
        view.annotation(ANNOTATION_DELETED_BY),
        view.model,
        view.engine,
    )
    return json.dumps([None if f is None else str(f) for f in fields], separators=(",", ":"))


def stub_from_card(uid: str, card: str) -> dict[str, Any]:
    """A metadata-only DGD that ``deployment_from`` reads as the deployment the card told of."""
    try:
        values = json.loads(card)
    except ValueError:
        values = []
    if not isinstance(values, list):
        values = []
    fields = dict(zip(_CARD_FIELDS, [*values, *[None] * len(_CARD_FIELDS)], strict=False))
    annotations = {
        key: str(fields[field])
        for key, field in (
            (ANNOTATION_CHANNEL, "channel"),
            (ANNOTATION_THREAD, "thread"),
            (ANNOTATION_REQUESTER, "requester"),
            (ANNOTATION_DELETED_BY, "deleted_by"),
        )
        if fields[field]
    }
    request = {k: str(fields[k]) for k in ("model", "engine") if fields[k]}
    if request:
        annotations[ANNOTATION_REQUEST] = json.dumps(request)
    return {
        "metadata": {
            "name": str(fields["name"] or ""),
            "namespace": str(fields["namespace"] or ""),
            "uid": uid,
            "annotations": annotations,
        }
    }


def stub_of(dgd: Mapping[str, Any]) -> dict[str, Any]:
    """A metadata-only copy of a DGD carrying just what the deletion reply needs."""
    return stub_from_card(Dgd(dgd).uid, card_of(dgd))


def known_from(dgd: Mapping[str, Any], previous: Known | None) -> Known:
    """The Known record of a DGD, reusing ``previous`` while its resourceVersion is the same."""
    view = Dgd(dgd)
    version = view.resource_version
    if previous is not None and previous.resource_version == version:
        return previous
    return Known(view.uid, version, card_of(dgd))


class RecentSet:
    """The last ``size`` keys added, oldest forgotten first."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._items: OrderedDict[str, None] = OrderedDict()

    def add(self, key: str) -> None:
        self._items[key] = None
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)

    def __contains__(self, key: object) -> bool:
        return key in self._items


class Backoff:
    """After repeated Slack failures for one deployment, wait longer before trying again."""

    def __init__(self, *, free_tries: int = 2, first: float = 15.0, cap: float = 600.0) -> None:
        self._free = free_tries
        self._first = first
        self._cap = cap
        self._failures: dict[str, tuple[int, float]] = {}

    def ready(self, key: str, now: float) -> bool:
        entry = self._failures.get(key)
        return entry is None or now >= entry[1]

    def failed(self, key: str, now: float) -> None:
        count = self._failures.get(key, (0, 0.0))[0] + 1
        wait = backoff.delay(count - self._free, first=self._first, cap=self._cap)
        self._failures[key] = (count, now + wait)

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)


def pending_over(annotation: Announced, remembered: Announced | None) -> Announced:
    """The record to act on: memory wins while the annotation has not caught up with it."""
    if remembered is None or remembered == annotation:
        return annotation
    return remembered
