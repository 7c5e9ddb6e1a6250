"""Each /dynamote subcommand end to end: signed request in, ephemeral answer out."""

from __future__ import annotations

from tests.stacks import Stack, deploy_directly, text_of


def test_help_is_ephemeral_and_offers_the_three_buttons(stack: Stack) -> None:
    reply = stack.replies(stack.command("help"))[0]
    assert reply["response_type"] == "ephemeral"
    actions = [
        e["action_id"] for b in reply["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert {"browse_models", "open_deploy", "my_deployments"} <= set(actions)


def test_a_typo_gets_help_with_the_closest_subcommand(stack: Stack) -> None:
    reply = stack.replies(stack.command("lsit"))[0]
    assert "list" in text_of(reply) and "lsit" in text_of(reply)


def test_models_lists_matching_catalog_entries_with_deploy_buttons(stack: Stack) -> None:
    reply = stack.replies(stack.command("models llama trtllm"))[0]
    text = text_of(reply)
    assert "Llama 3.2 1B Instruct" in text and "TinyLlama" not in text
    values = [e.get("value") for b in reply["blocks"] if b["type"] in ("actions", "section")
              for e in (b.get("elements") or [b.get("accessory") or {}])]  # fmt: skip
    assert "meta-llama/Llama-3.2-1B-Instruct" in values


def test_list_all_shows_deployments_with_badges_and_buttons(stack: Stack) -> None:
    deploy_directly(stack, "qwen-one")
    deploy_directly(stack, "qwen-two", user="U0BOB", ns="team-b")
    reply = stack.replies(stack.command("list all"))[0]
    text = text_of(reply)
    assert "qwen-one" in text and "qwen-two" in text and "Running" in text


def test_list_mine_shows_only_my_deployments_and_an_empty_state_otherwise(stack: Stack) -> None:
    deploy_directly(stack, "alices", user="U0ALICE")
    deploy_directly(stack, "bobs", user="U0BOB")
    mine = text_of(stack.replies(stack.command("list"))[0])
    assert "alices" in mine and "bobs" not in mine
    carols = stack.replies(stack.command("list", user="U0CAROL"))[0]
    assert "open_deploy" in str(carols["blocks"])  # the empty state invites a first deploy


def test_list_in_a_namespace_outside_the_allowed_ones_is_refused(stack: Stack) -> None:
    text = text_of(stack.replies(stack.command("list all -n kube-system"))[0])
    assert "kube-system" in text and "team-a" in text


def test_status_shows_phase_pods_and_working_endpoint_commands(stack: Stack) -> None:
    deploy_directly(stack, "qwen-status")
    text = text_of(stack.replies(stack.command("status qwen-status"))[0])
    assert "Running" in text
    assert "kubectl port-forward svc/qwen-status-frontend 8000:8000 -n team-a" in text
    assert "localhost:8000/v1/chat/completions" in text and "Qwen/Qwen3-0.6B" in text


def test_status_of_an_unknown_deployment_says_so(stack: Stack) -> None:
    text = text_of(stack.replies(stack.command("status nothing-here"))[0])
    assert "no deployment named *nothing-here* in the namespaces Dynamote uses" in text
    named = text_of(stack.replies(stack.command("status nothing-here -n team-b"))[0])
    assert 'no deployment "nothing-here" in namespace "team-b"' in named


def test_status_finds_a_deployment_in_any_allowed_namespace(stack: Stack) -> None:
    deploy_directly(stack, "elsewhere", ns="team-b")
    reply = stack.replies(stack.command("status elsewhere"))[0]
    text = text_of(reply)
    assert reply["blocks"][0]["text"]["text"] == "elsewhere"  # the details' header
    assert "`team-b`" in text and "Running" in text


def test_the_same_name_in_two_namespaces_asks_which_one(stack: Stack) -> None:
    deploy_directly(stack, "twin", ns="team-a")
    deploy_directly(stack, "twin", ns="team-b", user="U0BOB")
    reply = stack.replies(stack.command("status twin"))[0]
    assert "2 deployments are named *twin*" in text_of(reply)
    choices = [b["accessory"] for b in reply["blocks"] if "accessory" in b]
    assert [(c["action_id"], c["value"]) for c in choices] == [
        ("view_deployment", "team-a/twin"),
        ("view_deployment", "team-b/twin"),
    ]
    assert choices[1]["accessibility_label"] == "View twin in team-b"
    details = text_of(stack.replies(stack.click("view_deployment", "team-b/twin"))[0])
    assert "`team-b`" in details and "<@U0BOB>" in details


def test_a_typo_is_offered_the_close_names_with_buttons(stack: Stack) -> None:
    deploy_directly(stack, "qwen-small", ns="team-b")
    reply = stack.replies(stack.command("delete qwen-smal"))[0]
    assert "Did you mean:" in text_of(reply)
    (choice,) = [b["accessory"] for b in reply["blocks"] if "accessory" in b]
    assert (choice["action_id"], choice["value"]) == ("deployment_menu", "delete:team-b/qwen-small")
    prompt = stack.replies(stack.click("deployment_menu", choice["value"]))[0]
    assert "Delete *qwen-small* in `team-b`?" in text_of(prompt)
    assert stack.k8s.store.get("dynamographdeployments", "team-b", "qwen-small") is not None


def test_status_with_no_name_shows_my_latest_deployment(stack: Stack) -> None:
    deploy_directly(stack, "older", ns="team-a")
    deploy_directly(stack, "bobs-newer", ns="team-a", user="U0BOB")
    reply = stack.replies(stack.command("status"))[0]
    assert reply["blocks"][0]["text"]["text"] == "older"
    none = stack.replies(stack.command("status", user="U0CAROL"))[0]
    assert "You have no deployments yet" in text_of(none)


def test_status_with_a_name_that_cannot_exist_never_reaches_the_cluster(stack: Stack) -> None:
    stack.k8s.reset_api_calls()
    text = text_of(stack.replies(stack.command("status ../../etc"))[0])
    assert "not a deployment name" in text
    assert not [k for k in stack.k8s.api_calls() if k[1] == "dynamographdeployments"]


def test_cluster_reports_version_dgd_versions_and_namespaces(stack: Stack) -> None:
    text = text_of(stack.replies(stack.command("cluster"))[0])
    assert "nvidia.com/v1beta1" in text and "team-a" in text and "team-b" in text


def test_delete_asks_for_confirmation_with_a_danger_button_naming_the_gpus(stack: Stack) -> None:
    deploy_directly(stack, "qwen-del")
    reply = stack.replies(stack.command("delete qwen-del"))[0]
    buttons = [e for b in reply["blocks"] if b["type"] == "actions" for e in b["elements"]
               if e.get("action_id") == "delete_deployment"]  # fmt: skip
    assert buttons and buttons[0]["style"] == "danger"
    confirm = buttons[0]["confirm"]
    assert confirm["style"] == "danger" and "qwen-del" in text_of(confirm)
    assert "GPU" in text_of(confirm)
    assert stack.k8s.store.get("dynamographdeployments", "team-a", "qwen-del") is not None


def test_commands_answer_when_the_cluster_is_down(stack: Stack) -> None:
    stack.k8s.faults.refuse_connections()
    try:
        text = text_of(stack.replies(stack.command("list all"))[0])
    finally:
        stack.k8s.faults.refuse_connections(False)
    assert "did not answer" in text or "reach" in text
