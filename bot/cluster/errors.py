"""Dynamote's errors for everything that goes wrong talking to the Kubernetes API.

The rest of the bot never sees a ``kubernetes`` or ``urllib3`` exception: each is turned into
one of these, raised ``from`` the original (so logs keep the whole story), with a message a
Slack user can act on and a ``temporary`` flag that says whether trying again later may help.

    ClusterError                      base; .message, .temporary
    ├── ApiError                      the API server answered with an error Status; .status, .reason
    │   ├── Forbidden                 403: .verb, .group, .resource, .namespace
    │   ├── NotFound                  404
    │   ├── AlreadyExists             409 on create: .name, .suggested_name
    │   ├── Conflict                  409 otherwise (stale resourceVersion)       temporary
    │   ├── Expired                   410 Gone: a watch's resourceVersion is too old  temporary
    │   ├── Invalid                   422: .causes, one FieldCause per field
    │   └── ServerError               5xx and 429                                 temporary
    ├── Unavailable                   no answer at all                            temporary
    │   ├── Unreachable               connection refused, DNS, TLS, reset
    │   └── TimedOut                  connect or read timeout
    ├── NotConfigured                 no in-cluster account and no kubeconfig
    ├── OperatorNotInstalled          no API serves dynamographdeployments.nvidia.com
    └── NotManaged                    the DGD was not created by Dynamote
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from bot.ops.metrics import KUBERNETES_API_ERRORS
from bot.ops.redaction import redact

__all__ = [
    "AlreadyExists",
    "ApiError",
    "ClusterError",
    "Conflict",
    "Expired",
    "FieldCause",
    "Forbidden",
    "Invalid",
    "NotConfigured",
    "NotFound",
    "NotManaged",
    "OperatorNotInstalled",
    "ServerError",
    "Target",
    "TimedOut",
    "Unavailable",
    "Unreachable",
    "from_status",
    "raising_cluster_errors",
    "translate",
]

OPERATOR_INSTALL_HINT = (
    "Install it with the dynamo-platform Helm chart "
    "(helm install dynamo-platform dynamo-platform-${RELEASE_VERSION}.tgz -n dynamo-system; see "
    "https://docs.nvidia.com/dynamo/latest/kubernetes/installation_guide.html), "
    "or ask your platform team to."
)


# Users know DGDs as deployments; everything else keeps its Kubernetes name.
_NOUNS = {"dynamographdeployments": "deployments"}


@dataclass(frozen=True)
class Target:
    """What a call was doing, so an error can say so: 'create deployments in team-a'."""

    verb: str
    resource: str
    group: str = ""
    namespace: str | None = None
    name: str | None = None
    subresource: str = ""

    @property
    def qualified_resource(self) -> str:
        """``resource[/subresource][.group]``, as RBAC and kubectl spell it."""
        full = f"{self.resource}/{self.subresource}" if self.subresource else self.resource
        return f"{full}.{self.group}" if self.group else full

    @property
    def where(self) -> str:
        return f'in namespace "{self.namespace}"' if self.namespace else "cluster-wide"

    @property
    def what(self) -> str:
        """What a Slack user calls it: 'deployment "x"', or 'deployments' when nameless."""
        noun = _NOUNS.get(self.resource, self.resource)
        return f'{noun.removesuffix("s")} "{self.name}"' if self.name else noun


@dataclass(frozen=True)
class FieldCause:
    """One reason the API server rejected an object: which field, and why."""

    field: str
    message: str
    reason: str = ""


class ClusterError(Exception):
    """Anything that went wrong with the cluster. ``str(error)`` is safe to show in Slack."""

    temporary: bool = False

    def __init__(self, message: str, *, temporary: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        if temporary is not None:
            self.temporary = temporary


class ApiError(ClusterError):
    """The API server answered with an error ``Status``."""

    def __init__(
        self, message: str, *, status: int, reason: str = "", temporary: bool | None = None
    ) -> None:
        super().__init__(message, temporary=temporary)
        self.status = status
        self.reason = reason


class Forbidden(ApiError):  # noqa: N818  (the Kubernetes API's reason)
    """The bot's account may not do this; the platform team can grant it."""

    def __init__(self, message: str, *, target: Target, reason: str = "Forbidden") -> None:
        super().__init__(message, status=403, reason=reason)
        self.verb = target.verb
        self.group = target.group
        self.resource = target.resource
        self.subresource = target.subresource
        self.namespace = target.namespace


class NotFound(ApiError):  # noqa: N818  (the Kubernetes API's reason)
    """The object (or its namespace, or its API) does not exist."""


class AlreadyExists(ApiError):  # noqa: N818  (the Kubernetes API's reason)
    """Create refused: the name is taken. ``suggested_name`` is free, when one was found."""

    def __init__(
        self, message: str, *, name: str, namespace: str | None, suggested_name: str | None = None
    ) -> None:
        super().__init__(message, status=409, reason="AlreadyExists")
        self.name = name
        self.namespace = namespace
        self.suggested_name = suggested_name


class Conflict(ApiError):  # noqa: N818  (the Kubernetes API's reason)
    """Someone else changed the object since it was read; re-read and retry."""

    temporary = True


class Expired(ApiError):  # noqa: N818  (the Kubernetes API's reason)
    """The resourceVersion a watch started from is too old: list again, then watch."""

    temporary = True


class Invalid(ApiError):  # noqa: N818  (the Kubernetes API's reason)
    """The API server rejected the object; ``causes`` says which fields and why."""

    def __init__(
        self, message: str, *, causes: tuple[FieldCause, ...], status: int = 422, reason: str = ""
    ) -> None:
        super().__init__(message, status=status, reason=reason or "Invalid")
        self.causes = causes


class ServerError(ApiError):
    """The API server failed or is overloaded (5xx, 429)."""

    temporary = True


class Unavailable(ClusterError):  # noqa: N818  (reads as what is wrong)
    """No answer came back from the API server."""

    temporary = True


class Unreachable(Unavailable):
    """The API server could not be reached: refused, unknown host, TLS failure, reset."""


class TimedOut(Unavailable):
    """The API server did not answer within the configured timeout."""


class NotConfigured(ClusterError):  # noqa: N818  (reads as what is wrong)
    """Neither an in-cluster service account nor a kubeconfig was found."""


class OperatorNotInstalled(ClusterError):  # noqa: N818  (reads as what is wrong)
    """The cluster serves no DynamoGraphDeployment API."""

    def __init__(self, detail: str = "") -> None:
        message = (
            "The Dynamo operator is not installed in this cluster: no API serves "
            f"dynamographdeployments.nvidia.com{detail}. {OPERATOR_INSTALL_HINT}"
        )
        super().__init__(message)


class NotManaged(ClusterError):  # noqa: N818  (reads as what is wrong)
    """Dynamote refuses to touch a DGD it did not create."""


# --- translation ---------------------------------------------------------------------------


@contextmanager
def raising_cluster_errors(target: Target) -> Iterator[None]:
    """Turn client and transport exceptions raised inside into Dynamote errors."""
    try:
        yield
    except ClusterError as error:  # already ours, e.g. an ERROR event inside a watch
        _count(error)
        raise
    except Exception as error:
        translated = translate(error, target)
        if translated is None:
            raise
        _count(translated)
        raise translated from error


def _count(error: ClusterError) -> None:
    # Every API call passes through raising_cluster_errors: the one place to count failures.
    KUBERNETES_API_ERRORS.labels(kind=type(error).__name__).inc()


def translate(error: BaseException, target: Target) -> ClusterError | None:
    """The Dynamote error for a client or transport exception; None when it is neither."""
    from kubernetes.client.exceptions import ApiException  # noqa: PLC0415  (slow import)
    from urllib3.exceptions import HTTPError  # noqa: PLC0415

    if isinstance(error, ApiException):
        return from_status(error.status or 0, _parse_status(error.body), target)
    if isinstance(error, HTTPError):
        return from_transport(error, target)
    if isinstance(error, TimeoutError):  # raw socket errors can escape urllib3 mid-stream
        return _timed_out(target)
    if isinstance(error, OSError):
        return Unreachable(_unreachable_message(type(error).__name__))
    return None


def from_status(code: int, status: dict[str, Any], target: Target) -> ClusterError:
    """Map an HTTP status code and its Kubernetes ``Status`` body onto the hierarchy."""
    reason = str(status.get("reason") or "")
    server_says = _server_message(status)
    if code == 0:  # the client wraps TLS failures as status 0
        return Unreachable(_unreachable_message("TLS"))
    if code == 401:
        return ApiError(
            "The Kubernetes API rejected Dynamote's credentials (401 Unauthorized). "
            "Check the bot's service account token or kubeconfig.",
            status=code,
            reason=reason,
        )
    if code == 403:
        return Forbidden(_forbidden_message(target), target=target, reason=reason)
    if code == 404:
        return NotFound(_not_found_message(target, status), status=code, reason=reason)
    if code == 409 and reason == "AlreadyExists":
        name = target.name or str(status.get("details", {}).get("name", ""))
        return AlreadyExists(
            f'The name "{name}" is already taken {target.where}.',
            name=name,
            namespace=target.namespace,
        )
    if code == 409:
        return Conflict(
            f"{target.what.capitalize()} changed {target.where} while Dynamote was updating "
            "it. Reload it and try again.",
            status=code,
            reason=reason,
        )
    if code == 410:
        return Expired(
            "The cluster no longer has the history Dynamote asked for; it will re-read.",
            status=code,
            reason=reason,
        )
    if code == 422 or (code == 400 and _strict_decoding_causes(status)):
        return _invalid(code, status, target)
    if code == 429 or code >= 500:
        return ServerError(
            f"The Kubernetes API server failed ({code} {reason or 'error'}) while trying to "
            f"{target.verb} {target.what} {target.where}. Try again in a minute; if it lasts, "
            "tell your platform team.",
            status=code,
            reason=reason,
        )
    return ApiError(
        f"The cluster refused to {target.verb} {target.what} {target.where}: {server_says}",
        status=code,
        reason=reason,
    )


def from_transport(error: BaseException, target: Target) -> Unavailable:
    """Map a urllib3 failure (no HTTP answer) onto Unreachable or TimedOut."""
    from urllib3.exceptions import (  # noqa: PLC0415
        MaxRetryError,
        NewConnectionError,
        ProtocolError,
        SSLError,
    )
    from urllib3.exceptions import TimeoutError as Urllib3Timeout  # noqa: PLC0415

    if isinstance(error, MaxRetryError) and error.reason is not None:
        error = error.reason
    # NewConnectionError subclasses ConnectTimeoutError in urllib3, so test it first.
    if isinstance(error, NewConnectionError):
        return Unreachable(_unreachable_message("connection refused or unknown host"))
    if isinstance(error, Urllib3Timeout):
        return _timed_out(target)
    if isinstance(error, SSLError):
        return Unreachable(_unreachable_message("TLS"))
    if isinstance(error, ProtocolError):
        return Unreachable(_unreachable_message("connection dropped"))
    return Unreachable(_unreachable_message(type(error).__name__))


def _timed_out(target: Target) -> TimedOut:
    return TimedOut(
        f"The Kubernetes API server did not answer in time (Dynamote was trying to "
        f"{target.verb} {target.what} {target.where}). It may be overloaded or down; try "
        "again in a minute, and tell your platform team if it lasts."
    )


def _unreachable_message(why: str) -> str:
    return (
        f"Dynamote cannot reach the Kubernetes API server ({why}). Check that the cluster "
        "is up and that the bot's kubeconfig or in-cluster account points at it."
    )


def _forbidden_message(target: Target) -> str:
    grant = f'"{target.verb}" on {target.qualified_resource}'
    if target.resource == "secrets" and target.name:
        grant += f' (resourceNames: ["{target.name}"])'
    return (
        f"Dynamote is not allowed to {target.verb} {target.qualified_resource} "
        f"{target.where}. Ask your platform team to grant the bot's service account "
        f"{grant} {target.where}."
    )


def _not_found_message(target: Target, status: dict[str, Any]) -> str:
    details = status.get("details") or {}
    if details.get("kind") == "namespaces" and details.get("name") != target.name:
        return f'The namespace "{details.get("name")}" does not exist in this cluster.'
    if target.name:
        return f"There is no {target.what} {target.where}."
    return f"Nothing answers for {target.qualified_resource} {target.where}."


def _invalid(code: int, status: dict[str, Any], target: Target) -> Invalid:
    causes = _field_causes(status) or _strict_decoding_causes(status)
    lines = [
        f"{cause.field}: {cause.message}" if cause.field else cause.message for cause in causes
    ]
    if not lines:
        lines = [_server_message(status)]
    message = f"The cluster rejected {target.what}:\n" + "\n".join(f"• {line}" for line in lines)
    return Invalid(message, causes=causes, status=code, reason=str(status.get("reason") or ""))


def _field_causes(status: dict[str, Any]) -> tuple[FieldCause, ...]:
    details = status.get("details") or {}
    return tuple(
        FieldCause(
            field=str(cause.get("field") or ""),
            message=redact(str(cause.get("message") or "")),  # shown in Slack
            reason=str(cause.get("reason") or ""),
        )
        for cause in details.get("causes") or ()
        if isinstance(cause, dict)
    )


# With fieldValidation=Strict the API server answers 400 and names unknown or duplicate fields
# only in its message: 'strict decoding error: unknown field "spec.foo", unknown field ...'.
_STRICT_FIELD = re.compile(r'(unknown|duplicate) field "([^"]+)"')


def _strict_decoding_causes(status: dict[str, Any]) -> tuple[FieldCause, ...]:
    message = str(status.get("message") or "")
    return tuple(
        FieldCause(field=field, message=f"{kind} field", reason=f"Field{kind.capitalize()}")
        for kind, field in _STRICT_FIELD.findall(message)
    )


def _server_message(status: dict[str, Any]) -> str:
    """The server's own one-line explanation, bounded so a huge body cannot flood Slack."""
    message = redact(str(status.get("message") or status.get("reason") or "no reason given"))
    return message if len(message) <= 300 else message[:297] + "..."


def _parse_status(body: object) -> dict[str, Any]:
    """The Kubernetes ``Status`` in an error body; empty when the body is not one."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    if not isinstance(body, str) or not body:
        return {}
    try:
        parsed = json.loads(body)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
