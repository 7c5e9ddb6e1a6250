"""Reading raw JSON as the API returns it: never trust a field's type."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from bot.redaction import redact

__all__ = ["as_dict", "as_list", "one_line", "parse_time"]

_EMPTY: Mapping[str, Any] = {}  # shared, never mutated


def as_dict(value: object) -> Mapping[str, Any]:
    # Raw API JSON is made of dicts; the exact-type test is the fast path (an ABC check is not).
    if type(value) is dict:
        return value
    if value is None:
        return _EMPTY
    return value if isinstance(value, Mapping) else _EMPTY


def as_list(value: object) -> Sequence[Mapping[str, Any]]:
    """A JSON array of objects (the API server's schema guarantees the items' shape)."""
    return value if type(value) is list else ()


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def one_line(text: str, limit: int = 200) -> str:
    """Cluster text as one bounded line for Slack, tokens redacted (before it is cut)."""
    line = " ".join(redact(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
