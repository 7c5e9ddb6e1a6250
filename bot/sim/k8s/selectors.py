"""Kubernetes label and field selectors, parsed once and matched against JSON objects.

The stand-in's list and watch calls filter with the same selector strings the real API server
accepts (`app=x,tier!=db,env in (a,b),!legacy`), so the bot's queries behave the same against
the stand-in as against a cluster. Parsing is separate from matching so a list over 30,000
pods parses its selector once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FieldSelector",
    "LabelRequirement",
    "LabelSelector",
    "SelectorError",
    "parse_field_selector",
    "parse_label_selector",
]


class SelectorError(ValueError):
    """The selector string is malformed; the API server answers 400 BadRequest."""


@dataclass(frozen=True)
class LabelRequirement:
    """One comma-separated term: `key op values`."""

    key: str
    operator: str  # "=", "!=", "in", "notin", "exists", "!"
    values: frozenset[str] = frozenset()

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.operator in ("=", "in"):
            return present and value in self.values
        if self.operator in ("!=", "notin"):
            return not present or value not in self.values
        if self.operator == "exists":
            return present
        return not present  # "!"

    @property
    def equality_value(self) -> str | None:
        """The single required value when this term pins the key to one value (index use)."""
        if self.operator in ("=", "in") and len(self.values) == 1:
            return next(iter(self.values))
        return None


@dataclass(frozen=True)
class LabelSelector:
    """All requirements must hold (comma means AND)."""

    requirements: tuple[LabelRequirement, ...]

    def matches(self, obj: dict[str, Any]) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(req.matches(labels) for req in self.requirements)


_SET_TERM = re.compile(r"^\s*([^\s!=()]+)\s+(in|notin)\s*\(([^)]*)\)\s*$")
_EQ_TERM = re.compile(r"^\s*([^\s!=()]+)\s*(==|!=|=)\s*([^\s!=(),]*)\s*$")
_EXISTS_TERM = re.compile(r"^\s*(!?)\s*([^\s!=(),]+)\s*$")


def _split_terms(text: str) -> list[str]:
    """Split on commas that are not inside `in (...)` parentheses."""
    terms: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            terms.append("".join(current))
            current = []
        else:
            current.append(char)
    terms.append("".join(current))
    return [term for term in terms if term.strip()]


def _parse_label_term(term: str) -> LabelRequirement:
    if match := _SET_TERM.match(term):
        key, op, raw = match.groups()
        values = frozenset(v.strip() for v in raw.split(",") if v.strip())
        return LabelRequirement(key, op, values)
    if match := _EQ_TERM.match(term):
        key, op, value = match.groups()
        return LabelRequirement(key, "!=" if op == "!=" else "=", frozenset({value}))
    if match := _EXISTS_TERM.match(term):
        bang, key = match.groups()
        return LabelRequirement(key, "!" if bang else "exists")
    raise SelectorError(f"unable to parse requirement: {term.strip()!r}")


def parse_label_selector(text: str | None) -> LabelSelector:
    """Parse a label selector; an empty or missing one matches everything."""
    if not text:
        return LabelSelector(())
    return LabelSelector(tuple(_parse_label_term(term) for term in _split_terms(text)))


@dataclass(frozen=True)
class FieldTerm:
    """`path=value` or `path!=value`, where path is dotted (`involvedObject.name`)."""

    path: tuple[str, ...]
    value: str
    negate: bool

    def matches(self, obj: dict[str, Any]) -> bool:
        current: Any = obj
        for part in self.path:
            current = current.get(part) if isinstance(current, dict) else None
        actual = "" if current is None else str(current)
        return (actual != self.value) if self.negate else (actual == self.value)


@dataclass(frozen=True)
class FieldSelector:
    """All terms must hold."""

    terms: tuple[FieldTerm, ...]

    def matches(self, obj: dict[str, Any]) -> bool:
        return all(term.matches(obj) for term in self.terms)

    def pinned(self, path: str) -> str | None:
        """The value `path` must equal, when a term pins it (used to narrow a list)."""
        wanted = tuple(path.split("."))
        return next((t.value for t in self.terms if t.path == wanted and not t.negate), None)


_FIELD_TERM = re.compile(r"^\s*([A-Za-z0-9_.]+)\s*(==|!=|=)\s*(.*?)\s*$")


def parse_field_selector(text: str | None) -> FieldSelector:
    """Parse a field selector (generic dotted paths; the real server allows a fixed set)."""
    if not text:
        return FieldSelector(())
    terms = []
    for raw in text.split(","):
        if not raw.strip():
            continue
        match = _FIELD_TERM.match(raw)
        if not match:
            raise SelectorError(f"invalid selector: {raw.strip()!r}; can't understand")
        path, op, value = match.groups()
        terms.append(FieldTerm(tuple(path.split(".")), value, op == "!="))
    return FieldSelector(tuple(terms))
