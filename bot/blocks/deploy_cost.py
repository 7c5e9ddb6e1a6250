"""The deploy form's cost line: the GPUs a deployment takes and whether they fit. Pure: no I/O.

One line above Submit says how many GPUs the form asks for, the person's use against their
limits (when Dynamote has counted it), free GPUs in the cluster and whether the choice fits
them ("fits now", "will wait: ...") when known. A limit that is already used up, or a size
this cluster can never run, is said as soon as the form knows, not after Submit.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.blocks.deploy_form import DeployForm
from bot.domain.capacity import Capacity, Fit
from bot.domain.policy import Policy, Usage

__all__ = ["Budget", "CostLine", "cost_line", "form_gpus", "form_size", "gpus_text"]


@dataclass(frozen=True)
class Budget:
    """What a deployment is measured against. None: no such limit, or not known (yet)."""

    max_gpus_per_deployment: int | None = None
    max_gpus_per_user: int | None = None
    max_deployments_per_user: int | None = None
    usage: Usage | None = None  # the person's deployments and GPUs, once counted
    free_gpus: int | None = None  # free GPUs in the cluster, when something reports them
    fit: Fit | None = None  # how the form's choice fits the cluster's GPUs, when known
    capacity: Capacity | None = None  # the cluster's GPUs as cached, for the model's fit

    @classmethod
    def of(
        cls,
        policy: Policy,
        usage: Usage | None = None,
        free_gpus: int | None = None,
        fit: Fit | None = None,
        capacity: Capacity | None = None,
    ) -> Budget:
        return cls(
            max_gpus_per_deployment=policy.max_gpus_per_deployment,
            max_gpus_per_user=policy.max_gpus_per_user,
            max_deployments_per_user=policy.max_deployments_per_user,
            usage=usage,
            free_gpus=free_gpus,
            fit=fit,
            capacity=capacity,
        )

    @property
    def exhausted(self) -> bool:
        """No deployment of any size fits the person's limits any more."""
        if self.usage is None:
            return False
        count, gpus = self.max_deployments_per_user, self.max_gpus_per_user
        return (count is not None and self.usage.deployments >= count) or (
            gpus is not None and self.usage.gpus >= gpus
        )


@dataclass(frozen=True)
class CostLine:
    """The line's text (mrkdwn) and whether the deployment fits as far as is known."""

    text: str
    fits: bool


def gpus_text(count: int) -> str:
    """``"1 GPU"``, ``"2 GPUs"``."""
    return f"{count} GPU{'s' if count != 1 else ''}"


def _whole(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() else None


def form_size(form: DeployForm) -> tuple[int, int] | None:
    """(GPUs per worker, workers) of the form's choice; None while a number is unreadable."""
    gpus, replicas = _whole(form.gpus), _whole(form.replicas)
    if gpus is None or replicas is None:
        return None
    return gpus, replicas * (2 if form.mode == "disaggregated" else 1)


def form_gpus(form: DeployForm) -> int | None:
    """GPUs the form asks for in all (workers x GPUs each); None while a number is unreadable."""
    size = form_size(form)
    return size[0] * size[1] if size is not None else None


def cost_line(form: DeployForm, budget: Budget) -> CostLine:
    """``"Uses 2 GPUs · you use 4 of your 8 GPUs and 1 of 3 deployments · 6 GPUs free in the
    cluster · fits now"``."""
    needed = form_gpus(form)
    parts: list[str] = []
    problems: list[str] = []
    if needed is not None:
        parts.append(f"Uses {gpus_text(needed)}")
        per_deployment = budget.max_gpus_per_deployment
        if per_deployment is not None and needed > per_deployment:
            problems.append(f"one deployment may use at most {gpus_text(per_deployment)}")
    usage = budget.usage
    if usage is not None:
        held: list[str] = []
        if budget.max_gpus_per_user is not None:
            held.append(f"{usage.gpus} of your {gpus_text(budget.max_gpus_per_user)}")
            if usage.gpus >= budget.max_gpus_per_user:
                problems.append("your GPUs are all in use: delete a deployment first")
            elif needed is not None and usage.gpus + needed > budget.max_gpus_per_user:
                left = budget.max_gpus_per_user - usage.gpus
                problems.append(f"you have {gpus_text(left)} left: choose a smaller size")
        if budget.max_deployments_per_user is not None:
            limit = budget.max_deployments_per_user
            held.append(f"{usage.deployments} of your {limit} deployments")
            if usage.deployments >= limit:
                problems.append("you have as many deployments as you may: delete one first")
        if held:
            parts.append("you use " + " and ".join(held))
    verdict = budget.fit
    if verdict is not None and not verdict.ever:
        problems.append(f"this cluster can never run it ({verdict.text})")
    if budget.free_gpus is not None:
        parts.append(f"{gpus_text(budget.free_gpus)} free in the cluster")
        if verdict is None and needed is not None and needed > budget.free_gpus and not problems:
            parts.append("it will wait until enough are free")
    if verdict is not None and verdict.ever:
        parts.append(verdict.text)  # "fits now", "will wait: needs 2 GPUs on one node, ..."
    facts = " · ".join(parts)
    facts = f"{facts[:1].upper()}{facts[1:]}." if facts else ""
    if problems:
        text = f":no_entry: Does not fit: {'; '.join(problems)}. {facts}".rstrip()
        return CostLine(text=text, fits=False)
    return CostLine(text=facts, fits=True)
