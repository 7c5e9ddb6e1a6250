"""A row's "…" menu end to end: Try it opens the Try it modal; Open thread links to the card
and its click is only acked; the link needs the workspace URL of the start-up auth.test."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient

from bot.blocks.ids import ACTION_DEPLOYMENT_MENU, CALLBACK_TRY_IT
from bot.domain.manifest import SlackOrigin, render_dgd
from bot.domain.request import parse_request
from bot.sim.operator.controller import make_ready
from tests.signing import signed
from tests.stacks import Stack
from tests.waiting import wait_for


def record_auth_test(stack: Stack) -> str:
    """What the runner does at start-up: auth.test, kept in the app's identity."""
    client = WebClient(token=stack.slack.token, base_url=stack.slack.url)
    answer = client.auth_test()
    assert stack.context.identity is not None
    stack.context.identity.record(answer.data if isinstance(answer.data, dict) else {})
    return str(answer["url"])


def carded(stack: Stack, name: str, *, user: str = "U0ALICE") -> str:
    """A ready deployment whose status card was posted in C0GENERAL; returns the card's ts."""
    client = WebClient(token=stack.slack.token, base_url=stack.slack.url)
    card = client.chat_postMessage(channel="C0GENERAL", text=f"{name} is starting")
    ts = str(card["ts"])
    request = parse_request(
        {"model": "Qwen/Qwen3-0.6B", "name": name, "namespace": "team-a", "engine": "vllm"},
        catalog=stack.context.catalog,
    )
    manifest = render_dgd(request, image="nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.4.0",
                          origin=SlackOrigin(user, "C0GENERAL", ts))  # fmt: skip
    make_ready(stack.k8s.store, signed(manifest, stack.settings))
    return ts


def row_menu(stack: Stack, name: str) -> list[dict[str, Any]]:
    reply = stack.replies(stack.command("list"))[0]
    menus = [
        b["accessory"]["options"]
        for b in reply["blocks"]
        if b.get("accessory", {}).get("type") == "overflow"
        and b["accessory"]["options"][0]["value"] == f"view:team-a/{name}"
    ]
    assert len(menus) == 1, reply
    options: list[dict[str, Any]] = menus[0]
    return options


def pick(stack: Stack, option: dict[str, Any]) -> str:
    """Choose ``option`` of a row's menu, as Slack sends an overflow choice (the option's
    text and value; a link option's url stays with Slack)."""
    chosen = {"text": option["text"], "value": option["value"]}
    return stack.click(ACTION_DEPLOYMENT_MENU, selected=chosen, kind="overflow")


def test_a_running_rows_menu_links_to_its_thread_and_offers_try_it(stack: Stack) -> None:
    workspace = record_auth_test(stack)
    ts = carded(stack, "qwen-menu")
    options = row_menu(stack, "qwen-menu")
    assert [o["text"]["text"] for o in options] == [
        "View details", "Try it", "Open thread", "Delete…",
    ]  # fmt: skip
    link = options[2]
    assert link["url"] == f"{workspace}archives/C0GENERAL/p{ts.replace('.', '')}"
    assert workspace == "https://dynamote-test.slack.com/"


def test_without_auth_tests_answer_there_is_no_thread_link(stack: Stack) -> None:
    carded(stack, "qwen-early")
    labels = [o["text"]["text"] for o in row_menu(stack, "qwen-early")]
    assert labels == ["View details", "Try it", "Delete…"]


def test_try_it_in_the_menu_opens_the_try_it_modal_with_the_clicks_trigger_id(
    stack: Stack,
) -> None:
    carded(stack, "qwen-try")
    try_it = next(o for o in row_menu(stack, "qwen-try") if o["text"]["text"] == "Try it")
    pick(stack, try_it)
    (opened,) = stack.slack.wait_for("views.open")
    assert opened.response["ok"] is True, opened.response  # the stand-in checks the trigger
    view = opened.response["view"]
    assert view["callback_id"] == CALLBACK_TRY_IT
    assert "team-a/qwen-try" in view["private_metadata"]


def test_open_thread_is_only_acked(stack: Stack) -> None:
    record_auth_test(stack)
    carded(stack, "qwen-link")
    link = next(o for o in row_menu(stack, "qwen-link") if o["text"]["text"] == "Open thread")
    before = len(stack.slack.calls())
    name = pick(stack, link)  # click() asserts the 200 ack within 3 s
    stack.settle()
    after = stack.slack.calls()[before:]
    assert [c.method for c in after] == [], "Open thread must do nothing but ack"
    assert not [c for c in stack.slack.calls("response_url") if c.path.endswith(f"/{name}")]


def test_home_rows_link_to_their_threads(stack: Stack) -> None:
    workspace = record_auth_test(stack)
    ts = carded(stack, "qwen-home")
    stack.event({"type": "app_home_opened", "user": "U0ALICE", "tab": "home"})

    def published() -> dict[str, Any] | None:
        calls = stack.slack.calls("views.publish")
        return calls[-1].params["view"] if calls else None

    view = wait_for(published, what="the Home tab")
    urls = [
        o.get("url")
        for b in view["blocks"]
        if b.get("accessory", {}).get("type") == "overflow"
        for o in b["accessory"]["options"]
    ]
    assert f"{workspace}archives/C0GENERAL/p{ts.replace('.', '')}" in urls
