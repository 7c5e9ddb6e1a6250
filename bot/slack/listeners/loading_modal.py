"""A button's modal opened at once, inside the ack, and filled once the cluster has answered.

``views_open`` must use the trigger within 3 s, so the modal opens holding "Loading…" and the
cluster work runs after the ack (``AppContext.after_ack``), then updates the opened view.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Respond
from slack_sdk import WebClient
from slack_sdk.models.views import View

from bot.slack.context import AppContext
from bot.slack.listeners.replies import explain, reply

__all__ = ["Fill", "open_then_fill"]

# Fills the opened view (its "id" and "hash" as views.open gave them).
Fill = Callable[[dict[str, Any]], None]


def open_then_fill(
    body: dict[str, Any],
    client: WebClient,
    dynamote: AppContext,
    respond: Respond,
    prepare: Callable[[], tuple[View, Fill]],
    *,
    opening: str,
    filling: str,
) -> None:
    """Open the view ``prepare`` builds, then run its fill after the ack; a failure to read
    the button or to open is answered to the person, as "Could not <opening>"."""
    try:
        loading, fill = prepare()
        opened = client.views_open(trigger_id=str(body.get("trigger_id", "")), view=loading)
    except Exception as error:
        reply(explain(error, doing=opening), body=body, respond=respond, client=client)
        return
    view = opened.get("view") or {}
    dynamote.after_ack(lambda: fill(view), doing=filling)
