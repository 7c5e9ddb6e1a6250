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
    assert 'no deployment "nothing-here"' in text


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
