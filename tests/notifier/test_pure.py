"""The pure parts: the announced-state annotation, change detection, advice, pacing, builders."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.blocks.limits import check_message
from bot.blocks.notifications import (
    MAX_LOG_LINES,
    build_phase_reply,
    build_running_reply,
    build_trouble_reply,
    trim_log,
)
from bot.domain.advice import fix_for
from bot.domain.deployments import Deployment
from bot.domain.notified import MAX_BYTES, NOTHING, Announced, decode, encode
from bot.domain.status import DeploymentStatus
from bot.notifier.changes import (
    RECOVERY_WINDOW,
    after_reply,
    card_signature,
    failing_since,
    plan,
)
from bot.notifier.pacer import Pacer

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
    record = Announced(
        "Failed",
        NOW,
        stuck=False,
        card="Failed 0/2",
        since=NOW - timedelta(minutes=1),
        failing_since=NOW - timedelta(minutes=2),
        trouble="1700000000.000300",
        trouble_mark="0a1b2c3d",
        mentions="ft",
    )
    assert decode(encode(record)) == record


def test_a_trouble_reply_that_is_not_a_message_ts_is_not_kept() -> None:
    assert decode('{"phase":"Failed","tr":"C0OTHER/1.2","v":1}').trouble is None


def test_a_record_written_before_since_was_kept_counts_from_its_reply() -> None:
    old = '{"at":"2026-01-02T12:00:00Z","card":"Pending 0/2","phase":"Pending","v":1}'
    assert decode(old).since == NOW


@pytest.mark.parametrize("raw", [None, "", "nope", "[1]", '{"phase": "Exploded"}', "x" * 5000])
def test_an_absent_or_unreadable_record_means_nothing_was_announced(raw: str | None) -> None:
    assert decode(raw).phase is None


def test_an_encoded_record_stays_small_whatever_it_holds() -> None:
    record = Announced(
        "Terminating",
        NOW,
        stuck=True,
        card="x" * 10_000,
        since=NOW,
        failing_since=NOW,
        trouble="9" * 12 + "." + "9" * 9,
        trouble_mark="f" * 100,
        mentions="rft" * 50,
    )
    assert len(encode(record)) <= MAX_BYTES


# --- changes ---------------------------------------------------------------------------------


def test_the_first_pending_is_not_a_change_but_the_card_is_drawn() -> None:
    result = plan(status("Pending"), NOTHING, now=NOW, pending_timeout=TIMEOUT)
    assert result.reply is None
    assert result.card == "Pending 0/2"


def drawn(current: DeploymentStatus, record: Announced = NOTHING, now: datetime = NOW) -> Announced:
    """``record`` once the plan for ``current`` was carried out without a reply."""
    todo = plan(current, record, now=now, pending_timeout=TIMEOUT)
    return todo.record.with_card(card_signature(current))


def replied(current: DeploymentStatus, record: Announced, now: datetime = NOW) -> Announced:
    """``record`` once the plan for ``current`` was carried out, its reply posted."""
    todo = plan(current, record, now=now, pending_timeout=TIMEOUT)
    assert todo.reply is not None
    done = after_reply(todo.record, current, todo.reply, now, ts="1.5", mention=todo.mention)
    return done.with_card(card_signature(current))


def test_deploying_only_redraws_the_card() -> None:
    result = plan(status("Deploying"), drawn(status("Pending")), now=NOW, pending_timeout=TIMEOUT)
    assert result.reply is None and result.card == "Deploying 0/2"


def test_running_is_one_reply_mentioning_the_owner_and_nothing_once_recorded() -> None:
    current = status("Running")
    first = plan(current, drawn(status("Deploying")), now=NOW, pending_timeout=TIMEOUT)
    assert (first.reply, first.mention) == ("running", True)
    recorded = replied(current, drawn(status("Deploying")))
    assert plan(current, recorded, now=NOW + TIMEOUT, pending_timeout=TIMEOUT).empty


def test_pending_past_the_timeout_is_stuck_once_per_spell() -> None:
    old = status("Pending", "waiting for GPUs", created_at=NOW - timedelta(minutes=11))
    first = plan(old, NOTHING, now=NOW, pending_timeout=TIMEOUT)
    assert first.reply == "stuck" and first.record.since == old.created_at
    warned = replied(old, NOTHING)
    assert warned.stuck and warned.since == old.created_at
    assert plan(old, warned, now=NOW + TIMEOUT, pending_timeout=TIMEOUT).reply is None
    # Deploying for a while, then Pending again: a new spell, warned again once it lasts.
    again = drawn(old, drawn(status("Deploying"), warned, NOW), NOW + timedelta(minutes=1))
    later = NOW + timedelta(minutes=1) + TIMEOUT
    assert plan(old, again, now=later, pending_timeout=TIMEOUT).reply == "stuck"


def crash_loop(restarts: int) -> DeploymentStatus:
    return status("Failed", f"crash looping: {restarts} restarts (Error)")


def test_a_crash_loop_is_one_trouble_reply_updated_in_place() -> None:
    failed = replied(crash_loop(3), drawn(status("Deploying")))
    assert (failed.phase, failed.trouble, failed.mentions) == ("Failed", "1.5", "ft")
    # The container restarts: Deploying between failures says nothing...
    restarting = plan(status("Deploying"), failed, now=NOW, pending_timeout=TIMEOUT)
    assert restarting.reply is None and restarting.card == "Deploying 0/2"
    # ...and the next failure edits the trouble reply, keeping its mention.
    again = plan(
        crash_loop(4), drawn(status("Deploying"), failed), now=NOW, pending_timeout=TIMEOUT
    )
    assert (again.reply, again.mention) == ("update", True)
    updated = replied(crash_loop(4), drawn(status("Deploying"), failed))
    assert updated.trouble == "1.5"
    assert plan(crash_loop(4), updated, now=NOW, pending_timeout=TIMEOUT).reply is None


def test_after_a_failure_running_is_announced_only_once_it_lasted_the_recovery_window() -> None:
    failed = replied(crash_loop(3), drawn(status("Deploying")))
    healthy = drawn(status("Running"), failed, NOW)
    soon = NOW + RECOVERY_WINDOW - timedelta(seconds=1)
    assert plan(status("Running"), healthy, now=soon, pending_timeout=TIMEOUT).reply is None
    late = plan(status("Running"), healthy, now=NOW + RECOVERY_WINDOW, pending_timeout=TIMEOUT)
    assert (late.reply, late.mention) == ("running", True)
    # A failure again before the window: the same trouble spell, nothing new posted.
    relapse = plan(crash_loop(3), healthy, now=soon, pending_timeout=TIMEOUT)
    assert relapse.reply is None


def test_the_owner_is_mentioned_on_the_first_running_and_the_first_failure_only() -> None:
    running = replied(status("Running"), drawn(status("Deploying")))
    failed = replied(crash_loop(3), running)
    assert "f" in failed.mentions
    recovered = replied(status("Running"), drawn(status("Running"), failed), NOW + RECOVERY_WINDOW)
    second = plan(crash_loop(5), recovered, now=NOW, pending_timeout=TIMEOUT)
    assert (second.reply, second.mention) == ("trouble", False)
    back = plan(
        status("Running"),
        drawn(status("Running"), replied(crash_loop(5), recovered)),
        now=NOW + 2 * RECOVERY_WINDOW,
        pending_timeout=TIMEOUT,
    )
    assert (back.reply, back.mention) == ("running", False)


def test_the_operators_failed_state_is_remembered_from_when_it_was_first_seen() -> None:
    seen = failing_since(NOTHING, {"state": "failed"}, NOW)
    assert seen == NOW
    record = plan(status("Deploying"), NOTHING, now=NOW, pending_timeout=TIMEOUT, failing=seen)
    assert record.changed and record.record.failing_since == NOW
    later = NOW + timedelta(minutes=2)
    assert failing_since(record.record, {"state": "failed"}, later) == NOW
    assert failing_since(record.record, {"state": "pending"}, later) is None
    edited = Announced(failing_since=NOW + timedelta(days=1))  # a time not yet come
    assert failing_since(edited, {"state": "failed"}, NOW) == NOW


def test_terminating_redraws_the_card_without_a_reply() -> None:
    record = Announced("Running", NOW, card="Running 2/2")
    result = plan(status("Terminating"), record, now=NOW, pending_timeout=TIMEOUT)
    assert result.reply is None and result.card == "Terminating 0/2"


def test_a_replica_count_change_redraws_only_the_card() -> None:
    record = Announced(None, NOW, card="Deploying 0/2", since=NOW)
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
