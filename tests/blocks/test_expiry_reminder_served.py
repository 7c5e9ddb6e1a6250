"""The reminder's request count: said in words when known, left out when not."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.blocks.expiry import build_expiry_reminder
from bot.blocks.limits import check_message
from bot.expiry import ExpiryPolicy

from .conftest import NOW, make_deployment

POLICY = ExpiryPolicy.from_texts(["1d", "3d"], "3d", "7d", "1d")


@pytest.mark.parametrize(
    ("served", "sentence"),
    [
        (0, "It has served 0 requests since it started."),
        (1, "It has served 1 request since it started."),
        (12345, "It has served 12,345 requests since it started."),
        (None, None),
    ],
)
def test_the_count_is_one_sentence_of_the_reminder(
    served: int | None, sentence: str | None
) -> None:
    message = build_expiry_reminder(
        make_deployment(), NOW + timedelta(hours=5), keep=None, policy=POLICY, served=served
    )
    payload = message.as_kwargs()
    assert check_message(payload) == []
    text = str(payload["blocks"])
    if sentence is None:
        assert "served" not in text
    else:
        assert sentence in text
