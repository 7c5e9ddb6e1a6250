"""Answers when a name does not lead straight to one deployment. Pure: no I/O.

``/dynamote status NAME`` and ``delete NAME`` look in every allowed namespace. The same name
in several asks which one (:func:`build_which_one`); a name nowhere offers close names
(:func:`build_not_found`); ``status`` with no name and no deployment of one's own gets
:func:`build_none_yet`. Each choice is a section with its own button, named for screen
readers. Import them from ``bot.blocks.deployments``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement

from bot.blocks.common import Message, badge, button, context, escape, section, truncate
from bot.blocks.ids import (
    ACTION_DEPLOYMENT_MENU,
    ACTION_OPEN_DEPLOY,
    ACTION_VIEW_DEPLOYMENT,
    MENU_DELETE,
    menu_value,
)
from bot.blocks.rows import engine_label, requested_by
from bot.domain.deployments import Deployment

__all__ = ["Verb", "build_none_yet", "build_not_found", "build_which_one"]

Verb = Literal["status", "delete"]


def _choice_button(deployment: Deployment, verb: Verb) -> ButtonElement:
    where = f"{deployment.name} in {deployment.namespace}"
    if verb == "delete":
        chosen = button("Delete…", ACTION_DEPLOYMENT_MENU, menu_value(MENU_DELETE, deployment.key))
        chosen.accessibility_label = truncate(f"Delete {where}", 75)
    else:
        chosen = button("View", ACTION_VIEW_DEPLOYMENT, deployment.key)
        chosen.accessibility_label = truncate(f"View {where}", 75)
    return chosen


def _choice(deployment: Deployment, verb: Verb, viewer: str | None) -> Block:
    text = (
        f"*{escape(truncate(deployment.name, 100))}* in "
        f"`{escape(truncate(deployment.namespace, 63))}` · {badge(deployment.status.phase)}\n"
        f"`{escape(truncate(deployment.model, 150))}` on {engine_label(deployment.engine)} · "
        f"by {requested_by(deployment, viewer)}"
    )
    return section(text, accessory=_choice_button(deployment, verb))


def build_which_one(
    name: str, matches: Sequence[Deployment], *, verb: Verb, viewer: str | None = None
) -> Message:
    """The same name in several namespaces: one line and one button each."""
    shown = escape(truncate(name, 100))
    blocks: list[Block] = [
        section(f":twisted_rightwards_arrows: {len(matches)} deployments are named *{shown}*.")
    ]
    blocks += [_choice(d, verb, viewer) for d in matches[:20]]
    text = f"{len(matches)} deployments are named {truncate(name, 100)}: which one?"
    return Message(text=escape(text), blocks=blocks)


def build_not_found(
    name: str,
    similar: Sequence[Deployment],
    *,
    verb: Verb,
    viewer: str | None = None,
    command: str = "/dynamote",
) -> Message:
    """No deployment by that name where the person may look; close names to pick from."""
    shown = escape(truncate(name, 100))
    blocks: list[Block] = [
        section(f":mag: There is no deployment named *{shown}* in the namespaces Dynamote uses.")
    ]
    if similar:
        blocks.append(section("Did you mean:"))
        blocks += [_choice(d, verb, viewer) for d in similar]
    else:
        blocks.append(context(f"Every deployment you may see is in `{escape(command)} list all`."))
    text = f"No deployment named {truncate(name, 100)}"
    if similar:
        text += f"; did you mean {', '.join(d.name for d in similar)}?"
    return Message(text=escape(truncate(text, 300)), blocks=blocks)


def build_none_yet(command: str = "/dynamote") -> Message:
    """``status`` with no name from someone with no deployment."""
    blocks: list[Block] = [
        section(
            ":seedling: You have no deployments yet, so there is no latest one to show. "
            f"Look one up by name with `{escape(command)} status NAME`, or deploy a model."
        ),
        ActionsBlock(
            elements=[button(":rocket: Deploy a model", ACTION_OPEN_DEPLOY, "", style="primary")]
        ),
    ]
    return Message(text="You have no deployments yet", blocks=blocks)
