"""The buttons that fix a failure, and the modal Redeploy… shows while it reads. Pure.

Redeploy… opens the deploy form prefilled from the deployment's stored request with the
suggested change applied; Full log shows the failing containers' logs. Both carry
``"<namespace>/<name>"``; the listener (``bot.slack.listeners.fixit``) judges the person again on
every click.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slack_sdk.models.blocks import ButtonElement, PlainTextObject
from slack_sdk.models.views import View

from bot.blocks.common import Message, button, context, escape, mention, section, truncate
from bot.blocks.deploy_form import DeployForm
from bot.blocks.ids import ACTION_FULL_LOG, ACTION_REDEPLOY, CALLBACK_REDEPLOY_LOADING
from bot.blocks.rows import MAX_ACCESSIBILITY_LABEL
from bot.domain.deployments import Deployment

__all__ = [
    "build_redeploy_loading_view",
    "build_redeploy_refused_view",
    "build_redeployed_reply",
    "form_from_request",
    "full_log_button",
    "redeploy_button",
    "redeploy_notice",
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


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _engine_args_text(args: object) -> str:
    """The form's ``flag=value`` lines (a switch that is on: the flag alone)."""
    if not isinstance(args, Mapping):
        return ""
    return "\n".join(
        str(flag) if value is True else f"{flag}={_text(value)}" for flag, value in args.items()
    )


def form_from_request(request: Mapping[str, Any]) -> DeployForm:
    """The deploy form holding a stored request (``dynamote.dev/request``, camelCase), as the
    person would have typed it; fields it lacks take the form's defaults."""
    base = DeployForm(model=None, name="", namespace="", engine=None)

    def flag(key: str, default: bool) -> bool:
        value = request.get(key)
        return value if isinstance(value, bool) else default

    model, engine = request.get("model"), request.get("engine")
    return DeployForm(
        model=str(model) if model else None,
        name=_text(request.get("name")),
        namespace=_text(request.get("namespace")),
        engine=str(engine) if engine else None,
        mode=_text(request.get("mode")) or base.mode,
        replicas=_text(request.get("replicas")) or base.replicas,
        router_mode=_text(request.get("routerMode")) or base.router_mode,
        hf_token_secret=_text(request.get("hfTokenSecret")) or base.hf_token_secret,
        gpus=_text(request.get("gpus")) or base.gpus,
        context_length=_text(request.get("contextLength")),
        memory=_text(request.get("memory")),
        served_model_name=_text(request.get("servedModelName")),
        enforce_eager=flag("enforceEager", base.enforce_eager),
        enable_prefix_caching=flag("enablePrefixCaching", base.enable_prefix_caching),
        trust_remote_code=flag("trustRemoteCode", base.trust_remote_code),
        engine_args=_engine_args_text(request.get("engineArgs")),
    )


def redeploy_notice(name: str, cause: str | None, change: str) -> str:
    """The deploy form's top line when it replaces a failed deployment (plain text)."""
    why = f" It failed: {cause}." if cause else ""
    suggested = f" Suggested, and filled in: {change}." if change else ""
    return (
        f"Redeploying {name}.{why}{suggested} Deploying replaces it under the same name; its "
        "card and thread carry on. A new name deploys beside it instead."
    )


def build_redeployed_reply(deployment: Deployment, *, by_user: str) -> Message:
    """The thread reply once a failed deployment was replaced under the same name."""
    request = deployment.request
    gpus = request.get("gpus")
    size = f", {gpus} GPU{'s' if gpus != 1 else ''} per worker" if isinstance(gpus, int) else ""
    name = escape(truncate(deployment.name, 100))
    model = escape(truncate(deployment.model, 150))
    return Message(
        text=f"{deployment.name} was redeployed",
        blocks=[
            section(
                f":recycle: {mention(by_user)} redeployed *{name}* (`{model}`{size}). "
                "Updates follow in this thread."
            )
        ],
    )
