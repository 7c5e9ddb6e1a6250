"""The deploy modal after submit: "Deploying…", then done or refused by the cluster.

When the cluster is slow the submission is acked with :func:`build_deploying_view`, and the
view is later updated with one of the other two. None has inputs: the user only closes them.
Import these from ``bot.blocks.deploy_modal``. Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict

from slack_sdk.models.blocks import ActionsBlock, Block, PlainTextObject
from slack_sdk.models.views import View

from bot.blocks.common import button, context, escape, section, text_sections, truncate
from bot.blocks.deploy_form import DeployForm, ModalMetadata
from bot.blocks.ids import ACTION_BACK_TO_FORM, CALLBACK_DEPLOYING

__all__ = [
    "build_deploy_done_view",
    "build_deploy_failed_view",
    "build_deploying_view",
    "typed_form",
]

MAX_PROBLEMS = 20
MAX_PRIVATE_METADATA = 3000  # Slack's limit on a view's private_metadata


def _view(title: str, blocks: list[Block], metadata: ModalMetadata) -> View:
    return View(
        type="modal",
        callback_id=CALLBACK_DEPLOYING,
        title=PlainTextObject(text=title),
        close=PlainTextObject(text="Close"),
        private_metadata=metadata.to_json(),
        blocks=blocks,
    )


def _where(name: str, namespace: str) -> str:
    return f"*{escape(truncate(name, 100))}* in `{escape(truncate(namespace, 100))}`"


def build_deploying_view(name: str, namespace: str, metadata: ModalMetadata) -> View:
    """Shown while the cluster takes its time; updated with the result."""
    return _view(
        "Deploying…",
        [
            section(f":hourglass_flowing_sand: Creating {_where(name, namespace)}…"),
            context("This takes a few seconds. You can close this; progress will be posted."),
        ],
        metadata,
    )


def build_deploy_done_view(
    name: str, namespace: str, *, channel_id: str | None, metadata: ModalMetadata
) -> View:
    """Success: where progress is posted and what happens next."""
    where = f"in <#{channel_id}>" if channel_id else "to you in a direct message"
    return _view(
        "Deploy started",
        [
            section(f":white_check_mark: {_where(name, namespace)} is on its way."),
            section(
                f"Progress is posted {where}, and its thread follows every change: the model "
                "downloads, the workers start, and once it is *Running* you get the "
                "`kubectl port-forward` and `curl` lines to try it."
            ),
            context("Big models can take several minutes to become ready."),
        ],
        metadata,
    )


def build_deploy_failed_view(
    name: str,
    namespace: str,
    *,
    problems: Sequence[str],
    metadata: ModalMetadata,
    form: DeployForm | None = None,
) -> View:
    """The cluster refused the deployment: why, and what to do next. With ``form`` (what the
    person typed), "Back to the form" shows it again, everything kept."""
    reasons = [f"• {escape(truncate(' '.join(p.split()), 500))}" for p in problems[:MAX_PROBLEMS]]
    if len(problems) > MAX_PROBLEMS:
        reasons.append(f"… and {len(problems) - MAX_PROBLEMS} more")
    if not reasons:
        reasons = ["• The cluster gave no reason."]
    blocks: list[Block] = [
        section(f":x: The cluster did not create {_where(name, namespace)}."),
        *text_sections(reasons),
    ]
    carried = _with_form(metadata, form) if form is not None else None
    if carried is not None:
        blocks += [
            section("Go back to the form, change what the reasons point at, and deploy again."),
            ActionsBlock(elements=[button("Back to the form", ACTION_BACK_TO_FORM, "back")]),
        ]
    else:
        blocks.append(
            section(
                "Close this, then open the form again (`/dynamote deploy`) and change what the "
                "reasons point at. If they make no sense, ask the platform team."
            )
        )
    view = _view("Deploy failed", blocks, metadata)
    if carried is not None:
        view.private_metadata = carried
    return view


def _with_form(metadata: ModalMetadata, form: DeployForm) -> str | None:
    """The metadata's JSON with the form added, if it fits private_metadata's 3000."""
    raw = json.loads(metadata.to_json())
    raw["form"] = asdict(form)
    text = json.dumps(raw, separators=(",", ":"))
    return text if len(text) <= MAX_PRIVATE_METADATA else None


def typed_form(private_metadata: str) -> tuple[DeployForm, ModalMetadata] | None:
    """The form and metadata :func:`build_deploy_failed_view` carried; None for anything
    else."""
    try:
        raw = json.loads(private_metadata)
        form = DeployForm(**raw.pop("form"))
        return form, ModalMetadata.from_json(json.dumps(raw))
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
