"""Who the bot is in Slack, from the runner's start-up auth.test, and Bolt's authorize from it.

Why an authorize of our own: an App given only a token calls auth.test itself on its first
request, before that request's listener can ack, so the first command after every start waited
on Slack (and a slow or rate-limited auth.test pushed that ack past Slack's 3 s). The runner
already calls auth.test at start-up, in the background; :meth:`SlackIdentity.record` keeps its
answer and :meth:`SlackIdentity.authorize` answers every request from memory, never calling
Slack.

Until that call has succeeded (Slack slow or down at start), requests are authorized from the
token alone: the listeners need only the token, and /readyz reports Slack as not ready
meanwhile. The bot's own ids (``bot_id``, ``bot_user_id``, which Bolt uses to ignore the bot's
own events) fill in once auth.test answers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from slack_bolt.authorization import AuthorizeResult

__all__ = ["Authorizer", "SlackIdentity"]

Authorizer = Callable[..., AuthorizeResult]


@dataclass(frozen=True)
class _Answer:
    """What the app keeps of auth.test's answer."""

    enterprise_id: str | None
    team_id: str | None
    team: str | None
    url: str | None
    bot_id: str | None
    bot_user_id: str | None
    scopes: str | None


class SlackIdentity:
    """The bot token, and what auth.test said about it once it has answered."""

    def __init__(self, token: str) -> None:
        self._token = token
        self._answer: _Answer | None = None
        self._lock = threading.Lock()

    @property
    def known(self) -> bool:
        """True once auth.test's answer has been recorded."""
        with self._lock:
            return self._answer is not None

    @property
    def workspace_url(self) -> str | None:
        """The workspace's URL from auth.test (``https://acme.slack.com/``); None until known."""
        with self._lock:
            return self._answer.url if self._answer is not None else None

    def record(self, answer: Mapping[str, Any], *, scopes: str | None = None) -> None:
        """Keep auth.test's answer (``scopes``: its ``X-OAuth-Scopes`` header)."""

        def text(key: str) -> str | None:
            value = answer.get(key)
            return str(value) if value else None

        kept = _Answer(
            enterprise_id=text("enterprise_id"),
            team_id=text("team_id"),
            team=text("team"),
            url=text("url"),
            bot_id=text("bot_id"),
            # auth.test's user_id is the bot user's for a bot token
            bot_user_id=text("user_id") if text("bot_id") else None,
            scopes=scopes,
        )
        with self._lock:
            self._answer = kept

    def authorize(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None
    ) -> AuthorizeResult:
        """The request's authorization, from memory: the ids of the request where auth.test
        has not answered yet."""
        with self._lock:
            known = self._answer
        if known is None:
            return AuthorizeResult(
                enterprise_id=enterprise_id,
                team_id=team_id,
                user_id=user_id,
                bot_token=self._token,
            )
        return AuthorizeResult(
            enterprise_id=known.enterprise_id or enterprise_id,
            team_id=known.team_id or team_id,
            team=known.team,
            url=known.url,
            bot_id=known.bot_id,
            bot_user_id=known.bot_user_id,
            bot_token=self._token,
            bot_scopes=known.scopes,
            user_id=user_id,
        )

    def authorizer(self) -> Authorizer:
        """:meth:`authorize` as Bolt's ``App(authorize=...)`` wants it: a function whose
        parameter names say what to pass (Bolt reads them; a bound method's ``self`` would
        be one of them)."""

        def authorize(
            enterprise_id: str | None, team_id: str | None, user_id: str | None
        ) -> AuthorizeResult:
            return self.authorize(enterprise_id=enterprise_id, team_id=team_id, user_id=user_id)

        return authorize
