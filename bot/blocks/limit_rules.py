"""Slack's Block Kit limits as data: one table row per block, element, composition object or view.

Why a table: Slack documents its limits object by object (docs.slack.dev/reference/block-kit),
and slack_sdk checks only some of them. As rows, each limit is easy to find, to compare with the
docs and to test; `limits.py` walks a payload and applies the rows. Unknown block and element
types have no row and pass: Slack adds types faster than this table, and a false alarm would
fail a test for nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

__all__ = [
    "BLOCK_COMMON",
    "CONTEXT_ELEMENTS",
    "ELEMENT_COMMON",
    "INPUT_ELEMENTS",
    "SPECS",
    "TEXT_TYPES",
    "Chars",
    "Child",
    "Count",
    "Forbidden",
    "OneOf",
    "Range",
    "Rule",
    "Text",
]

TEXT_TYPES = ("plain_text", "mrkdwn")


@dataclass(frozen=True)
class Text:
    """A text object (or a list of them) under `key`: its type, and 1..max_chars of text."""

    key: str
    max_chars: int | None
    plain_only: bool = False
    required: bool = False


@dataclass(frozen=True)
class Chars:
    """A plain string under `key`, at most `max_chars` long."""

    key: str
    max_chars: int | None
    required: bool = False


@dataclass(frozen=True)
class Count:
    """A list under `key` with min_items..max_items entries."""

    key: str
    max_items: int
    min_items: int = 0


@dataclass(frozen=True)
class Range:
    """An integer under `key` within low..high (high None = unbounded)."""

    key: str
    low: int
    high: int | None


@dataclass(frozen=True)
class OneOf:
    """A string under `key` that must be one of `allowed`."""

    key: str
    allowed: tuple[str, ...]


@dataclass(frozen=True)
class Forbidden:
    """A key that must be absent, and why."""

    key: str
    reason: str


@dataclass(frozen=True)
class Child:
    """Nested object(s) under `key`, checked against the spec named `kind`.

    kind "typed" picks the spec from each child's own `type`; `allowed` then limits those types.
    """

    key: str
    kind: str
    allowed: frozenset[str] = frozenset()
    required: bool = False


Rule: TypeAlias = Text | Chars | Count | Range | OneOf | Forbidden | Child

BLOCK_COMMON: tuple[Rule, ...] = (Chars("block_id", 255),)
ELEMENT_COMMON: tuple[Rule, ...] = (Chars("action_id", 255),)

_CONFIRM = Child("confirm", "confirm")
_PLACEHOLDER = Text("placeholder", 150, plain_only=True)
_SELECT: tuple[Rule, ...] = (_PLACEHOLDER, _CONFIRM)
_STATIC_SELECT: tuple[Rule, ...] = (
    *_SELECT,
    Count("options", 100),
    Count("option_groups", 100),
    Child("options", "select_option"),
    Child("option_groups", "option_group"),
    Child("initial_option", "select_option"),
    Child("initial_options", "select_option"),
)
_MULTI: tuple[Rule, ...] = (Range("max_selected_items", 1, None),)
_OTHER_SELECTS = ("external_select", "users_select", "conversations_select", "channels_select")
_PICKERS = ("datepicker", "timepicker", "datetimepicker")
_TEXT_INPUTS = ("email_text_input", "url_text_input", "number_input")

INPUT_ELEMENTS = frozenset(
    {
        "plain_text_input",
        "rich_text_input",
        "checkboxes",
        "radio_buttons",
        "static_select",
        "multi_static_select",
        "file_input",
        *_OTHER_SELECTS,
        *(f"multi_{name}" for name in _OTHER_SELECTS),
        *_PICKERS,
        *_TEXT_INPUTS,
    }
)
CONTEXT_ELEMENTS = frozenset({"image", "plain_text", "mrkdwn"})

_BLOCKS: dict[str, tuple[Rule, ...]] = {
    "section": (
        Text("text", 3000),
        Text("fields", 2000),
        Count("fields", 10),
        Child("accessory", "typed"),
    ),
    "header": (Text("text", 150, plain_only=True, required=True),),
    "context": (Count("elements", 10, min_items=1), Child("elements", "typed", CONTEXT_ELEMENTS)),
    "actions": (Count("elements", 25, min_items=1), Child("elements", "typed")),
    "input": (
        Text("label", 2000, plain_only=True, required=True),
        Text("hint", 2000, plain_only=True),
        Child("element", "typed", INPUT_ELEMENTS, required=True),
    ),
    "image": (  # the image block and the image element share these
        Chars("alt_text", 2000, required=True),
        Chars("image_url", 3000),
        Text("title", 2000, plain_only=True),
    ),
    "markdown": (Chars("text", 12_000, required=True),),
}

_ELEMENTS: dict[str, tuple[Rule, ...]] = {
    "button": (
        Text("text", 75, plain_only=True, required=True),
        Chars("value", 2000),
        Chars("url", 3000),
        OneOf("style", ("primary", "danger")),
        _CONFIRM,
    ),
    "static_select": _STATIC_SELECT,
    "multi_static_select": (*_STATIC_SELECT, *_MULTI),
    **{name: _SELECT for name in _OTHER_SELECTS},
    **{f"multi_{name}": (*_SELECT, *_MULTI) for name in _OTHER_SELECTS},
    "overflow": (
        Count("options", 5, min_items=1),
        Child("options", "overflow_option"),
        _CONFIRM,
    ),
    "radio_buttons": (
        Count("options", 10, min_items=1),
        Child("options", "option"),
        Child("initial_option", "option"),
        _CONFIRM,
    ),
    "checkboxes": (
        Count("options", 10, min_items=1),
        Child("options", "option"),
        Child("initial_options", "option"),
        _CONFIRM,
    ),
    "plain_text_input": (
        _PLACEHOLDER,
        Range("min_length", 0, 3000),
        Range("max_length", 1, 3000),
        Chars("initial_value", 3000),
    ),
    **{name: (_PLACEHOLDER, _CONFIRM) for name in _PICKERS},
    **{name: (_PLACEHOLDER,) for name in _TEXT_INPUTS},
    # Text objects standing alone (context elements): only their shape is checked.
    "plain_text": (Chars("text", None, required=True),),
    "mrkdwn": (Chars("text", None, required=True),),
}

_OPTION_VALUE = Chars("value", 150)
_COMPOSITION: dict[str, tuple[Rule, ...]] = {
    # Radio buttons and checkboxes render mrkdwn in options; menus take plain_text only.
    "option": (Text("text", 75, required=True), Text("description", 75), _OPTION_VALUE),
    "select_option": (
        Text("text", 75, plain_only=True, required=True),
        Text("description", 75, plain_only=True),
        _OPTION_VALUE,
    ),
    "overflow_option": (
        Text("text", 75, plain_only=True, required=True),
        Text("description", 75, plain_only=True),
        _OPTION_VALUE,
        Chars("url", 3000),
    ),
    "option_group": (
        Text("label", 75, plain_only=True, required=True),
        Count("options", 100, min_items=1),
        Child("options", "select_option"),
    ),
    "confirm": (
        Text("title", 100, plain_only=True, required=True),
        Text("text", 300, required=True),
        Text("confirm", 30, plain_only=True, required=True),
        Text("deny", 30, plain_only=True, required=True),
        OneOf("style", ("primary", "danger")),
    ),
}

_VIEW_COMMON: tuple[Rule, ...] = (
    Count("blocks", 100),
    Chars("private_metadata", 3000),
    Chars("callback_id", 255),
    Chars("external_id", 255),
)
_VIEWS: dict[str, tuple[Rule, ...]] = {
    "modal": (
        Text("title", 24, plain_only=True, required=True),
        Text("submit", 24, plain_only=True),
        Text("close", 24, plain_only=True),
        *_VIEW_COMMON,
    ),
    "home": (
        Forbidden("submit", "a Home tab has no submit button"),
        Forbidden("close", "a Home tab has no close button"),
        *_VIEW_COMMON,
    ),
    "message": (Count("blocks", 50), Chars("text", 40_000)),
}

SPECS: dict[str, tuple[Rule, ...]] = {**_BLOCKS, **_ELEMENTS, **_COMPOSITION, **_VIEWS}
