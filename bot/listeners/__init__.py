"""Listeners: thin handlers that ack, parse, call the domain, build blocks, call Slack.

One module per flow; each has ``register(app)``, and this is the only place that calls them.
"""

from __future__ import annotations

from slack_bolt import App

__all__ = ["register"]


def register(app: App, *, command: str) -> None:
    from bot.listeners import (  # noqa: PLC0415
        approvals,
        commands,
        deploy_modal,
        deployments,
        expiry,
        fixit,
        home,
        scale,
        tryit,
    )

    commands.register(app, command=command)
    deploy_modal.register(app)
    deployments.register(app)
    expiry.register(app)
    approvals.register(app)
    home.register(app)
    tryit.register(app)
    scale.register(app)
    fixit.register(app)
