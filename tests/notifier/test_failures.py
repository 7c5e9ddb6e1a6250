"""Each failure the simulator can produce reaches the thread with its reason and a fix."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.status import FAILURE_GRACE
from bot.sim.k8s.standin import StandIn
from bot.sim.operator.controller import SimOperator
from bot.sim.slack.web_api import SlackStandIn

from .conftest import NAMESPACE, Bot, Deploy, FakeClock, make_settings, replies


@pytest.fixture
def small_gpus(standin: StandIn, clock: FakeClock) -> SimOperator:
    """An operator whose GPUs have 8 GiB each: an 8B model (24 GiB) never fits."""
    return SimOperator(standin.store, ready_after=10.0, gpu_memory_gib=8, clock=clock)


def test_a_model_too_big_for_the_gpus_crash_loops_out_of_memory_and_the_reply_says_so(
    bot: Bot,
    deploy: Deploy,
    small_gpus: SimOperator,
    slack: SlackStandIn,
    clock: FakeClock,
) -> None:
    # The scheduler counts GPUs, not weights: the worker starts, and dies loading the model.
    deploy("big", model="deepseek-ai/DeepSeek-R1-Distill-Llama-8B")
    for _ in range(120):  # past three restarts of the kubelet's 10 s, 20 s, 40 s back-off
        clock.advance(1)
        small_gpus.reconcile_once()
    bot.notifier().sweep()
    [reply] = replies(slack)
    text = str(reply["blocks"])
    assert "failed: *out of GPU memory" in text
    assert "torch.OutOfMemoryError: CUDA out of memory." in text
    assert "redeploy with 2 GPUs per worker instead of 1" in text
    small_gpus.stop()


def test_asking_for_more_gpus_than_a_node_has_is_reported_stuck_with_a_fix(
    bot: Bot,
    deploy: Deploy,
    operator: SimOperator,
    slack: SlackStandIn,
) -> None:
    bot.settings = make_settings(pending_timeout=60)
    deploy("wide", gpus=16)
    operator.reconcile_once()
    bot.offset = timedelta(seconds=61)
    bot.notifier().sweep()
    [reply] = replies(slack)
    assert "waiting for GPUs: 0/3 nodes" in str(reply["blocks"])
    assert "ask for fewer GPUs or a smaller model" in str(reply["blocks"])


def test_a_missing_hf_secret_fails_with_the_command_that_creates_it(
    bot: Bot,
    deploy: Deploy,
    operator: SimOperator,
    slack: SlackStandIn,
) -> None:
    deploy("nosecret", secret="missing-token")
    operator.reconcile_once()
    bot.offset = timedelta(seconds=40)  # past the failure grace of bot.domain.status
    notifier = bot.notifier()
    notifier.sweep()
    notifier.sweep()
    [reply] = replies(slack)
    text = str(reply["blocks"])
    assert "Failed" in text
    assert "secret missing-token not found" in text
    assert (
        "kubectl create secret generic missing-token --from-literal=HF_TOKEN=&lt;token&gt; "
        f"-n {NAMESPACE}"
    ) in text


def test_an_image_that_does_not_pull_is_pending_then_failed_with_check_the_image_tag(
    bot: Bot,
    deploy: Deploy,
    operator: SimOperator,
    slack: SlackStandIn,
) -> None:
    image = "registry.example.invalid/ai-dynamo/vllm-runtime:1.4.0"
    deploy("badimage", image=image)
    operator.reconcile_once()
    bot.clock.advance(6)  # ErrImagePull turns into ImagePullBackOff
    operator.reconcile_once()
    notifier = bot.notifier()
    notifier.sweep()
    assert replies(slack) == []  # one failed pull: Pending (the card says so), no reply

    bot.clock.advance(5)  # the kubelet's second pull fails too
    operator.reconcile_once()
    bot.offset = FAILURE_GRACE + timedelta(seconds=1)  # the sweep judges by the pods' times
    notifier.sweep()
    [reply] = replies(slack)
    text = str(reply["blocks"])
    assert f"image pull failed: {image}" in text
    assert "check the image tag" in text
    assert reply["text"].startswith("badimage failed")
