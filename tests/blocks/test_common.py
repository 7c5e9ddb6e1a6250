"""Shared pieces: the Message value, badges, escaping, ages, trimming, paging and errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk.models.blocks import SectionBlock

from bot.blocks.common import (
    PHASE_BADGES,
    Message,
    age,
    badge,
    code,
    error_message,
    escape,
    mention,
    page_slice,
    pager,
    section,
    text_sections,
    truncate,
)
from tests.blocks.conftest import NASTY, fits_message

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_as_kwargs_gives_text_and_block_dicts() -> None:
    message = Message(text="hi", blocks=[section("*hi*")])
    kwargs = message.as_kwargs()
    assert kwargs["text"] == "hi"
    assert kwargs["blocks"] == [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]


@pytest.mark.parametrize(
    "phase", ["Pending", "Deploying", "Running", "Failed", "Terminating", "Deleted"]
)
def test_every_phase_has_an_emoji_and_its_word(phase: str) -> None:
    assert badge(phase) == PHASE_BADGES[phase]
    emoji, word = badge(phase).split(" ", 1)
    assert emoji.startswith(":") and emoji.endswith(":")
    assert word == phase


def test_an_unknown_phase_gets_a_question_mark_and_is_escaped() -> None:
    assert badge("<Odd>") == ":grey_question: &lt;Odd&gt;"
    assert badge("") == ":grey_question: Unknown"


def test_escape_replaces_the_three_control_characters_only() -> None:
    assert escape("a & b < c > d *e*") == "a &amp; b &lt; c &gt; d *e*"
    assert escape("&amp;") == "&amp;amp;"


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        (timedelta(seconds=0), "0s"),
        (timedelta(seconds=59), "59s"),
        (timedelta(minutes=3), "3m"),
        (timedelta(minutes=59, seconds=59), "59m"),
        (timedelta(hours=2), "2h"),
        (timedelta(days=5, hours=23), "5d"),
        (timedelta(seconds=-30), "0s"),
    ],
)
def test_age_uses_one_unit(delta: timedelta, expected: str) -> None:
    assert age(NOW - delta, NOW) == expected


def test_age_of_nothing_is_a_question_mark_and_naive_times_are_utc() -> None:
    assert age(None, NOW) == "?"
    assert age(datetime(2026, 1, 1, 11, 0), NOW) == "1h"


def test_truncate_ends_with_an_ellipsis_within_the_limit() -> None:
    assert truncate("abcdef", 6) == "abcdef"
    assert truncate("abcdefg", 6) == "abcde…"
    assert len(truncate("x" * 5000, 3000)) == 3000


def test_mention_only_for_real_user_ids() -> None:
    assert mention("U123ABC") == "<@U123ABC>"
    assert mention("W0001") == "<@W0001>"
    assert mention(None) == "someone"
    assert mention("<!channel>") == "&lt;!channel&gt;"


def test_code_blocks_escape_and_cannot_be_closed_early() -> None:
    block = code("a ``` <b>")
    assert block.startswith("```\n") and block.endswith("\n```")
    assert block.count("```") == 2
    assert "&lt;b&gt;" in block


def test_sections_are_trimmed_to_3000_characters() -> None:
    block = section("x" * 5000).to_dict()
    assert len(block["text"]["text"]) == 3000


def test_text_sections_pack_lines_without_passing_the_limit() -> None:
    lines = [f"line {i} " + "y" * 100 for i in range(100)]
    sections = text_sections(lines)
    texts = [s.to_dict()["text"]["text"] for s in sections if isinstance(s, SectionBlock)]
    assert all(len(t) <= 3000 for t in texts)
    assert "\n".join(texts).split("\n") == lines


@pytest.mark.parametrize(
    ("count", "page", "expected_page", "pages", "shown"),
    [
        (0, 0, 0, 1, 0),
        (1, 0, 0, 1, 1),
        (8, 0, 0, 1, 8),
        (9, 1, 1, 2, 1),
        (100, 5, 5, 13, 8),
        (100, 99, 12, 13, 4),
        (100, -3, 0, 13, 8),
    ],
)
def test_page_slice_clamps_the_page(
    count: int, page: int, expected_page: int, pages: int, shown: int
) -> None:
    items, got_page, got_pages = page_slice(list(range(count)), page, 8)
    assert (got_page, got_pages, len(items)) == (expected_page, pages, shown)


def test_a_single_page_needs_no_pager() -> None:
    assert pager("p", page=0, pages=1, total=3, noun="x", value=lambda n: {"page": n}) == []


def test_the_pager_offers_previous_and_next_with_json_values() -> None:
    blocks = [
        b.to_dict()
        for b in pager("p", page=1, pages=3, total=20, noun="x", value=lambda n: {"page": n})
    ]
    assert "Page 2 of 3" in blocks[0]["elements"][0]["text"]
    buttons = [b["elements"][0] for b in blocks[1:]]
    assert [json.loads(b["value"]) for b in buttons] == [{"page": 0}, {"page": 2}]
    assert {b["action_id"] for b in buttons} == {"p"}


def test_an_error_says_what_and_how_to_fix_it() -> None:
    message = error_message("Cannot deploy", "the namespace <x> is not allowed", fix="Use team-a")
    payload = fits_message(message)
    text = payload["blocks"][0]["text"]["text"]
    assert ":warning: *Cannot deploy*" in text
    assert "\nThe namespace &lt;x&gt; is not allowed" in text  # a sentence: capital first
    assert "Use team-a" in text
    assert message.text.startswith("Cannot deploy")


def test_a_huge_error_still_fits() -> None:
    fits_message(error_message(NASTY * 100, NASTY * 1000, fix=NASTY * 100))
