"""`Status` error bodies worded the way the real API server words them.

The bot turns these into messages for Slack users, and the official client parses them, so
the reason, code, message and details follow kube-apiserver's formats (see the builders).
"""

from __future__ import annotations

from typing import Any

from bot.sim.k8s.validation import Cause

__all__ = ["ApiError", "status_body"]

Json = dict[str, Any]
SERVICE_ACCOUNT_USER = "system:serviceaccount:dynamo-system:dynamote"
_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


def status_body(
    code: int, message: str, reason: str | None = None, details: Json | None = None
) -> Json:
    body: Json = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason or _REASONS.get(code, "Unknown"),
        "code": code,
    }
    if details:
        body["details"] = details
    return body


def _qualified(plural: str, group: str) -> str:
    return f"{plural}.{group}" if group else plural


class ApiError(Exception):
    """Raised anywhere in request handling; the server answers with its Status."""

    def __init__(
        self, code: int, message: str, reason: str | None = None, details: Json | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.body = status_body(code, message, reason, details)

    # ----- the real server's wording ------------------------------------------------------

    @classmethod
    def not_found(cls, plural: str, group: str, name: str) -> ApiError:
        return cls(
            404,
            f'{_qualified(plural, group)} "{name}" not found',
            "NotFound",
            {"name": name, "group": group, "kind": plural},
        )

    @classmethod
    def already_exists(cls, plural: str, group: str, name: str) -> ApiError:
        return cls(
            409,
            f'{_qualified(plural, group)} "{name}" already exists',
            "AlreadyExists",
            {"name": name, "group": group, "kind": plural},
        )

    @classmethod
    def conflict(cls, plural: str, group: str, name: str) -> ApiError:
        message = (
            f'Operation cannot be fulfilled on {_qualified(plural, group)} "{name}": the '
            "object has been modified; please apply your changes to the latest version "
            "and try again"
        )
        return cls(409, message, "Conflict", {"name": name, "group": group, "kind": plural})

    @classmethod
    def invalid(cls, kind: str, group: str, name: str, causes: list[Cause]) -> ApiError:
        lines = [f"{c.field}: {c.message}" for c in causes]
        summary = lines[0] if len(lines) == 1 else "[" + ", ".join(lines) + "]"
        qualified = f"{kind}.{group}" if group else kind
        details = {
            "name": name,
            "group": group,
            "kind": kind,
            "causes": [c.as_json() for c in causes],
        }
        return cls(422, f'{qualified} "{name}" is invalid: {summary}', "Invalid", details)

    @classmethod
    def forbidden(
        cls,
        verb: str,
        resource: str,
        group: str,
        namespace: str | None,
        name: str | None = None,
        *,
        plural: str | None = None,
    ) -> ApiError:
        """`resource` as RBAC names it (`pods/log`); `plural` names the object if different."""
        plural = plural or resource
        subject = _qualified(plural, group) + (f' "{name}"' if name else "")
        scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
        message = (
            f'{subject} is forbidden: User "{SERVICE_ACCOUNT_USER}" cannot {verb} '
            f'resource "{resource}" in API group "{group}" {scope}'
        )
        details: Json = {"group": group, "kind": plural, **({"name": name} if name else {})}
        return cls(403, message, "Forbidden", details)

    @classmethod
    def strict_decoding(cls, kind: str, version: str, unknown: list[str]) -> ApiError:
        fields = ", ".join(f'unknown field "{path}"' for path in unknown)
        message = (
            f'{kind} in version "{version}" cannot be handled as a {kind}: '
            f"strict decoding error: {fields}"
        )
        return cls(400, message, "BadRequest")

    @classmethod
    def gone(cls, requested: str, oldest: str) -> ApiError:
        return cls(410, f"too old resource version: {requested} ({oldest})", "Expired")

    @classmethod
    def unsupported_patch(cls) -> ApiError:
        message = (
            "the body of the request was in an unknown format - accepted media types "
            "include: application/json-patch+json, application/merge-patch+json, "
            "application/apply-patch+yaml"
        )
        return cls(415, message, "UnsupportedMediaType")

    @classmethod
    def method_not_allowed(cls) -> ApiError:
        return cls(405, "the server does not allow this method on the requested resource")

    @classmethod
    def unknown_path(cls) -> ApiError:
        return cls(
            404,
            "the server could not find the requested resource",
            "NotFound",
            {"causes": [{"reason": "UnexpectedServerResponse", "message": "404 page not found"}]},
        )

    @classmethod
    def injected(cls, code: int) -> ApiError:
        messages = {
            500: "Internal error occurred: injected fault",
            503: "the server is currently unable to handle the request",
            504: "the server was unable to return a response in the time allotted",
        }
        return cls(code, messages.get(code, f"injected fault ({code})"))
