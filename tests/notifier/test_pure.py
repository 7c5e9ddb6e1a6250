"""The pure parts: the announced-state annotation, change detection, advice, pacing, builders."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.advice import fix_for
from bot.blocks.limits import check_message
from bot.blocks.notifications import (
    MAX_LOG_LINES,
    build_phase_reply,
    build_running_reply,
    build_trouble_reply,
    trim_log,
)
from bot.deployments import Deployment
from bot.notify.changes import after_reply, card_signature, plan
from bot.notify.pacer import Pacer
from bot.notify.state import MAX_BYTES, NOTHING, Announced, decode, encode
from bot.status import DeploymentStatus

from .conftest import FakeClock

NOW = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)
TIMEOUT = timedelta(minutes=10)


def status(phase: str = "Pending", reason: str = "", **fields: object) -> DeploymentStatus:
    values: dict[str, object] = {
        "name": "qwen",
        "namespace": "team-a",
        "phase": phase,
        "reason": reason,
        "replicas_desired": 2,
        "replicas_ready": 2 if phase == "Running" else 0,
        "replicas_available": 0,
        "conditions": (),
        "pods": (),
        "created_at": NOW - timedelta(minutes=1),
        "frontend_service": "qwen-frontend",
        "gpus": 1,
    }
    values.update(fields)
    return DeploymentStatus(**values)  # type: ignore[arg-type]


def deployment(s: DeploymentStatus) -> Deployment:
    return Deployment(
        name=s.name,
        namespace=s.namespace,
        model="Qwen/Qwen3-0.6B",
        engine="vllm",
        served_model_name="Qwen/Qwen3-0.6B",
        requester="U0ALICE",
        channel="C1",
        thread_ts="1.2",
        status=s,
    )


# --- state -----------------------------------------------------------------------------------


def test_a_record_survives_encoding_and_decoding() -> None:
    record = Announced("Failed", NOW, stuck=False, card="Failed 0/2")
    assert decode(encode(record)) == record


@pytest.mark.parametrize("raw", [None, "", "nope", "[1]", '{"phase": "Exploded"}', "x" * 5000])
def test_an_absent_or_unreadable_record_means_nothing_was_announced(raw: str | None) -> None:
    assert decode(raw).phase is None


def test_an_encoded_record_stays_small_whatever_the_card_says() -> None:
    assert len(encode(Announced("Deploying", NOW, stuck=True, card="x" * 10_000))) <= MAX_BYTES


# --- changes ---------------------------------------------------------------------------------


def test_the_first_pending_is_not_a_change_but_the_card_is_drawn() -> None:
    result = plan(status("Pending"), NOTHING, now=NOW, pending_timeout=TIMEOUT)
    assert result.reply is None
    assert result.card == "Pending 0/2"


def test_a_new_phase_is_one_reply_and_nothing_once_recorded() -> None:
    current = status("Deploying")
    first = plan(current, NOTHING, now=NOW, pending_timeout=TIMEOUT)
    assert first.reply == "phase"
    recorded = after_reply(NOTHING, current, "phase", NOW).with_card(card_signature(current))
    assert plan(current, recorded, now=NOW, pending_timeout=TIMEOUT).empty


def test_pending_past_the_timeout_is_stuck_once_per_spell() -> None:
    old = status("Pending", "waiting for GPUs", created_at=NOW - timedelta(minutes=11))
    assert plan(old, NOTHING, now=NOW, pending_timeout=TIMEOUT).reply == "stuck"
    warned = after_reply(NOTHING, old, "stuck", NOW)
    assert warned.stuck and warned.at == old.created_at
    assert plan(old, warned, now=NOW + TIMEOUT, pending_timeout=TIMEOUT).reply is None


def test_terminating_redraws_the_card_without_a_reply() -> None:
    record = Announced("Running", NOW, card="Running 2/2")
    result = plan(status("Terminating"), record, now=NOW, pending_timeout=TIMEOUT)
    assert result.reply is None and result.card == "Terminating 0/2"


def test_a_replica_count_change_redraws_only_the_card() -> None:
    record = Announced("Deploying", NOW, card="Deploying 0/2")
    result = plan(status("Deploying", replicas_ready=1), record, now=NOW, pending_timeout=TIMEOUT)
    assert result.reply is None and result.card == "Deploying 1/2"


# --- advice ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "fix"),
    [
        (
            "secret hf-token-secret not found",
            "kubectl create secret generic hf-token-secret --from-literal=HF_TOKEN=<token> "
            "-n team-a",
        ),
        ("waiting for GPUs: 0/3 nodes have nvidia.com/gpu free", "ask for fewer GPUs"),
        ("image pull failed: repo/vllm-runtime:nope", "check the image tag"),
        ("crash looping: 4 restarts (OOMKilled)", "ran out of memory"),
        ("waiting for the operator to create pods", "Dynamo operator"),
        ("something new", "kubectl describe dgd qwen -n team-a"),
    ],
)
def test_each_reason_gets_its_fix(reason: str, fix: str) -> None:
    assert fix in fix_for(status("Failed", reason))


# --- builders --------------------------------------------------------------------------------


def test_every_reply_has_a_fallback_and_fits_block_kit() -> None:
    long_reason = "r" * 5000
    messages = [
        build_phase_reply(deployment(status("Deploying", "0/2 replicas ready"))),
        build_running_reply(deployment(status("Running", "ready"))),
        build_trouble_reply(
            deployment(status("Failed", long_reason)),
            fix="x" * 4000,
            log_tail="<&>" * 3000 + "\n" * 50 + "line\n" * 500,
            log_source="qwen-worker-0",
        ),
        build_trouble_reply(
            deployment(status("Pending", "waiting")), fix="f", stuck_for=timedelta(minutes=12)
        ),
    ]
    for message in messages:
        payload = message.as_kwargs()
        assert payload["text"].strip()
        assert check_message(payload) == []


def test_a_log_tail_keeps_the_last_lines_within_bounds() -> None:
    tail = trim_log("\n".join(f"line {n}" for n in range(100)))
    lines = tail.splitlines()
    assert len(lines) == MAX_LOG_LINES and lines[-1] == "line 99"


def test_the_running_reply_mentions_the_requester_and_has_both_commands() -> None:
    text = str(build_running_reply(deployment(status("Running"))).as_kwargs()["blocks"])
    assert "<@U0ALICE>" in text
    assert "kubectl port-forward svc/qwen-frontend 8000:8000 -n team-a" in text
    assert "curl localhost:8000/v1/chat/completions" in text


# --- pacer -----------------------------------------------------------------------------------


def test_the_pacer_spaces_one_channel_but_not_two() -> None:
    clock = FakeClock()
    pacer = Pacer(1.0, clock=clock, sleep=clock.sleep)
    assert [pacer.wait("C1"), pacer.wait("C2"), pacer.wait("C1")] == [0, 0, 1.0]


def test_a_hold_pushes_the_next_slot_back_by_retry_after() -> None:
    clock = FakeClock()
    pacer = Pacer(1.0, clock=clock, sleep=clock.sleep)
    pacer.hold("C1", 5)
    assert pacer.wait("C1") == 5


def test_replace_keeps_records_frozen() -> None:
    record = Announced("Running", NOW)
    with pytest.raises(AttributeError):
        record.phase = "Failed"  # type: ignore[misc]
    assert replace(record, stuck=True).stuck
