"""Post a deployment's status card where people will see it.

The card goes to the channel the command ran in. When the bot cannot post there (it is not a
member, the channel is private, or gone) or there is no channel (App Home), it goes to the
requester's DM instead, so a deploy is never silent.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

__all__ = ["CARD_FALLBACK_ERRORS", "post_card", "post_dm"]

log = logging.getLogger(__name__)

# chat.postMessage errors that mean "not here": fall back to a DM.
CARD_FALLBACK_ERRORS = frozenset(
    {"not_in_channel", "channel_not_found", "is_archived", "restricted_action", "access_denied"}
)


def post_card(
    client: WebClient, message: dict[str, Any], *, channel: str | None, user: str
) -> tuple[str, str]:
    """Post the card; returns (channel, ts) of where it landed."""
    if channel:
        try:
            response = client.chat_postMessage(channel=channel, **message)
            return str(response["channel"]), str(response["ts"])
        except SlackApiError as error:
            if error.response.get("error") not in CARD_FALLBACK_ERRORS:
                raise
            log.info(
                "Cannot post in %s (%s); sending the card by DM",
                channel,
                error.response.get("error"),
            )
    return post_dm(client, message, user=user)


def post_dm(client: WebClient, message: dict[str, Any], *, user: str) -> tuple[str, str]:
    """Post in the person's DM with the bot (opened if new); returns (channel, ts)."""
    dm = client.conversations_open(users=user)
    response = client.chat_postMessage(channel=str(dm["channel"]["id"]), **message)
    return str(response["channel"]), str(response["ts"])
