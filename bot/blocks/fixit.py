"""The buttons that fix a failure, and the modal Redeploy… shows while it reads. Pure.

Redeploy… opens the deploy form prefilled from the deployment's stored request with the
suggested change applied; Full log shows the failing containers' logs. Both carry
``"<namespace>/<name>"``; the listener (``bot.listeners.fixit``) judges the person again on
every click.
"""

from __future__ import annotations

from slack_sdk.models.blocks import ButtonElement, PlainTextObject
from slack_sdk.models.views import View

from bot.blocks.common import button, context, escape, section, truncate
from bot.blocks.ids import ACTION_FULL_LOG, ACTION_REDEPLOY, CALLBACK_REDEPLOY_LOADING
from bot.blocks.rows import MAX_ACCESSIBILITY_LABEL
from bot.deployments import Deployment

__all__ = [
    "build_redeploy_loading_view",
    "build_redeploy_refused_view",
    "full_log_button",
    "redeploy_button",
]


def redeploy_button(deployment: Deployment) -> ButtonElement:
    redeploy = button("Redeploy…", ACTION_REDEPLOY, deployment.key, style="primary")
    redeploy.accessibility_label = truncate(f"Redeploy {deployment.name}", MAX_ACCESSIBILITY_LABEL)
    return redeploy


def full_log_button(deployment: Deployment) -> ButtonElement:
    full = button("Full log", ACTION_FULL_LOG, deployment.key)
    full.accessibility_label = truncate(f"Full log of {deployment.name}", MAX_ACCESSIBILITY_LABEL)
    return full


def _name(key: str) -> str:
    return f"*{escape(truncate(key.partition('/')[2] or key, 100))}*"


def build_redeploy_loading_view(key: str) -> View:
    """Shown at once (the trigger lives 3 s) while the deployment's request is read."""
    return View(
        type="modal",
        callback_id=CALLBACK_REDEPLOY_LOADING,
        title=PlainTextObject(text="Redeploy"),
        close=PlainTextObject(text="Close"),
        blocks=[section(f":hourglass_flowing_sand: Reading {_name(key)}…")],
    )


def build_redeploy_refused_view(key: str, text: str) -> View:
    """Why Redeploy… cannot go on (``text`` is mrkdwn, already escaped)."""
    return View(
        type="modal",
        callback_id=CALLBACK_REDEPLOY_LOADING,
        title=PlainTextObject(text="Redeploy"),
        close=PlainTextObject(text="Close"),
        blocks=[
            section(f":no_entry: Cannot redeploy {_name(key)}."),
            section(truncate(text, 2900)),
            context("Nothing was changed."),
        ],
    )
