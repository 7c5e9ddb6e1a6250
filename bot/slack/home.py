"""Publishing a person's App Home tab: when they open it, and when the notifier refreshes it."""

from __future__ import annotations

from datetime import UTC, datetime

from slack_sdk import WebClient

from bot.blocks.home import build_home
from bot.cluster import ClusterError
from bot.deployment_service import DeploymentService
from bot.domain.policy import Policy

__all__ = ["publish_home"]


def publish_home(
    client: WebClient,
    service: DeploymentService,
    *,
    user_id: str,
    now: datetime | None = None,
    workspace_url: str | None = None,
) -> None:
    """Build and publish one user's Home tab; a cluster failure shows as a notice.
    ``workspace_url`` (auth.test's ``url``) links rows to their cards' threads."""
    now = now or datetime.now(UTC)
    try:
        deployments = service.list_deployments()
        mine = [d for d in deployments if d.requester == user_id]
        others = [d for d in deployments if d.requester != user_id]
        # Named admins get Delete in every row's menu; admin groups would need a Slack call
        # here, so their members find Delete in the lists (the delete itself checks again).
        admin = Policy(service.settings).is_admin(user_id)
        view = build_home(
            user_id=user_id, mine=mine, others=others, now=now, admin=admin,
            free_gpus=service.free_gpus(), workspace_url=workspace_url,
        )  # fmt: skip
    except ClusterError as error:
        view = build_home(user_id=user_id, mine=(), others=(), now=now, error=error.message)
    client.views_publish(user_id=user_id, view=view)
