"""One deployment as a row (list, App Home), its Delete confirmation, and its one-line summary.

``/dynamote list`` and the App Home tab show the same row, so both call :func:`deployment_row`;
the details view and the status card reuse :func:`delete_confirm` and :func:`engine_label`.
Import ``delete_confirm`` from ``bot.blocks.deployments``. Pure: no I/O.
"""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    MarkdownTextObject,
    PlainTextObject,
)

from bot.blocks.common import age, badge, button, escape, mention, section, truncate
from bot.blocks.ids import ACTION_DELETE_DEPLOYMENT, ACTION_VIEW_DEPLOYMENT
from bot.catalog import ENGINE_LABELS
from bot.deployments import Deployment

__all__ = [
    "BLOCKS_PER_ROW",
    "delete_button",
    "delete_confirm",
    "deployment_row",
    "engine_label",
    "replicas",
    "requested_by",
    "view_button",
]

BLOCKS_PER_ROW = 2  # a section and its buttons


def engine_label(engine: str) -> str:
    """``vLLM`` for ``vllm``; an unknown engine as written (escaped)."""
    return ENGINE_LABELS.get(engine, escape(truncate(engine, 40)))


def replicas(deployment: Deployment) -> str:
    """``2/3 ready``."""
    status = deployment.status
    return f"{status.replicas_ready}/{status.replicas_desired} ready"


def delete_confirm(deployment: Deployment) -> ConfirmObject:
    """The danger-style dialog Slack shows before a Delete button acts."""
    name = truncate(deployment.name, 80)
    gpus = deployment.status.gpus
    frees = f"frees {gpus} GPU{'s' if gpus != 1 else ''}" if gpus else "frees its resources"
    text = (
        f"This deletes *{escape(name)}* in `{escape(truncate(deployment.namespace, 63))}` "
        f"and {frees}. Its endpoint stops answering. This cannot be undone."
    )
    return ConfirmObject(
        title=PlainTextObject(text=truncate(f"Delete {name}?", 100)),
        text=MarkdownTextObject(text=truncate(text, 300)),
        confirm=PlainTextObject(text="Delete"),
        deny=PlainTextObject(text="Keep it"),
        style="danger",
    )


def requested_by(deployment: Deployment) -> str:
    """Who asked; for an unverified DGD (only admins see one), a warning instead of a name."""
    if not deployment.verified:
        return ":warning: _unverified: Dynamote did not sign who deployed it_"
    return mention(deployment.requester)


def view_button(deployment: Deployment) -> ButtonElement:
    return button("View", ACTION_VIEW_DEPLOYMENT, deployment.key)


def delete_button(deployment: Deployment) -> ButtonElement:
    return button(
        "Delete",
        ACTION_DELETE_DEPLOYMENT,
        deployment.key,
        style="danger",
        confirm=delete_confirm(deployment),
    )


def deployment_row(deployment: Deployment, *, now: datetime) -> list[Block]:
    """Badge, name, model, engine, replicas, age and requester; then View and Delete."""
    status = deployment.status
    facts = " · ".join(
        [
            f"`{escape(truncate(deployment.model, 150))}` on {engine_label(deployment.engine)}",
            replicas(deployment),
            age(deployment.created_at, now),
            f"by {requested_by(deployment)}",
        ]
    )
    text = (
        f"*{escape(truncate(deployment.name, 100))}*  {badge(status.phase)}  "
        f"_{escape(truncate(deployment.namespace, 63))}_\n{facts}"
    )
    if status.phase in ("Failed", "Pending") and status.reason:
        text += f"\n{escape(truncate(status.reason, 200))}"
    return [
        section(text),
        ActionsBlock(elements=[view_button(deployment), delete_button(deployment)]),
    ]
