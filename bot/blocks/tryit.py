"""Try it: the prompt modal, the answer as it streams in, and the answer shared in the thread.

The modal's ``private_metadata`` (:class:`TryMetadata`) carries who opened it, from which
channel (the keys :class:`bot.blocks.deploy_form.ModalMetadata` reads, so the policy guard
knows the channel), which deployment, and the prompt, max tokens and figures of the last
answer. The answer itself lives in the view's sections (``try_answer.N``), where "Post to
thread" reads it back. Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, PlainTextObject
from slack_sdk.models.views import View

from bot.blocks.card_metadata import read_card_metadata
from bot.blocks.common import (
    Message,
    button,
    context,
    escape,
    mention,
    section,
    text_sections,
    truncate,
)
from bot.blocks.ids import (
    ACTION_TRY_AGAIN,
    ACTION_TRY_IT,
    ACTION_TRY_POST,
    BLOCK_TRY_ANSWER,
    BLOCK_TRY_MAX_TOKENS,
    BLOCK_TRY_PROMPT,
    CALLBACK_TRY_ANSWER,
    CALLBACK_TRY_IT,
)
from bot.blocks.inputs import input_block, number_input, text_input
from bot.domain.deployments import Deployment
from bot.domain.tryit import DEFAULT_MAX_TOKENS, DEFAULT_PROMPT, MAX_PROMPT_CHARS, MAX_TOKENS_LIMIT

__all__ = [
    "MAX_ANSWER_CHARS",
    "TryMetadata",
    "answer_text_of",
    "build_answer_view",
    "build_shared_answer",
    "build_try_modal",
    "try_button",
    "with_prompt",
]

MAX_ANSWER_CHARS = 6000  # two sections' worth; 512 tokens of English fit with room to spare
_ANSWER_SECTIONS = 3


def try_button(deployment: Deployment) -> ButtonElement:
    """The primary "Try it" button of a running deployment (Running reply, status card)."""
    return button(":speech_balloon: Try it", ACTION_TRY_IT, deployment.key, style="primary")


@dataclass(frozen=True)
class TryMetadata:
    """What the Try it views carry between interactions (see the module docstring)."""

    user_id: str
    channel_id: str | None
    deployment: str  # "<namespace>/<name>"
    prompt: str = DEFAULT_PROMPT
    max_tokens: int = DEFAULT_MAX_TOKENS
    figures: str = ""  # the summary line of the last answer, once it is complete
    posted: bool = False

    def to_json(self) -> str:
        return json.dumps(
            {
                "user": self.user_id,
                "channel": self.channel_id,
                "deployment": self.deployment,
                "prompt": self.prompt[:MAX_PROMPT_CHARS],
                "max_tokens": self.max_tokens,
                "figures": self.figures[:200],
                "posted": self.posted,
            },
            separators=(",", ":"),
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> TryMetadata:
        """ValueError for anything :meth:`to_json` did not write."""
        raw, user, channel, deployment = read_card_metadata(text)
        prompt, max_tokens = raw.get("prompt", DEFAULT_PROMPT), raw.get("max_tokens")
        if not isinstance(prompt, str):
            raise ValueError("private_metadata has a prompt that is not text")
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int):
            max_tokens = DEFAULT_MAX_TOKENS
        return cls(
            user_id=user,
            channel_id=channel,
            deployment=deployment,
            prompt=prompt[:MAX_PROMPT_CHARS],
            max_tokens=min(max(max_tokens, 1), MAX_TOKENS_LIMIT),
            figures=str(raw.get("figures") or "")[:200],
            posted=raw.get("posted") is True,
        )


def _title_line(metadata: TryMetadata, model: str | None) -> str:
    namespace, _, name = metadata.deployment.partition("/")
    where = f"*{escape(truncate(name, 100))}* in `{escape(truncate(namespace, 63))}`"
    return f"{where} serves `{escape(truncate(model, 150))}`" if model else where


def build_try_modal(
    metadata: TryMetadata, *, model: str | None = None, problem: str | None = None
) -> View:
    """The prompt form, prefilled (the default prompt, or the last one when trying again)."""
    blocks: list[Block] = [
        context(_title_line(metadata, model)),
        input_block(
            BLOCK_TRY_PROMPT,
            "Prompt",
            text_input(
                BLOCK_TRY_PROMPT, metadata.prompt, max_length=MAX_PROMPT_CHARS, multiline=True
            ),
            revision=0,
        ),
        input_block(
            BLOCK_TRY_MAX_TOKENS,
            "Max tokens",
            number_input(
                BLOCK_TRY_MAX_TOKENS, str(metadata.max_tokens), low=1, high=MAX_TOKENS_LIMIT
            ),
            revision=0,
            hint=f"At most {MAX_TOKENS_LIMIT}: enough to see how it answers and how fast.",
        ),
    ]
    if problem:
        blocks.append(section(f":warning: {escape(truncate(problem, 500))}"))
    return View(
        type="modal",
        callback_id=CALLBACK_TRY_IT,
        title=_plain("Try it"),
        submit=_plain("Send"),
        close=_plain("Close"),
        private_metadata=metadata.to_json(),
        blocks=blocks,
    )


def build_answer_view(
    metadata: TryMetadata,
    *,
    answer: str,
    status: str,
    done: bool,
    error: str | None = None,
) -> View:
    """The prompt, the answer so far (or in full), and a status line: waiting, streaming, the
    figures, or what went wrong. Once done: share it, or try another prompt."""
    prompt = escape(truncate(" ".join(metadata.prompt.split()), 500))
    blocks: list[Block] = [
        context(_title_line(metadata, None)),
        section(f"*You asked:* {prompt}"),
    ]
    if answer:
        shown = escape(truncate(answer, MAX_ANSWER_CHARS))
        for index, part in enumerate(text_sections(shown.split("\n"))[:_ANSWER_SECTIONS]):
            part.block_id = f"{BLOCK_TRY_ANSWER}.{index}"
            blocks.append(part)
    elif not error:
        blocks.append(section(":hourglass_flowing_sand: Waiting for the first token…"))
    if error:
        blocks.append(section(f":warning: {escape(truncate(error, 1500))}"))
    blocks.append(context(escape(truncate(status, 300))))
    if done:
        actions = [button("Try another prompt", ACTION_TRY_AGAIN, "again")]
        if answer and not error:
            label = ":white_check_mark: Posted" if metadata.posted else "Post to thread"
            actions.insert(0, button(label, ACTION_TRY_POST, "post"))
        blocks.append(ActionsBlock(elements=actions))
    return View(
        type="modal",
        callback_id=CALLBACK_TRY_ANSWER,
        title=_plain("Try it"),
        close=_plain("Close"),
        private_metadata=metadata.to_json(),
        blocks=blocks,
    )


def answer_text_of(view: Mapping[str, Any]) -> str:
    """The answer the answer view shows, read back from its sections, as plain text again.

    The view comes back from Slack in the payload; whatever it holds is escaped again by the
    builders it goes to, so a forged ``<!channel>`` is shown, never sent as a mention.
    """
    parts: list[str] = []
    for block in view.get("blocks") or ():
        if not isinstance(block, Mapping):
            continue
        if str(block.get("block_id") or "").startswith(f"{BLOCK_TRY_ANSWER}."):
            text = (block.get("text") or {}).get("text")
            if isinstance(text, str):
                parts.append(text)
    joined = "\n".join(parts)
    plain = joined.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return plain[:MAX_ANSWER_CHARS]


def build_shared_answer(
    metadata: TryMetadata, *, answer: str, by_user: str, model: str | None = None
) -> Message:
    """The thread reply "Post to thread" sends: who asked what, the answer, the figures."""
    name = metadata.deployment.partition("/")[2]
    prompt = escape(truncate(" ".join(metadata.prompt.split()), 1000))
    served = f" (`{escape(truncate(model, 150))}`)" if model else ""
    blocks: list[Block] = [
        section(
            f":speech_balloon: {mention(by_user)} tried *{escape(truncate(name, 100))}*"
            f"{served}:\n*Prompt:* {prompt}"
        ),
        *text_sections(escape(answer).split("\n"))[:_ANSWER_SECTIONS],
    ]
    if metadata.figures:
        blocks.append(context(escape(metadata.figures)))
    fallback = escape(truncate(f"{name}: an answer to a prompt, with its timing", 300))
    return Message(text=fallback, blocks=blocks)


def with_prompt(metadata: TryMetadata, prompt: str, max_tokens: int) -> TryMetadata:
    """The metadata of a new try: the new prompt, no figures yet, not posted."""
    return replace(metadata, prompt=prompt, max_tokens=max_tokens, figures="", posted=False)


def _plain(text: str) -> PlainTextObject:
    return PlainTextObject(text=text)
