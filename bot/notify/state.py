"""What was announced for a deployment, kept ON the DGD as one bounded JSON annotation. Pure.

The cluster is the only database (DESIGN.md, "State"): the last phase replied in the card's
thread, when, whether the "stuck Pending" warning went out for that Pending, and what the card
last showed. A restart or a second replica reads it back, so nothing is announced twice and
nothing that changed while the bot was down is lost. A hand-edited or corrupt value decodes to
"nothing announced yet" rather than failing the sweep.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Final

from bot.dynamo import PREFIX
from bot.status.raw import parse_time

__all__ = ["ANNOTATION_NOTIFIED", "MAX_BYTES", "NOTHING", "Announced", "decode", "encode"]

ANNOTATION_NOTIFIED: Final = f"{PREFIX}/notified"
MAX_BYTES: Final = 256  # the encoded value never grows past this
_VERSION: Final = 1
_PHASES: Final = frozenset({"Pending", "Deploying", "Running", "Failed", "Terminating"})
_MAX_CARD: Final = 64


@dataclass(frozen=True)
class Announced:
    """The last announcement: ``phase`` replied at ``at``; ``card`` is what the card shows."""

    phase: str | None = None
    at: datetime | None = None
    stuck: bool = False  # the stuck-Pending reply went out for this Pending
    card: str | None = None

    def with_card(self, card: str) -> Announced:
        return replace(self, card=card[:_MAX_CARD])


NOTHING: Final = Announced()


def encode(announced: Announced) -> str:
    """Compact JSON, keys sorted, at most :data:`MAX_BYTES` bytes."""
    value: dict[str, Any] = {"v": _VERSION}
    if announced.phase in _PHASES:
        value["phase"] = announced.phase
    if announced.at is not None:
        value["at"] = _format_time(announced.at)
    if announced.stuck:
        value["stuck"] = True
    if announced.card:
        value["card"] = announced.card[:_MAX_CARD]
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=True)


def decode(raw: str | None) -> Announced:
    """The record in an annotation value; :data:`NOTHING` for absent or unreadable values."""
    if not raw or len(raw) > 4 * MAX_BYTES:
        return NOTHING
    try:
        value = json.loads(raw)
    except ValueError:
        return NOTHING
    if not isinstance(value, dict):
        return NOTHING
    phase = value.get("phase")
    card = value.get("card")
    return Announced(
        phase=phase if phase in _PHASES else None,
        at=parse_time(value.get("at")),
        stuck=value.get("stuck") is True,
        card=card[:_MAX_CARD] if isinstance(card, str) and card else None,
    )


def _format_time(when: datetime) -> str:
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
