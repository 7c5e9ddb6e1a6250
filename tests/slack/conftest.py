"""Fixtures for the Slack tests: a Slack Web API stand-in over real HTTP, and clients for it.

`slack_standin` fails the test at teardown when anything sent to it broke a Block Kit limit,
so every test that drives the app through it also checks what the app sent.
"""

from __future__ import annotations

import pytest
from slack_sdk import WebClient

from bot.sim.slack.web_api import SlackStandIn


@pytest.fixture
def slack_client(slack_standin: SlackStandIn) -> WebClient:
    """A WebClient on the stand-in, without retries, so each fault shows as it is answered."""
    return WebClient(token=slack_standin.token, base_url=slack_standin.url, retry_handlers=[])
