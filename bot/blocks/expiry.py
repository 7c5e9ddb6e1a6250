"""Expiry in Slack: the form's "Keep for" input, the card's "expires" line, the reminder and
the replies after Keep. Pure: no I/O.

Times are shown in the reader's own time zone with Slack's date formatting
(``bot.domain.expiry.slack_date``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    InputBlock,
    StaticSelectElement,
)
from slack_sdk.models.blocks.basic_components import PlainTextObject
from slack_sdk.models.views import View

from bot.blocks.common import Message, button, context, escape, mention, section, truncate
from bot.blocks.ids import (
    ACTION_EXPIRY_CHANGE,
    ACTION_EXPIRY_KEEP,
    BLOCK_KEEP_FOR,
    CALLBACK_EXPIRY_CHANGE,
    base_block_id,
)
from bot.blocks.inputs import input_block, option
from bot.blocks.rows import delete_button
from bot.domain.deployments import Deployment
from bot.domain.expiry import ExpiryPolicy, expires_at_of, format_duration, slack_date
from bot.domain.served import Served, format_window

__all__ = [
    "build_change_expiry_modal",
    "build_expiry_reminder",
    "build_kept_reply",
    "expires_line",
    "expiry_blocks",
    "keep_button",
    "keep_for_input",
    "read_keep_for",
    "served_sentence",
]


def keep_for_input(policy: ExpiryPolicy, *, revision: int) -> InputBlock:
    """The deploy form's "Keep for" select: the offered choices, the default preselected."""
    options = [option(choice, policy.label(choice)) for choice in policy.offered]
    initial = next(o for o in options if o.value == policy.default)
    return input_block(
        BLOCK_KEEP_FOR,
        "Keep for",
        StaticSelectElement(
            action_id=BLOCK_KEEP_FOR,
            placeholder=PlainTextObject(text="How long to keep it"),
            options=options,
            initial_option=initial,
        ),
        revision=revision,
        hint="Then Dynamote deletes it and frees its GPUs; you are reminded before.",
    )


def read_keep_for(state_values: Mapping[str, Any]) -> str | None:
    """The "Keep for" choice in a view's ``state.values``; None when the form had none."""
    for block_id, actions in state_values.items():
        if base_block_id(str(block_id)) != BLOCK_KEEP_FOR or not isinstance(actions, Mapping):
            continue
        # Forged payloads may put anything anywhere: read only what has Slack's shape.
        element = actions.get(BLOCK_KEEP_FOR)
        selected = element.get("selected_option") if isinstance(element, Mapping) else None
        value = selected.get("value") if isinstance(selected, Mapping) else None
        return str(value) if value else None
    return None


def expires_line(deployment: Deployment) -> str | None:
    """``:hourglass: Expires <date>``, or None for a deployment kept until deleted."""
    expires = expires_at_of(deployment.annotations)
    return f":hourglass_flowing_sand: Expires {slack_date(expires)}" if expires else None


def keep_button(deployment: Deployment, label: str) -> ButtonElement:
    return button(label, ACTION_EXPIRY_KEEP, deployment.key)


def expiry_blocks(deployment: Deployment) -> list[Block]:
    """The card's expiry: when (in the reader's time zone) and Change; none without one."""
    line = expires_line(deployment)
    if line is None:
        return []
    change = button("Change", ACTION_EXPIRY_CHANGE, deployment.key)
    return [section(line, accessory=change)]


def build_change_expiry_modal(deployment_key: str, policy: ExpiryPolicy) -> View:
    """Change when a deployment expires: the form's choices, counted from now."""
    return View(
        type="modal",
        callback_id=CALLBACK_EXPIRY_CHANGE,
        title=PlainTextObject(text="Change the expiry"),
        submit=PlainTextObject(text="Change"),
        close=PlainTextObject(text="Cancel"),
        private_metadata=deployment_key,
        blocks=[
            section(f"When should `{escape(truncate(deployment_key, 200))}` be deleted?"),
            keep_for_input(policy, revision=0),
        ],
    )


def build_expiry_reminder(
    deployment: Deployment,
    expires: datetime,
    *,
    keep: datetime | None,
    policy: ExpiryPolicy,
    served: Served | None = None,
) -> Message:
    """The reminder under the card: the owner mentioned, when, how many requests it served
    (when its frontend said), Keep (if it would move the time within the maximum) and Delete
    now (Slack's danger confirm first)."""
    name = f"*{escape(truncate(deployment.name, 100))}*"
    text = (
        f":hourglass: {mention(deployment.requester)} {name} expires {slack_date(expires)}: "
        "Dynamote deletes it then and frees its GPUs."
    )
    if served is not None:
        text += f" {served_sentence(served)}"
    elements = [delete_button(deployment)]
    if keep is not None:
        elements.insert(0, keep_button(deployment, f"Keep {format_duration(policy.keep)} more"))
    blocks: list[Block] = [section(text), ActionsBlock(elements=elements)]
    if keep is None:
        blocks.append(context("It cannot be kept longer: that is the longest allowed."))
    fallback = escape(truncate(f"{deployment.name} expires soon", 300))
    return Message(text=fallback, blocks=blocks)


def served_sentence(served: Served) -> str:
    """How many requests it served lately, in words, saying plainly what the count covers."""
    count = f"{served.count:,} request{'' if served.count == 1 else 's'}"
    if served.window is None:
        return f"It has served {count} since it started."
    window = format_window(served.window)
    if served.restarted:
        return f"Its frontend restarted within the last {window}; it has served {count} since."
    return f"It served {count} in the last {window}."


def build_kept_reply(deployment: Deployment, expires: datetime | None, *, by_user: str) -> Message:
    """The thread reply after Keep or Change: who moved it, and to when."""
    name = f"*{escape(truncate(deployment.name, 100))}*"
    until = f"until {slack_date(expires)}" if expires else "until it is deleted"
    text = f":hourglass_flowing_sand: {mention(by_user)} kept {name} {until}."
    fallback = escape(truncate(f"{deployment.name}: expiry changed", 300))
    return Message(text=fallback, blocks=[section(text)])
