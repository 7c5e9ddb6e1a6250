"""The notifier's Slack calls: paced per channel, failures classified.

One method per kind of write (thread reply, message edit, late card). Each waits for the
channel's slot (:class:`~bot.notifier.pacer.Pacer`) and makes one client call; the client's
retry handlers (``bot.slack.client``) are the only retries within it. A 429 that outlasts
them holds the channel for its Retry-After, so the next send to it, in this sweep or a later
one, waits its turn. Anything Slack did not accept raises :class:`SendError` with Slack's
error code, so the caller leaves the change unannounced for a later sweep: a change is never
dropped, and never marked announced unless Slack took it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.common import Message
from bot.notifier.pacer import Pacer
from bot.ops.metrics import NOTIFICATIONS_SENT, SWEEP_API_CALLS
from bot.slack.announce import post_card
from bot.slack.client import retry_after

__all__ = ["GONE_ERRORS", "SendError", "Sender"]

log = logging.getLogger(__name__)

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

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind

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
    ) -> None:
        self._client = client
        self._pacer = pacer
        self._may_send = may_send

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
        """One paced send. The client's own handlers (``bot.slack.client``) retry 429s, 5xx
        and lost connections; what still fails is the caller's, to try in a later sweep."""
        if not self._may_send():
            raise SendError("not_leader")
        self._pacer.wait(key)
        SWEEP_API_CALLS.labels(api="slack").inc()
        try:
            call()
        except SlackApiError as error:
            status = getattr(error.response, "status_code", 200)
            if status == 429:  # still limited after the client's retries: let the key rest
                wait = retry_after(error.response)
                log.info("Slack rate-limited %s; nothing more to it for %s s", key, wait)
                self._pacer.hold(key, wait)
                raise SendError("ratelimited") from error
            raise SendError(str(error.response.get("error") or f"http_{status}")) from error
        except OSError as error:  # URLError, timeouts, resets: Slack never answered
            log.warning("Slack unreachable: %s", error)
            raise SendError("connection") from error
