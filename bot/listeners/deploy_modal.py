"""The deploy modal: open it, follow model changes, preview the YAML, take the submission.

Timing rules (SLACK.md): ``views.open`` happens right after the ack and before any cluster
call (the trigger_id lives 3 s). A submission is validated by the request rules at once; the
cluster's own checks (dry run, HF secret) get ``submit_budget_seconds`` to answer inside the
ack, otherwise the modal switches to "Deploying…" and is updated when the cluster answers.

Per-user limits (deployments, GPUs) count the person's DGDs live from the cluster, including
those still starting, and, so that two quick submissions cannot both pass, the ones this
process has let through but not created yet (``bot.reservations``). Another replica's are
invisible here, so once a DGD is created the person's DGDs are counted again: the oldest
that fit stay (``bot.policy.usage_before``), a newer one over a limit is deleted at once and
the modal shows the same denial as a check would have.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, replace
from typing import Any, Literal

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View

from bot.announce import post_card
from bot.app import AppContext
from bot.audit import audit
from bot.blocks.deploy_modal import (
    DeployForm,
    ModalMetadata,
    build_deploy_done_view,
    build_deploy_failed_view,
    build_deploy_modal,
    build_deploying_view,
    error_blocks,
    initial_form,
    read_deploy_form,
    shown_model,
    view_revision,
    with_model,
)
from bot.blocks.ids import (
    ACTION_MODEL_SELECT,
    ACTION_OPEN_DEPLOY,
    ACTION_PREVIEW_YAML,
    CALLBACK_DEPLOY,
)
from bot.blocks.preview import build_preview
from bot.blocks.status_card import build_status_card
from bot.cluster import ClusterError
from bot.deployments import deployment_from
from bot.dynamo import SlackOrigin
from bot.listeners.guard import guarded, policy_of
from bot.listeners.replies import explain, reply
from bot.metrics import DEPLOYMENTS_CREATED, MODAL_SUBMISSIONS
from bot.policy import Action, Decision, usage_before, usage_of
from bot.request import DeploymentRequest, RequestError, parse_request
from bot.reservations import Hold, Ticket
from bot.service import NamespaceNotAllowed

__all__ = [
    "handle_deploy_submission",
    "handle_model_select",
    "handle_open_deploy",
    "handle_preview",
    "open_deploy_modal",
    "register",
]

log = logging.getLogger(__name__)

# The recount after a create waits this long after the create call returned. creationTimestamp
# has whole seconds and was stamped during the call, so its second is over within 1 s; a list
# made after that holds every DGD stamped in the same second (0.25 s for their commits), even
# one that sorts before ours by name. No clock is compared: only our own call's duration.
SETTLE_SECONDS = 1.25


def register(app: App) -> None:
    # Every step of the flow is checked again: a modal outlives the command that opened it.
    deploying = [guarded(Action.DEPLOY)]
    app.action(ACTION_OPEN_DEPLOY, middleware=deploying)(handle_open_deploy)
    app.action(ACTION_MODEL_SELECT, middleware=deploying)(handle_model_select)
    app.action(ACTION_PREVIEW_YAML, middleware=deploying)(handle_preview)
    app.view(CALLBACK_DEPLOY, middleware=deploying)(handle_deploy_submission)


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
    view = build_deploy_modal(
        catalog,
        form,
        namespaces=service.namespaces,
        limits=service.limits,
        metadata=metadata,
        notice=notice,
    )
    opened = client.views_open(trigger_id=trigger_id, view=view)
    # Only now ask the cluster what the person should know before filling the form.
    dynamote.executor.submit(
        _add_cluster_notice, client, dynamote, opened["view"], form, metadata, notice
    )


def _add_cluster_notice(
    client: WebClient,
    dynamote: AppContext,
    opened: dict[str, Any],
    form: DeployForm,
    metadata: ModalMetadata,
    notice: str | None,
) -> None:
    """Tell the person about a missing HF secret or an unreachable cluster, in the modal."""
    try:
        present = dynamote.service.cluster.secret_exists(form.namespace, form.hf_token_secret)
    except ClusterError as error:
        extra = f":warning: {error.message} You can still fill in the form."
    else:
        if present is not False:
            return
        extra = (
            f":warning: Secret `{form.hf_token_secret}` is missing in `{form.namespace}`. "
            f"Create it first: `kubectl create secret generic {form.hf_token_secret} "
            f"--from-literal=HF_TOKEN=<token> -n {form.namespace}`"
        )
    combined = f"{notice}\n{extra}" if notice else extra
    try:
        _update_modal(client, dynamote, view=opened, form=form, metadata=metadata, notice=combined)
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
    try:
        _follow_model_change(body, client, dynamote)
    except Exception:
        log.exception("Failed to follow a model change in the deploy modal")


def _follow_model_change(body: dict[str, Any], client: WebClient, dynamote: AppContext) -> None:
    view = body.get("view") or {}
    metadata = _metadata(view)
    form = read_deploy_form((view.get("state") or {}).get("values") or {})
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
) -> None:
    service = dynamote.service
    new_view = build_deploy_modal(
        dynamote.catalog,
        form,
        namespaces=service.namespaces,
        limits=service.limits,
        metadata=metadata,
        notice=notice,
    )
    try:
        client.views_update(view_id=view.get("id"), hash=view.get("hash"), view=new_view)
    except SlackApiError as error:
        if error.response.get("error") != "hash_conflict":  # a newer update already won
            raise


def handle_preview(ack: Ack, body: dict[str, Any], client: WebClient, dynamote: AppContext) -> None:
    """Push a view with the exact manifest the form would apply (or what is wrong)."""
    ack()
    view = body.get("view") or {}
    metadata = _metadata(view)
    form = read_deploy_form((view.get("state") or {}).get("values") or {})
    try:
        request = _parse(form, dynamote)
        manifest = dynamote.service.manifest(request, _origin(metadata))
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
    form = read_deploy_form((view.get("state") or {}).get("values") or {})
    try:
        request = _parse(form, dynamote)
    except RequestError as invalid:
        MODAL_SUBMISSIONS.labels(outcome="invalid").inc()
        ack(response_action="errors", errors=error_blocks(invalid.errors, metadata.revision))
        return
    except NamespaceNotAllowed as denied:
        MODAL_SUBMISSIONS.labels(outcome="invalid").inc()
        _audit_denial(form.namespace, form.name, form.model, None, str(denied), metadata)
        ack(
            response_action="errors",
            errors=error_blocks({"namespace": str(denied)}, metadata.revision),
        )
        return
    size = policy_of(dynamote).may_deploy_size(request.total_gpus)
    if not size.allowed:
        MODAL_SUBMISSIONS.labels(outcome="denied").inc()
        _audit(request, metadata, "denied", size.text)
        ack(response_action="errors", errors=error_blocks({"gpus": size.inline}, metadata.revision))
        return
    check = dynamote.executor.submit(_check, dynamote, request, metadata)
    try:
        checked = check.result(timeout=dynamote.submit_budget_seconds)
    except FutureTimeout:
        # The cluster is slow: answer now, finish in the background.
        submission = _Submission(client, dynamote, str(view.get("id", "")), request, metadata)
        try:
            ack(
                response_action="update",
                view=build_deploying_view(request.name, request.namespace, metadata),
            )
            dynamote.executor.submit(submission.finish_after, check)
        except BaseException:
            check.add_done_callback(_give_back)  # nothing will create it
            raise
        return
    except ClusterError as error:
        MODAL_SUBMISSIONS.labels(outcome="cluster_error").inc()
        ack(
            response_action="errors",
            errors=error_blocks({"model": error.message}, metadata.revision),
        )
        return
    if checked.problems:
        MODAL_SUBMISSIONS.labels(outcome="rejected_by_cluster").inc()
        ack(response_action="errors", errors=error_blocks(checked.problems, metadata.revision))
        return
    try:
        ack(
            response_action="update",
            view=build_deploying_view(request.name, request.namespace, metadata),
        )
        submission = _Submission(client, dynamote, str(view.get("id", "")), request, metadata)
        dynamote.executor.submit(submission.create, checked.ticket)
    except BaseException:
        if checked.ticket is not None:
            checked.ticket.cancel()
        raise


@dataclass(frozen=True)
class _Checked:
    """What the checks found; a passing check under limits holds a reservation until created."""

    problems: dict[str, str]
    ticket: Ticket | None = None


def _give_back(check: Future[_Checked]) -> None:
    """Cancel the reservation a finished check holds (for a check nothing will follow)."""
    if check.cancelled() or check.exception() is not None:
        return
    ticket = check.result().ticket
    if ticket is not None:
        ticket.cancel()


@dataclass(frozen=True)
class _Submission:
    """A valid submission being carried out after the ack: create, announce, tell the modal."""

    client: WebClient
    dynamote: AppContext
    view_id: str
    request: DeploymentRequest
    metadata: ModalMetadata

    def finish_after(self, check: Future[_Checked]) -> None:
        """The cluster's checks were slower than the ack: create now if they passed."""
        try:
            checked = check.result()
        except ClusterError as error:
            checked = _Checked({"model": error.message})
        except Exception:
            log.exception("Failed to check deployment %s", self.request.name)
            checked = _Checked({"model": "Something went wrong inside Dynamote."})
        if checked.problems:
            MODAL_SUBMISSIONS.labels(outcome="rejected_by_cluster").inc()
            self._show_failure(list(checked.problems.values()))
            return
        self.create(checked.ticket)

    def create(self, ticket: Ticket | None = None) -> None:
        """Create the DGD, recount under limits, post its status card, tell the modal."""
        try:
            self._create(ticket)
        finally:
            if ticket is not None:
                ticket.cancel()  # every way out gives the reservation back (no-op once created)

    def _create(self, ticket: Ticket | None) -> None:
        request, metadata = self.request, self.metadata
        try:
            created = self.dynamote.service.create(request, _origin(metadata))
        except ClusterError as error:
            MODAL_SUBMISSIONS.labels(outcome="cluster_error").inc()
            _audit(request, metadata, "failed", error.message)
            self._show_failure([error.message])
            return
        except Exception as error:
            log.exception("Failed to create deployment %s/%s", request.namespace, request.name)
            _audit(request, metadata, "failed", repr(error))
            self._show_failure(["Something went wrong inside Dynamote."])
            return
        if ticket is not None:  # per-user limits apply
            ticket.created()  # lists see it now
            denied = self._over_limits(created, created_by=time.monotonic())
            if denied and self._withdraw(created):
                MODAL_SUBMISSIONS.labels(outcome="denied").inc()
                for decision in denied.values():
                    _audit(request, metadata, "denied", decision.text)
                self._show_failure([decision.inline for decision in denied.values()])
                return
        MODAL_SUBMISSIONS.labels(outcome="created").inc()
        DEPLOYMENTS_CREATED.inc()
        _audit(request, metadata, "created")
        place = self._post_card(created)
        done = build_deploy_done_view(
            request.name,
            request.namespace,
            channel_id=place[0] if place else None,
            metadata=metadata,
        )
        self._update(done)
        if place:
            # After the modal: it needs only the channel, and this may take a re-read.
            self._record_card(created, *place)

    def _over_limits(self, created: dict[str, Any], *, created_by: float) -> dict[str, Decision]:
        """The person's limits counted again with every replica's creates in the list.

        Another replica may have let one of their deployments through at the same time; its
        reservation was not ours to see. Empty when this DGD is among the oldest that fit.
        """
        time.sleep(max(0.0, created_by + SETTLE_SECONDS - time.monotonic()))
        try:
            listed = self.dynamote.service.start_listing_for_limits()()
            earlier = usage_before(deployment_from(created, now=self.dynamote.now()), listed)
        except Exception:
            # This process's check passed; without a list there is nothing more to go on.
            log.warning("Could not recount after creating %s", self.request.name, exc_info=True)
            return {}
        return policy_of(self.dynamote).may_deploy_more(earlier, self.request.total_gpus)

    def _withdraw(self, created: dict[str, Any]) -> bool:
        """Delete the DGD just created; False (it stays, announced as usual) if that fails."""
        request = self.request
        try:
            self.dynamote.service.withdraw(created)
        except ClusterError as error:
            log.error(
                "%s/%s is over a per-user limit but could not be deleted: %s",
                request.namespace,
                request.name,
                error,
            )
            return False
        return True

    def _post_card(self, created: dict[str, Any]) -> tuple[str, str] | None:
        try:
            card = build_status_card(deployment_from(created, now=self.dynamote.now()))
            return post_card(
                self.client,
                card.as_kwargs(),
                channel=self.metadata.channel_id,
                user=self.metadata.user_id,
            )
        except Exception:
            # The DGD exists; the notifier posts a late card for DGDs that have none.
            log.exception("Failed to post the status card of %s", self.request.name)
            return None

    def _record_card(self, created: dict[str, Any], channel: str, ts: str) -> None:
        try:
            self.dynamote.service.record_card(created, channel=channel, ts=ts)
        except Exception:
            # Without the record the notifier posts a late card of its own.
            log.exception("Failed to record the status card of %s", self.request.name)

    def _show_failure(self, problems: list[str]) -> None:
        view = build_deploy_failed_view(
            self.request.name, self.request.namespace, problems=problems, metadata=self.metadata
        )
        self._update(view)

    def _update(self, view: View) -> None:
        try:
            self.client.views_update(view_id=self.view_id, view=view)
        except SlackApiError:
            # The person may have closed the modal; the card and thread still tell the story.
            log.warning("Could not update modal %s", self.view_id, exc_info=True)


# --- helpers -------------------------------------------------------------------------------


def _metadata(view: dict[str, Any]) -> ModalMetadata:
    """The modal's metadata, with the revision its blocks really carry."""
    revision = view_revision(view.get("blocks") or [])
    try:
        metadata = ModalMetadata.from_json(str(view.get("private_metadata") or ""))
    except ValueError:
        # Never trust private_metadata blindly, but a lost one must not break the form.
        metadata = ModalMetadata(user_id="", channel_id=None)
    return replace(metadata, revision=revision)


def _check(dynamote: AppContext, request: DeploymentRequest, metadata: ModalMetadata) -> _Checked:
    """Per-user limits, counted live from the cluster, then what only the cluster knows.

    The reads run at once (``DeploymentService``'s pool) but answer as if in turn: a list
    error, then a limit denial, then the secret and dry-run problems or errors. Passing
    under limits holds a reservation (see the module docstring), taken in the same step as
    the limit decision.
    """
    service = dynamote.service
    policy = policy_of(dynamote)
    if not policy.quotas:
        return _Checked(service.check(request))
    user, gpus = metadata.user_id, request.total_gpus
    mark = service.reservations.mark()  # before the list: creates it may miss still count
    listing = service.start_listing_for_limits()
    checking = service.start_check(request)
    mine = [d for d in listing() if d.requester == user]
    failure: Exception | None = None
    problems: dict[str, str] = {}
    try:
        problems = checking()
    except Exception as error:  # raised below unless a limit denial comes first
        failure = error
    ticket, denied = service.reservations.reserve(
        Hold(user, request.namespace, request.name, gpus),
        lambda usage: policy.may_deploy_more(usage, gpus),
        listed=usage_of(user, mine),
        listed_keys={(d.namespace, d.name) for d in mine},
        mark=mark,
    )
    if ticket is None:
        MODAL_SUBMISSIONS.labels(outcome="denied").inc()
        for decision in denied.values():
            _audit(request, metadata, "denied", decision.text)
        return _Checked({field: decision.inline for field, decision in denied.items()})
    if failure is not None or problems:
        ticket.cancel()  # nothing will be created
        if failure is not None:
            raise failure
        return _Checked(problems)
    return _Checked(problems, ticket)


def _audit(
    request: DeploymentRequest,
    metadata: ModalMetadata,
    outcome: Literal["created", "denied", "failed"],
    reason: str = "",
) -> None:
    audit(
        Action.DEPLOY.value,
        user=metadata.user_id,
        channel=metadata.channel_id,
        namespace=request.namespace,
        name=request.name,
        model=request.model,
        gpus=request.total_gpus,
        outcome=outcome,
        reason=reason,
    )


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


def _parse(form: DeployForm, dynamote: AppContext) -> DeploymentRequest:
    service = dynamote.service
    request = parse_request(form.to_request_data(), catalog=dynamote.catalog, limits=service.limits)
    service.namespace_for(request.namespace)
    return request


def _origin(metadata: ModalMetadata) -> SlackOrigin | None:
    return (
        SlackOrigin(user=metadata.user_id, channel=metadata.channel_id)
        if metadata.user_id
        else None
    )


def _problems(error: Exception) -> list[str]:
    if isinstance(error, RequestError):
        return [f"{field}: {message}" for field, message in error.errors.items()]
    if isinstance(error, ClusterError):
        return [error.message]
    return [str(error)]
