"""The deploy modal: its inputs, their initial values, and the round trip through Slack's state."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.blocks.deploy_cost import Budget
from bot.blocks.deploy_form import (
    DeployForm,
    ModalMetadata,
    chosen_channel,
    initial_form,
    read_deploy_form,
    with_default_engine,
)
from bot.blocks.deploy_modal import (
    build_deploy_modal,
)
from bot.blocks.ids import (
    ACTION_MODEL_SELECT,
    ACTION_PREVIEW_YAML,
    ACTION_SHOW_ADVANCED,
    ACTION_SIZE_SELECT,
    BLOCK_CHANNEL,
    BLOCK_CONTEXT_LENGTH,
    BLOCK_ENGINE,
    BLOCK_ENGINE_ARGS,
    BLOCK_HF_SECRET,
    BLOCK_MEMORY,
    BLOCK_MODE,
    BLOCK_MODEL,
    BLOCK_NAME,
    BLOCK_NAMESPACE,
    BLOCK_OPTIONS,
    BLOCK_ROUTER,
    BLOCK_SERVED_NAME,
    BLOCK_SIZE,
    CALLBACK_DEPLOY,
    OPTION_ENFORCE_EAGER,
    OPTION_PREFIX_CACHING,
    OPTION_TRUST_REMOTE_CODE,
    base_block_id,
    input_block_id,
)
from bot.domain.catalog import Catalog, Model
from bot.domain.policy import Usage
from bot.domain.request import MAX_NAME_LENGTH, RequestLimits
from tests.blocks.conftest import NASTY, fits_view, shown_text
from tests.standins.slack_requests import view_state


def text_of(view: dict[str, Any]) -> str:
    return shown_text(view)


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
    advanced: bool = True,
    budget: Budget | None = None,
    channel: str | None = "C1",
) -> dict[str, Any]:
    view = build_deploy_modal(
        catalog,
        form,
        namespaces=namespaces,
        limits=LIMITS,
        metadata=ModalMetadata("U1", channel, revision, advanced=advanced),
        notice=notice,
        budget=budget,
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
    view = build(catalog, first_form(catalog), revision=3, advanced=False)
    assert view["type"] == "modal"
    assert view["callback_id"] == CALLBACK_DEPLOY
    assert view["title"]["text"] == "Deploy a model"
    assert view["submit"]["text"] == "Deploy"
    assert view["close"]["text"] == "Cancel"
    assert ModalMetadata.from_json(view["private_metadata"]) == ModalMetadata("U1", "C1", 3)


def test_the_form_opens_with_the_essentials_only(catalog: Catalog) -> None:
    view = build(catalog, first_form(catalog), advanced=False)
    assert list(inputs(view)) == [BLOCK_MODEL, BLOCK_NAME, BLOCK_NAMESPACE, BLOCK_SIZE]
    actions = [e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [a["action_id"] for a in actions] == [ACTION_PREVIEW_YAML, ACTION_SHOW_ADVANCED]
    assert [b for b in view["blocks"] if b["type"] == "header"] == []


def test_one_namespace_is_not_asked_for(catalog: Catalog) -> None:
    view = build(catalog, first_form(catalog), advanced=False, namespaces=("dynamo-system",))
    assert list(inputs(view)) == [BLOCK_MODEL, BLOCK_NAME, BLOCK_SIZE]


def test_the_advanced_options_keep_their_order_after_the_essentials(catalog: Catalog) -> None:
    view = build(catalog, first_form(catalog))
    assert list(inputs(view)) == [
        BLOCK_MODEL,
        BLOCK_NAME,
        BLOCK_NAMESPACE,
        BLOCK_SIZE,
        BLOCK_ENGINE,
        BLOCK_MODE,
        BLOCK_ROUTER,
        BLOCK_CONTEXT_LENGTH,
        BLOCK_MEMORY,
        BLOCK_SERVED_NAME,
        BLOCK_OPTIONS,
        BLOCK_ENGINE_ARGS,
        BLOCK_HF_SECRET,
    ]
    actions = [e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [a["action_id"] for a in actions] == [ACTION_PREVIEW_YAML]


def test_the_size_offers_gpus_and_replicas_within_the_limits_smallest_first(
    catalog: Catalog,
) -> None:
    block = inputs(build(catalog, first_form(catalog), advanced=False))[BLOCK_SIZE]
    assert block["dispatch_action"] is True
    element = block["element"]
    assert element["action_id"] == ACTION_SIZE_SELECT
    labels = [o["text"]["text"] for o in element["options"]]
    assert labels[:3] == ["1 GPU", "2 GPUs, tensor-parallel", "2 replicas, 1 GPU each"]
    values = [o["value"] for o in element["options"]]
    assert len(values) == len(set(values)) == 4 * 4  # 1, 2, 4, 8 GPUs x 1-4 replicas
    assert element["initial_option"]["value"] == "1x1"


def test_disaggregated_sizes_say_they_double_the_gpus(catalog: Catalog) -> None:
    form = replace(first_form(catalog), mode="disaggregated")
    options = inputs(build(catalog, form))[BLOCK_SIZE]["element"]["options"]
    assert options[0]["description"]["text"] == "2 GPUs in all"


def test_an_odd_size_is_kept_as_a_choice(catalog: Catalog) -> None:
    form = replace(first_form(catalog), gpus="3", replicas="2")
    element = inputs(build(catalog, form))[BLOCK_SIZE]["element"]
    assert element["initial_option"]["value"] == "3x2"


def test_the_cost_line_sits_above_submit_with_where_progress_goes(catalog: Catalog) -> None:
    budget = Budget(max_gpus_per_user=8, max_deployments_per_user=3, usage=Usage(1, 2))
    form = replace(first_form(catalog), gpus="2", replicas="1")
    view = build(catalog, form, advanced=False, budget=budget)
    *_, cost, where = view["blocks"]
    assert cost["type"] == where["type"] == "context"
    assert cost["elements"][0]["text"] == (
        "Uses 2 GPUs · you use 2 of your 8 GPUs and 1 of your 3 deployments."
    )
    assert where["elements"][0]["text"] == (
        "Progress is posted in <#C1>, with updates in its thread."
    )


def test_free_gpus_are_shown_only_when_given(catalog: Catalog) -> None:
    with_free = build(catalog, first_form(catalog), budget=Budget(free_gpus=5))
    without = build(catalog, first_form(catalog), budget=Budget())
    assert "5 GPUs free in the cluster" in text_of(with_free)
    assert "free in the cluster" not in text_of(without)


def test_a_used_up_quota_is_said_at_the_top(catalog: Catalog) -> None:
    budget = Budget(max_gpus_per_user=4, usage=Usage(2, 4))
    view = build(catalog, first_form(catalog), advanced=False, budget=budget)
    first = view["blocks"][0]
    assert first["type"] == "section"
    assert first["text"]["text"].startswith(":no_entry: Does not fit: your GPUs are all in use")


def test_from_app_home_with_allowed_channels_the_form_asks_which_one(catalog: Catalog) -> None:
    view = fits_view(
        build_deploy_modal(
            catalog,
            first_form(catalog),
            namespaces=NAMESPACES,
            limits=LIMITS,
            metadata=ModalMetadata("U1", None),
            channels=("C0DEPLOYS", "C0ML"),
        )
    )
    assert list(inputs(view)) == [
        BLOCK_MODEL,
        BLOCK_NAME,
        BLOCK_NAMESPACE,
        BLOCK_CHANNEL,
        BLOCK_SIZE,
    ]
    element = inputs(view)[BLOCK_CHANNEL]["element"]
    assert (element["type"], element["initial_conversation"]) == (
        "conversations_select",
        "C0DEPLOYS",
    )
    assert "the channel you choose" in view["blocks"][-1]["elements"][0]["text"]
    assert chosen_channel(view_state(view)) == "C0DEPLOYS"
    assert chosen_channel(view_state(view, {"channel": "C0ML"})) == "C0ML"
    assert chosen_channel(view_state(view, {"channel": None})) is None


def test_from_app_home_progress_comes_by_direct_message(catalog: Catalog) -> None:
    view = build(catalog, first_form(catalog), channel=None)
    assert view["blocks"][-1]["elements"][0]["text"] == (
        "Progress comes to you in a direct message from Dynamote."
    )


def test_every_input_carries_the_revision_in_its_block_id(catalog: Catalog) -> None:
    view = build(catalog, first_form(catalog), revision=5)
    expected = {
        BLOCK_MODEL,
        BLOCK_NAME,
        BLOCK_NAMESPACE,
        BLOCK_ENGINE,
        BLOCK_MODE,
        BLOCK_SIZE,
        BLOCK_ROUTER,
        BLOCK_HF_SECRET,
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


def test_a_size_that_is_not_a_number_is_not_preselected(catalog: Catalog) -> None:
    form = replace(first_form(catalog), replicas="99", gpus="two")
    assert "initial_option" not in inputs(build(catalog, form))[BLOCK_SIZE]["element"]


def test_a_context_length_is_bounded_below(catalog: Catalog) -> None:
    element = inputs(build(catalog, first_form(catalog)))[BLOCK_CONTEXT_LENGTH]["element"]
    assert element["min_value"] == "1"
    assert element["is_decimal_allowed"] is False


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


def test_the_advanced_options_have_a_header(catalog: Catalog) -> None:
    view = build(catalog, first_form(catalog))
    headers = [b["text"]["text"] for b in view["blocks"] if b["type"] == "header"]
    assert headers == ["Advanced options"]


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


def test_without_a_choice_of_namespaces_none_is_asked_for(catalog: Catalog) -> None:
    assert BLOCK_NAMESPACE not in inputs(build(catalog, first_form(catalog), namespaces=()))


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


def test_the_round_trip_of_the_essentials_takes_the_rest_from_the_defaults(
    catalog: Catalog,
) -> None:
    form = replace(first_form(catalog), gpus="2", replicas="3")
    state = slack_state(build(catalog, form, advanced=False, namespaces=("dynamo-system",)))
    hidden = DeployForm(
        model=None, name="", namespace="dynamo-system", engine=None, hf_token_secret="hf-x"
    )
    read = with_default_engine(read_deploy_form(state, hidden), catalog)
    assert read == replace(form, hf_token_secret="hf-x")


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
