"""Socket Mode end to end, and what happens when the connection goes.

The bot's real Socket Mode client (``bot.slack.socket_mode``, on websocket-client, dispatching to
the Bolt app; opened by ``bot.serve._connect_socket_mode``) talks to the Socket Mode
stand-in (``tests.standins.slack_socket``); its Web client (``bot.slack.client.make_web_client``,
with the production retry handlers) asks the Web API stand-in for each WebSocket URL
(``apps.connections.open``) and answers commands through it; the listeners read the
Kubernetes stand-in. Everything stays on 127.0.0.1.

Each test acts as Slack does: slash commands arrive as ``slash_commands`` envelopes and must
be acked within Slack's 3 s; connections are dropped without warning, cut silently (no close
frame, no FIN), retired with a ``disconnect`` message, or refused for a while by
``apps.connections.open``.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from websockets.exceptions import ConnectionClosedOK, InvalidStatus
from websockets.sync.client import connect

from bot.cluster import Cluster
from bot.composition import build_dynamote
from bot.config.settings import Settings, load_settings
from bot.serve import SOCKET_STALE_PINGS, _connect_socket_mode, _Connection, run_serve
from bot.sim.k8s.standin import StandIn, default_crd_path
from bot.sim.operator.controller import SimOperator
from bot.sim.slack.web_api import RecordedCall, SlackStandIn
from bot.slack.client import RATE_LIMIT_RETRIES, retry_handlers
from bot.slack.context import AppContext
from bot.slack.socket_mode import SocketModeClient, SocketModeHandler
from tests import stacks
from tests.standins.slack_requests import slash_command
from tests.standins.slack_socket import DISCONNECT_REASONS, SocketLink, SocketModeStandIn
from tests.waiting import WAIT_SECONDS, wait_for, wait_until

pytestmark = pytest.mark.runs_long  # pings and reconnections

APP_TOKEN = "xapp-1-A0DYNAMOTE-1-test"  # made up; the stand-in accepts it
NAMESPACE = "team-a"
ACK_DEADLINE = 3.0  # Slack's: an envelope not acked by then failed for the person typing
# Across a connection refresh the bot acks as fast as at any other time; 1 s leaves room for
# a loaded test machine (measured: about 0.01 s).
REFRESH_ACK_DEADLINE = 1.0
PING = 0.5  # the client's ping interval in these tests (production: SOCKET_PING_SECONDS)
SOCKET_THREADS = "dynamote-socket"  # the prefix of the client's thread names
_RESPONSE_NAMES = itertools.count(1)
_PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")


@dataclass
class SocketStack:
    """The Bolt app on Socket Mode, the stand-ins behind it, and helpers that act as Slack."""

    slack: SlackStandIn
    socket_mode: SocketModeStandIn
    k8s: StandIn
    context: AppContext
    stop: threading.Event
    app: App
    connections: list[_Connection] = field(default_factory=list)

    def connect(self) -> float:
        """Open the connection as the runner does; returns how long that took."""
        started = time.monotonic()
        connection = _connect_socket_mode(self.app, APP_TOKEN, self.stop, ping_interval=PING)
        assert connection is not None
        self.connections.append(connection)
        return time.monotonic() - started

    @property
    def client(self) -> SocketModeClient:
        handler = self.connections[-1]
        assert isinstance(handler, SocketModeHandler)
        assert isinstance(handler.client, SocketModeClient)
        return handler.client

    def command(self, text: str, *, user: str = "U0ALICE") -> tuple[str, float]:
        """Send ``/dynamote text`` as Slack does in Socket Mode; asserts the ack came within
        Slack's deadline; returns the response_url name to read the answer from, and the
        ack's time."""
        return send_command(self.slack, self.socket_mode, text, user=user)

    def deploy_directly(self, name: str, *, user: str = "U0ALICE") -> None:
        """A ready deployment of `user`'s in the cluster, made without Slack."""
        stacks.deploy_directly(self, name, user=user, ns=NAMESPACE)


def send_command(
    slack: SlackStandIn, socket_mode: SocketModeStandIn, text: str, *, user: str = "U0ALICE"
) -> tuple[str, float]:
    """A ``slash_commands`` envelope for ``/dynamote text``; see `SocketStack.command`."""
    name = f"s{next(_RESPONSE_NAMES)}"
    request = slash_command(text, user=user, response_url=slack.response_url(name))
    payload = dict(parse_qsl(request.body.decode()))  # the same fields, as JSON
    started = time.monotonic()
    envelope_id = socket_mode.post_envelope("slash_commands", payload)
    ack = socket_mode.wait_for_ack(envelope_id, timeout=ACK_DEADLINE)
    took = time.monotonic() - started
    # The bot acks at once with nothing and answers through the response_url.
    assert ack == {"envelope_id": envelope_id}
    return name, took


def reply_on(slack: SlackStandIn, name: str, timeout: float = WAIT_SECONDS) -> dict[str, Any]:
    """What the app posted to response_url `name`."""
    found = wait_for(
        lambda: (
            [c.params for c in slack.calls("response_url") if c.path.endswith(f"/{name}")] or None
        ),
        timeout,
        what=f"a reply on {name}",
    )
    return found[0]


def connections_opened(slack: SlackStandIn) -> list[RecordedCall]:
    """The apps.connections.open calls Slack answered with a URL."""
    return [call for call in slack.calls("apps.connections.open") if "url" in call.response]


def no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """slack_sdk sends the WebSocket through any proxy in the environment; keep it local."""
    for variable in _PROXY_VARIABLES:
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture
def socket_mode() -> Iterator[SocketModeStandIn]:
    with SocketModeStandIn() as standin:
        yield standin


@pytest.fixture
def stack(
    slack_standin: SlackStandIn,
    socket_mode: SocketModeStandIn,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[SocketStack]:
    """Everything but the connection: the test calls `connect()`, after setting any fault."""
    no_proxies(monkeypatch)
    slack_standin.add_token(APP_TOKEN)
    slack_standin.serve_socket_mode(socket_mode.connection_url)
    settings = load_settings(
        namespaces=[NAMESPACE],
        default_namespace=NAMESPACE,
        slack_bot_token=slack_standin.token,
        slack_app_token=APP_TOKEN,
        slack_api_url=slack_standin.url,
        sim_ready_after=0.3,
    )
    with StandIn(crd_path=default_crd_path(), seed_namespaces=[NAMESPACE]) as k8s:
        operator = SimOperator(k8s.store, ready_after=0.3, tick=0.02)
        operator.start()
        cluster = Cluster(k8s.write_kubeconfig(tmp_path / "kubeconfig"), settings=settings)
        cluster.cluster_status()  # warm the client up (~2 s the first time), as the runner does
        dynamote = build_dynamote(settings, cluster, socket_mode=True, notifier=False)
        context, app = dynamote.context, dynamote.bolt_app
        stop = threading.Event()
        stack = SocketStack(slack_standin, socket_mode, k8s, context, stop, app)
        try:
            yield stack
        finally:
            stop.set()
            for connection in stack.connections:
                connection.close()
            dynamote.close()
            operator.stop()
            cluster.close()


def watchdog_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "answered no ping" in r.getMessage()]


# ----- the stand-in itself -------------------------------------------------------------------


def test_the_standin_says_hello_as_slack_does_and_takes_each_ticket_once(
    socket_mode: SocketModeStandIn,
) -> None:
    url = socket_mode.connection_url()

    with connect(url, proxy=None, open_timeout=2) as client:
        hello = json.loads(client.recv(timeout=2))
        with pytest.raises(InvalidStatus) as refused:
            connect(url, proxy=None, open_timeout=2)

    # The fields of Slack's hello ("Using Socket Mode"; python-slack-sdk's mock server).
    assert hello["type"] == "hello" and hello["num_connections"] == 1
    assert hello["connection_info"] == {"app_id": "A0DYNAMOTE"}
    assert set(hello["debug_info"]) == {"host", "build_number", "approximate_connection_time"}
    assert refused.value.response.status_code == 401
    assert (socket_mode.opened, socket_mode.rejected) == (1, 1)


@pytest.mark.parametrize("reason", DISCONNECT_REASONS)
def test_the_standin_closes_a_told_connection_after_close_after(
    socket_mode: SocketModeStandIn, reason: str
) -> None:
    with connect(socket_mode.connection_url(), proxy=None, open_timeout=2) as client:
        client.recv(timeout=2)  # hello
        socket_mode.wait_connected(1)
        assert socket_mode.disconnect(reason, close_after=0.1) == 1  # type: ignore[arg-type]
        told = json.loads(client.recv(timeout=2))
        with pytest.raises(ConnectionClosedOK):
            client.recv(timeout=2)

    assert told == {"type": "disconnect", "reason": reason, "debug_info": {"host": told_host(told)}}
    assert socket_mode.wait_closed(1).ended_by == "disconnect"


def told_host(message: dict[str, Any]) -> str:
    host = message["debug_info"]["host"]
    assert isinstance(host, str) and host.startswith("applink-")
    return host


def test_the_standin_refuses_a_disconnect_reason_slack_never_sends(
    socket_mode: SocketModeStandIn,
) -> None:
    with pytest.raises(ValueError, match="no disconnect reason 'goodbye'"):
        socket_mode.disconnect("goodbye")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("envelope_type", "payload", "accepts", "retry"),
    [
        ("slash_commands", {"command": "/dynamote"}, True, False),
        ("interactive", {"type": "block_actions"}, False, False),
        ("interactive", {"type": "view_submission"}, True, False),
        ("interactive", {"type": "block_suggestion"}, True, False),
        ("events_api", {"type": "event_callback"}, False, True),
    ],
)
def test_envelopes_are_shaped_as_slacks(
    socket_mode: SocketModeStandIn,
    envelope_type: Any,
    payload: dict[str, Any],
    accepts: bool,
    retry: bool,
) -> None:
    with connect(socket_mode.connection_url(), proxy=None, open_timeout=2) as client:
        client.recv(timeout=2)  # hello
        socket_mode.wait_connected(1)
        sent_id = socket_mode.post_envelope(envelope_type, payload)
        envelope = json.loads(client.recv(timeout=2))
        client.send(json.dumps({"envelope_id": sent_id}))
        assert socket_mode.wait_for_ack(sent_id) == {"envelope_id": sent_id}

    keys = {"envelope_id", "payload", "type", "accepts_response_payload"}
    assert set(envelope) == keys | ({"retry_attempt", "retry_reason"} if retry else set())
    assert envelope["envelope_id"] == sent_id and len(sent_id) == 36  # a UUID, as Slack's
    assert envelope["type"] == envelope_type and envelope["payload"] == payload
    assert envelope["accepts_response_payload"] is accepts
    if retry:
        assert (envelope["retry_attempt"], envelope["retry_reason"]) == (0, "")


def test_a_blackholed_connection_carries_nothing_and_stays_open(
    socket_mode: SocketModeStandIn,
) -> None:
    url = socket_mode.connection_url()
    # Closing waits for a close frame that cannot come: give up on it at once.
    with connect(url, proxy=None, open_timeout=2, close_timeout=0.1) as client:
        client.recv(timeout=2)  # hello
        socket_mode.wait_connected(1)

        assert socket_mode.blackhole() == 1
        client.send(json.dumps({"envelope_id": "lost"}))
        pong = client.ping()
        answered = pong.wait(timeout=PING)
        with pytest.raises(AssertionError, match="no ack for lost"):
            socket_mode.wait_for_ack("lost", timeout=PING)

    assert not answered  # the ping went nowhere
    (link,) = socket_mode.links()
    assert link.ended_by is None  # the server never saw it end
    assert socket_mode.received() == []


# ----- connected ------------------------------------------------------------------------------


def test_a_command_over_socket_mode_is_acked_within_3s_and_answered(stack: SocketStack) -> None:
    stack.connect()
    link = stack.socket_mode.wait_connected(1)

    name, took = stack.command("help")

    assert took < ACK_DEADLINE
    reply = reply_on(stack.slack, name)
    assert reply["response_type"] == "ephemeral"
    assert "open_deploy" in str(reply["blocks"])
    # The URL came from apps.connections.open, asked with the app-level token.
    (opened,) = stack.slack.calls("apps.connections.open")
    assert opened.headers["authorization"] == f"Bearer {APP_TOKEN}"
    assert link.ticket in opened.response["url"] and stack.socket_mode.opened == 1


# ----- dropped --------------------------------------------------------------------------------


def test_after_a_drop_the_bot_reconnects_and_handles_the_next_command(
    stack: SocketStack, caplog: pytest.LogCaptureFixture
) -> None:
    stack.deploy_directly("qwen-before-drop")
    stack.connect()
    stack.socket_mode.wait_connected(1)

    dropped_at = time.monotonic()
    assert stack.socket_mode.drop() == 1
    link = stack.socket_mode.wait_connected(2, timeout=10)
    reconnect_seconds = link.opened_at - dropped_at

    name, took = stack.command("list")
    assert took < ACK_DEADLINE
    assert "qwen-before-drop" in str(reply_on(stack.slack, name))
    first, second = stack.socket_mode.links()
    assert first.ended_by == "drop" and second.is_open and second.envelopes
    assert len(connections_opened(stack.slack)) == 2  # a fresh URL: tickets are single-use
    assert stack.socket_mode.rejected == 0
    # The end of the TCP stream is noticed at once, not by the ping watchdog.
    assert reconnect_seconds < PING, reconnect_seconds
    assert not watchdog_warnings(caplog)


def test_a_silently_cut_connection_is_replaced_within_about_two_pings(
    stack: SocketStack, caplog: pytest.LogCaptureFixture
) -> None:
    stack.deploy_directly("qwen-before-cut")
    stack.connect()
    stack.socket_mode.wait_connected(1)
    # A healthy idle connection lives on its pongs: the watchdog leaves it alone while more
    # than its stale window passes.
    wait_until(lambda: stack.client.pongs > SOCKET_STALE_PINGS + 1, timeout=10 * PING)
    assert stack.socket_mode.opened == 1 and not watchdog_warnings(caplog)

    cut_at = time.monotonic()
    assert stack.socket_mode.blackhole() == 1  # no close frame, no FIN: only pings can tell
    link = stack.socket_mode.wait_connected(2, timeout=10)
    noticed_seconds = link.opened_at - cut_at

    name, took = stack.command("list")
    assert took < ACK_DEADLINE
    assert "qwen-before-cut" in str(reply_on(stack.slack, name))
    assert watchdog_warnings(caplog)
    # Silent for more than SOCKET_STALE_PINGS intervals, checked every half interval.
    assert noticed_seconds > SOCKET_STALE_PINGS * PING - PING, noticed_seconds
    assert noticed_seconds < (SOCKET_STALE_PINGS + 1) * PING, noticed_seconds


# ----- asked to go ----------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["refresh_requested", "warning"])
def test_after_a_disconnect_message_the_bot_opens_a_new_connection_and_closes_the_old(
    stack: SocketStack, reason: str
) -> None:
    stack.connect()
    stack.socket_mode.wait_connected(1)

    asked_at = time.monotonic()
    assert stack.socket_mode.disconnect(reason) == 1  # type: ignore[arg-type]
    link = stack.socket_mode.wait_connected(2)
    old = stack.socket_mode.wait_closed(1)

    assert link.opened_at - asked_at < 1.0  # on the message itself: the server closed nothing
    assert old.ended_by == "client"
    assert len(connections_opened(stack.slack)) == 2
    name, took = stack.command("help")
    assert took < ACK_DEADLINE
    assert reply_on(stack.slack, name)["response_type"] == "ephemeral"


def test_a_command_right_after_a_refresh_request_is_acked_at_once(stack: SocketStack) -> None:
    """Slack may send it on the old connection before the bot has replaced it."""
    stack.connect()
    stack.socket_mode.wait_connected(1)

    assert stack.socket_mode.disconnect("refresh_requested") == 1
    name, took = stack.command("help")  # on the old connection: the new one is not open yet

    assert took < REFRESH_ACK_DEADLINE, took
    assert reply_on(stack.slack, name)["response_type"] == "ephemeral"
    first = stack.socket_mode.links()[0]
    assert first.envelopes  # it did go to the connection being replaced
    assert first.acks == first.envelopes  # and was acked there, on the connection it came on
    stack.socket_mode.wait_connected(2)
    assert stack.socket_mode.wait_closed(1).ended_by == "client"


def test_a_command_on_the_new_connection_is_acked_while_the_old_one_closes(
    stack: SocketStack,
) -> None:
    stack.connect()
    stack.socket_mode.wait_connected(1)

    assert stack.socket_mode.disconnect("refresh_requested") == 1
    stack.socket_mode.wait_connected(2)
    name, took = stack.command("help")

    assert took < REFRESH_ACK_DEADLINE, took
    assert reply_on(stack.slack, name)["response_type"] == "ephemeral"
    second = stack.socket_mode.links()[1]
    assert second.envelopes and second.acks == second.envelopes
    assert len(connections_opened(stack.slack)) == 2  # one refresh, one new connection


def test_a_slow_apps_connections_open_during_a_refresh_delays_no_ack(stack: SocketStack) -> None:
    stack.connect()
    stack.socket_mode.wait_connected(1)
    slow = stack.slack.add_latency("apps.connections.open", 2.0, times=1)

    assert stack.socket_mode.disconnect("refresh_requested") == 1
    name, took = stack.command("help")  # while the bot waits for its new URL

    assert took < REFRESH_ACK_DEADLINE, took
    assert reply_on(stack.slack, name)["response_type"] == "ephemeral"
    stack.socket_mode.wait_connected(2, timeout=10)
    assert slow.hits == 1


# ----- apps.connections.open failing ----------------------------------------------------------


def test_connection_opens_once_apps_connections_open_recovers_at_start(
    stack: SocketStack,
) -> None:
    # More failures than one call's retries (a 429, then 503s): the runner's loop retries.
    limited = stack.slack.rate_limit("apps.connections.open", times=1, retry_after=0)
    failing = stack.slack.server_error("apps.connections.open", times=3, status=503)

    took = stack.connect()

    stack.socket_mode.wait_connected(1)
    assert (limited.hits, failing.hits) == (1, 3)
    assert len(stack.slack.calls("apps.connections.open")) == 5
    assert took < 8.0, took
    name, _ = stack.command("help")
    assert reply_on(stack.slack, name)["response_type"] == "ephemeral"


@pytest.mark.parametrize(
    ("fault", "times"),
    [
        ("server_error", 3),  # one reconnection attempt (the call and its two retries) fails
        ("rate_limit", 4),  # past the client's three retries: slack_sdk waits and asks again
    ],
)
def test_reconnection_survives_apps_connections_open_failing_for_a_while(
    stack: SocketStack, fault: str, times: int
) -> None:
    stack.connect()
    stack.socket_mode.wait_connected(1)
    if fault == "server_error":
        failing = stack.slack.server_error("apps.connections.open", times=times)
    else:
        failing = stack.slack.rate_limit("apps.connections.open", times=times, retry_after=0)

    stack.socket_mode.drop()

    stack.socket_mode.wait_connected(2, timeout=15)
    assert failing.hits == times
    assert len(stack.slack.calls("apps.connections.open")) == 1 + times + 1
    name, took = stack.command("help")
    assert took < ACK_DEADLINE
    assert reply_on(stack.slack, name)["response_type"] == "ephemeral"


# ----- the runner itself ----------------------------------------------------------------------


@dataclass
class Served:
    """run_serve in a thread, in Socket Mode."""

    settings: Settings
    stop: threading.Event = field(default_factory=threading.Event)
    codes: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        self.codes.append(
            run_serve(simulate=True, http=False, port=0, settings=self.settings, stop=self.stop)
        )

    def finish(self) -> list[int]:
        self.stop.set()
        self.thread.join(timeout=20)
        assert not self.thread.is_alive(), "run_serve did not return after stop"
        return self.codes


def test_the_runner_serves_commands_over_socket_mode_and_follows_a_refresh(
    slack_standin: SlackStandIn,
    socket_mode: SocketModeStandIn,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    no_proxies(monkeypatch)
    monkeypatch.setenv("DYNAMOTE_SIM_KUBECONFIG", str(tmp_path / "kubeconfig"))
    slack_standin.add_token(APP_TOKEN)
    slack_standin.serve_socket_mode(socket_mode.connection_url)
    settings = load_settings(
        slack_bot_token=slack_standin.token,
        slack_app_token=APP_TOKEN,
        slack_api_url=slack_standin.url,
        bind_host="127.0.0.1",
        sim_ready_after=0.1,
    )
    served = Served(settings)
    try:
        socket_mode.wait_connected(1, timeout=20)
        name, took = send_command(slack_standin, socket_mode, "help")
        assert took < ACK_DEADLINE
        assert reply_on(slack_standin, name)["response_type"] == "ephemeral"

        socket_mode.disconnect("refresh_requested")
        socket_mode.wait_connected(2)
        socket_mode.wait_closed(1)
        name, took = send_command(slack_standin, socket_mode, "help")
        assert took < ACK_DEADLINE
        assert reply_on(slack_standin, name)["response_type"] == "ephemeral"
    finally:
        codes = served.finish()

    assert codes == [0]
    # Stopping closed the connection, and nothing reconnected after.
    last: SocketLink = socket_mode.wait_closed(2)
    assert last.ended_by == "client" and socket_mode.opened == 2
    wait_until(
        lambda: not any(t.name.startswith(SOCKET_THREADS) for t in threading.enumerate()),
        timeout=2.0,
    )


@pytest.fixture(autouse=True)
def _quiet_websockets(caplog: pytest.LogCaptureFixture) -> None:
    """The stand-in's server logs every connection at INFO; the app's records are kept."""
    caplog.set_level(logging.WARNING, logger="websockets")


@pytest.fixture
def bare_client(
    slack_standin: SlackStandIn, socket_mode: SocketModeStandIn, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SocketModeClient]:
    """Our Socket Mode client alone, on a Web client with the production retry handlers."""
    no_proxies(monkeypatch)
    slack_standin.add_token(APP_TOKEN)
    slack_standin.serve_socket_mode(socket_mode.connection_url)
    web = WebClient(
        token=slack_standin.token, base_url=slack_standin.url, retry_handlers=retry_handlers()
    )
    client = SocketModeClient(APP_TOKEN, web_client=web, ping_interval=5.0, stale_pings=2)
    try:
        yield client
    finally:
        client.close()


def test_a_connect_waiting_on_apps_connections_open_holds_no_lock(
    bare_client: SocketModeClient, slack_standin: SlackStandIn
) -> None:
    held = slack_standin.pause("apps.connections.open")
    connecting = threading.Thread(target=bare_client.connect, daemon=True)
    connecting.start()
    try:
        assert held.arrived.wait(WAIT_SECONDS), "apps.connections.open was never called"
        # While Slack has not answered (or a 429 is being waited out), the lock is free.
        assert bare_client.connect_operation_lock.acquire(blocking=False)
        bare_client.connect_operation_lock.release()
    finally:
        held.release()
        connecting.join(WAIT_SECONDS)
    assert bare_client.is_connected()


def test_a_rate_limited_apps_connections_open_is_retried_by_the_handlers_alone(
    bare_client: SocketModeClient, slack_standin: SlackStandIn
) -> None:
    slack_standin.rate_limit("apps.connections.open", times=None, retry_after=0)
    failed: list[BaseException] = []

    def connect() -> None:
        try:
            bare_client.connect()
        except SlackApiError as error:
            failed.append(error)

    connecting = threading.Thread(target=connect, daemon=True)
    connecting.start()
    connecting.join(WAIT_SECONDS)

    assert not connecting.is_alive(), "connect() kept retrying a rate-limited Slack"
    assert [str(error.response.get("error")) for error in failed] == ["ratelimited"]
    # The first call and the handlers' retries, nothing more: the caller backs off.
    assert len(slack_standin.calls("apps.connections.open")) == 1 + RATE_LIMIT_RETRIES
