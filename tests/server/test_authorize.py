"""No request waits on Slack before its ack: the App authorizes from the runner's start-up
auth.test (bot.slack.identity), never by calling auth.test itself.

The runner tests run `run_serve` in HTTP mode with the whole bot as bot.composition builds it
against the Slack stand-in, whose auth.test is made slow or failing.
"""

from __future__ import annotations

import http.client
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config.settings import Settings, load_settings
from bot.serve import run_serve
from bot.sim.slack.web_api import BOT_ID, BOT_USER_ID, TEAM_ID, SlackStandIn
from bot.slack.identity import SlackIdentity
from tests.standins.slack_requests import slash_command
from tests.waiting import WAIT_SECONDS, wait_for, wait_until

from .conftest import SIGNING_SECRET
from .test_runner import free_port

SLOW_AUTH_TEST = 2.5  # seconds: past what an ack may wait, near Slack's 3 s


class Serving:
    """run_serve (HTTP mode, the real App) in a thread until stopped."""

    def __init__(self, settings: Settings) -> None:
        self.port = free_port()
        self.stop = threading.Event()
        self.codes: list[int] = []
        self.thread = threading.Thread(
            target=lambda: self.codes.append(
                run_serve(
                    simulate=True, http=True, port=self.port, settings=settings, stop=self.stop
                )
            ),
            daemon=True,
        )
        self.thread.start()

    def get(self, path: str) -> int:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as got:
                return int(got.status)
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            return 0

    def wait_serving(self, timeout: float = WAIT_SECONDS) -> None:
        wait_until(lambda: self.get("/healthz") == 200, timeout, what="the server serving")

    def command(self, text: str, response_url: str) -> tuple[int, float]:
        request = slash_command(text, response_url=response_url)
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        started = time.perf_counter()
        try:
            connection.request(
                "POST", "/slack/events", body=request.body, headers=request.headers(SIGNING_SECRET)
            )
            answer = connection.getresponse()
            answer.read()
            return answer.status, time.perf_counter() - started
        finally:
            connection.close()

    def finish(self) -> None:
        self.stop.set()
        self.thread.join(timeout=20)
        assert not self.thread.is_alive(), "run_serve did not return after stop"


@pytest.fixture
def serving(
    slack_standin: SlackStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Serving]:
    monkeypatch.setenv("DYNAMOTE_SIM_KUBECONFIG", str(tmp_path / "kubeconfig"))
    settings = load_settings(
        slack_bot_token=slack_standin.token,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack_standin.url,
        bind_host="127.0.0.1",
        sim_ready_after=0.1,
    )
    served = Serving(settings)
    yield served
    served.finish()


def reply_on(slack: SlackStandIn, name: str, timeout: float = WAIT_SECONDS) -> dict[str, object]:
    found = wait_for(
        lambda: [c.params for c in slack.calls("response_url") if c.path.endswith(f"/{name}")]
        or None,
        timeout,
        what=f"a reply on {name}",
    )
    return found[0]


def test_the_first_command_is_acked_at_once_while_auth_test_is_slow(
    slack_standin: SlackStandIn, serving: Serving
) -> None:
    slack_standin.add_latency("auth.test", SLOW_AUTH_TEST)  # every call, the runner's too
    serving.wait_serving()

    status, took = serving.command("help", slack_standin.response_url("first"))

    assert status == 200
    assert took < SLOW_AUTH_TEST, f"the first ack took {took:.2f}s: it waited on auth.test"
    assert reply_on(slack_standin, "first")["text"] == "How to use /dynamote"
    # Only the runner asked Slack who the bot is; the request did not.
    assert len(slack_standin.calls("auth.test")) <= 1


def test_commands_are_answered_while_auth_test_keeps_failing_and_readyz_says_why(
    slack_standin: SlackStandIn, serving: Serving
) -> None:
    slack_standin.server_error("auth.test", times=None, status=503)
    serving.wait_serving()

    status, took = serving.command("help", slack_standin.response_url("down"))

    assert status == 200 and took < 1.0, took
    assert reply_on(slack_standin, "down")["text"] == "How to use /dynamote"
    assert serving.get("/readyz") == 503  # not ready until auth.test succeeds


def test_the_identity_authorizes_from_the_token_until_auth_test_answers() -> None:
    identity = SlackIdentity("xoxb-test")
    authorize = identity.authorizer()

    before = authorize(enterprise_id=None, team_id="T0DYNAMOTE", user_id="U0ALICE")
    identity.record(
        {"ok": True, "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": BOT_ID, "team": "T"},
        scopes="commands,chat:write",
    )
    after = authorize(enterprise_id=None, team_id="T0DYNAMOTE", user_id="U0ALICE")

    assert (before.bot_token, before.bot_id, before.bot_user_id) == ("xoxb-test", None, None)
    assert (before.team_id, before.user_id) == ("T0DYNAMOTE", "U0ALICE")
    assert (after.bot_token, after.bot_id, after.bot_user_id) == ("xoxb-test", BOT_ID, BOT_USER_ID)
    assert after.team_id == TEAM_ID and after.user_id == "U0ALICE"
    assert after.bot_scopes == ["commands", "chat:write"]
    assert identity.known
