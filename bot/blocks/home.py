"""The App Home tab: a Deploy button, "My deployments", then everyone else's.

Rows are the list's rows (``rows.deployment_row``). A Home view holds 100 blocks, so each
section shows at most ``limit`` rows and the whole tab stays within :data:`MAX_BLOCKS`; what
does not fit is counted, with the command that shows it all. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from slack_sdk.models.blocks import ActionsBlock, Block, DividerBlock
from slack_sdk.models.views import View

from bot.blocks.common import button, context, escape, header, mention, section, truncate
from bot.blocks.ids import ACTION_OPEN_DEPLOY
from bot.blocks.rows import BLOCKS_PER_ROW, deployment_row
from bot.deployments import Deployment

__all__ = ["MAX_BLOCKS", "build_home"]

MAX_BLOCKS = 100
# header, intro, Deploy; per part: divider, header, "and N more"; the "Updated" line
_FIXED_BLOCKS = 3 + 2 * 3 + 1


def _part(
    title: str,
    deployments: Sequence[Deployment],
    *,
    rows: int,
    now: datetime,
    empty: str,
    more: str,
) -> list[Block]:
    blocks: list[Block] = [DividerBlock(), header(f"{title} ({len(deployments)})")]
    if not deployments:
        blocks.append(context(empty))
        return blocks
    for deployment in deployments[:rows]:
        blocks.extend(deployment_row(deployment, now=now))
    hidden = len(deployments) - min(rows, len(deployments))
    if hidden:
        blocks.append(context(f"… and {hidden} more — use `{more}`"))
    return blocks


def _when(now: datetime) -> str:
    """A Slack date token, shown in each viewer's own time zone."""
    moment = now if now.tzinfo else now.replace(tzinfo=UTC)
    fallback = f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def build_home(
    *,
    user_id: str,
    mine: Sequence[Deployment],
    others: Sequence[Deployment],
    now: datetime,
    error: str | None = None,
    limit: int = 15,
    command: str = "/dynamote",
) -> View:
    """The Home tab for ``user_id``; ``error`` replaces the lists when the cluster is away."""
    blocks: list[Block] = [
        header("Dynamote"),
        section(
            f"Hi {mention(user_id)}! Deploy LLMs onto the team's GPUs with NVIDIA Dynamo. "
            f"Everything here also works with `{escape(command)}`."
        ),
        ActionsBlock(
            elements=[button(":rocket: Deploy a model", ACTION_OPEN_DEPLOY, "", style="primary")]
        ),
    ]
    if error is not None:
        blocks.append(
            section(
                ":warning: *Cannot reach the cluster right now.*\n"
                f"{escape(truncate(error, 1000))}\n"
                "Your deployments are still there; this page shows them again once the "
                f"cluster answers. `{escape(command)} cluster` says more."
            )
        )
        return View(type="home", blocks=blocks)

    budget = (MAX_BLOCKS - _FIXED_BLOCKS) // BLOCKS_PER_ROW  # rows for both parts together
    mine_rows = min(max(limit, 0), len(mine), budget)
    other_rows = min(max(limit, 0), budget - mine_rows)
    blocks += _part(
        "My deployments",
        mine,
        rows=mine_rows,
        now=now,
        empty="You have none yet. Press *Deploy a model* to start one.",
        more=f"{escape(command)} list mine",
    )
    blocks += _part(
        "All deployments",
        others,
        rows=other_rows,
        now=now,
        empty="Nobody else has one running.",
        more=f"{escape(command)} list all",
    )
    blocks.append(context(f"Updated {_when(now)}"))
    return View(type="home", blocks=blocks)
