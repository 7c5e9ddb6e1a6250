"""How API answers and transport failures become Dynamote errors (no server needed)."""

from __future__ import annotations

import pytest
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import (
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from bot.cluster import (
    AlreadyExists,
    ApiError,
    ClusterError,
    Conflict,
    Expired,
    FieldCause,
    Forbidden,
    Invalid,
    NotFound,
    ServerError,
    TimedOut,
    Unavailable,
    Unreachable,
)
from bot.cluster.errors import Target, from_status, translate

DGD_CREATE = Target("create", "dynamographdeployments", "nvidia.com", "team-a", "qwen")


def status(code: int, reason: str, message: str = "", **details: object) -> dict[str, object]:
    body: dict[str, object] = {"kind": "Status", "code": code, "reason": reason, "message": message}
    if details:
        body["details"] = details
    return body


@pytest.mark.parametrize(
    ("code", "reason", "kind", "temporary"),
    [
        (403, "Forbidden", Forbidden, False),
        (404, "NotFound", NotFound, False),
        (409, "AlreadyExists", AlreadyExists, False),
        (409, "Conflict", Conflict, True),
        (410, "Expired", Expired, True),
        (422, "Invalid", Invalid, False),
        (429, "TooManyRequests", ServerError, True),
        (500, "InternalError", ServerError, True),
        (503, "ServiceUnavailable", ServerError, True),
        (401, "Unauthorized", ApiError, False),
        (400, "BadRequest", ApiError, False),
    ],
)
def test_each_status_code_becomes_its_error_with_its_temporariness(
    code: int, reason: str, kind: type[ClusterError], temporary: bool
) -> None:
    error = from_status(code, status(code, reason, "the server says no"), DGD_CREATE)
    assert type(error) is kind
    assert error.temporary is temporary
    assert isinstance(error, ApiError)
    assert error.status == code


def test_forbidden_names_the_verb_the_resource_and_the_namespace_and_who_can_grant_it() -> None:
    error = from_status(403, status(403, "Forbidden"), DGD_CREATE)
    assert isinstance(error, Forbidden)
    assert (error.verb, error.resource, error.group, error.namespace) == (
        "create",
        "dynamographdeployments",
        "nvidia.com",
        "team-a",
    )
    assert "create dynamographdeployments.nvidia.com" in error.message
    assert 'namespace "team-a"' in error.message
    assert "ask your platform team to grant" in error.message.lower()


def test_forbidden_on_a_secret_suggests_granting_only_that_secret_by_name() -> None:
    target = Target("get", "secrets", "", "team-a", "hf-token-secret")
    error = from_status(403, status(403, "Forbidden"), target)
    assert 'resourceNames: ["hf-token-secret"]' in error.message


def test_invalid_lists_the_servers_causes_field_by_field() -> None:
    body = status(
        422,
        "Invalid",
        'DynamoGraphDeployment.nvidia.com "qwen" is invalid: ...',
        causes=[
            {"reason": "FieldValueInvalid", "message": "Invalid value: -1", "field": "spec.a"},
            {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.b"},
        ],
    )
    error = from_status(422, body, DGD_CREATE)
    assert isinstance(error, Invalid)
    assert error.causes == (
        FieldCause("spec.a", "Invalid value: -1", "FieldValueInvalid"),
        FieldCause("spec.b", "Required value", "FieldValueRequired"),
    )
    assert "spec.a: Invalid value: -1" in error.message
    assert "spec.b: Required value" in error.message


def test_a_strict_decoding_rejection_becomes_invalid_with_each_unknown_field() -> None:
    message = 'strict decoding error: unknown field "spec.foo", unknown field "spec.bar.baz"'
    error = from_status(400, status(400, "BadRequest", message), DGD_CREATE)
    assert isinstance(error, Invalid)
    assert [cause.field for cause in error.causes] == ["spec.foo", "spec.bar.baz"]
    assert error.status == 400


def test_an_already_exists_error_carries_the_taken_name() -> None:
    error = from_status(409, status(409, "AlreadyExists"), DGD_CREATE)
    assert isinstance(error, AlreadyExists)
    assert error.name == "qwen"
    assert '"qwen" is already taken in namespace "team-a"' in error.message


def test_an_api_exception_is_translated_from_its_status_body() -> None:
    exception = ApiException(status=404, reason="Not Found")
    exception.body = '{"kind":"Status","code":404,"reason":"NotFound","message":"x not found"}'
    error = translate(exception, DGD_CREATE)
    assert isinstance(error, NotFound)
    assert 'There is no deployment "qwen"' in error.message


def test_a_body_that_is_not_a_status_still_gives_a_readable_error() -> None:
    exception = ApiException(status=502, reason="Bad Gateway")
    exception.body = "<html>upstream sick</html>"
    error = translate(exception, DGD_CREATE)
    assert isinstance(error, ServerError)
    assert "<html>" not in error.message


@pytest.mark.parametrize(
    ("transport_error", "kind"),
    [
        (NewConnectionError(None, "Connection refused"), Unreachable),  # type: ignore[arg-type]
        (ReadTimeoutError(None, "/apis", "Read timed out."), TimedOut),  # type: ignore[arg-type]
        (ProtocolError("Connection aborted."), Unreachable),
        (ConnectionResetError(104, "reset"), Unreachable),
        (TimeoutError("timed out"), TimedOut),
    ],
)
def test_transport_failures_become_temporary_unavailable_errors(
    transport_error: BaseException, kind: type[Unavailable]
) -> None:
    error = translate(transport_error, DGD_CREATE)
    assert type(error) is kind
    assert isinstance(error, Unavailable)
    assert error.temporary


def test_a_max_retry_error_is_judged_by_its_underlying_reason() -> None:
    reason = NewConnectionError(None, "Connection refused")  # type: ignore[arg-type]
    error = translate(MaxRetryError(None, "/version", reason), DGD_CREATE)  # type: ignore[arg-type]
    assert isinstance(error, Unreachable)


def test_errors_that_are_not_from_the_client_are_left_alone() -> None:
    assert translate(KeyError("x"), DGD_CREATE) is None


def test_no_message_leaks_json_or_the_clients_exception_text() -> None:
    for code in (400, 401, 403, 404, 409, 410, 422, 500):
        error = from_status(code, status(code, "Whatever", "short reason"), DGD_CREATE)
        assert "{" not in error.message
        assert "HTTP response" not in error.message


def test_a_timeout_says_what_dynamote_was_doing() -> None:
    error = translate(ReadTimeoutError(None, "/x", "Read timed out."), DGD_CREATE)  # type: ignore[arg-type]
    assert error is not None
    assert 'trying to create deployment "qwen" in namespace "team-a"' in error.message


def test_a_missing_namespace_is_named_as_such() -> None:
    body = status(
        404, "NotFound", 'namespaces "team-a" not found', name="team-a", kind="namespaces"
    )
    error = from_status(404, body, DGD_CREATE)
    assert error.message == 'The namespace "team-a" does not exist in this cluster.'
