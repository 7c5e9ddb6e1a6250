"""The simulated frontends behind the stand-in's service proxy, reached as the bot reaches
them (``bot.cluster.frontend`` through the official client's ApiClient), and with plain HTTP
for the non-streamed answer."""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.cluster import Cluster
from bot.cluster.frontend import FrontendError
from bot.domain.catalog import load_catalog
from bot.domain.manifest import render_dgd
from bot.domain.request import parse_request
from bot.domain.tryit import Figures, chat_request, read_event
from bot.sim.k8s.standin import StandIn, default_crd_path
from bot.sim.operator.controller import SimOperator
from tests.stacks import stack_settings
from tests.waiting import wait_for, wait_until

MODEL = "Qwen/Qwen3-0.6B"


@pytest.fixture
def standin() -> Iterator[StandIn]:
    with StandIn(crd_path=default_crd_path(), seed_namespaces=("team-a",)) as running:
        running.frontends.first_token_after = 0.2
        running.frontends.tokens_per_second = 100.0
        yield running


@pytest.fixture
def cluster(standin: StandIn, tmp_path: Path) -> Iterator[Cluster]:
    kubeconfig = standin.write_kubeconfig(tmp_path / "kubeconfig")
    settings = stack_settings(frontend_access="service-proxy", frontend_read_timeout=5.0)
    with Cluster(kubeconfig, settings=settings) as connected:
        yield connected


def deploy(standin: StandIn, name: str, *, ready_after: float) -> SimOperator:
    request = parse_request(
        {"model": MODEL, "name": name, "namespace": "team-a", "engine": "vllm"},
        catalog=load_catalog(),
    )
    standin.store.create("dynamographdeployments", render_dgd(request, image="img:1.4.0"))
    operator = SimOperator(standin.store, ready_after=ready_after, tick=0.02)
    operator.start()
    return operator


def served(cluster: Cluster, service: str) -> list[str]:
    """What the frontend lists, [] while it has no Service or ready pod yet."""
    try:
        return cluster.frontend.served_models("team-a", service)
    except FrontendError as error:
        assert error.problem in ("missing", "loading"), error.message
        return []


def ready_endpoints(standin: StandIn, name: str) -> bool:
    endpoints = standin.store.get("endpoints", "team-a", f"{name}-frontend") or {}
    return any(s.get("addresses") for s in endpoints.get("subsets") or ())


def test_a_running_frontend_lists_its_model_and_streams_an_answer_quoting_the_prompt(
    standin: StandIn, cluster: Cluster
) -> None:
    operator = deploy(standin, "qwen-try", ready_after=0.2)
    try:
        models = wait_for(lambda: served(cluster, "qwen-try-frontend") or None, what="listed")
        assert models == [MODEL]
        sent = time.monotonic()
        lines = cluster.frontend.stream_chat(
            "team-a", "qwen-try-frontend", chat_request(MODEL, "Why is the sky blue?", 64)
        )
        figures, text, done = Figures(), "", False
        for line in lines:
            event = read_event(line)
            if event is None:
                continue
            figures.record(event, time.monotonic() - sent)
            text += event.text
            done = done or event.done
    finally:
        operator.stop()
    assert done
    assert text.startswith('You said: "Why is the sky blue?".')
    assert figures.first_token is not None and figures.first_token >= 0.2
    assert figures.completion_tokens == figures.pieces == len(text.split(" "))
    speed = figures.tokens_per_second()
    assert speed is not None and 20 < speed <= 110  # 100 tokens/s, give or take the sleeps


def test_the_answer_is_cut_at_max_tokens(standin: StandIn, cluster: Cluster) -> None:
    operator = deploy(standin, "qwen-short", ready_after=0.1)
    try:
        wait_until(lambda: bool(served(cluster, "qwen-short-frontend")), what="listed")
        events = [
            read_event(line)
            for line in cluster.frontend.stream_chat(
                "team-a", "qwen-short-frontend", chat_request(MODEL, "hello", 3)
            )
        ]
    finally:
        operator.stop()
    text = "".join(e.text for e in events if e is not None)
    assert text == 'You said: "hello".'
    assert [e.finish_reason for e in events if e is not None and e.finish_reason] == ["length"]
    assert [e.completion_tokens for e in events if e and e.completion_tokens] == [3]


def test_not_streamed_over_plain_http_with_openai_shapes(standin: StandIn) -> None:
    operator = deploy(standin, "qwen-plain", ready_after=0.1)
    base = f"{standin.url}/api/v1/namespaces/team-a/services/qwen-plain-frontend:8000/proxy"
    try:
        wait_until(lambda: ready_endpoints(standin, "qwen-plain") and bool(_models(base)))
        listed = _models(base)
        body = json.dumps(
            {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 50}
        ).encode()
        request = urllib.request.Request(
            f"{base}/v1/chat/completions", body, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            completion = json.load(answer)
    finally:
        operator.stop()
    assert listed["object"] == "list"
    (entry,) = listed["data"]
    assert entry["id"] == MODEL and entry["object"] == "model"
    assert isinstance(entry["created"], int) and isinstance(entry["owned_by"], str)
    assert completion["object"] == "chat.completion"
    assert completion["choices"][0]["message"]["role"] == "assistant"
    assert completion["choices"][0]["message"]["content"].startswith('You said: "hi".')
    assert completion["choices"][0]["finish_reason"] == "stop"
    assert completion["usage"]["completion_tokens"] > 0


def _models(base: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{base}/v1/models", timeout=10) as answer:
        listed: dict[str, Any] = json.load(answer)
    return listed if listed.get("data") else {}


def test_no_service_no_ready_pod_and_unknown_model_each_say_so(
    standin: StandIn, cluster: Cluster
) -> None:
    with pytest.raises(FrontendError) as missing:
        cluster.frontend.served_models("team-a", "nothing-frontend")
    assert missing.value.problem == "missing" and missing.value.status == 404

    operator = deploy(standin, "qwen-slow", ready_after=3600)  # never ready in this test
    try:
        wait_for(lambda: standin.store.get("services", "team-a", "qwen-slow-frontend"))
        with pytest.raises(FrontendError) as loading:
            cluster.frontend.served_models("team-a", "qwen-slow-frontend")
    finally:
        operator.stop()
    assert loading.value.problem == "loading" and loading.value.status == 503
    assert "no ready pod" in loading.value.message


def test_a_model_not_loaded_yet_is_not_listed_and_not_served(
    standin: StandIn, cluster: Cluster
) -> None:
    operator = deploy(standin, "qwen-load", ready_after=0.1)
    try:
        wait_until(lambda: bool(served(cluster, "qwen-load-frontend")), what="listed")
    finally:
        operator.stop()
    # The worker goes unready (its model unloaded); the frontend pod stays ready.
    pods, _ = standin.store.list("pods", "team-a")

    def unready(pod: dict[str, Any]) -> None:
        pod["status"]["conditions"] = [{"type": "Ready", "status": "False"}]

    for pod in pods:
        if pod["metadata"]["labels"].get("nvidia.com/dynamo-component-type") != "frontend":
            standin.store.update("pods", "team-a", pod["metadata"]["name"], unready)
    assert cluster.frontend.served_models("team-a", "qwen-load-frontend") == []
    with pytest.raises(FrontendError) as refused:
        cluster.frontend.stream_chat("team-a", "qwen-load-frontend", chat_request(MODEL, "x", 5))
    assert refused.value.problem == "loading" and refused.value.status == 404


def test_the_proxy_needs_create_on_services_proxy_for_a_post(
    standin: StandIn, cluster: Cluster
) -> None:
    operator = deploy(standin, "qwen-rbac", ready_after=0.1)
    try:
        wait_until(lambda: bool(served(cluster, "qwen-rbac-frontend")), what="listed")
        standin.faults.forbid("create", "services/proxy", "team-a")
        with pytest.raises(FrontendError) as forbidden:
            cluster.frontend.stream_chat(
                "team-a", "qwen-rbac-frontend", chat_request(MODEL, "x", 5)
            )
        assert cluster.frontend.served_models("team-a", "qwen-rbac-frontend") == [MODEL]
    finally:
        operator.stop()
    assert forbidden.value.problem == "forbidden" and "services/proxy" in forbidden.value.message
    assert standin.api_calls()[("create", "services/proxy")] == 1


def test_a_refused_connection_is_a_clear_error_not_a_hang(
    standin: StandIn, cluster: Cluster
) -> None:
    standin.faults.refuse_connections()
    try:
        started = time.monotonic()
        with pytest.raises(FrontendError) as refused:
            cluster.frontend.served_models("team-a", "any-frontend")
    finally:
        standin.faults.refuse_connections(False)
    assert refused.value.problem in ("unreachable", "timeout")
    assert time.monotonic() - started < 5


def test_a_chunked_request_body_arrives_whole(standin: StandIn) -> None:
    """As ``kubectl create --raw -f -`` sends it: Transfer-Encoding chunked, no length."""
    operator = deploy(standin, "qwen-chunked", ready_after=0.1)
    path = "/api/v1/namespaces/team-a/services/qwen-chunked-frontend:8000/proxy"
    try:
        wait_until(
            lambda: ready_endpoints(standin, "qwen-chunked") and bool(_models(standin.url + path))
        )
        body = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": "chunks"}]})
        connection = http.client.HTTPConnection("127.0.0.1", standin.port, timeout=10)
        pieces = iter([body[:10].encode(), body[10:].encode()])
        connection.request(
            "POST", f"{path}/v1/chat/completions", body=pieces,
            headers={"Content-Type": "application/json"}, encode_chunked=True,
        )  # fmt: skip
        answer = connection.getresponse()
        completion = json.loads(answer.read())
        connection.close()
    finally:
        operator.stop()
    assert answer.status == 200, completion
    assert completion["choices"][0]["message"]["content"].startswith('You said: "chunks".')


def test_metrics_count_the_chat_completions_served_per_model(
    standin: StandIn, cluster: Cluster
) -> None:
    operator = deploy(standin, "qwen-count", ready_after=0.1)
    base = f"{standin.url}/api/v1/namespaces/team-a/services/qwen-count-frontend:8000/proxy"
    try:
        wait_until(lambda: bool(served(cluster, "qwen-count-frontend")), what="listed")
        before = cluster.frontend.requests_served("team-a", "qwen-count-frontend", MODEL)
        streamed = b"".join(
            cluster.frontend.stream_chat(
                "team-a", "qwen-count-frontend", chat_request(MODEL, "count me", 3)
            )
        )
        assert streamed.endswith(b"data: [DONE]\n\n")
        after_stream = cluster.frontend.requests_served("team-a", "qwen-count-frontend", MODEL)
        body = json.dumps(
            {"model": MODEL, "messages": [{"role": "user", "content": "and me"}], "max_tokens": 2}
        ).encode()
        request = urllib.request.Request(
            f"{base}/v1/chat/completions", body, {"Content-Type": "application/json"}
        )
        urllib.request.urlopen(request, timeout=10).close()
        refused = urllib.request.Request(
            f"{base}/v1/chat/completions",
            json.dumps({"model": "other", "messages": [{"role": "user", "content": "x"}]}).encode(),
            {"Content-Type": "application/json"},
        )
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(refused, timeout=10)
        with urllib.request.urlopen(f"{base}/metrics", timeout=10) as answer:
            content_type = answer.headers["Content-Type"]
            text = answer.read().decode()
        after_both = cluster.frontend.requests_served("team-a", "qwen-count-frontend", MODEL)
    finally:
        operator.stop()
    assert (before, after_stream, after_both) == (0, 1, 2)
    assert content_type.startswith("text/plain; version=0.0.4")
    assert "# TYPE dynamo_frontend_requests_total counter" in text
    assert (
        'dynamo_frontend_requests_total{endpoint="chat_completions",error_type="",'
        'model="Qwen/Qwen3-0.6B",request_type="stream",status="success"} 1'
    ) in text
    assert 'request_type="unary",status="success"} 1' in text


def test_metrics_of_a_missing_frontend_are_not_known(cluster: Cluster) -> None:
    assert cluster.frontend.requests_served("team-a", "nothing-frontend", MODEL) is None
