"""``/dynamote delete NAME``: the prompt with a confirmed Delete button, and the answer after.

A slash command cannot open Slack's confirm dialog by itself, so the command answers with
:func:`build_delete_prompt`, whose Delete button carries the danger-style confirmation; the
person who deleted gets :func:`build_deleted_notice`. Import both from
``bot.blocks.deployments``. Pure: no I/O.
"""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import ActionsBlock, Block

from bot.blocks.common import Message, age, badge, context, escape, mention, section, truncate
from bot.blocks.rows import (
    delete_button,
    engine_label,
    freed_text,
    replicas,
    requested_by,
    view_button,
)
from bot.domain.deployments import Deployment

__all__ = ["build_delete_prompt", "build_deleted_notice"]


def _what(deployment: Deployment) -> str:
    return (
        f"*{escape(truncate(deployment.name, 100))}* in "
        f"`{escape(truncate(deployment.namespace, 63))}`"
    )


def _gpus(count: int) -> str:
    return f"{count} GPU{'s' if count != 1 else ''}"


def build_delete_prompt(deployment: Deployment, *, now: datetime) -> Message:
    """Ask before deleting: what it is, what it holds, and Delete (confirmed) or View."""
    status = deployment.status
    facts = " · ".join(
        [
            badge(status.phase),
            f"`{escape(truncate(deployment.model, 150))}` on {engine_label(deployment.engine)}",
            replicas(deployment),
            f"{_gpus(status.gpus)}",
            age(deployment.created_at, now),
            f"by {requested_by(deployment)}",
        ]
    )
    blocks: list[Block] = [
        section(f":wastebasket: Delete {_what(deployment)}?\n{facts}"),
        ActionsBlock(elements=[delete_button(deployment), view_button(deployment)]),
        context("Slack asks once more before anything is deleted."),
    ]
    text = f"Delete {deployment.name} in {deployment.namespace}?"
    return Message(text=escape(truncate(text, 300)), blocks=blocks)


def build_deleted_notice(
    deployment: Deployment, *, by_user: str | None, viewer: str | None = None
) -> Message:
    """The answer to ``viewer`` (whoever deleted): done, and what was freed."""
    freed = f" {freed_text(deployment.status.gpus)}" if deployment.status.gpus else ""
    # The answer goes to whoever deleted: "by you" would tell them what they just did.
    who = f" by {mention(by_user)}" if by_user and by_user != viewer else ""
    text = f":wastebasket: Deleted {_what(deployment)}{who}.{freed}"
    if deployment.channel and deployment.thread_ts:
        text += f"\nThe thread in <#{deployment.channel}> where it was announced says so too."
    fallback = f"Deleted {deployment.name} in {deployment.namespace}"
    return Message(text=escape(truncate(fallback, 300)), blocks=[section(text)])
