"""Reaching a deployment's OpenAI-compatible frontend: its Service, port 8000.

Two ways in, chosen by ``DYNAMOTE_FRONTEND_ACCESS``:

- ``cluster-dns``: straight to ``http://<service>.<namespace>.svc:8000`` (the bot runs in a pod
  of the cluster; its NetworkPolicy lets it reach port 8000 of the frontends);
- ``service-proxy``: through the API server's service proxy,
  ``/api/v1/namespaces/<ns>/services/<service>:8000/proxy/<path>``, with the bot's own
  credentials (RBAC ``services/proxy``: ``get`` for GET, ``create`` for POST, as the API
  server names the verb after the HTTP method);
- ``auto`` (the default): cluster DNS in a pod, the service proxy otherwise (a kubeconfig).

Every request has the cluster timeouts' connect part and ``DYNAMOTE_FRONTEND_READ_TIMEOUT``
per read, one attempt. Whatever goes wrong becomes a :class:`FrontendError` whose message
says what happened in words a Slack user can act on: never a hang, never a raw traceback.
"""

from __future__ import annotations

import json
import os
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from bot.cluster.connection import Connection
from bot.domain.deployments import FRONTEND_PORT

__all__ = [
    "REQUESTS_TOTAL",
    "Access",
    "Frontend",
    "FrontendError",
    "FrontendProblem",
    "requests_in_metrics",
    "resolve_access",
]

# The counter Dynamo's HTTP service keeps of the requests it handled, on ``/metrics`` of the
# frontend's port: ``dynamo_frontend_`` + ``frontend_service::REQUESTS_TOTAL`` in
# ai-dynamo/dynamo's lib/runtime/src/metrics/prometheus_names.rs, labelled ``model``,
# ``endpoint``, ``request_type`` and ``status`` (``success``/``error``) in
# lib/llm/src/http/service/metrics.rs (newer releases add ``error_type``, empty for a
# success). It counts from the start of the frontend's process.
REQUESTS_TOTAL = "dynamo_frontend_requests_total"

Access = Literal["cluster-dns", "service-proxy"]
FrontendProblem = Literal[
    "unreachable", "timeout", "loading", "forbidden", "missing", "answer", "refused"
]


class FrontendError(Exception):
    """The frontend could not answer; ``message`` is safe and useful to show in Slack."""

    def __init__(self, message: str, *, problem: FrontendProblem, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.problem = problem
        self.status = status


def resolve_access(setting: str, *, in_cluster: bool) -> Access:
    """The way in for ``DYNAMOTE_FRONTEND_ACCESS`` (``auto`` decides by where the bot runs)."""
    if setting in ("cluster-dns", "service-proxy"):
        return setting  # type: ignore[return-value]
    return "cluster-dns" if in_cluster else "service-proxy"


@dataclass(frozen=True)
class _Call:
    method: str
    namespace: str
    service: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None  # sent as JSON
    timeout: tuple[float, float]  # (connect, read)


@dataclass(frozen=True)
class _Answer:
    status: int
    response: Any  # a urllib3 HTTPResponse, not read yet


class Frontend:
    """Requests to one cluster's frontends (thread-safe: urllib3 pools are)."""

    def __init__(
        self,
        connection: Connection,
        *,
        access: Access,
        connect_timeout: float,
        read_timeout: float,
        list_timeout: float | None = None,
    ) -> None:
        self._connection = connection
        self.access = access
        self._timeout = (connect_timeout, read_timeout)
        # /v1/models is one small answer: the notifier asks it during a sweep, so no long wait.
        self._list_timeout = (connect_timeout, list_timeout or read_timeout)
        self._pool: Any = None

    # --- the two requests Try it makes -----------------------------------------------------

    def served_models(self, namespace: str, service: str) -> list[str]:
        """The ids ``GET /v1/models`` lists (an empty list while the model loads)."""
        answer = self._request("GET", namespace, service, "/v1/models", timeout=self._list_timeout)
        body = _read_all(answer, namespace, service)
        if answer.status != 200:
            raise _answer_error(answer.status, body, namespace, service)
        try:
            listed = json.loads(body)
        except ValueError:
            raise FrontendError(
                "The frontend's model list is not JSON; is something else listening on port "
                f"{FRONTEND_PORT} of `{service}`?",
                problem="answer",
            ) from None
        data = listed.get("data") if isinstance(listed, dict) else None
        return [str(m.get("id")) for m in data or () if isinstance(m, dict) and m.get("id")]

    def stream_chat(
        self, namespace: str, service: str, body: Mapping[str, Any]
    ) -> Generator[bytes, None, None]:
        """``POST /v1/chat/completions`` (streamed); yields the answer's lines as they come.

        Raises FrontendError before the first line for a refusal, and while iterating for a
        stream that stops or stalls. Close the generator to give up early.
        """
        answer = self._request("POST", namespace, service, "/v1/chat/completions", body=dict(body))
        if answer.status != 200:
            raise _answer_error(
                answer.status, _read_all(answer, namespace, service), namespace, service
            )
        return self._lines(answer, namespace, service)

    def requests_served(self, namespace: str, service: str, model: str) -> int | None:
        """How many requests for ``model`` the frontend answered since it started (its
        ``/metrics``); None when it cannot say: unreachable, refusing, or not Prometheus text."""
        try:
            answer = self._request(
                "GET",
                namespace,
                service,
                "/metrics",
                timeout=self._list_timeout,
                accept="text/plain",
            )
            body = _read_all(answer, namespace, service)
        except FrontendError:
            return None
        if answer.status != 200:
            return None
        return requests_in_metrics(body.decode("utf-8", "replace"), model)

    # --- plumbing --------------------------------------------------------------------------

    def _lines(self, answer: _Answer, namespace: str, service: str) -> Generator[bytes, None, None]:
        from urllib3.exceptions import HTTPError  # noqa: PLC0415  (with the client, lazily)

        response = answer.response
        read_to_end = False
        try:
            yield from response  # urllib3 splits the body into lines as they arrive
            read_to_end = True
        except (HTTPError, OSError) as error:
            raise _transport_error(error, namespace, service, streaming=True) from error
        finally:
            if read_to_end:
                response.release_conn()
            else:  # given up half-way: the connection still carries the rest, drop it
                response.close()

    def _request(
        self,
        method: str,
        namespace: str,
        service: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        timeout: tuple[float, float] | None = None,
        accept: str = "application/json, text/event-stream",
    ) -> _Answer:
        from urllib3.exceptions import HTTPError  # noqa: PLC0415

        headers = {"Accept": accept}
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            call = _Call(method, namespace, service, path, headers, body, timeout or self._timeout)
            response = self._direct(call) if self.access == "cluster-dns" else self._proxied(call)
        except (HTTPError, OSError) as error:
            raise _transport_error(error, namespace, service, streaming=False) from error
        return _Answer(int(response.status), response)

    def _direct(self, call: _Call) -> Any:
        import urllib3  # noqa: PLC0415

        if self._pool is None:
            self._pool = urllib3.PoolManager(retries=False)
        url = f"http://{call.service}.{call.namespace}.svc:{FRONTEND_PORT}{call.path}"
        connect, read = call.timeout
        return self._pool.request(
            call.method,
            url,
            body=json.dumps(call.body).encode() if call.body is not None else None,
            headers=call.headers,
            preload_content=False,
            timeout=urllib3.Timeout(connect=connect, read=read),
            retries=False,
        )

    def _proxied(self, call: _Call) -> Any:
        api_client = self._connection.apis.api_client
        resource = (
            f"/api/v1/namespaces/{call.namespace}/services/{call.service}:{FRONTEND_PORT}"
            f"/proxy{call.path}"
        )
        request = api_client.param_serialize(
            method=call.method,
            resource_path=resource,
            header_params=call.headers,
            body=call.body,
            auth_settings=["BearerToken"],
        )
        # The generated client's REST layer never reads ahead: the urllib3 response streams.
        return api_client.call_api(*request, _request_timeout=call.timeout).response


def requests_in_metrics(text: str, model: str) -> int | None:
    """The successful requests for ``model`` in a ``/metrics`` page (0 when the counter is there
    without a series for the model yet); None when the page has no such counter (another
    metrics prefix, or not a Dynamo frontend) or is not Prometheus' format."""
    from prometheus_client.parser import text_string_to_metric_families  # noqa: PLC0415

    total = 0.0
    counter = False
    try:
        for family in text_string_to_metric_families(text):
            # The parser names a counter's family without its ``_total`` suffix.
            counter |= family.name in (REQUESTS_TOTAL, REQUESTS_TOTAL.removesuffix("_total"))
            for sample in family.samples:
                if (
                    sample.name == REQUESTS_TOTAL
                    and sample.labels.get("model") == model
                    and sample.labels.get("status", "success") == "success"
                ):
                    total += sample.value
    except (ValueError, TypeError, IndexError):
        return None
    return int(total) if counter else None


def _read_all(answer: _Answer, namespace: str, service: str) -> bytes:
    from urllib3.exceptions import HTTPError  # noqa: PLC0415

    try:
        return bytes(answer.response.read(decode_content=True))
    except (HTTPError, OSError) as error:
        raise _transport_error(error, namespace, service, streaming=True) from error
    finally:
        answer.response.release_conn()


def _transport_error(
    error: BaseException, namespace: str, service: str, *, streaming: bool
) -> FrontendError:
    from urllib3.exceptions import (  # noqa: PLC0415
        ConnectTimeoutError,
        NewConnectionError,
        ReadTimeoutError,
    )

    where = f"`{service}` in `{namespace}`"
    if isinstance(error, ReadTimeoutError) or (
        isinstance(error, TimeoutError) and not isinstance(error, ConnectTimeoutError)
    ):
        what = "stopped sending" if streaming else "did not answer"
        return FrontendError(
            f"The model {what} in time ({where}); it may be busy. Try again with fewer tokens.",
            problem="timeout",
        )
    if isinstance(error, ConnectTimeoutError):
        return FrontendError(
            f"Could not connect to the frontend {where} in time: a NetworkPolicy may block "
            "the way, or the cluster is slow. Try again in a minute.",
            problem="timeout",
        )
    if isinstance(error, NewConnectionError | ConnectionRefusedError):
        return FrontendError(
            f"Connection to the frontend {where} was refused: it is not listening yet. "
            "Try again in a minute.",
            problem="unreachable",
        )
    cut = "broke off the answer" if streaming else "could not be reached"
    return FrontendError(f"The frontend {where} {cut}; try again.", problem="unreachable")


def _answer_error(status: int, body: bytes, namespace: str, service: str) -> FrontendError:
    """What a non-2xx answer means: the API server's Status (the proxy) or the frontend's."""
    parsed: Any = None
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    where = f"`{service}` in `{namespace}`"
    if isinstance(parsed, dict) and parsed.get("kind") == "Status":
        message = str(parsed.get("message") or "")
        if status == 403:
            return FrontendError(
                f"Dynamote may not reach the model through the API server: it needs `get` "
                f"and `create` on `services/proxy` in `{namespace}`. Ask your platform team "
                "(manifests/namespace-access/rbac.yaml grants it).",
                problem="forbidden",
                status=status,
            )
        if status == 404:
            return FrontendError(
                f"The frontend Service {where} does not exist (yet).",
                problem="missing",
                status=status,
            )
        if status == 503 and "no endpoints available" in message:
            return FrontendError(
                f"The frontend {where} has no ready pod yet. Try again in a minute.",
                problem="loading",
                status=status,
            )
        return FrontendError(
            f"The API server could not reach the frontend {where} (HTTP {status}): {message[:300]}",
            problem="unreachable",
            status=status,
        )
    detail = _frontend_message(parsed) or body[:200].decode("utf-8", "replace").strip()
    if status in (404, 503) and (status == 503 or "model" in detail.lower()):
        return FrontendError(
            f"The model is still loading: the frontend {where} does not serve it yet "
            f"({detail[:200]}). Try again in a minute.",
            problem="loading",
            status=status,
        )
    return FrontendError(
        f"The frontend {where} answered HTTP {status}: {detail[:300] or 'no details'}",
        problem="refused",
        status=status,
    )


def _frontend_message(parsed: Any) -> str:
    """The message of Dynamo's error body (``message``) or OpenAI's (``error.message``)."""
    if not isinstance(parsed, dict):
        return ""
    error = parsed.get("error")
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    if isinstance(error, str):
        return error
    return str(parsed.get("message") or "")


def in_cluster(kubeconfig: object) -> bool:
    """Whether the client talks to the API server as a pod's service account."""
    return kubeconfig is None and bool(os.environ.get("KUBERNETES_SERVICE_HOST"))
