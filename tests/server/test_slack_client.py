"""bot.slack_client.make_web_client against the Slack Web API stand-in: retries and base URL."""

from __future__ import annotations

import time

import pytest
from slack_sdk.errors import SlackApiError

from bot.settings import Settings, load_settings
from bot.sim.slack_api import SlackStandIn
from bot.slack_client import make_web_client


def settings_for(standin: SlackStandIn, *, trailing_slash: bool = True) -> Settings:
    url = standin.url if trailing_slash else standin.url.rstrip("/")
    return load_settings(slack_bot_token=standin.token, slack_api_url=url)


def test_a_429_with_retry_after_is_waited_out_and_retried(slack_standin: SlackStandIn) -> None:
    client = make_web_client(settings_for(slack_standin))
    slack_standin.rate_limit("chat.postMessage", times=1, retry_after=1)
    started = time.monotonic()

    answer = client.chat_postMessage(channel="C0GENERAL", text="hello")

    assert answer["ok"]
    assert time.monotonic() - started >= 1.0  # honoured Retry-After
    assert [call.status for call in slack_standin.calls("chat.postMessage")] == [429, 200]


def test_a_500_is_retried_and_then_succeeds(slack_standin: SlackStandIn) -> None:
    client = make_web_client(settings_for(slack_standin))
    slack_standin.server_error("chat.postMessage", times=1, status=500)

    answer = client.chat_postMessage(channel="C0GENERAL", text="hello")

    assert answer["ok"]
    assert [call.status for call in slack_standin.calls("chat.postMessage")] == [500, 200]


def test_a_503_is_retried_and_then_succeeds(slack_standin: SlackStandIn) -> None:
    client = make_web_client(settings_for(slack_standin))
    slack_standin.server_error("auth.test", times=1, status=503)

    assert client.auth_test()["ok"]


def test_retries_stop_after_a_few_attempts(slack_standin: SlackStandIn) -> None:
    client = make_web_client(settings_for(slack_standin))
    slack_standin.server_error("chat.postMessage", times=None, status=500)

    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel="C0GENERAL", text="hello")

    assert len(slack_standin.calls("chat.postMessage")) == 3  # first try + 2 retries


def test_a_base_url_without_a_trailing_slash_still_reaches_the_api(
    slack_standin: SlackStandIn,
) -> None:
    client = make_web_client(settings_for(slack_standin, trailing_slash=False))

    assert client.base_url.endswith("/api/")
    assert client.auth_test()["ok"]


def test_the_client_sends_the_bot_token(slack_standin: SlackStandIn) -> None:
    make_web_client(settings_for(slack_standin)).auth_test()

    (call,) = slack_standin.calls("auth.test")
    assert call.headers["authorization"] == f"Bearer {slack_standin.token}"
