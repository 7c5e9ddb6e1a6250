"""Tests of bot.notifier.memory's card strings: what a vanished DGD's last reply is built from."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.domain.catalog import load_catalog
from bot.domain.deployments import deployment_from
from bot.domain.manifest import ANNOTATION_DELETED_BY, SlackOrigin, render_dgd
from bot.domain.request import parse_request
from bot.notifier.memory import Known, card_of, known_from, stub_from_card, stub_of

NOW = datetime(2026, 11, 27, tzinfo=UTC)


def _dgd(version: str = "7") -> dict[str, object]:
    request = parse_request(
        {"model": "Qwen/Qwen3-0.6B", "name": "qwen", "namespace": "team-a", "engine": "sglang"},
        catalog=load_catalog(),
    )
    dgd = render_dgd(
        request, image="img:1", origin=SlackOrigin(user="U1", channel="C9", thread_ts="1.5")
    )
    dgd["metadata"].update(uid="uid-1", resourceVersion=version)
    dgd["metadata"]["annotations"][ANNOTATION_DELETED_BY] = "U2"
    return dgd


def test_a_card_string_gives_back_what_the_deletion_reply_and_card_show() -> None:
    dgd = _dgd()
    full = deployment_from(dgd, verified=True, now=NOW)
    again = deployment_from(stub_of(dgd), verified=True, now=NOW)
    for field in ("name", "namespace", "model", "engine", "requester", "channel", "thread_ts"):
        assert getattr(again, field) == getattr(full, field), field
    assert stub_of(dgd)["metadata"]["annotations"][ANNOTATION_DELETED_BY] == "U2"
    assert stub_of(dgd)["metadata"]["uid"] == "uid-1"


def test_a_card_is_one_short_string_and_known_is_reused_while_unchanged() -> None:
    dgd = _dgd()
    card = card_of(dgd)
    assert isinstance(card, str) and len(card) < 120
    first = known_from(dgd, None)
    assert known_from(dgd, first) is first
    assert known_from(_dgd("8"), first) is not first
    assert first.stub == stub_from_card("uid-1", card)


def test_a_damaged_card_string_still_gives_a_stub() -> None:
    for card in ("", "not json", json.dumps({"a": 1}), json.dumps([1, None])):
        stub = Known("u", "1", card).stub
        assert stub["metadata"]["uid"] == "u"
        deployment_from(stub, verified=True, now=NOW)  # never raises
