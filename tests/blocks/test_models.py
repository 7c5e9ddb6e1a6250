"""``/dynamote models``: catalog entries, Deploy buttons, the empty state and paging."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.blocks.ids import ACTION_MODELS_PAGE, ACTION_OPEN_DEPLOY
from bot.blocks.models import PAGE_SIZE, build_models
from bot.domain.catalog import Catalog, Model
from tests.blocks.conftest import NASTY, fits_message


def many_models(catalog: Catalog, count: int) -> list[Model]:
    base = catalog.models[0]
    return [
        base.model_copy(
            update={
                "id": f"org/model-{i}",
                "name": f"Model {i} " + "n" * 40,
                "description": "d" * 500,
            }
        )
        for i in range(count)
    ]


def deploy_values(payload: dict[str, Any]) -> list[str]:
    return [
        b["accessory"]["value"]
        for b in payload["blocks"]
        if b.get("accessory", {}).get("action_id") == ACTION_OPEN_DEPLOY
    ]


def page_values(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        json.loads(e["value"])
        for b in payload["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == ACTION_MODELS_PAGE
    ]


def test_each_model_shows_its_facts_and_a_deploy_button(catalog: Catalog) -> None:
    payload = fits_message(build_models(catalog.models[:2]))
    assert deploy_values(payload) == [m.id for m in catalog.models[:2]]
    model = catalog.models[0]
    text = next(b["text"]["text"] for b in payload["blocks"] if b.get("accessory"))
    for fact in (
        model.name,
        model.id,
        model.parameters,
        f"{model.context_length:,}",
        model.license,
        "vLLM",
        "SGLang",
        f"{model.min_gpu_memory} GiB",
    ):
        assert fact in text
    assert model.description[:40] in text


def test_nothing_found_says_so_and_how_to_search(catalog: Catalog) -> None:
    message = build_models([], query="gpt-9", engine="trtllm", command="/llm")
    payload = fits_message(message)
    text = payload["blocks"][0]["text"]["text"]
    assert "No models matching “gpt-9” on TensorRT-LLM" in text
    assert "`/llm models qwen`" in text
    assert deploy_values(payload) == []


def test_the_whole_catalog_fits_on_one_page(catalog: Catalog) -> None:
    payload = fits_message(build_models(catalog.models))
    assert len(deploy_values(payload)) == len(catalog) <= PAGE_SIZE
    assert page_values(payload) == []


@pytest.mark.parametrize(
    ("count", "page", "shown", "targets"),
    [
        (8, 0, 8, []),
        (9, 0, 8, [1]),
        (9, 1, 1, [0]),
        (100, 3, 8, [2, 4]),
        (100, 500, 4, [11]),  # 13 pages of 8: the last holds 4
    ],
)
def test_paging_shows_a_page_and_the_way_to_the_others(
    catalog: Catalog, count: int, page: int, shown: int, targets: list[int]
) -> None:
    payload = fits_message(
        build_models(many_models(catalog, count), query="m", engine="vllm", page=page, page_size=8)
    )
    assert len(deploy_values(payload)) == shown
    values = page_values(payload)
    assert [v["page"] for v in values] == targets
    assert all(v["query"] == "m" and v["engine"] == "vllm" for v in values)
    assert len(payload["blocks"]) <= 50


def test_a_huge_query_still_fits_the_button_value(catalog: Catalog) -> None:
    payload = fits_message(build_models(many_models(catalog, 30), query=NASTY * 200, page=1))
    assert all(len(json.dumps(v)) <= 2000 for v in page_values(payload))
