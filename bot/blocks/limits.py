"""Check a message or a view against Slack's Block Kit limits before Slack does.

Slack answers an over-long or malformed payload with `invalid_blocks` / `invalid_arguments`, and
an `ack(response_action=...)` with a bad view fails silently in the client. slack_sdk's models
catch only part of this, so builders' tests and the Slack stand-in run every payload through
`check_message` / `check_view`. Each violation is one human-readable string that starts with a
JSON pointer into the payload, e.g. ``/blocks/2/fields/0/text: 2105 characters, more than
2000``. Pure: no I/O.

The per-object limits live as table rows in `limit_rules`; this module walks the payload,
applies the rows, and adds the rules that span several objects (uniqueness of ids, submit
with input blocks, total sizes, the top-level text fallback).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any, Final

from bot.blocks.limit_rules import (
    BLOCK_COMMON,
    ELEMENT_COMMON,
    SPECS,
    TEXT_TYPES,
    Chars,
    Child,
    Count,
    Forbidden,
    OneOf,
    Range,
    Rule,
    Text,
)

__all__ = [
    "MAX_MESSAGE_BLOCK_TEXT",
    "MAX_VIEW_BYTES",
    "MISSING_TEXT_FALLBACK",
    "check_message",
    "check_view",
]

MAX_VIEW_BYTES: Final = 250 * 1000  # views.* answer view_too_large past 250 KB
# Undocumented; bolt-js #2509 saw msg_blocks_too_long at ~13k characters of block text.
MAX_MESSAGE_BLOCK_TEXT: Final = 12_000
MISSING_TEXT_FALLBACK: Final = (
    "missing: blocks are sent without top-level text, which Slack needs for notifications "
    "and screen readers"
)
# Keys that hold a block's interactive elements, whose action_ids must differ.
_ELEMENT_KEYS: Final = ("accessory", "element", "elements")
# Blocks that need at least one of these keys.
_ONE_OF_REQUIRED: Final = {"section": ("text", "fields")}


def check_message(payload: Mapping[str, Any]) -> list[str]:
    """Violations in a chat.postMessage / chat.update / respond() payload (empty = fine)."""
    problems = list(_apply(payload, SPECS["message"], ""))
    blocks = payload.get("blocks")
    if not blocks:
        return problems
    problems.extend(_check_blocks(blocks))
    text = payload.get("text")
    if not isinstance(text, str) or not text.strip():
        problems.append(f"/text: {MISSING_TEXT_FALLBACK}")
    block_text = sum(len(text) for text in _all_text(blocks))
    if block_text > MAX_MESSAGE_BLOCK_TEXT:
        problems.append(
            f"/blocks: {block_text} characters of text in blocks, more than "
            f"{MAX_MESSAGE_BLOCK_TEXT} (Slack answers msg_blocks_too_long)"
        )
    return problems


def check_view(view: Mapping[str, Any]) -> list[str]:
    """Violations in a modal or Home tab view (empty = fine)."""
    kind = view.get("type")
    if kind not in ("modal", "home"):
        return [f"/type: must be modal or home, not {kind!r}"]
    problems = list(_apply(view, SPECS[kind], ""))
    blocks = view.get("blocks")
    if blocks is None:
        problems.append("/blocks: required")
    else:
        problems.extend(_check_blocks(blocks))
    if kind == "modal" and view.get("submit") is None and _has_input_block(blocks):
        problems.append("/submit: required when the view has input blocks")
    size = len(json.dumps(view, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_VIEW_BYTES:
        problems.append(f"/: {size} bytes, more than {MAX_VIEW_BYTES} (view_too_large)")
    return problems


def _check_blocks(blocks: Any) -> Iterator[str]:
    if not isinstance(blocks, list):
        return  # the Count("blocks") row has said so
    block_ids: Counter[str] = Counter()
    for index, block in enumerate(blocks):
        path = f"/blocks/{index}"
        if not isinstance(block, Mapping) or not isinstance(block.get("type"), str):
            yield f"{path}: must be an object with a type"
            continue
        yield from _check_block(block, path)
        block_id = block.get("block_id")
        if isinstance(block_id, str):
            block_ids[block_id] += 1
            if block_ids[block_id] == 2:
                yield f"{path}/block_id: {block_id!r} is used by more than one block"


def _check_block(block: Mapping[str, Any], path: str) -> Iterator[str]:
    kind = block["type"]
    yield from _apply(block, BLOCK_COMMON, path)
    yield from _walk(block, kind, path)
    needed = _ONE_OF_REQUIRED.get(kind)
    if needed and all(block.get(key) is None for key in needed):
        yield f"{path}: a {kind} block needs one of {', '.join(needed)}"
    action_ids = Counter(_action_ids(block))
    for action_id, uses in action_ids.items():
        if uses > 1:
            yield f"{path}: action_id {action_id!r} is used {uses} times in this block"


def _walk(obj: Mapping[str, Any], kind: str, path: str) -> Iterator[str]:
    """Apply the rows for `kind` to `obj`; unknown kinds pass (see limit_rules)."""
    yield from _apply(obj, SPECS.get(kind, ()), path)


def _apply(obj: Mapping[str, Any], rules: tuple[Rule, ...], path: str) -> Iterator[str]:
    for rule in rules:
        if isinstance(rule, Child):
            yield from _check_children(obj, rule, path)
        else:
            yield from _check_rule(rule, obj, path)


def _check_children(obj: Mapping[str, Any], rule: Child, path: str) -> Iterator[str]:
    value = obj.get(rule.key)
    where = f"{path}/{rule.key}"
    if value is None:
        if rule.required:
            yield f"{where}: required"
        return
    children = enumerate(value) if isinstance(value, list) else [(None, value)]
    for index, child in children:
        child_path = where if index is None else f"{where}/{index}"
        if not isinstance(child, Mapping):
            yield f"{child_path}: must be an object"
        elif rule.kind == "typed":
            yield from _check_typed_child(child, rule, child_path)
        else:
            yield from _walk(child, rule.kind, child_path)


def _check_typed_child(child: Mapping[str, Any], rule: Child, path: str) -> Iterator[str]:
    kind = child.get("type")
    if not isinstance(kind, str):
        yield f"{path}/type: required"
    elif rule.allowed and kind not in rule.allowed:
        yield f"{path}/type: {kind} is not allowed here"
    else:
        yield from _apply(child, ELEMENT_COMMON, path)
        yield from _walk(child, kind, path)


def _action_ids(block: Mapping[str, Any]) -> Iterator[str]:
    for key in _ELEMENT_KEYS:
        value = block.get(key)
        elements = value if isinstance(value, list) else [value]
        for element in elements:
            if isinstance(element, Mapping) and isinstance(element.get("action_id"), str):
                yield element["action_id"]


def _has_input_block(blocks: Any) -> bool:
    return isinstance(blocks, list) and any(
        isinstance(block, Mapping) and block.get("type") == "input" for block in blocks
    )


def _all_text(value: Any) -> Iterator[str]:
    """Every string under a "text" key, at any depth: what Slack counts as block text."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key == "text" and isinstance(item, str):
                yield item
            else:
                yield from _all_text(item)
    elif isinstance(value, list):
        for item in value:
            yield from _all_text(item)


# ----- one row applied to one object ----------------------------------------------------


def _check_rule(rule: Rule, obj: Mapping[str, Any], path: str) -> Iterator[str]:
    """Violations of one non-Child rule by `obj` at JSON pointer `path`."""
    value = obj.get(rule.key)
    where = f"{path}/{rule.key}"
    if isinstance(rule, Forbidden):
        if value is not None:
            yield f"{where}: not allowed here ({rule.reason})"
        return
    if value is None:
        if getattr(rule, "required", False):
            yield f"{where}: required"
        return
    if isinstance(rule, Text):
        yield from _check_texts(rule, value, where)
    elif isinstance(rule, Chars):
        yield from _check_chars(value, where, rule.max_chars)
    elif isinstance(rule, Count):
        yield from _check_count(rule, value, where)
    elif isinstance(rule, Range):
        yield from _check_range(rule, value, where)
    elif isinstance(rule, OneOf) and value not in rule.allowed:
        yield f"{where}: must be one of {', '.join(rule.allowed)}, not {value!r}"


def _check_texts(rule: Text, value: Any, where: str) -> Iterator[str]:
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield from _check_text_object(item, f"{where}/{index}", rule.max_chars, rule.plain_only)
    else:
        yield from _check_text_object(value, where, rule.max_chars, rule.plain_only)


def _check_text_object(
    value: Any, where: str, max_chars: int | None, plain_only: bool
) -> Iterator[str]:
    """A text object: a known type, plain_text where required, and 1..max_chars of text."""
    if not isinstance(value, Mapping):
        yield f"{where}: must be a text object with type and text"
        return
    kind = value.get("type")
    if kind not in TEXT_TYPES:
        yield f"{where}/type: must be plain_text or mrkdwn, not {kind!r}"
    elif plain_only and kind != "plain_text":
        yield f"{where}/type: must be plain_text, not {kind}"
    yield from _check_chars(value.get("text"), f"{where}/text", max_chars, non_empty=True)


def _check_chars(
    value: Any, where: str, max_chars: int | None, *, non_empty: bool = False
) -> Iterator[str]:
    if not isinstance(value, str):
        yield f"{where}: must be a string, not {type(value).__name__}"
    elif non_empty and not value:
        yield f"{where}: must not be empty"
    elif max_chars is not None and len(value) > max_chars:
        yield f"{where}: {len(value)} characters, more than {max_chars}"


def _check_count(rule: Count, value: Any, where: str) -> Iterator[str]:
    if not isinstance(value, list):
        yield f"{where}: must be a list"
    elif not rule.min_items <= len(value) <= rule.max_items:
        bounds = f"{rule.min_items}..{rule.max_items}"
        yield f"{where}: {len(value)} items, must be {bounds}"


def _check_range(rule: Range, value: Any, where: str) -> Iterator[str]:
    if isinstance(value, bool) or not isinstance(value, int):
        yield f"{where}: must be an integer"
    elif value < rule.low or (rule.high is not None and value > rule.high):
        high = "" if rule.high is None else str(rule.high)
        yield f"{where}: {value} is outside {rule.low}..{high}"
