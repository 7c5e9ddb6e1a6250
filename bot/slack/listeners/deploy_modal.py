"""The deploy modal: open it, follow model changes, preview the YAML, take the submission.

Timing rules (Slack's): ``views.open`` happens right after the ack and before any cluster
call (the trigger_id lives 3 s). A submission is validated by the request rules at once; the
cluster's own checks (dry run, HF secret) get ``submit_budget_seconds`` to answer inside the
ack, otherwise the modal switches to "Deploying…" and is updated when the cluster answers.

What happens after a valid submission's ack (checks under per-user limits, create, recount,
status card) lives in ``bot.slack.listeners.deploy_submission``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace
from datetime import datetime
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View

from bot.blocks.deploy_cost import Budget, form_size
from bot.blocks.deploy_form import (
    DeployForm,
    ModalMetadata,
    chosen_channel,
    error_blocks,
    initial_form,
    read_deploy_form,
    shown_blocks,
    shown_model,
    view_revision,
    with_default_engine,
    with_model,
)
from bot.blocks.deploy_modal import (
    build_deploy_modal,
)
from bot.blocks.deploy_result import (
    build_deploy_failed_view,
    build_deploying_view,
)
from bot.blocks.ids import (
    ACTION_MODEL_SELECT,
    ACTION_OPEN_DEPLOY,
    ACTION_PREVIEW_YAML,
    ACTION_SHOW_ADVANCED,
    ACTION_SIZE_SELECT,
    BLOCK_KEEP_FOR,
    CALLBACK_DEPLOY,
    input_block_id,
)
from bot.blocks.preview import build_preview
from bot.cluster import ClusterError
from bot.deployment_service import NamespaceNotAllowed
from bot.domain.advice import hf_secret_command
from bot.domain.capacity import Fit
from bot.domain.policy import Action, usage_of
from bot.domain.privileges import privileges_of
from bot.domain.request import DeploymentRequest, RequestError, parse_request
from bot.ops.audit import audit
from bot.ops.metrics import MODAL_SUBMISSIONS
from bot.slack.context import AppContext
from bot.slack.listeners.approvals import hold_for_approval, why_of
from bot.slack.listeners.deploy_submission import (
    Submission,
    audit_deploy,
    check_submission,
    give_back,
    origin_of,
)
from bot.slack.listeners.expiry import keep_for
from bot.slack.listeners.guard import guarded, is_admin, policy_of
from bot.slack.listeners.replies import explain, reply

__all__ = [
    "handle_deploy_submission",
    "handle_model_select",
    "handle_open_deploy",
    "handle_preview",
    "handle_show_advanced",
    "handle_size_select",
    "handle_view_closed",
    "open_deploy_modal",
    "register",
]

log = logging.getLogger(__name__)


def register(app: App) -> None:
    # Every step of the flow is checked again: a modal outlives the command that opened it.
    deploying = [guarded(Action.DEPLOY)]
    app.action(ACTION_OPEN_DEPLOY, middleware=deploying)(handle_open_deploy)
    app.action(ACTION_MODEL_SELECT, middleware=deploying)(handle_model_select)
    app.action(ACTION_PREVIEW_YAML, middleware=deploying)(handle_preview)
    app.action(ACTION_SHOW_ADVANCED, middleware=deploying)(handle_show_advanced)
    app.action(ACTION_SIZE_SELECT, middleware=deploying)(handle_size_select)
    app.view(CALLBACK_DEPLOY, middleware=deploying)(handle_deploy_submission)
    # Slack sends view_closed only for views opened with notify_on_close, which Dynamote never
    # sets; should one come, it is acked (an unacked one is an error on Slack's side).
    app.view_closed(CALLBACK_DEPLOY)(handle_view_closed)


def handle_view_closed(ack: Ack) -> None:
    ack()


# --- opening -------------------------------------------------------------------------------


def open_deploy_modal(
    client: WebClient,
    dynamote: AppContext,
    *,
    trigger_id: str,
    user_id: str,
    channel_id: str | None,
    model_words: Sequence[str] = (),
    respond: Respond | None = None,
) -> None:
    """Open the modal now (no cluster call first), preselecting the model the words name."""
    catalog = dynamote.catalog
    found = catalog.lookup(model_words) if model_words else None
    model = found.model if found else None
    service = dynamote.service
    form = initial_form(
        catalog,
        model,
        namespace=service.namespace_for(None),
        hf_secret=dynamote.settings.hf_secret,
    )
    notice = None
    if found is not None and model is None:
        notice = _lookup_notice(" ".join(model_words), [m.name for m in found.candidates])
    metadata = ModalMetadata(user_id=user_id, channel_id=channel_id)
    # The person's use is counted after the open.
    view = deploy_form_view(dynamote, form, metadata, _cached_budget(dynamote, form), notice)
    opened = client.views_open(trigger_id=trigger_id, view=view)
    # Only now ask the cluster what the person should know before filling the form.
    dynamote.after_ack(
        lambda: _add_cluster_notice(client, dynamote, opened["view"], form, metadata, notice),
        doing="add the cluster notice to the deploy modal",
    )


def _add_cluster_notice(
    client: WebClient,
    dynamote: AppContext,
    opened: dict[str, Any],
    form: DeployForm,
    metadata: ModalMetadata,
    notice: str | None,
) -> None:
    """Tell the person about a missing HF secret, an unreachable cluster, or their use against
    their limits, in the modal."""
    extra: str | None = None
    try:
        present = dynamote.service.cluster.secret_exists(form.namespace, form.hf_token_secret)
    except ClusterError as error:
        extra = f":warning: {error.message} You can still fill in the form."
    else:
        if present is False:
            extra = (
                f":warning: Secret `{form.hf_token_secret}` is missing in `{form.namespace}`. "
                f"Create it first: `{hf_secret_command(form.hf_token_secret, form.namespace)}`"
            )
    if extra is None and not policy_of(dynamote).quotas:
        return  # nothing to add: the open view already says all it can
    combined = f"{notice}\n{extra}" if notice and extra else (extra or notice)
    try:
        _update_modal(
            client,
            dynamote,
            view=opened,
            form=form,
            metadata=metadata,
            notice=combined,
            by_person=False,
        )
    except SlackApiError:
        log.warning("Could not add the cluster notice to modal %s", opened.get("id"), exc_info=True)


def _lookup_notice(words: str, candidates: Sequence[str]) -> str:
    if not candidates:
        return f"No model matches “{words[:80]}”; pick one below."
    return f"“{words[:80]}” matches {len(candidates)} models; pick one below."


def handle_open_deploy(
    ack: Ack, body: dict[str, Any], client: WebClient, dynamote: AppContext, respond: Respond
) -> None:
    ack()
    dynamote.after_ack(
        lambda: _open_from_button(body, client, dynamote, respond),
        doing="open the deploy form",
        prompt=True,  # the trigger_id lives 3 s
    )


def _open_from_button(
    body: dict[str, Any], client: WebClient, dynamote: AppContext, respond: Respond
) -> None:
    action = (body.get("actions") or [{}])[0]
    model_id = str(action.get("value") or "")
    try:
        open_deploy_modal(
            client,
            dynamote,
            trigger_id=str(body.get("trigger_id", "")),
            user_id=str((body.get("user") or {}).get("id", "")),
            channel_id=(body.get("channel") or {}).get("id"),
            model_words=[model_id] if model_id else (),
        )
    except Exception as error:
        reply(
            explain(error, doing="open the deploy form"), body=body, respond=respond, client=client
        )


# --- inside the modal ----------------------------------------------------------------------


def handle_model_select(
    ack: Ack, body: dict[str, Any], client: WebClient, dynamote: AppContext
) -> None:
    """A new model: rebuild with its engines and name, keeping everything else typed."""
    ack()
    dynamote.after_ack(
        lambda: _follow_model_change(body, client, dynamote),
        doing="follow a model change in the deploy modal",
        prompt=True,
    )


def handle_show_advanced(
    ack: Ack, body: dict[str, Any], client: WebClient, dynamote: AppContext
) -> None:
    """Reveal the advanced options; the essentials keep their block ids, so what was typed
    stays."""
    ack()
    try:
        view = body.get("view") or {}
        _update_modal(
            client,
            dynamote,
            view=view,
            form=_read_form(view, dynamote),
            metadata=replace(_metadata(view), advanced=True),
        )
    except Exception:
        log.exception("Failed to show the advanced options of the deploy modal")


def handle_size_select(
    ack: Ack, body: dict[str, Any], client: WebClient, dynamote: AppContext
) -> None:
    """A new size: redraw the cost line (same block ids, so nothing typed is lost)."""
    ack()
    try:
        view = body.get("view") or {}
        _update_modal(
            client, dynamote, view=view, form=_read_form(view, dynamote), metadata=_metadata(view)
        )
    except Exception:
        log.exception("Failed to follow a size change in the deploy modal")


def _follow_model_change(body: dict[str, Any], client: WebClient, dynamote: AppContext) -> None:
    view = body.get("view") or {}
    metadata = _metadata(view)
    form = _read_form(view, dynamote)
    action = (body.get("actions") or [{}])[0]
    chosen = str((action.get("selected_option") or {}).get("value") or "")
    if chosen:
        # The state already holds the new choice; rules about the name need the old one.
        before = replace(form, model=shown_model(view.get("blocks") or []))
        form = with_model(before, dynamote.catalog, chosen)
    _update_modal(
        client,
        dynamote,
        view=view,
        form=form,
        metadata=replace(metadata, revision=metadata.revision + 1),
    )


def _update_modal(
    client: WebClient,
    dynamote: AppContext,
    *,
    view: dict[str, Any],
    form: DeployForm,
    metadata: ModalMetadata,
    notice: str | None = None,
    by_person: bool = True,
) -> None:
    """Redraw the modal (after the ack: this counts the person's use from the cluster).

    ``by_person``: the redraw answers something the person did (not Dynamote's own note).
    """
    budget = _budget(dynamote, metadata.user_id, form)
    new_view = deploy_form_view(dynamote, form, metadata, budget, notice)
    try:
        client.views_update(view_id=view.get("id"), hash=view.get("hash"), view=new_view)
    except SlackApiError as error:
        if error.response.get("error") != "hash_conflict":
            raise
        if not by_person:
            return  # a newer update already won (the person acted meanwhile)
        # What the person just did wins over Dynamote's own note added after the open; the
        # inputs keep their ids, so Slack keeps what they typed.
        client.views_update(view_id=view.get("id"), view=new_view)


def handle_preview(ack: Ack, body: dict[str, Any], client: WebClient, dynamote: AppContext) -> None:
    """Push a view with the exact manifest the form would apply (or what is wrong)."""
    ack()
    dynamote.after_ack(
        lambda: _push_preview(body, client, dynamote),
        doing="preview the manifest",
        prompt=True,  # views.push needs the trigger_id, which lives 3 s
    )


def _push_preview(body: dict[str, Any], client: WebClient, dynamote: AppContext) -> None:
    view = body.get("view") or {}
    metadata = _metadata(view)
    form = _read_form(view, dynamote)
    try:
        user = str((body.get("user") or {}).get("id", ""))
        request = _parse(form, dynamote, client, user)
        manifest = dynamote.service.manifest(request, origin_of(metadata))
    except (RequestError, ClusterError, NamespaceNotAllowed) as error:
        problems = _problems(error)
        client.views_push(
            trigger_id=body.get("trigger_id"),
            view=build_deploy_failed_view(
                form.name, form.namespace, problems=problems, metadata=metadata
            ),
        )
        return
    import yaml  # noqa: PLC0415  (only the preview needs it)

    text = yaml.safe_dump(manifest, sort_keys=False, width=1000)
    client.views_push(
        trigger_id=body.get("trigger_id"), view=build_preview(text, name=request.name)
    )


# --- submission ----------------------------------------------------------------------------


def handle_deploy_submission(
    ack: Ack, body: dict[str, Any], client: WebClient, dynamote: AppContext
) -> None:
    view = body.get("view") or {}
    # The acting user comes from Slack's payload, never from what the view carried.
    metadata = replace(_metadata(view), user_id=str((body.get("user") or {}).get("id", "")))
    form = _read_form(view, dynamote)

    def errors_on(problems: dict[str, str]) -> dict[str, str]:
        return error_blocks(problems, metadata.revision, shown_blocks(view.get("blocks") or []))

    metadata = _with_chosen_channel(view, metadata)

    checked_request = _checked_request(view, form, dynamote, client, metadata, errors_on)
    if isinstance(checked_request, dict):
        ack(response_action="errors", errors=checked_request)
        return
    request, expires_at = checked_request
    check = dynamote.executor.submit(check_submission, dynamote, request, metadata)
    try:
        checked = check.result(timeout=dynamote.submit_budget_seconds)
    except FutureTimeout:
        # The cluster is slow: answer now, finish in the background.
        submission = Submission(
            client, dynamote, str(view.get("id", "")), request, metadata,
            expires_at=expires_at, why=why_of(view), form=form, hold=hold_for_approval,
        )  # fmt: skip
        try:
            ack(
                response_action="update",
                view=build_deploying_view(request.name, request.namespace, metadata),
            )
            dynamote.executor.submit(submission.finish_after, check)
        except BaseException:
            check.add_done_callback(give_back)  # nothing will create it
            raise
        return
    except ClusterError as error:
        MODAL_SUBMISSIONS.labels(outcome="cluster_error").inc()
        ack(response_action="errors", errors=errors_on({"model": error.message}))
        return
    if checked.problems:
        MODAL_SUBMISSIONS.labels(outcome="rejected_by_cluster").inc()
        ack(response_action="errors", errors=errors_on(checked.problems))
        return
    try:
        ack(
            response_action="update",
            view=build_deploying_view(request.name, request.namespace, metadata),
        )
        submission = Submission(
            client, dynamote, str(view.get("id", "")), request, metadata,
            expires_at=expires_at, why=why_of(view), form=form, hold=hold_for_approval,
        )  # fmt: skip
        dynamote.executor.submit(submission.create, checked.ticket)
    except BaseException:
        if checked.ticket is not None:
            checked.ticket.cancel()
        raise


# --- helpers -------------------------------------------------------------------------------


def deploy_form_view(
    dynamote: AppContext,
    form: DeployForm,
    metadata: ModalMetadata,
    budget: Budget,
    notice: str | None = None,
) -> View:
    """The deploy modal for ``form`` with everything the settings decide (namespaces, limits,
    allowed engine args, channels, Keep for, Why): every place that draws the form uses it."""
    service = dynamote.service
    settings = dynamote.settings
    return build_deploy_modal(
        dynamote.catalog,
        form,
        namespaces=service.namespaces,
        limits=service.limits,
        metadata=metadata,
        notice=notice,
        engine_args_allowed=privileges_of(settings, admin=False).engine_args.allowed,
        budget=budget,
        channels=settings.allowed_channels,
        expiry=settings.expiry_policy,
        ask_why=settings.approval_policy.active,
    )


def _checked_request(
    view: dict[str, Any],
    form: DeployForm,
    dynamote: AppContext,
    client: WebClient,
    metadata: ModalMetadata,
    errors_on: Callable[[dict[str, str]], dict[str, str]],
) -> tuple[DeploymentRequest, datetime | None] | dict[str, str]:
    """The request and its expiry when the form's own rules and the size policy pass, else
    the inline errors to ack with (counted and, for a refusal, audited)."""
    try:
        request = _parse(form, dynamote, client, metadata.user_id)
    except RequestError as invalid:
        MODAL_SUBMISSIONS.labels(outcome="invalid").inc()
        return errors_on(invalid.errors)
    except NamespaceNotAllowed as denied:
        MODAL_SUBMISSIONS.labels(outcome="invalid").inc()
        _audit_denial(form.namespace, form.name, form.model, None, str(denied), metadata)
        return errors_on({"namespace": str(denied)})
    try:
        expires_at = keep_for(view, dynamote)
    except ValueError as bad:
        MODAL_SUBMISSIONS.labels(outcome="invalid").inc()
        return {input_block_id(BLOCK_KEEP_FOR, metadata.revision): str(bad)}
    size = policy_of(dynamote).may_deploy_size(request.total_gpus)
    if not size.allowed:
        MODAL_SUBMISSIONS.labels(outcome="denied").inc()
        audit_deploy(request, metadata, "denied", size.text)
        return errors_on({"gpus": size.inline})
    return request, expires_at


def _with_chosen_channel(view: dict[str, Any], metadata: ModalMetadata) -> ModalMetadata:
    """A modal opened from App Home sends progress to the channel picked in it (the guard
    judged the submission in that channel, so it is an allowed one)."""
    if metadata.channel_id is not None:
        return metadata
    chosen = chosen_channel((view.get("state") or {}).get("values") or {})
    return replace(metadata, channel_id=chosen)


def _read_form(view: dict[str, Any], dynamote: AppContext) -> DeployForm:
    """The form the view holds; what it does not show takes the values it would start with."""
    hidden = DeployForm(
        model=None,
        name="",
        namespace=dynamote.service.namespace_for(None),
        engine=None,
        hf_token_secret=dynamote.settings.hf_secret,
    )
    form = read_deploy_form((view.get("state") or {}).get("values") or {}, hidden)
    return with_default_engine(form, dynamote.catalog)


def _budget(dynamote: AppContext, user: str, form: DeployForm) -> Budget:
    """The person's limits and use, counted from the cluster (no use when that fails), and the
    cluster's free GPUs and the fit of ``form``'s choice when the cached capacity knows them."""
    policy = policy_of(dynamote)
    cached = _cached_budget(dynamote, form)
    if not policy.quotas or not user:
        return cached
    try:
        listed = dynamote.service.start_listing_for_limits()()
    except Exception:  # the line says less; the form still works and Submit checks again
        log.warning("Could not count the deployments of %s for the form", user, exc_info=True)
        return cached
    return replace(cached, usage=usage_of(user, listed))


def _cached_budget(dynamote: AppContext, form: DeployForm) -> Budget:
    """The person's limits, and what the cached capacity knows (never waits): free GPUs, the
    fit of ``form``'s choice, the capacity itself for the model's fit."""
    service = dynamote.service
    return Budget.of(
        policy_of(dynamote),
        free_gpus=service.free_gpus(),
        fit=_form_fit(dynamote, form),
        capacity=service.capacity.get().capacity,
    )


def _form_fit(dynamote: AppContext, form: DeployForm) -> Fit | None:
    """How the form's model and size fit the cluster's GPUs, from the cached capacity (never
    waits); None while capacity is unknown or the size unreadable."""
    size = form_size(form)
    if size is None:
        return None
    gpus_per_worker, workers = size
    return dynamote.service.fit_of(form.model, gpus_per_worker=gpus_per_worker, workers=workers)


def _metadata(view: dict[str, Any]) -> ModalMetadata:
    """The modal's metadata, with the revision its blocks really carry."""
    revision = view_revision(view.get("blocks") or [])
    return replace(ModalMetadata.of_view(view), revision=revision)


def _audit_denial(
    namespace: str,
    name: str,
    model: str | None,
    gpus: int | None,
    reason: str,
    metadata: ModalMetadata,
) -> None:
    """A denial before the request was complete enough to be a DeploymentRequest."""
    audit(
        Action.DEPLOY.value,
        user=metadata.user_id,
        channel=metadata.channel_id,
        namespace=namespace or None,
        name=name or None,
        model=model,
        gpus=gpus,
        outcome="denied",
        reason=reason,
    )


def _parse(
    form: DeployForm, dynamote: AppContext, client: WebClient, user: str
) -> DeploymentRequest:
    service = dynamote.service
    try:
        admin = bool(user) and is_admin(dynamote, client, user=user)
    except Exception:  # an admin's extras are not worth a failed submission: a deployer's
        log.warning("Could not check whether %s is an admin", user, exc_info=True)
        admin = False
    request = parse_request(
        form.to_request_data(),
        catalog=dynamote.catalog,
        limits=service.limits,
        privileges=privileges_of(dynamote.settings, admin=admin),
    )
    service.namespace_for(request.namespace)
    return request


def _problems(error: Exception) -> list[str]:
    if isinstance(error, RequestError):
        return [f"{field}: {message}" for field, message in error.errors.items()]
    if isinstance(error, ClusterError):
        return [error.message]
    return [str(error)]
