"""Approvals in Slack: the request in the approvals channel, the requester's waiting card and
modal, the thread's notes and the Deny modal. Pure: no I/O.

The request message shows exactly what is approved (model, engine, GPUs, namespace, who, why,
and for a Redeploy… the deployment it replaces) and its hash; the buttons carry the id and that
hash (``bot.domain.approvals``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, InputBlock, PlainTextObject
from slack_sdk.models.views import View

from bot.blocks.common import Message, button, context, escape, mention, section, truncate
from bot.blocks.ids import (
    ACTION_APPROVE,
    ACTION_DENY,
    BLOCK_DENY_REASON,
    BLOCK_WHY,
    CALLBACK_DENY,
    CALLBACK_DEPLOYING,
    base_block_id,
)
from bot.blocks.inputs import input_block, text_input
from bot.blocks.rows import engine_label
from bot.domain.approvals import PendingApproval
from bot.domain.expiry import parse_expires_at, slack_date

__all__ = [
    "approval_value",
    "build_approval_note",
    "build_approval_request",
    "build_approval_settled",
    "build_deny_modal",
    "build_replacement_waiting_note",
    "build_waiting_card",
    "build_waiting_view",
    "read_why",
    "why_input",
]

MAX_WHY = 500


def why_input(*, revision: int) -> InputBlock:
    """The deploy form's optional "Why" (shown when approvals are configured)."""
    return input_block(
        BLOCK_WHY,
        "Why (for approvers)",
        text_input(BLOCK_WHY, "", max_length=MAX_WHY, multiline=True),
        revision=revision,
        optional=True,
        hint="Big deployments and some namespaces need an approver's yes; this helps them.",
    )


def read_why(state_values: Mapping[str, Any]) -> str:
    """The "Why" typed in a view's ``state.values``, on one line; "" when none."""
    for block_id, actions in state_values.items():
        if base_block_id(str(block_id)) != BLOCK_WHY or not isinstance(actions, Mapping):
            continue
        element = actions.get(BLOCK_WHY)  # forged payloads may put anything anywhere
        value = element.get("value") if isinstance(element, Mapping) else None
        return " ".join(value.split())[:MAX_WHY] if isinstance(value, str) else ""
    return ""


def approval_value(record: PendingApproval) -> str:
    return f"{record.id}:{record.hash}"


def _what(record: PendingApproval) -> str:
    data = record.request_data()
    gpus = record.gpus
    return (
        f"*{escape(truncate(str(data.get('name', '?')), 100))}* "
        f"(`{escape(truncate(str(data.get('model', '?')), 150))}` on "
        f"{engine_label(str(data.get('engine', '?')))}) in "
        f"`{escape(truncate(str(data.get('namespace', '?')), 63))}`, "
        f"{gpus} GPU{'' if gpus == 1 else 's'}"
    )


def _replaced(record: PendingApproval) -> str:
    """``*name*``: the deployment a Redeploy… replaces."""
    return f"*{escape(truncate(record.replaces.rpartition('/')[2], 100))}*"


def _asked(record: PendingApproval, verb: str) -> str:
    """``<@U> asks to deploy …`` or, for a Redeploy…, ``… to redeploy …, replacing *name*``."""
    if not record.replaces:
        return f"{mention(record.requester)} {verb} to deploy {_what(record)}"
    return (
        f"{mention(record.requester)} {verb} to redeploy {_what(record)}, replacing "
        f"{_replaced(record)} under the same name"
    )


def build_approval_request(record: PendingApproval, *, approvers: str) -> Message:
    """The approvals channel's message: the exact request and Approve / Deny."""
    lapses = parse_expires_at(record.expires_at)
    lines = [
        f":raised_hand: {_asked(record, 'asks')}.",
        f"Needs approval because {escape(truncate(record.reason, 300))}.",
    ]
    if record.replaces:
        lines.append(
            f"Approve deletes {_replaced(record)} and creates this in its place; "
            "Deny leaves it as it is."
        )
    if record.note:
        lines.append(f"Why: {escape(truncate(record.note, 500))}")
    blocks: list[Block] = [
        section("\n".join(lines)),
        ActionsBlock(
            elements=[
                button("Approve", ACTION_APPROVE, approval_value(record), style="primary"),
                button("Deny", ACTION_DENY, approval_value(record), style="danger"),
            ]
        ),
        context(
            f"Approvers: {approvers} · request {record.hash[:12]}"
            + (f" · lapses {slack_date(lapses)}" if lapses else "")
        ),
    ]
    text = escape(truncate(f"Approval asked: {record.requester} wants {record.gpus} GPUs", 300))
    return Message(text=text, blocks=blocks)


def build_approval_settled(record: PendingApproval, outcome: str) -> Message:
    """The approvals message once answered (no buttons left): what was asked and the outcome."""
    blocks: list[Block] = [
        section(f"{_asked(record, 'asked')}."),
        section(outcome),
        context(f"request {record.hash[:12]}"),
    ]
    return Message(text=escape(truncate(outcome, 300)), blocks=blocks)


def build_waiting_card(record: PendingApproval, *, approvers: str) -> Message:
    """The requester's card while the request waits; the notifier redraws it once created."""
    blocks: list[Block] = [
        section(f"{mention(record.requester)} asked to deploy {_what(record)}"),
        section(f":hourglass: Waiting for approval by {approvers}."),
        context("Updates arrive in this thread."),
    ]
    return Message(text="Waiting for approval", blocks=blocks)


def build_replacement_waiting_note(record: PendingApproval, *, approvers: str) -> Message:
    """The replaced deployment's thread, when its Redeploy… waits for approval."""
    text = (
        f":hourglass: {_asked(record, 'asked')}. It needs approval because "
        f"{escape(truncate(record.reason, 300))}: waiting for approval by {approvers}. "
        f"{_replaced(record)} stays as it is until then."
    )
    return Message(text="Redeploy waiting for approval", blocks=[section(text)])


def build_approval_note(text: str) -> Message:
    """A reply in the requester's thread: one step of the approval."""
    return Message(text=escape(truncate(text, 300)), blocks=[section(text)])


def build_waiting_view(
    name: str, namespace: str, *, approvers: str, private: str, replacing: bool = False
) -> View:
    """The deploy modal after a submission that needs approval: nothing is created (or, for a
    Redeploy…, replaced) yet."""
    shown = escape(truncate(name, 100))
    after = (
        f"Nothing changes until it is approved: *{shown}* stays as it is. Its thread tells you."
        if replacing
        else "Nothing is created until it is approved. Its card's thread tells you."
    )
    return View(
        type="modal",
        callback_id=CALLBACK_DEPLOYING,
        title=PlainTextObject(text="Waiting for approval"),
        close=PlainTextObject(text="Close"),
        private_metadata=private,
        blocks=[
            section(
                f":hourglass: {'Redeploying ' if replacing else ''}*{shown}* in "
                f"`{escape(truncate(namespace, 63))}` is waiting for approval by {approvers}."
            ),
            context(after),
        ],
    )


def build_deny_modal(value: str, *, channel: str, ts: str) -> View:
    """Deny asks for a reason; the request's id and hash and its message ride along."""
    return View(
        type="modal",
        callback_id=CALLBACK_DENY,
        title=PlainTextObject(text="Deny the request"),
        submit=PlainTextObject(text="Deny"),
        close=PlainTextObject(text="Cancel"),
        private_metadata=json.dumps({"value": value, "channel": channel, "ts": ts}),
        blocks=[
            input_block(
                BLOCK_DENY_REASON,
                "Reason (the requester sees it)",
                text_input(BLOCK_DENY_REASON, "", multiline=True, max_length=500),
                revision=0,
            )
        ],
    )
