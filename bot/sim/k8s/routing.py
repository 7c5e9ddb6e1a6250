"""Turn an HTTP request into what the API server reasons about: verb, resource, namespace, name.

`/apis/nvidia.com/v1beta1/namespaces/team-a/dynamographdeployments/x/status` becomes
group nvidia.com, version v1beta1, namespace team-a, plural dynamographdeployments, name x,
subresource status; the Kubernetes verb (get/list/watch/create/update/patch/delete) follows
from the method and the query, as in kube-apiserver's RequestInfo.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["ApiRequest", "Response", "parse_request"]

_VERB_BY_METHOD = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


@dataclass
class ApiRequest:
    """A parsed request. `plural` is None for discovery and other non-resource paths."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes = b""
    group: str = ""
    version: str = ""
    namespace: str | None = None
    plural: str | None = None
    name: str | None = None
    subresource: str | None = None
    proxy_path: str = ""  # after `.../<name>/proxy`: the path the proxy passes on

    @property
    def verb(self) -> str:
        if self.method in ("GET", "HEAD"):
            if self.name is None:
                return "watch" if self.is_watch else "list"
            return "get"
        verb = _VERB_BY_METHOD.get(self.method, self.method.lower())
        return "deletecollection" if verb == "delete" and self.name is None else verb

    @property
    def rbac_resource(self) -> str:
        """The resource as RBAC names it: `pods`, or `pods/log` for a subresource."""
        plural = self.plural or ""
        return f"{plural}/{self.subresource}" if self.subresource else plural

    @property
    def is_watch(self) -> bool:
        return self.query.get("watch", "").lower() in ("true", "1")

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def wants_table(self) -> bool:
        return "as=table" in self.headers.get("accept", "").lower().replace(" ", "")

    @property
    def dry_run(self) -> bool:
        return self.query.get("dryRun") == "All"


@dataclass
class Response:
    """A JSON (dict) or text answer, or a stream: `stream(write)` writes chunks until done."""

    status: int = 200
    body: Any = None
    content_type: str = "application/json"
    warnings: list[str] = field(default_factory=list)
    stream: Callable[[Callable[[bytes], None]], None] | None = None
    chunks: Iterator[bytes] | None = None


def _resource_parts(request: ApiRequest, parts: list[str]) -> None:
    if len(parts) >= 3 and parts[0] == "namespaces":
        request.namespace, parts = parts[1], parts[2:]
    elif len(parts) == 2 and parts[0] == "namespaces":
        request.plural, request.name = "namespaces", parts[1]
        return
    if parts:
        request.plural = parts[0]
    if len(parts) >= 2:
        request.name = parts[1]
    if len(parts) >= 3 and parts[2] == "proxy":  # the rest is the proxied path, not ours
        request.subresource, request.proxy_path = "proxy", "/".join(parts[3:])
    elif len(parts) >= 3:
        request.subresource = "/".join(parts[2:])


def parse_request(method: str, raw_path: str, headers: dict[str, str], body: bytes) -> ApiRequest:
    """Split the path into group/version/namespace/resource/name/subresource."""
    split = urlsplit(raw_path)
    query = {key: values[-1] for key, values in parse_qs(split.query).items()}
    request = ApiRequest(method.upper(), split.path.rstrip("/") or "/", query, headers, body)
    parts = [part for part in split.path.split("/") if part]
    if len(parts) >= 2 and parts[0] == "api":
        request.version = parts[1]
        _resource_parts(request, parts[2:])
    elif len(parts) >= 3 and parts[0] == "apis":
        request.group, request.version = parts[1], parts[2]
        _resource_parts(request, parts[3:])
    return request
