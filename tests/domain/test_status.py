"""Tests of bot.domain.status: each phase rule, for both DGD API versions' spec and status shapes.

"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.domain.status import FAILURE_GRACE, RECONCILE_RETRY_WINDOW, Condition, compute_status
from bot.notifier.trouble import operator_ready

VERSIONS = ["v1beta1", "v1alpha1"]
EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "dynamo" / "examples"
IMAGE = "nvcr.io/nvidia/ai-dynamo/vllm-runtime:0.7.1"
CREATED = "2026-08-21T10:00:00Z"
CREATED_AT = datetime(2026, 8, 21, 10, 0, tzinfo=UTC)
GPU_MESSAGE = "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."

# (name, type, replicas, gpus per replica)
AGG = (("Frontend", "frontend", 1, 0), ("VllmDecodeWorker", "worker", 1, 1))


def make_dgd(
    version: str,
    *,
    components: tuple[tuple[str, str, int | None, int], ...] = AGG,
    state: str | None = None,
    ready: str | None = None,
    ready_reason: str = "",
    ready_message: str = "",
    ready_since: str | None = None,
    replica_status: dict[str, tuple[int, int]] | None = None,
    deleting: bool = False,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "qwen", "namespace": "team-a", "creationTimestamp": CREATED}
    if deleting:
        metadata["deletionTimestamp"] = "2026-08-21T11:00:00Z"
    status: dict[str, Any] = {}
    if state:
        status["state"] = state
    if ready:
        status["conditions"] = [
            {"type": "Ready", "status": ready, "reason": ready_reason, "message": ready_message}
        ]
        if ready_since:
            status["conditions"][0]["lastTransitionTime"] = ready_since
    if replica_status is not None:
        key = "components" if version == "v1beta1" else "services"
        status[key] = {
            name: {"componentKind": "Deployment", "readyReplicas": r, "availableReplicas": a}
            for name, (r, a) in replica_status.items()
        }
    dgd: dict[str, Any] = {
        "apiVersion": f"nvidia.com/{version}",
        "kind": "DynamoGraphDeployment",
        "metadata": metadata,
        "spec": _spec(version, components),
    }
    if status:
        dgd["status"] = status
    return dgd


def _spec(version: str, components: tuple[tuple[str, str, int | None, int], ...]) -> dict[str, Any]:
    if version == "v1beta1":
        return {"components": [_v1beta1_component(*c) for c in components]}
    return {"services": {c[0]: _v1alpha1_service(*c) for c in components}}


def _v1beta1_component(name: str, kind: str, replicas: int | None, gpus: int) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "main", "image": IMAGE}
    if gpus:
        container["resources"] = {"limits": {"nvidia.com/gpu": str(gpus)}}
    component: dict[str, Any] = {
        "name": name,
        "type": kind,
        "podTemplate": {"spec": {"containers": [container]}},
    }
    if replicas is not None:
        component["replicas"] = replicas
    return component


def _v1alpha1_service(name: str, kind: str, replicas: int | None, gpus: int) -> dict[str, Any]:
    service: dict[str, Any] = {
        "componentType": kind,
        "extraPodSpec": {"mainContainer": {"image": IMAGE}},
    }
    if gpus:
        service["resources"] = {"limits": {"gpu": str(gpus)}}
    if replicas is not None:
        service["replicas"] = replicas
    return service


def make_pod(
    name: str,
    component: str = "VllmDecodeWorker",
    *,
    ready: bool = False,
    node: str | None = "node-0",
    waiting: str | None = None,
    waiting_message: str = "",
    restarts: int = 0,
    last_terminated: str | None = None,
    unschedulable_message: str | None = None,
) -> dict[str, Any]:
    state: dict[str, Any] = {"running": {}} if waiting is None else {"waiting": {"reason": waiting}}
    if waiting_message:
        state["waiting"]["message"] = waiting_message
    container: dict[str, Any] = {
        "name": "main",
        "image": IMAGE,
        "ready": ready,
        "restartCount": restarts,
        "state": state,
    }
    if last_terminated:
        container["lastState"] = {"terminated": {"reason": last_terminated}}
    conditions = [{"type": "Ready", "status": "True" if ready else "False"}]
    if unschedulable_message is not None:
        conditions.append(
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": unschedulable_message,
            }
        )
    pod: dict[str, Any] = {
        "metadata": {
            "name": name,
            "creationTimestamp": CREATED,
            "labels": {"nvidia.com/dynamo-component": component},
        },
        "spec": {"containers": [{"name": "main", "image": IMAGE}]},
        "status": {
            "phase": "Pending" if unschedulable_message is not None or waiting else "Running",
            "conditions": conditions,
            "containerStatuses": [] if unschedulable_message is not None else [container],
        },
    }
    if node:
        pod["spec"]["nodeName"] = node
    return pod


def make_event(pod: str, reason: str, message: str, *, count: int = 1) -> dict[str, Any]:
    return {
        "involvedObject": {"kind": "Pod", "name": pod, "namespace": "team-a"},
        "reason": reason,
        "message": message,
        "type": "Warning",
        "count": count,
        "firstTimestamp": CREATED,
        "lastTimestamp": CREATED,
    }


def ready_pods() -> list[dict[str, Any]]:
    return [
        make_pod("qwen-frontend-0-a", "Frontend", ready=True),
        make_pod("qwen-vllmdecodeworker-0-b", ready=True),
    ]


# --- 1. Terminating -------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_a_deletion_timestamp_means_terminating_even_when_ready(version: str) -> None:
    dgd = make_dgd(version, deleting=True, state="successful", ready="True")
    status = compute_status(dgd, ready_pods())
    assert (status.phase, status.reason) == ("Terminating", "deleting: 2 pods left")


@pytest.mark.parametrize("version", VERSIONS)
def test_a_terminating_deployment_without_pods_says_deleting(version: str) -> None:
    status = compute_status(make_dgd(version, deleting=True))
    assert (status.phase, status.reason) == ("Terminating", "deleting")


# --- 2. Failed ------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_state_failed_is_failed_with_the_ready_condition_message(version: str) -> None:
    dgd = make_dgd(version, state="failed", ready="False", ready_message="bad\nspec: no image")
    status = compute_status(dgd, ready_pods())
    assert (status.phase, status.reason) == ("Failed", "bad spec: no image")


@pytest.mark.parametrize("version", VERSIONS)
def test_state_failed_without_a_message_still_gives_a_reason(version: str) -> None:
    status = compute_status(make_dgd(version, state="failed"))
    assert status.phase == "Failed"
    assert status.reason == "the operator reports the deployment failed"


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("reason", ["reconcile_failed", "ErrorCreatingDeployment", "InvalidSpec"])
def test_a_ready_false_condition_whose_reason_names_a_failure_is_failed(
    version: str, reason: str
) -> None:
    dgd = make_dgd(version, state="pending", ready="False", ready_reason=reason)
    status = compute_status(dgd, ready_pods())
    assert (status.phase, status.reason) == ("Failed", reason)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("reason", ["some_resources_are_not_ready", "rolling_update_in_progress"])
def test_a_ready_false_condition_that_is_only_waiting_is_not_failed(
    version: str, reason: str
) -> None:
    dgd = make_dgd(version, state="pending", ready="False", ready_reason=reason)
    assert compute_status(dgd, ready_pods()).phase == "Deploying"


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("waiting", ["ImagePullBackOff", "ErrImagePull", "InvalidImageName"])
def test_an_image_that_cannot_be_pulled_is_failed_naming_the_image(
    version: str, waiting: str
) -> None:
    pods = [make_pod("qwen-vllmdecodeworker-0-b", waiting=waiting)]
    status = compute_status(make_dgd(version, state="pending"), pods)
    assert (status.phase, status.reason) == ("Failed", f"image pull failed: {IMAGE}")


@pytest.mark.parametrize("version", VERSIONS)
def test_a_missing_secret_is_failed_naming_the_secret(version: str) -> None:
    pod = make_pod(
        "qwen-vllmdecodeworker-0-b",
        waiting="CreateContainerConfigError",
        waiting_message='secret "hf-token-secret" not found',
    )
    status = compute_status(make_dgd(version, state="pending"), [pod])
    assert (status.phase, status.reason) == ("Failed", "secret hf-token-secret not found")


@pytest.mark.parametrize("version", VERSIONS)
def test_another_container_config_error_is_failed_with_its_message(version: str) -> None:
    pod = make_pod(
        "qwen-vllmdecodeworker-0-b",
        waiting="CreateContainerConfigError",
        waiting_message="couldn't find key HF_TOKEN in Secret team-a/hf",
    )
    status = compute_status(make_dgd(version), [pod])
    assert status.phase == "Failed"
    assert status.reason == "container config error: couldn't find key HF_TOKEN in Secret team-a/hf"


@pytest.mark.parametrize("version", VERSIONS)
def test_a_fresh_config_error_within_the_grace_period_is_still_deploying(version: str) -> None:
    pod = make_pod(
        "qwen-vllmdecodeworker-0-b",
        waiting="CreateContainerConfigError",
        waiting_message='secret "hf-token-secret" not found',
    )
    now = CREATED_AT + FAILURE_GRACE / 2
    status = compute_status(make_dgd(version, state="pending"), [pod], now=now)
    assert status.phase == "Deploying"
    assert status.reason == "0/2 replicas ready; secret hf-token-secret not found (retrying)"


@pytest.mark.parametrize("version", VERSIONS)
def test_a_config_error_that_outlasts_the_grace_period_is_failed(version: str) -> None:
    pod = make_pod(
        "qwen-vllmdecodeworker-0-b",
        waiting="CreateContainerConfigError",
        waiting_message='secret "hf-token-secret" not found',
    )
    now = CREATED_AT + FAILURE_GRACE + timedelta(seconds=1)
    assert compute_status(make_dgd(version), [pod], now=now).phase == "Failed"


@pytest.mark.parametrize("version", VERSIONS)
def test_an_error_event_seen_twice_is_failed_before_the_grace_period_ends(version: str) -> None:
    pod = make_pod("qwen-vllmdecodeworker-0-b", waiting="ErrImagePull")
    event = make_event(pod["metadata"]["name"], "Failed", "Failed to pull image", count=2)
    status = compute_status(make_dgd(version), [pod], [event], now=CREATED_AT)
    assert status.phase == "Failed"


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("waiting", ["ErrImagePull", "ImagePullBackOff"])
def test_an_image_whose_first_pull_failed_is_pending_naming_the_image(
    version: str, waiting: str
) -> None:
    pod = make_pod("qwen-vllmdecodeworker-0-b", waiting=waiting)
    event = make_event(pod["metadata"]["name"], "Failed", "Failed to pull image", count=1)
    status = compute_status(make_dgd(version), [pod], [event], now=CREATED_AT)
    assert (status.phase, status.reason) == ("Pending", f"image pull failed: {IMAGE} (retrying)")


@pytest.mark.parametrize("version", VERSIONS)
def test_an_image_pull_back_off_after_a_second_failed_pull_is_failed(version: str) -> None:
    pod = make_pod("qwen-vllmdecodeworker-0-b", waiting="ImagePullBackOff")
    event = make_event(pod["metadata"]["name"], "Failed", "Failed to pull image", count=2)
    status = compute_status(make_dgd(version), [pod], [event], now=CREATED_AT)
    assert (status.phase, status.reason) == ("Failed", f"image pull failed: {IMAGE}")


def test_one_failed_pull_is_pending_for_30_seconds_by_the_pods_clock_then_failed() -> None:
    """The rule as the README states it, judged by the given clock alone (no second failure
    seen): the last second of the grace is still Pending, its end is Failed."""
    assert timedelta(seconds=30) == FAILURE_GRACE
    pod = make_pod("qwen-vllmdecodeworker-0-b", waiting="ImagePullBackOff")
    event = make_event(pod["metadata"]["name"], "Failed", "Failed to pull image", count=1)
    dgd = make_dgd("v1beta1")
    almost = CREATED_AT + timedelta(seconds=29)
    assert compute_status(dgd, [pod], [event], now=almost).phase == "Pending"
    ended = CREATED_AT + timedelta(seconds=30)
    assert compute_status(dgd, [pod], [event], now=ended).phase == "Failed"


@pytest.mark.parametrize("version", VERSIONS)
def test_an_image_pull_back_off_past_the_grace_period_is_failed(version: str) -> None:
    pod = make_pod("qwen-vllmdecodeworker-0-b", waiting="ImagePullBackOff")
    now = CREATED_AT + FAILURE_GRACE
    assert compute_status(make_dgd(version), [pod], now=now).phase == "Failed"


@pytest.mark.parametrize("version", VERSIONS)
def test_a_crash_loop_past_the_restart_limit_is_failed_with_the_restart_count(
    version: str,
) -> None:
    pod = make_pod("qwen-vllmdecodeworker-0-b", waiting="CrashLoopBackOff", restarts=5)
    status = compute_status(make_dgd(version, state="pending"), [pod])
    assert (status.phase, status.reason) == ("Failed", "crash looping: 5 restarts")


@pytest.mark.parametrize("version", VERSIONS)
def test_a_crash_loop_names_an_out_of_memory_kill(version: str) -> None:
    pod = make_pod(
        "qwen-vllmdecodeworker-0-b",
        waiting="CrashLoopBackOff",
        restarts=4,
        last_terminated="OOMKilled",
    )
    assert (
        compute_status(make_dgd(version), [pod]).reason == "crash looping: 4 restarts (OOMKilled)"
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_a_crash_loop_below_the_restart_limit_is_still_deploying(version: str) -> None:
    pod = make_pod("qwen-vllmdecodeworker-0-b", waiting="CrashLoopBackOff", restarts=2)
    status = compute_status(make_dgd(version, components=AGG[1:]), [pod])
    assert (status.phase, status.reason) == ("Deploying", "0/1 replicas ready")


@pytest.mark.parametrize("version", VERSIONS)
def test_a_failing_pod_beats_a_ready_condition(version: str) -> None:
    pods = [*ready_pods(), make_pod("qwen-vllmdecodeworker-1-c", waiting="ImagePullBackOff")]
    dgd = make_dgd(version, state="successful", ready="True")
    assert compute_status(dgd, pods).phase == "Failed"


# --- a reconcile error the operator is still retrying ----------------------------------------

RECONCILE_ERROR = (
    "failed to reconcile Dynamo components deployments: Operation cannot be fulfilled on "
    'deployments.apps "qwen-frontend": the object has been modified; please apply your '
    "changes to the latest version and try again"
)


def failed_reconcile(version: str, **kwargs: Any) -> dict[str, Any]:
    """What the operator writes after a reconcile error: no components, Ready False since..."""
    return make_dgd(
        version,
        state="failed",
        ready="False",
        ready_reason="failed_to_reconcile_the_resources",
        ready_message=RECONCILE_ERROR,
        ready_since=CREATED,
        **kwargs,
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_a_reconcile_error_within_the_retry_window_is_not_failed(version: str) -> None:
    now = CREATED_AT + RECONCILE_RETRY_WINDOW - timedelta(seconds=1)
    pods = [make_pod("qwen-frontend-0-a", "Frontend", ready=True), make_pod("qwen-w-0-b")]
    status = compute_status(failed_reconcile(version), pods, now=now)
    assert status.phase == "Deploying"
    assert status.reason == f"1/2 replicas ready; operator retrying: {RECONCILE_ERROR}"[:199] + "…"


@pytest.mark.parametrize("version", VERSIONS)
def test_a_reconcile_error_within_the_window_with_every_pod_ready_is_running(
    version: str,
) -> None:
    now = CREATED_AT + timedelta(seconds=5)
    status = compute_status(failed_reconcile(version), ready_pods(), now=now)
    assert (status.phase, status.reason) == ("Running", "ready")


@pytest.mark.parametrize("version", VERSIONS)
def test_a_reconcile_error_that_outlasts_the_window_is_failed_with_its_message(
    version: str,
) -> None:
    now = CREATED_AT + RECONCILE_RETRY_WINDOW
    status = compute_status(failed_reconcile(version), ready_pods(), now=now)
    assert status.phase == "Failed"
    assert status.reason.startswith("failed to reconcile Dynamo components deployments:")


@pytest.mark.parametrize("version", VERSIONS)
def test_a_reconcile_error_judged_without_a_clock_is_failed(version: str) -> None:
    assert compute_status(failed_reconcile(version), ready_pods()).phase == "Failed"


@pytest.mark.parametrize("version", VERSIONS)
def test_the_window_counts_from_when_the_failed_state_was_first_seen_when_that_is_later(
    version: str,
) -> None:
    # Ready went False when the rollout began; the error came 10 minutes later.
    seen = CREATED_AT + timedelta(minutes=10)
    dgd = failed_reconcile(version)
    within = compute_status(dgd, ready_pods(), now=seen + timedelta(minutes=2), failing_since=seen)
    assert within.phase == "Running"
    past = compute_status(dgd, ready_pods(), now=seen + RECONCILE_RETRY_WINDOW, failing_since=seen)
    assert past.phase == "Failed"


@pytest.mark.parametrize("version", VERSIONS)
def test_a_failed_state_first_seen_before_ready_last_changed_counts_from_the_change(
    version: str,
) -> None:
    now = CREATED_AT + timedelta(minutes=1)
    long_ago = CREATED_AT - timedelta(hours=1)
    status = compute_status(
        failed_reconcile(version), ready_pods(), now=now, failing_since=long_ago
    )
    assert status.phase == "Running"


@pytest.mark.parametrize("version", VERSIONS)
def test_a_first_seen_time_not_yet_come_is_ignored(version: str) -> None:
    now = CREATED_AT + RECONCILE_RETRY_WINDOW
    future = now + timedelta(hours=1)  # a hand-edited record
    status = compute_status(failed_reconcile(version), ready_pods(), now=now, failing_since=future)
    assert status.phase == "Failed"


@pytest.mark.parametrize("version", VERSIONS)
def test_a_failure_the_operator_does_not_retry_is_failed_at_once(version: str) -> None:
    dgd = make_dgd(
        version,
        state="failed",
        ready="False",
        ready_reason="unsupported_workload_provider",
        ready_since=CREATED,
    )
    status = compute_status(dgd, ready_pods(), now=CREATED_AT)
    assert (status.phase, status.reason) == ("Failed", "unsupported_workload_provider")


# --- 3. Running -----------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_ready_true_with_every_replica_ready_is_running(version: str) -> None:
    dgd = make_dgd(
        version,
        state="successful",
        ready="True",
        ready_reason="all_resources_are_ready",
        replica_status={"Frontend": (1, 1), "VllmDecodeWorker": (1, 1)},
    )
    status = compute_status(dgd, ready_pods())
    assert (status.phase, status.reason) == ("Running", "ready")


@pytest.mark.parametrize("version", VERSIONS)
def test_state_successful_without_conditions_is_running(version: str) -> None:
    dgd = make_dgd(
        version, state="successful", replica_status={"Frontend": (1, 1), "VllmDecodeWorker": (1, 1)}
    )
    assert compute_status(dgd).phase == "Running"


@pytest.mark.parametrize("state", [None, "pending", "successful", "failed"])
@pytest.mark.parametrize("ready", [None, "False", "True", "Unknown"])
def test_the_notifier_skips_pods_only_where_the_operator_s_word_makes_it_running(
    state: str | None, ready: str | None
) -> None:
    # One rule for "the operator says ready": the notifier's fast path (no pods read) and the
    # phase rules never disagree on a DGD whose replicas are all ready.
    dgd = make_dgd(
        "v1beta1",
        state=state,
        ready=ready,
        replica_status={"Frontend": (1, 1), "VllmDecodeWorker": (1, 1)},
    )
    said_ready = state == "successful" or ready == "True"
    assert operator_ready(dgd) is said_ready
    if said_ready and state != "failed":
        assert compute_status(dgd).phase == "Running"
    assert not operator_ready({**dgd, "metadata": {**dgd["metadata"], "deletionTimestamp": "x"}})


@pytest.mark.parametrize("version", VERSIONS)
def test_ready_true_with_replicas_missing_is_deploying_with_a_count(version: str) -> None:
    components = (("Frontend", "frontend", 1, 0), ("VllmDecodeWorker", "worker", 2, 1))
    dgd = make_dgd(
        version,
        components=components,
        ready="True",
        replica_status={"Frontend": (1, 1), "VllmDecodeWorker": (1, 1)},
    )
    status = compute_status(dgd, ready_pods())
    assert (status.phase, status.reason) == ("Deploying", "2/3 replicas ready")


@pytest.mark.parametrize("version", VERSIONS)
def test_an_operator_that_reports_nothing_is_running_once_every_pod_is_ready(version: str) -> None:
    status = compute_status(make_dgd(version), ready_pods())
    assert (status.phase, status.reason) == ("Running", "ready")


@pytest.mark.parametrize("version", VERSIONS)
def test_a_deployment_scaled_to_zero_is_running_with_no_replicas(version: str) -> None:
    components = (("Frontend", "frontend", 0, 0), ("VllmDecodeWorker", "worker", 0, 1))
    dgd = make_dgd(version, components=components, state="successful", ready="True")
    status = compute_status(dgd)
    assert (status.phase, status.reason) == ("Running", "scaled to 0 replicas")


# --- 4. Pending -----------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("state", [None, "initializing", "pending"])
def test_no_pods_yet_is_pending_waiting_for_the_operator(version: str, state: str | None) -> None:
    status = compute_status(make_dgd(version, state=state))
    assert (status.phase, status.reason) == ("Pending", "waiting for the operator to create pods")


@pytest.mark.parametrize("version", VERSIONS)
def test_a_failed_scheduling_event_for_gpus_is_pending_waiting_for_gpus(version: str) -> None:
    pod = make_pod("qwen-vllmdecodeworker-0-b", node=None, unschedulable_message=GPU_MESSAGE)
    event = make_event(pod["metadata"]["name"], "FailedScheduling", GPU_MESSAGE, count=3)
    status = compute_status(make_dgd(version, state="pending"), [pod], [event])
    assert status.phase == "Pending"
    assert status.reason == "waiting for GPUs: 0/3 nodes have nvidia.com/gpu free"


@pytest.mark.parametrize("version", VERSIONS)
def test_a_pod_scheduled_false_condition_alone_is_pending(version: str) -> None:
    message = "0/5 nodes are available: 2 Insufficient nvidia.com/gpu, 3 node(s) had taints."
    pod = make_pod("qwen-vllmdecodeworker-0-b", node=None, unschedulable_message=message)
    status = compute_status(make_dgd(version), [pod])
    assert (status.phase, status.reason) == (
        "Pending",
        "waiting for GPUs: 0/5 nodes have nvidia.com/gpu free",
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_unschedulable_for_something_other_than_gpus_quotes_the_scheduler(version: str) -> None:
    message = (
        "0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available: "
        "3 No preemption victims found for incoming pod."
    )
    pod = make_pod("qwen-vllmdecodeworker-0-b", node=None, unschedulable_message=message)
    status = compute_status(make_dgd(version), [pod])
    assert status.reason == "unschedulable: 0/3 nodes are available: 3 Insufficient memory"


@pytest.mark.parametrize("version", VERSIONS)
def test_an_old_scheduling_event_of_a_pod_now_on_a_node_is_ignored(version: str) -> None:
    pod = make_pod("qwen-vllmdecodeworker-0-b", node="node-1")
    event = make_event(pod["metadata"]["name"], "FailedScheduling", GPU_MESSAGE)
    status = compute_status(make_dgd(version, components=AGG[1:]), [pod], [event])
    assert (status.phase, status.reason) == ("Deploying", "0/1 replicas ready")


@pytest.mark.parametrize("version", VERSIONS)
def test_insufficient_capacity_from_the_operator_is_pending(version: str) -> None:
    dgd = make_dgd(
        version,
        state="pending",
        ready="False",
        ready_reason="insufficient_capacity",
        ready_message="not enough GPUs in the cluster",
    )
    status = compute_status(dgd, ready_pods()[:1])
    assert (status.phase, status.reason) == (
        "Pending",
        "waiting for capacity: not enough GPUs in the cluster",
    )


# --- 5. Deploying ---------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_scheduled_pods_not_ready_yet_are_deploying(version: str) -> None:
    pods = [make_pod("qwen-frontend-0-a", "Frontend", ready=True), make_pod("qwen-w-0-b")]
    status = compute_status(make_dgd(version, state="pending"), pods)
    assert (status.phase, status.reason) == ("Deploying", "1/2 replicas ready")


# --- replicas, GPUs, frontend, pods, conditions -------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_replica_counts_are_summed_over_the_operators_components(version: str) -> None:
    components = (("Frontend", "frontend", 2, 0), ("VllmDecodeWorker", "worker", 3, 1))
    dgd = make_dgd(
        version,
        components=components,
        replica_status={"Frontend": (2, 1), "VllmDecodeWorker": (1, 1)},
    )
    status = compute_status(dgd)
    assert (status.replicas_desired, status.replicas_ready, status.replicas_available) == (5, 3, 2)


@pytest.mark.parametrize("version", VERSIONS)
def test_model_replicas_leave_out_the_frontend(version: str) -> None:
    dgd = make_dgd(version, replica_status={"Frontend": (1, 1), "VllmDecodeWorker": (1, 1)})
    status = compute_status(dgd)
    assert (status.replicas_ready, status.replicas_desired) == (2, 2)  # pods, frontend included
    assert status.model_replicas == (1, 1)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_split_model_replica_needs_both_worker_kinds(version: str) -> None:
    components = (
        ("Frontend", "frontend", 1, 0),
        ("Prefill", "prefill", 2, 1),
        ("Decode", "decode", 2, 1),
    )
    reported = {"Frontend": (1, 1), "Prefill": (2, 2), "Decode": (1, 1)}
    status = compute_status(make_dgd(version, components=components, replica_status=reported))
    assert status.model_replicas == (1, 2)


def test_a_dgd_without_workers_has_no_model_replica_count() -> None:
    components = (("Frontend", "frontend", 1, 0),)
    assert compute_status(make_dgd("v1beta1", components=components)).model_replicas is None


@pytest.mark.parametrize("version", VERSIONS)
def test_components_the_operator_has_not_reported_are_counted_from_pods(version: str) -> None:
    dgd = make_dgd(version, replica_status={"Frontend": (0, 0)})
    status = compute_status(dgd, ready_pods())
    assert (status.replicas_ready, status.replicas_available) == (1, 1)


@pytest.mark.parametrize("version", VERSIONS)
def test_replicas_default_to_one_when_the_spec_omits_them(version: str) -> None:
    components = (("Frontend", "frontend", None, 0), ("VllmDecodeWorker", "worker", None, 2))
    status = compute_status(make_dgd(version, components=components))
    assert (status.replicas_desired, status.gpus) == (2, 2)


@pytest.mark.parametrize("version", VERSIONS)
def test_gpus_multiply_per_replica_limits_by_replicas(version: str) -> None:
    components = (
        ("Frontend", "frontend", 1, 0),
        ("Prefill", "prefill", 2, 2),
        ("Decode", "decode", 3, 4),
    )
    assert compute_status(make_dgd(version, components=components)).gpus == 16


@pytest.mark.parametrize("version", VERSIONS)
def test_multinode_components_count_gpus_on_every_node(version: str) -> None:
    dgd = make_dgd(version, components=(("Worker", "worker", 2, 8),))
    component = (
        dgd["spec"]["components"][0] if version == "v1beta1" else dgd["spec"]["services"]["Worker"]
    )
    component["multinode"] = {"nodeCount": 2}
    assert compute_status(dgd).gpus == 32


def test_gpu_requests_count_when_there_is_no_limit() -> None:
    dgd = make_dgd("v1beta1", components=(("Worker", "worker", 1, 0),))
    container = dgd["spec"]["components"][0]["podTemplate"]["spec"]["containers"][0]
    container["resources"] = {"requests": {"nvidia.com/gpu": 2}}
    assert compute_status(dgd).gpus == 2


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    ("component", "service"),
    [("Frontend", "qwen-frontend"), ("My.Front", "qwen-my-front")],
)
def test_the_frontend_service_is_the_dgd_and_component_name_lowercased(
    version: str, component: str, service: str
) -> None:
    dgd = make_dgd(version, components=((component, "frontend", 1, 0),))
    assert compute_status(dgd).frontend_service == service


@pytest.mark.parametrize("version", VERSIONS)
def test_a_graph_without_a_frontend_has_no_frontend_service(version: str) -> None:
    assert compute_status(make_dgd(version, components=AGG[1:])).frontend_service is None


@pytest.mark.parametrize("version", VERSIONS)
def test_name_namespace_creation_time_and_conditions_are_carried_over(version: str) -> None:
    dgd = make_dgd(version, ready="False", ready_reason="some_resources_are_not_ready")
    status = compute_status(dgd)
    assert (status.name, status.namespace, status.created_at) == ("qwen", "team-a", CREATED_AT)
    assert status.conditions == (Condition("Ready", "False", "some_resources_are_not_ready", ""),)


def test_pods_are_listed_by_name_with_their_state() -> None:
    pods = [
        make_pod("qwen-w-1", waiting="CrashLoopBackOff", restarts=2, node="node-2"),
        make_pod("qwen-w-0", node=None, unschedulable_message=GPU_MESSAGE),
        make_pod("qwen-frontend-0", "Frontend", ready=True),
    ]
    status = compute_status(make_dgd("v1beta1"), pods)
    summary = [
        (p.name, p.component, p.phase, p.ready, p.restarts, p.node, p.reason) for p in status.pods
    ]
    assert summary == [
        ("qwen-frontend-0", "Frontend", "Running", True, 0, "node-0", None),
        ("qwen-w-0", "VllmDecodeWorker", "Pending", False, 0, None, "Unschedulable"),
        ("qwen-w-1", "VllmDecodeWorker", "Pending", False, 2, "node-2", "CrashLoopBackOff"),
    ]


def test_an_empty_object_gives_a_pending_status_without_crashing() -> None:
    status = compute_status({})
    assert (status.name, status.phase, status.replicas_desired, status.gpus) == (
        "",
        "Pending",
        0,
        0,
    )


# --- the operator's own examples ------------------------------------------------------------


def _examples() -> list[Path]:
    return sorted(EXAMPLES.glob("*.yaml")) + sorted((EXAMPLES / "v1alpha1").glob("*.yaml"))


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason="shared/dynamo/examples not present")
@pytest.mark.parametrize("path", _examples(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_operator_example_has_a_frontend_service_and_gpus(path: Path) -> None:
    dgd = yaml.safe_load(path.read_text())
    status = compute_status(dgd)
    assert status.frontend_service == f"{dgd['metadata']['name']}-frontend"
    assert status.gpus >= 1
    assert (status.phase, status.reason) == ("Pending", "waiting for the operator to create pods")


# --- speed ----------------------------------------------------------------------------------


def test_ten_thousand_ready_deployments_take_well_under_a_second() -> None:
    dgds = [
        make_dgd(
            version,
            state="successful",
            ready="True",
            ready_reason="all_resources_are_ready",
            replica_status={"Frontend": (1, 1), "VllmDecodeWorker": (1, 1)},
        )
        for version in VERSIONS
        for _ in range(5_000)
    ]
    pods = ready_pods()
    started = time.process_time()
    for dgd in dgds:
        compute_status(dgd, pods)
    assert time.process_time() - started < 1.0


# --- statuses as the operator writes them (tests/fixtures/dgd_status_shapes.yaml) -----------

SHAPES = Path(__file__).resolve().parents[1] / "fixtures" / "dgd_status_shapes.yaml"


def _shape_cases() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = yaml.safe_load(SHAPES.read_text())["cases"]
    return cases


def _as_version(status: dict[str, Any], version: str) -> dict[str, Any]:
    """The v1beta1 status as v1alpha1 writes it: ``services``, with ``componentName``."""
    status = dict(status)
    if version == "v1alpha1" and "components" in status:
        status["services"] = {
            name: {**entry, "componentName": entry["componentNames"][0]}
            for name, entry in status.pop("components").items()
        }
    return status


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("case", _shape_cases(), ids=lambda case: str(case["name"]))
def test_each_status_shape_the_operator_writes_gets_its_phase(
    version: str, case: dict[str, Any]
) -> None:
    dgd = make_dgd(version)
    status = _as_version(case["status"], version)
    for condition in status.get("conditions", []):
        condition["lastTransitionTime"] = CREATED
    dgd["status"] = status
    pods = []
    if case["pods_ready"] is not None:
        pods = [
            make_pod("qwen-frontend-6d5f-a", "Frontend", ready=case["pods_ready"] >= 1),
            make_pod("qwen-vllmdecodeworker-1a2b3c4d-7c9e-b", ready=case["pods_ready"] >= 2),
        ]
    now = CREATED_AT + timedelta(seconds=case["age"])
    result = compute_status(dgd, pods, now=now)
    assert result.phase == case["phase"], case["rule"]
    assert result.reason.startswith(case["reason"]), result.reason
