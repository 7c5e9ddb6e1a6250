"""``/dynamote list`` (a page of deployment rows); re-exports details and the delete surfaces.

Rows come from ``rows.deployment_row``, shared with the App Home tab; deployments that need
attention (Failed, Pending) come first. A page holds at most :data:`MAX_PAGE_SIZE` rows so a
message never passes 50 blocks. ``build_details`` lives in
``details.py``, the delete prompt and notice in ``delete.py`` and the answers to a name that
is ambiguous or nowhere in ``lookup.py``; listeners import them all from here. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, DividerBlock

from bot.blocks.common import Message, button, context, escape, header, page_slice, pager, section
from bot.blocks.delete import build_delete_prompt, build_deleted_notice
from bot.blocks.details import build_details
from bot.blocks.ids import ACTION_LIST_PAGE, ACTION_OPEN_DEPLOY
from bot.blocks.lookup import build_none_yet, build_not_found, build_which_one
from bot.blocks.rows import BLOCKS_PER_ROW, NEEDS_ATTENTION, delete_confirm, deployment_row
from bot.domain.deployments import Deployment

__all__ = [
    "MAX_PAGE_SIZE",
    "build_delete_prompt",
    "build_deleted_notice",
    "build_deployment_list",
    "build_details",
    "build_none_yet",
    "build_not_found",
    "build_which_one",
    "delete_confirm",
    "needing_attention_first",
]

# header + context + (divider + row) per deployment + pager (3) stay under 50 blocks.
MAX_PAGE_SIZE = (50 - 2 - 3) // (BLOCKS_PER_ROW + 1)


def needing_attention_first(deployments: Sequence[Deployment]) -> list[Deployment]:
    """Failed and Pending deployments first; otherwise the order given."""
    return sorted(deployments, key=lambda d: d.status.phase not in NEEDS_ATTENTION)


def _title(scope: str, namespace: str | None) -> str:
    title = "Your deployments" if scope == "mine" else "All deployments"
    return f"{title} in {namespace}" if namespace else title


def build_deployment_list(
    deployments: Sequence[Deployment],
    *,
    scope: str,
    namespace: str | None,
    page: int,
    now: datetime,
    page_size: int = 15,
    viewer: str | None = None,
    admin: bool = False,
    workspace_url: str | None = None,
) -> Message:
    """One page of ``deployments`` (already filtered to ``scope`` and ``namespace``) as
    ``viewer`` sees it: Delete is in the menu of their own rows (every row for an admin);
    ``workspace_url`` (auth.test's ``url``) links each row to its card's thread."""
    title = _title(scope, namespace)
    if not deployments:
        where = f" in `{escape(namespace)}`" if namespace else ""
        who = "You have" if scope == "mine" else "There are"
        blocks: list[Block] = [
            section(f":seedling: {who} no deployments{where} yet. Deploy a model to get started."),
            ActionsBlock(
                elements=[
                    button(":rocket: Deploy a model", ACTION_OPEN_DEPLOY, "", style="primary")
                ]
            ),
        ]
        return Message(text=f"{escape(title)}: none yet", blocks=blocks)

    size = min(max(page_size, 1), MAX_PAGE_SIZE)
    shown, page, pages = page_slice(needing_attention_first(deployments), page, size)
    blocks = [header(title)]
    counts: dict[str, int] = {}
    for deployment in deployments:
        counts[deployment.status.phase] = counts.get(deployment.status.phase, 0) + 1
    summary = ", ".join(f"{count} {phase.lower()}" for phase, count in sorted(counts.items()))
    blocks.append(context(f"{len(deployments)} in all: {summary}"))
    for deployment in shown:
        blocks.append(DividerBlock())
        blocks.extend(
            deployment_row(
                deployment, now=now, viewer=viewer, admin=admin, workspace_url=workspace_url
            )
        )

    def value(target: int) -> dict[str, Any]:
        return {"scope": scope, "namespace": namespace, "page": target}

    noun = "deployment" if len(deployments) == 1 else "deployments"
    blocks.extend(
        pager(
            ACTION_LIST_PAGE, page=page, pages=pages, total=len(deployments), noun=noun, value=value
        )
    )
    text = f"{escape(title)}: {len(deployments)} {noun}"
    if pages > 1:
        text += f" (page {page + 1} of {pages})"
    return Message(text=text, blocks=blocks)
