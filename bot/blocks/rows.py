"""One deployment as a row (list, App Home), its Delete confirmation, and its one-line summary.

``/dynamote list`` and the App Home tab show the same row, so both call :func:`deployment_row`;
the details view and the status card reuse :func:`delete_confirm`, :func:`engine_label`,
:func:`replicas` and :func:`status_detail`. Import ``delete_confirm`` from
``bot.blocks.deployments``. Pure: no I/O.

Counts are of model replicas (copies of the model serving requests), not of pods: the
frontend is one more pod and is shown only in the details.
"""

from __future__ import annotations

import re
from datetime import datetime

from slack_sdk.models.blocks import (
    Block,
    ButtonElement,
    ConfirmObject,
    Option,
    OverflowMenuElement,
    PlainTextObject,
)

from bot.blocks.common import age, badge, button, escape, mention, section, truncate
from bot.blocks.ids import (
    ACTION_DELETE_DEPLOYMENT,
    ACTION_DEPLOYMENT_MENU,
    ACTION_VIEW_DEPLOYMENT,
    MENU_DELETE,
    MENU_OPEN_THREAD,
    MENU_TRY_IT,
    MENU_VIEW,
    menu_value,
)
from bot.domain.catalog import ENGINE_LABELS
from bot.domain.deployments import Deployment

__all__ = [
    "BLOCKS_PER_ROW",
    "NEEDS_ATTENTION",
    "delete_button",
    "delete_confirm",
    "deployment_menu",
    "deployment_row",
    "engine_label",
    "freed_text",
    "gpus_text",
    "replicas",
    "requested_by",
    "status_detail",
    "thread_url",
    "view_button",
]

BLOCKS_PER_ROW = 1  # a section with its menu
# A page of rows stays under the 12,000 characters of text a message's blocks may hold.
MAX_ROW_TEXT = 700
MAX_ACCESSIBILITY_LABEL = 75
# Phases a person should look at first (a list sorts them to the top).
NEEDS_ATTENTION = frozenset({"Failed", "Pending"})
# A reason that only says "N/M replicas ready" repeats the count shown beside it.
_COUNT_REASON = re.compile(r"^\d+/\d+ replicas ready(; |$)")
# What a card's channel id and message ts look like ("C0123ABCD", "1358546515.000008").
_CHANNEL_ID = re.compile(r"^[A-Z0-9]{1,40}$")
_MESSAGE_TS = re.compile(r"^\d{1,12}\.\d{1,12}$")


def engine_label(engine: str) -> str:
    """``vLLM`` for ``vllm``; an unknown engine as written (escaped)."""
    return ENGINE_LABELS.get(engine, escape(truncate(engine, 40)))


def gpus_text(count: int) -> str:
    """``"1 GPU"``, ``"2 GPUs"``."""
    return f"{count} GPU{'s' if count != 1 else ''}"


def freed_text(gpus: int) -> str:
    """What a delete gave back: ``"Its 2 GPUs are free again."`` as a sentence."""
    if gpus == 1:
        return "Its GPU is free again."
    return f"Its {gpus} GPUs are free again." if gpus else "What it held is free again."


def replicas(deployment: Deployment) -> str:
    """``"1 of 2 replicas ready"``: copies of the model, the frontend left out."""
    status = deployment.status
    ready, desired = status.model_replicas or (status.replicas_ready, status.replicas_desired)
    return f"{ready} of {desired} replica{'s' if desired != 1 else ''} ready"


def status_detail(deployment: Deployment) -> str:
    """The status reason worth reading (escaped), without a count :func:`replicas` shows."""
    reason = " ".join(deployment.status.reason.split())
    if reason == "ready":
        return ""
    return escape(truncate(_COUNT_REASON.sub("", reason), 300))


def delete_confirm(deployment: Deployment) -> ConfirmObject:
    """The danger-style dialog Slack shows before a Delete button acts (plain text: Slack
    shows the dialog's text as typed)."""
    name = truncate(deployment.name, 80)
    gpus = deployment.status.gpus
    frees = f"frees {gpus_text(gpus)}" if gpus else "frees what it holds"
    text = (
        f"This deletes {name} in {truncate(deployment.namespace, 63)} and {frees}. "
        "Its endpoint stops answering. This cannot be undone."
    )
    return ConfirmObject(
        title=PlainTextObject(text=truncate(f"Delete {name}?", 100)),
        text=PlainTextObject(text=truncate(text, 300)),
        confirm=PlainTextObject(text="Delete"),
        deny=PlainTextObject(text="Keep it"),
        style="danger",
    )


def requested_by(deployment: Deployment, viewer: str | None = None) -> str:
    """Who asked ("you" to themselves); for an unverified DGD (only admins see one), a
    warning instead of a name."""
    if not deployment.verified:
        return ":warning: _unverified: Dynamote did not sign who deployed it_"
    if viewer and deployment.requester == viewer:
        return "you"
    return mention(deployment.requester)


def _label(text: str) -> str:
    return truncate(text, MAX_ACCESSIBILITY_LABEL)


def view_button(deployment: Deployment) -> ButtonElement:
    view = button("View", ACTION_VIEW_DEPLOYMENT, deployment.key)
    view.accessibility_label = _label(f"View {deployment.name}")
    return view


def delete_button(deployment: Deployment) -> ButtonElement:
    delete = button(
        "Delete",
        ACTION_DELETE_DEPLOYMENT,
        deployment.key,
        style="danger",
        confirm=delete_confirm(deployment),
    )
    delete.accessibility_label = _label(f"Delete {deployment.name}")
    return delete


def thread_url(deployment: Deployment, workspace_url: str | None) -> str | None:
    """The permalink of the deployment's status card (its thread), or None: no workspace URL
    known, no card (an unverified DGD has none), or a channel or ts that is not Slack's.

    Slack's permalinks are ``<workspace url>archives/<channel>/p<ts without the dot>``
    (chat.getPermalink's answer), so the row needs no API call to link to the card.
    """
    channel, ts = deployment.channel, deployment.thread_ts
    if not workspace_url or not deployment.verified or not channel or not ts:
        return None
    if not _CHANNEL_ID.match(channel) or not _MESSAGE_TS.match(ts):
        return None
    base = workspace_url if workspace_url.endswith("/") else f"{workspace_url}/"
    return f"{base}archives/{channel}/p{ts.replace('.', '')}"


def deployment_menu(
    deployment: Deployment,
    *,
    can_delete: bool,
    try_it: bool = False,
    thread: str | None = None,
) -> OverflowMenuElement:
    """The "…" menu of a deployment: View; Try it (``try_it``); Open thread (a link to
    ``thread``, the card's permalink); Delete where the viewer may delete. Four at most, within
    an overflow menu's five.

    Delete asks first: it answers with the same prompt as ``/dynamote delete NAME``, whose
    button carries Slack's confirm dialog (a menu's confirm would ask before View too).
    """
    options = [_menu_option("View details", MENU_VIEW, deployment)]
    if try_it:
        options.append(_menu_option("Try it", MENU_TRY_IT, deployment))
    if thread:
        options.append(_menu_option("Open thread", MENU_OPEN_THREAD, deployment, url=thread))
    if can_delete:
        options.append(_menu_option("Delete…", MENU_DELETE, deployment))
    return OverflowMenuElement(action_id=ACTION_DEPLOYMENT_MENU, options=options)


def _menu_option(text: str, verb: str, deployment: Deployment, url: str | None = None) -> Option:
    value = menu_value(verb, deployment.key)
    return Option(text=PlainTextObject(text=text), value=value, url=url)


def deployment_row(
    deployment: Deployment,
    *,
    now: datetime,
    viewer: str | None = None,
    admin: bool = False,
    workspace_url: str | None = None,
) -> list[Block]:
    """One section: badge, name, namespace; model, engine, replicas, age and requester; the
    reason when it needs attention; a menu with View, Try it (when Running), Open thread (when
    ``workspace_url``, auth.test's ``url``, is known and it has a card) and (for its requester
    or an admin) Delete."""
    status = deployment.status
    facts = " · ".join(
        [
            f"`{escape(truncate(deployment.model, 150))}` on {engine_label(deployment.engine)}",
            replicas(deployment),
            age(deployment.created_at, now),
            f"by {requested_by(deployment, viewer)}",
        ]
    )
    text = (
        f"*{escape(truncate(deployment.name, 100))}*  {badge(status.phase)}  "
        f"_{escape(truncate(deployment.namespace, 63))}_\n{facts}"
    )
    detail = status_detail(deployment)
    if status.phase in NEEDS_ATTENTION and detail:
        text += f"\n{truncate(detail, 200)}"
    mine = viewer is not None and deployment.verified and deployment.requester == viewer
    menu = deployment_menu(
        deployment,
        can_delete=mine or admin,
        try_it=status.phase == "Running",
        thread=thread_url(deployment, workspace_url),
    )
    return [section(truncate(text, MAX_ROW_TEXT), accessory=menu)]
