"""App Home: a summary, then Needs attention, Mine and Team, published on ``app_home_opened``."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.blocks.home import build_home
from bot.cluster import ClusterError
from bot.deployment_service import DeploymentService
from bot.domain.policy import Policy
from bot.slack.context import AppContext

__all__ = ["handle_app_home_opened", "publish_home", "register"]

log = logging.getLogger(__name__)


def register(app: App) -> None:
    app.event("app_home_opened")(handle_app_home_opened)


def handle_app_home_opened(event: dict[str, Any], client: WebClient, dynamote: AppContext) -> None:
    if event.get("tab", "home") != "home":
        return
    user = str(event.get("user", ""))
    if dynamote.home_opened is not None:
        dynamote.home_opened(user)  # keep this user's Home fresh for a while
    dynamote.after_ack(
        lambda: publish_home(
            client,
            dynamote.service,
            user_id=user,
            now=dynamote.now(),
            workspace_url=dynamote.workspace_url(),
        ),
        doing="publish App Home",
    )


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
