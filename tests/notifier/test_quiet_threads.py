"""Quiet threads, through the real notifier against the Kubernetes and Slack stand-ins: a worker
that crash-loops for many sweeps leaves one trouble reply, edited in place (by whichever bot
runs the sweep), the owner is mentioned once, and the thread stays Failed until the deployment
has been healthy for a while.

The worker's container states are written to its pod as the kubelet reports a crash loop
(CrashLoopBackOff while it waits to restart, running again between crashes; restartCount
counts up), the shape ``kubectl get pod -o json`` shows.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.domain.notified import ANNOTATION_NOTIFIED, decode
from bot.notifier.changes import RECOVERY_WINDOW
from bot.sim.k8s.standin import StandIn
from bot.sim.operator.controller import SimOperator
from bot.sim.slack.web_api import SlackStandIn

from .conftest import (
    CHANNEL,
    NAMESPACE,
    READY_AFTER,
    REQUESTER,
    Bot,
    Deploy,
    replies,
    run_to_running,
)


def _worker(standin: StandIn, dgd: str) -> str:
    pods, _ = standin.store.list("pods", NAMESPACE)
    return next(
        p["metadata"]["name"]
        for p in pods
        if p["metadata"]["labels"].get("nvidia.com/dynamo-graph-deployment-name") == dgd
        and "worker" in p["metadata"]["name"]
    )


def _worker_state(standin: StandIn, dgd: str, restarts: int, *, crashing: bool) -> None:
    """The worker's container waiting in CrashLoopBackOff, or running again (not ready)."""

    def write(pod: dict[str, Any]) -> None:
        (container,) = pod["status"]["containerStatuses"]
        last = {"terminated": {"reason": "Error", "exitCode": 1}}
        if crashing:
            state = {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}}
        else:
            state = {"running": {"startedAt": "2026-01-02T12:00:00Z"}}
        container.update(ready=False, restartCount=restarts, state=state, lastState=last)

    standin.store.update("pods", NAMESPACE, _worker(standin, dgd), write)


def _crash_again(standin: StandIn, operator: SimOperator, dgd: str) -> None:
    """The worker's pod is replaced (the operator reports the DGD not ready again) and its
    new container crash-loops."""
    standin.store.delete("pods", NAMESPACE, _worker(standin, dgd))
    operator.reconcile_once()
    _worker_state(standin, dgd, 3, crashing=True)


def _trouble_posts(slack: SlackStandIn, card: str) -> list[dict[str, Any]]:
    return [r for r in replies(slack, card) if "failed" in str(r["text"])]


def test_a_crash_loop_over_many_sweeps_leaves_one_trouble_reply_updated_in_place(
    bot: Bot,
    deploy: Deploy,
    operator: SimOperator,
    standin: StandIn,
    slack: SlackStandIn,
) -> None:
    _, card = deploy("loopy")
    operator.reconcile_once()
    bot.clock.advance(6)
    operator.reconcile_once()
    first, second = bot.notifier(), bot.notifier()  # two replicas, or a bot and its restart
    first.sweep()

    for restarts in range(3, 9):
        _worker_state(standin, "loopy", restarts, crashing=True)
        (first if restarts % 2 else second).sweep()
        _worker_state(standin, "loopy", restarts + 1, crashing=False)
        (second if restarts % 2 else first).sweep()
        bot.notifier().sweep()  # a restarted bot sees nothing new to say

    [trouble] = _trouble_posts(slack, card)
    assert replies(slack, card) == [trouble]  # no Deploying reply between the crashes
    assert f"<@{REQUESTER}>" in str(trouble["blocks"])
    posted = next(c.response for c in slack.calls("chat.postMessage") if c.ok)
    edits = [c.params for c in slack.calls("chat.update") if c.params["ts"] == posted["ts"]]
    assert len(edits) == 5  # one per new restart count after the first
    shown = slack.message(CHANNEL, posted["ts"])
    assert shown is not None and shown["thread_ts"] == card and "edited" in shown
    text = str(shown["blocks"])
    assert "still crash looping: 8 restarts" in text and "· updated <!date^" in text
    assert f"<@{REQUESTER}>" in text  # the edit keeps the mention it was posted with
    assert shown["text"].startswith("loopy is still failing: the worker crashes on start")
    record = decode(
        bot.cluster.get_dgd(NAMESPACE, "loopy")["metadata"]["annotations"][ANNOTATION_NOTIFIED]
    )
    assert (record.phase, record.trouble) == ("Failed", posted["ts"])


def test_the_thread_stays_failed_until_the_deployment_was_healthy_for_the_recovery_window(
    bot: Bot,
    deploy: Deploy,
    operator: SimOperator,
    standin: StandIn,
    slack: SlackStandIn,
) -> None:
    _, card = deploy("flaky")
    operator.reconcile_once()
    bot.clock.advance(6)
    operator.reconcile_once()
    notifier = bot.notifier()
    _worker_state(standin, "flaky", 3, crashing=True)
    notifier.sweep()
    assert len(_trouble_posts(slack, card)) == 1

    bot.clock.advance(READY_AFTER)
    standin.store.delete("pods", NAMESPACE, _worker(standin, "flaky"))  # replaced, healthy
    run_to_running(operator, bot.clock)
    notifier.sweep()
    dgd = bot.cluster.get_dgd(NAMESPACE, "flaky")
    assert dgd["status"]["state"] == "successful"
    # Bot.now is the wall clock plus the offset: leave room for the real seconds a loaded
    # machine spends between the sweeps.
    bot.offset = RECOVERY_WINDOW - timedelta(seconds=30)
    bot.notifier().sweep()
    assert len(replies(slack, card)) == 1  # healthy, not for long enough yet

    bot.offset = RECOVERY_WINDOW
    bot.notifier().sweep()
    notifier.sweep()
    _, running = replies(slack, card)
    assert str(running["text"]).startswith("flaky is running")
    assert running["reply_broadcast"] is True
    assert f"<@{REQUESTER}>" in str(running["blocks"])  # its first Running


def test_a_recovery_is_told_in_the_thread_without_a_mention_and_not_in_the_channel(
    bot: Bot,
    deploy: Deploy,
    operator: SimOperator,
    standin: StandIn,
    slack: SlackStandIn,
) -> None:
    _, card = deploy("again")
    run_to_running(operator, bot.clock)
    bot.notifier().sweep()  # Running: mentioned, and the channel hears it
    _crash_again(standin, operator, "again")
    bot.notifier().sweep()  # Failed: the first trouble reply, mentioned
    bot.clock.advance(READY_AFTER)
    standin.store.delete("pods", NAMESPACE, _worker(standin, "again"))  # replaced, healthy
    run_to_running(operator, bot.clock)
    bot.notifier().sweep()
    bot.offset = RECOVERY_WINDOW
    bot.notifier().sweep()  # Running again, for the recovery window
    _crash_again(standin, operator, "again")
    bot.notifier().sweep()  # Failed again: a new trouble reply

    first, _, recovered, relapse = replies(slack, card)
    assert [first.get("reply_broadcast"), recovered.get("reply_broadcast")] == [True, None]
    assert str(recovered["text"]).startswith("again is running")
    mentioned = [f"<@{REQUESTER}>" in str(r["blocks"]) for r in replies(slack, card)]
    assert mentioned == [True, True, False, False]
    assert str(relapse["text"]).startswith("again failed")
