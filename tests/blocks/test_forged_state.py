"""Forged view state never crashes the readers of "Keep for" and "Why" (found by the property
test in tests/robustness/test_bad_input.py: an int where Slack sends an element's state)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.blocks.approvals import read_why
from bot.blocks.expiry import read_keep_for

FORGED: list[Any] = [0, 1, "x", None, [], [1], {"selected_option": 3}, {"value": 5}]


@pytest.mark.parametrize("element", FORGED)
def test_a_forged_keep_for_reads_as_no_choice(element: Any) -> None:
    assert read_keep_for({"keep_for.0": {"keep_for": element}}) is None


@pytest.mark.parametrize("element", FORGED)
def test_a_forged_why_reads_as_nothing(element: Any) -> None:
    assert read_why({"why.0": {"why": element}}) == ""


def test_real_shapes_still_read() -> None:
    chosen = {"keep_for.2": {"keep_for": {"selected_option": {"value": "3d"}}}}
    assert read_keep_for(chosen) == "3d"
    typed = {"why": {"why": {"type": "plain_text_input", "value": " a  demo "}}}
    assert read_why(typed) == "a demo"
