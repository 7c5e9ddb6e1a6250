"""Extra engine args by allow-list: typed values, abbreviations, Dynamote's own flags, the
settings that change the list, and the attacks the deny-list let through."""

from __future__ import annotations

from typing import Any

import pytest

from bot.config.settings import SettingsError, load_settings
from bot.domain.catalog import Catalog, default_catalog_path, load_catalog
from bot.domain.engine_args import (
    DEFAULT_ALLOWED,
    DYNAMOTE_FLAGS,
    LIBRARY,
    EngineArgError,
    EngineArgRules,
    check_args,
    parse_rule_entries,
)
from bot.domain.privileges import Privileges, privileges_of
from bot.domain.request import RequestError, parse_request

CATALOG = load_catalog(default_catalog_path())


def _errors(privileges: Privileges | None = None, **fields: Any) -> dict[str, str]:
    data = {"model": "Qwen/Qwen3-0.6B", "name": "q", "namespace": "team-a", "engine": "vllm"}
    with pytest.raises(RequestError) as info:
        parse_request({**data, **fields}, catalog=CATALOG, privileges=privileges)
    return info.value.errors


# --- the attacks of the deny-list, refused ------------------------------------------------


@pytest.mark.parametrize(
    ("engine_args", "fragment"),
    [
        ("tokenizer=attacker/evil-tokenizer", "tokenizer is not allowed for vLLM"),
        ("revision=refs/pr/1", "revision is not allowed"),
        ('speculative-config={"model":"attacker/draft"}', "speculative-config is not allowed"),
        ('hf-overrides={"architectures":["Evil"]}', "hf-overrides is not allowed"),
        ("logits-processors=attacker.module:Proc", "logits-processors is not allowed"),
        ("worker-extension-cls=attacker.Ext", "worker-extension-cls is not allowed"),
        ("endpoint=dyn://team-b.backend.generate", "endpoint is set by Dynamote"),
        ("namespace=team-b", "namespace is set by Dynamote"),
        ("custom-jinja-template=/var/run/secrets/token", "custom-jinja-template is not allowed"),
        ("connector=nixl", "connector is set by Dynamote"),
        ("publish-kv-events", "publish-kv-events is set by Dynamote"),
        ("served-model=other", "served-model abbreviates served-model-name"),
        ("tensor-parallel=8", "tensor-parallel abbreviates tensor-parallel-size"),
        ("max-model=4096", "max-model abbreviates max-model-len"),
        ("max-model-len=4096", "use the Context length field"),
        ("tok=attacker/evil", "tok abbreviates tokenizer"),
        ("hf-token=hf_abcdefghijklmnopqrstuvwxyz", "would store a secret"),
        ("api-key=abc", "would store a secret"),
    ],
)
def test_flags_outside_the_allow_list_are_refused_with_the_reason(
    engine_args: str, fragment: str
) -> None:
    message = _errors(engineArgs=engine_args)["engineArgs"]
    assert fragment in message


def test_a_refusal_lists_what_is_allowed_most_useful_first() -> None:
    message = _errors(engineArgs="tokenizer=x")["engineArgs"]
    assert message.endswith(
        "Allowed: max-num-seqs, max-num-batched-tokens, gpu-memory-utilization, block-size, "
        "kv-cache-dtype, enable-chunked-prefill, no-enable-chunked-prefill, dtype"
    )


def test_a_secret_value_is_never_repeated_in_the_error() -> None:
    message = _errors(engineArgs="hf-token=hf_abcdefghijklmnopqrstuvwxyz")["engineArgs"]
    assert "hf_abc" not in message


def test_trust_remote_code_needs_the_catalog_or_an_admin() -> None:
    assert "Trust remote code" in _errors(trustRemoteCode=True)["trustRemoteCode"]
    data = {"model": "Qwen/Qwen3-0.6B", "name": "q", "namespace": "team-a", "engine": "vllm"}
    admin = parse_request(
        {**data, "trustRemoteCode": True}, catalog=CATALOG, privileges=Privileges(admin=True)
    )
    assert admin.trust_remote_code
    marked = CATALOG.models[0].model_copy(update={"trust_remote_code": True})
    catalog = Catalog([marked, *CATALOG.models[1:]])
    allowed = parse_request({**data, "trustRemoteCode": True}, catalog=catalog)
    assert allowed.trust_remote_code


def test_only_the_configured_hf_secrets_are_accepted() -> None:
    message = _errors(hfTokenSecret="team-a-db-credentials")["hfTokenSecret"]
    assert "hf-token-secret" in message and "DYNAMOTE_HF_SECRETS" in message
    settings = load_settings(hf_secrets="team-a-hf,team-b-hf")
    data = {"model": "Qwen/Qwen3-0.6B", "name": "q", "namespace": "team-a", "engine": "vllm"}
    privileges = privileges_of(settings, admin=False)
    assert privileges.hf_secrets == ("hf-token-secret", "team-a-hf", "team-b-hf")
    request = parse_request(
        {**data, "hfTokenSecret": "team-b-hf"}, catalog=CATALOG, privileges=privileges
    )
    assert request.hf_token_secret == "team-b-hf"
    with pytest.raises(RequestError):  # admins too: the list is for everyone
        parse_request(
            {**data, "hfTokenSecret": "team-a-db-credentials"},
            catalog=CATALOG,
            privileges=privileges_of(settings, admin=True),
        )


# --- typed values -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("engine", "args", "typed"),
    [
        ("vllm", {"max-num-seqs": "64"}, {"max-num-seqs": 64}),
        ("vllm", {"gpu-memory-utilization": "0.9"}, {"gpu-memory-utilization": 0.9}),
        ("vllm", {"block-size": "32", "enable-chunked-prefill": True},
         {"block-size": "32", "enable-chunked-prefill": True}),
        ("vllm", {"kv-cache-dtype": "fp8"}, {"kv-cache-dtype": "fp8"}),
        ("sglang", {"mem-fraction-static": ".8", "schedule-policy": "fcfs"},
         {"mem-fraction-static": 0.8, "schedule-policy": "fcfs"}),
        ("trtllm", {"max-batch-size": "16", "free-gpu-memory-fraction": "0.5"},
         {"max-batch-size": 16, "free-gpu-memory-fraction": 0.5}),
    ],
)  # fmt: skip
def test_allowed_flags_take_typed_values(
    engine: str, args: dict[str, Any], typed: dict[str, Any]
) -> None:
    assert check_args(engine, args, EngineArgRules()) == typed


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ({"gpu-memory-utilization": "0.99"}, "a number from 0.1 to 0.98"),
        ({"gpu-memory-utilization": "1e-1"}, "a number from 0.1 to 0.98"),
        ({"gpu-memory-utilization": "nan"}, "a number from 0.1 to 0.98"),
        ({"max-num-seqs": "0"}, "a whole number from 1 to 4096"),
        ({"max-num-seqs": "64.5"}, "a whole number from 1 to 4096"),
        ({"max-num-seqs": True}, "needs a value"),
        ({"block-size": "7"}, "one of 1, 8, 16, 32, 64, 128, 256"),
        ({"kv-cache-dtype": "/etc/passwd"}, "one of auto"),
        ({"enable-chunked-prefill": "yes please"}, "is a switch"),
    ],
)
def test_values_outside_their_type_or_bounds_are_refused(
    args: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(EngineArgError) as refused:
        check_args("vllm", args, EngineArgRules())
    assert fragment in str(refused.value)


def test_the_shipped_list_is_performance_flags_from_the_library_and_never_dynamotes_own() -> None:
    for engine, names in DEFAULT_ALLOWED.items():
        assert names <= set(LIBRARY[engine])
        assert not names & DYNAMOTE_FLAGS
    for specs in LIBRARY.values():
        assert not set(specs) & DYNAMOTE_FLAGS
        # no free text anywhere: every value is a number, a choice or a switch
        assert {spec.kind for spec in specs.values()} <= {"int", "float", "choice", "switch"}


def test_no_allowed_flag_is_an_abbreviation_of_another_known_flag() -> None:
    # An exact flag wins in argparse; this keeps the library free of ambiguous names anyway.
    from bot.domain.engine_args import KNOWN_FLAGS  # noqa: PLC0415

    for specs in LIBRARY.values():
        for name in specs:
            longer = [k for k in KNOWN_FLAGS if k != name and k.startswith(name + "-")]
            assert not longer, (name, longer)


# --- settings -------------------------------------------------------------------------------


def test_settings_replace_the_list_and_give_admins_more() -> None:
    settings = load_settings(
        engine_args="vllm:max-num-seqs", admin_engine_args="vllm:seed,sglang:random-seed"
    )
    deployer = privileges_of(settings, admin=False)
    admin = privileges_of(settings, admin=True)
    assert deployer.engine_args.for_engine("vllm", admin=False) == {"max-num-seqs"}
    assert deployer.engine_args.for_engine("sglang", admin=False) == frozenset()
    assert admin.engine_args.for_engine("vllm", admin=True) == {"max-num-seqs", "seed"}
    assert "seed is not allowed" in _errors(deployer, engineArgs="seed=1")["engineArgs"]
    data = {"model": "Qwen/Qwen3-0.6B", "name": "q", "namespace": "team-a", "engine": "vllm"}
    request = parse_request({**data, "engineArgs": "seed=7"}, catalog=CATALOG, privileges=admin)
    assert request.engine_args == {"seed": 7}


@pytest.mark.parametrize(
    "entry",
    [
        "vllm:tokenizer",  # not in the library: free text
        "vllm:endpoint",  # Dynamote's own, even for admins
        "vllm:connector",
        "sglang:max-num-seqs",  # another engine's flag
        "max-num-seqs",  # no engine
        "tgi:max-num-seqs",
    ],
)
def test_a_setting_may_not_allow_what_is_not_in_the_library(entry: str) -> None:
    with pytest.raises(SettingsError) as bad:
        load_settings(admin_engine_args=entry)
    assert "DYNAMOTE_ADMIN_ENGINE_ARGS" in str(bad.value) and entry in str(bad.value)
    with pytest.raises(ValueError):
        parse_rule_entries([entry])


def test_an_empty_setting_allows_no_engine_args() -> None:
    privileges = privileges_of(load_settings(engine_args=""), admin=False)
    message = _errors(privileges, engineArgs="max-num-seqs=4")["engineArgs"]
    assert "No extra engine args are allowed for vLLM" in message
