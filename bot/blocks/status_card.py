"""The status card: the channel message a deploy posts, whose thread gets every update.

:func:`build_status_card` draws it and redraws it in place (``chat.update``) as the phase
changes; :func:`build_deleted_card` is its last state, and :func:`build_deleted_reply` the
thread reply that says who deleted it. Pure: no I/O.
"""

from __future__ import annotations

from slack_sdk.models.blocks import ActionsBlock, Block

from bot.blocks.common import Message, badge, context, escape, mention, section, truncate
from bot.blocks.expiry import expiry_blocks
from bot.blocks.rows import engine_label, replicas, view_button
from bot.deployments import Deployment
from bot.expiry import DELETED_BY_EXPIRY

__all__ = ["build_deleted_card", "build_deleted_reply", "build_status_card"]


def _headline(deployment: Deployment) -> str:
    what = (
        f"*{escape(truncate(deployment.name, 100))}* "
        f"(`{escape(truncate(deployment.model, 150))}` on {engine_label(deployment.engine)}) "
        f"in `{escape(truncate(deployment.namespace, 63))}`"
    )
    if deployment.requester:
        return f"{mention(deployment.requester)} deployed {what}"
    return f"Deployment {what}"


def _fallback(deployment: Deployment, phase: str) -> str:
    return escape(truncate(f"{deployment.name} ({deployment.model}) is {phase}", 300))


def build_status_card(deployment: Deployment) -> Message:
    """The card as the deployment is now; the thread below it carries the history."""
    status = deployment.status
    line = f"{badge(status.phase)} · {replicas(deployment)}"
    if status.reason and status.reason != "ready":
        line += f" · {escape(truncate(status.reason, 300))}"
    blocks: list[Block] = [
        section(_headline(deployment)),
        section(line),
        ActionsBlock(elements=[view_button(deployment)]),
        context("Updates arrive in this thread."),
    ]
    blocks[2:2] = expiry_blocks(deployment)
    return Message(text=_fallback(deployment, status.phase), blocks=blocks)


def build_deleted_card(deployment: Deployment) -> Message:
    """The card once the deployment is gone: no buttons left to press."""
    blocks: list[Block] = [
        section(_headline(deployment)),
        section(f"{badge('Deleted')} · its pods are gone and its GPUs are free."),
    ]
    return Message(text=_fallback(deployment, "deleted"), blocks=blocks)


def build_deleted_reply(name: str, *, by_user: str | None) -> Message:
    """The thread reply after a delete: who did it, or that it happened outside Dynamote."""
    who = f"Deleted by {mention(by_user)}" if by_user else "Deleted outside Dynamote (kubectl?)"
    if by_user == DELETED_BY_EXPIRY:
        who = "Deleted at its expiry time"
    text = f":wastebasket: {who}. *{escape(truncate(name, 100))}* is gone."
    fallback = f"{escape(truncate(name, 100))}: {who}"
    return Message(text=fallback, blocks=[section(text)])
