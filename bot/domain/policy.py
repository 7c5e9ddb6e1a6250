"""Who may do what, where, and with how many GPUs. Pure: no I/O.

The platform team sets the rules in settings (``DYNAMOTE_DEPLOYERS``, ``DYNAMOTE_ADMINS``,
``DYNAMOTE_ALLOWED_CHANNELS``, ``DYNAMOTE_MAX_GPUS_PER_DEPLOYMENT``, ``…_PER_USER``); the
allowed namespaces are ``settings.allowed_namespaces``. Every answer is a :class:`Decision`
value that says why and whom to ask, so a denial in Slack is never a bare "no".

What needs I/O is passed in: group membership as a :class:`Membership` (looked up by
``bot.slack.user_groups``) and a user's live usage as a :class:`Usage` (counted from the cluster
with :func:`usage_of`; after a create, :func:`usage_before` recounts what came before it).

Rules, in words:
- Reading (help, models, list, status, cluster, view) is open to everyone, in an allowed
  channel (or a DM with the bot, or App Home).
- Deploying (opening the modal, changing its model, previewing, submitting) needs a deployer
  (everyone when the list is empty; admins always) in an allowed channel; a flow with no
  channel (App Home) counts as outside the list when there is one.
- Deleting needs the requester or an admin, in an allowed channel (same rule as deploying).
- Limits (GPUs per deployment, GPUs and deployments per user) apply to everyone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum

from bot.config.settings import Settings
from bot.domain.deployments import Deployment

__all__ = [
    "ALLOWED",
    "Action",
    "Decision",
    "Membership",
    "Policy",
    "Usage",
    "is_group",
    "open_policy_warning",
    "usage_before",
    "usage_of",
]

PLATFORM_TEAM = "your platform team"
MAX_NAMED_ADMINS = 3  # a longer list would drown the reason


class Action(Enum):
    """What an interaction wants to do, for the rules above."""

    READ = "read"
    DEPLOY = "deploy"
    DELETE = "delete"


@dataclass(frozen=True)
class Decision:
    """An answer: allowed or not, why not, and whom to ask ("ask an admin: <@U…>, or …")."""

    allowed: bool
    reason: str = ""
    whom_to_ask: str = ""

    @property
    def text(self) -> str:
        """The reason and whom to ask, as one line for Slack."""
        if self.allowed or not self.whom_to_ask:
            return self.reason
        return f"{self.reason} To change that, {self.whom_to_ask}."

    @property
    def inline(self) -> str:
        """The same for a modal's inline error: plain text, where mentions do not render."""
        if self.allowed or not self.whom_to_ask:
            return self.reason
        return f"{self.reason} Ask an admin or {PLATFORM_TEAM}."


ALLOWED = Decision(True)


@dataclass(frozen=True)
class Membership:
    """Which of the asked-about user groups the user is in, and which could not be checked."""

    groups: frozenset[str] = frozenset()
    unknown: Mapping[str, str] = field(default_factory=dict)  # group id -> why not checked


@dataclass(frozen=True)
class Usage:
    """What a user holds right now: deployments not yet deleted and their GPUs."""

    deployments: int = 0
    gpus: int = 0


def is_group(principal: str) -> bool:
    """A user group ID (``S…``) rather than a user ID (``U…``/``W…``)."""
    return principal.startswith("S")


def usage_of(user: str, deployments: Iterable[Deployment]) -> Usage:
    """The user's deployments (by requester annotation), starting ones included."""
    mine = [d for d in deployments if d.requester == user]
    return Usage(deployments=len(mine), gpus=sum(d.status.gpus for d in mine))


def usage_before(deployment: Deployment, deployments: Iterable[Deployment]) -> Usage:
    """What the requester held before ``deployment``: their others created earlier.

    Ordered by creationTimestamp, then name (and namespace), the same on every replica. When
    replicas each let one of a person's deployments through at the same time, each asks
    ``may_deploy_more(usage_before(its own), its GPUs)``: the oldest that fit stay, the rest
    are denied, and every replica comes to the same answer from the same list.
    """

    def order(d: Deployment) -> tuple[datetime, str, str]:
        return d.created_at or _LONG_AGO, d.name, d.namespace

    mine = order(deployment)
    earlier = [
        d
        for d in deployments
        if d.requester == deployment.requester
        and (d.namespace, d.name) != (deployment.namespace, deployment.name)
        and order(d) < mine
    ]
    return Usage(deployments=len(earlier), gpus=sum(d.status.gpus for d in earlier))


_LONG_AGO = datetime.min.replace(tzinfo=UTC)  # a DGD without a creationTimestamp sorts first


def open_policy_warning(settings: Settings) -> str | None:
    """Why the policy is open, for the log at start and ``dynamote doctor``; None if not."""
    if not settings.open_policy:
        return None
    return (
        "DYNAMOTE_DEPLOYERS and DYNAMOTE_ADMINS are empty: everyone in the workspace may "
        "deploy, and nobody may delete others' deployments. Set both (Slack user or user "
        "group IDs)."
    )


def _mention(principal: str) -> str:
    return f"<!subteam^{principal}>" if is_group(principal) else f"<@{principal}>"


def _is_dm(channel: str | None) -> bool:
    return bool(channel) and str(channel).startswith("D")


class Policy:
    """The rules for one set of settings."""

    def __init__(self, settings: Settings) -> None:
        self.deployers = tuple(settings.deployers)
        self.admins = tuple(settings.admins)
        self.channels = tuple(settings.allowed_channels)
        self.namespaces = tuple(settings.allowed_namespaces)
        self.max_gpus_per_deployment = settings.max_gpus_per_deployment
        self.max_gpus_per_user = settings.max_gpus_per_user
        self.max_deployments_per_user = settings.max_deployments_per_user

    # --- what to look up ----------------------------------------------------------------

    def groups_to_check(self, user: str, action: Action) -> tuple[str, ...]:
        """The user groups whose members decide ``action`` for ``user`` (often none)."""
        if action is Action.READ:
            return ()
        if user in self.admins:
            return ()
        groups = [g for g in self.admins if is_group(g)]
        if action is Action.DEPLOY and self.deployers and user not in self.deployers:
            groups += [g for g in self.deployers if is_group(g) and g not in groups]
        return tuple(groups)

    @property
    def quotas(self) -> bool:
        """Whether deploying needs the user's live usage (a cluster read)."""
        return self.max_gpus_per_user is not None or self.max_deployments_per_user is not None

    # --- who ----------------------------------------------------------------------------

    @property
    def whom_to_ask(self) -> str:
        named = [_mention(p) for p in self.admins[:MAX_NAMED_ADMINS]]
        if not named:
            return f"ask {PLATFORM_TEAM}"
        return f"ask an admin: {', '.join(named)}, or {PLATFORM_TEAM}"

    def is_admin(self, user: str, membership: Membership = Membership()) -> bool:
        return user in self.admins or any(
            g in membership.groups for g in self.admins if is_group(g)
        )

    def is_deployer(self, user: str, membership: Membership = Membership()) -> bool:
        if not self.deployers or user in self.deployers or self.is_admin(user, membership):
            return True
        return any(g in membership.groups for g in self.deployers if is_group(g))

    def _deny(self, reason: str) -> Decision:
        return Decision(False, reason, self.whom_to_ask)

    # --- decisions ----------------------------------------------------------------------

    def may(
        self,
        action: Action,
        *,
        user: str,
        channel: str | None,
        membership: Membership = Membership(),
    ) -> Decision:
        """Whether ``user`` may start ``action`` from ``channel`` (None: App Home, a modal)."""
        if not user:
            return self._deny("Slack did not say who you are, so Dynamote cannot check.")
        where = self._channel_rule(action, channel)
        if not where.allowed:
            return where
        if action is Action.DEPLOY and not self.is_deployer(user, membership):
            unchecked = [g for g in self.deployers if g in membership.unknown]
            if unchecked:
                why = membership.unknown[unchecked[0]]
                return self._deny(
                    f"Dynamote could not check whether you are in {_mention(unchecked[0])} "
                    f"({why}), so it cannot let you deploy right now. Try again in a minute."
                )
            return self._deny("You are not on the list of people who may deploy models.")
        return ALLOWED

    def _channel_rule(self, action: Action, channel: str | None) -> Decision:
        if not self.channels or (channel and channel in self.channels):
            return ALLOWED
        if action is Action.READ and (channel is None or _is_dm(channel)):
            return ALLOWED
        places = ", ".join(f"<#{c}>" for c in self.channels[:5])
        if channel is None or _is_dm(channel):
            return self._deny(f"Deploying and deleting happen in a team channel: {places}.")
        return self._deny(f"Dynamote is not enabled in this channel; use {places}.")

    def may_delete(
        self, *, user: str, requester: str | None, membership: Membership = Membership()
    ) -> Decision:
        """Only the requester or an admin deletes (the cluster refuses unmanaged DGDs)."""
        if requester and user == requester:
            return ALLOWED
        if self.is_admin(user, membership):
            return ALLOWED
        owner = f"<@{requester}>" if requester else "the person who deployed it"
        return self._deny(f"Only {owner} or an admin may delete this deployment.")

    def may_deploy_size(self, gpus: int) -> Decision:
        """GPUs one deployment may take."""
        limit = self.max_gpus_per_deployment
        if limit is not None and gpus > limit:
            return self._deny(
                f"This deployment needs {gpus} GPUs; one deployment may use at most {limit}. "
                "Lower the replicas or GPUs per worker."
            )
        return ALLOWED

    def may_deploy_more(self, usage: Usage, gpus: int) -> dict[str, Decision]:
        """Per-user limits with this deployment added, keyed by the form field to flag."""
        denied: dict[str, Decision] = {}
        count_limit = self.max_deployments_per_user
        if count_limit is not None and usage.deployments + 1 > count_limit:
            denied["name"] = self._deny(
                f"You already have {usage.deployments} deployments (counting those still "
                f"starting); the limit is {count_limit} per person. Delete one first."
            )
        gpu_limit = self.max_gpus_per_user
        if gpu_limit is not None and usage.gpus + gpus > gpu_limit:
            denied["gpus"] = self._deny(
                f"You already use {usage.gpus} GPUs and this needs {gpus}; the limit is "
                f"{gpu_limit} per person. Delete a deployment or ask for fewer GPUs."
            )
        return denied

    def may_use_namespace(self, namespace: str) -> Decision:
        if namespace in self.namespaces:
            return ALLOWED
        allowed = ", ".join(f"`{ns}`" for ns in self.namespaces)
        return self._deny(f"Dynamote does not deploy to `{namespace[:63]}`; use one of: {allowed}.")
