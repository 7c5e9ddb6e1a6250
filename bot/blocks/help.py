"""The help reply: every subcommand with the real command name, and buttons to get going.

Shown for ``/dynamote``, ``/dynamote help`` and for a subcommand Dynamote does not know (then
with the closest match at the top). Pure: no I/O.
"""

from __future__ import annotations

from slack_sdk.models.blocks import ActionsBlock, Block

from bot.blocks.common import Message, button, context, escape, section, truncate
from bot.blocks.ids import ACTION_BROWSE_MODELS, ACTION_MY_DEPLOYMENTS, ACTION_OPEN_DEPLOY

__all__ = ["SUBCOMMANDS", "build_help"]

# (usage after the command name, what it does)
SUBCOMMANDS: tuple[tuple[str, str], ...] = (
    ("help", "This help."),
    ("models [words] [engine]", "Browse the model catalog, e.g. `models qwen vllm`."),
    ("deploy [model words]", "Open the deploy form, with the model picked if the words match."),
    ("list [mine|all] [-n NS]", "Your deployments, or everyone's, with how each is doing."),
    ("status [NAME] [-n NS]", "How a deployment is doing and how to reach it (no name: yours)."),
    ("delete NAME [-n NS]", "Delete a deployment (it asks first)."),
    ("scale NAME N [-n NS]", "Change a deployment's worker replicas."),
    ("cluster", "Is the cluster reachable, and is the Dynamo operator installed?"),
)


def build_help(
    command: str, *, unknown: str | None = None, suggestion: str | None = None
) -> Message:
    """Help for ``command`` (e.g. ``/dynamote``); ``unknown`` is a subcommand that was not one."""
    command = command.strip() or "/dynamote"
    blocks: list[Block] = []
    if unknown is not None:
        typed = escape(truncate(unknown.strip(), 60)) or " "
        line = f":thinking_face: `{typed}` is not a command."
        if suggestion:
            line += f" Did you mean `{escape(command)} {escape(suggestion)}`?"
        blocks.append(section(line))
    usage = "\n".join(
        f"• `{escape(command)} {escape(usage)}` — {what}" for usage, what in SUBCOMMANDS
    )
    blocks.append(
        section(
            ":wave: *Dynamote deploys LLMs onto the team's GPUs with NVIDIA Dynamo.*\n"
            "Pick a model, fill in a short form, and I post its status in a thread here."
        )
    )
    blocks.append(section(usage))
    blocks.append(
        ActionsBlock(
            elements=[
                button(":books: Browse models", ACTION_BROWSE_MODELS, "browse"),
                button(":rocket: Deploy", ACTION_OPEN_DEPLOY, "", style="primary"),
                button(":clipboard: My deployments", ACTION_MY_DEPLOYMENTS, "mine"),
            ]
        )
    )
    blocks.append(context("Replies like this one are only visible to you."))
    if unknown is not None:
        text = f"`{escape(truncate(unknown, 60))}` is not a {escape(command)} command"
        if suggestion:
            text += f"; did you mean `{escape(suggestion)}`?"
    else:
        text = f"How to use {escape(command)}"
    return Message(text=text, blocks=blocks)
