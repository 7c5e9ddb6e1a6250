"""The pure parts of Try it and Scale: the stream's lines (OpenAI's chat completion chunks),
the figures, the limits, the modal's metadata and views, the replicas patch and its rules."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.blocks.limits import check_message, check_view
from bot.blocks.tryit import (
    TryMetadata,
    answer_text_of,
    build_answer_view,
    build_shared_answer,
    build_try_modal,
)
from bot.cluster.dgds import replicas_patch, worker_replicas
from bot.cluster.frontend import resolve_access
from bot.config.settings import load_settings
from bot.domain.catalog import load_catalog
from bot.domain.deployments import deployment_from
from bot.domain.manifest import SlackOrigin, render_dgd
from bot.domain.policy import Policy
from bot.domain.request import parse_request
from bot.domain.scaling import gpus_after, may_scale
from bot.domain.tryit import (
    DEFAULT_MAX_TOKENS,
    Figures,
    StreamEvent,
    TryLimiter,
    UpdateBudget,
    check_max_tokens,
    check_prompt,
    read_event,
)
from bot.sim.k8s.patches import apply_merge_patch


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def chunk(content: str | None = None, *, finish: str | None = None, usage: Any = None) -> str:
    """A line as OpenAI's streaming chat completions send it (chat.completion.chunk)."""
    delta = {} if content is None else {"content": content}
    body: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [] if usage else [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    if usage:
        body["usage"] = usage
    return f"data: {json.dumps(body)}\n"


def test_stream_lines_read_as_text_usage_and_the_end() -> None:
    assert read_event(chunk("Hel")) == StreamEvent(text="Hel")
    assert read_event(chunk(finish="stop")) == StreamEvent(finish_reason="stop")
    usage = {"prompt_tokens": 3, "completion_tokens": 7, "total_tokens": 10}
    assert read_event(chunk(usage=usage)) == StreamEvent(completion_tokens=7)
    assert read_event(b"data: [DONE]\r\n") == StreamEvent(done=True)
    for other in ("\n", ": keep-alive\n", "event: message\n", "id: 7\n"):
        assert read_event(other) is None
    with pytest.raises(ValueError):
        read_event("data: <html>oops</html>\n")


def test_figures_time_to_first_token_and_decode_speed() -> None:
    figures = Figures()
    figures.record(StreamEvent(text="a"), 0.5)
    for index in range(1, 11):
        figures.record(StreamEvent(text="b"), 0.5 + index * 0.1)
    assert figures.first_token == 0.5 and figures.tokens == 11
    assert figures.tokens_per_second() == pytest.approx(10.0)
    figures.record(StreamEvent(completion_tokens=21), 1.6)  # the frontend's own count wins
    assert figures.tokens == 21
    assert figures.summary(1.75).startswith("first token 0.50 s · total 1.75 s · 21 tokens")
    assert Figures().summary(0.2) == "total 0.20 s · 0 tokens"


def test_prompt_and_max_tokens_say_what_is_wrong() -> None:
    assert check_prompt("  hi ") == ("hi", None)
    assert check_prompt("   ")[1] == "Type a prompt to send to the model."
    assert "under 1000" in str(check_prompt("x" * 1001)[1])
    assert check_max_tokens("") == (DEFAULT_MAX_TOKENS, None)
    assert check_max_tokens("64") == (64, None)
    assert "between 1 and 512" in str(check_max_tokens("513")[1])
    assert "not a whole number" in str(check_max_tokens("1e3")[1])


def test_a_person_gets_so_many_tries_a_minute() -> None:
    clock = Clock()
    limiter = TryLimiter(2, clock)
    assert limiter.take("U1") is None and limiter.take("U1") is None
    assert limiter.take("U1") == pytest.approx(60.0)
    assert limiter.take("U2") is None  # per person
    clock.now += 30
    assert limiter.take("U1") == pytest.approx(30.0)
    clock.now += 30
    assert limiter.take("U1") is None
    assert TryLimiter(0, clock).take("U1") is None  # 0: no limit


def test_the_update_budget_refills_at_its_rate() -> None:
    clock = Clock()
    budget = UpdateBudget(60, clock, burst=2)  # one a second
    assert budget.take() and budget.take() and not budget.take()
    clock.now += 1.0
    assert budget.take() and not budget.take()


def test_auto_access_is_cluster_dns_in_a_pod_and_the_proxy_outside() -> None:
    assert resolve_access("auto", in_cluster=True) == "cluster-dns"
    assert resolve_access("auto", in_cluster=False) == "service-proxy"
    assert resolve_access("service-proxy", in_cluster=True) == "service-proxy"


METADATA = TryMetadata("U0ALICE", "C0GENERAL", "team-a/qwen", prompt="Hi <!channel> & you")


def test_metadata_round_trips_and_refuses_what_it_did_not_write() -> None:
    assert TryMetadata.from_json(METADATA.to_json()) == METADATA
    bad_ones = ("", "[]", '{"user": "U1"}', '{"user": "U1", "deployment": "nos"}',
                '{"user": "", "deployment": "a/b"}')  # fmt: skip
    for bad in bad_ones:
        with pytest.raises(ValueError):
            TryMetadata.from_json(bad)
    assert len(TryMetadata("U1", None, "a/b", prompt="\\" * 1000).to_json()) < 3000


def test_the_views_fit_block_kit_and_escape_what_people_typed() -> None:
    modal = build_try_modal(METADATA).to_dict()
    assert check_view(modal) == []
    long_answer = ("word " * 400 + "\n") * 4  # longer than one section
    answer = build_answer_view(METADATA, answer=long_answer, status="done", done=True).to_dict()
    assert check_view(answer) == []
    shown = json.dumps(answer["blocks"])  # private_metadata keeps the prompt as typed
    assert "&lt;!channel&gt; &amp; you" in shown and "<!channel>" not in shown


def test_a_forged_answer_is_shared_escaped_never_as_a_mention() -> None:
    view = build_answer_view(METADATA, answer="4 < 5 & fine", status="", done=True).to_dict()
    assert answer_text_of(view) == "4 < 5 & fine"
    view["blocks"][2]["text"]["text"] = "<!channel> click <https://evil.example|here>"
    shared = build_shared_answer(METADATA, answer=answer_text_of(view), by_user="U0ALICE")
    payload = shared.as_kwargs()
    assert check_message(payload) == []
    assert "<!channel>" not in json.dumps(payload) and "<https://" not in json.dumps(payload)


def _dgd(api_version: str = "nvidia.com/v1beta1", mode: str = "aggregated") -> dict[str, Any]:
    request = parse_request(
        {"model": "Qwen/Qwen3-0.6B", "name": "q", "namespace": "team-a", "engine": "vllm",
         "mode": mode},
        catalog=load_catalog(),
    )  # fmt: skip
    return render_dgd(
        request, image="i:1", api_version=api_version,  # type: ignore[arg-type]
        origin=SlackOrigin("U0ALICE", "C0GENERAL"),
    )  # fmt: skip


@pytest.mark.parametrize("api_version", ["nvidia.com/v1beta1", "nvidia.com/v1alpha1"])
@pytest.mark.parametrize("mode", ["aggregated", "disaggregated"])
def test_the_replicas_patch_scales_every_worker_and_leaves_the_frontend(
    api_version: str, mode: str
) -> None:
    dgd = _dgd(api_version, mode)
    patched = apply_merge_patch(dgd, replicas_patch(dgd, 3))
    assert worker_replicas(patched) == 3
    spec = patched["spec"]
    components = spec.get("components") or [{"name": n, **s} for n, s in spec["services"].items()]
    kinds = {
        c["name"]: (c.get("type") or c.get("componentType"), c["replicas"]) for c in components
    }
    assert kinds["Frontend"] == ("frontend", 1)
    assert all(count == 3 for kind, count in kinds.values() if kind != "frontend")
    assert len(kinds) == (2 if mode == "aggregated" else 3)
    # Everything but the replicas is as it was.
    assert apply_merge_patch(patched, replicas_patch(patched, 1)) == dgd


def test_scaling_follows_the_deploy_rules() -> None:
    settings = load_settings(namespaces=["team-a"], max_gpus_per_deployment=4, max_gpus_per_user=4)
    policy = Policy(settings)
    dgd = _dgd()
    mine = deployment_from(dgd, verified=True)
    assert gpus_after(dgd, 3) == 3

    def decide(user: str, replicas: int, *, admin: bool = False, others: Any = ()) -> str:
        decision = may_scale(
            policy, user=user, admin=admin, deployment=mine, replicas=replicas,
            max_replicas=8, gpus=gpus_after(dgd, replicas), others=others,
        )  # fmt: skip
        return "ok" if decision.allowed else decision.reason

    assert decide("U0ALICE", 2) == "ok"
    assert decide("U0BOB", 2) == "Only <@U0ALICE> or an admin may scale this deployment."
    assert decide("U0BOB", 2, admin=True) == "ok"
    assert decide("U0ALICE", 9) == "Pick between 1 and 8 worker replicas."
    assert "needs 5 GPUs; one deployment may use at most 4" in decide("U0ALICE", 5)
    other = deployment_from({**dgd, "metadata": {**dgd["metadata"], "name": "q2"}}, verified=True)
    assert "already uses 1 elsewhere; the limit is 4" in decide("U0ALICE", 4, others=[mine, other])
    assert decide("U0ALICE", 4, others=[mine]) == "ok"  # itself is not counted twice
