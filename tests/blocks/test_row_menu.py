"""A row's "…" menu: View, Try it when Running, Open thread (a link to the card), Delete."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from bot.blocks.deployments import build_deployment_list
from bot.blocks.home import build_home
from bot.blocks.rows import deployment_row, thread_url
from bot.domain.deployments import Deployment
from tests.blocks.conftest import NOW, fits_message, fits_view, make_deployment

# auth.test's "url" is the workspace's, with a trailing slash (the Slack stand-in's answer,
# after api.slack.com/methods/auth.test).
WORKSPACE = "https://acme.slack.com/"
# make_deployment's card: channel C123, ts 1700000000.000100. Slack's permalink drops the
# ts's dot after "p" (api.slack.com/methods/chat.getPermalink:
# https://ghostbusters.slack.com/archives/C1H9RESGA/p135854651500008).
CARD = "https://acme.slack.com/archives/C123/p1700000000000100"


def menu_of(deployment: Deployment, **kwargs: Any) -> list[dict[str, Any]]:
    (row,) = deployment_row(deployment, now=NOW, **kwargs)
    options: list[dict[str, Any]] = row.to_dict()["accessory"]["options"]
    return options


def labels(options: list[dict[str, Any]]) -> list[str]:
    return [o["text"]["text"] for o in options]


def test_the_permalink_is_the_workspace_url_the_channel_and_the_ts_without_its_dot() -> None:
    deployment = make_deployment("qwen")
    assert thread_url(deployment, WORKSPACE) == CARD
    assert thread_url(deployment, WORKSPACE.rstrip("/")) == CARD


@pytest.mark.parametrize(
    ("change", "workspace"),
    [
        ({}, None),  # auth.test has not answered yet
        ({}, ""),
        ({"channel": None}, WORKSPACE),  # no card
        ({"thread_ts": None}, WORKSPACE),
        ({"verified": False, "requester": None}, WORKSPACE),  # unverified: no card to trust
        ({"channel": "C1/../../x"}, WORKSPACE),  # not a channel id
        ({"thread_ts": "1700000000.000100?x=1"}, WORKSPACE),  # not a ts
    ],
)
def test_no_permalink_without_a_workspace_url_or_a_verified_card(
    change: dict[str, Any], workspace: str | None
) -> None:
    deployment = replace(make_deployment("qwen"), **change)
    assert thread_url(deployment, workspace) is None
    assert "Open thread" not in labels(menu_of(deployment, workspace_url=workspace))


def test_a_running_row_of_the_viewers_own_has_all_four_choices_in_order() -> None:
    options = menu_of(make_deployment("qwen", requester="U1"), viewer="U1",
                      workspace_url=WORKSPACE)  # fmt: skip
    assert labels(options) == ["View details", "Try it", "Open thread", "Delete…"]
    assert [o["value"] for o in options] == [
        "view:dynamo-system/qwen",
        "try:dynamo-system/qwen",
        "thread:dynamo-system/qwen",
        "delete:dynamo-system/qwen",
    ]
    assert [o.get("url") for o in options] == [None, None, CARD, None]  # only the link has one


@pytest.mark.parametrize("phase", ["Pending", "Deploying", "Failed", "Unknown"])
def test_try_it_only_while_running(phase: str) -> None:
    options = menu_of(make_deployment("qwen", phase=phase), workspace_url=WORKSPACE)
    assert labels(options) == ["View details", "Open thread"]


def test_the_list_and_home_link_rows_to_their_threads_within_block_kit_limits() -> None:
    deployments = [make_deployment(f"m-{i}", requester="U1") for i in range(3)]
    message = build_deployment_list(
        deployments, scope="mine", namespace=None, page=0, now=NOW, viewer="U1",
        workspace_url=WORKSPACE,
    )  # fmt: skip
    listing = fits_message(message)
    home = fits_view(
        build_home(user_id="U1", mine=deployments, others=[], now=NOW, workspace_url=WORKSPACE)
    )
    for payload in (listing, home):
        menus = [b["accessory"] for b in payload["blocks"] if "accessory" in b]
        assert len(menus) == 3
        for menu in menus:
            assert menu["type"] == "overflow" and 1 <= len(menu["options"]) <= 5
            assert [o["text"]["text"] for o in menu["options"]][1:3] == ["Try it", "Open thread"]
    # Without the workspace URL, the same rows carry no link.
    plain = build_home(user_id="U1", mine=deployments, others=[], now=NOW)
    assert "Open thread" not in str(plain.to_dict())
