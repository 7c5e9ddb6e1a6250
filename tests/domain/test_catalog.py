"""The shipped catalog loads, and broken catalogs fail with the entry, field and reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.config.settings import get_settings
from bot.domain.catalog import CatalogError, default_catalog_path, load_catalog, parse_catalog

EXPECTED_IDS = [
    "Qwen/Qwen3-0.6B",
    "Qwen/Qwen2.5-1.5B-Instruct",
    "deepseek-ai/DeepSeek-R1-Distill-Llama-8B",
    "meta-llama/Llama-3.2-1B-Instruct",
    "meta-llama/Llama-3.2-3B-Instruct",
    "mistralai/Mistral-7B-Instruct-v0.3",
    "microsoft/Phi-3-mini-4k-instruct",
    "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
]


def _entry(**overrides: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": "org/model-1",
        "name": "Model 1",
        "description": "A model",
        "size": "1 GB",
        "task": "chat",
        "parameters": "1B",
        "contextLength": 4096,
        "license": "MIT",
        "supportedEngines": ["vllm"],
        "minGpuMemory": 8,
    }
    entry.update(overrides)
    return entry


def test_shipped_catalog_has_the_eight_models_of_the_plan_in_order() -> None:
    catalog = load_catalog(default_catalog_path())
    assert [m.id for m in catalog.models] == EXPECTED_IDS


def test_shipped_catalog_fills_real_parameters_and_licenses() -> None:
    catalog = load_catalog(default_catalog_path())
    by_id = {m.id: m for m in catalog.models}
    assert by_id["Qwen/Qwen3-0.6B"].license == "Apache-2.0"
    assert by_id["deepseek-ai/DeepSeek-R1-Distill-Llama-8B"].license == "MIT"
    assert by_id["meta-llama/Llama-3.2-3B-Instruct"].license == "Llama 3.2 Community License"
    assert by_id["mistralai/Mistral-7B-Instruct-v0.3"].parameters == "7.25B"
    assert by_id["microsoft/Phi-3-mini-4k-instruct"].context_length == 4096
    assert by_id["TinyLlama/TinyLlama-1.1B-Chat-v1.0"].context_length == 2048


def test_search_needs_every_word_case_insensitively_over_id_name_and_description() -> None:
    catalog = load_catalog(default_catalog_path())
    assert [m.id for m in catalog.search("LLAMA instruct")] == [
        "meta-llama/Llama-3.2-1B-Instruct",
        "meta-llama/Llama-3.2-3B-Instruct",
    ]
    assert [m.id for m in catalog.search("reasoning traces")] == [
        "deepseek-ai/DeepSeek-R1-Distill-Llama-8B"
    ]
    assert catalog.search("llama nonexistentword") == []


def test_search_filters_by_engine_and_keeps_catalog_order() -> None:
    catalog = load_catalog(default_catalog_path())
    sglang_only = [m.id for m in catalog.search("", engine="trtllm")]
    assert "TinyLlama/TinyLlama-1.1B-Chat-v1.0" not in sglang_only
    assert sglang_only == [m.id for m in catalog.models if "trtllm" in m.supported_engines]


def test_lookup_finds_exact_id_then_unique_words_and_reports_ambiguity() -> None:
    catalog = load_catalog(default_catalog_path())
    exact = catalog.lookup("qwen/qwen3-0.6b")
    assert exact.model is not None and exact.model.id == "Qwen/Qwen3-0.6B"
    unique = catalog.lookup("tinyllama")
    assert unique.model is not None and unique.model.id.startswith("TinyLlama/")
    ambiguous = catalog.lookup("llama 3.2")
    assert ambiguous.model is None and ambiguous.ambiguous and len(ambiguous.candidates) == 2
    assert catalog.lookup("gpt-5").model is None


def test_duplicate_ids_are_an_error_naming_both_entries() -> None:
    with pytest.raises(CatalogError, match=r"models\[1\]\.id: duplicate id .* models\[0\]"):
        parse_catalog({"models": [_entry(), _entry(id="ORG/model-1")]})


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ({"contextLength": 0}, r"models\[0\] \(org/model-1\)\.contextLength: .*greater than"),
        ({"supportedEngines": ["tensorflow"]}, r"supportedEngines\.0: Input should be"),
        ({"supportedEngines": []}, r"supportedEngines: .*at least 1"),
        ({"id": "no-slash"}, r"models\[0\] \(no-slash\)\.id: String should match"),
        ({"parameters": "a lot"}, r"parameters: String should match"),
        ({"minGpuMemory": "eight"}, r"minGpuMemory: Input should be a valid integer"),
        ({"colour": "blue"}, r"colour: Extra inputs are not permitted"),
        ({"ephemeralStorage": "20 GB"}, r"ephemeralStorage: String should match"),
    ],
)
def test_a_broken_entry_fails_with_index_field_and_reason(
    override: dict[str, Any], expected: str
) -> None:
    with pytest.raises(CatalogError, match=expected):
        parse_catalog({"models": [_entry(**override)]})


def test_a_missing_field_is_named() -> None:
    entry = _entry()
    del entry["license"]
    with pytest.raises(CatalogError, match=r"models\[0\] \(org/model-1\)\.license: Field required"):
        parse_catalog({"models": [entry]})


def test_operator_supplied_catalog_path_is_used(tmp_path: Path) -> None:
    path = tmp_path / "models.json"
    path.write_text(json.dumps({"models": [_entry()]}))
    assert [m.id for m in load_catalog(path).models] == ["org/model-1"]


def test_invalid_json_and_missing_file_say_where(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"models": [')
    with pytest.raises(CatalogError, match="not valid JSON at line 1"):
        load_catalog(bad)
    with pytest.raises(CatalogError, match="cannot read the catalog"):
        load_catalog(tmp_path / "absent.json")


def test_catalog_setting_points_at_the_operator_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ops.json"
    path.write_text(json.dumps({"models": [_entry(id="ops/only-model")]}))
    monkeypatch.setenv("DYNAMOTE_CATALOG", str(path))
    get_settings.cache_clear()
    try:
        assert [m.id for m in load_catalog(get_settings().catalog).models] == ["ops/only-model"]
        assert load_catalog().models != load_catalog(path).models  # no setting: the shipped file
    finally:
        get_settings.cache_clear()


def test_an_entry_may_set_its_ephemeral_storage() -> None:
    catalog = parse_catalog({"models": [_entry(ephemeralStorage="40Gi"), _entry(id="org/b")]})
    assert [m.ephemeral_storage for m in catalog.models] == ["40Gi", None]
