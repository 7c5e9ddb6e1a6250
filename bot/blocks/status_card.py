"""The status card: the channel message a deploy posts, whose thread gets every update.

:func:`build_status_card` draws it and redraws it in place (``chat.update``) as the phase
changes: the status first ("🔴 *qwen failed* · crash loop"), then what and whose in a
context line, then the buttons the phase calls for (:data:`CARD_BUTTONS`) and a menu with
Delete. :func:`build_deleted_card` is its last state, and :func:`build_deleted_reply` the
thread reply that says who deleted it. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement

from bot.blocks.common import (
    PHASE_BADGES,
    Message,
    context,
    escape,
    mention,
    section,
    truncate,
)
from bot.blocks.expiry import expiry_blocks
from bot.blocks.fixit import redeploy_button
from bot.blocks.rows import (
    deployment_menu,
    engine_label,
    freed_text,
    gpus_text,
    replicas,
    status_detail,
    view_button,
)
from bot.blocks.scale import scale_button
from bot.blocks.tryit import try_button
from bot.domain.deployments import Deployment
from bot.domain.expiry import DELETED_BY_EXPIRY

__all__ = ["CARD_BUTTONS", "build_deleted_card", "build_deleted_reply", "build_status_card"]

# What the first line says after the name, by phase: the phase's own word, as lists show it.
_SAYS: dict[str, str] = {
    "Pending": "is Pending",
    "Deploying": "is Deploying",
    "Running": "is Running",
    "Failed": "failed",
    "Terminating": "is Terminating",
    "Deleted": "was Deleted",
}

ButtonMaker = Callable[[Deployment], ButtonElement]
# The card's buttons by phase, in order; a phase not listed gets View. A new button is one
# entry here.
CARD_BUTTONS: Mapping[str, tuple[ButtonMaker, ...]] = {
    "Pending": (view_button, scale_button),
    "Deploying": (view_button, scale_button),
    "Running": (try_button, view_button, scale_button),
    "Failed": (redeploy_button, view_button),
}


def _emoji(phase: str) -> str:
    return PHASE_BADGES.get(phase, ":grey_question: ").split(" ", 1)[0]


def _headline(deployment: Deployment, phase: str, detail: str) -> str:
    name = escape(truncate(deployment.name, 100))
    says = _SAYS.get(phase, f"is {escape(truncate(phase, 30)) or 'in an unknown state'}")
    line = f"{_emoji(phase)} *{name} {says}*"
    return f"{line} · {detail}" if detail else line


def _facts(deployment: Deployment) -> str:
    """Model, engine, GPUs, namespace, owner and since when, for the context line."""
    facts = [
        f"`{escape(truncate(deployment.model, 150))}`",
        engine_label(deployment.engine),
        gpus_text(deployment.status.gpus),
        f"`{escape(truncate(deployment.namespace, 63))}`",
    ]
    if deployment.requester:
        facts.append(f"by {mention(deployment.requester)}")
    created = deployment.created_at
    if created is not None:
        # Slack shows the date in each reader's time zone; the fallback is UTC.
        stamp = int(created.timestamp())
        fallback = created.strftime("%Y-%m-%d %H:%M UTC")
        facts.append(f"since <!date^{stamp}^{{date_short_pretty}} at {{time}}|{fallback}>")
    return " · ".join(facts)


def _fallback(deployment: Deployment, phase: str) -> str:
    # Notifications and screen readers get the name first and the phase word last.
    return escape(truncate(f"{deployment.name} ({deployment.model}) is {phase}", 300))


def build_status_card(deployment: Deployment) -> Message:
    """The card as the deployment is now; the thread below it carries the history."""
    status = deployment.status
    detail = status_detail(deployment)
    if status.phase in ("Deploying", "Running"):
        detail = " · ".join(part for part in (replicas(deployment), detail) if part)
    makers = CARD_BUTTONS.get(status.phase, (view_button,))
    elements: list[ButtonElement] = [make(deployment) for make in makers]
    blocks: list[Block] = [
        section(
            _headline(deployment, status.phase, detail),
            accessory=deployment_menu(deployment, can_delete=True),
        ),
        context(_facts(deployment)),
        ActionsBlock(elements=elements),
        context("Updates follow in this thread."),
    ]
    blocks[2:2] = expiry_blocks(deployment)
    return Message(text=_fallback(deployment, status.phase), blocks=blocks)


def _card_buttons(deployment: Deployment) -> list[ButtonElement]:
    # Try it once it runs (primary, first); Scale while it exists.
    running = [try_button(deployment)] if deployment.status.phase == "Running" else []
    return [*running, view_button(deployment), scale_button(deployment)]


def build_deleted_card(deployment: Deployment) -> Message:
    """The card once the deployment is gone: no buttons left to press."""
    blocks: list[Block] = [
        section(_headline(deployment, "Deleted", freed_text(deployment.status.gpus))),
        context(_facts(deployment)),
    ]
    return Message(text=_fallback(deployment, "Deleted"), blocks=blocks)


def build_deleted_reply(name: str, *, by_user: str | None) -> Message:
    """The thread reply after a delete: who did it, or that it happened outside Dynamote."""
    who = f"Deleted by {mention(by_user)}" if by_user else "Deleted outside Dynamote (kubectl?)"
    if by_user == DELETED_BY_EXPIRY:
        who = "Deleted at its expiry time"
    text = f":wastebasket: {who}. *{escape(truncate(name, 100))}* is gone."
    fallback = f"{escape(truncate(name, 100))}: {who}"
    return Message(text=fallback, blocks=[section(text)])
