"""JSON merge patch (RFC 7386) and JSON patch (RFC 6902), the two PATCH forms custom resources take.

Neither is in the standard library or in the project's dependencies, and both are short.
"""

from __future__ import annotations

from typing import Any

from bot.sim.k8s.store import copy_json

__all__ = ["PatchError", "apply_json_patch", "apply_merge_patch"]


class PatchError(ValueError):
    """The patch cannot be applied (the server answers 422 or 400)."""


def apply_merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy_json(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply_merge_patch(result.get(key), value)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer {path!r}")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _index(container: list[Any], segment: str, *, adding: bool) -> int:
    if adding and segment == "-":
        return len(container)
    if not (segment.isascii() and segment.isdigit()):
        raise PatchError(f"invalid array index {segment!r}")
    index = int(segment)
    if index > len(container) or (not adding and index == len(container)):
        raise PatchError(f"array index {index} out of range")
    return index


def _parent(doc: Any, tokens: list[str]) -> Any:
    current = doc
    for segment in tokens[:-1]:
        if isinstance(current, dict) and segment in current:
            current = current[segment]
        elif isinstance(current, list):
            current = current[_index(current, segment, adding=False)]
        else:
            raise PatchError(f"path /{'/'.join(tokens)} does not exist")
    return current


def _get(doc: Any, tokens: list[str]) -> Any:
    if not tokens:
        return doc
    parent = _parent(doc, tokens)
    if isinstance(parent, list):
        return parent[_index(parent, tokens[-1], adding=False)]
    if isinstance(parent, dict) and tokens[-1] in parent:
        return parent[tokens[-1]]
    raise PatchError(f"path /{'/'.join(tokens)} does not exist")


def _remove(doc: Any, tokens: list[str]) -> Any:
    value = _get(doc, tokens)
    parent = _parent(doc, tokens)
    if isinstance(parent, list):
        del parent[_index(parent, tokens[-1], adding=False)]
    else:
        del parent[tokens[-1]]
    return value


def _add(doc: Any, tokens: list[str], value: Any) -> Any:
    if not tokens:
        return value
    parent = _parent(doc, tokens)
    if isinstance(parent, list):
        parent.insert(_index(parent, tokens[-1], adding=True), value)
    elif isinstance(parent, dict):
        parent[tokens[-1]] = value
    else:
        raise PatchError(f"cannot add at /{'/'.join(tokens)}")
    return doc


def apply_json_patch(target: Any, operations: Any) -> Any:
    """RFC 6902 add/remove/replace/move/copy/test, applied to a copy of `target`."""
    if not isinstance(operations, list):
        raise PatchError("a JSON patch must be a list of operations")
    doc = copy_json(target)
    for operation in operations:
        if not isinstance(operation, dict) or "op" not in operation or "path" not in operation:
            raise PatchError(f"invalid operation {operation!r}")
        op, tokens = operation["op"], _pointer(operation["path"])
        if op == "add":
            doc = _add(doc, tokens, copy_json(operation.get("value")))
        elif op == "remove":
            _remove(doc, tokens)
        elif op == "replace":
            _get(doc, tokens)
            if tokens:
                _remove(doc, tokens)
            doc = _add(doc, tokens, copy_json(operation.get("value")))
        elif op in ("move", "copy"):
            source = _pointer(str(operation.get("from", "")))
            value = _remove(doc, source) if op == "move" else copy_json(_get(doc, source))
            doc = _add(doc, tokens, value)
        elif op == "test":
            if _get(doc, tokens) != operation.get("value"):
                raise PatchError(f"test failed at {operation['path']}")
        else:
            raise PatchError(f"unknown operation {op!r}")
    return doc
