"""The reminder's request count: said in words, saying what it covers, when known; left out
when not."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.blocks.expiry import build_expiry_reminder
from bot.blocks.limits import check_message
from bot.domain.expiry import ExpiryPolicy
from bot.domain.served import Served

from .conftest import NOW, make_deployment

POLICY = ExpiryPolicy.from_texts(["1d", "3d"], "3d", "7d", "1d")


@pytest.mark.parametrize(
    ("served", "sentence"),
    [
        (Served(0), "It has served 0 requests since it started."),
        (Served(1), "It has served 1 request since it started."),
        (Served(12345), "It has served 12,345 requests since it started."),
        (Served(42, timedelta(hours=19)), "It served 42 requests in the last 19 hours."),
        (Served(1, timedelta(minutes=30)), "It served 1 request in the last 30 minutes."),
        (
            Served(5, timedelta(hours=8), restarted=True),
            "Its frontend restarted within the last 8 hours; it has served 5 requests since.",
        ),
        (None, None),
    ],
)
def test_the_count_is_one_sentence_of_the_reminder(
    served: Served | None, sentence: str | None
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
