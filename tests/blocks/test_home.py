"""The App Home tab."""

from __future__ import annotations

from typing import Any

import pytest

from bot.blocks.home import build_home
from bot.blocks.ids import ACTION_OPEN_DEPLOY
from tests.blocks.conftest import NASTY, NOW, fits_view, make_deployment, shown_text


def home(mine: int, others: int, **kwargs: Any) -> dict[str, Any]:
    return fits_view(
        build_home(
            user_id="U1",
            mine=[make_deployment(f"mine-{i}", pods=5, requester="U1") for i in range(mine)],
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


def row_keys(view: dict[str, Any]) -> list[str]:
    """The deployments the rows show, by the View option of their menus."""
    return [
        b["accessory"]["options"][0]["value"].removeprefix("view:")
        for b in view["blocks"]
        if b["type"] == "section" and b.get("accessory", {}).get("type") == "overflow"
    ]


def test_home_is_a_home_view_without_submit_or_close() -> None:
    view = home(1, 1)
    assert view["type"] == "home"
    assert "submit" not in view and "close" not in view


def test_home_has_a_summary_a_deploy_button_then_mine_then_the_team() -> None:
    view = home(2, 3)
    assert action_values(view, ACTION_OPEN_DEPLOY) == [""]
    assert "You have 2 deployments using 2 GPUs." in view["blocks"][1]["text"]["text"]
    headers = [b["text"]["text"] for b in view["blocks"] if b["type"] == "header"]
    assert headers == ["Dynamote", "Mine (2)", "Team (3)"]
    assert row_keys(view) == [
        "dynamo-system/mine-0",
        "dynamo-system/mine-1",
        "dynamo-system/other-0",
        "dynamo-system/other-1",
        "dynamo-system/other-2",
    ]
    deletes = [
        o["value"]
        for b in view["blocks"]
        if "accessory" in b
        for o in b["accessory"]["options"]
        if o["value"].startswith("delete:")
    ]
    assert deletes == ["delete:dynamo-system/mine-0", "delete:dynamo-system/mine-1"]


def test_what_needs_attention_comes_first_mine_or_not() -> None:
    view = fits_view(
        build_home(
            user_id="U1",
            mine=[make_deployment("ok", requester="U1"),
                  make_deployment("broken", requester="U1", phase="Failed", reason="x")],
            others=[make_deployment("stuck", requester="U2", phase="Pending", reason="y")],
            now=NOW,
        )
    )  # fmt: skip
    headers = [b["text"]["text"] for b in view["blocks"] if b["type"] == "header"]
    assert headers == ["Dynamote", "Needs attention (2)", "Mine (1)", "Team (0)"]
    assert row_keys(view) == [
        "dynamo-system/broken",
        "dynamo-system/stuck",
        "dynamo-system/ok",
    ]


def test_free_gpus_are_in_the_summary_only_when_known() -> None:
    assert "3 GPUs free in the cluster." in shown_text(home(1, 0, free_gpus=3))
    assert "free in the cluster" not in shown_text(home(1, 0))


def test_home_with_nothing_invites_a_first_deploy() -> None:
    text = shown_text(home(0, 0))
    assert "You have no deployments." in text
    assert "None running. Press *Deploy a model* to start one." in text
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
    assert row_keys(view) == []
    assert action_values(view, ACTION_OPEN_DEPLOY) == [""]


def test_nasty_deployments_and_errors_fit() -> None:
    nasty = [
        make_deployment(NASTY * 3, namespace=NASTY, model=NASTY * 5, requester=NASTY, pods=10)
        for _ in range(50)
    ]
    fits_view(build_home(user_id=NASTY, mine=nasty, others=nasty, now=NOW))
    fits_view(build_home(user_id="U1", mine=[], others=[], now=NOW, error=NASTY * 100))
