"""Fixtures for the HTTP server tests: bot.server.wsgi's WSGI app served by waitress on 127.0.0.1:0.

The Bolt App here is small but real: its own WebClient points at the Slack Web API stand-in,
and its `/dynamote` listener acks and records that it ran, so a test can tell whether a
request reached a listener (a side effect) or was refused before.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import pytest
from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from bot.server.health import Health
from bot.server.wsgi import MAX_BODY_BYTES, HttpServer, build_wsgi_app, serve_http
from bot.sim.slack.web_api import SlackStandIn
from tests.waiting import Background

SIGNING_SECRET = "test-signing-secret"  # a made-up secret for these tests only


@dataclass
class FakeClock:
    """A monotonic clock the test moves by hand."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Probe:
    """A cluster probe whose answer the test sets; counts its calls."""

    reachable: bool = True
    calls: int = 0

    def __call__(self) -> bool:
        self.calls += 1
        return self.reachable


@dataclass
class Listener:
    """What the test Bolt App's `/dynamote` listener saw."""

    commands: list[dict[str, str]] = field(default_factory=list)
    ran: threading.Event = field(default_factory=threading.Event)


@dataclass
class Served:
    """A running server and what the test controls behind it."""

    server: HttpServer
    health: Health
    probe: Probe
    clock: FakeClock
    listener: Listener
    # Bolt's listener pool: drained, it proves no listener is still to run.
    background: Background

    def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            answer = connection.getresponse()
            return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
        finally:
            connection.close()


def slash_command_body(text: str = "list", *, response_url: str = "") -> bytes:
    """A slash command payload, form-encoded as Slack sends it."""
    return urlencode(
        {
            "token": "deprecated-verification-token",
            "team_id": "T0DYNAMOTE",
            "team_domain": "dynamote",
            "channel_id": "C0GENERAL",
            "channel_name": "general",
            "user_id": "U0ALICE",
            "user_name": "alice",
            "command": "/dynamote",
            "text": text,
            "api_app_id": "A0DYNAMOTE",
            "response_url": response_url,
            "trigger_id": f"{time.time_ns()}.1.abcdef",
        }
    ).encode()


def signed_headers(
    body: bytes,
    *,
    timestamp: int | None = None,
    secret: str = SIGNING_SECRET,
    content_type: str = "application/x-www-form-urlencoded",
) -> dict[str, str]:
    """Headers signed exactly as Slack signs them (v0, HMAC-SHA256 over ts and raw body)."""
    sent = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=sent, body=body)
    assert signature is not None
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": sent,
        "X-Slack-Signature": signature,
    }


def make_bolt_app(client: WebClient, listener: Listener, background: Background) -> App:
    app = App(
        client=client,
        signing_secret=SIGNING_SECRET,
        token_verification_enabled=False,
        listener_executor=background.track(ThreadPoolExecutor(max_workers=5)),
    )

    @app.command("/dynamote")
    def on_command(ack: Ack, command: dict[str, str]) -> None:
        ack()
        listener.commands.append(command)
        listener.ran.set()

    return app


@pytest.fixture
def sim_kubeconfig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`dynamote serve --simulate` writes its kubeconfig here and listens on 127.0.0.1."""
    path = tmp_path / "sim" / "kubeconfig"
    monkeypatch.setenv("DYNAMOTE_SIM_KUBECONFIG", str(path))
    monkeypatch.setenv("DYNAMOTE_BIND_HOST", "127.0.0.1")
    return path


@pytest.fixture
def serve() -> Iterator[Callable[..., Served]]:
    """Start a server for a WSGI app built with the given options; all stop at teardown."""
    running: list[tuple[HttpServer, threading.Thread]] = []

    def start(
        *,
        bolt_client: WebClient | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
        server_max_body_bytes: int | None = None,
    ) -> Served:
        clock, probe, listener, background = FakeClock(), Probe(), Listener(), Background()
        health = Health(probe, cache_seconds=2.0, clock=clock)
        bolt_app = (
            make_bolt_app(bolt_client, listener, background) if bolt_client is not None else None
        )
        wsgi = build_wsgi_app(
            health=health,
            bolt_app=bolt_app,
            signing_secret=SIGNING_SECRET if bolt_app is not None else None,
            max_body_bytes=max_body_bytes,
        )
        server = serve_http(
            wsgi,
            host="127.0.0.1",
            port=0,
            threads=4,
            max_body_bytes=server_max_body_bytes or max_body_bytes,
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        running.append((server, thread))
        return Served(server, health, probe, clock, listener, background)

    yield start
    for server, thread in running:
        server.close()
        thread.join(timeout=10)
        assert not thread.is_alive(), "the server did not stop when closed"


@pytest.fixture
def served(serve: Callable[..., Served], slack_standin: SlackStandIn) -> Served:
    """HTTP mode: /slack/events routed to a Bolt App whose client talks to the stand-in."""
    client = WebClient(token=slack_standin.token, base_url=slack_standin.url)
    return serve(bolt_client=client)
