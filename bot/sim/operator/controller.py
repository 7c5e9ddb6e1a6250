"""A simulated Dynamo operator: reconciles DGDs in the stand-in Store into pods, events, status.

Dynamote only ever sees the operator from outside: the DGD's ``status`` (``state``, a ``Ready``
condition, per-component replica counts), the objects it creates (pods and Services with the
operator's names and labels) and the Kubernetes events about the pods. This module produces
exactly that, as strictly as the real operator, so the bot, its tests and ``dynamote sim``
exercise the same paths as against a real cluster:

- per component, a Service and ``replicas`` pods named after the component's Deployment,
  ``<dgd>-<component lowercased>`` plus ``-<worker hash>`` on worker, prefill and decode
  components; pods walk Pending (ContainerCreating) -> Running -> Ready over ``ready_after``
  seconds, and each Service's Endpoints list its pods (ready ones as ``addresses``);
- a name the API server would refuse (a Service name over 63 characters, a label value over
  63) fails the reconcile with the API server's message, as the real operator's does;
- a scheduler over the GPUs of the simulated nodes (``bot.sim.operator.nodes``: two products by
  default, or ``nodes x gpus_per_node`` alike), shared by all DGDs; a pod that does not fit
  (too many GPUs, none free, or a catalog model larger than its GPUs' memory) stays Pending
  with ``PodScheduled=False`` and a ``FailedScheduling`` event;
- a missing HF secret gives ``CreateContainerConfigError`` until the secret appears; an image
  whose registry host ends in ``.invalid`` gives ``ErrImagePull``, then ``ImagePullBackOff``;
- ``status.state`` is ``pending`` until every replica is ready, then ``successful``; a reconcile
  error (a refused name, a component without image, or an injected transient failure, see
  ``fail_reconciles``) writes ``failed`` with ``failed_to_reconcile_the_resources``, and the
  next reconcile that succeeds writes ``pending``/``successful`` again. Like the real operator
  it does not look into pod failures: ``bot.domain.status`` does that.

Cost: work is driven by Store notifications plus a timer per DGD still in transition, so DGDs
that are ready (or stuck waiting for something external) cost nothing per ``reconcile_once``.

This module is the reconcile loop (``SimOperator``) and the public entry point; the parts it
drives live beside it, each importing only those above it in this list:

- ``operator_plan``: a DGD spec of either API version -> ``ComponentPlan`` per component;
- ``operator_pods``: pod objects, their labels and statuses at each stage, worker logs;
- ``operator_services``: each component's Service and Endpoints, and names the API refuses;
- ``operator_status``: the DGD status, written only when it changes;
- ``operator_scheduling``: GPUs per simulated node (``GpuPool``, over ``bot.sim.operator.nodes``);
- ``operator_kubelet``: container stages, pod writes and Warning events (``Kubelet``);
- ``operator_ready``: ``make_ready``, ready DGDs without reconciling (for benchmarks).
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from bot.sim.k8s.store import AlreadyExists, NotFoundError, Store, WatchEvent
from bot.sim.operator.kubelet import Kubelet
from bot.sim.operator.nodes import DEFAULT_FLEET, uniform_fleet, write_nodes
from bot.sim.operator.plan import ComponentPlan, SpecError, plan_components
from bot.sim.operator.pods import (
    LABEL_COMPONENT,
    LABEL_DGD,
    SPEC_HASH_ANNOTATION,
    component_prefix,
    render_pod,
    replica_index,
    unschedulable_status,
    worker_log,
)
from bot.sim.operator.ready import make_ready
from bot.sim.operator.scheduling import GpuPool, PodTracks
from bot.sim.operator.services import name_problems, render_endpoints, render_service
from bot.sim.operator.status import (
    DGD,
    dgd_status,
    failed_status,
    is_settled,
    write_status_if_changed,
)

__all__ = [
    "CONFLICT_MESSAGE",
    "ComponentPlan",
    "SimOperator",
    "SpecError",
    "make_ready",
    "plan_components",
]

Obj = dict[str, Any]
Key = tuple[str, str]  # (namespace, name)
_log = logging.getLogger(__name__)
# How the operator wraps an error of its component reconcile, and the usual transient one: an
# optimistic-concurrency conflict on a Deployment it writes (the API server's 409 wording).
_RECONCILE_ERROR = "failed to reconcile Dynamo components deployments: {}"
CONFLICT_MESSAGE = (
    'Operation cannot be fulfilled on deployments.apps "{name}": the object has been '
    "modified; please apply your changes to the latest version and try again"
)


class SimOperator:
    """Reconciles every DGD of a Store; see the module docstring for what it simulates."""

    def __init__(
        self,
        store: Store,
        *,
        ready_after: float,
        gpu_memory_gib: int | None = None,
        nodes: int | None = None,
        gpus_per_node: int | None = None,
        transient_failure: float = 0.0,
        tick: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``transient_failure`` > 0: every DGD's reconciles fail for that many seconds after
        the operator first sees it, then succeed (``DYNAMOTE_SIM_TRANSIENT_FAILURE``)."""
        self._store = store
        fleet = DEFAULT_FLEET
        if (nodes, gpus_per_node, gpu_memory_gib) != (None, None, None):  # one exact shape
            fleet = uniform_fleet(
                nodes=3 if nodes is None else nodes,
                gpus_per_node=8 if gpus_per_node is None else gpus_per_node,
                gpu_memory_gib=80 if gpu_memory_gib is None else gpu_memory_gib,
            )
        write_nodes(store, fleet)
        self._gpus = GpuPool(fleet, lambda name: store.get("nodes", None, name))
        self._kubelet = Kubelet(store, ready_after=max(ready_after, 0.0))
        self._transient_failure = max(transient_failure, 0.0)
        self._failing: dict[Key, tuple[float, str | None]] = {}  # until (clock), message
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

    def fail_reconciles(
        self, namespace: str, name: str, *, seconds: float, message: str | None = None
    ) -> None:
        """Make the DGD's reconciles fail for ``seconds`` from now, then recover by themselves.

        While failing, the operator writes what the real one writes after a reconcile error
        (state ``failed``, reason ``failed_to_reconcile_the_resources``, the error as message;
        by default a Deployment update conflict); pods and Services carry on as they are.
        """
        with self._reconcile_lock:
            self._failing[(namespace, name)] = (self._clock() + seconds, message)
        self._mark([(namespace, name)])

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
            self._fail(dgd, str(error))
            return math.inf
        refused = name_problems(key[1], key[0], plans)
        if refused is not None:  # the API server refuses what the operator would create
            self._fail(dgd, refused)
            return math.inf
        self._sync_services(dgd, plans)
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
        self._sync_endpoints(key)
        failing_until = self._failing_until(key, dgd, now)
        if failing_until is not None:
            name = component_prefix(key[1], plans[0]) if plans else key[1]
            message = self._failing[key][1] or CONFLICT_MESSAGE.format(name=name)
            self._fail(dgd, message)
            return min(deadline, failing_until)
        write_status_if_changed(self._store, dgd, dgd_status(dgd, plans, counts))
        return deadline

    def _failing_until(self, key: Key, dgd: Obj, now: float) -> float | None:
        """When an injected reconcile failure of this DGD ends, or None when there is none."""
        if key not in self._failing and self._transient_failure and not dgd.get("status"):
            self._failing[key] = (now + self._transient_failure, None)
        until = self._failing.get(key, (-math.inf, None))[0]
        return until if now < until else None

    def _fail(self, dgd: Obj, error: str) -> None:
        """What the operator writes after a reconcile that returned ``error``."""
        message = _RECONCILE_ERROR.format(error)
        write_status_if_changed(self._store, dgd, failed_status(dgd, message))

    def _sync_services(self, dgd: Obj, plans: tuple[ComponentPlan, ...]) -> None:
        """Create each component's Service; delete those of components (or hashes) gone."""
        namespace, name = dgd["metadata"]["namespace"], dgd["metadata"]["name"]
        wanted = {component_prefix(name, plan): plan for plan in plans}
        selector = f"{LABEL_DGD}={name}"
        existing = {
            s["metadata"]["name"]: s for s in self._store.list("services", namespace, selector)[0]
        }
        for service_name in existing.keys() - wanted.keys():
            for plural in ("services", "endpoints"):
                with contextlib.suppress(NotFoundError):
                    self._store.delete(plural, namespace, service_name)
        for service_name, plan in wanted.items():
            service = render_service(dgd, plan)
            current = existing.get(service_name)
            if current is None:
                with contextlib.suppress(AlreadyExists):
                    self._store.create("services", service)
            elif current.get("spec") != service["spec"]:

                def replace_spec(obj: Obj, spec: Obj = service["spec"]) -> None:
                    obj["spec"] = spec

                self._store.update("services", namespace, service_name, replace_spec)

    def _sync_endpoints(self, key: Key) -> None:
        """Each Service's Endpoints from the pods its selector matches, written on change."""
        namespace, name = key
        services, _ = self._store.list("services", namespace, f"{LABEL_DGD}={name}")
        for service in services:
            selector = ",".join(f"{k}={v}" for k, v in service["spec"]["selector"].items())
            pods, _ = self._store.list("pods", namespace, label_selector=selector)
            endpoints = render_endpoints(service, pods)
            current = self._store.get("endpoints", namespace, service["metadata"]["name"])
            if current is None:
                with contextlib.suppress(AlreadyExists):
                    self._store.create("endpoints", endpoints)
            elif current.get("subsets") != endpoints.get("subsets"):

                def replace_subsets(obj: Obj, new: Obj = endpoints) -> None:
                    obj.pop("subsets", None)
                    if "subsets" in new:
                        obj["subsets"] = new["subsets"]

                self._store.update(
                    "endpoints", namespace, service["metadata"]["name"], replace_subsets
                )

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
            index = replica_index(pod)
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
                message = self._gpus.unschedulable_message(plan)
                self._kubelet.emit(pod, "FailedScheduling", message, source="default-scheduler")
                self._kubelet.write_pod(pod, node=None, status=unschedulable_status(message))
                return False, math.inf
        stage = self._kubelet.stage(
            pod,
            plan,
            track,
            now,
            namespace=key[0],
            gpu_memory_gib=self._gpus.memory_gib(track.node),
            model_gib=self._gpus.model_memory(plan.model) if plan.model else None,
        )
        if stage.blocked:
            self._blocked.add(key)
        for reason, message in stage.events:
            self._kubelet.emit(pod, reason, message, count=stage.event_count)
        # A started container has printed something: `kubectl logs` shows it.
        log = stage.log
        if log is None and stage.status["phase"] == "Running":
            log = worker_log(plan, *key)
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
        for plural in ("services", "endpoints"):
            for obj in self._store.list(plural, key[0], f"{LABEL_DGD}={key[1]}")[0]:
                with contextlib.suppress(NotFoundError):
                    self._store.delete(plural, key[0], obj["metadata"]["name"])
        self._failing.pop(key, None)
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
        elif event.resource == "nodes":  # uncordoned, untainted: waiting pods may fit now
            self._mark(list(self._blocked))
        elif event.resource == "pods" and event.type == "DELETED":
            owner = (meta.get("labels") or {}).get(LABEL_DGD)
            if owner and (namespace, meta.get("name")) not in self._own_deletions:
                self._mark([(namespace, owner)])

    def _mark(self, keys: Iterable[Key]) -> None:
        with self._dirty_lock:
            self._dirty.update(keys)
        self._wake.set()
