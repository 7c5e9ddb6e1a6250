"""Listeners: thin handlers that ack, parse, call the domain, build blocks, call Slack.

One module per flow; each has ``register(app)``, and this is the only place that calls them.
"""

from __future__ import annotations

from slack_bolt import App

__all__ = ["register"]


def register(app: App, *, command: str) -> None:
    from bot.listeners import commands, deploy_modal, deployments, expiry, home  # noqa: PLC0415

    commands.register(app, command=command)
    deploy_modal.register(app)
    deployments.register(app)
    expiry.register(app)
    home.register(app)
