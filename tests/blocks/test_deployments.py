"""``/dynamote list``: rows, buttons, the delete confirmation, the empty state and paging."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.blocks.deployments import MAX_PAGE_SIZE, build_deployment_list, delete_confirm
from bot.blocks.ids import (
    ACTION_DELETE_DEPLOYMENT,
    ACTION_LIST_PAGE,
    ACTION_OPEN_DEPLOY,
    ACTION_VIEW_DEPLOYMENT,
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
        "1/2 ready",
        "2h",
        "<@U123ABC>",
    ):
        assert part in row


def test_each_row_has_view_and_a_confirmed_danger_delete() -> None:
    payload = listing(3)
    views = buttons(payload, ACTION_VIEW_DEPLOYMENT)
    deletes = buttons(payload, ACTION_DELETE_DEPLOYMENT)
    keys = [f"dynamo-system/model-{i}" for i in range(3)]
    assert [b["value"] for b in views] == keys
    assert [b["value"] for b in deletes] == keys
    assert all(b["style"] == "danger" and b["confirm"]["style"] == "danger" for b in deletes)


def test_the_delete_confirmation_names_the_deployment_namespace_and_gpus() -> None:
    confirm = delete_confirm(make_deployment("qwen", namespace="team-a", gpus=4)).to_dict()
    assert confirm["title"]["text"] == "Delete qwen?"
    assert "*qwen*" in confirm["text"]["text"]
    assert "`team-a`" in confirm["text"]["text"]
    assert "4 GPUs" in confirm["text"]["text"]
    assert confirm["confirm"]["text"] == "Delete"
    assert confirm["deny"]["text"] == "Keep it"
    assert confirm["style"] == "danger"


def test_the_delete_confirmation_stays_within_its_limits() -> None:
    confirm = delete_confirm(make_deployment(NASTY * 10, namespace=NASTY * 10)).to_dict()
    assert len(confirm["title"]["text"]) <= 100
    assert len(confirm["text"]["text"]) <= 300
    assert "<@U999>" not in confirm["text"]["text"]


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
        (8, 0, 8, []),
        (9, 0, 8, [1]),
        (9, 1, 1, [0]),
        (100, 5, 8, [4, 6]),
        (100, 12, 4, [11]),
        (100, 99, 4, [11]),
    ],
)
def test_paging_math(count: int, page: int, rows: int, targets: list[int]) -> None:
    payload = listing(count, page=page, scope="all")
    assert len(buttons(payload, ACTION_VIEW_DEPLOYMENT)) == rows
    values = [json.loads(b["value"]) for b in buttons(payload, ACTION_LIST_PAGE)]
    assert [v["page"] for v in values] == targets
    assert all(v["scope"] == "all" and v["namespace"] is None for v in values)
    if targets:
        assert any("of 13" in str(b) or "of 2" in str(b) for b in payload["blocks"])


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
