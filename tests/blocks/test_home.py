"""The App Home tab."""

from __future__ import annotations

from typing import Any

import pytest

from bot.blocks.home import build_home
from bot.blocks.ids import ACTION_DELETE_DEPLOYMENT, ACTION_OPEN_DEPLOY, ACTION_VIEW_DEPLOYMENT
from tests.blocks.conftest import NASTY, NOW, fits_view, make_deployment, shown_text


def home(mine: int, others: int, **kwargs: Any) -> dict[str, Any]:
    return fits_view(
        build_home(
            user_id="U1",
            mine=[make_deployment(f"mine-{i}", pods=5) for i in range(mine)],
            others=[make_deployment(f"other-{i}", requester="U2") for i in range(others)],
            now=NOW,
            **kwargs,
        )
    )


def action_values(view: dict[str, Any], action_id: str) -> list[str]:
    return [
        e.get("value", "")
        for b in view["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == action_id
    ]


def test_home_is_a_home_view_without_submit_or_close() -> None:
    view = home(1, 1)
    assert view["type"] == "home"
    assert "submit" not in view and "close" not in view


def test_home_has_a_deploy_button_then_mine_then_everyone_elses() -> None:
    view = home(2, 3)
    assert action_values(view, ACTION_OPEN_DEPLOY) == [""]
    headers = [b["text"]["text"] for b in view["blocks"] if b["type"] == "header"]
    assert headers == ["Dynamote", "My deployments (2)", "All deployments (3)"]
    assert action_values(view, ACTION_VIEW_DEPLOYMENT) == [
        "dynamo-system/mine-0",
        "dynamo-system/mine-1",
        "dynamo-system/other-0",
        "dynamo-system/other-1",
        "dynamo-system/other-2",
    ]
    assert len(action_values(view, ACTION_DELETE_DEPLOYMENT)) == 5


def test_home_with_nothing_invites_a_first_deploy() -> None:
    text = shown_text(home(0, 0))
    assert "You have none yet" in text
    assert "Nobody else" in text


@pytest.mark.parametrize(("mine", "others"), [(100, 100), (15, 0), (0, 100), (16, 16)])
def test_home_stays_within_100_blocks_and_counts_the_rest(mine: int, others: int) -> None:
    view = home(mine, others)
    assert len(view["blocks"]) <= 100
    text = shown_text(view)
    if mine > 15:
        assert f"… and {mine - 15} more — use `/dynamote list mine`" in text
    if others > 15:
        assert f"… and {others - 15} more — use `/dynamote list all`" in text


def test_a_large_limit_is_still_bounded_by_the_block_budget() -> None:
    view = home(100, 100, limit=100)
    assert len(view["blocks"]) <= 100


def test_an_unreachable_cluster_shows_the_error_instead_of_lists() -> None:
    view = home(3, 3, error="connection refused <127.0.0.1:6443>")
    text = shown_text(view)
    assert "Cannot reach the cluster" in text
    assert "&lt;127.0.0.1:6443&gt;" in text
    assert action_values(view, ACTION_VIEW_DEPLOYMENT) == []
    assert action_values(view, ACTION_OPEN_DEPLOY) == [""]


def test_nasty_deployments_and_errors_fit() -> None:
    nasty = [
        make_deployment(NASTY * 3, namespace=NASTY, model=NASTY * 5, requester=NASTY, pods=10)
        for _ in range(50)
    ]
    fits_view(build_home(user_id=NASTY, mine=nasty, others=nasty, now=NOW))
    fits_view(build_home(user_id="U1", mine=[], others=[], now=NOW, error=NASTY * 100))
