"""An ack does not wait behind the work that follows acks.

Work a listener hands on starts only once the answer to Slack is written: a pool thread that
starts while the ack is still being written takes the interpreter lock from the thread writing
it; so ``AppContext.after_ack`` submits through ``bot.slack.answering.after_response``, which waits
for the WSGI server to have taken the whole body. And while serving, a thread that computes hands
the lock over every millisecond, not every five.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any

import pytest
from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.config.settings import load_settings
from bot.server.health import Health
from bot.server.wsgi import SWITCH_INTERVAL_SECONDS, build_wsgi_app, serve_http
from bot.slack.answering import after_response
from bot.slack.context import AppContext
from bot.slack.identity import SlackIdentity

from .conftest import SIGNING_SECRET, signed_headers, slash_command_body


class RecordingExecutor:
    """Records each submission synchronously (the pool's thread never matters here)."""

    def __init__(self) -> None:
        self.submitted: list[Callable[..., Any]] = []

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[None]:
        self.submitted.append(fn)
        return Future()

    def shutdown(self, **_: Any) -> None:
        pass


def bolt_app(listener: Callable[..., None]) -> App:
    app = App(
        client=WebClient(token="xoxb-unused", base_url="http://127.0.0.1:1/api/"),
        signing_secret=SIGNING_SECRET,
        authorize=SlackIdentity("xoxb-unused").authorizer(),  # no auth.test call
        process_before_response=True,
    )
    app.command("/dynamote")(listener)
    return app


def environ_for(body: bytes) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/slack/events",
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    for name, value in signed_headers(body).items():
        key = name.upper().replace("-", "_")
        environ[key if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
    return environ


def answer(listener: Callable[..., None]) -> tuple[Iterator[bytes], list[str]]:
    wsgi = build_wsgi_app(
        health=Health(lambda: True), bolt_app=bolt_app(listener), signing_secret=SIGNING_SECRET
    )
    statuses: list[str] = []
    body = wsgi(environ_for(slash_command_body("list")), lambda s, _h: statuses.append(s))
    return iter(body), statuses


def test_after_ack_submits_only_once_the_server_has_taken_the_whole_answer() -> None:
    executor = RecordingExecutor()
    dynamote = AppContext(
        settings=load_settings(),
        catalog=None,  # type: ignore[arg-type]
        service=None,  # type: ignore[arg-type]
        executor=executor,  # type: ignore[arg-type]
    )

    def listener(ack: Ack) -> None:
        ack()
        dynamote.after_ack(lambda: None, doing="answer")

    body, statuses = answer(listener)
    assert statuses == ["200 OK"]
    assert executor.submitted == []  # acked, not written yet
    chunks = list(body)  # the server writes every chunk, then asks for one more
    assert b"".join(chunks) == b""
    assert len(executor.submitted) == 1
    dynamote.close(wait=False)


def test_work_deferred_by_an_answer_starts_when_the_server_closes_the_body_early() -> None:
    started: list[str] = []

    def listener(ack: Ack) -> None:
        ack()
        after_response(lambda: started.append("work"))

    body, _ = answer(listener)
    assert started == []
    close = getattr(body, "close", None)
    assert close is not None
    close()  # a client gone mid-answer: the server closes the body without reading it all
    assert started == ["work"]


def test_one_deferred_start_that_fails_does_not_keep_the_others_from_starting(
    caplog: pytest.LogCaptureFixture,
) -> None:
    started: list[str] = []

    def broken() -> None:
        raise RuntimeError("pool shut down")

    def listener(ack: Ack) -> None:
        ack()
        after_response(broken)
        after_response(lambda: started.append("second"))

    body, _ = answer(listener)
    list(body)
    assert started == ["second"]
    assert "Failed to start work after answering Slack" in caplog.text


def test_outside_an_answer_to_slack_the_work_starts_at_once() -> None:
    started: list[str] = []
    after_response(lambda: started.append("now"))  # Socket Mode, or a listener called directly
    assert started == ["now"]


def test_serving_makes_threads_pass_the_interpreter_lock_every_millisecond() -> None:
    # An ack passes from waitress's loop to a worker while work after earlier acks computes;
    # at Python's default 5 ms interval each pass could wait that long.
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.005)
    try:
        server = serve_http(
            build_wsgi_app(health=Health(lambda: True)), host="127.0.0.1", port=0, threads=1
        )
        server.close()
        assert sys.getswitchinterval() <= SWITCH_INTERVAL_SECONDS == 0.001
    finally:
        sys.setswitchinterval(before)
