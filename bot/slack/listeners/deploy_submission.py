"""A valid deploy submission after its ack: checks under limits, create, status card.

The listener (``bot.slack.listeners.deploy_modal``) validates the form by the request rules inside
the ack and hands over here. The cluster's own checks (dry run, HF secret) get
``submit_budget_seconds`` to answer inside the ack; a slower cluster gets "Deploying…" and
:meth:`Submission.finish_after` carries on.

Per-user limits (deployments, GPUs) count the person's DGDs live from the cluster, including
those still starting, and, so that two quick submissions cannot both pass, the ones this
process has let through but not created yet (``bot.domain.reservations``). Another replica's are
invisible here, so once a DGD is created the person's DGDs are counted again: the oldest
that fit stay (``bot.domain.policy.usage_before``), a newer one over a limit is deleted at once and
the modal shows the same denial as a check would have.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeVar

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View

from bot.blocks.deploy_form import (
    DeployForm,
    ModalMetadata,
)
from bot.blocks.deploy_result import (
    build_deploy_done_view,
    build_deploy_failed_view,
)
from bot.blocks.fixit import build_redeployed_reply
from bot.blocks.status_card import build_status_card
from bot.cluster import ClusterError
from bot.domain.deployments import Deployment, deployment_from
from bot.domain.expiry import format_expires_at
from bot.domain.manifest import SlackOrigin
from bot.domain.policy import Action, Decision, usage_before, usage_of
from bot.domain.request import DeploymentRequest
from bot.domain.reservations import Hold, Ticket
from bot.ops.audit import audit
from bot.ops.metrics import DEPLOYMENTS_CREATED, MODAL_SUBMISSIONS
from bot.slack.announce import post_card
from bot.slack.context import AppContext
from bot.slack.listeners.guard import is_admin, policy_of

__all__ = [
    "SETTLE_SECONDS",
    "Checked",
    "Submission",
    "audit_deploy",
    "audit_redeploy",
    "check_submission",
    "give_back",
    "origin_of",
    "redeploy_refusal",
    "replace_deployment",
    "replaces",
    "tell_replaced",
]

log = logging.getLogger(__name__)

# audit_deploy or audit_redeploy: which audit line a submission's outcome writes.
Auditor = Callable[
    [DeploymentRequest, ModalMetadata, Literal["created", "denied", "failed"], str], None
]

Made = TypeVar("Made")  # what a call to the cluster gives back

# The recount after a create waits this long after the create call returned. creationTimestamp
# has whole seconds and was stamped during the call, so its second is over within 1 s; a list
# made after that holds every DGD stamped in the same second (0.25 s for their commits), even
# one that sorts before ours by name. No clock is compared: only our own call's duration.
SETTLE_SECONDS = 1.25


@dataclass(frozen=True)
class Checked:
    """What the checks found; a passing check under limits holds a reservation until created."""

    problems: dict[str, str]
    ticket: Ticket | None = None


def give_back(check: Future[Checked]) -> None:
    """Cancel the reservation a finished check holds (for a check nothing will follow)."""
    if check.cancelled() or check.exception() is not None:
        return
    ticket = check.result().ticket
    if ticket is not None:
        ticket.cancel()


@dataclass(frozen=True)
class Submission:
    """A valid submission being carried out after the ack: create, announce, tell the modal."""

    client: WebClient
    dynamote: AppContext
    view_id: str
    request: DeploymentRequest
    metadata: ModalMetadata
    expires_at: datetime | None = None  # the form's "Keep for" (None: until deleted)
    why: str = ""  # the form's "Why", for approvers
    form: DeployForm | None = None  # as typed: a refusal's view offers it back
    # Asks the approvers instead of creating, when the request needs them; True when held.
    hold: Callable[[Submission], bool] = lambda _submission: False

    def finish_after(self, check: Future[Checked]) -> None:
        """The cluster's checks were slower than the ack: create now if they passed."""
        try:
            checked = check.result()
        except ClusterError as error:
            checked = Checked({"model": error.message})
        except Exception:
            log.exception("Failed to check deployment %s", self.request.name)
            checked = Checked({"model": "Something went wrong inside Dynamote."})
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
        replacing = replaces(metadata, request)
        if replacing:
            refusal = redeploy_refusal(self.dynamote, self.client, request, metadata.user_id)
            if refusal is not None:  # before any approver is asked
                MODAL_SUBMISSIONS.labels(outcome="denied").inc()
                audit_redeploy(request, metadata, "denied", refusal)
                self._show_failure([refusal])
                return
        if self.hold(self):
            return  # created or replaced, if at all, when an approver says yes
        if replacing:
            self._redeploy(ticket)
            return
        created = self._ask_cluster(
            lambda: self.dynamote.service.create(request, origin_of(metadata, self.expires_at)),
            audit_deploy,
            doing="create deployment",
        )
        if created is None:
            return
        if ticket is not None:  # per-user limits apply
            ticket.created()  # lists see it now
            denied = self._over_limits(created, created_by=time.monotonic())
            if denied and self._withdraw(created):
                MODAL_SUBMISSIONS.labels(outcome="denied").inc()
                for decision in denied.values():
                    audit_deploy(request, metadata, "denied", decision.text)
                self._show_failure([decision.inline for decision in denied.values()])
                return
        MODAL_SUBMISSIONS.labels(outcome="created").inc()
        DEPLOYMENTS_CREATED.inc()
        audit_deploy(request, metadata, "created")
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

    def _redeploy(self, ticket: Ticket | None) -> None:
        """Replace the failed deployment under the same name; its card and thread carry on."""
        request, metadata = self.request, self.metadata
        deployment = self._ask_cluster(
            lambda: replace_deployment(
                self.dynamote, request, by_user=metadata.user_id, expires_at=self.expires_at
            ),
            audit_redeploy,
            doing="redeploy",
        )
        if deployment is None:
            return
        if ticket is not None:
            ticket.created()
        MODAL_SUBMISSIONS.labels(outcome="created").inc()
        DEPLOYMENTS_CREATED.inc()
        audit_redeploy(request, metadata, "created")
        tell_replaced(self.client, deployment, by_user=metadata.user_id)
        self._update(
            build_deploy_done_view(
                request.name,
                request.namespace,
                channel_id=deployment.channel,
                metadata=metadata,
            )
        )

    def _ask_cluster(
        self, call: Callable[[], Made], audit_as: Auditor, *, doing: str
    ) -> Made | None:
        """Run the create or redeploy; if it fails, audit it, show the modal why, give None."""
        request, metadata = self.request, self.metadata
        try:
            return call()
        except ClusterError as error:
            MODAL_SUBMISSIONS.labels(outcome="cluster_error").inc()
            audit_as(request, metadata, "failed", error.message)
            self._show_failure([error.message])
        except Exception as error:
            log.exception("Failed to %s %s/%s", doing, request.namespace, request.name)
            audit_as(request, metadata, "failed", repr(error))
            self._show_failure(["Something went wrong inside Dynamote."])
        return None

    def _over_limits(self, created: dict[str, Any], *, created_by: float) -> dict[str, Decision]:
        """The person's limits counted again with every replica's creates in the list.

        Another replica may have let one of their deployments through at the same time; its
        reservation was not ours to see. Empty when this DGD is among the oldest that fit.
        """
        time.sleep(max(0.0, created_by + SETTLE_SECONDS - time.monotonic()))
        try:
            listed = self.dynamote.service.start_listing_for_limits()()
            earlier = usage_before(self._deployment(created), listed)
        except Exception:
            # This process's check passed; without a list there is nothing more to go on.
            log.warning("Could not recount after creating %s", self.request.name, exc_info=True)
            return {}
        return policy_of(self.dynamote).may_deploy_more(earlier, self.request.total_gpus)

    def _deployment(self, created: dict[str, Any]) -> Deployment:
        verified = self.dynamote.service.provenance.verify(created)
        return deployment_from(created, verified=verified, now=self.dynamote.now())

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
            card = build_status_card(self._deployment(created))
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
            self.request.name,
            self.request.namespace,
            problems=problems,
            metadata=self.metadata,
            form=self.form,
        )
        self._update(view)

    def _update(self, view: View) -> None:
        try:
            self.client.views_update(view_id=self.view_id, view=view)
        except SlackApiError:
            # The person may have closed the modal; the card and thread still tell the story.
            log.warning("Could not update modal %s", self.view_id, exc_info=True)


# --- helpers -------------------------------------------------------------------------------


def redeploy_refusal(
    dynamote: AppContext, client: WebClient, request: DeploymentRequest, user: str
) -> str | None:
    """Why ``user`` may not replace the deployment of the request's name (plain text: the
    refusal view escapes it), judged on the deployment as it is now; None: owner or admin."""
    try:
        current = dynamote.service.get_deployment(request.namespace, request.name)
        if current.requester == user or is_admin(dynamote, client, user=user):
            return None
    except ClusterError as error:
        return error.message
    return f"Only the person who deployed it or an admin may redeploy {request.name}."


def replace_deployment(
    dynamote: AppContext,
    request: DeploymentRequest,
    *,
    by_user: str,
    expires_at: datetime | None,
    expected_uid: str | None = None,
) -> Deployment:
    """Replace the deployment of the request's name (``DeploymentService.redeploy``), ending
    at ``expires_at``: the one way a replacement happens, at a Redeploy… submission or when an
    approver says yes to one (:func:`tell_replaced` follows; ``expected_uid``: the object the
    approver saw). Raises ClusterError when the cluster refuses."""
    expires = format_expires_at(expires_at) if expires_at is not None else None
    created = dynamote.service.redeploy(
        request, by_user=by_user, expires_at=expires, expected_uid=expected_uid
    )
    verified = dynamote.service.provenance.verify(created)
    return deployment_from(created, verified=verified, now=dynamote.now())


def tell_replaced(client: WebClient, deployment: Deployment, *, by_user: str) -> None:
    """Redraw the card for the new deployment and say in its thread who redeployed it."""
    if not (deployment.channel and deployment.thread_ts):
        return
    try:
        card = build_status_card(deployment)
        client.chat_update(channel=deployment.channel, ts=deployment.thread_ts, **card.as_kwargs())
        said = build_redeployed_reply(deployment, by_user=by_user)
        client.chat_postMessage(
            channel=deployment.channel, thread_ts=deployment.thread_ts, **said.as_kwargs()
        )
    except SlackApiError:
        # The notifier redraws the card with the next change all the same.
        log.warning("Could not tell the thread of %s", deployment.key, exc_info=True)


def check_submission(
    dynamote: AppContext, request: DeploymentRequest, metadata: ModalMetadata
) -> Checked:
    """Per-user limits, counted live from the cluster, then what only the cluster knows.

    The reads run at once (``DeploymentService``'s pool) but answer as if in turn: a list
    error, then a limit denial, then the secret and dry-run problems or errors. Passing
    under limits holds a reservation (see the module docstring), taken in the same step as
    the limit decision.
    """
    service = dynamote.service
    policy = policy_of(dynamote)
    replacing = replaces(metadata, request)
    if not policy.quotas:
        return Checked(service.check(request, replacing=replacing))
    user, gpus = metadata.user_id, request.total_gpus
    mark = service.reservations.mark()  # before the list: creates it may miss still count
    listing = service.start_listing_for_limits()
    checking = service.start_check(request, replacing=replacing)
    # The deployment a redeploy replaces is not counted: it goes as this one comes.
    gone = metadata.replaces if replacing else None
    mine = [d for d in listing() if d.requester == user and d.key != gone]
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
            audit_deploy(request, metadata, "denied", decision.text)
        return Checked({field: decision.inline for field, decision in denied.items()})
    if failure is not None or problems:
        ticket.cancel()  # nothing will be created
        if failure is not None:
            raise failure
        return Checked(problems)
    return Checked(problems, ticket)


def audit_deploy(
    request: DeploymentRequest,
    metadata: ModalMetadata,
    outcome: Literal["created", "denied", "failed"],
    reason: str = "",
) -> None:
    _audit_submission(Action.DEPLOY.value, request, metadata, outcome, reason)


def replaces(metadata: ModalMetadata, request: DeploymentRequest) -> bool:
    """Whether the submission redeploys the failed deployment its form was opened for (the
    same namespace and name; a new name deploys beside it)."""
    return metadata.replaces == f"{request.namespace}/{request.name}"


def audit_redeploy(
    request: DeploymentRequest,
    metadata: ModalMetadata,
    outcome: Literal["created", "denied", "failed"],
    reason: str = "",
) -> None:
    _audit_submission("redeploy", request, metadata, outcome, reason)


def _audit_submission(
    action: str,
    request: DeploymentRequest,
    metadata: ModalMetadata,
    outcome: Literal["created", "denied", "failed"],
    reason: str,
) -> None:
    """One audit line for a deploy or redeploy submission: who, where, what, and how it went."""
    audit(
        action,
        user=metadata.user_id,
        channel=metadata.channel_id,
        namespace=request.namespace,
        name=request.name,
        model=request.model,
        gpus=request.total_gpus,
        outcome=outcome,
        reason=reason,
    )


def origin_of(metadata: ModalMetadata, expires_at: datetime | None = None) -> SlackOrigin | None:
    if not metadata.user_id:
        return None
    expires = format_expires_at(expires_at) if expires_at is not None else None
    return SlackOrigin(user=metadata.user_id, channel=metadata.channel_id, expires_at=expires)
