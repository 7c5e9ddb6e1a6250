"""Scale: the card's Scale button and its modal, and ``/dynamote scale NAME N``.

Both go through :func:`scale_deployment`: the DGD is read and judged as for a delete (only
Dynamote's own; an unverified one by admins only), the rules of :func:`bot.domain.scaling.may_scale`
apply (owner or admin, a deploy's limits), and the workers' replicas are merge-patched at the
resourceVersion read, so a change made meanwhile is refused rather than overwritten. The
patch touches the spec only, never the signed annotations, so the DGD stays verified. The
card's thread says who scaled it to what; every attempt is audited (``scale``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View

from bot.blocks.common import escape, mention, truncate
from bot.blocks.ids import ACTION_SCALE, BLOCK_SCALE_REPLICAS, CALLBACK_SCALE, input_block_id
from bot.blocks.scale import (
    ScaleMetadata,
    build_scale_modal,
    build_scale_result_view,
    build_scaled_reply,
)
from bot.cluster import ClusterError, Conflict
from bot.cluster.dgds import replicas_patch, worker_replicas
from bot.deployment_service import NotDynamotes
from bot.domain.dgd import Dgd
from bot.domain.policy import Action
from bot.domain.scaling import gpus_after, may_scale
from bot.ops.audit import Outcome, audit
from bot.slack.context import AppContext
from bot.slack.listeners.deployments import button_target
from bot.slack.listeners.guard import actor_of, guarded, is_admin, policy_of
from bot.slack.listeners.loading_modal import Fill, open_then_fill

__all__ = [
    "ScaleOutcome",
    "handle_open_scale",
    "handle_scale_submission",
    "register",
    "scale_deployment",
]

log = logging.getLogger(__name__)
ACTION = "scale"


def register(app: App) -> None:
    deploying = [guarded(Action.DEPLOY)]
    app.action(ACTION_SCALE, middleware=deploying)(handle_open_scale)
    app.view(CALLBACK_SCALE, middleware=deploying)(handle_scale_submission)


@dataclass(frozen=True)
class ScaleOutcome:
    ok: bool
    text: str  # mrkdwn, names escaped


# --- the card's button and its modal -------------------------------------------------------


def handle_open_scale(
    ack: Ack, body: dict[str, Any], client: WebClient, dynamote: AppContext, respond: Respond
) -> None:
    ack()
    user, channel = actor_of(body)

    def prepare() -> tuple[View, Fill]:
        namespace, name = button_target(body, dynamote)
        metadata = ScaleMetadata(user, channel, f"{namespace}/{name}")
        limit = dynamote.settings.max_replicas
        return build_scale_modal(metadata, max_replicas=limit), lambda view: _show_current(
            client, dynamote, view, metadata
        )

    open_then_fill(body, client, dynamote, respond, prepare,
                   opening="open Scale", filling="read a deployment's size")  # fmt: skip


def _show_current(
    client: WebClient, dynamote: AppContext, view: dict[str, Any], metadata: ScaleMetadata
) -> None:
    """Prefill the modal with the workers' replicas now, once the cluster said."""
    namespace, _, name = metadata.deployment.partition("/")
    try:
        user = metadata.user_id
        dgd = _judged_dgd(dynamote, client, user=user, namespace=namespace, name=name)
        owner = dynamote.service.deployment_of(dgd).requester
        current = worker_replicas(dgd)
        if user != owner and not is_admin(dynamote, client, user=user):
            # Said now rather than after the person has picked a number.
            who = mention(owner) if owner else "the person who deployed it"
            refusal = f"Only {who} or an admin may scale this deployment."
            raise ValueError(refusal)
        updated = build_scale_modal(
            replace(metadata, revision=metadata.revision + 1),
            max_replicas=dynamote.settings.max_replicas,
            current=current,
        )
    except (ClusterError, ValueError) as error:
        message = escape(error.message) if isinstance(error, ClusterError) else str(error)
        updated = build_scale_result_view(metadata, text=message, ok=False)
    try:
        client.views_update(view_id=str(view.get("id")), hash=view.get("hash"), view=updated)
    except SlackApiError:
        log.info("The Scale modal %s changed or closed before it was filled", view.get("id"))


def handle_scale_submission(
    ack: Ack, body: dict[str, Any], client: WebClient, dynamote: AppContext
) -> None:
    view = body.get("view") or {}
    user, channel = actor_of(body)
    try:
        metadata = ScaleMetadata.from_json(str(view.get("private_metadata") or ""))
    except ValueError:
        ack(response_action="clear")
        return
    block = input_block_id(BLOCK_SCALE_REPLICAS, metadata.revision)
    values = (view.get("state") or {}).get("values") or {}
    typed = ((values.get(block) or {}).get(BLOCK_SCALE_REPLICAS) or {}).get("value")
    limit = dynamote.settings.max_replicas
    text = str(typed or "").strip()
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= limit:
        ack(response_action="errors", errors={block: f"Pick a whole number from 1 to {limit}."})
        return
    replicas = int(text)
    namespace, _, name = metadata.deployment.partition("/")
    where = f"*{escape(truncate(name, 100))}*"
    ack(
        response_action="update",
        view=build_scale_result_view(
            metadata, text=f"Scaling {where} to {replicas} worker replicas…", ok=None
        ),
    )

    def work() -> None:
        outcome = scale_deployment(
            dynamote, client, user=user, channel=channel, namespace=namespace, name=name,
            replicas=replicas,
        )  # fmt: skip
        client.views_update(
            view_id=str(view.get("id") or ""),
            view=build_scale_result_view(metadata, text=outcome.text, ok=outcome.ok),
        )

    dynamote.after_ack(work, doing="scale a deployment")


# --- the one way to scale ------------------------------------------------------------------


def _judged_dgd(
    dynamote: AppContext, client: WebClient, *, user: str, namespace: str, name: str
) -> dict[str, Any]:
    """The DGD if ``user`` may see it (NotDynamotes otherwise, as for a missing one)."""
    service = dynamote.service
    service.check_name(name)
    dgd = service.cluster.get_dgd(namespace, name)
    standing = service.provenance.standing(dgd)
    if standing == "unmanaged" or (
        standing == "unverified" and not is_admin(dynamote, client, user=user)
    ):
        raise NotDynamotes(namespace, name, standing)
    return dgd


def scale_deployment(
    dynamote: AppContext,
    client: WebClient,
    *,
    user: str,
    channel: str | None,
    namespace: str,
    name: str,
    replicas: int,
) -> ScaleOutcome:
    """Scale the workers of ``namespace/name`` for ``user``, announce it, audit it."""
    service = dynamote.service
    where = f"*{escape(truncate(name, 100))}*"

    def record(outcome: Outcome, reason: str, gpus: int | None = None) -> None:
        audit(ACTION, user=user, channel=channel, namespace=namespace, name=name,
              gpus=gpus, outcome=outcome, reason=reason)  # fmt: skip

    try:
        dgd = _judged_dgd(dynamote, client, user=user, namespace=namespace, name=name)
    except NotDynamotes as refused:
        record("denied", refused.audit_reason)
        return ScaleOutcome(False, escape(refused.message))
    except (ClusterError, ValueError) as error:
        message = error.message if isinstance(error, ClusterError) else str(error)
        record("failed", message)
        return ScaleOutcome(False, escape(message))
    deployment = service.deployment_of(dgd)
    before = worker_replicas(dgd)
    if before is None:
        return ScaleOutcome(False, f"{where} has no workers to scale.")
    policy = policy_of(dynamote)
    gpus = gpus_after(dgd, replicas)
    try:
        others = (
            service.list_deployments()
            if policy.max_gpus_per_user is not None and deployment.requester
            else []
        )
    except ClusterError as error:
        record("failed", error.message)
        return ScaleOutcome(False, escape(error.message))
    decision = may_scale(
        policy, user=user, admin=is_admin(dynamote, client, user=user), deployment=deployment,
        replicas=replicas, max_replicas=dynamote.settings.max_replicas, gpus=gpus, others=others,
    )  # fmt: skip
    if not decision.allowed:
        record("denied", decision.text, gpus)
        return ScaleOutcome(False, decision.text)
    if replicas == before:
        return ScaleOutcome(True, f"{where} already runs {replicas} worker replicas.")
    version = Dgd(dgd).resource_version
    try:
        service.cluster.patch_dgd(
            namespace, name, replicas_patch(dgd, replicas), resource_version=version
        )
    except Conflict:
        record("failed", "changed meanwhile")
        return ScaleOutcome(False, f"{where} changed while it was being scaled; try again.")
    except ClusterError as error:
        record("failed", error.message, gpus)
        return ScaleOutcome(False, escape(error.message))
    record("scaled", f"{before} -> {replicas} worker replicas", gpus)
    if deployment.channel and deployment.thread_ts:  # else no card Dynamote signed: no thread
        said = build_scaled_reply(name, by_user=user, before=before, after=replicas, gpus=gpus)
        try:
            client.chat_postMessage(
                channel=deployment.channel, thread_ts=deployment.thread_ts, **said.as_kwargs()
            )
        except SlackApiError:
            log.warning("Could not announce the scale of %s in its thread", name, exc_info=True)
    return ScaleOutcome(
        True, f"Scaled {where} from {before} to {replicas} worker replicas ({gpus} GPUs)."
    )
