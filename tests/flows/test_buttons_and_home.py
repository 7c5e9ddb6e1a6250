"""Buttons on lists and details, delete with its audit trail, and App Home, end to end."""

from __future__ import annotations

import json
import threading

from bot.blocks.ids import (
    ACTION_BROWSE_MODELS,
    ACTION_DELETE_DEPLOYMENT,
    ACTION_DEPLOYMENT_MENU,
    ACTION_LIST_PAGE,
    ACTION_MY_DEPLOYMENTS,
    ACTION_OPEN_DEPLOY,
    ACTION_VIEW_DEPLOYMENT,
)
from bot.domain.manifest import ANNOTATION_DELETED_BY
from bot.sim.k8s.store import WatchEvent
from tests.stacks import Stack, deploy_directly, text_of


def test_view_shows_the_deployments_details(stack: Stack) -> None:
    deploy_directly(stack, "qwen-view")
    text = text_of(stack.replies(stack.click(ACTION_VIEW_DEPLOYMENT, "team-a/qwen-view"))[0])
    assert "qwen-view" in text and "kubectl port-forward svc/qwen-view-frontend" in text


def test_view_with_a_forged_value_outside_the_allowed_namespaces_is_refused(stack: Stack) -> None:
    stack.k8s.reset_api_calls()
    text = text_of(stack.replies(stack.click(ACTION_VIEW_DEPLOYMENT, "kube-system/coredns"))[0])
    assert "kube-system" in text
    assert not [k for k in stack.k8s.api_calls() if k[1] == "dynamographdeployments"]


def pick(stack: Stack, value: str, user: str = "U0ALICE") -> str:
    """Choose an option of a deployment's menu, as Slack sends an overflow choice."""
    option = {"text": {"type": "plain_text", "text": "x", "emoji": True}, "value": value}
    return stack.click(ACTION_DEPLOYMENT_MENU, user=user, selected=option, kind="overflow")


def test_list_rows_offer_delete_only_on_the_viewers_own(stack: Stack) -> None:
    deploy_directly(stack, "alices", user="U0ALICE")
    deploy_directly(stack, "bobs", user="U0BOB", ns="team-b")
    reply = stack.replies(stack.command("list all"))[0]
    menus = {
        b["accessory"]["options"][0]["value"]: [o["value"] for o in b["accessory"]["options"]]
        for b in reply["blocks"]
        if b.get("accessory", {}).get("type") == "overflow"
    }
    assert menus == {
        "view:team-a/alices": ["view:team-a/alices", "try:team-a/alices", "delete:team-a/alices"],
        "view:team-b/bobs": ["view:team-b/bobs", "try:team-b/bobs"],  # both Running
    }


def test_the_menu_shows_details_and_asks_before_deleting(stack: Stack) -> None:
    deploy_directly(stack, "alices", user="U0ALICE")
    details = text_of(stack.replies(pick(stack, "view:team-a/alices"))[0])
    assert "kubectl port-forward svc/alices-frontend" in details
    prompt = stack.replies(pick(stack, "delete:team-a/alices"))[0]
    buttons = [e for b in prompt["blocks"] if b["type"] == "actions" for e in b["elements"]]
    delete = next(b for b in buttons if b["action_id"] == ACTION_DELETE_DEPLOYMENT)
    assert delete["confirm"]["style"] == "danger"
    assert stack.k8s.store.get("dynamographdeployments", "team-a", "alices") is not None


def test_a_menu_delete_of_someone_elses_is_refused_before_any_confirm(stack: Stack) -> None:
    deploy_directly(stack, "bobs", user="U0BOB")
    refused = text_of(stack.replies(pick(stack, "delete:team-a/bobs"))[0])
    assert "Only <@U0BOB> or an admin may delete this deployment." in refused
    forged = text_of(stack.replies(pick(stack, "reboot:team-a/bobs"))[0])
    assert "Dynamote offers no such choice." in forged
    assert stack.k8s.store.get("dynamographdeployments", "team-a", "bobs") is not None


def test_delete_removes_the_dgd_records_who_and_tells_the_person(stack: Stack) -> None:
    deploy_directly(stack, "qwen-gone")
    deleted: list[WatchEvent] = []
    seen = threading.Event()

    def on_change(event: WatchEvent) -> None:
        if event.type == "DELETED" and event.resource == "dynamographdeployments":
            deleted.append(event)
            seen.set()

    unsubscribe = stack.k8s.store.subscribe(on_change)
    try:
        reply = stack.replies(stack.click(ACTION_DELETE_DEPLOYMENT, "team-a/qwen-gone"))[0]
        assert seen.wait(5)
    finally:
        unsubscribe()
    assert "qwen-gone" in text_of(reply)
    assert stack.k8s.store.get("dynamographdeployments", "team-a", "qwen-gone") is None
    annotations = deleted[0].object["metadata"]["annotations"]
    assert annotations[ANNOTATION_DELETED_BY] == "U0ALICE"


def test_delete_refuses_a_dgd_dynamote_did_not_create(stack: Stack) -> None:
    stack.k8s.store.create(
        "dynamographdeployments",
        {
            "apiVersion": "nvidia.com/v1beta1",
            "kind": "DynamoGraphDeployment",
            "metadata": {"name": "handmade", "namespace": "team-a"},
            "spec": {"components": []},
        },
    )
    text = text_of(stack.replies(stack.click(ACTION_DELETE_DEPLOYMENT, "team-a/handmade"))[0])
    # Nothing of it is shown: the answer a missing deployment gets.
    assert 'There is no deployment "handmade" in namespace "team-a"' in text
    assert stack.k8s.store.get("dynamographdeployments", "team-a", "handmade") is not None


def test_list_pages_replace_the_message(stack: Stack) -> None:
    for index in range(12):
        deploy_directly(stack, f"qwen-{index:02d}")
    value = json.dumps({"scope": "all", "namespace": None, "page": 1})
    reply = stack.replies(stack.click(ACTION_LIST_PAGE, value))[0]
    assert reply["replace_original"] is True
    assert "qwen-" in text_of(reply)


def test_my_deployments_and_browse_models_buttons_answer_ephemerally(stack: Stack) -> None:
    deploy_directly(stack, "alices-model")
    mine = stack.replies(stack.click(ACTION_MY_DEPLOYMENTS))[0]
    assert mine["response_type"] == "ephemeral" and "alices-model" in text_of(mine)
    models = stack.replies(stack.click(ACTION_BROWSE_MODELS))[0]
    assert "TinyLlama" in text_of(models)


def test_the_deploy_button_opens_the_modal_with_its_model(stack: Stack) -> None:
    stack.click(ACTION_OPEN_DEPLOY, "microsoft/Phi-3-mini-4k-instruct")
    view = stack.opened_view()
    model = next(b for b in view["blocks"] if b["block_id"].startswith("model"))
    assert model["element"]["initial_option"]["value"] == "microsoft/Phi-3-mini-4k-instruct"


def test_app_home_shows_my_deployments_and_everyone_elses(stack: Stack) -> None:
    deploy_directly(stack, "alices", user="U0ALICE")
    deploy_directly(stack, "bobs", user="U0BOB")
    stack.event({"type": "app_home_opened", "user": "U0ALICE", "tab": "home"})
    published = stack.slack.wait_for("views.publish")[0]
    assert published.params["user_id"] == "U0ALICE"
    text = text_of(published.params["view"])
    assert text.index("alices") < text.index("bobs")


def test_app_home_says_so_when_the_cluster_is_down(stack: Stack) -> None:
    stack.k8s.faults.refuse_connections()
    try:
        stack.event({"type": "app_home_opened", "user": "U0ALICE", "tab": "home"})
        published = stack.slack.wait_for("views.publish")[0]
    finally:
        stack.k8s.faults.refuse_connections(False)
    assert "reach" in text_of(published.params["view"]).lower() or "answer" in text_of(
        published.params["view"]
    )
