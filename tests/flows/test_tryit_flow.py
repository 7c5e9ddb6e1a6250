"""Try it end to end: signed requests to the app, the Slack stand-in, the Kubernetes stand-in
whose simulated frontends answer through the service proxy, and the real notifier for the
Running reply that carries the button."""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

from slack_sdk import WebClient

from bot.blocks.ids import ACTION_TRY_AGAIN, ACTION_TRY_IT, ACTION_TRY_POST
from bot.domain.manifest import ANNOTATION_THREAD, SlackOrigin, render_dgd
from bot.domain.request import parse_request
from bot.notifier.controller import Notifier
from bot.notifier.pacer import Pacer
from bot.slack.listeners.tryit import UPDATE_INTERVAL
from tests.signing import signed
from tests.stacks import Stack, app_stack, stack_settings, stand_ins, text_of
from tests.waiting import wait_for, wait_until

PROMPT = "What is the capital of France?"


def buttons(payload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        element["action_id"]: element
        for block in payload.get("blocks") or ()
        if block.get("type") == "actions"
        for element in block["elements"]
    }


def view_id_of(stack: Stack, number: int = 1) -> str:
    return str(stack.slack.wait_for("views.open", count=number)[number - 1].response["view"]["id"])


def finished_view(stack: Stack, view_id: str, timeout: float = 10.0) -> dict[str, Any]:
    """The answer view once its Try another prompt button shows (the stream is over)."""

    def done() -> dict[str, Any] | None:
        view = stack.slack.view(view_id) or {}
        return view if ACTION_TRY_AGAIN in buttons(view) else None

    found: dict[str, Any] = wait_for(done, timeout, "the finished answer")
    return found


def running_reply(stack: Stack, notifier: Notifier) -> dict[str, Any]:
    """Sweep until the notifier posts the Running reply; returns its chat.postMessage params."""

    def posted() -> dict[str, Any] | None:
        notifier.sweep()
        for call in stack.slack.calls("chat.postMessage"):
            if call.ok and call.params.get("thread_ts") and ACTION_TRY_IT in buttons(call.params):
                return call.params
        return None

    found: dict[str, Any] = wait_for(posted, 20, "the Running reply")
    return found


def test_after_a_deploy_try_it_on_the_running_reply_answers_quoting_the_prompt(
    stack: Stack,
) -> None:
    stack.command("deploy qwen3 0.6b", channel="C0ML")
    ack, _ = stack.submit(stack.opened_view())
    assert ack["response_action"] == "update"
    stack.wait_for_dgd("team-a", "qwen3-0-6b")
    client = WebClient(token=stack.slack.token, base_url=stack.slack.url)
    notifier = Notifier(stack.cluster, client, stack.settings, pacer=Pacer(0))
    reply = running_reply(stack, notifier)
    button = buttons(reply)[ACTION_TRY_IT]
    assert button["style"] == "primary" and button["value"] == "team-a/qwen3-0-6b"

    clicked = time.monotonic()
    stack.click(ACTION_TRY_IT, button["value"])
    view_id = view_id_of(stack, 2)  # the deploy modal was the first
    assert time.monotonic() - clicked < 3.0
    view = stack.slack.view(view_id)
    assert view is not None and view["callback_id"] == "try_it_modal"

    submitted = time.monotonic()
    ack, took = stack.submit(view, {"try_prompt": PROMPT})
    assert took < 3.0 and ack["response_action"] == "update"
    assert PROMPT in text_of(ack["view"])
    answer = finished_view(stack, view_id)
    assert time.monotonic() - submitted < 5.0, "an answer within a few seconds"
    text = text_of(answer)
    assert f'You said: "{PROMPT}"' in text
    assert "first token" in text and "tokens/s" in text
    assert ACTION_TRY_POST in buttons(answer)


def deployed_with_card(stack: Stack, name: str) -> dict[str, Any]:
    """Deploy ``name`` through the modal (the test's first view); returns the DGD once its
    card's place is on it and its frontend has a ready pod."""
    stack.command("deploy qwen3 0.6b", channel="C0ML")
    stack.submit(stack.opened_view(), {"name": name})

    def carded() -> dict[str, Any] | None:
        dgd = stack.k8s.store.get("dynamographdeployments", "team-a", name) or {}
        annotations = (dgd.get("metadata") or {}).get("annotations") or {}
        return dgd if annotations.get(ANNOTATION_THREAD) else None

    dgd: dict[str, Any] = wait_for(carded, what="the status card")
    wait_until(lambda: _endpoints_ready(stack, name), what="the frontend")
    return dgd


def test_the_answer_streams_in_paced_updates_then_is_shared_in_the_thread(stack: Stack) -> None:
    dgd = deployed_with_card(stack, "qwen-stream")
    thread = dgd["metadata"]["annotations"][ANNOTATION_THREAD]
    stack.k8s.frontends.tokens_per_second = 15.0  # ~50 tokens: ~3 s of streaming
    stack.click(ACTION_TRY_IT, "team-a/qwen-stream")
    view_id = view_id_of(stack, 2)
    stack.submit(stack.slack.view(view_id) or {}, {"try_max_tokens": "512"})
    answer = finished_view(stack, view_id, timeout=15)
    updates = [c for c in stack.slack.calls("views.update") if c.params.get("view_id") == view_id]
    streaming = [c for c in updates if "Streaming" in text_of(c.params["view"])]
    assert len(streaming) >= 2, "the answer is redrawn while it streams"
    gaps = [b.at - a.at for a, b in itertools.pairwise(streaming)]
    # About one redraw a second: the bot spaces its sends by UPDATE_INTERVAL; arrivals at the
    # stand-in can bunch a little on a loaded machine, never by half an interval.
    assert min(gaps) >= 0.5 * UPDATE_INTERVAL, gaps
    assert sum(gaps) / len(gaps) >= 0.9 * UPDATE_INTERVAL, gaps
    # Each redraw after the first names the hash the previous one returned.
    for before, after in itertools.pairwise(updates):
        assert after.params.get("hash") == before.response["view"]["hash"]

    stack.click(ACTION_TRY_POST, "post", view=answer)
    shared = wait_for(
        lambda: (
            [
                c.params
                for c in stack.slack.calls("chat.postMessage")
                if c.params.get("thread_ts") == thread and "tried" in text_of(c.params)
            ]
            or None
        ),
        what="the answer in the thread",
    )[0]
    text = text_of(shared)
    assert "<@U0ALICE> tried *qwen-stream*" in text
    assert 'You said: "In two sentences' in text and "first token" in text
    wait_until(
        lambda: ":white_check_mark: Posted" in text_of(stack.slack.view(view_id)),
        what="the Posted mark",
    )


def _endpoints_ready(stack: Stack, name: str) -> bool:
    endpoints = stack.k8s.store.get("endpoints", "team-a", f"{name}-frontend") or {}
    return any(s.get("addresses") for s in endpoints.get("subsets") or ())


# --- what goes wrong is said in the modal, never a hang --------------------------------------


def tried(stack: Stack, name: str, *, user: str = "U0ALICE", number: int = 1) -> dict[str, Any]:
    """Click Try it on ``name``, send the default prompt; returns the finished answer view."""
    stack.click(ACTION_TRY_IT, f"team-a/{name}", user=user)
    view_id = view_id_of(stack, number)
    ack, took = stack.submit(stack.slack.view(view_id) or {}, user=user)
    assert took < 3.0 and ack["response_action"] == "update", ack
    return finished_view(stack, view_id)


def ready(stack: Stack, name: str, *, user: str = "U0ALICE") -> None:
    """A signed deployment of ``user``'s, made without Slack, once the simulated operator has
    made its frontend ready (``make_ready`` would skip the Services)."""
    request = parse_request(
        {"model": "Qwen/Qwen3-0.6B", "name": name, "namespace": "team-a", "engine": "vllm"},
        catalog=stack.context.catalog,
    )
    manifest = render_dgd(request, image="nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.4.0",
                          origin=SlackOrigin(user, "C0GENERAL"))  # fmt: skip
    stack.k8s.store.create("dynamographdeployments", signed(manifest, stack.settings))
    wait_until(lambda: _endpoints_ready(stack, name), what="the frontend")


def test_the_submission_is_acked_before_any_cluster_call(stack: Stack) -> None:
    ready(stack, "qwen-slow-api")
    stack.k8s.faults.add_latency(2.0)
    try:
        stack.click(ACTION_TRY_IT, "team-a/qwen-slow-api")
        view_id = view_id_of(stack)
        _, took = stack.submit(stack.slack.view(view_id) or {})
        assert took < 1.5, "the ack must not wait on the cluster"
    finally:
        stack.k8s.faults.clear()
    assert 'You said: "In two sentences' in text_of(finished_view(stack, view_id, timeout=15))


def test_an_empty_prompt_and_too_many_tokens_are_inline_errors(stack: Stack) -> None:
    stack.click(ACTION_TRY_IT, "team-a/anything")
    view = stack.opened_view()
    ack, _ = stack.submit(view, {"try_prompt": "   ", "try_max_tokens": "5000"})
    assert ack["response_action"] == "errors"
    assert set(ack["errors"]) == {"try_prompt.0", "try_max_tokens.0"}


def test_a_person_over_the_rate_limit_is_told_when_to_try_again(tmp_path: Path) -> None:
    with (
        stand_ins(tmp_path) as shared,
        app_stack(shared, stack_settings(try_it_per_minute=1)) as stack,
    ):
        ready(stack, "qwen-limit")
        tried(stack, "qwen-limit")
        stack.click(ACTION_TRY_IT, "team-a/qwen-limit")
        ack, _ = stack.submit(stack.slack.view(view_id_of(stack, 2)) or {})
        assert ack["response_action"] == "errors"
        assert "You can send 1 prompts a minute; try again in" in ack["errors"]["try_prompt.0"]


def test_a_model_still_loading_is_said_plainly(stack: Stack) -> None:
    ready(stack, "qwen-loading")
    stack.operator.stop()  # nothing puts the worker back while the test looks

    def unready(pod: dict[str, Any]) -> None:
        pod["status"]["conditions"] = [{"type": "Ready", "status": "False"}]

    pods, _ = stack.k8s.store.list("pods", "team-a")
    for pod in pods:
        if pod["metadata"]["labels"].get("nvidia.com/dynamo-component-type") != "frontend":
            stack.k8s.store.update("pods", "team-a", pod["metadata"]["name"], unready)
    text = text_of(tried(stack, "qwen-loading"))
    assert "The model is still loading" in text and "Try again in a minute" in text
    assert ACTION_TRY_POST not in text


def test_without_the_proxy_permission_the_modal_says_what_to_grant(stack: Stack) -> None:
    ready(stack, "qwen-rbac")
    stack.k8s.faults.forbid("create", "services/proxy", "team-a")
    text = text_of(tried(stack, "qwen-rbac"))
    assert "`create` on `services/proxy` in `team-a`" in text


def test_someone_who_may_not_see_it_gets_the_missing_answer(stack: Stack) -> None:
    ready(stack, "qwen-forged")

    def forge(dgd: dict[str, Any]) -> None:
        dgd["metadata"]["annotations"]["dynamote.dev/requester"] = "U0MALLORY"

    stack.k8s.store.update("dynamographdeployments", "team-a", "qwen-forged", forge)
    stack.k8s.reset_api_calls()
    text = text_of(tried(stack, "qwen-forged", user="U0MALLORY"))
    assert 'There is no deployment "qwen-forged" in namespace "team-a"' in text
    assert not [k for k in stack.k8s.api_calls() if k[1] == "services/proxy"]


# --- Running means the model answers -------------------------------------------------------


def test_the_running_reply_waits_until_the_frontend_lists_the_model(stack: Stack) -> None:
    # The worker loads its model after its pod is Ready: here not before the test says so.
    stack.k8s.frontends.register_after = 24 * 3600.0
    stack.command("deploy qwen3 0.6b", channel="C0ML")
    stack.submit(stack.opened_view())
    stack.wait_for_dgd("team-a", "qwen3-0-6b")  # created after the ack
    client = WebClient(token=stack.slack.token, base_url=stack.slack.url)
    notifier = Notifier(stack.cluster, client, stack.settings, pacer=Pacer(0))

    def running_but_loading() -> bool:
        notifier.sweep()
        deployment = stack.context.service.get_deployment("team-a", "qwen3-0-6b")
        if deployment.status.phase != "Running" or not _endpoints_ready(stack, "qwen3-0-6b"):
            return False
        return stack.cluster.frontend.served_models("team-a", "qwen3-0-6b-frontend") == []

    wait_until(running_but_loading, what="Running with the model not listed yet")
    # That sweep saw the deployment Running and the model not yet listed: no Running reply.
    assert not [
        c for c in stack.slack.calls("chat.postMessage") if "is running" in text_of(c.params)
    ]
    stack.k8s.frontends.register_after = 0.0  # the model has loaded
    reply = running_reply(stack, notifier)
    assert stack.cluster.frontend.served_models("team-a", "qwen3-0-6b-frontend") == [
        "Qwen/Qwen3-0.6B"
    ]
    assert "is running" in text_of(reply)


def test_an_unreachable_frontend_leaves_pod_readiness_to_decide_and_says_why(
    stack: Stack,
) -> None:
    stack.k8s.faults.forbid("get", "services/proxy", "team-a")
    stack.command("deploy qwen3 0.6b", channel="C0ML")
    stack.submit(stack.opened_view())
    client = WebClient(token=stack.slack.token, base_url=stack.slack.url)
    notifier = Notifier(stack.cluster, client, stack.settings, pacer=Pacer(0))

    def posted() -> dict[str, Any] | None:
        notifier.sweep()
        for call in stack.slack.calls("chat.postMessage"):
            if call.ok and "is running" in text_of(call.params):
                return call.params
        return None

    reply = wait_for(posted, 20, "the Running reply")
    assert ACTION_TRY_IT not in buttons(reply)
    assert "Try it is unavailable: Dynamote may not reach the model" in text_of(reply)
