"""The request builders the tests send, as Slack sends them: :mod:`bot.playground.slack_payloads`.

They live in the package because ``dynamote playground`` sends the bot the same requests; the
tests import them from here.
"""

from bot.playground.slack_payloads import (
    TEAM,
    SlackRequest,
    block_actions,
    event_callback,
    new_trigger_id,
    signed_headers,
    slack_view,
    slash_command,
    url_verification,
    view_closed,
    view_state,
    view_submission,
)

__all__ = [
    "TEAM",
    "SlackRequest",
    "block_actions",
    "event_callback",
    "new_trigger_id",
    "signed_headers",
    "slack_view",
    "slash_command",
    "url_verification",
    "view_closed",
    "view_state",
    "view_submission",
]
