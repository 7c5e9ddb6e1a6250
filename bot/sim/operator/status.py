"""The DGD status the simulated operator writes: state, Ready condition, replica counts.

This is the operator's whole report as Dynamote sees it (``bot.domain.status``), written as the
operator's ``Reconcile`` writes it (``internal/controller/dynamographdeployment_controller.go``
and ``dgd_workload_result.go``): ``state`` is ``pending`` until every replica is ready, then
``successful`` with ``Ready`` reason ``all_resources_are_ready``; while not ready the reason is
``some_resources_are_not_ready`` and the message lists the lagging resources by name. A
reconcile that returns an error writes ``state: failed``, ``Ready=False`` with reason
``failed_to_reconcile_the_resources`` and the error as message, drops the per-component status
and leaves ``observedGeneration`` where it was. Per-component counts sit under
``status.components`` (v1beta1) or ``status.services`` with the deprecated ``componentName``
(v1alpha1). Conditions keep their ``lastTransitionTime`` while their status stays the same
(``meta.SetStatusCondition``). Writes go to the status subresource and only when something
changed, so a settled DGD costs nothing and raises no watch event.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.sim.k8s.discovery import DGD_RESOURCE
from bot.sim.k8s.store import Store
from bot.sim.operator.plan import ComponentPlan
from bot.sim.operator.pods import carry_timestamps, component_prefix, condition, dynamo_namespace

__all__ = [
    "DGD",
    "RECONCILE_FAILED",
    "dgd_status",
    "failed_status",
    "is_settled",
    "write_status_if_changed",
]

DGD = DGD_RESOURCE
RECONCILE_FAILED = "failed_to_reconcile_the_resources"

Obj = dict[str, Any]


def dgd_status(
    dgd: Mapping[str, Any], plans: Iterable[ComponentPlan], counts: Mapping[str, tuple[int, int]]
) -> Obj:
    """The operator's status: state, Ready condition, replica counts per component.

    ``counts`` maps a component name to its (updated, ready) replicas; missing means none.
    """
    meta = dgd["metadata"]
    alpha = "services" in (dgd.get("spec") or {})
    components: Obj = {}
    not_ready = []
    for plan in sorted(plans, key=lambda p: component_prefix(meta["name"], p)):
        updated, ready = counts.get(plan.name, (0, 0))
        resource = component_prefix(meta["name"], plan)
        entry: Obj = {
            "componentKind": "Deployment",
            "componentNames": [resource],
            "runtimeNamespace": dynamo_namespace(meta.get("namespace", "default"), meta["name"]),
            "replicas": plan.replicas,
            "updatedReplicas": updated,
            "readyReplicas": ready,
            "availableReplicas": ready,
        }
        if alpha:
            entry["componentName"] = resource  # deprecated, still required by v1alpha1
        components[plan.name] = entry
        if ready < plan.replicas:
            not_ready.append(f"{resource}: {ready}/{plan.replicas} replicas ready")
    generation = meta.get("generation", 1)
    if not_ready:
        message = "Resources not ready: " + "; ".join(not_ready)
        ready_condition = condition("Ready", False, "some_resources_are_not_ready", message)
    else:
        message = "All resources are ready"
        ready_condition = condition("Ready", True, "all_resources_are_ready", message)
    return {
        "state": "pending" if not_ready else "successful",
        "observedGeneration": generation,
        "conditions": [ready_condition],
        "services" if alpha else "components": components,
    }


def failed_status(dgd: Mapping[str, Any], message: str) -> Obj:
    """The status after a reconcile that returned an error: state ``failed``, and the error.

    The operator sets ``observedGeneration`` only after a reconcile that succeeded, and its
    per-component status comes from the (empty) result of the failed one.
    """
    status: Obj = {
        "state": "failed",
        "conditions": [condition("Ready", False, RECONCILE_FAILED, message)],
    }
    observed = (dgd.get("status") or {}).get("observedGeneration")
    if observed is not None:
        status["observedGeneration"] = observed
    return status


def write_status_if_changed(store: Store, dgd: Mapping[str, Any], status: Obj) -> None:
    """Replace the DGD's status with ``status`` unless that would change nothing."""
    old = dgd.get("status") or {}
    status = carry_timestamps(old, status)
    if status == old:
        return
    meta = dgd["metadata"]

    def replace_status(obj: Obj) -> None:
        obj["status"] = status

    store.update(DGD, meta.get("namespace"), meta["name"], replace_status, subresource="status")


def is_settled(dgd: Mapping[str, Any]) -> bool:
    """Ready, for the spec it has now: nothing for the operator to do.

    Such DGDs (made by make_ready(), thousands in benchmarks) are not adopted until they
    change, so their pods' GPUs are not counted by the scheduler.
    """
    status = dgd.get("status") or {}
    generation = dgd["metadata"].get("generation")
    return status.get("state") == "successful" and status.get("observedGeneration") == generation
