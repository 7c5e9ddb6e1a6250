"""The notifier's Slack calls: paced per channel, 429s waited out, failures classified.

One method per kind of write (thread reply, message edit, late card). Each waits for the
channel's slot (:class:`~bot.notify.pacer.Pacer`), and a 429 holds the channel for its
Retry-After and tries again, a few times. Anything Slack did not accept raises
:class:`SendError` with Slack's error code, so the caller leaves the change unannounced for a
later sweep: a change is never dropped, and never marked announced unless Slack took it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.announce import post_card
from bot.blocks.common import Message
from bot.metrics import NOTIFICATIONS_SENT, SWEEP_API_CALLS
from bot.notify.pacer import Pacer

__all__ = ["GONE_ERRORS", "SendError", "Sender"]

log = logging.getLogger(__name__)

DEFAULT_ATTEMPTS = 3
# Errors after which the same call keeps failing: the message or channel is gone.
GONE_ERRORS = frozenset(
    {
        "message_not_found",
        "channel_not_found",
        "is_archived",
        "thread_not_found",
        "cant_update_message",
    }
)


class SendError(Exception):
    """Slack did not accept the message; ``kind`` is Slack's error code (or ``connection``)."""

    def __init__(self, kind: str, *, retry_after: float | None = None) -> None:
        super().__init__(kind)
        self.kind = kind
        self.retry_after = retry_after

    @property
    def gone(self) -> bool:
        return self.kind in GONE_ERRORS


class Sender:
    """Slack writes for the notifier; ``may_send`` is asked before each (leadership)."""

    def __init__(
        self,
        client: WebClient,
        pacer: Pacer,
        *,
        may_send: Callable[[], bool] = lambda: True,
        attempts: int = DEFAULT_ATTEMPTS,
    ) -> None:
        self._client = client
        self._pacer = pacer
        self._may_send = may_send
        self._attempts = max(attempts, 1)

    def reply(
        self, channel: str, thread_ts: str, message: Message, *, broadcast: bool = False
    ) -> str:
        """Post ``message`` in the thread under ``thread_ts`` (``broadcast``: and in the
        channel, Slack's ``reply_broadcast``); returns the reply's ts."""
        kwargs = message.as_kwargs()
        if broadcast:
            kwargs["reply_broadcast"] = True
        posted: list[str] = []

        def post() -> None:
            answer = self._client.chat_postMessage(
                channel=channel, thread_ts=thread_ts, unfurl_links=False, **kwargs
            )
            posted.append(str(answer.get("ts") or ""))

        self._call(channel, post)
        NOTIFICATIONS_SENT.inc()
        return posted[-1]

    def update(self, channel: str, ts: str, message: Message) -> None:
        """Redraw the message at ``ts`` (the status card, a trouble reply)."""
        kwargs = message.as_kwargs()
        self._call(
            f"update:{channel}", lambda: self._client.chat_update(channel=channel, ts=ts, **kwargs)
        )

    def card(self, message: Message, *, channel: str | None, user: str) -> tuple[str, str]:
        """Post a status card (DM fallback); returns its (channel, ts)."""
        kwargs = message.as_kwargs()
        placed: list[tuple[str, str]] = []

        def post() -> None:
            placed.append(post_card(self._client, kwargs, channel=channel, user=user))

        self._call(channel or f"dm:{user}", post)
        return placed[-1]

    def _call(self, key: str, call: Callable[[], Any]) -> None:
        for attempt in range(1, self._attempts + 1):
            if not self._may_send():
                raise SendError("not_leader")
            self._pacer.wait(key)
            SWEEP_API_CALLS.labels(api="slack").inc()
            try:
                call()
                return
            except SlackApiError as error:
                failure = _classify(error)
            except OSError as error:  # URLError, timeouts, resets: Slack never answered
                log.warning("Slack unreachable: %s", error)
                failure = SendError("connection")
            if failure.retry_after is None or attempt == self._attempts:
                raise failure
            log.info("Slack rate-limited %s; retrying in %s s", key, failure.retry_after)
            self._pacer.hold(key, failure.retry_after)


def _classify(error: SlackApiError) -> SendError:
    response = error.response
    status = getattr(response, "status_code", 200)
    code = str(response.get("error") or f"http_{status}")
    if status == 429:
        headers = getattr(response, "headers", {}) or {}
        retry_after = _retry_after(headers)
        return SendError("ratelimited", retry_after=retry_after)
    return SendError(code)


def _retry_after(headers: Any) -> float:
    for name in ("Retry-After", "retry-after"):
        value = headers.get(name) if hasattr(headers, "get") else None
        if isinstance(value, list):
            value = value[0] if value else None
        if value is not None:
            try:
                return max(float(value), 0.0)
            except ValueError:
                break
    return 1.0
