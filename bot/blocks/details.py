"""``/dynamote status NAME`` and the View button: one deployment in full.

Summary, phase and reason, conditions, pods, the commands that reach the model, and Delete.
Everything is bounded (conditions, pods, long messages) so a deployment with hundreds of pods
still fits a message (50 blocks, ~12k characters). Import ``build_details`` from
``bot.blocks.deployments``. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    DividerBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.blocks.common import (
    Message,
    age,
    badge,
    code,
    context,
    escape,
    header,
    section,
    text_sections,
    truncate,
)
from bot.blocks.deploy_modal import MODES, ROUTER_MODES
from bot.blocks.inputs import Choice
from bot.blocks.rows import delete_button, engine_label, replicas, requested_by, status_detail
from bot.domain.deployments import Deployment, endpoint_commands
from bot.domain.status import Condition, PodStatus

__all__ = ["MAX_CONDITIONS", "MAX_PODS", "build_details"]

MAX_PODS = 15
MAX_CONDITIONS = 8


def _field(label: str, value: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=truncate(f"*{label}*\n{value}", 2000))


def _label(choices: Sequence[Choice], value: object, default: str) -> str:
    """The form's label for a stored choice ("Default" for router ``none``)."""
    if value in (None, ""):
        value = default
    found = next((label for key, label, _ in choices if key == value), None)
    return found or escape(truncate(str(value), 100))


def _summary(deployment: Deployment, now: datetime, viewer: str | None) -> SectionBlock:
    status = deployment.status
    frontend = status.frontend_service
    fields = [
        _field("Model", f"`{escape(truncate(deployment.model, 150))}`"),
        _field("Engine", engine_label(deployment.engine)),
        _field("Namespace", f"`{escape(truncate(deployment.namespace, 63))}`"),
        _field("Requested by", requested_by(deployment, viewer)),
        _field("Age", age(deployment.created_at, now)),
        _field("Mode", _label(MODES, deployment.request.get("mode"), "aggregated")),
        _field("Replicas", replicas(deployment)),
        _field("Router", _label(ROUTER_MODES, deployment.request.get("routerMode"), "none")),
        _field("GPUs", str(status.gpus)),
        _field(
            "Frontend",
            (f"`{escape(truncate(frontend, 100))}`" if frontend else "none")
            + f"\n{status.replicas_ready} of {status.replicas_desired} pods ready in all",
        ),
    ]
    return SectionBlock(fields=fields)


def _condition_line(condition: Condition) -> str:
    icon = ":white_check_mark:" if condition.status == "True" else ":heavy_minus_sign:"
    if condition.status == "False":
        icon = ":x:"
    detail = " — ".join(p for p in (condition.reason, condition.message) if p)
    line = f"{icon} *{escape(truncate(condition.type, 60))}* {escape(condition.status)}"
    return line + (f": {escape(truncate(' '.join(detail.split()), 200))}" if detail else "")


def _pod_line(pod: PodStatus) -> str:
    ready = ":white_check_mark: ready" if pod.ready else ":hourglass: not ready"
    parts = [
        f"`{escape(truncate(pod.name, 90))}`",
        escape(truncate(pod.phase, 30)),
        ready,
        f"{pod.restarts} restart{'s' if pod.restarts != 1 else ''}",
        f"on {escape(truncate(pod.node, 60))}" if pod.node else "no node yet",
    ]
    if pod.reason:
        parts.append(f"_{escape(truncate(pod.reason, 60))}_")
    return " · ".join(parts)


def _pods_blocks(pods: tuple[PodStatus, ...]) -> list[Block]:
    if not pods:
        return [section("*Pods*\nNone yet.")]
    # Pods with something wrong first: they are what a person looks for.
    ordered = sorted(pods, key=lambda p: (p.ready and not p.reason, p.name))
    lines = [f"*Pods* ({len(pods)})", *(_pod_line(p) for p in ordered[:MAX_PODS])]
    if len(pods) > MAX_PODS:
        lines.append(f"… and {len(pods) - MAX_PODS} more")
    return list(text_sections(lines))


def _endpoint_blocks(deployment: Deployment) -> list[Block]:
    commands = endpoint_commands(deployment)
    running = deployment.status.phase == "Running"
    intro = "*Try it*" if running else "*Try it* (these work once it is Running)"
    return [
        section(f"{intro}\n1. Forward the port:\n{code(commands.port_forward)}"),
        section(f"2. In another terminal, ask the model:\n{code(commands.curl)}"),
    ]


def build_details(deployment: Deployment, *, now: datetime, viewer: str | None = None) -> Message:
    """Everything about one deployment as ``viewer`` sees it, bounded to fit a message."""
    status = deployment.status
    name = escape(truncate(deployment.name, 100))
    detail = status_detail(deployment)
    blocks: list[Block] = [
        header(truncate(deployment.name, 150)),
        section(
            f"{badge(status.phase)} · {replicas(deployment)}" + (f"\n{detail}" if detail else "")
        ),
        _summary(deployment, now, viewer),
    ]
    if status.conditions:
        lines = ["*Conditions*", *(_condition_line(c) for c in status.conditions[:MAX_CONDITIONS])]
        if len(status.conditions) > MAX_CONDITIONS:
            lines.append(f"… and {len(status.conditions) - MAX_CONDITIONS} more")
        blocks.extend(text_sections(lines))
    blocks.extend(_pods_blocks(status.pods))
    blocks.append(DividerBlock())
    blocks.extend(_endpoint_blocks(deployment))
    blocks.append(ActionsBlock(elements=[delete_button(deployment)]))
    blocks.append(context(f"Deleting *{name}* asks first."))
    text = f"{deployment.name}: {status.phase}, {replicas(deployment)}"
    return Message(text=escape(truncate(text, 300)), blocks=blocks)
