"""Fix a failure: the trouble reply's Redeploy… and Full log, and a refused form's "Back to
the form".

Redeploy… (guarded as a deploy) opens a modal at once (the trigger lives 3 s), then reads the
deployment as a delete would (only Dynamote's own, verified; owner or admin), its stored
request (``dynamote.dev/request``) and its failing log, and turns the modal into the deploy
form prefilled with that request and the suggested change applied (``bot.domain.failures``). The
form carries the deployment it replaces (``ModalMetadata.replaces``); a submission under the
same name replaces it (``bot.slack.listeners.deploy_submission``). Full log (guarded as a read)
shows the last lines of every failing container, redacted. Each is audited (``redeploy``,
``full_log``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View

from bot.blocks.common import escape, mention
from bot.blocks.deploy_cost import Budget
from bot.blocks.deploy_form import ModalMetadata
from bot.blocks.deploy_result import typed_form
from bot.blocks.fixit import (
    build_redeploy_loading_view,
    build_redeploy_refused_view,
    form_from_request,
    redeploy_notice,
)
from bot.blocks.fullog import ContainerLog, build_full_log_view
from bot.blocks.ids import ACTION_BACK_TO_FORM, ACTION_FULL_LOG, ACTION_REDEPLOY
from bot.cluster import ClusterError
from bot.deployment_service import NotDynamotes
from bot.domain.deployments import Deployment
from bot.domain.failures import apply_change, diagnose
from bot.domain.policy import Action
from bot.notifier.trouble import log_tail_source
from bot.ops.audit import audit
from bot.slack.context import AppContext
from bot.slack.listeners.deploy_modal import deploy_form_view
from bot.slack.listeners.deployments import button_target
from bot.slack.listeners.guard import actor_of, find_deployment, guarded, is_admin, policy_of
from bot.slack.listeners.loading_modal import Fill, open_then_fill

__all__ = ["handle_back_to_form", "handle_full_log", "handle_redeploy", "register"]

log = logging.getLogger(__name__)

FULL_LOG_LINES = 60  # lines read of each failing container
LOG_CONTAINER = "main"  # the operator's name for a component's own container


def register(app: App) -> None:
    app.action(ACTION_REDEPLOY, middleware=[guarded(Action.DEPLOY)])(handle_redeploy)
    app.action(ACTION_FULL_LOG, middleware=[guarded(Action.READ)])(handle_full_log)
    app.action(ACTION_BACK_TO_FORM, middleware=[guarded(Action.DEPLOY)])(handle_back_to_form)


# Fills a card button's opened modal: (client, dynamote, view, user, channel, namespace, name).
_FillFor = Callable[[WebClient, AppContext, dict[str, Any], str, str | None, str, str], None]


def _opens_modal(
    loading: Callable[[str, str], View], fill: _FillFor, *, opening: str, filling: str
) -> Callable[..., None]:
    """The listener of a card button whose value is ``"<namespace>/<name>"``: it opens the
    ``loading`` view for that deployment inside the ack, and ``fill`` completes it after."""

    def handle(
        ack: Ack, body: dict[str, Any], client: WebClient, dynamote: AppContext, respond: Respond
    ) -> None:
        ack()
        user, channel = actor_of(body)

        def prepare() -> tuple[View, Fill]:
            namespace, name = button_target(body, dynamote)
            return loading(namespace, name), lambda view: fill(
                client, dynamote, view, user, channel, namespace, name
            )

        open_then_fill(body, client, dynamote, respond, prepare, opening=opening, filling=filling)

    return handle


# --- Redeploy… -----------------------------------------------------------------------------


def _fill_form(
    client: WebClient,
    dynamote: AppContext,
    view: dict[str, Any],
    user: str,
    channel: str | None,
    namespace: str,
    name: str,
) -> None:
    key = f"{namespace}/{name}"
    try:
        deployment = find_deployment(
            dynamote, client, action=Action.DEPLOY, user=user, channel=channel,
            namespace=namespace, name=name,
        )  # fmt: skip
        refusal = _refusal(dynamote, client, deployment, user)
        if refusal is not None:
            audit("redeploy", user=user, channel=channel, namespace=namespace, name=name,
                  outcome="denied", reason=refusal)  # fmt: skip
            updated = build_redeploy_refused_view(key, refusal)
        else:
            updated = _prefilled_form(dynamote, deployment, user, channel)
    except (ClusterError, NotDynamotes) as error:
        message = error.message if isinstance(error, ClusterError) else str(error)
        updated = build_redeploy_refused_view(key, escape(message))
    try:
        client.views_update(view_id=str(view.get("id")), hash=view.get("hash"), view=updated)
    except SlackApiError:
        log.info("The Redeploy modal %s changed or closed before it was filled", view.get("id"))


handle_redeploy = _opens_modal(
    lambda namespace, name: build_redeploy_loading_view(f"{namespace}/{name}"),
    _fill_form,
    opening="open Redeploy",
    filling="prefill the redeploy form",
)


def _refusal(
    dynamote: AppContext, client: WebClient, deployment: Deployment, user: str
) -> str | None:
    """Why ``user`` may not redeploy it (mrkdwn, names escaped), or None."""
    if not deployment.verified:
        return "Dynamote cannot tell who deployed it, so it is not redeployed from Slack."
    if deployment.requester != user and not is_admin(dynamote, client, user=user):
        who = mention(deployment.requester) if deployment.requester else "its owner"
        return f"Only {who} or an admin may redeploy {escape(deployment.name)}."
    if not deployment.request.get("model"):
        return (
            f"{escape(deployment.name)} carries no request Dynamote stored, so there is no form "
            "to fill."
        )
    return None


def _prefilled_form(
    dynamote: AppContext, deployment: Deployment, user: str, channel: str | None
) -> View:
    """The deploy form holding the deployment's request with the suggested change applied;
    every option shown, so what the form does not show is not lost."""
    tail = _failing_log(dynamote, deployment)
    found = diagnose(deployment.status, tail, deployment.request)
    form = form_from_request(apply_change(deployment.request, found))
    metadata = ModalMetadata(
        user_id=user,
        channel_id=channel or deployment.channel,
        advanced=True,
        replaces=deployment.key,
    )
    notice = redeploy_notice(
        deployment.name,
        found.cause if found is not None else deployment.status.reason,
        found.change_text if found is not None else "",
    )
    budget = Budget.of(policy_of(dynamote), free_gpus=dynamote.service.free_gpus())
    return deploy_form_view(dynamote, form, metadata, budget, notice)


def _failing_log(dynamote: AppContext, deployment: Deployment) -> str | None:
    pod = log_tail_source(deployment.status)
    if pod is None:
        return None
    try:
        return dynamote.service.cluster.pod_log_tail(deployment.namespace, pod, lines=20)
    except ClusterError as error:
        log.info("No log for %s/%s: %s", deployment.namespace, pod, error.message)
        return None


# --- Full log ------------------------------------------------------------------------------


def _show_logs(
    client: WebClient,
    dynamote: AppContext,
    view: dict[str, Any],
    user: str,
    channel: str | None,
    namespace: str,
    name: str,
) -> None:
    try:
        deployment = find_deployment(
            dynamote, client, action=Action.READ, user=user, channel=channel,
            namespace=namespace, name=name,
        )  # fmt: skip
        logs = [_container_log(dynamote, deployment, pod.name, pod.reason or "")
                for pod in deployment.status.pods if pod.reason or pod.restarts]  # fmt: skip
        audit("full_log", user=user, channel=channel, namespace=namespace, name=name,
              outcome="tried")  # fmt: skip
        updated = build_full_log_view(name, logs)
    except (ClusterError, NotDynamotes) as error:
        message = error.message if isinstance(error, ClusterError) else str(error)
        updated = build_full_log_view(name, [], problem=message)
    try:
        client.views_update(view_id=str(view.get("id")), hash=view.get("hash"), view=updated)
    except SlackApiError:
        log.info("The Full log modal %s closed before it was filled", view.get("id"))


handle_full_log = _opens_modal(
    lambda _namespace, name: build_full_log_view(name, [], loading=True),
    _show_logs,
    opening="open the log",
    filling="read a deployment's logs",
)


def _container_log(
    dynamote: AppContext, deployment: Deployment, pod: str, why: str
) -> ContainerLog:
    try:
        text = dynamote.service.cluster.pod_log_tail(
            deployment.namespace, pod, container=LOG_CONTAINER, lines=FULL_LOG_LINES
        )
    except ClusterError as error:
        text, why = None, f"{why}; no log: {error.message}" if why else error.message
    return ContainerLog(pod=pod, container=LOG_CONTAINER, text=text, why=why)


# --- Back to the form ----------------------------------------------------------------------


def handle_back_to_form(
    ack: Ack, body: dict[str, Any], client: WebClient, dynamote: AppContext
) -> None:
    """The refused submission's view becomes the form again, as the person typed it (the
    view carries the form, ``bot.blocks.deploy_result.typed_form``)."""
    ack()
    view = body.get("view") or {}
    carried = typed_form(str(view.get("private_metadata") or ""))
    if carried is None:
        log.warning("A Back to the form view %s carried no form", view.get("id"))
        return
    form, metadata = carried
    user, _ = actor_of(body)
    service = dynamote.service
    # A new revision: Slack shows the form's values, not what it kept of older inputs.
    metadata = replace(metadata, user_id=user, revision=metadata.revision + 1)
    budget = Budget.of(policy_of(dynamote), free_gpus=service.free_gpus())
    new_view = deploy_form_view(dynamote, form, metadata, budget)
    try:
        client.views_update(view_id=str(view.get("id")), hash=view.get("hash"), view=new_view)
    except SlackApiError:
        log.info("The refused deploy view %s changed or closed", view.get("id"))
