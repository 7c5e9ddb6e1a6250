"""Scale: the card's button, the replicas modal, its outcome, and the thread's announcement.

The modal's ``private_metadata`` carries who opened it, from where (the keys
:class:`bot.blocks.deploy_form.ModalMetadata` reads, for the policy guard) and which
deployment (:class:`ScaleMetadata`). Pure: no I/O.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from slack_sdk.models.blocks import Block, ButtonElement, PlainTextObject
from slack_sdk.models.views import View

from bot.blocks.card_metadata import read_card_metadata
from bot.blocks.common import Message, button, context, escape, mention, section, truncate
from bot.blocks.ids import ACTION_SCALE, BLOCK_SCALE_REPLICAS, CALLBACK_SCALE
from bot.blocks.inputs import input_block, number_input
from bot.domain.deployments import Deployment

__all__ = [
    "ScaleMetadata",
    "build_scale_answer",
    "build_scale_modal",
    "build_scale_result_view",
    "build_scaled_reply",
    "scale_button",
]


def scale_button(deployment: Deployment) -> ButtonElement:
    return button("Scale", ACTION_SCALE, deployment.key)


@dataclass(frozen=True)
class ScaleMetadata:
    user_id: str
    channel_id: str | None
    deployment: str  # "<namespace>/<name>"
    revision: int = 0  # the replicas input's revision: a new one takes a new initial value

    def to_json(self) -> str:
        return json.dumps(
            {
                "user": self.user_id,
                "channel": self.channel_id,
                "revision": self.revision,
                "deployment": self.deployment,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> ScaleMetadata:
        raw, user, channel, deployment = read_card_metadata(text)
        revision = raw.get("revision", 0)
        if isinstance(revision, bool) or not isinstance(revision, int) or revision < 0:
            revision = 0
        return cls(user, channel, deployment, revision)


def _where(key: str) -> str:
    namespace, _, name = key.partition("/")
    return f"*{escape(truncate(name, 100))}* in `{escape(truncate(namespace, 63))}`"


def build_scale_modal(
    metadata: ScaleMetadata, *, max_replicas: int, current: int | None = None
) -> View:
    """How many worker replicas; ``current`` (once read from the cluster) is prefilled."""
    now = (
        f"Now {current} worker replica{'s' if current != 1 else ''}."
        if current is not None
        else "Reading the current replicas…"
    )
    blocks: list[Block] = [
        section(f"Scale {_where(metadata.deployment)}. {now}"),
        input_block(
            BLOCK_SCALE_REPLICAS,
            "Worker replicas",
            number_input(
                BLOCK_SCALE_REPLICAS,
                str(current) if current is not None else "",
                low=1,
                high=max_replicas,
            ),
            revision=metadata.revision,
            hint=f"1 to {max_replicas}. Each replica takes the GPUs of one worker.",
        ),
        context("The workers change in place; the thread says who scaled it to what."),
    ]
    return View(
        type="modal",
        callback_id=CALLBACK_SCALE,
        title=PlainTextObject(text="Scale"),
        submit=PlainTextObject(text="Scale"),
        close=PlainTextObject(text="Cancel"),
        private_metadata=metadata.to_json(),
        blocks=blocks,
    )


def build_scale_result_view(metadata: ScaleMetadata, *, text: str, ok: bool | None) -> View:
    """Scaling…, scaled, or why not (``ok`` None, True, False)."""
    icon = {None: ":hourglass_flowing_sand:", True: ":white_check_mark:", False: ":warning:"}[ok]
    return View(
        type="modal",
        callback_id=f"{CALLBACK_SCALE}_result",
        title=PlainTextObject(text="Scale"),
        close=PlainTextObject(text="Close"),
        private_metadata=metadata.to_json(),
        blocks=[section(f"{icon} {text}")],
    )


def build_scaled_reply(name: str, *, by_user: str, before: int, after: int, gpus: int) -> Message:
    """The thread reply after a scale: who, from what to what, and the GPUs it now takes."""
    plural = "s" if after != 1 else ""
    gpu_text = f" ({gpus} GPU{'s' if gpus != 1 else ''} in all)" if gpus else ""
    text = (
        f":straight_ruler: {mention(by_user)} scaled *{escape(truncate(name, 100))}* from "
        f"{before} to {after} worker replica{plural}{gpu_text}."
    )
    fallback = escape(truncate(f"{name} scaled from {before} to {after} worker replicas", 300))
    return Message(text=fallback, blocks=[section(text)])


def build_scale_answer(text: str, *, ok: bool) -> Message:
    """The answer to ``/dynamote scale``: done, or why not."""
    icon = ":white_check_mark:" if ok else ":warning:"
    return Message(text=truncate(text, 300), blocks=[section(f"{icon} {text}")])
