"""The stand-in Kubernetes API server: real HTTP on 127.0.0.1 over `http.server`.

Answers what the official Python client and kubectl 1.32 ask for: discovery, OpenAPI v3,
DGDs and a few core resources (see `resources.py`), watches (`watch.py`), SelfSubjectAccess-
Reviews, and the CRD. Requests are accepted without credentials (kubectl sends none over
plain http). Before routing, each request passes the fault injector (`faults.py`): refused
connections, added latency, injected 5xx, 403 for a denied verb/resource.

`ThreadingHTTPServer` gives one thread per connection, which suits the synchronous bot and
long-lived watch streams; HTTP/1.1 keep-alive and chunked encoding are handled here.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bot.sim.k8s.discovery import ApiResource, Catalog
from bot.sim.k8s.faults import Faults
from bot.sim.k8s.resources import ObjectHandlers
from bot.sim.k8s.routing import ApiRequest, Response, parse_request
from bot.sim.k8s.selectors import SelectorError
from bot.sim.k8s.statuses import ApiError, status_body
from bot.sim.k8s.store import Store
from bot.sim.k8s.validation import DgdSchemas
from bot.sim.k8s.watch import stream_watch
from bot.sim.operator.admission import LATEST_OPERATOR_VERSION
from bot.sim.operator.frontend import SimFrontends

__all__ = ["ApiServer"]

_log = logging.getLogger(__name__)
_HEALTH_PATHS = {"/healthz", "/readyz", "/livez"}


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    api: ApiServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HttpServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.api.track_connection(self.connection, open_=True)

    def finish(self) -> None:
        self.server.api.track_connection(self.connection, open_=False)
        super().finish()

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:
        _log.debug("%s " + format, self.address_string(), *args)

    def _serve(self) -> None:
        body = self._read_body()
        headers = {key.lower(): value for key, value in self.headers.items()}
        response = self.server.api.handle(self.command, self.path, headers, body)
        if response is None:  # refusing: drop the connection without an answer
            self.close_connection = True
            return
        try:
            self._send(response)
        except OSError:  # the client went away (or refuse_connections cut it off)
            self.close_connection = True

    def _read_body(self) -> bytes:
        # `kubectl create --raw -f -` sends its body chunked, without a Content-Length.
        if "chunked" not in (self.headers.get("Transfer-Encoding") or "").lower():
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""
        parts: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline()  # the CRLF after each chunk

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Cache-Control", "no-cache, private")
        for warning in response.warnings:
            escaped = warning.replace("\\", "\\\\").replace('"', '\\"')
            self.send_header("Warning", f'299 - "{escaped}"')
        if response.stream is not None:
            self._send_stream(response.stream)
            return
        payload = _encode(response.body)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _send_stream(self, stream: Callable[[Callable[[bytes], None]], None]) -> None:
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def write_chunk(data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        stream(write_chunk)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def _rv_of(obj: dict[str, Any]) -> str:
    return str(obj.get("metadata", {}).get("resourceVersion", ""))


def _encode(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body, separators=(",", ":")).encode()


class ApiServer:
    """Owns the listening socket and answers requests from the store."""

    def __init__(
        self,
        store: Store,
        faults: Faults,
        catalog: Catalog,
        schemas: DgdSchemas,
        *,
        port: int = 0,
        operator_version: str = LATEST_OPERATOR_VERSION,
    ) -> None:
        self.store = store
        self.faults = faults
        self.catalog = catalog
        self.objects = ObjectHandlers(store, catalog, schemas, operator_version=operator_version)
        self.port = port
        self.stopping = threading.Event()
        self.frontends = SimFrontends(store, self.stopping)
        self._http: _HttpServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        faults.on_refuse_change = self._on_refuse_change

    # ----- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        """Bind 127.0.0.1:port (0 picks a free port, kept across refuse/accept cycles)."""
        http = _HttpServer(("127.0.0.1", self.port), _Handler)
        http.api = self
        self.port = http.server_address[1]
        thread = threading.Thread(
            target=http.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"sim-apiserver-{self.port}",
            daemon=True,
        )
        with self._lock:
            self._http, self._thread = http, thread
        thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self._close_listener()
        self._drop_connections()

    def _close_listener(self) -> None:
        with self._lock:
            http, thread, self._http, self._thread = self._http, self._thread, None, None
        if http is not None:
            http.shutdown()
            http.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def _on_refuse_change(self, refuse: bool) -> None:
        if refuse:
            self._close_listener()
            self._drop_connections()
        elif not self.stopping.is_set():
            self.start()

    def track_connection(self, connection: socket.socket, *, open_: bool) -> None:
        with self._lock:
            if open_:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def _drop_connections(self) -> None:
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the other side
                connection.shutdown(socket.SHUT_RDWR)

    # ----- request handling ---------------------------------------------------------------

    def handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> Response | None:
        """Answer one request; None means drop the connection (refusing connections)."""
        if self.faults.refusing:
            return None
        request = parse_request(method, path, headers, body)
        delay = self.faults.latency_for(request.method, request.path)
        if delay > 0:
            time.sleep(delay)
        if request.plural is None:  # discovery, OpenAPI, health: counted by path
            self.faults.record_call(request.method.lower(), request.path)
        else:
            self.faults.record_call(request.verb, request.rbac_resource)
        try:
            injected = self.faults.error_for(request.method, request.path)
            if injected is not None:
                raise ApiError.injected(injected)
            response = self._route(request)
        except ApiError as error:
            response = Response(status=error.code, body=error.body)
        except SelectorError as error:
            response = Response(status=400, body=status_body(400, str(error), "BadRequest"))
        except Exception:  # a bug in the stand-in must still answer like a server
            _log.exception("stand-in failed on %s %s", method, path)
            failure = ApiError(500, "Internal error occurred: stand-in failure")
            response = Response(status=500, body=failure.body)
        response.warnings += self._deprecation_warnings(request)
        return response

    def _route(self, request: ApiRequest) -> Response:
        if request.query.get("dryRun", "All") != "All":
            raise ApiError(
                400, f'Invalid value: "{request.query["dryRun"]}": supported values: "All"'
            )
        if request.plural is None:
            return self._non_resource(request)
        resource = self.catalog.find(request.group, request.version, request.plural)
        if resource is None:
            raise ApiError.unknown_path()
        if self.faults.is_forbidden(request.verb, request.rbac_resource, request.namespace):
            raise ApiError.forbidden(
                request.verb,
                request.rbac_resource,
                resource.group,
                request.namespace,
                request.name,
                plural=resource.plural,
            )
        if resource.plural == "services" and request.subresource == "proxy":
            return self.frontends.proxy(request)  # the Service's frontend answers
        self._check_subresource(request, resource)
        return self._dispatch(request, resource)

    def _check_subresource(self, request: ApiRequest, resource: ApiResource) -> None:
        if request.subresource is None:
            return
        if request.subresource not in resource.subresources:
            raise ApiError.unknown_path()
        if request.subresource == "log" and request.method != "GET":
            raise ApiError.method_not_allowed()

    def _dispatch(self, request: ApiRequest, resource: ApiResource) -> Response:
        if resource.plural == "selfsubjectaccessreviews":
            return self._access_review(request)
        if resource.plural == "customresourcedefinitions":
            return self._crd(request)
        if (
            resource.namespaced
            and request.namespace is None
            and request.verb not in ("list", "watch")
        ):
            raise ApiError.unknown_path()
        verbs: dict[str, Callable[[ApiRequest, ApiResource], Response]] = {
            "get": self.objects.get,
            "list": self.objects.list,
            "create": self.objects.create,
            "update": self.objects.replace,
            "patch": self.objects.patch,
            "delete": self.objects.delete,
            "watch": self._watch,
        }
        handler = verbs.get(request.verb)
        if handler is None:
            raise ApiError.method_not_allowed()
        return handler(request, resource)

    def _watch(self, request: ApiRequest, resource: ApiResource) -> Response:
        render = None
        if request.wants_table:  # kubectl get -w: each event carries a one-row Table

            def render(obj: dict[str, Any]) -> dict[str, Any]:
                return self.catalog.table(resource, [obj], _rv_of(obj))

        stream = stream_watch(self.store, request, resource, self.stopping, render)
        return Response(stream=stream)

    def _access_review(self, request: ApiRequest) -> Response:
        if request.verb != "create":
            raise ApiError.method_not_allowed()
        review = json.loads(request.body or b"{}")
        attributes = (review.get("spec") or {}).get("resourceAttributes") or {}
        resource = attributes.get("resource", "")
        if attributes.get("subresource"):
            resource = f"{resource}/{attributes['subresource']}"
        denied = self.faults.is_forbidden(
            attributes.get("verb", ""), resource, attributes.get("namespace") or None
        )
        review["status"] = {"allowed": not denied}
        if denied:
            review["status"]["reason"] = "denied by the stand-in's fault injection"
        review.setdefault("apiVersion", "authorization.k8s.io/v1")
        review.setdefault("kind", "SelfSubjectAccessReview")
        review.setdefault("metadata", {})
        return Response(status=201, body=review)

    def _crd(self, request: ApiRequest) -> Response:
        crd = self.catalog.crd_object()
        if request.verb == "list":
            return Response(
                body={
                    "kind": "CustomResourceDefinitionList",
                    "apiVersion": "apiextensions.k8s.io/v1",
                    "metadata": {"resourceVersion": "1"},
                    "items": [crd],
                }
            )
        if request.verb == "get":
            if request.name != crd["metadata"]["name"]:
                raise ApiError.not_found(
                    "customresourcedefinitions", "apiextensions.k8s.io", request.name or ""
                )
            return Response(body=crd)
        raise ApiError.method_not_allowed()

    def _non_resource(self, request: ApiRequest) -> Response:
        if request.method not in ("GET", "HEAD"):
            raise ApiError.method_not_allowed()
        path, catalog = request.path, self.catalog
        if path in _HEALTH_PATHS:
            return Response(body="ok", content_type="text/plain")
        documents: dict[str, Callable[[], Any]] = {
            "/version": catalog.version_info,
            "/api": catalog.core_versions,
            "/apis": catalog.group_list,
            "/openapi/v3": catalog.openapi_root,
            "/api/v1": lambda: catalog.resource_list("", "v1"),
        }
        if path in documents:
            return Response(body=documents[path]())
        parts = path.strip("/").split("/")
        document: Any = None
        if parts[0] == "apis" and len(parts) == 2:
            document = catalog.group_document(parts[1])
        elif parts[0] == "apis" and len(parts) == 3:
            document = catalog.resource_list(parts[1], parts[2])
        elif parts[:2] == ["openapi", "v3"]:
            document = catalog.openapi_document("/".join(parts[2:]))
        if document is None:
            raise ApiError.unknown_path()
        return Response(body=document)

    def _deprecation_warnings(self, request: ApiRequest) -> list[str]:
        if request.plural is None or request.group != "nvidia.com":
            return []
        version = self.catalog.crd_version(request.version)
        warning = version.get("deprecationWarning")
        return [warning] if version.get("deprecated") and warning else []
