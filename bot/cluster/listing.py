"""List answers parsed as they arrive, each item projected as soon as it is complete.

``json.loads`` of a 10,000-DGD list needs the whole body as bytes, then as text, then every
object at full size before the caller can drop anything: about 180 MB at once. Here the body
is read in chunks and the stdlib decoder (``raw_decode``, the same C scanner ``json.loads``
uses) parses one value at a time, so only the projected items, one full item and one chunk
are alive together. The answer has the shape ``json.loads`` would give, with ``items``
replaced by their projections; the other top-level keys (``metadata`` and its
resourceVersion, ``kind``...) may come before or after ``items``, as API servers differ.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

__all__ = ["parse_list"]

Obj = dict[str, Any]

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def parse_list(chunks: Iterable[bytes], project: Callable[[Obj], Any]) -> Obj:
    """The JSON object in ``chunks`` (UTF-8), its ``items`` passed through ``project``.

    ``project`` may return None to drop an item: a caller that only needs some items (or
    only what it computed from them) never holds the rest.

    Raises ValueError (``json.JSONDecodeError`` for bad JSON) when the body is not a JSON
    object or ends early.
    """
    stream = _Stream(iter(chunks))
    stream.expect("{")
    answer: Obj = {}
    if stream.peek() == "}":
        stream.pos += 1
    else:
        while True:
            key = stream.value()
            if not isinstance(key, str):
                raise ValueError("a list answer's keys must be strings")
            stream.expect(":")
            if key == "items" and stream.peek() == "[":
                answer[key] = stream.array(project)
            else:
                answer[key] = stream.value()
            if stream.take_one_of(",}") == "}":
                break
    if stream.peek() != "":
        raise ValueError("unexpected data after the list answer")
    return answer


class _Stream:
    """A window on the decoded text: ``buf[pos:]`` is what has not been parsed yet."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._text = codecs.getincrementaldecoder("utf-8")("surrogatepass")
        self.buf = ""
        self.pos = 0
        self.ended = False

    def more(self) -> bool:
        """Append the next chunk (dropping what was parsed); False once the body has ended."""
        if self.ended:
            return False
        text = ""
        for chunk in self._chunks:
            text = self._text.decode(chunk)
            if text:
                break
        else:
            text = self._text.decode(b"", final=True)
            self.ended = True
        if not text:
            return False
        self.buf = self.buf[self.pos :] + text
        self.pos = 0
        return True

    def peek(self) -> str:
        """The next character that is not whitespace, without taking it; "" at the end."""
        while True:
            self.pos = _WHITESPACE.match(self.buf, self.pos).end()  # type: ignore[union-attr]  # matches empty
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.more():
                return ""

    def expect(self, char: str) -> None:
        found = self.peek()
        if found != char:
            raise ValueError(f"expected {char!r} at offset {self.pos} of the list answer")
        self.pos += 1

    def take_one_of(self, chars: str) -> str:
        found = self.peek()
        if not found or found not in chars:
            raise ValueError(f"expected one of {chars!r} in the list answer")
        self.pos += 1
        return found

    def value(self) -> Any:
        """The next complete JSON value."""
        self.peek()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError:
                if self.more():
                    continue  # the value goes on in the next chunk
                raise
            # A number cut at the end of a chunk parses as a shorter number ("0." as 0): only
            # one followed by something that cannot continue it (or the body's end) is whole.
            if _may_go_on(value, self.buf, end) and self.more():
                continue
            self.pos = end
            return value

    def array(self, project: Callable[[Obj], Any]) -> list[Any]:
        self.expect("[")
        items: list[Any] = []
        if self.peek() == "]":
            self.pos += 1
            return items
        while True:
            item = self.value()
            kept = project(item) if isinstance(item, dict) else item
            if kept is not None:
                items.append(kept)
            if self.take_one_of(",]") == "]":
                return items


_NUMBER_CHARS = frozenset("0123456789.eE+-")


def _may_go_on(value: Any, text: str, end: int) -> bool:
    """Whether more text could still extend this just-parsed value."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return end >= len(text)  # strings, objects, arrays end with a delimiter; be safe anyway
    return end >= len(text) or text[end] in _NUMBER_CHARS
