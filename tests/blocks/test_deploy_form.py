"""The deploy form's values: first values, model changes, metadata, reading state, errors."""

from __future__ import annotations

from typing import Any

import pytest

from bot.blocks.deploy_form import (
    DeployForm,
    ModalMetadata,
    error_blocks,
    initial_form,
    parse_size,
    read_deploy_form,
    size_value,
    with_model,
)
from bot.blocks.ids import (
    BLOCK_ENGINE,
    BLOCK_MODEL,
    BLOCK_NAME,
    BLOCK_OPTIONS,
    BLOCK_SIZE,
    FIELD_BLOCKS,
    OPTION_PREFIX_CACHING,
    OPTION_TRUST_REMOTE_CODE,
    input_block_id,
)
from bot.domain.catalog import Catalog
from bot.domain.request import RequestError, default_name, parse_request

QWEN = "Qwen/Qwen3-0.6B"  # vllm, sglang, trtllm
PHI = "microsoft/Phi-3-mini-4k-instruct"  # vllm, sglang
LLAMA = "meta-llama/Llama-3.2-1B-Instruct"


def form_for(catalog: Catalog, model_id: str | None, **changes: Any) -> DeployForm:
    model = catalog.get(model_id) if model_id else None
    form = initial_form(catalog, model, namespace="dynamo-system", hf_secret="hf-token-secret")
    return DeployForm(**{**form.__dict__, **changes})


# --- initial_form ---------------------------------------------------------------------------


def test_initial_form_generates_the_name_and_picks_the_models_first_engine(
    catalog: Catalog,
) -> None:
    form = form_for(catalog, PHI)
    assert form.model == PHI
    assert form.name == default_name(PHI)
    assert form.engine == "vllm"
    assert form.namespace == "dynamo-system"
    assert form.hf_token_secret == "hf-token-secret"


def test_initial_form_without_a_model_leaves_model_name_and_engine_empty(
    catalog: Catalog,
) -> None:
    form = initial_form(catalog, None, namespace="team-a", hf_secret="my-secret")
    assert (form.model, form.name, form.engine) == (None, "", None)
    assert form.namespace == "team-a"
    assert form.hf_token_secret == "my-secret"


def test_an_initial_form_is_a_valid_request(catalog: Catalog) -> None:
    request = parse_request(form_for(catalog, QWEN).to_request_data(), catalog=catalog)
    assert request.model == QWEN
    assert request.engine == "vllm"


# --- with_model -----------------------------------------------------------------------------


def test_changing_the_model_keeps_an_engine_the_new_model_supports(catalog: Catalog) -> None:
    form = with_model(form_for(catalog, QWEN, engine="sglang"), catalog, PHI)
    assert form.model == PHI
    assert form.engine == "sglang"


def test_changing_the_model_replaces_an_engine_the_new_model_lacks(catalog: Catalog) -> None:
    form = with_model(form_for(catalog, QWEN, engine="trtllm"), catalog, PHI)
    assert form.engine == "vllm"


def test_changing_the_model_regenerates_an_untouched_generated_name(catalog: Catalog) -> None:
    form = with_model(form_for(catalog, QWEN), catalog, LLAMA)
    assert form.name == default_name(LLAMA)


def test_changing_the_model_regenerates_an_empty_name(catalog: Catalog) -> None:
    form = with_model(form_for(catalog, QWEN, name="  "), catalog, LLAMA)
    assert form.name == default_name(LLAMA)


def test_changing_the_model_keeps_a_name_the_user_typed(catalog: Catalog) -> None:
    form = with_model(form_for(catalog, QWEN, name="my-bot"), catalog, LLAMA)
    assert form.name == "my-bot"


def test_choosing_a_first_model_fills_name_and_engine(catalog: Catalog) -> None:
    form = with_model(form_for(catalog, None), catalog, PHI)
    assert (form.model, form.name, form.engine) == (PHI, default_name(PHI), "vllm")


def test_changing_the_model_keeps_every_other_field(catalog: Catalog) -> None:
    before = form_for(
        catalog,
        QWEN,
        namespace="team-a",
        mode="disaggregated",
        replicas="3",
        router_mode="kv",
        hf_token_secret="other",
        gpus="2",
        context_length="4096",
        memory="16Gi",
        served_model_name="bot",
        enforce_eager=True,
        enable_prefix_caching=False,
        trust_remote_code=True,
        engine_args="max-num-seqs=64",
    )
    after = with_model(before, catalog, PHI)
    unchanged = set(before.__dict__) - {"model", "name", "engine"}
    assert {k: after.__dict__[k] for k in unchanged} == {k: before.__dict__[k] for k in unchanged}


def test_a_model_id_in_other_case_becomes_the_catalogs_spelling(catalog: Catalog) -> None:
    assert with_model(form_for(catalog, None), catalog, PHI.upper()).model == PHI


# --- to_request_data ------------------------------------------------------------------------


def test_request_data_uses_camel_case_and_none_for_empty_optional_texts(
    catalog: Catalog,
) -> None:
    data = form_for(catalog, QWEN).to_request_data()
    assert data["routerMode"] == "none"
    assert data["hfTokenSecret"] == "hf-token-secret"
    assert data["contextLength"] is None
    assert data["memory"] is None
    assert data["servedModelName"] is None
    assert "engineArgs" not in data


def test_request_data_of_a_full_form_parses(catalog: Catalog) -> None:
    form = form_for(
        catalog,
        QWEN,
        replicas="2",
        gpus="2",
        context_length="4096",
        memory="16Gi",
        served_model_name="my-org/qwen",
        engine_args="max-num-seqs=64\nenable-chunked-prefill",
    )
    request = parse_request(form.to_request_data(), catalog=catalog)
    assert request.replicas == 2
    assert request.context_length == 4096
    assert request.engine_args == {"max-num-seqs": 64, "enable-chunked-prefill": True}


def test_an_empty_form_is_refused_with_errors_keyed_by_field(catalog: Catalog) -> None:
    empty = DeployForm(model=None, name="", namespace="", engine=None)
    with pytest.raises(RequestError) as caught:
        parse_request(empty.to_request_data(), catalog=catalog)
    assert {"model", "name", "namespace", "engine"} <= set(caught.value.errors)


# --- ModalMetadata --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "metadata",
    [ModalMetadata("U1", "C1"), ModalMetadata("U1", None, 7)],
)
def test_metadata_survives_its_json(metadata: ModalMetadata) -> None:
    text = metadata.to_json()
    assert len(text) <= 3000
    assert ModalMetadata.from_json(text) == metadata


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "not json",
        "[]",
        "{}",
        '{"user": 5}',
        '{"user": "U1", "channel": 3}',
        '{"user": "U1", "revision": -1}',
        '{"user": "U1", "revision": true}',
        '{"user": "U1", "revision": "2"}',
    ],
)
def test_metadata_from_garbage_raises_value_error(garbage: str) -> None:
    with pytest.raises(ValueError, match="private_metadata"):
        ModalMetadata.from_json(garbage)
    # Read from a view, garbage is a metadata with no user and no channel, never an error.
    assert ModalMetadata.of_view({"private_metadata": garbage}) == ModalMetadata("", None)


def test_metadata_of_a_view_is_what_it_carries() -> None:
    metadata = ModalMetadata("U1", "C1", revision=2, advanced=True)
    assert ModalMetadata.of_view({"private_metadata": metadata.to_json()}) == metadata
    assert ModalMetadata.of_view({}) == ModalMetadata("", None)


# --- read_deploy_form -----------------------------------------------------------------------


def test_reading_no_state_gives_the_defaults() -> None:
    assert read_deploy_form({}) == DeployForm(model=None, name="", namespace="", engine=None)


@pytest.mark.parametrize(
    "state",
    [
        {"model.0": "nope"},
        {"model.0": {"model_select": {"type": "static_select", "selected_option": "x"}}},
        {"name.0": {"name": {"type": "plain_text_input", "value": 5}}},
        {"options.0": {"options": {"type": "checkboxes", "selected_options": "x"}}},
        {5: {}},
        {"engine.x": {}},
    ],
)
def test_reading_odd_state_never_raises(state: dict[Any, Any]) -> None:
    form = read_deploy_form(state)
    assert isinstance(form, DeployForm)


def test_reading_takes_the_newest_revision_of_a_block() -> None:
    state = {
        "name.1": {"name": {"type": "plain_text_input", "value": "old"}},
        "name.2": {"name": {"type": "plain_text_input", "value": "new"}},
    }
    assert read_deploy_form(state).name == "new"


def test_an_emptied_text_input_reads_as_empty_not_as_the_default() -> None:
    state = {"hf_secret.0": {"hf_secret": {"type": "plain_text_input", "value": None}}}
    assert read_deploy_form(state).hf_token_secret == ""


def test_checkboxes_present_with_nothing_checked_turn_every_option_off() -> None:
    state = {"options.3": {"options": {"type": "checkboxes", "selected_options": []}}}
    form = read_deploy_form(state)
    assert (form.enforce_eager, form.enable_prefix_caching, form.trust_remote_code) == (
        False,
        False,
        False,
    )


def test_checked_options_read_as_true() -> None:
    selected = [{"value": OPTION_TRUST_REMOTE_CODE}, {"value": OPTION_PREFIX_CACHING}]
    state = {"options.0": {"options": {"type": "checkboxes", "selected_options": selected}}}
    form = read_deploy_form(state)
    assert (form.enforce_eager, form.enable_prefix_caching, form.trust_remote_code) == (
        False,
        True,
        True,
    )


# --- error_blocks ---------------------------------------------------------------------------


def test_each_request_field_maps_to_its_input_block_of_the_revision() -> None:
    errors = {field: f"bad {field}" for field in FIELD_BLOCKS}
    mapped = error_blocks(errors, 4)
    assert set(mapped) == {input_block_id(base, 4) for base in FIELD_BLOCKS.values()}
    assert mapped[input_block_id(BLOCK_NAME, 4)] == "bad name"


def test_fields_sharing_a_block_are_joined_and_named() -> None:
    mapped = error_blocks({"enforceEager": "no", "trustRemoteCode": "nope"}, 0)
    message = mapped[input_block_id(BLOCK_OPTIONS, 0)]
    assert "Enforce eager: no" in message
    assert "Trust remote code: nope" in message


def test_an_unknown_field_goes_to_the_model_block_with_its_name() -> None:
    mapped = error_blocks({"model": "pick one", "request": "is broken"}, 1)
    assert mapped == {input_block_id(BLOCK_MODEL, 1): "pick one · request: is broken"}


def test_long_error_messages_are_trimmed() -> None:
    mapped = error_blocks({"engine": "x " * 500}, 0)
    message = mapped[input_block_id(BLOCK_ENGINE, 0)]
    assert len(message) <= 150
    assert message.endswith("…")


def test_real_request_errors_land_on_blocks_of_the_modal(catalog: Catalog) -> None:
    bad = form_for(catalog, PHI, name="Bad_Name", engine="trtllm", replicas="99", memory="lots")
    with pytest.raises(RequestError) as caught:
        parse_request(bad.to_request_data(), catalog=catalog)
    mapped = error_blocks(caught.value.errors, 2)
    assert {"name.2", "engine.2", "size.2", "memory.2"} <= set(mapped)
    assert mapped["size.2"].startswith("Replicas: ")


def test_an_error_on_a_hidden_input_goes_to_the_model_block_named() -> None:
    shown = {BLOCK_MODEL, BLOCK_NAME, BLOCK_SIZE}
    mapped = error_blocks(
        {"hfTokenSecret": "is missing", "namespace": "is not allowed", "name": "is taken"},
        3,
        shown,
    )
    assert mapped == {
        input_block_id(BLOCK_MODEL, 3): "HF token secret (advanced options): "
        "is missing · Namespace: is not allowed",
        input_block_id(BLOCK_NAME, 3): "is taken",
    }


def test_a_hidden_engine_is_not_blamed_when_the_model_is_missing() -> None:
    shown = {BLOCK_MODEL, BLOCK_NAME, BLOCK_SIZE}
    mapped = error_blocks({"model": "is required", "engine": "is required"}, 0, shown)
    assert mapped == {input_block_id(BLOCK_MODEL, 0): "is required"}


def test_a_size_value_reads_back_as_gpus_and_replicas() -> None:
    chosen = {"type": "static_select", "selected_option": {"value": size_value(4, 2)}}
    state = {"size.0": {"size_select": chosen}}
    form = read_deploy_form(state)
    assert (form.gpus, form.replicas) == ("4", "2")
    assert parse_size("4x") is None and parse_size("x2") is None and parse_size("42") is None


def test_an_old_view_with_gpus_and_replicas_inputs_is_still_read() -> None:
    state = {
        "gpus.0": {"gpus": {"type": "number_input", "value": "2"}},
        "replicas.0": {"replicas": {"type": "number_input", "value": "3"}},
    }
    form = read_deploy_form(state)
    assert (form.gpus, form.replicas) == ("2", "3")


def test_metadata_keeps_the_advanced_flag_and_reads_old_metadata_without_it() -> None:
    shown = ModalMetadata("U1", "C1", 2, advanced=True)
    assert ModalMetadata.from_json(shown.to_json()) == shown
    assert ModalMetadata.from_json('{"user":"U1","channel":null,"revision":0}').advanced is False
    with pytest.raises(ValueError, match="advanced"):
        ModalMetadata.from_json('{"user":"U1","advanced":"yes"}')


def test_a_block_id_with_a_non_ascii_digit_suffix_is_read_without_crashing() -> None:
    # "²".isdigit() is True but int("²") fails: hypothesis found this through Slack payloads.
    form = read_deploy_form({"name.²": {"name": {"type": "plain_text_input", "value": "x"}}})
    assert form.name == "x"
