"""A crash log and event messages reach the thread with their tokens replaced.

Through the real notifier: the DGD and pods in the Kubernetes stand-in (the worker's log read
over HTTP as ``kubectl logs`` would), the reply posted to the Slack stand-in.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.ops.redaction import REDACTED
from bot.sim.k8s.resources import POD_LOG_ANNOTATION
from bot.sim.k8s.standin import StandIn
from bot.sim.operator.controller import SimOperator
from bot.sim.slack.web_api import SlackStandIn

from .conftest import NAMESPACE, Bot, Deploy, replies

HF_TOKEN = "hf_" + "AbCdEfGhIjKlMnOpQrStUvWx12"  # made up, shaped like a Hugging Face token
SLACK_TOKEN = "xoxb-" + "1234567890-0987654321-AbCdEfGhIjKlMnOp"  # made up, shaped like one


def _crash_loop(standin: StandIn, dgd: str, log: str) -> None:
    """The worker's container keeps crashing, as the kubelet reports it, having printed ``log``."""
    pods, _ = standin.store.list("pods", NAMESPACE)
    worker = next(
        p
        for p in pods
        if p["metadata"]["labels"].get("nvidia.com/dynamo-graph-deployment-name") == dgd
        and "worker" in p["metadata"]["name"]
    )

    def crash(pod: dict[str, Any]) -> None:
        pod["metadata"].setdefault("annotations", {})[POD_LOG_ANNOTATION] = log
        (container,) = pod["status"]["containerStatuses"]
        container.update(
            ready=False,
            restartCount=5,
            state={"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s"}},
            lastState={"terminated": {"reason": "Error", "exitCode": 1}},
        )

    standin.store.update("pods", NAMESPACE, worker["metadata"]["name"], crash)


def test_a_crash_log_with_tokens_is_posted_with_the_tokens_replaced(
    bot: Bot,
    deploy: Deploy,
    operator: SimOperator,
    standin: StandIn,
    slack: SlackStandIn,
) -> None:
    deploy("leaky")
    operator.reconcile_once()
    bot.clock.advance(6)
    operator.reconcile_once()
    _crash_loop(
        standin,
        "leaky",
        "INFO loading Qwen/Qwen3-0.6B\n"
        f"DEBUG env HF_TOKEN={HF_TOKEN}\n"
        f"DEBUG posting with token {SLACK_TOKEN}\n"
        "Traceback (most recent call last):\nRuntimeError: CUDA error\n",
    )
    bot.offset = timedelta(seconds=40)
    notifier = bot.notifier()
    notifier.sweep()
    [reply] = replies(slack)
    posted = str(reply)
    assert "crash looping: 5 restarts" in posted
    assert "RuntimeError: CUDA error" in posted  # the log is there...
    assert f"HF_TOKEN={REDACTED}" in posted and f"token {REDACTED}" in posted
    assert HF_TOKEN not in posted and SLACK_TOKEN not in posted  # ...without the tokens
