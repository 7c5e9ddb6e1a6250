"""``make_ready``: a DGD created directly in the state the simulated operator would bring it to.

Benchmarks need thousands of ready DGDs, and reconciling each through scheduling and the
container stages would dominate their run time. This writes the end result instead (the ready
status in the same write as the DGD, ready pods spread over three nodes), rendered by the same
functions the operator uses, so a ``SimOperator`` watching the Store finds nothing to change.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from bot.sim.k8s.store import AlreadyExists, Store
from bot.sim.operator.plan import plan_components
from bot.sim.operator.pods import render_pod, running_status
from bot.sim.operator.scheduling import node_name
from bot.sim.operator.status import DGD, dgd_status, write_status_if_changed

__all__ = ["make_ready"]

Obj = dict[str, Any]


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
        stored = store.create(DGD, {**new, "status": dgd_status(new, plans, counts)})
    except AlreadyExists:
        stored = store.get(DGD, namespace, meta["name"]) or new
        write_status_if_changed(store, stored, dgd_status(stored, plans, counts))
    for component_index, plan in enumerate(plans):
        for index in range(plan.replicas if with_pods else 0):
            pod = render_pod(stored, plan, index)
            node = (component_index + index) % 3
            pod["spec"]["nodeName"] = node_name(node)
            pod["status"] = running_status(pod, node, ready=True)
            with contextlib.suppress(AlreadyExists):
                store.create("pods", pod)
