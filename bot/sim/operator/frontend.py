"""The simulated frontends: each Running DGD's frontend answers through the API server's proxy.

A request to ``/api/v1/namespaces/<ns>/services/<name>[:<port>]/proxy/<path>`` is what
``kubectl get --raw`` and the official client send to reach a Service through the API server.
As kube-apiserver does (the service REST storage's ResourceLocation), the Service must exist
(else 404 ``services "<name>" not found``), the port must be one of its ports, and one of its
Endpoints must be ready (else 503 ``no endpoints available for service "<name>"``); the path
then goes to the pod.

Behind it, a frontend speaks the part of OpenAI's API Try it uses, as Dynamo's HTTP service
does (``lib/llm/src/http/service/openai.rs`` in ai-dynamo/dynamo):

- ``GET /v1/models``: ``{"object": "list", "data": [{"id", "object": "model", "created",
  "owned_by"}]}``, listing the served model once one of its workers has been ready for
  ``register_after`` seconds (a worker registers its model once it has loaded it, which
  may be after its pod reports Ready), an empty list before;
- ``POST /v1/chat/completions``: an unknown model gets Dynamo's 404 body
  ``{"message": "Model not found", "type": "Not Found", "code": 404}``; otherwise a
  deterministic answer that quotes the last user message, cut at ``max_tokens``. Streamed
  (``"stream": true``) as server-sent events, ``data: {chunk}`` with ``choices[0].delta``,
  a ``usage`` chunk when ``stream_options.include_usage``, then ``data: [DONE]``; the first
  token comes after ``first_token_after`` seconds, then one every ``1 / tokens_per_second``;
- ``GET /metrics``: Prometheus text, with the counter Dynamo's HTTP service keeps of the
  requests it handled, ``dynamo_frontend_requests_total{model, endpoint, request_type,
  status, error_type}`` (``frontend_service::REQUESTS_TOTAL`` in ``lib/runtime/src/metrics/
  prometheus_names.rs``, its labels in ``lib/llm/src/http/service/metrics.rs``; ``error_type``
  is empty for a success): one per chat completion answered, counted when the answer ends. The
  counter lives in the frontend's process, so it starts at zero with each frontend pod (a
  restarted or replaced pod, or a new Service before its pod).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from bot.sim.k8s.routing import ApiRequest, Response
from bot.sim.k8s.statuses import ApiError
from bot.sim.k8s.store import Store
from bot.sim.operator.pods import LABEL_DGD, LABEL_TYPE, is_ready

__all__ = ["REQUESTS_TOTAL", "SimFrontends", "simulated_answer"]

REQUESTS_TOTAL = "dynamo_frontend_requests_total"

Obj = dict[str, Any]
_MODEL_FLAGS = ("--served-model-name", "--model", "--model-path")


def simulated_answer(model: str, prompt: str) -> str:
    """The answer a simulated model gives: the prompt quoted, and what it is."""
    quoted = " ".join(prompt.split())
    return (
        f'You said: "{quoted}". I am a simulated {model} served by Dynamote\'s simulator, so '
        "this answer quotes you instead of thinking. On a real cluster the model itself would "
        "reply here, token by token, as fast as its GPUs allow."
    )


def _tokens(text: str) -> list[str]:
    """Words with their leading space: a plausible stand-in for a tokenizer's pieces."""
    words = text.split(" ")
    return [words[0], *(f" {word}" for word in words[1:])]


class SimFrontends:
    """Answers proxied requests from the store's Services, Endpoints and pods."""

    def __init__(
        self,
        store: Store,
        stopping: threading.Event,
        *,
        first_token_after: float = 0.25,
        tokens_per_second: float = 40.0,
        register_after: float = 0.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.stopping = stopping
        self.first_token_after = first_token_after
        self.tokens_per_second = tokens_per_second
        self.register_after = register_after
        self._clock = clock
        self._ids = iter(range(1, 1 << 62))
        # (frontend, model, request_type) -> chat completions answered; the frontend is its
        # ready pod's uid (the Service's before one is known): a new process counts from zero.
        self._served: dict[tuple[str, str, str], int] = {}
        self._served_lock = threading.Lock()

    # --- the API server's part -------------------------------------------------------------

    def proxy(self, request: ApiRequest) -> Response:
        namespace = request.namespace or ""
        name, port = _service_and_port(request.name or "")
        service = self.store.get("services", namespace, name)
        if service is None:
            raise ApiError.not_found("services", "", name)
        ports = (service.get("spec") or {}).get("ports") or []
        if port and not any(str(p.get("port")) == port or p.get("name") == port for p in ports):
            raise ApiError(
                503, f'no service port "{port}" found for service "{name}"', "ServiceUnavailable"
            )
        endpoints = self.store.get("endpoints", namespace, name) or {}
        ready = [s for s in endpoints.get("subsets") or () if s.get("addresses")]
        if not ready:
            raise ApiError(
                503, f'no endpoints available for service "{name}"', "ServiceUnavailable"
            )
        metadata = service.get("metadata") or {}
        dgd = str((metadata.get("labels") or {}).get(LABEL_DGD) or "")
        frontend = self._frontend_process(namespace, dgd) or str(metadata.get("uid") or name)
        return self._frontend(request, namespace, dgd, frontend)

    # --- the frontend's part ---------------------------------------------------------------

    def _frontend(self, request: ApiRequest, namespace: str, dgd: str, frontend: str) -> Response:
        path = "/" + request.proxy_path.strip("/")
        if path == "/v1/models" and request.method == "GET":
            return Response(body=self._models(namespace, dgd))
        if path == "/v1/chat/completions" and request.method == "POST":
            return self._chat(request, namespace, dgd, frontend)
        if path == "/metrics" and request.method == "GET":
            return Response(
                body=self._metrics(frontend).encode(),
                content_type="text/plain; version=0.0.4; charset=utf-8",
            )
        if path in ("/v1/models", "/v1/chat/completions", "/metrics"):
            return Response(status=405, body=b"", content_type="text/plain")
        return Response(status=404, body=b"", content_type="text/plain")

    def served_model(self, namespace: str, dgd: str) -> str | None:
        """The model a ready worker of ``dgd`` registered, or None while none is ready."""
        pods, _ = self.store.list_shared("pods", namespace, f"{LABEL_DGD}={dgd}")
        for pod in pods:
            labels = (pod.get("metadata") or {}).get("labels") or {}
            if labels.get(LABEL_TYPE) == "frontend" or not self._registered(pod):
                continue
            for container in (pod.get("spec") or {}).get("containers") or ():
                found = _model_in(list(container.get("args") or ()))
                if found:
                    return found
        return None

    def _frontend_process(self, namespace: str, dgd: str) -> str | None:
        """The uid of the DGD's ready frontend pod (the first by name), or None."""
        pods, _ = self.store.list_shared("pods", namespace, f"{LABEL_DGD}={dgd}")
        frontends = sorted(
            (
                (pod.get("metadata") or {}).get("name") or "",
                str((pod.get("metadata") or {}).get("uid") or ""),
            )
            for pod in pods
            if ((pod.get("metadata") or {}).get("labels") or {}).get(LABEL_TYPE) == "frontend"
            and is_ready(pod)
        )
        return frontends[0][1] if frontends and frontends[0][1] else None

    def _registered(self, pod: Mapping[str, Any]) -> bool:
        """Ready for ``register_after`` seconds (by its Ready condition's transition time)."""
        if not is_ready(pod):
            return False
        if self.register_after <= 0:
            return True
        conditions = (pod.get("status") or {}).get("conditions") or []
        since = next(
            (c.get("lastTransitionTime") for c in conditions if c.get("type") == "Ready"), None
        )
        try:
            ready_at = datetime.fromisoformat(str(since).replace("Z", "+00:00")).timestamp()
        except ValueError:
            return True
        return self._clock() - ready_at >= self.register_after

    def _models(self, namespace: str, dgd: str) -> Obj:
        model = self.served_model(namespace, dgd)
        data = []
        if model is not None:
            created = int(self._clock())
            data.append({"id": model, "object": "model", "created": created, "owned_by": "nvidia"})
        return {"object": "list", "data": data}

    def _count(self, frontend: str, model: str, request_type: str) -> None:
        with self._served_lock:
            key = (frontend, model, request_type)
            self._served[key] = self._served.get(key, 0) + 1

    def _metrics(self, frontend: str) -> str:
        """The counter in Prometheus' text format, as the Rust prometheus crate writes it."""
        with self._served_lock:
            counts = sorted((k[1:], v) for k, v in self._served.items() if k[0] == frontend)
        lines = [
            f"# HELP {REQUESTS_TOTAL} Total number of LLM requests processed",
            f"# TYPE {REQUESTS_TOTAL} counter",
        ]
        for (model, request_type), count in counts:
            # The Rust prometheus crate writes a series' labels sorted by name.
            labels = (
                f'endpoint="chat_completions",error_type="",model="{_label_value(model)}",'
                f'request_type="{request_type}",status="success"'
            )
            lines.append(f"{REQUESTS_TOTAL}{{{labels}}} {count}")
        return "\n".join(lines) + "\n"

    def _chat(self, request: ApiRequest, namespace: str, dgd: str, frontend: str) -> Response:
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return _dynamo_error(400, "Failed to parse the request body as JSON")
        if not isinstance(body, dict):
            return _dynamo_error(400, "Failed to parse the request body as JSON")
        model = self.served_model(namespace, dgd)
        if model is None or body.get("model") != model:
            return _dynamo_error(404, "Model not found")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return _dynamo_error(400, "Validation: messages must not be empty")
        prompt = _last_user_message(messages)
        max_tokens = body.get("max_tokens") or body.get("max_completion_tokens") or 256
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
            return _dynamo_error(400, "Validation: max_tokens must be a positive integer")
        pieces = _tokens(simulated_answer(model, prompt))
        finish = "length" if len(pieces) > max_tokens else "stop"
        pieces = pieces[:max_tokens]
        usage = {
            "prompt_tokens": len(_tokens(prompt)),
            "completion_tokens": len(pieces),
            "total_tokens": len(_tokens(prompt)) + len(pieces),
        }
        completion_id = f"chatcmpl-sim-{next(self._ids)}"
        created = int(self._clock())
        if body.get("stream") is True:
            options = body.get("stream_options") or {}
            include_usage = isinstance(options, dict) and options.get("include_usage") is True
            stream = self._streamer(
                counted=lambda: self._count(frontend, model, "stream"),
                completion_id=completion_id,
                created=created,
                model=model,
                pieces=pieces,
                finish=finish,
                usage=usage if include_usage else None,
            )
            return Response(stream=stream, content_type="text/event-stream")
        self._wait(self.first_token_after + (len(pieces) - 1) / self.tokens_per_second)
        self._count(frontend, model, "unary")
        return Response(
            body={
                "id": completion_id,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "".join(pieces)},
                        "finish_reason": finish,
                    }
                ],
                "usage": usage,
            }
        )

    def _streamer(
        self,
        *,
        counted: Callable[[], None],
        completion_id: str,
        created: int,
        model: str,
        pieces: list[str],
        finish: str,
        usage: Obj | None,
    ) -> Callable[[Callable[[bytes], None]], None]:
        def chunk(choices: list[Obj], **extra: Any) -> bytes:
            payload = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": choices,
                **extra,
            }
            return f"data: {json.dumps(payload, separators=(',', ':'))}\n\n".encode()

        def stream(write: Callable[[bytes], None]) -> None:
            for index, piece in enumerate(pieces):
                wait = self.first_token_after if index == 0 else 1 / self.tokens_per_second
                if not self._wait(wait):
                    return
                delta: Obj = {"content": piece}
                if index == 0:
                    delta["role"] = "assistant"
                write(chunk([{"index": 0, "delta": delta, "finish_reason": None}]))
            write(chunk([{"index": 0, "delta": {}, "finish_reason": finish}]))
            if usage is not None:
                write(chunk([], usage=usage))
            counted()  # before the last line, so a client that has read it sees the count
            write(b"data: [DONE]\n\n")

        return stream

    def _wait(self, seconds: float) -> bool:
        """Sleep, unless the API server stops meanwhile (then False)."""
        return not self.stopping.wait(max(seconds, 0.0))


def _service_and_port(name: str) -> tuple[str, str]:
    """``[scheme:]name[:port]``, as the service proxy takes it."""
    parts = name.split(":")
    if len(parts) == 3:
        return parts[1], parts[2]
    if len(parts) == 2:
        return parts[0], parts[1]
    return name, ""


def _label_value(value: str) -> str:
    """Escaped as Prometheus' text format wants a label value."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _model_in(args: list[Any]) -> str | None:
    words = [str(a) for a in args]
    for flag in _MODEL_FLAGS:
        if flag in words[:-1]:
            return words[words.index(flag) + 1]
    return None


def _last_user_message(messages: list[Any]) -> str:
    for message in reversed(messages):
        if isinstance(message, Mapping) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):  # content parts: the text ones
                return " ".join(
                    str(p.get("text")) for p in content if isinstance(p, Mapping) and p.get("text")
                )
    return ""


def _dynamo_error(code: int, message: str) -> Response:
    kinds = {400: "Bad Request", 404: "Not Found", 503: "Service Unavailable"}
    return Response(
        status=code, body={"message": message, "type": kinds.get(code, "Error"), "code": code}
    )
