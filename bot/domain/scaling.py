"""Whether a person may scale a deployment to so many worker replicas. Pure: no I/O.

The rules are a deploy's: the owner (the signed requester) or an admin, at most
``DYNAMOTE_MAX_REPLICAS`` replicas, the GPUs the deployment takes after scaling within
``DYNAMOTE_MAX_GPUS_PER_DEPLOYMENT``, and the owner's GPUs across their deployments within
``DYNAMOTE_MAX_GPUS_PER_USER``. Only the workers scale; the frontend keeps its replicas.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.domain.deployments import Deployment
from bot.domain.policy import ALLOWED, Decision, Policy, usage_of
from bot.domain.status.spec import components_of

__all__ = ["gpus_after", "may_scale"]


def gpus_after(dgd: Mapping[str, Any], replicas: int) -> int:
    """The GPUs the DGD takes once its workers run ``replicas`` replicas each."""
    total = 0
    for component in components_of(dgd.get("spec") or {}):
        count = component.replicas if component.type in ("frontend", "planner") else replicas
        total += component.gpus_per_replica * count
    return total


def may_scale(
    policy: Policy,
    *,
    user: str,
    admin: bool,
    deployment: Deployment,
    replicas: int,
    max_replicas: int,
    gpus: int,
    others: Iterable[Deployment] = (),
) -> Decision:
    """The answer for ``user`` (``admin`` or not) scaling ``deployment`` to ``replicas``
    (taking ``gpus`` GPUs); ``others``: the deployments to count the owner's GPUs over (this
    one is left out)."""
    owner = deployment.requester
    if not (owner and user == owner) and not admin:
        who = f"<@{owner}>" if owner else "the person who deployed it"
        return Decision(
            False, f"Only {who} or an admin may scale this deployment.", policy.whom_to_ask
        )
    if not 1 <= replicas <= max_replicas:
        return Decision(
            False, f"Pick between 1 and {max_replicas} worker replicas.", policy.whom_to_ask
        )
    size = policy.may_deploy_size(gpus)
    if not size.allowed:
        return size
    limit = policy.max_gpus_per_user
    if limit is not None and owner:
        theirs = [d for d in others if d.key != deployment.key]
        held = usage_of(owner, theirs).gpus
        if held + gpus > limit:
            return Decision(
                False,
                f"That takes {gpus} GPUs and its owner already uses {held} elsewhere; the "
                f"limit is {limit} per person. Scale to fewer replicas or free some GPUs.",
                policy.whom_to_ask,
            )
    return ALLOWED
