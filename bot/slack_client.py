"""The Slack Web API client the bot uses, with retries for rate limits, 5xx and lost connections.

Why its own module: base URL, timeout and retry policy are decided once, here, and the Bolt App
is handed this client (``App(client=...)``). The retry handlers sleep in the calling thread (a
429 sleeps for Retry-After), so this client must only be used AFTER ``ack()``: acks go back as
the HTTP response (or the Socket Mode envelope), never through the Web API, and a listener must
ack before making any call with this client.
"""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry import RetryHandler
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.settings import Settings

__all__ = ["DEFAULT_TIMEOUT_SECONDS", "make_web_client", "retry_handlers"]

# Each attempt's socket timeout. Slack answers in well under a second; a hung call should
# fail and be retried, not hold a worker thread for a minute (slack_sdk's default is 30 s).
DEFAULT_TIMEOUT_SECONDS = 10
RATE_LIMIT_RETRIES = 3  # each waits Retry-After (+ up to 1 s jitter)
SERVER_ERROR_RETRIES = 2  # 500 and 503, with exponential backoff
CONNECTION_RETRIES = 2  # connection reset, refused, remote disconnected


def retry_handlers() -> list[RetryHandler]:
    """Fresh retry handlers (they hold no shared state, but lists are mutable)."""
    return [
        ConnectionErrorRetryHandler(max_retry_count=CONNECTION_RETRIES),
        RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
        ServerErrorRetryHandler(max_retry_count=SERVER_ERROR_RETRIES),
    ]


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
