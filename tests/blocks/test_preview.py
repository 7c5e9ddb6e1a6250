"""The YAML preview: code sections within Slack's limits, truncated with a way out."""

from __future__ import annotations

import pytest
import yaml

from bot.blocks.ids import CALLBACK_PREVIEW
from bot.blocks.preview import build_preview, split_code
from bot.domain.catalog import Catalog
from bot.domain.manifest import render_dgd
from bot.domain.request import parse_request
from tests.blocks.conftest import NASTY, fits_view


def code_texts(view: dict[str, object]) -> list[str]:
    blocks = view["blocks"]
    assert isinstance(blocks, list)
    return [
        b["text"]["text"]
        for b in blocks
        if b["type"] == "section" and b["text"]["text"].startswith("```")
    ]


def unfence(chunks: list[str]) -> str:
    return "\n".join(c.removeprefix("```\n").removesuffix("\n```") for c in chunks)


def test_a_real_manifest_is_shown_whole_in_one_view(catalog: Catalog) -> None:
    request = parse_request(
        {"model": "Qwen/Qwen3-0.6B", "name": "qwen", "namespace": "ns", "engine": "vllm"},
        catalog=catalog,
    )
    manifest = yaml.safe_dump(render_dgd(request, image="nvcr.io/x:1"), sort_keys=False)
    view = fits_view(build_preview(manifest, name="qwen"))
    assert view["callback_id"] == CALLBACK_PREVIEW
    assert view["title"]["text"] == "Preview YAML"
    assert view["close"]["text"] == "Back"
    assert "submit" not in view
    assert unfence(code_texts(view)) == manifest.rstrip("\n")


def test_splitting_keeps_every_line_and_each_section_under_3000() -> None:
    text = "\n".join(f"key{i}: {'v' * (i % 200)}" for i in range(2000))
    chunks = split_code(text)
    assert len(chunks) > 1
    assert all(len(c) <= 3000 for c in chunks)
    assert unfence(chunks) == text


def test_a_single_overlong_line_is_cut_into_pieces() -> None:
    chunks = split_code("x" * 10_000)
    assert all(len(c) <= 3000 for c in chunks)
    assert unfence(chunks).replace("\n", "") == "x" * 10_000


def test_special_characters_are_escaped_and_never_cut_inside_an_entity() -> None:
    chunks = split_code("&" * 8000 + "\n" + NASTY)
    assert all(len(c) <= 3000 for c in chunks)
    body = unfence(chunks)
    assert "<" not in body and ">" not in body
    for piece in body.split("\n")[:-1]:
        assert piece == "&amp;" * (len(piece) // 5)


@pytest.mark.parametrize("lines", [50_000, 200_000])
def test_a_huge_manifest_is_truncated_with_a_way_to_see_it_all(lines: int) -> None:
    manifest = "\n".join(f"line{i}: {'z' * 60}" for i in range(lines))
    view = fits_view(build_preview(manifest, name="big", model="Qwen/Qwen3-0.6B"))
    assert len(view["blocks"]) <= 95
    last = view["blocks"][-1]["text"]["text"]
    assert "Truncated" in last
    assert "dynamote render Qwen/Qwen3-0.6B --name big" in last


def test_an_empty_manifest_says_so() -> None:
    view = fits_view(build_preview("", name="x"))
    assert "empty" in str(view["blocks"])
