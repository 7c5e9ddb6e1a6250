"""Least privilege through the real paths: signed Slack requests to the real app, the cluster
and Slack stand-ins behind it.

With no policy settings at all the shipped defaults refuse a huge deployment; a deployer's
extra engine args, HF token Secret and trust-remote-code are held to the allow-lists; admins
may do what the settings give them. Each refusal is an inline error and creates nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.config.settings import SettingsError, load_settings
from tests.signing import PROVENANCE_KEY
from tests.stacks import NAMESPACES, Stack, app_stack, stand_ins

DGDS = "dynamographdeployments"


@pytest.fixture
def shipped(tmp_path: Path) -> Iterator[Stack]:
    """The app with only what connects it to the stand-ins: every policy setting shipped."""
    settings = load_settings(
        namespaces=list(NAMESPACES),
        default_namespace="team-a",
        slack_api_url="http://127.0.0.1:1/api/",
        provenance_key=PROVENANCE_KEY,  # an install has one (or a signing secret to derive it)
        sim_ready_after=0.3,
    )
    with stand_ins(tmp_path) as shared, app_stack(shared, settings) as stack:
        yield stack


def _errors(ack: dict[str, Any]) -> dict[str, str]:
    assert ack.get("response_action") == "errors", ack
    return {key.split(".")[0]: value for key, value in ack["errors"].items()}


def _created(stack: Stack) -> list[dict[str, Any]]:
    return stack.k8s.store.list(DGDS)[0]


def _args(dgd: dict[str, Any]) -> list[str]:
    worker = dgd["spec"]["components"][1]
    return list(worker["podTemplate"]["spec"]["containers"][0]["args"])


def test_with_no_policy_settings_a_128_gpu_deployment_from_a_dm_is_refused(
    shipped: Stack,
) -> None:
    shipped.command("deploy qwen3 0.6b", user="U0GUEST", channel="D0GUESTDM")
    typed = {"mode": "disaggregated", "size": "8x8"}
    ack, took = shipped.submit(shipped.advanced_view(), typed, user="U0GUEST")
    assert took < 3.0
    errors = _errors(ack)
    assert list(errors) == ["size"]
    assert "needs 128 GPUs" in errors["size"] and "at most 8" in errors["size"]
    assert _created(shipped) == []


def test_with_no_policy_settings_one_person_holds_at_most_8_gpus(shipped: Stack) -> None:
    shipped.command("deploy qwen3 0.6b")
    first, _ = shipped.submit(shipped.opened_view(), {"name": "big", "size": "8x1"})
    assert first.get("response_action") == "update", first
    shipped.wait_for_dgd("team-a", "big")
    shipped.command("deploy qwen3 0.6b")
    ack, _ = shipped.submit(shipped.opened_view(2), {"name": "one-more"})
    assert "already use 8 GPUs" in _errors(ack)["size"]
    assert [d["metadata"]["name"] for d in _created(shipped)] == ["big"]


@pytest.mark.parametrize(
    ("engine_args", "fragment"),
    [
        ("tokenizer=attacker/evil-tokenizer", "tokenizer is not allowed for vLLM"),
        ("revision=refs/pr/1", "revision is not allowed for vLLM"),
        ("endpoint=dyn://team-b.backend.generate", "endpoint is set by Dynamote"),
        ("served-model=team-b/model", "served-model abbreviates served-model-name"),
        ("tensor-parallel=8", "tensor-parallel abbreviates tensor-parallel-size"),
        ("hf-token=hf_abcdefghijklmnopqrstuvwxyz", "would store a secret"),
    ],
)
def test_engine_args_outside_the_allow_list_are_an_inline_error_and_create_nothing(
    shipped: Stack, engine_args: str, fragment: str
) -> None:
    shipped.command("deploy qwen3 0.6b")
    ack, _ = shipped.submit(shipped.advanced_view(), {"engine_args": engine_args})
    errors = _errors(ack)
    assert list(errors) == ["engine_args"] and fragment in errors["engine_args"]
    assert "hf_abc" not in errors["engine_args"]
    assert _created(shipped) == []


def test_allowed_engine_args_reach_the_worker_typed(shipped: Stack) -> None:
    shipped.command("deploy qwen3 0.6b")
    typed = {"engine_args": "max-num-seqs=64\ngpu-memory-utilization=0.85\nenable-chunked-prefill"}
    ack, _ = shipped.submit(shipped.advanced_view(), typed)
    assert ack.get("response_action") == "update", ack
    args = _args(shipped.wait_for_dgd("team-a", "qwen3-0-6b"))
    assert args[-5:] == [
        "--max-num-seqs", "64", "--gpu-memory-utilization", "0.85", "--enable-chunked-prefill"
    ]  # fmt: skip


def test_an_hf_secret_other_than_the_configured_ones_is_refused_even_if_it_exists(
    shipped: Stack,
) -> None:
    shipped.k8s.store.create(
        "secrets",
        {"metadata": {"name": "team-a-db-credentials", "namespace": "team-a"}, "data": {}},
    )
    shipped.command("deploy qwen3 0.6b")
    ack, _ = shipped.submit(shipped.advanced_view(), {"hf_secret": "team-a-db-credentials"})
    message = _errors(ack)["hf_secret"]
    assert "hf-token-secret" in message and "DYNAMOTE_HF_SECRETS" in message
    assert _created(shipped) == []


def test_a_listed_hf_secret_the_bot_may_not_read_is_refused_with_the_reason(
    tmp_path: Path,
) -> None:
    settings = load_settings(
        namespaces=list(NAMESPACES),
        default_namespace="team-a",
        slack_api_url="http://127.0.0.1:1/api/",
        provenance_key=PROVENANCE_KEY,  # an install has one (or a signing secret to derive it)
        hf_secrets="team-a-hf",
    )
    with stand_ins(tmp_path) as shared, app_stack(shared, settings) as stack:
        stack.k8s.faults.forbid("get", "secrets")
        stack.command("deploy qwen3 0.6b")
        ack, _ = stack.submit(stack.advanced_view(), {"hf_secret": "team-a-hf"})
        message = _errors(ack)["hf_secret"]
        assert "may not read Secret `team-a-hf`" in message
        assert _created(stack) == []


def test_trust_remote_code_is_for_admins_unless_the_catalog_allows_it(tmp_path: Path) -> None:
    settings = load_settings(
        namespaces=list(NAMESPACES),
        default_namespace="team-a",
        slack_api_url="http://127.0.0.1:1/api/",
        provenance_key=PROVENANCE_KEY,  # an install has one (or a signing secret to derive it)
        admins=["U0ADMIN"],
        max_gpus_per_user=None,
        max_deployments_per_user=None,
    )
    options = {"options": ["prefix_caching", "trust_remote_code"]}
    with stand_ins(tmp_path) as shared, app_stack(shared, settings) as stack:
        stack.command("deploy qwen3 0.6b", user="U0ALICE")
        ack, _ = stack.submit(stack.advanced_view(), options, user="U0ALICE")
        assert "Trust remote code" in _errors(ack)["options"]
        assert _created(stack) == []
        stack.command("deploy qwen3 0.6b", user="U0ADMIN")
        ack, _ = stack.submit(stack.advanced_view(2, user="U0ADMIN"), options, user="U0ADMIN")
        assert ack.get("response_action") == "update", ack
        assert "--trust-remote-code" in _args(stack.wait_for_dgd("team-a", "qwen3-0-6b"))


def test_admins_may_use_the_admin_engine_args_and_deployers_may_not(tmp_path: Path) -> None:
    settings = load_settings(
        namespaces=list(NAMESPACES),
        default_namespace="team-a",
        slack_api_url="http://127.0.0.1:1/api/",
        provenance_key=PROVENANCE_KEY,  # an install has one (or a signing secret to derive it)
        admins=["U0ADMIN"],
        admin_engine_args="vllm:seed",
        max_gpus_per_user=None,
        max_deployments_per_user=None,
    )
    with stand_ins(tmp_path) as shared, app_stack(shared, settings) as stack:
        stack.command("deploy qwen3 0.6b", user="U0ALICE")
        ack, _ = stack.submit(stack.advanced_view(), {"engine_args": "seed=7"}, user="U0ALICE")
        assert "seed is not allowed for vLLM" in _errors(ack)["engine_args"]
        stack.command("deploy qwen3 0.6b", user="U0ADMIN")
        ack, _ = stack.submit(
            stack.advanced_view(2, user="U0ADMIN"), {"engine_args": "seed=7"}, user="U0ADMIN"
        )
        assert ack.get("response_action") == "update", ack
        assert _args(stack.wait_for_dgd("team-a", "qwen3-0-6b"))[-2:] == ["--seed", "7"]
        # Dynamote's own flags stay refused for admins too
        stack.command("deploy qwen3 0.6b", user="U0ADMIN")
        ack, _ = stack.submit(
            stack.advanced_view(3, user="U0ADMIN"), {"name": "other", "engine_args": "endpoint=dyn://x.y.z"},
            user="U0ADMIN",
        )  # fmt: skip
        assert "endpoint is set by Dynamote" in _errors(ack)["engine_args"]


def test_the_shipped_limits_and_how_to_lift_one() -> None:
    shipped = load_settings()
    assert (
        shipped.max_gpus_per_deployment,
        shipped.max_gpus_per_user,
        shipped.max_deployments_per_user,
    ) == (8, 8, 3)
    assert shipped.open_policy
    lifted = load_settings(max_gpus_per_deployment="none", max_deployments_per_user="Unlimited")
    assert lifted.max_gpus_per_deployment is None and lifted.max_deployments_per_user is None
    assert not load_settings(admins=["U0ADMIN"]).open_policy


def test_hf_secret_names_are_checked_at_start() -> None:
    with pytest.raises(SettingsError) as bad:
        load_settings(hf_secrets="ok-name,Not A Name")
    assert "DYNAMOTE_HF_SECRETS" in str(bad.value) and "Not A Name" in str(bad.value)
