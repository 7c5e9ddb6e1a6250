"""The Full log modal: the last lines of every failing container, redacted. Pure.

One section per container (its pod and container named), each a code block of its log's
last lines within a section's 3000 characters; at most :data:`MAX_CONTAINERS` of them, so the
view stays far inside a modal's 100 blocks and 250 KB.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from slack_sdk.models.blocks import Block, PlainTextObject
from slack_sdk.models.views import View

from bot.blocks.common import code, context, escape, section, truncate
from bot.blocks.ids import CALLBACK_FULL_LOG
from bot.blocks.notifications import trim_log

__all__ = ["MAX_CONTAINERS", "ContainerLog", "build_full_log_view"]

MAX_CONTAINERS = 12
FULL_LOG_LINES = 60
FULL_LOG_CHARS = 2700  # plus the fences and the title line, inside 3000


@dataclass(frozen=True)
class ContainerLog:
    pod: str
    container: str
    text: str | None  # None: no log (never started, or not readable)
    why: str = ""  # the container's state, as the status says it


def build_full_log_view(
    name: str, logs: Sequence[ContainerLog], *, loading: bool = False, problem: str = ""
) -> View:
    """The modal: each failing container's log tail, or why it has none; ``loading`` while
    the logs are read, ``problem`` when they could not be (plain text)."""
    blocks: list[Block] = [
        context(f"The last lines of each failing container of *{escape(truncate(name, 100))}*, "
                "tokens redacted.")
    ]  # fmt: skip
    for entry in logs[:MAX_CONTAINERS]:
        title = f"`{escape(truncate(entry.pod, 120))}` · `{escape(truncate(entry.container, 60))}`"
        if entry.why:
            title += f" · {escape(truncate(entry.why, 200))}"
        tail = trim_log(entry.text or "", lines=FULL_LOG_LINES, chars=FULL_LOG_CHARS)
        body = code(tail) if tail else "_No log: the container has not run._"
        blocks.append(section(f"{title}\n{body}"))
    if len(logs) > MAX_CONTAINERS:
        blocks.append(context(f"… and {len(logs) - MAX_CONTAINERS} more containers."))
    if loading:
        blocks.append(section(":hourglass_flowing_sand: Reading the logs…"))
    elif problem:
        blocks.append(section(f":warning: {escape(truncate(problem, 2000))}"))
    elif not logs:
        blocks.append(section("No container is failing now."))
    return View(
        type="modal",
        callback_id=CALLBACK_FULL_LOG,
        title=PlainTextObject(text="Full log"),
        close=PlainTextObject(text="Close"),
        blocks=blocks,
    )
