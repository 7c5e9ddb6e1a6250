"""Bolt's WSGI handler for POST /slack/events, reading bodies with bot.slack.body.

Bolt parses each body itself, and reads any form containing the text ``payload`` as an
interactivity form (see bot.slack.body); this handler replaces that reading with
:func:`bot.slack.body.read_body`'s, while Bolt still checks the signature over the raw body.
"""

from __future__ import annotations

from collections.abc import Sequence

from slack_bolt import App, BoltContext, BoltRequest, BoltResponse
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.request.internals import build_context

from bot.slack.body import read_body

__all__ = ["SlackEventsHandler", "bolt_request"]


def bolt_request(
    raw: str, headers: dict[str, str | Sequence[str]], query: str = ""
) -> BoltRequest:
    """The BoltRequest for a body Slack sent, its body as :func:`read_body` reads it."""
    request = BoltRequest(body=raw, query=query, headers=headers)
    body = read_body(raw, request.content_type or "")
    if body is not None and body != request.body:
        # Bolt's signature check reads raw_body, which stays as Slack signed it; the
        # listeners and Bolt's matchers read body and context.
        request.body = body
        request.context = build_context(BoltContext(), body)
    return request


class SlackEventsHandler(SlackRequestHandler):
    """Bolt's WSGI handler, except that Bolt gets the body as :func:`read_body` reads it."""

    def __init__(self, app: App, path: str) -> None:
        super().__init__(app, path=path)

    def dispatch(self, request: WsgiHttpRequest) -> BoltResponse:
        return self.app.dispatch(
            bolt_request(request.get_body(), request.get_headers(), request.query_string)
        )
