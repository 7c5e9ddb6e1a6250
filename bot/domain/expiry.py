"""When a deployment expires, and what its thread should hear about it. Pure.

A DGD's end of life is the ``dynamote.dev/expires-at`` annotation: an RFC 3339 time in UTC,
written by the deploy form ("Keep for"), moved by "Keep N more days" or the card, or edited
with kubectl (honoured as it is). It is not part of the signed claim (``bot.domain.provenance``):
whoever may edit the DGD may delete it anyway, so moving its end earlier or later gives them
nothing they did not have. A value that is not RFC 3339 with an offset means "no expiry"
(nothing is deleted on a value nobody can read).

``dynamote.dev/expiry-reminded`` records the ``expires-at`` value the reminder went out for,
written only after Slack took it: a moved time gets its own reminder, a restart or another
replica none twice.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

from bot.domain.dgd import ANNOTATION_DELETED_BY, ANNOTATION_EXPIRES_AT, ANNOTATION_EXPIRY_REMINDED

__all__ = [
    "ANNOTATION_EXPIRES_AT",
    "ANNOTATION_EXPIRY_REMINDED",
    "DELETED_BY_EXPIRY",
    "NEVER",
    "Due",
    "ExpiryPolicy",
    "due",
    "expires_at_of",
    "expiry_unchanged",
    "format_duration",
    "format_expires_at",
    "parse_duration",
    "parse_expires_at",
    "slack_date",
]

# The signed deleted-by of a DGD the notifier deleted at its expiry (Slack user IDs are
# upper case, so it is never one).
DELETED_BY_EXPIRY: Final = "expiry"
NEVER: Final = "never"  # the "until I delete it" choice

Due = Literal["remind", "expire"]

_DURATION = re.compile(r"^\s*(\d{1,5})\s*([mhdw])\s*$", re.IGNORECASE)
_UNITS: Final = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_NAMES: Final = (("week", 7 * 86400), ("day", 86400), ("hour", 3600), ("minute", 60))


def parse_duration(text: str) -> timedelta:
    """``"30m"``, ``"12h"``, ``"3d"``, ``"2w"``; ValueError saying what a duration looks like."""
    match = _DURATION.fullmatch(text)
    if match is None or int(match.group(1)) == 0:
        raise ValueError(
            f"{text!r} is not a duration: write a whole number above 0 and a unit, "
            "m (minutes), h (hours), d (days) or w (weeks), e.g. 12h or 3d"
        )
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2).lower()])


def format_duration(duration: timedelta) -> str:
    """``"3 days"``, ``"12 hours"``: the largest whole unit."""
    seconds = int(duration.total_seconds())
    for name, size in _NAMES:
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {name}{'' if count == 1 else 's'}"
    return f"{seconds} seconds"


def parse_expires_at(raw: str | None) -> datetime | None:
    """An RFC 3339 time with an offset (``2026-12-07T09:00:00Z``), in UTC; None otherwise."""
    if not raw or len(raw) > 64:
        return None
    try:
        parsed = datetime.fromisoformat(raw.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None  # RFC 3339 requires the offset; a guess could delete hours early
    return parsed.astimezone(UTC)


def format_expires_at(when: datetime) -> str:
    """RFC 3339 in UTC, to the second: what the annotation holds."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def expires_at_of(annotations: Mapping[str, str]) -> datetime | None:
    return parse_expires_at(annotations.get(ANNOTATION_EXPIRES_AT))


def expiry_unchanged(before: Mapping[str, str], after: Mapping[str, str]) -> bool:
    """Whether a DGD read again (``after``) expires as it did (``before``) and nothing marked
    it for deletion meanwhile: a change of its expiry decided on ``before`` still holds."""
    same_time = before.get(ANNOTATION_EXPIRES_AT) == after.get(ANNOTATION_EXPIRES_AT)
    return same_time and not after.get(ANNOTATION_DELETED_BY)


def slack_date(when: datetime) -> str:
    """The time in the reader's own time zone (Slack's date formatting), UTC as the fallback."""
    fallback = format_expires_at(when).replace("T", " ").replace("Z", " UTC")
    return f"<!date^{int(when.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def due(
    now: datetime,
    annotations: Mapping[str, str],
    *,
    reminder: timedelta,
    reminded: str | None = None,
) -> Due | None:
    """What expiry asks of the notifier now for a DGD with these annotations.

    ``expire`` once the time has come (reminded or not: the owner chose the time);
    ``remind`` from ``reminder`` before it, once per ``expires-at`` value. ``reminded``: a
    value this process sent a reminder for and has not seen recorded yet.
    """
    raw = annotations.get(ANNOTATION_EXPIRES_AT)
    expires = parse_expires_at(raw)
    if expires is None:
        return None
    if now >= expires:
        return "expire"
    told = annotations.get(ANNOTATION_EXPIRY_REMINDED)
    if raw in (told, reminded):
        return None
    return "remind" if now >= expires - reminder else None


@dataclass(frozen=True)
class ExpiryPolicy:
    """The "Keep for" choices, the default, the maximum and the reminder's lead time.

    ``maximum`` None: no maximum, and "until I delete it" may be chosen if it is a choice.
    """

    choices: tuple[str, ...]
    default: str
    maximum: timedelta | None
    reminder: timedelta

    @classmethod
    def from_texts(
        cls, choices: Sequence[str], default: str, maximum: str | None, reminder: str
    ) -> ExpiryPolicy:
        """From the settings' texts; ValueError naming what is wrong."""
        cleaned = tuple(dict.fromkeys(c.strip().lower() for c in choices if c.strip()))
        if not cleaned:
            raise ValueError("no choices: list durations like 1d,3d,7d (and never)")
        for choice in cleaned:
            if choice != NEVER:
                parse_duration(choice)
        default = default.strip().lower()
        if default not in cleaned:
            raise ValueError(f"the default {default!r} is not one of the choices")
        limit = None if maximum is None or maximum.strip().lower() == "none" else maximum
        policy = cls(
            cleaned, default, parse_duration(limit) if limit else None, parse_duration(reminder)
        )
        if default not in policy.offered:
            raise ValueError(f"the default {default!r} is above the maximum")
        return policy

    @property
    def offered(self) -> tuple[str, ...]:
        """The choices the form offers: within the maximum; "never" only without one."""
        return tuple(choice for choice in self.choices if self._allowed(choice))

    def _allowed(self, choice: str) -> bool:
        if choice == NEVER:
            return self.maximum is None
        return self.maximum is None or parse_duration(choice) <= self.maximum

    def expires_at(self, choice: str, now: datetime) -> datetime | None:
        """When a deployment kept for ``choice`` from ``now`` expires (None: never)."""
        if choice not in self.offered:
            raise ValueError(f"{choice!r} is not one of {', '.join(self.offered)}")
        return None if choice == NEVER else now + parse_duration(choice)

    @property
    def keep(self) -> timedelta:
        """What one "Keep" adds: the default choice (a day when that is "never")."""
        return timedelta(days=1) if self.default == NEVER else parse_duration(self.default)

    def latest(self, now: datetime) -> datetime | None:
        """The latest expiry anyone may set now (None: no maximum)."""
        return None if self.maximum is None else now + self.maximum

    def kept(self, current: datetime | None, now: datetime) -> datetime | None:
        """The expiry after one "Keep": :attr:`keep` past the later of now and ``current``,
        within the maximum; None when that would not move it later."""
        start = max(current or now, now)
        wanted = start + self.keep
        latest = self.latest(now)
        if latest is not None:
            wanted = min(wanted, latest)
        return wanted if current is None or wanted > current else None

    def label(self, choice: str) -> str:
        return "Until I delete it" if choice == NEVER else format_duration(parse_duration(choice))
