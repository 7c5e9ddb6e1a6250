"""A simulated Dynamo operator: reconciles DGDs in the stand-in Store into pods, events, status.

Dynamote only ever sees the operator from outside: the DGD's ``status`` (``state``, a ``Ready``
condition, per-component replica counts), the pods it creates (with the operator's labels) and
the Kubernetes events about those pods. This module produces exactly that, so the bot, its
tests and ``dynamote sim`` exercise the same paths as against a real cluster (NOTES.md):

- one pod per component replica, named ``<dgd>-<component-lower>-<n>-<suffix>``, container
  ``main``, walking Pending (ContainerCreating) -> Running -> Ready over ``ready_after`` seconds;
- a scheduler over ``nodes x gpus_per_node`` GPUs shared by all DGDs; a pod that does not fit
  (too many GPUs, none free, or a catalog model larger than its GPUs' memory) stays Pending
  with ``PodScheduled=False`` and a ``FailedScheduling`` event;
- a missing HF secret gives ``CreateContainerConfigError`` until the secret appears; an image
  tag the simulator does not know gives ``ErrImagePull`` then ``ImagePullBackOff``;
- ``status.state`` is ``pending`` until every replica is ready, then ``successful``; it is
  ``failed`` only when the operator itself cannot render the DGD (a component without image).
  Like the real operator it does not look into pod failures: ``bot.status`` does that.

Cost: work is driven by Store notifications plus a timer per DGD still in transition, so DGDs
that are ready (or stuck waiting for something external) cost nothing per ``reconcile_once``.

This module is the reconcile loop (``SimOperator``) and the public entry point; the parts it
drives live beside it, each importing only those above it in this list:

- ``operator_plan``: a DGD spec of either API version -> ``ComponentPlan`` per component;
- ``operator_pods``: pod objects, their statuses at each stage, worker logs;
- ``operator_status``: the DGD status, written only when it changes;
- ``operator_scheduling``: GPUs per simulated node (``GpuPool``);
- ``operator_kubelet``: container stages, pod writes and Warning events (``Kubelet``);
- ``operator_ready``: ``make_ready``, ready DGDs without reconciling (for benchmarks).
"""

from __future__ import annotations

import heapq
import logging
import math
import threading
import time
from collections.abc import Callable, Collection, Iterable
from typing import Any

from bot.sim.operator_kubelet import DEFAULT_IMAGE_TAGS, Kubelet
from bot.sim.operator_plan import ComponentPlan, SpecError, plan_components
from bot.sim.operator_pods import (
    LABEL_COMPONENT,
    LABEL_DGD,
    LABEL_SELECTOR,
    SPEC_HASH_ANNOTATION,
    render_pod,
    replica_index,
    unschedulable_status,
    worker_log,
)
from bot.sim.operator_ready import make_ready
from bot.sim.operator_scheduling import GpuPool, PodTracks
from bot.sim.operator_status import (
    DGD,
    dgd_status,
    failed_status,
    is_settled,
    write_status_if_changed,
)
from bot.sim.store import NotFoundError, Store, WatchEvent

__all__ = [
    "DEFAULT_IMAGE_TAGS",
    "ComponentPlan",
    "SimOperator",
    "SpecError",
    "make_ready",
    "plan_components",
]

Obj = dict[str, Any]
Key = tuple[str, str]  # (namespace, name)
_log = logging.getLogger(__name__)


class SimOperator:
    """Reconciles every DGD of a Store; see the module docstring for what it simulates."""

    def __init__(
        self,
        store: Store,
        *,
        ready_after: float,
        gpu_memory_gib: int = 80,
        nodes: int = 3,
        gpus_per_node: int = 8,
        known_image_tags: Collection[str] = DEFAULT_IMAGE_TAGS,
        tick: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._gpus = GpuPool(
            nodes=nodes, gpus_per_node=gpus_per_node, gpu_memory_gib=gpu_memory_gib
        )
        self._kubelet = Kubelet(
            store, ready_after=max(ready_after, 0.0), known_image_tags=known_image_tags
        )
        self._tick = tick
        self._clock = clock
        self._tracks = PodTracks(self._gpus)
        self._observed_generation: dict[Key, int] = {}
        self._blocked: set[Key] = set()  # DGDs waiting for GPUs or a secret
        self._own_deletions: set[Key] = set()
        self._timers: list[tuple[float, Key]] = []
        self._dirty: set[Key] = set()
        self._dirty_lock = threading.Lock()
        self._reconcile_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        # Subscribe first, then pick up what exists: nothing created in between is missed,
        # and reconcile_once() never has to list every DGD again.
        self._unsubscribe = store.subscribe(self._on_change)
        self._mark(self._unsettled_dgd_keys())

    # ----- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Reconcile in a daemon thread, woken by Store changes and every ``tick`` seconds."""
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="sim-operator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread (if started) and stop listening to the Store."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._unsubscribe()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.reconcile_once()
            except Exception:  # a bug in one pass must not kill the simulated cluster
                _log.exception("Failed to reconcile DGDs")
            self._wake.wait(self._tick)
            self._wake.clear()

    # ----- reconciling ---------------------------------------------------------------------

    def reconcile_once(self) -> int:
        """Reconcile the DGDs that changed or are due; returns how many were looked at."""
        with self._reconcile_lock:
            now = self._clock()
            with self._dirty_lock:
                keys, self._dirty = self._dirty, set()
            while self._timers and self._timers[0][0] <= now:
                keys.add(heapq.heappop(self._timers)[1])
            for key in sorted(keys):
                try:
                    deadline = self._reconcile(key, now)
                except NotFoundError:  # deleted meanwhile; its DELETED event brings it back
                    continue
                if deadline < math.inf:
                    heapq.heappush(self._timers, (deadline, key))
            return len(keys)

    def _unsettled_dgd_keys(self) -> list[Key]:
        """DGDs already in the store that need work. Settled ones are left as they are."""
        dgds, _ = self._store.list(DGD)
        keys = []
        for dgd in dgds:
            meta = dgd["metadata"]
            key = (meta.get("namespace", ""), meta["name"])
            if is_settled(dgd):
                self._observed_generation[key] = int(meta.get("generation", 1))
            else:
                keys.append(key)
        return keys

    def _reconcile(self, key: Key, now: float) -> float:
        """Bring one DGD's pods and status up to date; returns when to look again."""
        dgd = self._store.get(DGD, *key)
        if dgd is None or dgd["metadata"].get("deletionTimestamp"):
            self._tear_down(key)
            return math.inf
        self._observed_generation[key] = int(dgd["metadata"].get("generation", 1))
        try:
            plans = plan_components(dgd)
        except SpecError as error:
            write_status_if_changed(self._store, dgd, failed_status(dgd, str(error)))
            return math.inf
        pods = self._list_pods(key)
        self._forget_vanished(key, {p["metadata"]["name"] for p in pods})
        self._blocked.discard(key)
        deadline = math.inf
        counts: dict[str, tuple[int, int]] = {}
        by_component = self._by_component(pods, {plan.name for plan in plans})
        for plan in plans:
            updated = ready = 0
            for pod in self._sync_replicas(dgd, plan, by_component.get(plan.name, {})):
                is_pod_ready, pod_deadline = self._advance(key, pod, plan, now)
                updated += 1
                ready += is_pod_ready
                deadline = min(deadline, pod_deadline)
            counts[plan.name] = (updated, ready)
        write_status_if_changed(self._store, dgd, dgd_status(dgd, plans, counts))
        return deadline

    def _list_pods(self, key: Key) -> list[Obj]:
        """The pods labelled with the DGD's name."""
        namespace, name = key
        pods, _ = self._store.list("pods", namespace, label_selector=f"{LABEL_DGD}={name}")
        return pods

    def _by_component(self, pods: list[Obj], components: set[str]) -> dict[str, dict[int, Obj]]:
        """Pods by component and replica index; strays (no such component) are deleted."""
        grouped: dict[str, dict[int, Obj]] = {}
        for pod in pods:
            meta = pod["metadata"]
            component = meta.get("labels", {}).get(LABEL_COMPONENT)
            index = replica_index(meta["name"], meta["labels"].get(LABEL_SELECTOR, ""))
            if component not in components or index is None:
                self._delete_pod(meta["namespace"], meta["name"])
                continue
            grouped.setdefault(component, {})[index] = pod
        return grouped

    def _sync_replicas(self, dgd: Obj, plan: ComponentPlan, existing: dict[int, Obj]) -> list[Obj]:
        """Delete surplus and outdated pods, create missing ones; the pods in index order."""
        namespace = dgd["metadata"]["namespace"]
        pods = []
        for index, pod in sorted(existing.items()):
            outdated = pod["metadata"].get("annotations", {}).get(SPEC_HASH_ANNOTATION)
            if index >= plan.replicas or outdated != plan.spec_hash:
                self._delete_pod(namespace, pod["metadata"]["name"])
                existing.pop(index)
        for index in range(plan.replicas):
            pod = existing.get(index) or self._store.create("pods", render_pod(dgd, plan, index))
            pods.append(pod)
        return pods

    def _advance(self, key: Key, pod: Obj, plan: ComponentPlan, now: float) -> tuple[bool, float]:
        """Move one pod along its life; returns (ready, when it changes next)."""
        track = self._tracks.track(key, pod, plan)
        if track.node is None:
            track.node = self._gpus.place(plan)
            if track.node is None:
                self._blocked.add(key)
                message = self._gpus.unschedulable_message()
                self._kubelet.emit(pod, "FailedScheduling", message, source="default-scheduler")
                self._kubelet.write_pod(pod, node=None, status=unschedulable_status(message))
                return False, math.inf
        stage = self._kubelet.stage(pod, plan, track, now, namespace=key[0])
        if stage.blocked:
            self._blocked.add(key)
        for reason, message in stage.events:
            self._kubelet.emit(pod, reason, message)
        # A started container has printed something: `kubectl logs` shows it.
        log = worker_log(plan, *key) if stage.status["phase"] == "Running" else None
        self._kubelet.write_pod(pod, node=track.node, status=stage.status, log=log)
        return stage.ready, stage.next_change

    # ----- deleting -------------------------------------------------------------------------

    def _delete_pod(self, namespace: str, pod_name: str) -> None:
        """Delete a pod and its events, and give its GPUs back."""
        key = (namespace, pod_name)
        self._own_deletions.add(key)
        try:
            self._store.delete("pods", namespace, pod_name)
        except NotFoundError:
            pass
        finally:
            self._own_deletions.discard(key)
        if self._tracks.release(key):
            self._mark(self._blocked)  # freed GPUs may let a waiting pod in
        self._kubelet.forget(namespace, pod_name)

    def _tear_down(self, key: Key) -> None:
        """The DGD is gone: so are its pods and their events."""
        for pod in self._list_pods(key):
            self._delete_pod(key[0], pod["metadata"]["name"])
        self._forget_vanished(key, set())
        self._tracks.forget(key)
        self._observed_generation.pop(key, None)
        self._blocked.discard(key)

    def _forget_vanished(self, key: Key, present: set[str]) -> None:
        """Pods deleted behind the operator's back: release their GPUs, forget them."""
        if self._tracks.keep_only(key, present):
            self._mark(self._blocked)  # freed GPUs may let a waiting pod in

    # ----- notifications -------------------------------------------------------------------

    def _on_change(self, event: WatchEvent) -> None:
        meta = event.object.get("metadata") or {}
        namespace = meta.get("namespace", "")
        if event.resource == DGD:
            key = (namespace, meta.get("name", ""))
            if event.type == "ADDED" and is_settled(event.object):  # made by make_ready()
                self._observed_generation[key] = int(meta.get("generation", 1))
                return
            # Our own status writes keep the generation: no need to look again.
            if event.type == "DELETED" or (
                meta.get("generation") != self._observed_generation.get(key)
            ):
                self._mark([key])
        elif event.resource == "secrets":
            self._mark([k for k in list(self._blocked) if k[0] == namespace])
        elif event.resource == "pods" and event.type == "DELETED":
            owner = (meta.get("labels") or {}).get(LABEL_DGD)
            if owner and (namespace, meta.get("name")) not in self._own_deletions:
                self._mark([(namespace, owner)])

    def _mark(self, keys: Iterable[Key]) -> None:
        with self._dirty_lock:
            self._dirty.update(keys)
        self._wake.set()
