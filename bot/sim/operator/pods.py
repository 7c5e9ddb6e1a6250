"""Rendering the pods of the simulated operator: names, labels, statuses at each stage, logs.

Pure functions from a DGD and a ``ComponentPlan`` to the JSON a real cluster would hold, which
is all Dynamote reads (``bot.domain.status``): a pod named as its Deployment names it,
``<dgd>-<component>[-<worker hash>]-<pod-template-hash>-<suffix>``, with the operator's labels
and a ``main`` container, the status the kubelet gives it (Unschedulable,
waiting with a reason, running, ready), and the lines a started worker prints. The RFC 3339
clock, condition builder and timestamp carrying live here too, because the DGD status
(``operator_status``) is written the same way. Nothing here touches the Store.
"""

from __future__ import annotations

import hashlib
import time
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from bot.sim.k8s.resources import DGD_LABEL
from bot.sim.k8s.store import copy_json
from bot.sim.operator.plan import FRONTEND_PORT, ComponentPlan

__all__ = [
    "LABEL_COMPONENT",
    "LABEL_DGD",
    "LABEL_DYNAMO_NAMESPACE",
    "LABEL_SELECTOR",
    "LABEL_TYPE",
    "SPEC_HASH_ANNOTATION",
    "carry_timestamps",
    "component_prefix",
    "condition",
    "dynamo_namespace",
    "is_ready",
    "pod_labels",
    "render_pod",
    "replica_index",
    "running_status",
    "unschedulable_status",
    "waiting_status",
    "wall_time",
    "worker_log",
]

# The stand-in deletes a DGD's pods and events by this label (bot.sim.k8s.resources).
LABEL_DGD = DGD_LABEL
LABEL_COMPONENT = "nvidia.com/dynamo-component"
LABEL_TYPE = "nvidia.com/dynamo-component-type"
LABEL_SUB_TYPE = "nvidia.com/dynamo-sub-component-type"
LABEL_DYNAMO_NAMESPACE = "nvidia.com/dynamo-namespace"
LABEL_SELECTOR = "nvidia.com/selector"
LABEL_WORKER_HASH = "nvidia.com/dynamo-worker-hash"
LABEL_METRICS = "nvidia.com/metrics-enabled"
LABEL_TEMPLATE_HASH = "pod-template-hash"  # what a Deployment's ReplicaSet adds
# The simulator's own bookkeeping: which spec a pod was rendered from (a real operator keeps
# this on its Deployments' pod-template hash) and which replica it is.
SPEC_HASH_ANNOTATION = "sim.dynamote.dev/spec-hash"
REPLICA_ANNOTATION = "sim.dynamote.dev/replica"
_SUFFIX_CHARS = "bcdfghjklmnpqrstvwxz2456789"  # the alphabet Kubernetes uses for pod suffixes

Obj = dict[str, Any]

_wall_cache: tuple[int, str] = (-1, "")


def wall_time() -> str:
    """Now as RFC 3339 (whole seconds, as Kubernetes writes it); formatted once a second."""
    global _wall_cache  # noqa: PLW0603 (a one-entry cache; strftime showed in profiles)
    second = int(time.time())
    if _wall_cache[0] != second:
        _wall_cache = (second, datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    return _wall_cache[1]


def condition(kind: str, ok: bool, reason: str | None = None, message: str = "") -> Obj:
    """A status condition of ``kind``, stamped now."""
    result: Obj = {
        "type": kind,
        "status": "True" if ok else "False",
        "lastTransitionTime": wall_time(),
    }
    if reason:
        result["reason"] = reason
    if message:
        result["message"] = message
    return result


def carry_timestamps(old: Mapping[str, Any], new: Obj) -> Obj:
    """Keep the old times where nothing changed, so an unchanged status compares equal."""
    if "startTime" in new and "startTime" in old:
        new["startTime"] = old["startTime"]
    old_conditions = {(c.get("type"), c.get("status")): c for c in old.get("conditions") or []}
    for entry in new.get("conditions") or []:
        previous = old_conditions.get((entry["type"], entry["status"]))
        if previous and "lastTransitionTime" in previous:
            entry["lastTransitionTime"] = previous["lastTransitionTime"]
    old_states = {c.get("name"): c.get("state") or {} for c in old.get("containerStatuses") or []}
    for container in new.get("containerStatuses") or []:
        old_running = old_states.get(container["name"], {}).get("running")
        if old_running and "running" in container["state"]:
            container["state"]["running"] = old_running
    return new


def component_prefix(dgd_name: str, plan: ComponentPlan) -> str:
    """``<dgd>-<component>``: the name of the component's Deployment and its pods' prefix."""
    return f"{dgd_name}-{plan.resource_name}"


def pod_labels(dgd_name: str, namespace: str, plan: ComponentPlan) -> dict[str, str]:
    """The labels the operator puts on the component's pods (consts.go, the DCD renderer)."""
    labels = {
        LABEL_DGD: dgd_name,
        LABEL_COMPONENT: plan.name,
        LABEL_TYPE: plan.type,
        LABEL_DYNAMO_NAMESPACE: dynamo_namespace(namespace, dgd_name),
        LABEL_SELECTOR: component_prefix(dgd_name, plan),
        LABEL_METRICS: "true",
    }
    if plan.sub_type:
        labels[LABEL_SUB_TYPE] = plan.sub_type
    if plan.worker_hash:
        labels[LABEL_WORKER_HASH] = plan.worker_hash
    return labels


def render_pod(dgd: Mapping[str, Any], plan: ComponentPlan, index: int) -> Obj:
    """Replica ``index`` of ``plan`` as the operator creates it: Pending, not yet scheduled."""
    meta = dgd["metadata"]
    dgd_name, namespace = meta["name"], meta.get("namespace", "default")
    prefix = component_prefix(dgd_name, plan)
    template_hash = _suffix(plan.spec_hash, length=10)
    labels = {**pod_labels(dgd_name, namespace, plan), LABEL_TEMPLATE_HASH: template_hash}
    seed = f"{meta.get('uid', '')}/{plan.spec_hash}/{index}"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{prefix}-{template_hash}-{_suffix(seed)}",
            "namespace": namespace,
            "labels": labels,
            "annotations": {
                SPEC_HASH_ANNOTATION: plan.spec_hash,
                REPLICA_ANNOTATION: str(index),
            },
        },
        "spec": {
            "containers": [copy_json(plan.container)],
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
        },
        "status": {"phase": "Pending"},
    }


def replica_index(pod: Mapping[str, Any]) -> int | None:
    """Which replica of its component the pod is (the simulator's annotation), or None."""
    index = str(((pod.get("metadata") or {}).get("annotations") or {}).get(REPLICA_ANNOTATION))
    return int(index) if index.isascii() and index.isdigit() else None


def unschedulable_status(message: str) -> Obj:
    """A pod the scheduler could not place: Pending, ``PodScheduled=False``."""
    return {
        "phase": "Pending",
        "conditions": [condition("PodScheduled", False, "Unschedulable", message)],
    }


def waiting_status(pod: Mapping[str, Any], node: int, reason: str, message: str = "") -> Obj:
    """A scheduled pod whose container has not started: waiting with ``reason``."""
    state = {"waiting": {"reason": reason, **({"message": message} if message else {})}}
    return _scheduled_status(pod, node, state, running=False, ready=False)


def running_status(pod: Mapping[str, Any], node: int, *, ready: bool) -> Obj:
    """A scheduled pod whose container runs, ready or not yet."""
    state = {"running": {"startedAt": wall_time()}}
    return _scheduled_status(pod, node, state, running=True, ready=ready)


def is_ready(pod: Mapping[str, Any]) -> bool:
    """Whether the pod has ``Ready=True``."""
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def worker_log(plan: ComponentPlan, namespace: str, dgd_name: str) -> str:
    """What the engine prints while starting, so ``pods/log`` has something to show."""
    if plan.type == "frontend":
        return (
            "INFO dynamo.frontend: Starting the OpenAI-compatible HTTP frontend\n"
            f"INFO dynamo.frontend: Listening on 0.0.0.0:{FRONTEND_PORT}\n"
        )
    engine = next((a for a in plan.container.get("command") or [] if "dynamo." in str(a)), "")
    source = engine or "dynamo"
    model = plan.model or "unknown model"
    runtime_namespace = dynamo_namespace(namespace, dgd_name)
    return (
        f"INFO {source}: Starting worker in namespace {runtime_namespace}\n"
        f"INFO {source}: Loading model {model} on {plan.gpus} GPU(s)\n"
        f"INFO {source}: Model {model} loaded\n"
        f"INFO {source}: Registered endpoint {runtime_namespace}.backend.generate\n"
    )


def _scheduled_status(
    pod: Mapping[str, Any], node: int, state: Obj, *, running: bool, ready: bool
) -> Obj:
    container = pod["spec"]["containers"][0]
    not_ready = None if ready else "ContainersNotReady"
    return {
        "phase": "Running" if running else "Pending",
        "hostIP": f"10.0.0.{10 + node}",
        "podIP": f"10.244.{node}.{zlib.crc32(pod['metadata']['name'].encode()) % 250 + 2}",
        "startTime": wall_time(),
        "conditions": [
            condition("PodScheduled", True),
            condition("Initialized", True),
            condition("ContainersReady", ready, not_ready),
            condition("Ready", ready, not_ready),
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


def dynamo_namespace(namespace: str, dgd_name: str) -> str:
    """The Dynamo namespace the operator gives a DGD's components (dots become hyphens)."""
    return f"{namespace}-{dgd_name}".replace(".", "-")


def _suffix(seed: str, *, length: int = 5) -> str:
    value = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big")
    chars = []
    for _ in range(length):
        value, digit = divmod(value, len(_SUFFIX_CHARS))
        chars.append(_SUFFIX_CHARS[digit])
    return "".join(chars)
