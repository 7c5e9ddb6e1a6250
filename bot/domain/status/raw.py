"""Reading raw JSON as the API returns it: never trust a field's type."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.ops.redaction import redact

__all__ = [
    "Meta",
    "as_dict",
    "as_list",
    "as_text",
    "meta_of",
    "one_line",
    "parse_time",
    "strings_of",
]

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


def as_text(value: object) -> str | None:
    """A JSON string, or None for anything else (a number where text belongs is not text)."""
    return value if isinstance(value, str) else None


def strings_of(value: object) -> dict[str, str]:
    """A ``map[string]string`` (labels, annotations): entries that are not text are left out."""
    return {k: v for k, v in as_dict(value).items() if isinstance(k, str) and isinstance(v, str)}


@dataclass(frozen=True, slots=True)
class Meta:
    """An object's ``metadata`` (any kind: DGD, Pod, ConfigMap), each field read on access.

    A field of the wrong type reads as absent: "" for the identifying strings, None or {} for
    the rest. Reading on access keeps the view free to make for every object of a big list.
    """

    raw: Mapping[str, Any]

    def _text(self, key: str) -> str:
        return as_text(self.raw.get(key)) or ""

    @property
    def name(self) -> str:
        return self._text("name")

    @property
    def namespace(self) -> str:
        return self._text("namespace")

    @property
    def uid(self) -> str:
        return self._text("uid")

    @property
    def resource_version(self) -> str:
        return self._text("resourceVersion")

    @property
    def creation_timestamp(self) -> str:
        return self._text("creationTimestamp")

    @property
    def deletion_timestamp(self) -> str:
        return self._text("deletionTimestamp")

    @property
    def labels(self) -> dict[str, str]:
        return strings_of(self.raw.get("labels"))

    @property
    def annotations(self) -> dict[str, str]:
        return strings_of(self.raw.get("annotations"))

    def label(self, key: str) -> str | None:
        return as_text(as_dict(self.raw.get("labels")).get(key))

    def annotation(self, key: str) -> str | None:
        return as_text(as_dict(self.raw.get("annotations")).get(key))


def meta_of(obj: object) -> Meta:
    """The metadata of a raw API object (anything that is not one has empty metadata)."""
    return Meta(as_dict(as_dict(obj).get("metadata")))
