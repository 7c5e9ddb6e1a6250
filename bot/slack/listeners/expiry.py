"""Moving a deployment's expiry: Keep (on the reminder) and Change (on the card, a modal).

Only the requester or an admin may move it (the rights that delete it), only on one of
Dynamote's verified DGDs, and never past the maximum (``bot.domain.expiry.ExpiryPolicy``). The new
time is written with the resourceVersion read, so a change racing the notifier's deletion
either lands first (the deletion, which reads the DGD again, no longer finds it due) or
conflicts and is answered as such; a conflict with Dynamote's own records on the DGD is
decided again on a fresh read. The card is redrawn and the thread told who moved it.
"Delete now" on the reminder is the ordinary Delete button (``bot.slack.listeners.deployments``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.common import error_message
from bot.blocks.expiry import build_change_expiry_modal, build_kept_reply, read_keep_for
from bot.blocks.ids import (
    ACTION_EXPIRY_CHANGE,
    ACTION_EXPIRY_KEEP,
    BLOCK_KEEP_FOR,
    CALLBACK_EXPIRY_CHANGE,
    input_block_id,
)
from bot.blocks.policy import build_denial
from bot.blocks.status_card import build_status_card
from bot.cluster import Conflict
from bot.domain.deployments import Deployment, deployment_from
from bot.domain.expiry import (
    ANNOTATION_EXPIRES_AT,
    ExpiryPolicy,
    expires_at_of,
    expiry_unchanged,
    format_expires_at,
)
from bot.domain.policy import Action
from bot.ops.audit import audit
from bot.slack.context import AppContext
from bot.slack.listeners.guard import actor_of, find_deployment, guarded, may_delete
from bot.slack.listeners.replies import explain, reply

__all__ = ["handle_change", "handle_change_submission", "handle_keep", "keep_for", "register"]

log = logging.getLogger(__name__)

AUDIT_ACTION = "keep"


def register(app: App) -> None:
    reading = [guarded(Action.READ)]  # who may change it is checked here (owner or admin)
    app.action(ACTION_EXPIRY_KEEP, middleware=reading)(handle_keep)
    app.action(ACTION_EXPIRY_CHANGE, middleware=reading)(handle_change)
    app.view(CALLBACK_EXPIRY_CHANGE, middleware=reading)(handle_change_submission)


def keep_for(view: dict[str, Any], dynamote: AppContext) -> datetime | None:
    """When a deployment submitted with this deploy modal expires (None: kept until deleted);
    ValueError for a choice the settings do not offer (a form opened before they changed).

    A form without the input (opened before the bot offered it) gets the default.
    """
    policy = dynamote.settings.expiry_policy
    choice = read_keep_for((view.get("state") or {}).get("values") or {}) or policy.default
    if choice not in policy.offered:
        offered = ", ".join(policy.label(c).lower() for c in policy.offered)
        raise ValueError(f"Choose one of: {offered}.")
    return policy.expires_at(choice, dynamote.now())


def handle_keep(
    ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient, dynamote: AppContext
) -> None:
    ack()
    value = str(((body.get("actions") or [{}])[0]).get("value") or "")
    dynamote.after_ack(
        lambda: _move(body, respond, client, dynamote, value, _kept), doing="keep it longer"
    )


def handle_change(ack: Ack, body: dict[str, Any], client: WebClient, dynamote: AppContext) -> None:
    """The card's Change: the modal at once (a trigger_id lasts 3 s); rights checked on submit."""
    ack()
    value = str(((body.get("actions") or [{}])[0]).get("value") or "")
    try:
        client.views_open(
            trigger_id=str(body.get("trigger_id", "")),
            view=build_change_expiry_modal(value[:300], dynamote.settings.expiry_policy),
        )
    except SlackApiError:
        log.warning("Could not open the expiry modal", exc_info=True)


def handle_change_submission(
    ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient, dynamote: AppContext
) -> None:
    view = body.get("view") or {}
    try:
        expires = keep_for(view, dynamote)
    except ValueError as bad:
        ack(response_action="errors", errors={input_block_id(BLOCK_KEEP_FOR, 0): str(bad)})
        return
    ack()
    value = str(view.get("private_metadata") or "")
    dynamote.after_ack(
        lambda: _move(body, respond, client, dynamote, value, lambda *_: _Chosen(expires)),
        doing="change when it expires",
    )


@dataclass(frozen=True)
class _Chosen:
    """The new expiry (None: kept until deleted)."""

    expires: datetime | None


def _kept(policy: ExpiryPolicy, current: datetime | None, now: datetime) -> _Chosen | None:
    new = policy.kept(current, now)
    return None if new is None else _Chosen(new)


_CHANGED_MEANWHILE = error_message(
    "It changed meanwhile",
    "The deployment changed while you asked (it may be expiring right now).",
    fix="Look at its card and try again if it is still there.",
)


def _move(
    body: dict[str, Any],
    respond: Respond,
    client: WebClient,
    dynamote: AppContext,
    value: str,
    choose: Callable[[ExpiryPolicy, datetime | None, datetime], _Chosen | None],
) -> None:
    """Move a deployment's expiry as ``choose`` says, if the person may; tell card and thread.

    A Conflict from Dynamote's own records on the DGD (the reminder's mark, a reading, its
    status) is not the person's concern: read again and decide once more, as long as its
    expiry is what it was and nothing marked it for deletion; else they are told it changed.
    """
    user, channel = actor_of(body)
    namespace, _, name = value.partition("/")
    seen: Deployment | None = None
    try:
        for attempt in range(2):
            found = find_deployment(
                dynamote, client, action=Action.DELETE, user=user, channel=channel,
                namespace=namespace, name=name,
            )  # fmt: skip
            if seen is not None and not expiry_unchanged(seen.annotations, found.annotations):
                reply(_CHANGED_MEANWHILE, body=body, respond=respond, client=client)
                return
            if not found.verified:
                reply(
                    error_message(
                        "Dynamote does not keep that deployment",
                        "Its provenance does not verify, so Dynamote neither reminds nor deletes "
                        "it.",
                    ),
                    body=body, respond=respond, client=client,
                )  # fmt: skip
                return
            allowed = may_delete(dynamote, client, user=user, target=found)
            if not allowed.allowed:
                audit(AUDIT_ACTION, user=user, channel=channel, namespace=namespace, name=name,
                      outcome="denied", reason=allowed.text)  # fmt: skip
                reply(
                    build_denial(allowed, title="You cannot change when that deployment expires"),
                    body=body, respond=respond, client=client,
                )  # fmt: skip
                return
            now = dynamote.now()
            picked = choose(dynamote.settings.expiry_policy, expires_at_of(found.annotations), now)
            if picked is None:
                reply(
                    error_message(
                        "It cannot be kept longer",
                        "It already expires as late as Dynamote allows.",
                        fix="Ask an admin if it must stay longer.",
                    ),
                    body=body, respond=respond, client=client,
                )  # fmt: skip
                return
            chosen = picked
            written = format_expires_at(chosen.expires) if chosen.expires else None
            try:
                patched = dynamote.service.cluster.patch_dgd_annotations(
                    namespace,
                    name,
                    {ANNOTATION_EXPIRES_AT: written},  # None removes it: kept until deleted
                    resource_version=found.resource_version or "",
                )
                break
            except Conflict:
                if attempt:
                    raise
                seen = found
    except Conflict:
        reply(_CHANGED_MEANWHILE, body=body, respond=respond, client=client)
        return
    except Exception as error:
        reply(
            explain(error, doing="change when it expires"),
            body=body, respond=respond, client=client,
        )  # fmt: skip
        return
    reason = f"expires at {written}" if written else "kept until deleted"
    audit(AUDIT_ACTION, user=user, channel=channel, namespace=namespace, name=name,
          model=found.model, outcome="changed", reason=reason)  # fmt: skip
    _tell_card_and_thread(client, deployment_from(patched, verified=True, now=now), chosen, user)


def _tell_card_and_thread(client: WebClient, kept: Deployment, chosen: _Chosen, user: str) -> None:
    if not (kept.channel and kept.thread_ts):
        return
    try:
        client.chat_update(
            channel=kept.channel, ts=kept.thread_ts, **build_status_card(kept).as_kwargs()
        )
        client.chat_postMessage(
            channel=kept.channel,
            thread_ts=kept.thread_ts,
            **build_kept_reply(kept, chosen.expires, by_user=user).as_kwargs(),
        )
    except SlackApiError as error:
        log.warning("Changed %s, but Slack refused the card or reply: %s", kept.key, error)
