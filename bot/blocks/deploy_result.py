"""The deploy modal after submit: "Deploying…", then done or refused by the cluster.

When the cluster is slow the submission is acked with :func:`build_deploying_view`, and the
view is later updated with one of the other two. None has inputs: the user only closes them.
Import these from ``bot.blocks.deploy_modal``. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import Block, PlainTextObject
from slack_sdk.models.views import View

from bot.blocks.common import context, escape, section, text_sections, truncate
from bot.blocks.deploy_form import ModalMetadata
from bot.blocks.ids import CALLBACK_DEPLOYING

__all__ = ["build_deploy_done_view", "build_deploy_failed_view", "build_deploying_view"]

MAX_PROBLEMS = 20


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
    name: str, namespace: str, *, problems: Sequence[str], metadata: ModalMetadata
) -> View:
    """The cluster refused the deployment: why, and what to do next."""
    reasons = [f"• {escape(truncate(' '.join(p.split()), 500))}" for p in problems[:MAX_PROBLEMS]]
    if len(problems) > MAX_PROBLEMS:
        reasons.append(f"… and {len(problems) - MAX_PROBLEMS} more")
    if not reasons:
        reasons = ["• The cluster gave no reason."]
    blocks: list[Block] = [
        section(f":x: The cluster did not create {_where(name, namespace)}."),
        *text_sections(reasons),
        section(
            "Close this, then open the form again (`/dynamote deploy`) and change what the "
            "reasons point at. If they make no sense, ask the platform team."
        ),
    ]
    return _view("Deploy failed", blocks, metadata)
