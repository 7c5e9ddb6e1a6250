"""How listeners answer a person: ephemeral where there is a response_url, else by DM, and
what to say when something fails.

Every failure a person can hit has a message that says what happened and what to do; the
traceback goes to the log (``logger.exception``), never to Slack.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Respond
from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from bot.blocks.common import Message, error_message
from bot.cluster import (
    ClusterError,
    Forbidden,
    NotFound,
    NotManaged,
    OperatorNotInstalled,
    Unavailable,
)
from bot.deployment_service import NameInvalid, NamespaceNotAllowed
from bot.domain.commands import CommandError
from bot.slack.announce import post_dm
from bot.slack.client import retry_handlers

__all__ = ["EXPECTED", "explain", "reply"]

log = logging.getLogger(__name__)
EXPECTED = (CommandError, NamespaceNotAllowed, NameInvalid, ClusterError)


def reply(
    message: Message,
    *,
    body: dict[str, Any],
    respond: Respond | None,
    client: WebClient,
    replace: bool = False,
) -> None:
    """Answer only the person who acted: ephemeral via response_url, else in their DM."""
    url = body.get("response_url") or _first_response_url(body)
    if respond is not None and url:
        # Bolt's respond() neither retries nor raises on a 429 or 5xx, so a reply could be lost
        # silently; this client retries like the Web API client, then the DM is the fallback.
        answer = WebhookClient(str(url), timeout=10, retry_handlers=retry_handlers()).send(
            **message.as_kwargs(), response_type="ephemeral", replace_original=replace
        )
        if answer.status_code == 200:
            return
        log.warning("The response_url answered %s; replying by DM", answer.status_code)
    user = (body.get("user") or {}).get("id") or body.get("user_id")
    post_dm(client, message.as_kwargs(), user=str(user or ""))


def _first_response_url(body: dict[str, Any]) -> str | None:
    urls = body.get("response_urls") or []
    return str(urls[0].get("response_url")) if urls else None


def explain(error: Exception, *, doing: str) -> Message:
    """The message for a failure while ``doing`` something (e.g. "list deployments").

    Expected failures (bad input, the cluster's answers) are logged in one line; anything
    else with its traceback.
    """
    if isinstance(error, EXPECTED):
        log.warning("Could not %s: %s", doing, error)
    if isinstance(error, CommandError | NamespaceNotAllowed | NameInvalid):
        return error_message(f"Could not {doing}", str(error))
    if isinstance(error, NotFound):
        return error_message(
            f"Could not {doing}",
            error.message,
            fix="Every deployment you may see is in `/dynamote list all`.",
        )
    if isinstance(error, Forbidden | NotManaged | OperatorNotInstalled):
        return error_message(f"Could not {doing}", error.message)
    if isinstance(error, Unavailable):
        return error_message(
            f"Could not {doing}: the cluster did not answer",
            error.message,
            fix="Try again in a minute; if it persists, tell your platform team.",
        )
    if isinstance(error, ClusterError):
        return error_message(f"Could not {doing}", error.message)
    log.error("Failed to %s", doing, exc_info=error)
    return error_message(
        f"Could not {doing}",
        "Something went wrong inside Dynamote.",
        fix="Try again; if it keeps failing, tell your platform team (the bot logged the details).",
    )
