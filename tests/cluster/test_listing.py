"""Tests of bot.cluster.listing: a list answer parsed chunk by chunk equals json.loads of it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.cluster.listing import parse_list

ITEMS = [
    {"metadata": {"name": f"dgd-{i}", "uid": f"u-{i}"}, "spec": {"replicas": i, "x": 1.5e-3}}
    for i in range(5)
] + [{"metadata": {"name": "ünïcödé-☃", "annotations": {"emoji": "🚀", "esc": 'a"b\\c\n'}}}]


def _chunks(body: bytes, size: int) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)]


def _body(**top: Any) -> bytes:
    return json.dumps(top).encode()


def _same(item: dict[str, Any]) -> dict[str, Any]:
    return item


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 10_000])
def test_every_chunk_boundary_gives_what_json_loads_gives(size: int) -> None:
    # Real API servers put "items" before "metadata" (custom resources) or after it (pods).
    for body in (
        _body(apiVersion="v1", items=ITEMS, kind="List", metadata={"resourceVersion": "42"}),
        _body(kind="PodList", apiVersion="v1", metadata={"resourceVersion": "7"}, items=ITEMS),
    ):
        assert parse_list(_chunks(body, size), _same) == json.loads(body)


def test_items_are_projected_and_none_drops_one() -> None:
    body = _body(items=ITEMS, metadata={"resourceVersion": "9"})
    seen: list[str] = []

    def project(item: dict[str, Any]) -> Any:
        seen.append(item["metadata"]["name"])
        return None if item["metadata"]["name"] == "dgd-1" else item["metadata"]["name"]

    answer = parse_list(_chunks(body, 5), project)
    assert seen == [item["metadata"]["name"] for item in ITEMS]
    assert answer["items"] == [name for name in seen if name != "dgd-1"]
    assert answer["metadata"] == {"resourceVersion": "9"}


def test_a_number_cut_at_a_chunk_end_is_read_whole() -> None:
    # "0." parses as 0 and "1e" fails: both must wait for the rest of the number.
    body = b'{"count": 123456, "f": 0.0, "e": 1e5, "items": [-2.5E-3], "n": 7890}'
    for size in range(1, len(body)):
        assert parse_list(_chunks(body, size), _same) == json.loads(body)


def test_a_multibyte_character_split_across_chunks_survives() -> None:
    body = _body(items=[{"name": "☃🚀é"}])
    assert parse_list(_chunks(body, 1), _same)["items"] == [{"name": "☃🚀é"}]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"[]",
        b'{"items": [',
        b'{"items": [{"a": 1}',
        b'{"items": [{"a": 1},]}',
        b'{"items": [] "kind": "x"}',
        b'{"items": []} trailing',
        b'{"items": [{"a": tru}]}',
        b"{1: 2}",
    ],
)
def test_a_broken_body_raises_value_error(body: bytes) -> None:
    with pytest.raises(ValueError):
        parse_list(_chunks(body, 3), _same)


def test_empty_object_and_empty_items() -> None:
    assert parse_list([b"{ }"], _same) == {}
    assert parse_list([b'{"items": [ ]}'], _same) == {"items": []}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(
    items=st.lists(st.dictionaries(st.text(), json_values, max_size=4), max_size=6),
    extra=st.dictionaries(st.text().filter(lambda k: k != "items"), json_values, max_size=3),
    size=st.integers(min_value=1, max_value=40),
    indent=st.sampled_from([None, 1]),
)
def test_any_list_answer_parses_like_json_loads(
    items: list[dict[str, Any]], extra: dict[str, Any], size: int, indent: int | None
) -> None:
    body = json.dumps({**extra, "items": items}, indent=indent, ensure_ascii=False).encode()
    assert parse_list(_chunks(body, size), _same) == json.loads(body)
