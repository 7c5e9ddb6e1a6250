"""The node side of the simulated operator: container stages, pod writes and Warning events.

Once a pod has a node, what happens to it is the kubelet's business, and Dynamote reads it
back from the pod status and events (``bot.status``, ``bot.advice``):

- a missing HF secret gives ``CreateContainerConfigError`` (and a ``Failed`` event) until the
  secret appears;
- an image tag the simulator does not know gives ``ErrImagePull``, then ``ImagePullBackOff``;
- otherwise ContainerCreating -> Running -> Ready over ``ready_after`` seconds.

``Kubelet.stage`` decides where a pod is without writing to the Store; the caller records what
it needs (a DGD blocked on a secret), then emits the stage's events and writes the pod, in that
order. Events are one per pod and reason, named so they can be deleted with the pod.
"""

from __future__ import annotations

import contextlib
import math
import zlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from bot.sim.operator_plan import ComponentPlan, image_tag
from bot.sim.operator_pods import (
    LABEL_DGD,
    carry_timestamps,
    running_status,
    waiting_status,
    wall_time,
)
from bot.sim.operator_scheduling import PodTrack, node_name
from bot.sim.resources import POD_LOG_ANNOTATION
from bot.sim.store import NotFoundError, Store

__all__ = ["DEFAULT_IMAGE_TAGS", "Kubelet", "Stage"]

DEFAULT_IMAGE_TAGS = ("0.6.1", "0.7.1", "1.3.0", "1.4.0", "my-tag")

Obj = dict[str, Any]


@dataclass(frozen=True)
class Stage:
    """Where a scheduled pod's container is, and what goes with it."""

    status: Obj
    ready: bool = False
    next_change: float = math.inf  # clock time the stage changes by itself
    blocked: bool = False  # waiting for something outside the operator (a secret)
    events: tuple[tuple[str, str], ...] = ()  # (reason, message) of Warning events to emit


class Kubelet:
    """Runs the containers of scheduled pods and writes their status and events."""

    def __init__(
        self, store: Store, *, ready_after: float, known_image_tags: Collection[str]
    ) -> None:
        self._store = store
        self._ready_after = ready_after
        self._known_tags = frozenset(known_image_tags)
        self._emitted: dict[tuple[str, str], set[str]] = {}  # pod -> reasons of its events

    def stage(
        self, pod: Obj, plan: ComponentPlan, track: PodTrack, now: float, *, namespace: str
    ) -> Stage:
        """The stage of a scheduled pod in ``namespace``; starts its containers when it can."""
        node = track.node or 0
        if track.started is None:  # the kubelet checks secrets and image before it starts
            missing = [s for s in plan.secrets if self._store.get("secrets", namespace, s) is None]
            if missing:
                message = f'secret "{missing[0]}" not found'
                status = waiting_status(pod, node, "CreateContainerConfigError", message)
                return Stage(status, blocked=True, events=(("Failed", f"Error: {message}"),))
            image = str(plan.container.get("image", ""))
            tag = image_tag(image)
            if tag is not None and tag not in self._known_tags:
                return self._pull_failure(pod, image, track, node, now)
            track.started = now
        elapsed = now - track.started
        if elapsed >= self._ready_after:
            return Stage(running_status(pod, node, ready=True), ready=True)
        if elapsed >= self._ready_after / 2:
            status = running_status(pod, node, ready=False)
            return Stage(status, next_change=track.started + self._ready_after)
        status = waiting_status(pod, node, "ContainerCreating")
        return Stage(status, next_change=track.started + self._ready_after / 2)

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

    def emit(self, pod: Obj, reason: str, message: str, *, source: str = "kubelet") -> None:
        """One Warning event per pod and reason (the real ones repeat with a growing count)."""
        meta = pod["metadata"]
        namespace, pod_name = meta["namespace"], meta["name"]
        reasons = self._emitted.setdefault((namespace, pod_name), set())
        if reason in reasons:
            return
        reasons.add(reason)
        self._store.create("events", _render_event(pod, reason, message, source=source))

    def forget(self, namespace: str, pod_name: str) -> None:
        """The pod is gone: delete the events emitted about it."""
        # The events this kubelet emitted are known by name: no need to list them.
        for reason in self._emitted.pop((namespace, pod_name), ()):
            with contextlib.suppress(NotFoundError):
                self._store.delete("events", namespace, _event_name(pod_name, reason))

    def _pull_failure(self, pod: Obj, image: str, track: PodTrack, node: int, now: float) -> Stage:
        if track.pull_failed is None:
            track.pull_failed = now
        pull_error = (
            f'Failed to pull image "{image}": rpc error: code = NotFound desc = failed to pull '
            f'and unpack image "{image}": failed to resolve reference "{image}": {image}: '
            "not found"
        )
        backoff_at = track.pull_failed + self._ready_after / 2
        if now < backoff_at:
            status = waiting_status(pod, node, "ErrImagePull", pull_error)
            return Stage(status, next_change=backoff_at, events=(("Failed", pull_error),))
        backoff = f'Back-off pulling image "{image}"'
        status = waiting_status(pod, node, "ImagePullBackOff", backoff)
        return Stage(status, events=(("Failed", pull_error), ("BackOff", backoff)))


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
