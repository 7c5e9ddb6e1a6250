"""Approvals: a big (or listed-namespace) deploy waits for an approver's yes.

:func:`hold_for_approval` runs where a checked submission would create its DGD: when the
request needs approval (``bot.domain.approvals.ApprovalPolicy.needs``) it creates nothing, posts the
requester's card ("waiting for approval by …"), stores the request (``bot.cluster.approvals``),
asks the approvals channel and tells the modal. Approve and Deny are for approvers only (users
and user groups of ``DYNAMOTE_APPROVERS``), never the requester. The button carries the
request's hash: the stored request must be intact and be the one shown. Approve takes the
record out of the store first (so two approvers, or two replicas, cannot both create it),
checks the policy and limits again for the requester, and creates exactly the stored request
with the card's place. Deny asks for a reason. Every step is told in the requester's thread,
shown on the approvals message and audited; a request older than ``DYNAMOTE_APPROVAL_TTL``
lapses when answered.

A Redeploy… that needs approval is held as a replacement of the deployment it was opened for
(``bot.domain.approvals``: ``replaces``): its own thread hears that it waits (no new card), Approve
replaces it exactly as an unapproved Redeploy… does
(``bot.slack.listeners.deploy_submission.replace_deployment``), and Deny or a lapse leave it, and
its card, as they are.
"""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import replace
from datetime import datetime
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.approvals import (
    build_approval_note,
    build_approval_request,
    build_approval_settled,
    build_deny_modal,
    build_replacement_waiting_note,
    build_waiting_card,
    build_waiting_view,
    read_why,
)
from bot.blocks.common import Message, error_message, escape
from bot.blocks.deploy_form import ModalMetadata
from bot.blocks.ids import ACTION_APPROVE, ACTION_DENY, BLOCK_DENY_REASON, CALLBACK_DENY
from bot.cluster import ClusterError
from bot.cluster.approvals import ApprovalStore
from bot.domain.approvals import ApprovalPolicy, PendingApproval, new_approval
from bot.domain.dgd import Dgd
from bot.domain.expiry import NEVER, format_expires_at, parse_duration
from bot.domain.manifest import SlackOrigin
from bot.domain.policy import Action, is_group
from bot.domain.privileges import privileges_of
from bot.domain.request import DeploymentRequest, parse_request
from bot.ops.audit import Outcome, audit
from bot.ops.metrics import DEPLOYMENTS_CREATED
from bot.slack.announce import post_card
from bot.slack.context import AppContext
from bot.slack.listeners.deploy_submission import (
    Submission,
    check_submission,
    redeploy_refusal,
    replace_deployment,
    replaces,
    tell_replaced,
)
from bot.slack.listeners.guard import (
    actor_of,
    decide,
    group_membership,
    guarded,
    is_admin,
    policy_of,
)
from bot.slack.listeners.replies import reply

__all__ = ["approval_store", "hold_for_approval", "register", "why_of"]

log = logging.getLogger(__name__)


def register(app: App) -> None:
    reading = [guarded(Action.READ)]  # who may answer is checked here: approvers only
    app.action(ACTION_APPROVE, middleware=reading)(handle_approve)
    app.action(ACTION_DENY, middleware=reading)(handle_deny)
    app.view(CALLBACK_DENY, middleware=reading)(handle_deny_reason)


def approval_store(dynamote: AppContext) -> ApprovalStore:
    settings = dynamote.settings
    return ApprovalStore(
        dynamote.service.cluster,
        namespace=settings.lease_namespace or settings.default_namespace,
        lease_name=settings.lease_name,
    )


# --- the submission ------------------------------------------------------------------------


def why_of(view: dict[str, Any]) -> str:
    """The deploy modal's "Why" for approvers ("" when none or not asked)."""
    return read_why((view.get("state") or {}).get("values") or {})


def hold_for_approval(submission: Submission) -> bool:
    """Store the request and ask the approvers instead of creating it; False when it needs
    no approval. Runs after the checks passed, off the ack."""

    dynamote, request, metadata = submission.dynamote, submission.request, submission.metadata
    policy = dynamote.settings.approval_policy
    reason = policy.needs(gpus=request.total_gpus, namespace=request.namespace)
    if reason is None:
        return False
    action = "redeploy" if replaces(metadata, request) else Action.DEPLOY.value
    _audit(request, metadata.user_id, metadata.channel_id, "requested", reason, action=action)
    if policy.complete is not None or policy.channel is None:  # fail closed: nobody to ask
        _audit(request, metadata.user_id, metadata.channel_id, "denied", "no approvers",
               action=action)  # fmt: skip
        submission._show_failure(
            [f"This deployment needs approval ({reason}), but no approvers are set up. "
             "Ask an admin to set DYNAMOTE_APPROVERS and DYNAMOTE_APPROVAL_CHANNEL."]
        )  # fmt: skip
        return True
    now = dynamote.now()
    keep = NEVER
    if submission.expires_at is not None:
        keep = f"{max(1, int((submission.expires_at - now).total_seconds() // 60))}m"
    replacing = metadata.replaces if replaces(metadata, request) else None
    replaced_uid = ""
    if replacing is not None:
        try:
            replaced_uid = _uid_of(dynamote, request.namespace, request.name)
        except ClusterError as error:
            submission._show_failure([error.message])
            return True
    record = new_approval(
        request.to_annotation(),
        requester=metadata.user_id,
        channel=None,
        thread_ts=None,
        reason=reason,
        now=now,
        ttl=policy.ttl,
        gpus=request.total_gpus,
        keep=keep,
        note=submission.why,
        replaces=replacing or "",
        replaces_uid=replaced_uid,
    )
    approvers = policy.whom()
    store = approval_store(dynamote)
    stored = False
    try:
        if replacing is not None:  # its own thread hears it; its card stays as it is
            current = dynamote.service.get_deployment(request.namespace, request.name)
            record = replace(record, channel=current.channel, thread_ts=current.thread_ts)
        else:
            card = build_waiting_card(record, approvers=approvers)
            place = post_card(
                submission.client,
                card.as_kwargs(),
                channel=metadata.channel_id,
                user=metadata.user_id,
            )
            record = replace(record, channel=place[0], thread_ts=place[1])
        store.put(record)  # before the message: its buttons must find it
        stored = True
        asked = submission.client.chat_postMessage(
            channel=policy.channel,
            **build_approval_request(record, approvers=approvers).as_kwargs(),
        )
        # Where the message is, for a lapse to settle it (unless answered already).
        store.put(replace(record, message_ts=str(asked["ts"])), only_if_present=True)
        if replacing is not None:
            _tell_thread(submission.client, record, approvers)
    except Exception:
        log.exception("Failed to ask for approval of %s", request.name)
        if stored:  # nobody was asked: take it back, or it would lapse in the thread later
            with contextlib.suppress(Exception):
                store.take(record.id)
        submission._show_failure(["Dynamote could not ask for approval; try again in a minute."])
        return True
    view = build_waiting_view(
        request.name,
        request.namespace,
        approvers=approvers,
        private=metadata.to_json(),
        replacing=replacing is not None,
    )
    submission._update(view)
    return True


def _uid_of(dynamote: AppContext, namespace: str, name: str) -> str:
    """The uid of the DGD a Redeploy… replaces, as it is now."""
    return Dgd(dynamote.service.cluster.get_dgd(namespace, name)).uid


def _tell_thread(client: WebClient, record: PendingApproval, approvers: str) -> None:
    """The replaced deployment's thread hears that its Redeploy… waits for approval."""
    _post_in_thread(client, record, build_replacement_waiting_note(record, approvers=approvers))


# --- Approve -------------------------------------------------------------------------------


def handle_approve(
    ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient, dynamote: AppContext
) -> None:
    ack()
    dynamote.after_ack(lambda: _approve(body, respond, client, dynamote), doing="approve it")


def _approve(
    body: dict[str, Any], respond: Respond, client: WebClient, dynamote: AppContext
) -> None:
    user, _ = actor_of(body)
    value = _action_value(body)
    record = _answerable(value, user, body, respond, client, dynamote)
    if record is None:
        return
    taken = approval_store(dynamote).take(record.id)
    if taken is None:
        _tell(body, respond, client, "Already answered", "Someone else answered it first.")
        return
    place = _message_place(body)
    if taken.expired(dynamote.now()):
        _lapsed(taken, place, client)
        _tell(body, respond, client, "It lapsed", "The request waited too long and lapsed.")
        return
    outcome = _create(taken, user, client, dynamote)
    _settle(client, place, taken, outcome)


def _create(record: PendingApproval, approver: str, client: WebClient, dynamote: AppContext) -> str:
    """Check the stored request again for its requester, and create it; the outcome line."""

    requester = record.requester
    # A replacement's checks do not count the deployment it replaces (it goes as this comes).
    metadata = ModalMetadata(
        user_id=requester, channel_id=record.channel, replaces=record.replaces or None
    )
    try:
        request = _request_of(record, dynamote, client)
        # The requester may still deploy (from that channel), and a deployment this size.
        where = record.channel if record.channel and record.channel[0] in "CG" else None
        allowed = decide(dynamote, client, Action.DEPLOY, user=requester, channel=where)
        size = policy_of(dynamote).may_deploy_size(request.total_gpus)
        problems = {"gpus": size.text} if not size.allowed else {}
        if not allowed.allowed:
            problems = {"user": allowed.text}
        if record.replaces and not problems:
            refused = _replacement_refusal(record, request, dynamote, client)
            problems = {"replaces": refused} if refused else {}
        checked = check_submission(dynamote, request, metadata) if not problems else None
        problems = problems or (checked.problems if checked else {})
        if problems:
            text = "; ".join(problems.values())
            _audit(request, requester, record.channel, "denied", f"at approval: {text}",
                   action="redeploy" if record.replaces else Action.DEPLOY.value)  # fmt: skip
            done = "replaced" if record.replaces else "created"
            _note(client, record, f":no_entry: Approved by <@{approver}>, but it is no longer "
                  f"allowed, so nothing was {done}: {text}")  # fmt: skip
            return f":no_entry: Approved by <@{approver}>, not {done}: {text}"
        try:
            if record.replaces:
                return _replace(record, request, approver, client, dynamote)
            created = dynamote.service.create(request, _origin(record, dynamote))
        finally:
            if checked is not None and checked.ticket is not None:
                checked.ticket.cancel()
    except Exception as error:
        log.exception("Failed to create approved request %s", record.id)
        why = getattr(error, "message", None) or "something went wrong inside Dynamote"
        doing = "replacing" if record.replaces else "creating"
        _note(client, record, f":warning: Approved by <@{approver}>, but {doing} it failed: {why}.")
        return f":warning: Approved by <@{approver}>; {doing} it failed."
    name = Dgd(created).name or request.name
    DEPLOYMENTS_CREATED.inc()
    audit(Action.DEPLOY.value, user=requester, channel=record.channel,
          namespace=request.namespace, name=name, model=request.model, gpus=request.total_gpus,
          outcome="approved", reason=f"approved by {approver}")  # fmt: skip
    audit(Action.DEPLOY.value, user=requester, channel=record.channel,
          namespace=request.namespace, name=name, model=request.model, gpus=request.total_gpus,
          outcome="created")  # fmt: skip
    _note(client, record, f":white_check_mark: Approved by <@{approver}>: *{name}* is being "
          "created. Updates follow in this thread.")  # fmt: skip
    return f":white_check_mark: Approved by <@{approver}>; created."


def _replacement_refusal(
    record: PendingApproval, request: DeploymentRequest, dynamote: AppContext, client: WebClient
) -> str | None:
    """Why the approved Redeploy… may not replace its deployment now: not the one asked about
    (the object shown was deleted or replaced since), or the requester no longer its owner or
    an admin. None: it may."""

    if record.replaces != f"{request.namespace}/{request.name}":
        return "the stored request does not name the deployment it replaces"
    try:
        uid = _uid_of(dynamote, request.namespace, request.name)
    except ClusterError as error:
        return error.message
    if uid != record.replaces_uid:
        return f"{request.name} is not the deployment it was asked to replace any more"
    return redeploy_refusal(dynamote, client, request, record.requester)


def _replace(
    record: PendingApproval,
    request: DeploymentRequest,
    approver: str,
    client: WebClient,
    dynamote: AppContext,
) -> str:
    """Replace the deployment as an unapproved Redeploy… does; the outcome line."""

    requester = record.requester
    expires = _expires(record, dynamote)
    replaced = replace_deployment(
        dynamote, request, by_user=requester, expires_at=expires, expected_uid=record.replaces_uid
    )
    _note(client, record, f":white_check_mark: Approved by <@{approver}>: *{request.name}* is "
          "being replaced. Updates follow in this thread.")  # fmt: skip
    DEPLOYMENTS_CREATED.inc()
    audit("redeploy", user=requester, channel=record.channel, namespace=request.namespace,
          name=request.name, model=request.model, gpus=request.total_gpus,
          outcome="approved", reason=f"approved by {approver}")  # fmt: skip
    audit("redeploy", user=requester, channel=record.channel, namespace=request.namespace,
          name=request.name, model=request.model, gpus=request.total_gpus,
          outcome="created")  # fmt: skip
    tell_replaced(client, replaced, by_user=requester)
    return f":white_check_mark: Approved by <@{approver}>; replaced."


def _expires(record: PendingApproval, dynamote: AppContext) -> datetime | None:
    """The end the form's "Keep for" gives, counted from the approval."""
    if not record.keep or record.keep == NEVER:
        return None
    return dynamote.now() + parse_duration(record.keep)


def _request_of(
    record: PendingApproval, dynamote: AppContext, client: WebClient
) -> DeploymentRequest:

    admin = is_admin(dynamote, client, user=record.requester)
    request = parse_request(
        record.request_data(),
        catalog=dynamote.catalog,
        limits=dynamote.service.limits,
        privileges=privileges_of(dynamote.settings, admin=admin),
    )
    dynamote.service.namespace_for(request.namespace)
    return request


def _origin(record: PendingApproval, dynamote: AppContext) -> SlackOrigin:
    end = _expires(record, dynamote)
    expires = format_expires_at(end) if end is not None else None
    return SlackOrigin(
        user=record.requester,
        channel=record.channel,
        thread_ts=record.thread_ts,
        expires_at=expires,
    )


# --- Deny ----------------------------------------------------------------------------------


def handle_deny(
    ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient, dynamote: AppContext
) -> None:
    """Open the reason modal at once (a trigger_id lasts 3 seconds); checked on submit."""
    ack()
    place = _message_place(body)
    try:
        client.views_open(
            trigger_id=str(body.get("trigger_id", "")),
            view=build_deny_modal(_action_value(body), channel=place[0], ts=place[1]),
        )
    except SlackApiError:
        log.warning("Could not open the Deny modal", exc_info=True)


def handle_deny_reason(
    ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient, dynamote: AppContext
) -> None:
    view = body.get("view") or {}
    reason = _deny_reason(view)
    if not reason:
        ack(response_action="errors", errors={f"{BLOCK_DENY_REASON}.0": "Say why, please."})
        return
    ack()
    dynamote.after_ack(lambda: _deny(body, reason, respond, client, dynamote), doing="deny it")


def _deny(
    body: dict[str, Any], reason: str, respond: Respond, client: WebClient, dynamote: AppContext
) -> None:
    user, _ = actor_of(body)
    try:
        private = json.loads(str((body.get("view") or {}).get("private_metadata") or "{}"))
        value, place = str(private["value"]), (str(private["channel"]), str(private["ts"]))
    except (ValueError, KeyError, TypeError):
        return
    record = _answerable(value, user, body, respond, client, dynamote)
    if record is None:
        return
    taken = approval_store(dynamote).take(record.id)
    if taken is None:
        return
    if taken.expired(dynamote.now()):
        _lapsed(taken, place, client)
        return
    request = taken.request_data()
    audit(Action.DEPLOY.value, user=taken.requester, channel=taken.channel,
          namespace=str(request.get("namespace", "")), name=str(request.get("name", "")),
          model=str(request.get("model", "")), gpus=taken.gpus, outcome="denied",
          reason=f"denied by {user}: {reason}")  # fmt: skip
    if taken.replaces:
        kept = f" *{escape(str(request.get('name', '')))}* stays as it is."
        _note(client, taken, f":no_entry: Denied by <@{user}>: {reason}.{kept}")
    else:
        _note(client, taken, f":no_entry: Denied by <@{user}>: {reason}")
        _settle(client, (taken.channel or "", taken.thread_ts or ""), taken, ":no_entry: Denied.")
    _settle(client, place, taken, f":no_entry: Denied by <@{user}>: {reason}")


def _deny_reason(view: dict[str, Any]) -> str:
    values = (view.get("state") or {}).get("values") or {}
    for actions in values.values():
        text = ((actions or {}).get(BLOCK_DENY_REASON) or {}).get("value")
        if isinstance(text, str) and text.strip():
            return " ".join(text.split())[:500]
    return ""


# --- shared --------------------------------------------------------------------------------


def _answerable(
    value: str,
    user: str,
    body: dict[str, Any],
    respond: Respond,
    client: WebClient,
    dynamote: AppContext,
) -> PendingApproval | None:
    """The stored request the button names, if ``user`` may answer it and it is the one shown."""
    approval_id, _, digest = value.partition(":")
    policy = dynamote.settings.approval_policy
    record = approval_store(dynamote).get(approval_id)
    if record is None:
        _tell(body, respond, client, "Already answered", "It was answered, or it lapsed.")
        return None
    if record.requester == user:
        audit("approve", user=user, outcome="denied", reason="the requester cannot approve")
        _tell(body, respond, client, "Not yours to answer",
              "You asked for it, so an approver other than you must answer it.")  # fmt: skip
        return None
    if not _is_approver(dynamote, client, policy, user):
        audit("approve", user=user, outcome="denied", reason="not an approver")
        _tell(body, respond, client, "Only approvers answer requests",
              f"Approvers: {policy.whom()}.")  # fmt: skip
        return None
    if digest != record.hash or not record.intact():
        audit("approve", user=user, outcome="denied", reason="request hash mismatch")
        _tell(
            body, respond, client, "That is not the request shown",
            "The stored request differs from the one in the message; nothing was done.",
        )  # fmt: skip
        return None
    return record


def _is_approver(
    dynamote: AppContext, client: WebClient, policy: ApprovalPolicy, user: str
) -> bool:
    if user in policy.approvers:
        return True
    groups = [who for who in policy.approvers if is_group(who)]
    return bool(groups) and bool(group_membership(dynamote, client, user, groups).groups)


def _lapsed(record: PendingApproval, place: tuple[str, str], client: WebClient) -> None:
    audit(Action.DEPLOY.value, user=record.requester, channel=record.channel, gpus=record.gpus,
          outcome="denied", reason="the approval request lapsed")  # fmt: skip
    if record.replaces:  # the card is the running deployment's: left as it is
        _note(client, record, ":hourglass: The approval request lapsed; nothing was replaced.")
    else:
        _note(client, record, ":hourglass: The approval request lapsed; nothing was created.")
        _settle(
            client, (record.channel or "", record.thread_ts or ""), record, ":hourglass: Lapsed."
        )
    _settle(client, place, record, ":hourglass: Lapsed before anyone answered.")


def _note(client: WebClient, record: PendingApproval, text: str) -> None:
    _post_in_thread(client, record, build_approval_note(text))


def _post_in_thread(client: WebClient, record: PendingApproval, message: Message) -> None:
    """Tell the request's thread (the requester's, or the replaced deployment's), if it has one."""
    if not (record.channel and record.thread_ts):
        return
    try:
        client.chat_postMessage(
            channel=record.channel, thread_ts=record.thread_ts, **message.as_kwargs()
        )
    except SlackApiError:
        log.warning("Could not tell the thread of %s", record.id, exc_info=True)


def _settle(client: WebClient, place: tuple[str, str], record: PendingApproval, text: str) -> None:
    if not all(place):
        return
    try:
        client.chat_update(
            channel=place[0], ts=place[1], **build_approval_settled(record, text).as_kwargs()
        )
    except SlackApiError:
        log.warning("Could not update the approval message of %s", record.id, exc_info=True)


def _tell(
    body: dict[str, Any], respond: Respond, client: WebClient, title: str, detail: str
) -> None:
    message: Message = error_message(title, detail)
    try:
        reply(message, body=body, respond=respond, client=client)
    except Exception:
        log.warning("Could not answer %s", title, exc_info=True)


def _action_value(body: dict[str, Any]) -> str:
    return str(((body.get("actions") or [{}])[0]).get("value") or "")


def _message_place(body: dict[str, Any]) -> tuple[str, str]:
    channel = str((body.get("channel") or {}).get("id") or "")
    ts = str(
        (body.get("container") or {}).get("message_ts")
        or (body.get("message") or {}).get("ts")
        or ""
    )
    return channel, ts


def _audit(
    request: DeploymentRequest,
    user: str,
    channel: str | None,
    outcome: Outcome,
    reason: str,
    *,
    action: str = Action.DEPLOY.value,
) -> None:
    audit(action, user=user, channel=channel, namespace=request.namespace,
          name=request.name, model=request.model, gpus=request.total_gpus, outcome=outcome,
          reason=reason)  # fmt: skip
