"""bot.slack.client.make_web_client against the Slack Web API stand-in: retries and base URL."""

from __future__ import annotations

import time
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.config.settings import Settings, load_settings
from bot.sim.slack.web_api import SlackStandIn
from bot.slack.client import RATE_LIMIT_RETRIES, make_web_client, retry_after


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


def test_a_call_rate_limited_throughout_is_retried_as_often_as_configured_and_no_more(
    slack_standin: SlackStandIn,
) -> None:
    client = make_web_client(settings_for(slack_standin))
    limit = slack_standin.rate_limit("chat.postMessage", times=None, retry_after=1)

    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C0GENERAL", text="hello")

    assert raised.value.response.status_code == 429
    assert retry_after(raised.value.response) == 1.0  # what the caller holds back for
    assert limit.hits == 1 + RATE_LIMIT_RETRIES
    assert len(slack_standin.calls("chat.postMessage")) == 1 + RATE_LIMIT_RETRIES


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


def _answer(status: int, headers: dict[str, Any]) -> SlackResponse:
    return SlackResponse(
        client=None,
        http_verb="POST",
        api_url="https://slack.com/api/chat.postMessage",
        req_args={},
        data={"ok": status == 200, "error": "ratelimited"} if status == 429 else {"ok": True},
        headers=headers,
        status_code=status,
    )


@pytest.mark.parametrize(
    ("status", "headers", "seconds"),
    [
        (429, {"Retry-After": "30"}, 30.0),  # as urllib hands slack_sdk the headers
        (429, {"retry-after": ["7"]}, 7.0),  # header names are case-insensitive
        (429, {}, 1.0),  # missing: slack_sdk's own fallback of 1 s
        (429, {"Retry-After": "soon"}, 1.0),
        (200, {"Retry-After": "30"}, 0.0),  # only a 429 asks to wait
    ],
)
def test_retry_after_reads_the_header_of_a_429(
    status: int, headers: dict[str, Any], seconds: float
) -> None:
    assert retry_after(_answer(status, headers)) == seconds
