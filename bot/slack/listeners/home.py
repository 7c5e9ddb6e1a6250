"""App Home: a summary, then Needs attention, Mine and Team, published on ``app_home_opened``."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.slack.context import AppContext
from bot.slack.home import publish_home

__all__ = ["handle_app_home_opened", "register"]


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
