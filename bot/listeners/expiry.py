"""The Keep button (on the expiry reminder and the status card): the expiry moved later.

Only the requester or an admin may move it (the rights that delete it), only on one of
Dynamote's verified DGDs, and never past the maximum (``bot.expiry.ExpiryPolicy.kept``). The
new time is written with the resourceVersion read, so a Keep racing the notifier's deletion
either lands first (the deletion, which reads the DGD again, no longer finds it due) or
conflicts and is answered as such. The card is redrawn and the thread told who kept it.
"Delete now" on the reminder is the ordinary Delete button (``bot.listeners.deployments``).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.app import AppContext
from bot.audit import audit
from bot.blocks.common import error_message
from bot.blocks.expiry import build_kept_reply, read_keep_for
from bot.blocks.ids import ACTION_EXPIRY_KEEP
from bot.blocks.policy import build_denial
from bot.blocks.status_card import build_status_card
from bot.cluster import Conflict
from bot.deployments import deployment_from
from bot.expiry import ANNOTATION_EXPIRES_AT, expires_at_of, format_expires_at
from bot.listeners.deployments import find_deployment
from bot.listeners.guard import actor_of, guarded, may_delete
from bot.listeners.replies import explain, reply
from bot.policy import Action

__all__ = ["handle_keep", "keep_for", "register"]

log = logging.getLogger(__name__)

AUDIT_ACTION = "keep"


def register(app: App) -> None:
    app.action(ACTION_EXPIRY_KEEP, middleware=[guarded(Action.READ)])(handle_keep)


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
    dynamote.after_ack(lambda: _keep(body, respond, client, dynamote), doing="keep it longer")


def _keep(body: dict[str, Any], respond: Respond, client: WebClient, dynamote: AppContext) -> None:
    user, channel = actor_of(body)
    value = str(((body.get("actions") or [{}])[0]).get("value") or "")
    namespace, _, name = value.partition("/")
    try:
        found = find_deployment(
            dynamote, client, action=Action.DELETE, user=user, channel=channel,
            namespace=namespace, name=name,
        )  # fmt: skip
        if not found.verified:
            reply(
                error_message(
                    "Dynamote does not keep that deployment",
                    "Its provenance does not verify, so Dynamote neither reminds nor deletes it.",
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
        policy = dynamote.settings.expiry_policy
        new = policy.kept(expires_at_of(found.annotations), now)
        if new is None:
            reply(
                error_message(
                    "It cannot be kept longer",
                    "It already expires as late as Dynamote allows.",
                    fix="Ask an admin if it must stay longer.",
                ),
                body=body, respond=respond, client=client,
            )  # fmt: skip
            return
        patched = dynamote.service.cluster.patch_dgd_annotations(
            namespace,
            name,
            {ANNOTATION_EXPIRES_AT: format_expires_at(new)},
            resource_version=found.resource_version or "",
        )
    except Conflict:
        reply(
            error_message(
                "It changed meanwhile",
                "The deployment changed while you pressed Keep (it may be expiring right now).",
                fix="Look at its card and press Keep again if it is still there.",
            ),
            body=body, respond=respond, client=client,
        )  # fmt: skip
        return
    except Exception as error:
        reply(explain(error, doing="keep it longer"), body=body, respond=respond, client=client)
        return
    reason = f"expires at {format_expires_at(new)}"
    audit(AUDIT_ACTION, user=user, channel=channel, namespace=namespace, name=name,
          model=found.model, outcome="changed", reason=reason)  # fmt: skip
    kept = deployment_from(patched, verified=True, now=now)
    if kept.channel and kept.thread_ts:
        try:
            client.chat_update(
                channel=kept.channel, ts=kept.thread_ts, **build_status_card(kept).as_kwargs()
            )
            client.chat_postMessage(
                channel=kept.channel,
                thread_ts=kept.thread_ts,
                **build_kept_reply(kept, new, by_user=user).as_kwargs(),
            )
        except SlackApiError as error:
            log.warning("Kept %s, but Slack refused the card or reply: %s", value, error)
