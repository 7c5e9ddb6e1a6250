"""The Slack Web API client the bot uses, with retries for rate limits, 5xx and lost connections.

Why its own module: base URL, timeout and retry policy are decided once, here, and the Bolt App
is handed this client (``App(client=...)``), and so is the notifier. These handlers are the
only retries of a Web API call: no caller loops around them. They sleep in the calling thread
(a 429 sleeps for Retry-After), so this client must only be used AFTER ``ack()`` (acks go back
as the HTTP response or the Socket Mode envelope, never through the Web API) and never while
holding a lock another thread may wait on.

Why the metrics live in the retry handlers: slack_sdk asks a client's handlers about every
answer (and every lost connection), and Bolt copies the App client's handlers into the client
it gives each listener, so a handler is the one place that sees every call the app makes. A
retried attempt counts in ``dynamote_slack_api_retries_total`` only; a call counts in
``dynamote_slack_api_errors_total`` once, when its last attempt failed.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.http_retry import RetryHandler, RetryState
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.web import SlackResponse

from bot.config.settings import Settings
from bot.ops.metrics import SLACK_API_ERRORS, SLACK_API_RETRIES

__all__ = [
    "DEFAULT_TIMEOUT_SECONDS",
    "counted",
    "failure_kind",
    "make_web_client",
    "method_of",
    "retry_after",
    "retry_handlers",
]

# Each attempt's socket timeout. Slack answers in well under a second; a hung call should
# fail and be retried, not hold a worker thread for a minute (slack_sdk's default is 30 s).
DEFAULT_TIMEOUT_SECONDS = 10
RATE_LIMIT_RETRIES = 3  # each waits Retry-After (+ up to 1 s jitter)
SERVER_ERROR_RETRIES = 2  # 500 and 503, with exponential backoff
CONNECTION_RETRIES = 2  # connection reset, refused, remote disconnected
# 5xx and connection retries wait 0.5 s * 2**attempt, plus up to 1 s of jitter; slack_sdk's
# handlers share one attempt count, so a call is tried at most 1 + the largest count above.
BACKOFF_FACTOR_SECONDS = 0.5

# Label values must stay few: a Web API method name, or "response_url" for webhook posts;
# a Slack error code, or an HTTP status class. Anything else is "other".
_METHOD = re.compile(r"[a-z]+(\.[a-zA-Z]+)+")
_ERROR_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")


def retry_handlers(*, retries: bool = True) -> list[RetryHandler]:
    """Fresh handlers: the retrying ones (unless ``retries`` is False), then the failure count.

    The count goes last: slack_sdk stops at the first handler that retries, so it sees only
    an attempt nobody retries, i.e. a call's final answer.
    """
    intervals = BackoffRetryIntervalCalculator(backoff_factor=BACKOFF_FACTOR_SECONDS)
    retrying: list[RetryHandler] = [
        _ConnectionRetries(max_retry_count=CONNECTION_RETRIES, interval_calculator=intervals),
        _RateLimitRetries(max_retry_count=RATE_LIMIT_RETRIES),  # waits Retry-After instead
        _ServerErrorRetries(max_retry_count=SERVER_ERROR_RETRIES, interval_calculator=intervals),
    ]
    return [*(retrying if retries else []), _CountFailures()]


def make_web_client(settings: Settings, *, timeout: int = DEFAULT_TIMEOUT_SECONDS) -> WebClient:
    """A WebClient for ``SLACK_API_URL`` with the bot token. Use only after ack (see above)."""
    base_url = settings.slack_api_url
    if not base_url.endswith("/"):
        base_url += "/"  # slack_sdk joins base_url + method name without a separator
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return WebClient(
        token=token,
        base_url=base_url,
        timeout=timeout,
        retry_handlers=retry_handlers(),
    )


def counted(client: WebClient) -> WebClient:
    """``client``, with the failure count appended to its handlers unless it has it already
    (a client not made here, e.g. in tests); the App's listeners then count too."""
    if not any(isinstance(h, _CountFailures) for h in client.retry_handlers):
        client.retry_handlers.append(_CountFailures())
    return client


def retry_after(response: SlackResponse) -> float:
    """Seconds Slack asked to wait before calling again: a 429's Retry-After (whole seconds;
    1 s, slack_sdk's own fallback, if it is missing or unreadable), 0 for any other answer."""
    if response.status_code != 429:
        return 0.0
    headers = response.headers if isinstance(response.headers, dict) else {}
    for name, value in headers.items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) and value else value
            try:
                return max(float(raw), 0.0)
            except (TypeError, ValueError):
                break
    return 1.0


def method_of(url: str) -> str:
    """The Web API method a request URL calls (``chat.postMessage``), for a metric label."""
    last = urlsplit(url).path.rstrip("/").rpartition("/")[2]
    return last if _METHOD.fullmatch(last) else "response_url"


def failure_kind(response: HttpResponse | None, error: Exception | None) -> str | None:
    """Why an attempt failed, as a bounded label value; None when it succeeded."""
    if response is None:
        return "timeout" if _timed_out(error) else "connection"
    if response.status_code == 429:
        return "ratelimited"
    if response.status_code != 200:
        return f"http_{response.status_code // 100}xx"
    body = response.body or {}
    if body.get("ok", True) is not False:
        return None
    code = str(body.get("error") or "")
    return code if _ERROR_CODE.fullmatch(code) else "other"


def _timed_out(error: Exception | None) -> bool:
    reason = getattr(error, "reason", None)  # URLError wraps the socket's error
    return isinstance(error, TimeoutError) or isinstance(reason, TimeoutError)


class _CountFailures(RetryHandler):
    """Never retries; counts the call as failed when this (final) attempt failed."""

    def __init__(self) -> None:
        super().__init__(max_retry_count=0)

    def can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        kind = failure_kind(response, error)
        if kind is not None:
            SLACK_API_ERRORS.labels(method=method_of(request.url), kind=kind).inc()
        return False


class _CountsRetries(RetryHandler):
    """Counts each retry its subclass decided on, then lets it wait as it would."""

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        kind = failure_kind(response, error) or "other"
        SLACK_API_RETRIES.labels(method=method_of(request.url), kind=kind).inc()
        super().prepare_for_next_attempt(
            state=state, request=request, response=response, error=error
        )


class _ConnectionRetries(_CountsRetries, ConnectionErrorRetryHandler):
    pass


class _RateLimitRetries(_CountsRetries, RateLimitErrorRetryHandler):
    pass


class _ServerErrorRetries(_CountsRetries, ServerErrorRetryHandler):
    pass
