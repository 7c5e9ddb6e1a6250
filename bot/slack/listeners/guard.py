"""The policy at the door: a listener middleware on every command, button, select and submit.

Each ``register(app)`` passes ``middleware=[guarded(Action.X)]`` so no listener runs before
the policy said yes, whichever surface started the flow (a modal opened from an allowed
channel is checked again on every click and on submit). A denial is acked at once and audited:
a slash command gets the reason in its ack, a click gets an ack and an ephemeral reply (DM when
there is no response_url), a modal submission gets an inline error. Group lookups before the
ack are bounded (``bot.slack.user_groups``), so a denial always answers within 3 seconds.

Deploy-specific checks that need the request (GPUs, quotas) live in the submission path; the
requester-or-admin rule for delete needs the DGD and lives with delete (:func:`may_delete`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from slack_bolt import Ack, BoltContext, BoltResponse, Respond
from slack_sdk import WebClient

from bot.blocks.deploy_form import ModalMetadata, chosen_channel, error_blocks
from bot.blocks.ids import BLOCK_MODEL, base_block_id
from bot.blocks.policy import build_denial
from bot.deployment_service import NotDynamotes
from bot.domain.commands import CommandError, Deploy, Scale, parse_command
from bot.domain.deployments import Deployment
from bot.domain.policy import Action, Decision, Membership, Policy, is_group
from bot.ops.audit import audit
from bot.slack.context import CONTEXT_KEY, AppContext
from bot.slack.listeners.replies import reply

__all__ = [
    "Classifier",
    "actor_of",
    "command_action",
    "decide",
    "find_deployment",
    "guarded",
    "is_admin",
    "may_delete",
    "policy_of",
    "warm_groups",
]

log = logging.getLogger(__name__)

Classifier = Callable[[dict[str, Any], AppContext], Action]
Middleware = Callable[..., BoltResponse | None]

def group_membership(
    dynamote: AppContext, client: WebClient, user: str, groups: Sequence[str]
) -> Membership:
    """Which of ``groups`` (S… IDs) ``user`` is in, from the shared, cached directory."""
    return dynamote.groups.membership(client, user, groups)


def warm_groups(dynamote: AppContext, client: WebClient) -> None:
    """Look the configured user groups up in the background (at startup), so the first
    guarded requests find them cached instead of waiting on Slack before their ack."""
    policy = policy_of(dynamote)
    groups = [g for g in (*policy.admins, *policy.deployers) if is_group(g)]
    if groups:
        dynamote.groups.prewarm(client, groups)


def policy_of(dynamote: AppContext) -> Policy:
    return Policy(dynamote.settings)


def actor_of(body: dict[str, Any]) -> tuple[str, str | None]:
    """(user, channel) of any interaction; a modal's channel is the one it was opened from."""
    if "command" in body:
        return str(body.get("user_id") or ""), str(body.get("channel_id") or "") or None
    user = str((body.get("user") or {}).get("id") or "")
    channel = (body.get("channel") or {}).get("id")
    view = body.get("view")
    if channel is None and isinstance(view, dict) and view.get("type") == "modal":
        # A modal opened from App Home carries the channel the person picked in it.
        channel = ModalMetadata.of_view(view).channel_id or chosen_channel(
            (view.get("state") or {}).get("values") or {}
        )
    return user, (str(channel) if channel else None)


def _from_home(body: dict[str, Any]) -> bool:
    """An interaction on the Home tab, or in a deploy modal opened from it (no channel)."""
    view = body.get("view")
    if not isinstance(view, dict) or body.get("channel"):
        return False
    if view.get("type") == "home":
        return True
    return view.get("type") == "modal" and ModalMetadata.of_view(view).channel_id is None


def command_action(body: dict[str, Any], dynamote: AppContext) -> Action:
    """``deploy`` and ``scale`` deploy; everything else only reads (delete prompts; the
    button deletes)."""
    try:
        parsed = parse_command(str(body.get("text") or ""), command=dynamote.settings.command)
    except CommandError:
        return Action.READ
    return Action.DEPLOY if isinstance(parsed, Deploy | Scale) else Action.READ


def decide(
    dynamote: AppContext, client: WebClient, action: Action, *, user: str, channel: str | None
) -> Decision:
    """The policy's answer for ``user`` starting ``action`` from ``channel``."""
    policy = policy_of(dynamote)
    membership = _membership(dynamote, client, policy, user, action)
    return policy.may(action, user=user, channel=channel, membership=membership)


def may_delete(
    dynamote: AppContext, client: WebClient, *, user: str, target: Deployment
) -> Decision:
    """The requester or an admin (admin groups looked up, cached). ``target`` is one of
    Dynamote's (``DeploymentService.get_deployment`` refuses the rest); an unverified one has
    no requester, so only an admin deletes it."""
    policy = policy_of(dynamote)
    membership = _membership(dynamote, client, policy, user, Action.DELETE)
    return policy.may_delete(user=user, requester=target.requester, membership=membership)


def is_admin(dynamote: AppContext, client: WebClient, *, user: str) -> bool:
    """Whether ``user`` is an admin, who also sees (marked) and may delete DGDs whose provenance
    does not verify; a group that cannot be looked up counts as not theirs (cached: the guard
    just looked)."""
    policy = policy_of(dynamote)
    return policy.is_admin(user, _membership(dynamote, client, policy, user, Action.DELETE))


def _membership(
    dynamote: AppContext, client: WebClient, policy: Policy, user: str, action: Action
) -> Membership:
    groups = policy.groups_to_check(user, action)
    return dynamote.groups.membership(client, user, groups) if groups else Membership()


def guarded(action: Action | Classifier) -> Middleware:
    """A listener middleware that lets the listener run only when the policy allows it."""

    def guard(
        ack: Ack,
        body: dict[str, Any],
        context: BoltContext,
        client: WebClient,
        respond: Respond,
        next_: Callable[[], None],
    ) -> BoltResponse | None:
        dynamote: AppContext = context[CONTEXT_KEY]
        wanted = action if isinstance(action, Action) else action(body, dynamote)
        user, channel = actor_of(body)
        judged_in = channel
        if wanted is Action.DEPLOY and channel is None and body.get("type") != "view_submission":
            # Deploying from App Home: the modal asks for an allowed channel, and the
            # submission is judged in the one picked; until then, judge as in the first.
            allowed = policy_of(dynamote).channels
            judged_in = allowed[0] if allowed and _from_home(body) else None
        try:
            decision = decide(dynamote, client, wanted, user=user, channel=judged_in)
        except Exception:  # a broken check must deny, never let the request through
            log.exception("Failed to check the policy for %s", user)
            decision = Decision(
                False, "Dynamote could not check what you may do; try again in a minute.", ""
            )
        if decision.allowed:
            next_()
            return None
        audit(wanted.value, user=user, channel=channel, outcome="denied", reason=decision.text)
        return _deny(
            decision, ack=ack, body=body, client=client, respond=respond, dynamote=dynamote
        )

    return guard


def _deny(
    decision: Decision,
    *,
    ack: Ack,
    body: dict[str, Any],
    client: WebClient,
    respond: Respond,
    dynamote: AppContext,
) -> BoltResponse:
    message = build_denial(decision)
    if "command" in body:  # the ack itself carries the ephemeral answer: no call needed
        return ack(**message.as_kwargs(), response_type="ephemeral")
    if body.get("type") == "view_submission":
        errors = _inline_errors(body.get("view") or {}, decision.inline)
        if errors:
            return ack(response_action="errors", errors=errors)
    answered = ack() if body.get("type") != "view_submission" else ack(response_action="clear")
    dynamote.executor.submit(_reply_quietly, message, body, respond, client)
    return answered


def _inline_errors(view: dict[str, Any], text: str) -> dict[str, str]:
    """The error on the model block (else the first input) of the view as submitted."""
    inputs = [
        str(b.get("block_id"))
        for b in view.get("blocks") or []
        if isinstance(b, dict) and b.get("type") == "input" and b.get("block_id")
    ]
    target = next((b for b in inputs if base_block_id(b) == BLOCK_MODEL), None) or next(
        iter(inputs), None
    )
    if target is None:
        return {}
    (trimmed,) = error_blocks({"model": text}, 0).values()
    return {target: trimmed}


def _reply_quietly(message: Any, body: dict[str, Any], respond: Respond, client: WebClient) -> None:
    try:
        reply(message, body=body, respond=respond, client=client)
    except Exception:
        log.warning("Could not tell %s about a denial", actor_of(body)[0], exc_info=True)


def find_deployment(
    dynamote: AppContext,
    client: WebClient,
    *,
    action: Action,
    user: str,
    channel: str | None,
    namespace: str,
    name: str,
) -> Deployment:
    """The deployment ``user`` named, as they may see it: an admin also gets an unverified
    one. A DGD that is not theirs to see raises NotDynamotes (audited as a refused ``action``),
    whose message is the one a missing deployment gets."""
    unverified = is_admin(dynamote, client, user=user)
    try:
        return dynamote.service.get_deployment(namespace, name, unverified=unverified)
    except NotDynamotes as refused:
        audit(action.value, user=user, channel=channel, namespace=namespace, name=name,
              outcome="denied", reason=refused.audit_reason)  # fmt: skip
        raise
