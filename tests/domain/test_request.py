"""Every rule of a deploy request, each with the message a person can act on."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.catalog import default_catalog_path, load_catalog
from bot.domain.request import (
    MAX_NAME_LENGTH,
    RFC1123_LABEL,
    SAFE_NAME_LENGTH,
    DeploymentRequest,
    Privileges,
    RequestError,
    RequestLimits,
    default_name,
    parse_request,
)

CATALOG = load_catalog(default_catalog_path())


def _request(privileges: Privileges | None = None, **fields: Any) -> DeploymentRequest:
    data: dict[str, Any] = {
        "model": "Qwen/Qwen3-0.6B",
        "name": "qwen3-0-6b",
        "namespace": "team-a",
        "engine": "vllm",
    }
    data.update(fields)
    return parse_request(data, catalog=CATALOG, limits=RequestLimits(4, 2), privileges=privileges)


def _errors(privileges: Privileges | None = None, **fields: Any) -> dict[str, str]:
    with pytest.raises(RequestError) as info:
        _request(privileges, **fields)
    return info.value.errors


def test_a_minimal_request_gets_the_defaults() -> None:
    request = _request()
    assert (request.mode, request.replicas, request.router_mode, request.gpus) == (
        "aggregated",
        1,
        "none",
        1,
    )
    assert request.enable_prefix_caching and not request.enforce_eager
    assert request.hf_token_secret == "hf-token-secret"
    assert request.served_name == "Qwen/Qwen3-0.6B"


def test_model_ids_are_matched_case_insensitively_and_normalised() -> None:
    assert _request(model="qwen/qwen3-0.6b").model == "Qwen/Qwen3-0.6B"


@pytest.mark.parametrize(
    ("model_id", "expected"),
    [
        ("Qwen/Qwen3-0.6B", "qwen3-0-6b"),
        ("TinyLlama/TinyLlama-1.1B-Chat-v1.0", "tinyllama-1-1b-chat-v1-0"),
        ("deepseek-ai/DeepSeek-R1-Distill-Llama-8B", "deepseek-r1-distill-llama-8b"),
    ],
)
def test_default_name_comes_from_the_model_id(model_id: str, expected: str) -> None:
    assert default_name(model_id) == expected


@given(st.text(max_size=300))
def test_default_name_always_obeys_the_name_rule(model_id: str) -> None:
    name = default_name(model_id)
    assert RFC1123_LABEL.fullmatch(name) and len(name) <= MAX_NAME_LENGTH


def test_every_catalog_default_name_is_accepted() -> None:
    for model in CATALOG.models:
        assert _request(model=model.id, name=default_name(model.id)).name


@pytest.mark.parametrize("name", ["Qwen3", "-lead", "trail-", "under_score", "dot.ted", ""])
def test_names_must_be_rfc1123_labels(name: str) -> None:
    assert "name" in _errors(name=name)


def test_a_name_too_long_for_its_services_says_the_maximum() -> None:
    # vLLM aggregated on Dynamo 1.4: <name>-vllmdecodeworker-<8 hex> must fit 63.
    message = _errors(name="a" * 38)["name"]
    assert "at most 37" in message and "vllmdecodeworker" in message and "63" in message
    assert _request(name="a" * 37).name


def test_no_name_is_longer_than_the_longest_any_engine_mode_or_release_allows() -> None:
    limits = RequestLimits(4, 2, "1.6.0")
    data = {"model": "Qwen/Qwen3-0.6B", "namespace": "a", "engine": "sglang"}
    assert parse_request({**data, "name": "a" * MAX_NAME_LENGTH}, catalog=CATALOG, limits=limits)
    with pytest.raises(RequestError, match=f"at most {MAX_NAME_LENGTH} "):
        parse_request({**data, "name": "a" * (MAX_NAME_LENGTH + 1)}, catalog=CATALOG, limits=limits)


@pytest.mark.parametrize("engine", ["vllm", "sglang"])
def test_the_kv_router_without_prefix_caching_is_refused_saying_why(engine: str) -> None:
    message = _errors(engine=engine, routerMode="kv", enablePrefixCaching=False)[
        "enablePrefixCaching"
    ]
    assert "KV router" in message and "prefix caching" in message and "round-robin" in message
    assert _request(engine=engine, routerMode="kv").enable_prefix_caching
    assert _request(engine=engine, routerMode="round-robin", enablePrefixCaching=False)


@given(st.text(max_size=300), st.from_regex(r"[a-z0-9]([-a-z0-9]{0,50}[a-z0-9])?", fullmatch=True))
def test_a_default_name_fits_its_namespace_for_every_engine_and_mode(
    model_id: str, namespace: str
) -> None:
    name = default_name(model_id, namespace)
    assert RFC1123_LABEL.fullmatch(name)
    assert len(name) <= SAFE_NAME_LENGTH and len(f"{namespace}-{name}") <= 63


def test_namespace_and_secret_names_are_checked() -> None:
    errors = _errors(namespace="Team A", hfTokenSecret="HF Token!")
    assert set(errors) == {"namespace", "hfTokenSecret"}
    allowed = Privileges(hf_secrets=("hf-token-secret", "hf.token-1"))
    assert _request(allowed, hfTokenSecret="hf.token-1").hf_token_secret == "hf.token-1"


def test_an_unknown_model_lists_the_catalog() -> None:
    message = _errors(model="openai/gpt-5")["model"]
    assert "not in the catalog" in message and "Qwen/Qwen3-0.6B" in message


def test_an_engine_the_model_does_not_support_names_the_supported_ones() -> None:
    message = _errors(model="TinyLlama/TinyLlama-1.1B-Chat-v1.0", engine="trtllm")["engine"]
    assert "vLLM or SGLang" in message and "vllm, sglang" in message


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("replicas", 0, "between 1 and 4"),
        ("replicas", 5, "between 1 and 4"),
        ("replicas", "two", "whole number"),
        ("gpus", 3, "between 1 and 2"),
        ("mode", "split", "'aggregated' or 'disaggregated'"),
        ("routerMode", "random", "'none', 'kv' or 'round-robin'"),
        ("contextLength", 40000, "between 1 and 32,768"),
        ("contextLength", 0, "between 1 and 32,768"),
        ("memory", "16 GB", "Kubernetes quantity"),
        ("servedModelName", "my model", "no spaces"),
        ("enforceEager", "perhaps", "true or false"),
        ("colour", "blue", "not a field"),
    ],
)
def test_each_field_rule_has_a_message(field: str, value: object, fragment: str) -> None:
    assert fragment in _errors(**{field: value})[field]


def test_all_field_errors_are_reported_at_once() -> None:
    errors = _errors(name="Bad", replicas=0, memory="lots")
    assert set(errors) == {"name", "replicas", "memory"}


def test_valid_options_are_kept() -> None:
    request = _request(
        Privileges(admin=True),  # trust-remote-code for a model the catalog does not mark
        mode="disaggregated",
        replicas="2",
        routerMode="round-robin",
        gpus=2,
        contextLength=8192,
        memory="16Gi",
        servedModelName="team/qwen",
        enforceEager="true",
        enablePrefixCaching=False,
        trustRemoteCode=True,
    )
    assert request.replicas == 2 and request.worker_count == 4 and request.total_gpus == 8
    assert request.served_name == "team/qwen"


@pytest.mark.parametrize(
    ("field", "value"),
    [("enforceEager", True), ("enablePrefixCaching", False), ("trustRemoteCode", True)],
)
def test_trtllm_rejects_options_its_worker_does_not_have(field: str, value: bool) -> None:
    message = _errors(engine="trtllm", **{field: value})[field]
    assert "TensorRT-LLM" in message


def test_trtllm_rejects_multi_gpu_workers_because_its_engine_config_pins_one() -> None:
    assert "one GPU per worker" in _errors(engine="trtllm", gpus=2)["gpus"]


def test_engine_args_lines_become_a_flat_mapping() -> None:
    request = _request(engineArgs="max-num-seqs=64\n\n# a comment\nenable-chunked-prefill\n")
    assert request.engine_args == {"max-num-seqs": 64, "enable-chunked-prefill": True}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("--max-num-seqs=4", "without leading dashes"),
        ("Max_Seqs=4", "not a flag name"),
        ("model=evil/model", "set by Dynamote"),
        ("served-model-name=x", "set by Dynamote"),
        ("gpu-memory-utilization=0.9; rm -rf /", "may not start with '-' or contain"),
        ("block-size=$(id)", "may not start with '-' or contain"),
        ("block-size=--model", "may not start with '-'"),
        ("block-size=", "has no value"),
        ("a=1\na=2", "given twice"),
    ],
)
def test_engine_args_cannot_smuggle_flags_or_shell(text: str, fragment: str) -> None:
    assert fragment in _errors(engineArgs=text)["engineArgs"]


def test_engine_args_as_a_mapping_reject_newlines_and_false() -> None:
    assert "line breaks" in _errors(engineArgs={"seed": "1\n--model x"})["engineArgs"]
    assert "negative flag" in _errors(engineArgs={"enable-chunked-prefill": False})["engineArgs"]
    assert "text, a number or true" in _errors(engineArgs={"seed": [1]})["engineArgs"]


@given(st.dictionaries(st.text(max_size=20), st.text(max_size=40), max_size=5))
def test_no_engine_arg_mapping_yields_a_value_that_starts_a_flag_or_breaks_a_line(
    args: dict[str, str],
) -> None:
    try:
        request = _request(engineArgs=args)
    except RequestError:
        return
    for flag, value in request.engine_args.items():
        assert not flag.startswith("-") and "\n" not in flag
        assert not str(value).startswith("-") and "\n" not in str(value)


def test_the_request_annotation_round_trips() -> None:
    request = _request(routerMode="kv", engineArgs="max-num-seqs=8")
    again = DeploymentRequest.model_validate_json(
        request.to_annotation(), context={"catalog": CATALOG}
    )
    assert again == request
