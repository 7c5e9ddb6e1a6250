"""``/dynamote cluster``: is the cluster reachable, which versions it serves, where to deploy.

Pure: no I/O; the listener asks the cluster and passes the answers in.
"""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import Block, MarkdownTextObject, SectionBlock

from bot.blocks.common import Message, context, escape, header, section, truncate

__all__ = ["MAX_NAMESPACES", "build_cluster_status"]

MAX_NAMESPACES = 40


def _listed(items: Sequence[str], *, empty: str, limit: int, max_chars: int = 1800) -> str:
    """Items as code, comma-separated; past ``limit`` items or ``max_chars``, "and N more"."""
    if not items:
        return empty
    shown: list[str] = []
    size = 0
    for item in items[:limit]:
        text = f"`{escape(truncate(item, 80))}`"
        if shown and size + len(text) + 2 > max_chars:
            break
        shown.append(text)
        size += len(text) + 2
    listed = ", ".join(shown)
    if len(items) > len(shown):
        listed += f" and {len(items) - len(shown)} more"
    return listed


def build_cluster_status(
    *,
    reachable: bool,
    server_version: str | None,
    dgd_versions: Sequence[str],
    namespaces: Sequence[str],
    error: str | None,
) -> Message:
    """The cluster as Dynamote sees it, with what to do when something is missing."""
    blocks: list[Block] = [header("Cluster")]
    if not reachable:
        detail = escape(truncate(error or "no answer", 1000))
        blocks.append(
            section(
                f":red_circle: *The cluster is not reachable.*\n{detail}\n"
                "Deploys and lists wait until it answers. If this lasts, tell your platform "
                "team."
            )
        )
        return Message(text="The cluster is not reachable", blocks=blocks)

    # The API versions the operator serves, not Dynamo releases: said as such.
    versions = _listed(dgd_versions, empty="none", limit=10)
    operator = f"installed (API {versions})" if dgd_versions else "not installed"
    blocks.append(
        SectionBlock(
            fields=[
                MarkdownTextObject(text=":large_green_circle: *Reachable*\nyes"),
                MarkdownTextObject(
                    text=f"*Kubernetes*\n{escape(truncate(server_version or 'unknown', 100))}"
                ),
                MarkdownTextObject(text=f"*Dynamo operator*\n{operator}"),
            ]
        )
    )
    blocks.append(
        section(
            "*Namespaces you may deploy to*\n"
            + _listed(namespaces, empty="none configured", limit=MAX_NAMESPACES)
        )
    )
    if not dgd_versions:
        blocks.append(
            section(
                ":warning: The NVIDIA Dynamo operator is not installed in this cluster, so "
                "nothing can be deployed yet. Your platform team can install it."
            )
        )
    if error:
        blocks.append(context(f":warning: {escape(truncate(error, 500))}"))
    state = "ready" if dgd_versions else "missing the Dynamo operator"
    return Message(text=f"The cluster is reachable and {state}", blocks=blocks)
