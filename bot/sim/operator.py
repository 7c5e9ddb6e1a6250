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
"""

from __future__ import annotations

import contextlib
import heapq
import json
import logging
import math
import threading
import time
import zlib
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.sim.resources import POD_LOG_ANNOTATION
from bot.sim.store import AlreadyExists, NotFoundError, Store, WatchEvent, copy_json

__all__ = [
    "DEFAULT_IMAGE_TAGS",
    "ComponentPlan",
    "SimOperator",
    "SpecError",
    "make_ready",
    "plan_components",
]

DGD = "dynamographdeployments"
LABEL_DGD = "nvidia.com/dynamo-graph-deployment-name"
LABEL_COMPONENT = "nvidia.com/dynamo-component"
LABEL_TYPE = "nvidia.com/dynamo-component-type"
LABEL_SUB_TYPE = "nvidia.com/dynamo-sub-component-type"
LABEL_DYNAMO_NAMESPACE = "nvidia.com/dynamo-namespace"
LABEL_SELECTOR = "nvidia.com/selector"
# The simulator's own bookkeeping: which spec a pod was rendered from (a real operator keeps
# this on its Deployments' pod-template hash).
SPEC_HASH_ANNOTATION = "sim.dynamote.dev/spec-hash"
GPU = "nvidia.com/gpu"
FRONTEND_PORT = 8000
DEFAULT_IMAGE_TAGS = ("0.6.1", "0.7.1", "1.3.0", "1.4.0", "my-tag")
_SUFFIX_CHARS = "bcdfghjklmnpqrstvwxz2456789"  # the alphabet Kubernetes uses for pod suffixes

Obj = dict[str, Any]
Key = tuple[str, str]  # (namespace, name)
_log = logging.getLogger(__name__)


class SpecError(ValueError):
    """The DGD cannot be turned into pods; the operator reports state ``failed``."""


@dataclass(frozen=True)
class ComponentPlan:
    """What one DGD component becomes: ``replicas`` pods running ``container``."""

    name: str
    type: str
    sub_type: str | None
    replicas: int
    gpus: int
    container: Mapping[str, Any]
    secrets: tuple[str, ...]
    model: str | None
    spec_hash: str

    @property
    def resource_name(self) -> str:
        """``<component>`` as it appears in child resource names: lowercased, dots -> hyphens."""
        return self.name.lower().replace(".", "-")


@dataclass
class _PodTrack:
    """The simulator's memory of one pod (mutable, internal)."""

    gpus: int
    node: int | None = None
    started: float | None = None  # clock time its containers could start
    pull_failed: float | None = None  # clock time of the first failed image pull


# --- reading a DGD --------------------------------------------------------------------------


def plan_components(dgd: Mapping[str, Any]) -> tuple[ComponentPlan, ...]:
    """The components of a DGD of either API version, in spec order. Raises SpecError."""
    spec = dgd.get("spec") or {}
    if "components" in spec:
        return tuple(_plan_v1beta1(c) for c in spec.get("components") or [])
    return tuple(_plan_v1alpha1(n, s or {}) for n, s in (spec.get("services") or {}).items())


def _plan_v1beta1(component: Mapping[str, Any]) -> ComponentPlan:
    name = str(component.get("name", ""))
    containers = ((component.get("podTemplate") or {}).get("spec") or {}).get("containers") or []
    main = next((c for c in containers if c.get("name") == "main"), None)
    if main is None:
        raise SpecError(f"component {name} has no container named main")
    container = copy_json(main)
    limits = (container.get("resources") or {}).get("limits") or {}
    secrets = [
        ref["secretRef"]["name"]
        for ref in container.get("envFrom") or []
        if (ref.get("secretRef") or {}).get("name") and not ref["secretRef"].get("optional")
    ]
    return _plan(
        name=name,
        component_type=str(component.get("type", "")),
        sub_type=None,
        replicas=component.get("replicas"),
        gpus=limits.get(GPU),
        container=container,
        secrets=secrets,
    )


def _plan_v1alpha1(name: str, service: Mapping[str, Any]) -> ComponentPlan:
    container: Obj = {
        "name": "main",
        **copy_json((service.get("extraPodSpec") or {}).get("mainContainer") or {}),
    }
    resources = service.get("resources") or {}
    gpus = (resources.get("limits") or {}).get("gpu") or (resources.get("requests") or {}).get(
        "gpu"
    )
    if gpus:
        container["resources"] = {"limits": {GPU: str(gpus)}, "requests": {GPU: str(gpus)}}
    secret = service.get("envFromSecret")
    if secret:
        container.setdefault("envFrom", []).append({"secretRef": {"name": secret}})
    return _plan(
        name=name,
        component_type=str(service.get("componentType", "")),
        sub_type=service.get("subComponentType"),
        replicas=service.get("replicas"),
        gpus=gpus,
        container=container,
        secrets=[secret] if secret else [],
    )


def _plan(
    *,
    name: str,
    component_type: str,
    sub_type: str | None,
    replicas: object,
    gpus: object,
    container: Obj,
    secrets: list[str],
) -> ComponentPlan:
    if not container.get("image"):
        raise SpecError(f"component {name} has no image")
    if component_type == "frontend":
        _inject_frontend(container)
    return ComponentPlan(
        name=name,
        type=component_type,
        sub_type=sub_type,
        replicas=1 if replicas is None else max(int(str(replicas)), 0),
        gpus=int(str(gpus)) if gpus else 0,
        container=container,
        secrets=tuple(secrets),
        model=_model_argument(container.get("args") or []),
        spec_hash=f"{zlib.crc32(json.dumps(container, sort_keys=True).encode()):08x}",
    )


def _inject_frontend(container: Obj) -> None:
    """What the operator adds to a frontend (NOTES.md, "How each engine's worker is launched")."""
    container.setdefault("command", ["python3", "-m", "dynamo.frontend"])
    container.setdefault("ports", [{"name": "http", "containerPort": FRONTEND_PORT}])
    env = container.setdefault("env", [])
    if not any(e.get("name") == "DYN_HTTP_PORT" for e in env):
        env.append({"name": "DYN_HTTP_PORT", "value": str(FRONTEND_PORT)})


def _model_argument(args: list[Any]) -> str | None:
    """The model id from ``--model X``, ``--model-path X`` or their ``=`` forms."""
    for index, arg in enumerate(args):
        text = str(arg)
        for flag in ("--model", "--model-path"):
            if text == flag and index + 1 < len(args):
                return str(args[index + 1])
            if text.startswith(flag + "="):
                return text.split("=", 1)[1]
    return None


def _image_tag(image: str) -> str | None:
    """The tag of ``registry/repo:tag``; None for a digest (always pullable here)."""
    if "@" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else "latest"


# --- rendering pods and statuses -------------------------------------------------------------


_wall_cache: tuple[int, str] = (-1, "")


def _wall_time() -> str:
    """Now as RFC 3339 (whole seconds, as Kubernetes writes it); formatted once a second."""
    global _wall_cache  # noqa: PLW0603 (a one-entry cache; strftime showed in profiles)
    second = int(time.time())
    if _wall_cache[0] != second:
        _wall_cache = (second, datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    return _wall_cache[1]


def _suffix(seed: str) -> str:
    value = zlib.crc32(seed.encode())
    chars = []
    for _ in range(5):
        value, digit = divmod(value, len(_SUFFIX_CHARS))
        chars.append(_SUFFIX_CHARS[digit])
    return "".join(chars)


def _node_name(index: int) -> str:
    return f"sim-gpu-node-{index}"


def _render_pod(dgd: Mapping[str, Any], plan: ComponentPlan, index: int) -> Obj:
    meta = dgd["metadata"]
    dgd_name, namespace = meta["name"], meta.get("namespace", "default")
    prefix = f"{dgd_name}-{plan.resource_name}"
    labels = {
        LABEL_DGD: dgd_name,
        LABEL_COMPONENT: plan.name,
        LABEL_TYPE: plan.type,
        LABEL_DYNAMO_NAMESPACE: f"{namespace}-{dgd_name}",
        LABEL_SELECTOR: prefix,
    }
    if plan.sub_type:
        labels[LABEL_SUB_TYPE] = plan.sub_type
    seed = f"{meta.get('uid', '')}/{plan.spec_hash}/{index}"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{prefix}-{index}-{_suffix(seed)}",
            "namespace": namespace,
            "labels": labels,
            "annotations": {SPEC_HASH_ANNOTATION: plan.spec_hash},
        },
        "spec": {
            "containers": [copy_json(plan.container)],
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
        },
        "status": {"phase": "Pending"},
    }


def _condition(kind: str, ok: bool, reason: str | None = None, message: str = "") -> Obj:
    condition: Obj = {
        "type": kind,
        "status": "True" if ok else "False",
        "lastTransitionTime": _wall_time(),
    }
    if reason:
        condition["reason"] = reason
    if message:
        condition["message"] = message
    return condition


def _unschedulable_status(message: str) -> Obj:
    return {
        "phase": "Pending",
        "conditions": [_condition("PodScheduled", False, "Unschedulable", message)],
    }


def _scheduled_status(
    pod: Mapping[str, Any], node: int, state: Obj, *, running: bool, ready: bool
) -> Obj:
    container = pod["spec"]["containers"][0]
    not_ready = None if ready else "ContainersNotReady"
    return {
        "phase": "Running" if running else "Pending",
        "hostIP": f"10.0.0.{10 + node}",
        "podIP": f"10.244.{node}.{zlib.crc32(pod['metadata']['name'].encode()) % 250 + 2}",
        "startTime": _wall_time(),
        "conditions": [
            _condition("PodScheduled", True),
            _condition("Initialized", True),
            _condition("ContainersReady", ready, not_ready),
            _condition("Ready", ready, not_ready),
        ],
        "containerStatuses": [
            {
                "name": "main",
                "image": container.get("image", ""),
                "imageID": "",
                "ready": ready,
                "started": running,
                "restartCount": 0,
                "state": state,
            }
        ],
    }


def _waiting(reason: str, message: str = "") -> Obj:
    return {"waiting": {"reason": reason, **({"message": message} if message else {})}}


def _ready_pod(pod: Obj, node: int) -> Obj:
    running = {"running": {"startedAt": _wall_time()}}
    return _scheduled_status(pod, node, running, running=True, ready=True)


def _carry_timestamps(old: Mapping[str, Any], new: Obj) -> Obj:
    """Keep the old times where nothing changed, so an unchanged status compares equal."""
    if "startTime" in new and "startTime" in old:
        new["startTime"] = old["startTime"]
    old_conditions = {(c.get("type"), c.get("status")): c for c in old.get("conditions") or []}
    for condition in new.get("conditions") or []:
        previous = old_conditions.get((condition["type"], condition["status"]))
        if previous and "lastTransitionTime" in previous:
            condition["lastTransitionTime"] = previous["lastTransitionTime"]
    old_states = {c.get("name"): c.get("state") or {} for c in old.get("containerStatuses") or []}
    for container in new.get("containerStatuses") or []:
        old_running = old_states.get(container["name"], {}).get("running")
        if old_running and "running" in container["state"]:
            container["state"]["running"] = old_running
    return new


def _dgd_status(
    dgd: Mapping[str, Any], plans: Iterable[ComponentPlan], counts: Mapping[str, tuple[int, int]]
) -> Obj:
    """The operator's status: state, Ready condition, replica counts per component."""
    meta = dgd["metadata"]
    alpha = "services" in (dgd.get("spec") or {})
    components: Obj = {}
    not_ready = []
    for plan in plans:
        updated, ready = counts.get(plan.name, (0, 0))
        resource = f"{meta['name']}-{plan.resource_name}"
        entry: Obj = {
            "componentKind": "Deployment",
            "componentNames": [resource],
            "replicas": plan.replicas,
            "updatedReplicas": updated,
            "readyReplicas": ready,
            "availableReplicas": ready,
        }
        if alpha:
            entry["componentName"] = resource  # deprecated, still required by v1alpha1
        components[plan.name] = entry
        if ready < plan.replicas:
            not_ready.append(f"{plan.name}: {ready}/{plan.replicas} ready")
    generation = meta.get("generation", 1)
    if not_ready:
        message = "Resources not ready: " + "; ".join(not_ready)
        condition = _condition("Ready", False, "some_resources_are_not_ready", message)
    else:
        condition = _condition("Ready", True, "all_resources_are_ready", "All resources are ready")
    condition["observedGeneration"] = generation
    return {
        "state": "pending" if not_ready else "successful",
        "observedGeneration": generation,
        "conditions": [condition],
        "services" if alpha else "components": components,
    }


def _failed_status(dgd: Mapping[str, Any], message: str) -> Obj:
    generation = dgd["metadata"].get("generation", 1)
    condition = _condition("Ready", False, "reconcile_failed", message)
    condition["observedGeneration"] = generation
    return {"state": "failed", "observedGeneration": generation, "conditions": [condition]}


def _write_status_if_changed(store: Store, dgd: Mapping[str, Any], status: Obj) -> None:
    old = dgd.get("status") or {}
    status = _carry_timestamps(old, status)
    if status == old:
        return
    meta = dgd["metadata"]

    def replace_status(obj: Obj) -> None:
        obj["status"] = status

    store.update(DGD, meta.get("namespace"), meta["name"], replace_status, subresource="status")


def _worker_log(plan: ComponentPlan, namespace: str, dgd_name: str) -> str:
    """What the engine prints while starting, so ``pods/log`` has something to show."""
    if plan.type == "frontend":
        return (
            "INFO dynamo.frontend: Starting the OpenAI-compatible HTTP frontend\n"
            f"INFO dynamo.frontend: Listening on 0.0.0.0:{FRONTEND_PORT}\n"
        )
    engine = next((a for a in plan.container.get("command") or [] if "dynamo." in str(a)), "")
    model = plan.model or "unknown model"
    return (
        f"INFO {engine or 'dynamo'}: Starting worker in namespace {namespace}-{dgd_name}\n"
        f"INFO {engine or 'dynamo'}: Loading model {model} on {plan.gpus} GPU(s)\n"
        f"INFO {engine or 'dynamo'}: Model {model} loaded\n"
        f"INFO {engine or 'dynamo'}: Registered endpoint {namespace}-{dgd_name}.backend.generate\n"
    )


# --- the benchmark shortcut -------------------------------------------------------------------


def make_ready(store: Store, dgd: Mapping[str, Any], *, with_pods: bool = True) -> None:
    """Create ``dgd`` directly in its ready state: status (and pods unless ``with_pods=False``).

    For benchmarks that need thousands of ready DGDs quickly: the DGD is created with its
    status in one write, and scheduling and GPU accounting are skipped. A DGD already in the
    store just gets the ready status and pods. A SimOperator watching the store finds nothing
    to change (given the secrets the DGD references exist).
    """
    meta = dgd["metadata"]
    namespace = meta.get("namespace") or "default"
    new: Obj = {**dgd, "metadata": {**meta, "namespace": namespace}}
    plans = plan_components(new)
    counts = {plan.name: (plan.replicas, plan.replicas) for plan in plans}
    try:
        stored = store.create(DGD, {**new, "status": _dgd_status(new, plans, counts)})
    except AlreadyExists:
        stored = store.get(DGD, namespace, meta["name"]) or new
        _write_status_if_changed(store, stored, _dgd_status(stored, plans, counts))
    for component_index, plan in enumerate(plans):
        for index in range(plan.replicas if with_pods else 0):
            pod = _render_pod(stored, plan, index)
            node = (component_index + index) % 3
            pod["spec"]["nodeName"] = _node_name(node)
            pod["status"] = _ready_pod(pod, node)
            with contextlib.suppress(AlreadyExists):
                store.create("pods", pod)


# --- the operator -----------------------------------------------------------------------------


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
        self._ready_after = max(ready_after, 0.0)
        self._gpu_memory_gib = gpu_memory_gib
        self._free = [gpus_per_node] * nodes
        self._known_tags = frozenset(known_image_tags)
        self._tick = tick
        self._clock = clock
        self._tracks: dict[Key, _PodTrack] = {}
        self._pods_of: dict[Key, set[str]] = {}  # DGD -> names of its tracked pods
        self._observed_generation: dict[Key, int] = {}
        self._blocked: set[Key] = set()  # DGDs waiting for GPUs or a secret
        self._emitted: dict[Key, set[str]] = {}  # pod -> reasons of the events it got
        self._own_deletions: set[Key] = set()
        self._timers: list[tuple[float, Key]] = []
        self._dirty: set[Key] = set()
        self._dirty_lock = threading.Lock()
        self._reconcile_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._min_gpu_memory: Callable[[str], int | None] | None = None
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
            if _is_settled(dgd):
                self._observed_generation[key] = int(meta.get("generation", 1))
            else:
                keys.append(key)
        return keys

    def _reconcile(self, key: Key, now: float) -> float:
        """Bring one DGD's pods and status up to date; returns when to look again."""
        namespace, name = key
        dgd = self._store.get(DGD, namespace, name)
        if dgd is None or dgd["metadata"].get("deletionTimestamp"):
            self._tear_down(key)
            return math.inf
        self._observed_generation[key] = int(dgd["metadata"].get("generation", 1))
        try:
            plans = plan_components(dgd)
        except SpecError as error:
            _write_status_if_changed(self._store, dgd, _failed_status(dgd, str(error)))
            return math.inf
        pods, _ = self._store.list("pods", namespace, label_selector=f"{LABEL_DGD}={name}")
        self._forget_vanished(key, {p["metadata"]["name"] for p in pods})
        self._blocked.discard(key)
        deadline = math.inf
        counts: dict[str, tuple[int, int]] = {}
        by_component = self._by_component(pods, {plan.name for plan in plans})
        for plan in plans:
            updated = ready = 0
            for pod in self._sync_replicas(dgd, plan, by_component.get(plan.name, {})):
                is_ready, pod_deadline = self._advance(key, pod, plan, now)
                updated += 1
                ready += is_ready
                deadline = min(deadline, pod_deadline)
            counts[plan.name] = (updated, ready)
        _write_status_if_changed(self._store, dgd, _dgd_status(dgd, plans, counts))
        return deadline

    def _by_component(self, pods: list[Obj], components: set[str]) -> dict[str, dict[int, Obj]]:
        """Pods by component and replica index; strays (no such component) are deleted."""
        grouped: dict[str, dict[int, Obj]] = {}
        for pod in pods:
            meta = pod["metadata"]
            component = meta.get("labels", {}).get(LABEL_COMPONENT)
            index = _replica_index(meta["name"], meta["labels"].get(LABEL_SELECTOR, ""))
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
            pod = existing.get(index) or self._store.create("pods", _render_pod(dgd, plan, index))
            pods.append(pod)
        return pods

    def _advance(self, key: Key, pod: Obj, plan: ComponentPlan, now: float) -> tuple[bool, float]:
        """Move one pod along its life; returns (ready, when it changes next)."""
        track = self._track(key, pod, plan)
        if track.node is None:
            track.node = self._schedule(plan)
            if track.node is None:
                self._blocked.add(key)
                message = self._unschedulable_message()
                self._emit(pod, "FailedScheduling", message, source="default-scheduler")
                self._write_pod(pod, node=None, status=_unschedulable_status(message))
                return False, math.inf
        status, ready, deadline = self._container_stage(key, pod, plan, track, now)
        # A started container has printed something: `kubectl logs` shows it.
        log = _worker_log(plan, key[0], key[1]) if status["phase"] == "Running" else None
        self._write_pod(pod, node=track.node, status=status, log=log)
        return ready, deadline

    def _container_stage(
        self, key: Key, pod: Obj, plan: ComponentPlan, track: _PodTrack, now: float
    ) -> tuple[Obj, bool, float]:
        """(pod status, ready, next change) of a scheduled pod."""
        node = track.node or 0
        if track.started is None:  # the kubelet checks secrets and image before it starts
            missing = [s for s in plan.secrets if self._store.get("secrets", key[0], s) is None]
            if missing:
                self._blocked.add(key)
                message = f'secret "{missing[0]}" not found'
                self._emit(pod, "Failed", f"Error: {message}")
                state = _waiting("CreateContainerConfigError", message)
                status = _scheduled_status(pod, node, state, running=False, ready=False)
                return status, False, math.inf
            image = str(plan.container.get("image", ""))
            tag = _image_tag(image)
            if tag is not None and tag not in self._known_tags:
                return self._image_pull_failure(pod, image, track, node, now)
            track.started = now
        elapsed = now - track.started
        if elapsed >= self._ready_after:
            return _ready_pod(pod, node), True, math.inf
        if elapsed >= self._ready_after / 2:
            running = {"running": {"startedAt": _wall_time()}}
            status = _scheduled_status(pod, node, running, running=True, ready=False)
            return status, False, track.started + self._ready_after
        creating = _waiting("ContainerCreating")
        status = _scheduled_status(pod, node, creating, running=False, ready=False)
        return status, False, track.started + self._ready_after / 2

    def _image_pull_failure(
        self, pod: Obj, image: str, track: _PodTrack, node: int, now: float
    ) -> tuple[Obj, bool, float]:
        if track.pull_failed is None:
            track.pull_failed = now
        pull_error = (
            f'Failed to pull image "{image}": rpc error: code = NotFound desc = failed to pull '
            f'and unpack image "{image}": failed to resolve reference "{image}": {image}: '
            "not found"
        )
        self._emit(pod, "Failed", pull_error)
        backoff_at = track.pull_failed + self._ready_after / 2
        if now < backoff_at:
            state = _waiting("ErrImagePull", pull_error)
            status = _scheduled_status(pod, node, state, running=False, ready=False)
            return status, False, backoff_at
        self._emit(pod, "BackOff", f'Back-off pulling image "{image}"')
        state = _waiting("ImagePullBackOff", f'Back-off pulling image "{image}"')
        return _scheduled_status(pod, node, state, running=False, ready=False), False, math.inf

    # ----- scheduling ----------------------------------------------------------------------

    def _schedule(self, plan: ComponentPlan) -> int | None:
        """First node with enough free GPUs (and GPUs big enough for the model), or None."""
        if plan.gpus > 0 and not self._model_fits(plan):
            return None
        for node, free in enumerate(self._free):
            if free >= plan.gpus:
                self._free[node] -= plan.gpus
                return node
        return None

    def _model_fits(self, plan: ComponentPlan) -> bool:
        if plan.model is None:
            return True
        needed = self._model_memory(plan.model)
        return needed is None or needed <= self._gpu_memory_gib * plan.gpus

    def _model_memory(self, model_id: str) -> int | None:
        if self._min_gpu_memory is None:
            self._min_gpu_memory = _catalog_lookup()
        return self._min_gpu_memory(model_id)

    def _unschedulable_message(self) -> str:
        nodes = len(self._free)
        return f"0/{nodes} nodes are available: {nodes} Insufficient {GPU}."

    def _track(self, key: Key, pod: Obj, plan: ComponentPlan) -> _PodTrack:
        """The pod's track; a pod this operator did not create is adopted as it stands."""
        pod_key = (pod["metadata"]["namespace"], pod["metadata"]["name"])
        track = self._tracks.get(pod_key)
        if track is None:
            track = _PodTrack(gpus=plan.gpus)
            node_name = pod["spec"].get("nodeName")
            if node_name:
                track.node = _node_index(node_name) % len(self._free)
                self._free[track.node] -= plan.gpus
            if _is_ready(pod):
                track.started = -math.inf
            self._tracks[pod_key] = track
            self._pods_of.setdefault(key, set()).add(pod_key[1])
        return track

    def _release(self, pod_key: Key) -> None:
        track = self._tracks.pop(pod_key, None)
        if track is not None and track.node is not None:
            self._free[track.node] += track.gpus
            self._mark(self._blocked)  # freed GPUs may let a waiting pod in

    # ----- writes --------------------------------------------------------------------------

    def _write_pod(
        self, pod: Obj, *, node: int | None, status: Obj, log: str | None = None
    ) -> None:
        status = _carry_timestamps(pod.get("status") or {}, status)
        node_name = _node_name(node) if node is not None else None
        annotations = pod["metadata"].get("annotations") or {}
        if (
            status == pod.get("status")
            and node_name == pod["spec"].get("nodeName")
            and (log is None or annotations.get(POD_LOG_ANNOTATION) == log)
        ):
            return

        def apply(obj: Obj) -> None:
            if node_name:
                obj["spec"]["nodeName"] = node_name
            if log is not None:
                obj["metadata"].setdefault("annotations", {})[POD_LOG_ANNOTATION] = log
            obj["status"] = status

        meta = pod["metadata"]
        self._store.update("pods", meta["namespace"], meta["name"], apply)

    def _emit(self, pod: Obj, reason: str, message: str, *, source: str = "kubelet") -> None:
        """One Warning event per pod and reason (the real ones repeat with a growing count)."""
        meta = pod["metadata"]
        namespace, pod_name = meta["namespace"], meta["name"]
        reasons = self._emitted.setdefault((namespace, pod_name), set())
        if reason in reasons:
            return
        reasons.add(reason)
        stamp = _wall_time()
        self._store.create(
            "events",
            {
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
            },
        )

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
        self._release(key)
        # The events this operator emitted are known by name: no need to list them.
        for reason in self._emitted.pop(key, ()):
            with contextlib.suppress(NotFoundError):
                self._store.delete("events", namespace, _event_name(pod_name, reason))

    def _tear_down(self, key: Key) -> None:
        """The DGD is gone: so are its pods and their events."""
        namespace, name = key
        pods, _ = self._store.list("pods", namespace, label_selector=f"{LABEL_DGD}={name}")
        for pod in pods:
            self._delete_pod(namespace, pod["metadata"]["name"])
        self._forget_vanished(key, set())
        self._pods_of.pop(key, None)
        self._observed_generation.pop(key, None)
        self._blocked.discard(key)

    def _forget_vanished(self, key: Key, present: set[str]) -> None:
        """Pods deleted behind the operator's back: release their GPUs, forget them."""
        tracked = self._pods_of.get(key, set())
        for pod_name in tracked - present:
            self._release((key[0], pod_name))
        tracked &= present

    # ----- notifications -------------------------------------------------------------------

    def _on_change(self, event: WatchEvent) -> None:
        meta = event.object.get("metadata") or {}
        namespace = meta.get("namespace", "")
        if event.resource == DGD:
            key = (namespace, meta.get("name", ""))
            if event.type == "ADDED" and _is_settled(event.object):  # made by make_ready()
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


def _event_name(pod_name: str, reason: str) -> str:
    return f"{pod_name}.{zlib.crc32(reason.encode()):08x}"


def _replica_index(pod_name: str, prefix: str) -> int | None:
    """``<prefix>-<n>-<suffix>`` -> n."""
    rest = pod_name[len(prefix) + 1 :] if pod_name.startswith(prefix + "-") else ""
    index = rest.split("-", 1)[0]
    return int(index) if index.isdigit() else None


def _node_index(node_name: str) -> int:
    tail = node_name.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _is_settled(dgd: Mapping[str, Any]) -> bool:
    """Ready, for the spec it has now: nothing for the operator to do.

    Such DGDs (made by make_ready(), thousands in benchmarks) are not adopted until they
    change, so their pods' GPUs are not counted by the scheduler.
    """
    status = dgd.get("status") or {}
    generation = dgd["metadata"].get("generation")
    return status.get("state") == "successful" and status.get("observedGeneration") == generation


def _is_ready(pod: Mapping[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _catalog_lookup() -> Callable[[str], int | None]:
    """model id -> minGpuMemory (GiB) from the catalog; unknown models (or no catalog) fit."""
    try:
        from bot.catalog import load_catalog  # noqa: PLC0415  (the catalog is optional here)

        catalog = load_catalog()
    except Exception:  # no catalog, or a broken one: every model is assumed to fit
        _log.warning("No model catalog: the simulator assumes every model fits its GPUs")
        return lambda _model_id: None

    def lookup(model_id: str) -> int | None:
        model = catalog.get(model_id)
        return model.min_gpu_memory if model is not None else None

    return lookup
