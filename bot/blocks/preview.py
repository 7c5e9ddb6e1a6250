""" "Preview YAML": the exact manifest the deploy would apply, pushed over the deploy modal.

A section's text holds at most 3000 characters, so the YAML is split on line boundaries into
fenced code sections that each fit (a single over-long line is cut into pieces). A modal holds
100 blocks and 250 KB, so past :data:`MAX_CODE_SECTIONS` sections or :data:`MAX_YAML_BYTES` the
preview stops and says how to see the whole manifest. Pure: no I/O.
"""

from __future__ import annotations

import json

from slack_sdk.models.blocks import Block, PlainTextObject
from slack_sdk.models.views import View

from bot.blocks.common import MAX_SECTION_TEXT, context, escape, section, truncate
from bot.blocks.ids import CALLBACK_PREVIEW

__all__ = ["MAX_CODE_SECTIONS", "MAX_YAML_BYTES", "build_preview", "split_code"]

MAX_CODE_SECTIONS = 90  # + intro and truncation note: well below 100 blocks
MAX_YAML_BYTES = 200_000  # of JSON-encoded section text, leaving room under 250 KB
_FENCE = "```\n{}\n```"
_BODY_LIMIT = MAX_SECTION_TEXT - len(_FENCE.format(""))


def _escape_code(line: str) -> str:
    return escape(line).replace("```", "``\u200b`")


def _pieces(line: str) -> list[str]:
    """An escaped line, cut so each piece fits a section (never inside an &amp; entity)."""
    pieces: list[str] = []
    while len(line) > _BODY_LIMIT:
        cut = _BODY_LIMIT
        amp = line.rfind("&", cut - 5, cut)
        if amp != -1 and ";" not in line[amp:cut]:
            cut = amp
        pieces.append(line[:cut])
        line = line[cut:]
    pieces.append(line)
    return pieces


def split_code(text: str) -> list[str]:
    """``text`` escaped and split on line boundaries into fenced code blocks of <= 3000 chars."""
    chunks: list[str] = []
    body: list[str] = []
    size = 0
    for raw in text.rstrip("\n").split("\n"):
        for piece in _pieces(_escape_code(raw)):
            added = len(piece) + (1 if body else 0)
            if body and size + added > _BODY_LIMIT:
                chunks.append(_FENCE.format("\n".join(body)))
                body, size, added = [], 0, len(piece)
            body.append(piece)
            size += added
    if body:
        chunks.append(_FENCE.format("\n".join(body)))
    return chunks


def build_preview(manifest_yaml: str, *, name: str, model: str | None = None) -> View:
    """The manifest as code sections; truncated, with a way to see it all, when too long."""
    chunks = split_code(manifest_yaml) if manifest_yaml.strip() else []
    shown: list[str] = []
    used = 0
    for chunk in chunks[:MAX_CODE_SECTIONS]:
        encoded = len(json.dumps(chunk, ensure_ascii=False).encode())
        if used + encoded > MAX_YAML_BYTES:
            break
        shown.append(chunk)
        used += encoded
    target = escape(truncate(name, 100))
    blocks: list[Block] = [
        context(f"What Dynamote would apply for *{target}*, exactly. *Back* returns to the form.")
    ]
    if not chunks:
        blocks.append(section("_The manifest is empty._"))
    blocks += [section(chunk) for chunk in shown]
    if len(shown) < len(chunks):
        lines_shown = sum(chunk.count("\n") - 1 for chunk in shown)
        total = manifest_yaml.rstrip("\n").count("\n") + 1
        render = f"dynamote render {escape(model) if model else 'MODEL_ID'} --name {target}"
        blocks.append(
            section(
                f":scissors: Truncated: about {lines_shown:,} of {total:,} lines fit here. "
                f"See it all with `{render}` and the same options."
            )
        )
    return View(
        type="modal",
        callback_id=CALLBACK_PREVIEW,
        title=PlainTextObject(text="Preview YAML"),
        close=PlainTextObject(text="Back"),
        blocks=blocks,
    )
