"""``/dynamote list``: rows, buttons, the delete confirmation, the empty state and paging."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.blocks.deployments import MAX_PAGE_SIZE, build_deployment_list, delete_confirm
from bot.blocks.ids import (
    ACTION_DEPLOYMENT_MENU,
    ACTION_LIST_PAGE,
    ACTION_OPEN_DEPLOY,
)
from tests.blocks.conftest import NASTY, NOW, fits_message, make_deployment, mrkdwn_text


def buttons(payload: dict[str, Any], action_id: str) -> list[dict[str, Any]]:
    return [
        e
        for b in payload["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == action_id
    ]


def menus(payload: dict[str, Any]) -> list[list[str]]:
    """Each row's menu: its option values, in order."""
    return [
        [o["value"] for o in b["accessory"]["options"]]
        for b in payload["blocks"]
        if b["type"] == "section" and b.get("accessory", {}).get("type") == "overflow"
    ]


def listing(
    count: int, *, page: int = 0, page_size: int = 8, scope: str = "mine"
) -> dict[str, Any]:
    deployments = [make_deployment(f"model-{i}", pods=3) for i in range(count)]
    message = build_deployment_list(
        deployments, scope=scope, namespace=None, page=page, now=NOW, page_size=page_size
    )
    return fits_message(message)


def test_a_row_shows_badge_name_model_engine_replicas_age_and_requester() -> None:
    deployment = make_deployment("qwen", ready=1, desired=2, phase="Deploying", reason="1/2")
    payload = fits_message(
        build_deployment_list(
            [deployment], scope="mine", namespace="dynamo-system", page=0, now=NOW
        )
    )
    assert payload["blocks"][0]["text"]["text"] == "Your deployments in dynamo-system"
    row = next(b["text"]["text"] for b in payload["blocks"] if b["type"] == "section")
    for part in (
        ":large_blue_circle: Deploying",
        "*qwen*",
        "`Qwen/Qwen3-0.6B`",
        "vLLM",
        "1 of 2 replicas ready",
        "2h",
        "<@U123ABC>",
    ):
        assert part in row


def test_each_row_is_one_section_with_a_menu_and_no_buttons() -> None:
    payload = listing(3)
    assert [b for b in payload["blocks"] if b["type"] == "actions"] == []
    keys = [f"dynamo-system/model-{i}" for i in range(3)]
    assert menus(payload) == [[f"view:{key}"] for key in keys]  # nobody's own: no Delete
    menu = next(b["accessory"] for b in payload["blocks"] if "accessory" in b)
    assert menu["action_id"] == ACTION_DEPLOYMENT_MENU


def test_delete_is_in_the_menu_only_where_the_viewer_may_delete() -> None:
    mine = make_deployment("mine", requester="U1")
    theirs = make_deployment("theirs", requester="U2")
    for admin, expected in (
        (False, [["view:dynamo-system/mine", "delete:dynamo-system/mine"],
                 ["view:dynamo-system/theirs"]]),
        (True, [["view:dynamo-system/mine", "delete:dynamo-system/mine"],
                ["view:dynamo-system/theirs", "delete:dynamo-system/theirs"]]),
    ):  # fmt: skip
        message = build_deployment_list(
            [mine, theirs], scope="all", namespace=None, page=0, now=NOW, viewer="U1", admin=admin
        )
        assert menus(fits_message(message)) == expected


def test_a_viewers_own_row_says_by_you() -> None:
    message = build_deployment_list(
        [make_deployment("mine", requester="U1")],
        scope="mine", namespace=None, page=0, now=NOW, viewer="U1",
    )  # fmt: skip
    row = next(b["text"]["text"] for b in fits_message(message)["blocks"] if "accessory" in b)
    assert "by you" in row and "<@U1>" not in row


def test_deployments_that_need_attention_come_first() -> None:
    deployments = [
        make_deployment("running-a"),
        make_deployment("failed", phase="Failed", reason="crash loop"),
        make_deployment("running-b"),
        make_deployment("pending", phase="Pending", reason="waiting for GPUs"),
    ]
    message = build_deployment_list(deployments, scope="all", namespace=None, page=0, now=NOW)
    order = [m[0].rpartition("/")[2] for m in menus(fits_message(message))]
    assert order == ["failed", "pending", "running-a", "running-b"]


def test_a_reason_that_only_repeats_the_count_is_not_shown() -> None:
    deployment = make_deployment(
        "qwen", phase="Pending", reason="0/2 replicas ready; waiting for GPUs", ready=0, desired=2
    )
    message = build_deployment_list([deployment], scope="all", namespace=None, page=0, now=NOW)
    row = next(b["text"]["text"] for b in fits_message(message)["blocks"] if "accessory" in b)
    assert "0/2" not in row and "0 of 2 replicas ready" in row and "\nwaiting for GPUs" in row


def test_the_delete_confirmation_names_the_deployment_namespace_and_gpus() -> None:
    confirm = delete_confirm(make_deployment("qwen", namespace="team-a", gpus=4)).to_dict()
    assert confirm["title"]["text"] == "Delete qwen?"
    # Slack shows a confirm's text as typed: plain text, no mrkdwn marks.
    assert confirm["text"]["type"] == "plain_text"
    assert confirm["text"]["text"] == (
        "This deletes qwen in team-a and frees 4 GPUs. Its endpoint stops answering. "
        "This cannot be undone."
    )
    assert confirm["confirm"]["text"] == "Delete"
    assert confirm["deny"]["text"] == "Keep it"
    assert confirm["style"] == "danger"


def test_the_delete_confirmation_stays_within_its_limits() -> None:
    confirm = delete_confirm(make_deployment(NASTY * 10, namespace=NASTY * 10)).to_dict()
    assert len(confirm["title"]["text"]) <= 100
    assert len(confirm["text"]["text"]) <= 300
    assert confirm["text"]["type"] == "plain_text"  # shown as typed: no mention pings


@pytest.mark.parametrize("scope", ["mine", "all"])
def test_the_empty_state_invites_a_first_deploy(scope: str) -> None:
    payload = fits_message(
        build_deployment_list([], scope=scope, namespace="team-a", page=0, now=NOW)
    )
    assert "no deployments in `team-a` yet" in payload["blocks"][0]["text"]["text"]
    deploy = buttons(payload, ACTION_OPEN_DEPLOY)
    assert len(deploy) == 1
    assert deploy[0].get("value", "") == ""


@pytest.mark.parametrize(
    ("count", "page", "rows", "targets"),
    [
        (1, 0, 1, []),
        (15, 0, 15, []),
        (16, 0, 15, [1]),
        (16, 1, 1, [0]),
        (100, 3, 15, [2, 4]),
        (100, 6, 10, [5]),
        (100, 99, 10, [5]),
    ],
)
def test_paging_math(count: int, page: int, rows: int, targets: list[int]) -> None:
    payload = listing(count, page=page, scope="all", page_size=15)
    assert len(menus(payload)) == rows
    values = [json.loads(b["value"]) for b in buttons(payload, ACTION_LIST_PAGE)]
    assert [v["page"] for v in values] == targets
    assert all(v["scope"] == "all" and v["namespace"] is None for v in values)
    if targets:
        assert any("of 7" in str(b) or "of 2" in str(b) for b in payload["blocks"])


def test_a_page_holds_15_rows_by_default() -> None:
    deployments = [make_deployment(f"model-{i}") for i in range(20)]
    message = build_deployment_list(deployments, scope="all", namespace=None, page=0, now=NOW)
    assert len(menus(fits_message(message))) == 15


@pytest.mark.parametrize("page_size", [1, 8, MAX_PAGE_SIZE, 50, 1000])
def test_any_page_size_keeps_the_message_under_50_blocks(page_size: int) -> None:
    payload = listing(100, page=1, page_size=page_size)
    assert len(payload["blocks"]) <= 50


def test_a_hundred_nasty_deployments_still_fit() -> None:
    deployments = [
        make_deployment(
            f"{NASTY}{i}" * 3,
            namespace=NASTY,
            model=NASTY * 5,
            engine=NASTY,
            requester=NASTY,
            phase="Failed",
            reason=NASTY * 20,
            pods=500,
        )
        for i in range(100)
    ]
    for page in (0, 5, 12):
        payload = fits_message(
            build_deployment_list(deployments, scope="all", namespace=NASTY, page=page, now=NOW)
        )
        assert "<@U999>" not in mrkdwn_text(payload)
