"""Per-user limits hold when one person submits twice at the same time, over real HTTP.

- In one process, the second check counts the first one's reservation (bot.domain.reservations), so
  it is refused inline and only one DGD is ever created.
- On two replicas (two app instances over one Kubernetes stand-in), neither sees the other's
  reservation, so both create; each then counts again and the newer one is deleted, its
  modal showing the limit's message.
- Every way out of a submission gives its reservation back.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.cluster import ClusterError
from bot.config.settings import load_settings
from bot.domain.deployments import Deployment
from bot.domain.policy import Policy, Usage, usage_before
from bot.domain.status import DeploymentStatus
from bot.ops.audit import AUDIT_LOGGER
from tests.stacks import Stack, replicas, text_of
from tests.standins.slack_requests import view_state, view_submission
from tests.waiting import WAIT_SECONDS, wait_for, wait_until

pytestmark = pytest.mark.runs_long  # each create waits for the recount

MakeStack = Callable[..., Stack]
DGDS = "dynamographdeployments"

LIMITS = [
    pytest.param(
        {"max_deployments_per_user": 1}, {}, "already have 1 deployments", "name", id="count"
    ),
    pytest.param(
        {"max_gpus_per_user": 2}, {"size": "1x2"}, "already use 2 GPUs", "size", id="gpus"
    ),
]


# --- helpers ---------------------------------------------------------------------------------


def open_modal(stack: Stack, number: int) -> dict[str, Any]:
    """Run ``deploy qwen3 0.6b`` on this replica; the ``number``-th modal opened overall."""
    stack.command("deploy qwen3 0.6b")
    return stack.opened_view(number)


def submit_together(submissions: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Send every (stack, view, typed[, user]) at the same moment; their acks, in order."""
    start = threading.Barrier(len(submissions))
    acks: list[dict[str, Any]] = [{} for _ in submissions]

    def send(
        index: int,
        stack: Stack,
        view: dict[str, Any],
        typed: dict[str, str],
        user: str = "U0ALICE",
    ) -> None:
        state = {"values": view_state(view, typed)}
        request = view_submission({**view, "state": state}, user=user)
        start.wait()
        status, body, took = stack.post(request)
        assert status == 200 and took < 3.0, (status, took)
        acks[index] = json.loads(body) if body else {}

    threads = [
        threading.Thread(target=send, args=(i, *submission))
        for i, submission in enumerate(submissions)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=15)
    return acks


@contextmanager
def store_events(stack: Stack) -> Iterator[list[tuple[str, str]]]:
    """(event type, DGD name) of every DGD change while inside."""
    seen: list[tuple[str, str]] = []

    def note(event: Any) -> None:
        if event.resource == DGDS:
            seen.append((event.type, event.object["metadata"]["name"]))

    unsubscribe = stack.k8s.store.subscribe(note)
    try:
        yield seen
    finally:
        unsubscribe()


def modal_result(stack: Stack, name: str, timeout: float = WAIT_SECONDS) -> str:
    """The text of the result view (done or failed) the modal of ``name`` was updated to."""

    def result() -> str | None:
        for call in stack.slack.calls("views.update"):
            text = text_of(call.params.get("view", {}))
            named = f"*{name}* in `" in text  # not just the word: "Delete one first."
            if named and ("on its way" in text or "did not create" in text):
                return text
        return None

    return wait_for(result, timeout, what=f"the modal of {name} showing a result")


def dgd_names(stack: Stack) -> list[str]:
    return sorted(d["metadata"]["name"] for d in stack.k8s.store.list(DGDS)[0])


def audit_outcomes(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    return sorted(
        (r.deployment, r.outcome)  # type: ignore[attr-defined]
        for r in caplog.records
        if r.name == AUDIT_LOGGER
    )


def slow_creates(*stacks: Stack) -> None:
    """Warm each replica's client, then make DGD creates (and dry runs) take 0.8 s: both
    checks have listed the cluster before either creates."""
    for stack in stacks:
        stack.cluster.list_managed_dgds()  # loads the client and the DGD version
    stacks[0].k8s.faults.add_latency(0.8, method="POST", path_regex=DGDS)


# --- one process -----------------------------------------------------------------------------


@pytest.mark.parametrize(("limit", "typed", "message", "block"), LIMITS)
def test_two_quick_submissions_in_one_process_create_only_one(
    make_stack: MakeStack,
    caplog: pytest.LogCaptureFixture,
    limit: dict[str, int],
    typed: dict[str, str],
    message: str,
    block: str,
) -> None:
    stack = make_stack(submit_budget_seconds=5.0, **limit)
    views = [open_modal(stack, 1), open_modal(stack, 2)]
    slow_creates(stack)
    with store_events(stack) as events, caplog.at_level(logging.INFO, logger=AUDIT_LOGGER):
        acks = submit_together(
            [
                (stack, views[0], {**typed, "name": "first"}),
                (stack, views[1], {**typed, "name": "second"}),
            ]
        )
        kinds = sorted(ack.get("response_action", "") for ack in acks)
        assert kinds == ["errors", "update"], acks
        (refused,) = [ack for ack in acks if ack["response_action"] == "errors"]
        assert message in refused["errors"][f"{block}.0"]
        (winner,) = [
            name for name, ack in zip(("first", "second"), acks, strict=True)
            if ack["response_action"] == "update"
        ]  # fmt: skip
        assert "on its way" in modal_result(stack, winner)
    assert dgd_names(stack) == [winner]
    assert [e for e in events if e[0] == "ADDED"] == [("ADDED", winner)], "only one create"
    loser = "second" if winner == "first" else "first"
    assert audit_outcomes(caplog) == sorted([(winner, "created"), (loser, "denied")])
    wait_until(lambda: stack.context.service.reservations.in_flight("U0ALICE") == Usage())


def test_someone_elses_reservation_does_not_hold_a_person_back(make_stack: MakeStack) -> None:
    stack = make_stack(max_deployments_per_user=1, submit_budget_seconds=5.0)
    views = [open_modal(stack, 1), open_modal(stack, 2)]
    slow_creates(stack)
    acks = submit_together(
        [
            (stack, views[0], {"name": "alices"}),
            (stack, views[1], {"name": "bobs"}, "U0BOB"),
        ]
    )
    assert [ack.get("response_action") for ack in acks] == ["update", "update"], acks
    wait_until(lambda: dgd_names(stack) == ["alices", "bobs"])


# --- two replicas ----------------------------------------------------------------------------


@pytest.mark.parametrize(("limit", "typed", "message", "block"), LIMITS)
def test_two_replicas_each_letting_one_through_keep_only_what_the_limit_allows(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    limit: dict[str, int],
    typed: dict[str, str],
    message: str,
    block: str,
) -> None:
    with (
        replicas(tmp_path, **limit) as (one, two),
        store_events(one) as events,
        caplog.at_level(logging.INFO, logger=AUDIT_LOGGER),
    ):
        views = [open_modal(one, 1), open_modal(two, 2)]
        slow_creates(one, two)
        acks = submit_together(
            [
                (one, views[0], {**typed, "name": "first"}),
                (two, views[1], {**typed, "name": "second"}),
            ]
        )
        # Neither replica can see the other's reservation: both checks pass.
        assert [ack.get("response_action") for ack in acks] == ["update", "update"], acks
        results = {name: modal_result(one, name) for name in ("first", "second")}
        kept = [name for name, text in results.items() if "on its way" in text]
        denied = [name for name, text in results.items() if "did not create" in text]
        assert len(kept) == 1 and len(denied) == 1, results
        assert message in results[denied[0]]
        assert dgd_names(one) == kept
        assert sorted(e for e in events if e[0] != "MODIFIED") == sorted(
            [("ADDED", "first"), ("ADDED", "second"), ("DELETED", denied[0])]
        )
        assert audit_outcomes(caplog) == sorted([(kept[0], "created"), (denied[0], "denied")])
        # The denied one got no status card.
        cards = [c.params["text"] for c in one.slack.calls("chat.postMessage") if c.ok]
        assert [card.split()[0] for card in cards] == kept


def test_replicas_keep_a_deployment_that_still_fits(tmp_path: Path) -> None:
    # Limit 2: the two replicas' deployments both fit, so neither is deleted.
    with replicas(tmp_path, max_deployments_per_user=2) as (one, two):
        views = [open_modal(one, 1), open_modal(two, 2)]
        slow_creates(one, two)
        submit_together([(one, views[0], {"name": "first"}), (two, views[1], {"name": "second"})])
        assert all("on its way" in modal_result(one, n) for n in ("first", "second"))
        assert dgd_names(one) == ["first", "second"]


def test_a_create_in_the_same_second_that_sorts_first_is_seen_by_the_earlier_replica(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # creationTimestamp has whole seconds: stamp everything with the same one. Replica one
    # creates "b" first; replica two creates "a" 0.6 s later, which sorts first by name. Had
    # replica one counted again at once, it would not have seen "a" and both would stay.
    monkeypatch.setattr("bot.sim.k8s.store._now_rfc3339", lambda: "2026-01-01T00:00:00Z")
    with replicas(tmp_path, max_deployments_per_user=1) as (one, two):
        views = [open_modal(one, 1), open_modal(two, 2)]
        for stack in (one, two):
            stack.cluster.list_managed_dgds()
        one.k8s.faults.add_latency(0.3, method="POST", path_regex=f"team-a/{DGDS}")
        one.k8s.faults.add_latency(0.6, method="POST", path_regex=f"team-b/{DGDS}")
        submit_together(
            [
                (one, views[0], {"name": "b"}),
                (two, views[1], {"name": "a", "namespace": "team-b"}),
            ]
        )
        assert "did not create" in modal_result(one, "b")
        assert "on its way" in modal_result(one, "a")
        assert dgd_names(one) == ["a"]


# --- every way out gives the reservation back --------------------------------------------------


def _fail_create(stack: Stack, error: Exception) -> None:
    def create(*_args: Any, **_kwargs: Any) -> dict[str, Any]:
        raise error

    stack.context.service.create = create  # type: ignore[method-assign]


WAYS_OUT = [
    pytest.param(
        lambda s: s.k8s.store.delete("secrets", "team-a", "hf-token-secret"),
        "errors",
        id="rejected-by-the-cluster",
    ),
    pytest.param(
        lambda s: s.k8s.faults.add_error(503, method="GET", path_regex=DGDS),
        "errors",
        id="cluster-error-on-the-list",
    ),
    pytest.param(
        lambda s: s.k8s.faults.add_error(503, method="GET", path_regex="/secrets/"),
        "errors",
        id="cluster-error-after-reserving",
    ),
    pytest.param(
        lambda s: _fail_create(s, ClusterError("The API server is unavailable.")),
        "update",
        id="create-failed",
    ),
    pytest.param(lambda s: _fail_create(s, RuntimeError("bug")), "update", id="create-raised"),
]


@pytest.mark.parametrize(("break_it", "ack_kind"), WAYS_OUT)
def test_every_way_out_gives_the_reservation_back(
    make_stack: MakeStack, break_it: Callable[[Stack], Any], ack_kind: str
) -> None:
    stack = make_stack(max_deployments_per_user=1)
    view = open_modal(stack, 1)
    break_it(stack)
    ack, _ = stack.submit(view, {"name": "broken"})
    assert ack.get("response_action") == ack_kind, ack
    if ack_kind == "update":
        assert "did not create" in modal_result(stack, "broken")
    reservations = stack.context.service.reservations
    wait_until(lambda: len(reservations) == 0)
    assert dgd_names(stack) == []


def test_a_check_slower_than_the_ack_still_gives_the_reservation_back(
    make_stack: MakeStack,
) -> None:
    stack = make_stack(max_deployments_per_user=1, submit_budget_seconds=0.3)
    view = open_modal(stack, 1)
    stack.k8s.faults.add_latency(0.6, path_regex="/secrets/")
    ack, took = stack.submit(view, {"name": "slow"})
    assert took < 1.0 and ack["response_action"] == "update"
    assert "on its way" in modal_result(stack, "slow")
    reservations = stack.context.service.reservations
    wait_until(lambda: reservations.in_flight("U0ALICE") == Usage())
    assert dgd_names(stack) == ["slow"]


# --- the rule the replicas share (pure) ----------------------------------------------------------

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def deployment(name: str, second: int, gpus: int = 1, user: str = "U0ALICE") -> Deployment:
    status = DeploymentStatus(
        name=name, namespace="team-a", phase="Pending", reason="",
        replicas_desired=1, replicas_ready=0, replicas_available=0, conditions=(), pods=(),
        created_at=T0 + timedelta(seconds=second), frontend_service=None, gpus=gpus,
    )  # fmt: skip
    return Deployment(
        name=name, namespace="team-a", model="m", engine="vllm", served_model_name="m",
        requester=user, channel=None, thread_ts=None, status=status,
    )  # fmt: skip


def test_usage_before_counts_the_persons_older_ones_by_time_then_name() -> None:
    listed = [
        deployment("b", 5, gpus=2),
        deployment("a", 5, gpus=4),  # same second as "b": the name decides
        deployment("old", 1, gpus=1),
        deployment("new", 9, gpus=8),
        deployment("bobs", 0, gpus=16, user="U0BOB"),
    ]
    assert usage_before(listed[0], listed) == Usage(deployments=2, gpus=5)
    assert usage_before(listed[1], listed) == Usage(deployments=1, gpus=1)
    assert usage_before(listed[2], listed) == Usage()


@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(1, 4)), min_size=1, max_size=8),
    st.integers(1, 4),
    st.integers(1, 8),
)
def test_what_replicas_keep_never_exceeds_a_limit(
    made: list[tuple[int, int]], count_limit: int, gpu_limit: int
) -> None:
    policy = Policy(
        load_settings(max_deployments_per_user=count_limit, max_gpus_per_user=gpu_limit)
    )
    listed = [deployment(f"d{i}", second, gpus) for i, (second, gpus) in enumerate(made)]
    kept = [d for d in listed if not policy.may_deploy_more(usage_before(d, listed), d.status.gpus)]
    assert len(kept) <= count_limit
    assert sum(d.status.gpus for d in kept) <= gpu_limit
