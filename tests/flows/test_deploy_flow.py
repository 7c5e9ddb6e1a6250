"""The deploy modal end to end: open, change model, preview, inline errors, deploy."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import yaml

from bot.blocks.ids import (
    ACTION_MODEL_SELECT,
    ACTION_PREVIEW_YAML,
    ACTION_SHOW_ADVANCED,
    ACTION_SIZE_SELECT,
)
from bot.config.settings import load_settings
from bot.domain.manifest import ANNOTATION_CHANNEL, ANNOTATION_THREAD, LABEL_MANAGED_BY
from tests.stacks import NAMESPACES, Stack, deploy_directly, stack_maker, text_of
from tests.standins.slack_requests import view_state
from tests.waiting import WAIT_SECONDS, wait_for


def with_state(view: dict[str, Any], typed: dict[str, Any] | None = None) -> dict[str, Any]:
    return {**view, "state": {"values": view_state(view, typed)}}


def inputs(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["block_id"].split(".")[0]: b for b in view["blocks"] if b["type"] == "input"}


def engine_choices(view: dict[str, Any]) -> list[str]:
    return [o["value"] for o in inputs(view)["engine"]["element"]["options"]]


def updated_view(stack: Stack, count: int = 1) -> dict[str, Any]:
    return dict(stack.slack.wait_for("views.update", count)[count - 1].params["view"])


def held_view_with(stack: Stack, view_id: str, text: str) -> dict[str, Any]:
    """The view as Slack holds it, once it shows ``text``."""

    def shows() -> dict[str, Any] | None:
        held = stack.slack.view(view_id)
        return held if held is not None and text in text_of(held) else None

    found: dict[str, Any] = wait_for(shows, what=f"the view showing {text!r}")
    return found


def show_advanced(
    stack: Stack, view: dict[str, Any], typed: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Press "Show advanced options" with ``typed`` in the form; the modal as Slack holds it."""
    before = len(stack.slack.calls("views.update"))
    stack.click(ACTION_SHOW_ADVANCED, "advanced", view=with_state(view, typed))
    update = updated_view(stack, before + 1)
    held = stack.slack.view(str(view["id"]))
    assert held is not None and held["blocks"] == update["blocks"]
    return held


def test_deploy_opens_the_modal_at_once_even_when_the_cluster_is_slow(stack: Stack) -> None:
    stack.k8s.faults.add_latency(2.0)
    try:
        started = time.monotonic()
        stack.command("deploy qwen3 0.6b")
        view = stack.opened_view()
        assert time.monotonic() - started < 1.5, "views.open must not wait on the cluster"
    finally:
        stack.k8s.faults.clear()
    fields = inputs(view)
    # At most six inputs: "Keep for" is an essential too (every deployment expires).
    assert list(fields) == ["model", "name", "namespace", "size", "keep_for"]
    assert fields["model"]["element"]["initial_option"]["value"] == "Qwen/Qwen3-0.6B"
    assert fields["name"]["element"]["initial_value"] == "qwen3-0-6b"
    assert [o["value"] for o in fields["namespace"]["element"]["options"]] == list(NAMESPACES)
    assert fields["size"]["element"]["initial_option"]["text"]["text"] == "1 GPU"
    assert "Progress is posted in <#C0GENERAL>" in text_of(view)


def test_the_advanced_options_appear_on_request_keeping_what_was_typed(stack: Stack) -> None:
    stack.command("deploy qwen3 0.6b")
    view = stack.opened_view()
    shown = show_advanced(stack, view, {"name": "my-qwen", "size": "2x1", "namespace": "team-b"})
    fields = inputs(shown)
    assert len(fields) == 14  # the 5 essentials and 9 advanced inputs
    assert engine_choices(shown) == ["vllm", "sglang", "trtllm"]
    assert fields["name"]["element"]["initial_value"] == "my-qwen"
    assert fields["size"]["element"]["initial_option"]["value"] == "2x1"
    assert fields["namespace"]["element"]["initial_option"]["value"] == "team-b"
    # The essentials keep their block ids, so Slack keeps what is typed in them meanwhile.
    assert {b["block_id"] for b in view["blocks"] if b["type"] == "input"} <= set(fields_ids(shown))
    assert "show_advanced" not in json.dumps(shown["blocks"])
    ack, _ = stack.submit(shown, {"router": "kv"})
    assert ack["response_action"] == "update"
    dgd = stack.wait_for_dgd("team-b", "my-qwen")
    request = json.loads(dgd["metadata"]["annotations"]["dynamote.dev/request"])
    assert (request["routerMode"], request["gpus"]) == ("kv", 2)


def fields_ids(view: dict[str, Any]) -> list[str]:
    return [b["block_id"] for b in view["blocks"] if b["type"] == "input"]


def test_the_essentials_deploy_with_the_defaults_in_one_submit(stack: Stack) -> None:
    stack.command("deploy qwen3 0.6b")
    ack, _ = stack.submit(stack.opened_view())
    assert ack["response_action"] == "update"
    dgd = stack.wait_for_dgd("team-a", "qwen3-0-6b")
    request = json.loads(dgd["metadata"]["annotations"]["dynamote.dev/request"])
    assert (request["engine"], request["gpus"], request["replicas"]) == ("vllm", 1, 1)
    assert request["hfTokenSecret"] == stack.context.settings.hf_secret


def test_the_cost_line_counts_the_persons_use_and_follows_the_size(tmp_path: Path) -> None:
    with stack_maker(tmp_path) as make:
        stack = make(max_gpus_per_user=4, max_deployments_per_user=None)
        deploy_directly(stack, "held", user="U0ALICE")
        stack.command("deploy qwen3 0.6b")
        view = stack.opened_view()
        counted = updated_view(stack)  # the person's use arrives after the open
        # The free GPUs and the fit follow once the cached capacity has been read.
        assert "Uses 1 GPU · you use 1 of your 4 GPUs" in text_of(counted)
        stack.click(
            ACTION_SIZE_SELECT,
            view=with_state(view, {"size": "2x2"}),
            selected={"value": "2x2", "text": {"type": "plain_text", "text": "2 replicas"}},
        )
        # The click carries the hash of the view as opened, which the note of the person's
        # use has changed since: what the person did must still reach the view Slack holds.
        resized = held_view_with(stack, str(view["id"]), "Uses 4 GPUs")
        assert "Does not fit: you have 3 GPUs left: choose a smaller size." in text_of(resized)


def test_a_used_up_quota_is_said_when_the_form_opens(tmp_path: Path) -> None:
    with stack_maker(tmp_path) as make:
        stack = make(max_gpus_per_user=1, max_deployments_per_user=None)
        deploy_directly(stack, "held", user="U0ALICE")
        stack.command("deploy qwen3 0.6b")
        counted = updated_view(stack)
        first = counted["blocks"][0]
        assert first["type"] == "section"
        assert "your GPUs are all in use: delete a deployment first" in first["text"]["text"]


def test_a_missing_secret_is_noted_in_the_open_modal_using_its_hash(stack: Stack) -> None:
    stack.k8s.store.delete("secrets", "team-a", "hf-token-secret")
    stack.command("deploy qwen3 0.6b")
    opened = stack.slack.wait_for("views.open")[0].response["view"]
    update = stack.slack.wait_for("views.update")[0]
    assert update.params["hash"] == opened["hash"]
    notice = text_of(update.params["view"])
    assert "kubectl create secret generic hf-token-secret" in notice and "team-a" in notice


def test_changing_the_model_updates_engines_and_name_and_keeps_what_was_typed(
    stack: Stack,
) -> None:
    stack.command("deploy qwen3 0.6b")
    view = show_advanced(stack, stack.opened_view())
    typed = {"size": "1x3", "engine_args": "max-num-seqs=8"}
    stack.click(
        ACTION_MODEL_SELECT,
        view=with_state(view, {**typed, "model": "TinyLlama/TinyLlama-1.1B-Chat-v1.0"}),
        selected={"value": "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
                  "text": {"type": "plain_text", "text": "TinyLlama"}},
    )  # fmt: skip
    update = stack.slack.wait_for("views.update", 2)[1]
    assert update.params["hash"] == view["hash"]
    updated = update.params["view"]
    assert engine_choices(updated) == ["vllm", "sglang"]
    fields = inputs(updated)
    assert fields["name"]["element"]["initial_value"] == "tinyllama-1-1b-chat-v1-0"
    assert fields["size"]["element"]["initial_option"]["value"] == "1x3"
    assert fields["engine_args"]["element"]["initial_value"] == "max-num-seqs=8"


def test_preview_pushes_the_exact_manifest_that_would_be_applied(stack: Stack) -> None:
    stack.command("deploy qwen3 0.6b")
    view = show_advanced(stack, stack.opened_view())
    stack.click(ACTION_PREVIEW_YAML, view=with_state(view, {"router": "kv"}))
    pushed = stack.slack.wait_for("views.push")[0].params["view"]
    code = "".join(b["text"]["text"] for b in pushed["blocks"] if b["type"] == "section")
    manifest = yaml.safe_load(code.replace("```", ""))
    assert manifest["apiVersion"] == "nvidia.com/v1beta1"
    assert manifest["metadata"]["name"] == "qwen3-0-6b"
    frontend = manifest["spec"]["components"][0]["podTemplate"]["spec"]["containers"][0]
    assert frontend["env"] == [{"name": "DYN_ROUTER_MODE", "value": "kv"}]


def test_rule_errors_show_inline_on_the_right_blocks_and_nothing_is_created(stack: Stack) -> None:
    stack.command("deploy qwen3 0.6b")
    view = show_advanced(stack, stack.opened_view())
    ack, took = stack.submit(view, {"name": "Bad_Name", "memory": "lots"})
    assert took < 3.0
    assert ack["response_action"] == "errors"
    errors = {key.split(".")[0]: value for key, value in ack["errors"].items()}
    assert set(errors) == {"name", "memory"}
    assert not stack.k8s.store.list("dynamographdeployments")[0]


def test_a_taken_name_is_shown_inline_with_a_free_suggestion(stack: Stack) -> None:
    stack.command("deploy qwen3 0.6b")
    first, _ = stack.submit(stack.opened_view())
    assert first.get("response_action") == "update"
    stack.wait_for_dgd("team-a", "qwen3-0-6b")
    stack.command("deploy qwen3 0.6b")
    ack, _ = stack.submit(stack.opened_view(2))
    assert ack["response_action"] == "errors"
    (message,) = ack["errors"].values()
    assert "taken" in message and "qwen3-0-6b-2" in message


def test_a_missing_hf_secret_is_flagged_before_anything_is_created(stack: Stack) -> None:
    stack.k8s.store.delete("secrets", "team-b", "hf-token-secret")
    stack.command("deploy qwen3 0.6b")
    ack, _ = stack.submit(stack.opened_view(), {"namespace": "team-b"})
    errors = {key.split(".")[0]: value for key, value in ack["errors"].items()}
    # The secret's input is hidden with the advanced options: the error is on the model, named.
    assert set(errors) == {"model"}
    assert errors["model"].startswith("HF token secret (advanced options): ")
    assert "kubectl create secret generic hf-token-secret" in errors["model"]
    assert not stack.k8s.store.list("dynamographdeployments")[0]


def test_a_crd_rejection_from_the_dry_run_is_shown_inline(stack: Stack) -> None:
    # A platform misconfiguration the API server refuses: not a quantity.
    stack.context.service.settings = load_settings(
        namespaces=list(NAMESPACES), default_namespace="team-a", ephemeral_storage="lots"
    )
    stack.command("deploy qwen3 0.6b")
    ack, _ = stack.submit(stack.opened_view())
    assert ack["response_action"] == "errors"
    assert "ephemeral-storage" in " ".join(ack["errors"].values())
    assert not stack.k8s.store.list("dynamographdeployments")[0]


def test_a_valid_submission_creates_the_dgd_posts_the_card_and_records_it(stack: Stack) -> None:
    stack.command("deploy qwen3 0.6b", channel="C0ML")
    view = show_advanced(stack, stack.opened_view())
    ack, took = stack.submit(view, {"router": "kv", "size": "1x2"})
    assert took < 3.0 and ack["response_action"] == "update"
    assert "Deploying" in text_of(ack["view"])
    dgd = stack.wait_for_dgd("team-a", "qwen3-0-6b")
    assert dgd["metadata"]["labels"][LABEL_MANAGED_BY] == "dynamote"
    request = json.loads(dgd["metadata"]["annotations"]["dynamote.dev/request"])
    assert request["routerMode"] == "kv" and request["replicas"] == 2
    card = stack.slack.wait_for("chat.postMessage")[0]
    assert card.params["channel"] == "C0ML" and "qwen3-0-6b" in text_of(card.params)
    done = _wait_for_view_update(stack, "qwen3-0-6b")
    assert "C0ML" in text_of(done)
    annotations = _wait_for_annotation(stack, "team-a", "qwen3-0-6b", ANNOTATION_THREAD)
    assert annotations[ANNOTATION_CHANNEL] == "C0ML"
    assert annotations[ANNOTATION_THREAD] == card.response["ts"]


def test_the_card_goes_to_a_dm_when_the_bot_cannot_post_in_the_channel(stack: Stack) -> None:
    stack.slack.fail("chat.postMessage", "not_in_channel", channel="C0PRIVATE")
    stack.command("deploy qwen3 0.6b", channel="C0PRIVATE")
    stack.submit(stack.opened_view())
    stack.slack.wait_for("conversations.open")
    posts = [c for c in stack.slack.wait_for("chat.postMessage", 2) if c.ok]
    assert posts and posts[-1].response["channel"].startswith("D")
    annotations = _wait_for_annotation(stack, "team-a", "qwen3-0-6b", ANNOTATION_THREAD)
    assert annotations[ANNOTATION_CHANNEL] == posts[-1].response["channel"]


def test_a_slow_cluster_gets_a_deploying_view_within_the_ack_and_finishes_later(
    stack: Stack,
) -> None:
    stack.context.submit_budget_seconds = 0.5
    stack.command("deploy qwen3 0.6b")
    view = stack.opened_view()
    stack.k8s.faults.add_latency(1.0, path_regex=r"/secrets/")
    try:
        ack, took = stack.submit(view)
    finally:
        stack.k8s.faults.clear()
    assert took < 1.5 and ack["response_action"] == "update"
    assert "Deploying" in text_of(ack["view"])
    stack.wait_for_dgd("team-a", "qwen3-0-6b")
    _wait_for_view_update(stack, "qwen3-0-6b")


def _wait_for_view_update(stack: Stack, name: str, timeout: float = WAIT_SECONDS) -> dict[str, Any]:
    return wait_for(
        lambda: next(
            (
                dict(call.params["view"])
                for call in stack.slack.calls("views.update")
                if name in text_of(call.params.get("view", {}))
            ),
            None,
        ),
        timeout,
        what="the modal updated with the result",
    )


def _wait_for_annotation(
    stack: Stack, namespace: str, name: str, key: str, timeout: float = WAIT_SECONDS
) -> dict[str, str]:

    def recorded() -> dict[str, str] | None:
        dgd = stack.k8s.store.get("dynamographdeployments", namespace, name) or {}
        annotations = dict((dgd.get("metadata") or {}).get("annotations") or {})
        return annotations if key in annotations else None

    return wait_for(recorded, timeout, what=f"{key} recorded on {namespace}/{name}")
