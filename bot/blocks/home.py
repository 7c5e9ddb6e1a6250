"""The App Home tab: a summary line and a Deploy button, then Needs attention, Mine, Team.

Needs attention holds the viewer's and the team's Failed and Pending deployments; Mine and
Team hold the rest. Rows are the list's rows (``rows.deployment_row``). A Home view holds
100 blocks, so each part shows at most ``limit`` rows and the whole tab stays within
:data:`MAX_BLOCKS`; what does not fit is counted, with the command that shows it all.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from slack_sdk.models.blocks import ActionsBlock, Block, DividerBlock
from slack_sdk.models.views import View

from bot.blocks.common import button, context, escape, header, mention, section, truncate
from bot.blocks.ids import ACTION_OPEN_DEPLOY
from bot.blocks.rows import BLOCKS_PER_ROW, NEEDS_ATTENTION, deployment_row, gpus_text
from bot.domain.deployments import Deployment

__all__ = ["MAX_BLOCKS", "build_home"]

MAX_BLOCKS = 100
# header, intro, Deploy; per part (3): divider, header, "and N more"; the "Updated" line
_FIXED_BLOCKS = 3 + 3 * 3 + 1


def _part(
    title: str,
    deployments: Sequence[Deployment],
    *,
    rows: int,
    now: datetime,
    empty: str,
    more: str,
    viewer: str,
    admin: bool,
    workspace_url: str | None,
) -> list[Block]:
    blocks: list[Block] = [DividerBlock(), header(f"{title} ({len(deployments)})")]
    if not deployments:
        blocks.append(context(empty))
        return blocks
    for deployment in deployments[:rows]:
        blocks.extend(
            deployment_row(
                deployment, now=now, viewer=viewer, admin=admin, workspace_url=workspace_url
            )
        )
    hidden = len(deployments) - min(rows, len(deployments))
    if hidden:
        blocks.append(context(f"… and {hidden} more — use `{more}`"))
    return blocks


def _when(now: datetime) -> str:
    """A Slack date token, shown in each viewer's own time zone."""
    moment = now if now.tzinfo else now.replace(tzinfo=UTC)
    fallback = f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def _summary(mine: Sequence[Deployment], free_gpus: int | None) -> str:
    count = len(mine)
    gpus = sum(d.status.gpus for d in mine)
    if count:
        noun = "deployment" if count == 1 else "deployments"
        line = f"You have {count} {noun} using {gpus_text(gpus)}."
    else:
        line = "You have no deployments."
    if free_gpus is not None:
        line += f" {gpus_text(free_gpus)} free in the cluster."
    return line


def build_home(
    *,
    user_id: str,
    mine: Sequence[Deployment],
    others: Sequence[Deployment],
    now: datetime,
    error: str | None = None,
    limit: int = 15,
    command: str = "/dynamote",
    free_gpus: int | None = None,
    admin: bool = False,
    workspace_url: str | None = None,
) -> View:
    """The Home tab for ``user_id``; ``error`` replaces the lists when the cluster is away.

    ``free_gpus``: free GPUs in the cluster, shown in the summary when known. ``admin``: the
    viewer may delete anyone's deployment (Delete in every row's menu). ``workspace_url``
    (auth.test's ``url``): rows link to their card's thread when known.
    """
    intro = (
        f"Hi {mention(user_id)}! Deploy LLMs onto the team's GPUs with NVIDIA Dynamo. "
        f"Everything here also works with `{escape(command)}`."
    )
    if error is None:
        intro += f"\n{_summary(mine, free_gpus)}"
    blocks: list[Block] = [
        header("Dynamote"),
        section(intro),
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

    attention = [d for d in (*mine, *others) if d.status.phase in NEEDS_ATTENTION]
    calm_mine = [d for d in mine if d.status.phase not in NEEDS_ATTENTION]
    calm_team = [d for d in others if d.status.phase not in NEEDS_ATTENTION]
    budget = (MAX_BLOCKS - _FIXED_BLOCKS) // BLOCKS_PER_ROW  # rows for every part together
    each = max(limit, 0)
    attention_rows = min(each, len(attention), budget)
    mine_rows = min(each, len(calm_mine), budget - attention_rows)
    team_rows = min(each, budget - attention_rows - mine_rows)
    if attention:
        blocks += _part(
            "Needs attention",
            attention,
            rows=attention_rows,
            empty="",
            more=f"{escape(command)} list all",
            now=now,
            viewer=user_id,
            admin=admin,
            workspace_url=workspace_url,
        )
    blocks += _part(
        "Mine",
        calm_mine,
        rows=mine_rows,
        empty="None running. Press *Deploy a model* to start one."
        if not mine
        else "Every one of yours is under Needs attention.",
        more=f"{escape(command)} list mine",
        now=now,
        viewer=user_id,
        admin=admin,
        workspace_url=workspace_url,
    )
    blocks += _part(
        "Team",
        calm_team,
        rows=team_rows,
        empty="Nobody else has one running.",
        more=f"{escape(command)} list all",
        now=now,
        viewer=user_id,
        admin=admin,
        workspace_url=workspace_url,
    )
    blocks.append(context(f"Updated {_when(now)}"))
    return View(type="home", blocks=blocks)
