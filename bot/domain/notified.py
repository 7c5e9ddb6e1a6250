"""What a deployment's thread heard and what the notifier saw, as one bounded JSON annotation
on the DGD. Pure.

The cluster is the only database, so a restart or a second replica loses nothing: the last phase
replied in the card's thread, when, whether the "stuck Pending" warning went out for that
Pending, what the card last showed and since when, which reply is the trouble reply (its ``ts``,
updated in place while the trouble lasts), whom the thread has mentioned, and when the
operator's ``failed`` state was first seen (its retry window counts from then). A restart or a
second replica reads it back, so nothing is announced twice, no window starts over, and nothing
that changed while the bot was down is lost. A hand-edited or corrupt value decodes to "nothing
announced yet" rather than failing the sweep.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Final

from bot.domain.dgd import ANNOTATION_NOTIFIED
from bot.domain.status.raw import parse_time

__all__ = [
    "ANNOTATION_NOTIFIED",
    "MAX_BYTES",
    "NOTHING",
    "Announced",
    "decode",
    "encode",
    "failing_since_of",
]

MAX_BYTES: Final = 256  # the encoded value never grows past this
_VERSION: Final = 1
_PHASES: Final = frozenset({"Pending", "Deploying", "Running", "Failed", "Terminating"})
_MAX_CARD: Final = 32  # "Terminating 100/100" and the like
_MAX_TS: Final = 24
_SLACK_TS: Final = re.compile(r"\d{1,12}\.\d{1,9}")  # a message ts: "1700000000.000100"
_MAX_MARK: Final = 8
_MENTIONS: Final = frozenset("rft")


@dataclass(frozen=True)
class Announced:
    """The last announcement: ``phase`` replied at ``at``; ``card`` is what the card shows.

    ``since``: when the card's phase was first seen (a Pending spell, a healthy spell).
    ``failing_since``: when the operator's ``state: failed`` was first seen, while it lasts.
    ``trouble``: the ``ts`` of the reply telling the current trouble; ``trouble_mark`` a short
    digest of what it shows (:func:`bot.notifier.changes.trouble_mark`).
    ``mentions``: ``r`` the first Running reply went out (it mentioned the owner), ``f`` the
    first trouble reply did, ``t`` the current trouble reply is that one (an update keeps it).
    """

    phase: str | None = None
    at: datetime | None = None
    stuck: bool = False  # the stuck-Pending reply went out for this Pending
    card: str | None = None
    since: datetime | None = None
    failing_since: datetime | None = None
    trouble: str | None = None
    trouble_mark: str | None = None
    mentions: str = ""

    def with_card(self, card: str) -> Announced:
        return replace(self, card=card[:_MAX_CARD])

    @property
    def card_phase(self) -> str | None:
        """The phase the card shows (the first word of ``card``)."""
        return self.card.split(" ", 1)[0] if self.card else None


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
    if announced.since is not None:
        value["since"] = _format_time(announced.since)
    if announced.failing_since is not None:
        value["fs"] = _format_time(announced.failing_since)
    if announced.trouble:
        value["tr"] = announced.trouble[:_MAX_TS]
    if announced.trouble_mark:
        value["tm"] = announced.trouble_mark[:_MAX_MARK]
    mentions = "".join(sorted(set(announced.mentions) & _MENTIONS))
    if mentions:
        value["m"] = mentions
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=True)


def decode(raw: str | None) -> Announced:
    """The record in an annotation value; :data:`NOTHING` for absent or unreadable values."""
    value = _object(raw)
    if value is None:
        return NOTHING
    phase = value.get("phase")
    card = _text(value.get("card"), _MAX_CARD)
    at = parse_time(value.get("at"))
    since = parse_time(value.get("since"))
    if since is None and card and phase == card.split(" ", 1)[0]:
        since = at  # written before "since" was kept: the card showed the phase replied
    mentions = value.get("m")
    return Announced(
        phase=phase if phase in _PHASES else None,
        at=at,
        stuck=value.get("stuck") is True,
        card=card,
        since=since,
        failing_since=parse_time(value.get("fs")),
        trouble=_slack_ts(value.get("tr")),
        trouble_mark=_text(value.get("tm"), _MAX_MARK),
        mentions="".join(sorted(set(mentions) & _MENTIONS)) if isinstance(mentions, str) else "",
    )


def failing_since_of(annotations: Mapping[str, str]) -> datetime | None:
    """When the notifier first saw the operator's ``failed`` state, from a DGD's annotations."""
    value = _object(annotations.get(ANNOTATION_NOTIFIED))
    return parse_time(value.get("fs")) if value is not None else None


def _object(raw: str | None) -> dict[str, Any] | None:
    if not raw or len(raw) > 4 * MAX_BYTES:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _slack_ts(value: Any) -> str | None:
    """A message ts ("1700000000.000100"), or None for anything else."""
    return value if isinstance(value, str) and _SLACK_TS.fullmatch(value) else None


def _text(value: Any, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def _format_time(when: datetime) -> str:
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
