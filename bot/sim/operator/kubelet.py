"""The node side of the simulated operator: container stages, pod writes and Warning events.

Once a pod has a node, what happens to it is the kubelet's business, and Dynamote reads it
back from the pod status and events (``bot.domain.status``, ``bot.domain.advice``):

- a missing HF secret gives ``CreateContainerConfigError`` (and a ``Failed`` event) until the
  secret appears;
- an image whose registry host ends in ``.invalid`` (a name that never resolves, RFC 2606), or
  one tagged ``my-tag`` (the operator's examples' placeholder, never published), fails to
  pull: ``ErrImagePull``, then ``ImagePullBackOff``, the kubelet retrying every
  ``ready_after`` seconds and counting each failure on its ``Failed`` event, as the real
  kubelet's back-off does (its 10 s doubling to 5 min, scaled to the simulation);
- a worker whose model does not fit its GPUs, or whose HF token the hub refuses, starts and
  crash-loops (``bot.sim.operator.crashes``: its log, exit code 1, the kubelet's growing back-off);
- otherwise ContainerCreating -> Running -> Ready over ``ready_after`` seconds.

``Kubelet.stage`` decides where a pod is without writing to the Store; the caller records what
it needs (a DGD blocked on a secret), then emits the stage's events and writes the pod, in that
order. Events are one per pod and reason, named so they can be deleted with the pod.
"""

from __future__ import annotations

import contextlib
import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.sim.k8s.resources import POD_LOG_ANNOTATION
from bot.sim.k8s.store import NotFoundError, Store
from bot.sim.operator.crashes import backoff_text, crash_log, crash_state, hf_token
from bot.sim.operator.plan import ComponentPlan
from bot.sim.operator.pods import (
    LABEL_DGD,
    carry_timestamps,
    running_status,
    waiting_status,
    wall_time,
)
from bot.sim.operator.scheduling import PodTrack, node_name

__all__ = ["Kubelet", "Stage", "pull_error"]

PLACEHOLDER_TAG = "my-tag"
_PULL_RETRIES = 5  # failed pulls counted before the simulation stops scheduling retries

Obj = dict[str, Any]


@dataclass(frozen=True)
class Stage:
    """Where a scheduled pod's container is, and what goes with it."""

    status: Obj
    ready: bool = False
    next_change: float = math.inf  # clock time the stage changes by itself
    blocked: bool = False  # waiting for something outside the operator (a secret)
    events: tuple[tuple[str, str], ...] = ()  # (reason, message) of Warning events to emit
    event_count: int = 1  # how often the events above have happened so far
    log: str | None = None  # what the container printed, when it is not the usual start


class Kubelet:
    """Runs the containers of scheduled pods and writes their status and events."""

    def __init__(self, store: Store, *, ready_after: float) -> None:
        self._store = store
        self._ready_after = ready_after
        self._emitted: dict[tuple[str, str], dict[str, int]] = {}  # pod -> reason -> count

    def stage(
        self,
        pod: Obj,
        plan: ComponentPlan,
        track: PodTrack,
        now: float,
        *,
        namespace: str,
        gpu_memory_gib: int | None = None,
        model_gib: int | None = None,
    ) -> Stage:
        """The stage of a scheduled pod in ``namespace``; starts its containers when it can.

        ``gpu_memory_gib``: GiB per GPU of its node; ``model_gib``: what its model needs.
        """
        node = track.node or 0
        if track.started is None:  # the kubelet checks secrets and image before it starts
            missing = [s for s in plan.secrets if self._store.get("secrets", namespace, s) is None]
            if missing:
                message = f'secret "{missing[0]}" not found'
                status = waiting_status(pod, node, "CreateContainerConfigError", message)
                return Stage(status, blocked=True, events=(("Failed", f"Error: {message}"),))
            image = str(plan.container.get("image", ""))
            failure = pull_error(image)
            if failure is not None:
                return self._pull_failure(pod, image, failure, track, node=node, now=now)
            track.started = now
        crash = self._crash_log(plan, namespace, gpu_memory_gib, model_gib)
        if crash is not None:
            return self._crash_loop(pod, track.started, now, crash, node=node)
        elapsed = now - track.started
        if elapsed >= self._ready_after:
            return Stage(running_status(pod, node, ready=True), ready=True)
        if elapsed >= self._ready_after / 2:
            status = running_status(pod, node, ready=False)
            return Stage(status, next_change=track.started + self._ready_after)
        status = waiting_status(pod, node, "ContainerCreating")
        return Stage(status, next_change=track.started + self._ready_after / 2)

    def _crash_log(
        self,
        plan: ComponentPlan,
        namespace: str,
        gpu_memory_gib: int | None,
        model_gib: int | None,
    ) -> str | None:
        if plan.gpus <= 0:
            return None  # only workers load the model
        secret = self._store.get("secrets", namespace, plan.secrets[0]) if plan.secrets else None
        engine = next((a for a in plan.container.get("command") or [] if "dynamo." in str(a)), "")
        return crash_log(
            plan.model,
            gpus=plan.gpus,
            gpu_memory_gib=gpu_memory_gib,
            model_gib=model_gib,
            token=hf_token(secret),
            source=str(engine or "dynamo"),
        )

    def _crash_loop(self, pod: Obj, started: float, now: float, log: str, *, node: int) -> Stage:
        """Runs a moment, dies (exit 1), waits the growing back-off, and again."""
        state = crash_state(started, now, runs_for=self._ready_after / 2)
        meta = pod["metadata"]
        who = f"{meta['name']}_{meta['namespace']}({meta.get('uid', '')})"
        if state.running:
            status = running_status(pod, node, ready=False)
        else:
            message = (
                f"back-off {backoff_text(state.backoff)} restarting failed container=main pod={who}"
            )
            status = waiting_status(pod, node, "CrashLoopBackOff", message)
            status["phase"] = "Running"  # the pod runs on; its container restarts
        container = status["containerStatuses"][0]
        container["restartCount"] = state.restarts
        if state.restarts:
            container["lastState"] = {"terminated": {"reason": "Error", "exitCode": 1}}
        events: tuple[tuple[str, str], ...] = ()
        if state.restarts:
            events = (("BackOff", f"Back-off restarting failed container main in pod {who}"),)
        return Stage(
            status,
            next_change=state.next_change,
            events=events,
            event_count=max(state.restarts, 1),
            log=log,
        )

    def write_pod(self, pod: Obj, *, node: int | None, status: Obj, log: str | None = None) -> None:
        """Put the pod on ``node`` with ``status`` (and ``log``) unless nothing changes."""
        status = carry_timestamps(pod.get("status") or {}, status)
        on_node = node_name(node) if node is not None else None
        annotations = pod["metadata"].get("annotations") or {}
        if (
            status == pod.get("status")
            and on_node == pod["spec"].get("nodeName")
            and (log is None or annotations.get(POD_LOG_ANNOTATION) == log)
        ):
            return

        def apply(obj: Obj) -> None:
            if on_node:
                obj["spec"]["nodeName"] = on_node
            if log is not None:
                obj["metadata"].setdefault("annotations", {})[POD_LOG_ANNOTATION] = log
            obj["status"] = status

        meta = pod["metadata"]
        self._store.update("pods", meta["namespace"], meta["name"], apply)

    def emit(
        self, pod: Obj, reason: str, message: str, *, source: str = "kubelet", count: int = 1
    ) -> None:
        """One Warning event per pod and reason; a repeat raises its count, as on a cluster."""
        meta = pod["metadata"]
        namespace, pod_name = meta["namespace"], meta["name"]
        reasons = self._emitted.setdefault((namespace, pod_name), {})
        seen = reasons.get(reason)
        if seen is None:
            reasons[reason] = count
            event = _render_event(pod, reason, message, source=source)
            event["count"] = count
            self._store.create("events", event)
            return
        if count <= seen:
            return
        reasons[reason] = count

        def repeat(obj: Obj) -> None:
            obj["count"] = count
            obj["lastTimestamp"] = wall_time()

        with contextlib.suppress(NotFoundError):
            self._store.update("events", namespace, _event_name(pod_name, reason), repeat)

    def forget(self, namespace: str, pod_name: str) -> None:
        """The pod is gone: delete the events emitted about it."""
        # The events this kubelet emitted are known by name: no need to list them.
        for reason in self._emitted.pop((namespace, pod_name), ()):
            with contextlib.suppress(NotFoundError):
                self._store.delete("events", namespace, _event_name(pod_name, reason))

    def _pull_failure(
        self, pod: Obj, image: str, error: str, track: PodTrack, *, node: int, now: float
    ) -> Stage:
        """ErrImagePull, then ImagePullBackOff until the next try, which fails again."""
        if track.pull_failed is None:
            track.pull_failed = now
        interval = self._ready_after
        elapsed = now - track.pull_failed
        tries = _PULL_RETRIES if interval <= 0 else min(int(elapsed // interval) + 1, _PULL_RETRIES)
        if interval <= 0:
            tries = max(tries, 2)  # no time passes in this simulation: the retry is immediate
        failed = f'Failed to pull image "{image}": {error}'
        next_try = track.pull_failed + tries * interval if tries < _PULL_RETRIES else math.inf
        if interval > 0 and elapsed - (tries - 1) * interval < interval / 2:
            status = waiting_status(pod, node, "ErrImagePull", failed)
            backoff_at = track.pull_failed + (tries - 1) * interval + interval / 2
            return Stage(
                status, next_change=backoff_at, events=(("Failed", failed),), event_count=tries
            )
        backoff = f'Back-off pulling image "{image}"'
        status = waiting_status(pod, node, "ImagePullBackOff", backoff)
        events = (("Failed", failed), ("BackOff", backoff))
        return Stage(status, next_change=next_try, events=events, event_count=tries)


def pull_error(image: str) -> str | None:
    """Why pulling ``image`` fails (containerd's wording), or None when it pulls."""
    name = image.split("@", 1)[0]
    first, _, rest = name.partition("/")
    host = first if rest and ("." in first or ":" in first or first == "localhost") else ""
    registry = host.split(":", 1)[0]
    reference = image if host else f"docker.io/{'' if rest else 'library/'}{image}"
    if registry.endswith(".invalid"):
        repository, _, tag = rest.rpartition(":") if ":" in rest else (rest, "", "latest")
        return (
            f'failed to pull and unpack image "{reference}": failed to resolve reference '
            f'"{reference}": failed to do request: Head "https://{host}/v2/{repository}/'
            f'manifests/{tag}": dial tcp: lookup {registry}: no such host'
        )
    last = name.rsplit("/", 1)[-1]
    if ":" in last and last.split(":", 1)[1] == PLACEHOLDER_TAG:
        return (
            f'rpc error: code = NotFound desc = failed to pull and unpack image "{reference}": '
            f'failed to resolve reference "{reference}": {reference}: not found'
        )
    return None


def _render_event(pod: Mapping[str, Any], reason: str, message: str, *, source: str) -> Obj:
    meta = pod["metadata"]
    namespace, pod_name = meta["namespace"], meta["name"]
    stamp = wall_time()
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": _event_name(pod_name, reason),
            "namespace": namespace,
            # Real events carry no labels; the stand-in deletes a DGD's events by it.
            "labels": {LABEL_DGD: meta["labels"][LABEL_DGD]},
        },
        "involvedObject": {
            "apiVersion": "v1",
            "kind": "Pod",
            "name": pod_name,
            "namespace": namespace,
            "uid": meta.get("uid", ""),
        },
        "reason": reason,
        "message": message,
        "type": "Warning",
        "count": 1,
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "source": {"component": source},
    }


def _event_name(pod_name: str, reason: str) -> str:
    return f"{pod_name}.{zlib.crc32(reason.encode()):08x}"
