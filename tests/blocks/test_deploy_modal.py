"""The deploy modal: its inputs, their initial values, and the round trip through Slack's state."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.blocks.deploy_form import (
    DeployForm,
    ModalMetadata,
    initial_form,
    read_deploy_form,
)
from bot.blocks.deploy_modal import (
    build_deploy_modal,
)
from bot.blocks.ids import (
    ACTION_MODEL_SELECT,
    ACTION_PREVIEW_YAML,
    BLOCK_CONTEXT_LENGTH,
    BLOCK_ENGINE,
    BLOCK_ENGINE_ARGS,
    BLOCK_GPUS,
    BLOCK_HF_SECRET,
    BLOCK_MEMORY,
    BLOCK_MODE,
    BLOCK_MODEL,
    BLOCK_NAME,
    BLOCK_NAMESPACE,
    BLOCK_OPTIONS,
    BLOCK_REPLICAS,
    BLOCK_ROUTER,
    BLOCK_SERVED_NAME,
    CALLBACK_DEPLOY,
    OPTION_ENFORCE_EAGER,
    OPTION_PREFIX_CACHING,
    OPTION_TRUST_REMOTE_CODE,
    base_block_id,
    input_block_id,
)
from bot.catalog import Catalog, Model
from bot.request import MAX_NAME_LENGTH, RequestLimits
from tests.blocks.conftest import NASTY, fits_view

NAMESPACES = ("dynamo-system", "team-a", "team-b")
LIMITS = RequestLimits(max_replicas=4, max_gpus_per_worker=8)
PHI = "microsoft/Phi-3-mini-4k-instruct"


def build(
    catalog: Catalog,
    form: DeployForm,
    *,
    revision: int = 0,
    notice: str | None = None,
    namespaces: tuple[str, ...] = NAMESPACES,
) -> dict[str, Any]:
    view = build_deploy_modal(
        catalog,
        form,
        namespaces=namespaces,
        limits=LIMITS,
        metadata=ModalMetadata("U1", "C1", revision),
        notice=notice,
    )
    return fits_view(view)


def inputs(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """base block id -> input block."""
    return {base_block_id(b["block_id"]): b for b in view["blocks"] if b["type"] == "input"}


def slack_state(view: dict[str, Any]) -> dict[str, Any]:
    """view.state.values as Slack sends it when the user submits the view untouched."""
    values: dict[str, Any] = {}
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        element = block["element"]
        kind = element["type"]
        if kind in ("static_select", "radio_buttons"):
            value = {"type": kind, "selected_option": element.get("initial_option")}
        elif kind == "checkboxes":
            value = {"type": kind, "selected_options": element.get("initial_options", [])}
        else:
            value = {"type": kind, "value": element.get("initial_value")}
        values[block["block_id"]] = {element["action_id"]: value}
    return values


def first_form(catalog: Catalog, model_id: str | None = "Qwen/Qwen3-0.6B") -> DeployForm:
    model = catalog.get(model_id) if model_id else None
    return initial_form(catalog, model, namespace="dynamo-system", hf_secret="hf-token-secret")


def test_the_modal_has_its_callback_title_buttons_and_metadata(catalog: Catalog) -> None:
    view = build(catalog, first_form(catalog), revision=3)
    assert view["type"] == "modal"
    assert view["callback_id"] == CALLBACK_DEPLOY
    assert view["title"]["text"] == "Deploy a model"
    assert view["submit"]["text"] == "Deploy"
    assert view["close"]["text"] == "Cancel"
    assert ModalMetadata.from_json(view["private_metadata"]) == ModalMetadata("U1", "C1", 3)


def test_every_input_carries_the_revision_in_its_block_id(catalog: Catalog) -> None:
    view = build(catalog, first_form(catalog), revision=5)
    expected = {
        BLOCK_MODEL,
        BLOCK_NAME,
        BLOCK_NAMESPACE,
        BLOCK_ENGINE,
        BLOCK_MODE,
        BLOCK_REPLICAS,
        BLOCK_ROUTER,
        BLOCK_HF_SECRET,
        BLOCK_GPUS,
        BLOCK_CONTEXT_LENGTH,
        BLOCK_MEMORY,
        BLOCK_SERVED_NAME,
        BLOCK_OPTIONS,
        BLOCK_ENGINE_ARGS,
    }
    found = inputs(view)
    assert set(found) == expected
    assert all(block["block_id"] == input_block_id(base, 5) for base, block in found.items())


def test_the_model_select_lists_the_catalog_and_dispatches_on_change(catalog: Catalog) -> None:
    block = inputs(build(catalog, first_form(catalog, PHI)))[BLOCK_MODEL]
    assert block["dispatch_action"] is True
    element = block["element"]
    assert element["action_id"] == ACTION_MODEL_SELECT
    assert [o["value"] for o in element["options"]] == [m.id for m in catalog]
    assert element["initial_option"]["value"] == PHI


def test_without_a_model_nothing_is_selected_and_all_engines_are_offered(
    catalog: Catalog,
) -> None:
    found = inputs(build(catalog, first_form(catalog, None)))
    assert "initial_option" not in found[BLOCK_MODEL]["element"]
    engines = [o["value"] for o in found[BLOCK_ENGINE]["element"]["options"]]
    assert engines == ["vllm", "sglang", "trtllm"]
    assert "initial_option" not in found[BLOCK_ENGINE]["element"]


def test_the_engine_choices_are_only_the_models_engines(catalog: Catalog) -> None:
    element = inputs(build(catalog, first_form(catalog, PHI)))[BLOCK_ENGINE]["element"]
    assert [o["value"] for o in element["options"]] == ["vllm", "sglang"]
    assert element["initial_option"]["value"] == "vllm"


def test_the_name_input_is_bounded_and_says_the_rule(catalog: Catalog) -> None:
    block = inputs(build(catalog, first_form(catalog)))[BLOCK_NAME]
    assert block["element"]["max_length"] == MAX_NAME_LENGTH
    assert block["element"]["initial_value"] == "qwen3-0-6b"
    assert "lowercase" in block["hint"]["text"]


def test_numbers_are_bounded_by_the_limits(catalog: Catalog) -> None:
    found = inputs(build(catalog, first_form(catalog)))
    replicas = found[BLOCK_REPLICAS]["element"]
    gpus = found[BLOCK_GPUS]["element"]
    assert (replicas["min_value"], replicas["max_value"]) == ("1", "4")
    assert (gpus["min_value"], gpus["max_value"]) == ("1", "8")
    assert replicas["is_decimal_allowed"] is False


def test_a_number_outside_its_bounds_is_not_offered_as_initial_value(catalog: Catalog) -> None:
    form = replace(first_form(catalog), replicas="99", gpus="two")
    found = inputs(build(catalog, form))
    assert "initial_value" not in found[BLOCK_REPLICAS]["element"]
    assert "initial_value" not in found[BLOCK_GPUS]["element"]


def test_optional_inputs_are_marked_optional(catalog: Catalog) -> None:
    found = inputs(build(catalog, first_form(catalog)))
    optional = {base for base, block in found.items() if block.get("optional")}
    assert optional == {
        BLOCK_CONTEXT_LENGTH,
        BLOCK_MEMORY,
        BLOCK_SERVED_NAME,
        BLOCK_OPTIONS,
        BLOCK_ENGINE_ARGS,
    }


def test_the_context_length_hint_names_the_models_maximum(catalog: Catalog) -> None:
    hint = inputs(build(catalog, first_form(catalog, PHI)))[BLOCK_CONTEXT_LENGTH]["hint"]["text"]
    model = catalog.get(PHI)
    assert model is not None
    assert f"{model.context_length:,}" in hint


def test_the_options_start_checked_as_the_form_says(catalog: Catalog) -> None:
    form = replace(first_form(catalog), enforce_eager=True, enable_prefix_caching=False)
    element = inputs(build(catalog, form))[BLOCK_OPTIONS]["element"]
    assert {o["value"] for o in element["options"]} == {
        OPTION_ENFORCE_EAGER,
        OPTION_PREFIX_CACHING,
        OPTION_TRUST_REMOTE_CODE,
    }
    assert [o["value"] for o in element["initial_options"]] == [OPTION_ENFORCE_EAGER]


def test_no_checked_option_means_no_initial_options(catalog: Catalog) -> None:
    form = replace(first_form(catalog), enable_prefix_caching=False)
    assert "initial_options" not in inputs(build(catalog, form))[BLOCK_OPTIONS]["element"]


def test_engine_args_are_multiline_with_the_example_placeholder(catalog: Catalog) -> None:
    block = inputs(build(catalog, first_form(catalog)))[BLOCK_ENGINE_ARGS]
    assert block["element"]["multiline"] is True
    assert block["element"]["placeholder"]["text"] == "max-num-seqs=64"
    assert "leading dashes" in block["hint"]["text"]


def test_preview_button_and_advanced_header_are_there(catalog: Catalog) -> None:
    view = build(catalog, first_form(catalog))
    actions = [e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [a["action_id"] for a in actions] == [ACTION_PREVIEW_YAML]
    headers = [b["text"]["text"] for b in view["blocks"] if b["type"] == "header"]
    assert headers == ["Advanced"]


def test_a_notice_comes_first_escaped(catalog: Catalog) -> None:
    view = build(catalog, first_form(catalog), notice="Secret <hf> & co is missing")
    first = view["blocks"][0]
    assert first["type"] == "context"
    assert first["elements"][0]["text"] == "Secret &lt;hf&gt; &amp; co is missing"


def test_a_namespace_outside_the_list_is_not_preselected(catalog: Catalog) -> None:
    form = replace(first_form(catalog), namespace="elsewhere")
    element = inputs(build(catalog, form))[BLOCK_NAMESPACE]["element"]
    assert [o["value"] for o in element["options"]] == list(NAMESPACES)
    assert "initial_option" not in element


def test_without_allowed_namespaces_the_forms_namespace_is_offered(catalog: Catalog) -> None:
    element = inputs(build(catalog, first_form(catalog), namespaces=()))[BLOCK_NAMESPACE]
    assert element["element"]["initial_option"]["value"] == "dynamo-system"


def test_a_catalog_of_150_models_offers_100_with_the_selected_one(catalog: Catalog) -> None:
    base = catalog.models[0]
    many = Catalog(
        [base.model_copy(update={"id": f"org/model-{i}", "name": f"Model {i}"}) for i in range(150)]
    )
    form = replace(first_form(catalog), model="org/model-140")
    element = inputs(build(many, form))[BLOCK_MODEL]["element"]
    assert len(element["options"]) == 100
    assert element["initial_option"]["value"] == "org/model-140"


def test_the_round_trip_gives_back_the_initial_form(catalog: Catalog) -> None:
    form = first_form(catalog)
    assert read_deploy_form(slack_state(build(catalog, form, revision=2))) == form


def test_the_round_trip_gives_back_a_fully_filled_form(catalog: Catalog) -> None:
    form = DeployForm(
        model=PHI,
        name="my-phi",
        namespace="team-b",
        engine="sglang",
        mode="disaggregated",
        replicas="4",
        router_mode="round-robin",
        hf_token_secret="other-secret",
        gpus="8",
        context_length="999999",  # above the model's maximum: kept for the rules to refuse
        memory="16Gi",
        served_model_name="team/phi",
        enforce_eager=True,
        enable_prefix_caching=False,
        trust_remote_code=True,
        engine_args="max-num-seqs=64\nenable-chunked-prefill",
    )
    assert read_deploy_form(slack_state(build(catalog, form, revision=9))) == form


typed_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("<>&*`_~\n"),
    min_size=1,
    max_size=40,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    model=st.sampled_from(["Qwen/Qwen3-0.6B", PHI, "TinyLlama/TinyLlama-1.1B-Chat-v1.0"]),
    name=typed_text,
    namespace=st.sampled_from(NAMESPACES),
    mode=st.sampled_from(["aggregated", "disaggregated"]),
    router=st.sampled_from(["none", "kv", "round-robin"]),
    replicas=st.integers(1, 4),
    gpus=st.integers(1, 8),
    context=st.one_of(st.just(""), st.integers(1, 10_000_000).map(str)),
    memory=st.one_of(st.just(""), typed_text.map(lambda t: t[:20])),
    served=st.one_of(st.just(""), typed_text),
    secret=typed_text,
    flags=st.tuples(st.booleans(), st.booleans(), st.booleans()),
    args=st.one_of(st.just(""), typed_text),
)
def test_the_round_trip_keeps_whatever_the_user_typed(
    catalog: Catalog,
    model: str,
    name: str,
    namespace: str,
    mode: str,
    router: str,
    replicas: int,
    gpus: int,
    context: str,
    memory: str,
    served: str,
    secret: str,
    flags: tuple[bool, bool, bool],
    args: str,
) -> None:
    chosen: Model | None = catalog.get(model)
    assert chosen is not None
    form = DeployForm(
        model=model,
        name=name,
        namespace=namespace,
        engine=chosen.supported_engines[-1],
        mode=mode,
        replicas=str(replicas),
        router_mode=router,
        hf_token_secret=secret,
        gpus=str(gpus),
        context_length=context,
        memory=memory,
        served_model_name=served,
        enforce_eager=flags[0],
        enable_prefix_caching=flags[1],
        trust_remote_code=flags[2],
        engine_args=args,
    )
    assert read_deploy_form(slack_state(build(catalog, form, revision=1))) == form


def test_long_and_special_values_still_fit_slacks_limits(catalog: Catalog) -> None:
    form = replace(
        first_form(catalog),
        name=NASTY * 10,
        hf_token_secret=NASTY * 100,
        memory=NASTY * 10,
        served_model_name=NASTY * 100,
        engine_args=NASTY * 500,
        context_length="12345678901234567890",
    )
    long_namespaces = tuple(f"{'n' * 200}-{i}" for i in range(150))
    view = build(catalog, form, notice=NASTY * 200, namespaces=long_namespaces)
    name = inputs(view)[BLOCK_NAME]["element"]["initial_value"]
    assert len(name) <= MAX_NAME_LENGTH


@pytest.mark.parametrize("revision", [0, 1, 250])
def test_the_modal_fits_for_any_revision(catalog: Catalog, revision: int) -> None:
    build(catalog, first_form(catalog), revision=revision)
