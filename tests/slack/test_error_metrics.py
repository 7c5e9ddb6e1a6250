"""Slack Web API failures are counted by the client, once per failed call, wherever the call
is made: in a listener of the running app (over real HTTP), in the group directory, anywhere.
A retried attempt is a retry, not an error; `/metrics` has no `_created` series; and building
the app while SLACK_BOT_TOKEN is set does not make Bolt warn about an unused token.
"""

from __future__ import annotations

import http.client
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config.settings import load_settings
from bot.sim.slack.web_api import SlackStandIn
from bot.slack.app import AppContext, build_bolt_app
from bot.slack.client import failure_kind, method_of, retry_handlers
from bot.slack.user_groups import GroupDirectory
from tests.metric_samples import sample_value
from tests.stacks import Stack, build_stack
from tests.waiting import wait_until

ERRORS = "dynamote_slack_api_errors_total"
RETRIES = "dynamote_slack_api_retries_total"


def errors(method: str, kind: str) -> float:
    return sample_value(ERRORS, {"method": method, "kind": kind})


def retries(method: str, kind: str) -> float:
    return sample_value(RETRIES, {"method": method, "kind": kind})


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """The whole app over HTTP with the production retry handlers (bot.slack.client)."""
    with build_stack(tmp_path) as built:
        yield built


def test_a_5xx_on_a_call_in_a_listener_counts_one_error_after_its_retries(stack: Stack) -> None:
    stack.slack.server_error("views.open", times=None, status=500)
    before = errors("views.open", "http_5xx"), retries("views.open", "http_5xx")

    stack.command("deploy qwen3 0.6b")
    stack.slack.wait_for("views.open", count=3)  # the first try and two retries

    wait_for_sample(ERRORS, "views.open", "http_5xx", before[0] + 1)
    assert retries("views.open", "http_5xx") == before[1] + 2
    assert errors("views.open", "http_5xx") == before[0] + 1  # once, not per attempt


def test_a_429_in_a_listener_that_succeeds_on_retry_is_a_retry_not_an_error(
    stack: Stack,
) -> None:
    stack.slack.rate_limit("views.open", times=1, retry_after=0)
    before = errors("views.open", "ratelimited"), retries("views.open", "ratelimited")

    stack.command("deploy qwen3 0.6b")
    stack.slack.wait_for("views.open", count=2)

    assert [c.status for c in stack.slack.calls("views.open")] == [429, 200]
    assert retries("views.open", "ratelimited") == before[1] + 1
    assert errors("views.open", "ratelimited") == before[0]


def test_an_error_slack_answers_in_a_listener_counts_with_its_code(stack: Stack) -> None:
    stack.slack.fail("views.open", "expired_trigger_id", times=1)
    before = errors("views.open", "expired_trigger_id")

    stack.command("deploy qwen3 0.6b")
    stack.slack.wait_for("views.open")

    wait_for_sample(ERRORS, "views.open", "expired_trigger_id", before + 1)


def test_a_429_that_outlasts_the_retries_counts_one_ratelimited_error(
    slack: SlackStandIn,
) -> None:
    client = WebClient(token=slack.token, base_url=slack.url, retry_handlers=retry_handlers())
    slack.rate_limit("chat.postMessage", times=None, retry_after=0)
    before = errors("chat.postMessage", "ratelimited"), retries("chat.postMessage", "ratelimited")

    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel="C0GENERAL", text="hello")

    assert len(slack.calls("chat.postMessage")) == 4  # the first try and three retries
    assert errors("chat.postMessage", "ratelimited") == before[0] + 1
    assert retries("chat.postMessage", "ratelimited") == before[1] + 3


def test_a_refused_connection_counts_as_connection(slack: SlackStandIn) -> None:
    client = WebClient(
        token=slack.token,
        base_url="http://127.0.0.1:9/api/",
        retry_handlers=retry_handlers(retries=False),  # the count alone: no backoff to wait
    )
    before = errors("auth.test", "connection")

    with pytest.raises(OSError):  # URLError, whatever its reason
        client.auth_test()

    assert errors("auth.test", "connection") == before + 1


def test_group_lookups_before_the_ack_are_counted_too(slack: SlackStandIn) -> None:
    client = WebClient(token=slack.token, base_url=slack.url, retry_handlers=retry_handlers())
    slack.rate_limit("usergroups.users.list", times=1, retry_after=30)
    before = errors("usergroups.users.list", "ratelimited")

    membership = GroupDirectory(ttl=60).membership(client, "U0ALICE", ["S0DEPLOY"])

    assert "S0DEPLOY" in membership.unknown
    assert errors("usergroups.users.list", "ratelimited") == before + 1


def test_label_values_stay_few() -> None:
    assert method_of("https://slack.com/api/chat.postMessage") == "chat.postMessage"
    assert method_of("https://slack.com/api/usergroups.users.list") == "usergroups.users.list"
    assert method_of("https://hooks.slack.com/actions/T0/123/abcDEF") == "response_url"
    assert failure_kind(None, TimeoutError()) == "timeout"
    assert failure_kind(None, ConnectionResetError()) == "connection"


def test_metrics_has_no_created_series(stack: Stack) -> None:
    stack.command("deploy qwen3 0.6b")  # some counters with labels exist by now
    stack.opened_view()
    connection = http.client.HTTPConnection("127.0.0.1", stack.server.port, timeout=5)
    try:
        connection.request("GET", "/metrics")
        text = connection.getresponse().read().decode()
    finally:
        connection.close()

    samples = [line.split("{")[0].split(" ")[0] for line in text.splitlines() if line[:1] != "#"]
    assert "dynamote_commands_total" in samples
    assert [s for s in samples if s.endswith("_created")] == []


def test_building_the_app_with_slack_bot_token_set_logs_no_unused_token_warning(
    slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.token)  # as in production: Bolt reads it too
    dynamote = AppContext(settings=load_settings(), catalog=None, service=None)  # type: ignore[arg-type]
    client = WebClient(token=slack.token, base_url=slack.url)
    try:
        with caplog.at_level(logging.DEBUG):
            build_bolt_app(dynamote, client=client, signing_secret="s", socket_mode=False)
    finally:
        dynamote.close()

    assert not [r for r in caplog.records if "unused" in r.getMessage()]
    assert any(
        type(h).__name__ == "_CountFailures" for h in client.retry_handlers
    )  # a client not made by bot.slack.client counts failures once the App has it


def wait_for_sample(name: str, method: str, kind: str, value: float) -> None:
    """Listener calls run after the ack, so the count may land a moment after the call."""
    wait_until(
        lambda: sample_value(name, {"method": method, "kind": kind}) >= value,
        what=f"{name}{{method={method}, kind={kind}}} reaching {value}",
    )
