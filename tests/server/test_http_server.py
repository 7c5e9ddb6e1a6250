"""bot.server.wsgi.serve_http / HttpServer: starting on a free port and stopping from another
thread.
"""

from __future__ import annotations

import http.client
import socket
import threading
from typing import Any

import pytest

from bot.server.health import Health
from bot.server.wsgi import HttpServer, build_wsgi_app, serve_http
from tests.waiting import wait_until

from .conftest import Probe


def make_server() -> HttpServer:
    return serve_http(build_wsgi_app(health=Health(Probe())), host="127.0.0.1", port=0)


def test_port_zero_binds_a_free_port_on_the_given_host() -> None:
    server = make_server()
    try:
        assert server.host == "127.0.0.1"
        assert server.port > 0
        assert server.url == f"http://127.0.0.1:{server.port}"
    finally:
        server.close()


def test_a_server_closed_before_it_runs_returns_from_run_at_once() -> None:
    server = make_server()
    server.close()

    runner = threading.Thread(target=server.run, daemon=True)
    runner.start()
    runner.join(5)

    assert not runner.is_alive()


def test_close_stops_a_server_even_when_the_loop_closes_the_trigger_before_the_wake_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Race seen under load: the loop, awake for another reason, runs the queued close thunk
    # (closing the trigger) before close() writes its wake-up byte, which then fails (EBADF).
    server = make_server()
    runner = threading.Thread(target=server.run, daemon=True)
    runner.start()
    trigger: Any = server.waitress.trigger
    wake_up = trigger._physical_pull

    def loop_wins_the_race() -> None:
        with trigger.lock:
            thunks, trigger.thunks = trigger.thunks, []
        for thunk in thunks:
            thunk()
        wake_up()  # raises OSError: the trigger is closed

    monkeypatch.setattr(trigger, "_physical_pull", loop_wins_the_race)

    server.close()
    runner.join(10)

    assert not runner.is_alive()


def test_a_request_in_progress_when_closing_still_gets_its_response() -> None:
    started, release = threading.Event(), threading.Event()

    def slow_app(_environ: Any, start_response: Any) -> list[bytes]:
        started.set()
        release.wait(10)  # until the server has stopped accepting
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "4")])
        return [b"done"]

    server = serve_http(slow_app, host="127.0.0.1", port=0)
    runner = threading.Thread(target=server.run, daemon=True)
    runner.start()
    answers: list[tuple[int, bytes]] = []

    def ask() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        connection.request("GET", "/slow")
        response = connection.getresponse()
        answers.append((response.status, response.read()))
        connection.close()

    client = threading.Thread(target=ask, daemon=True)
    client.start()
    assert started.wait(5)

    closer = threading.Thread(target=server.close, daemon=True)
    closer.start()
    wait_until(lambda: refuses(server.port), what="the server to stop accepting")
    release.set()
    closer.join(10)
    client.join(10)
    runner.join(10)

    assert answers == [(200, b"done")]
    assert not runner.is_alive()


def refuses(port: int) -> bool:
    """Whether 127.0.0.1:``port`` refuses new connections (nothing listens there any more)."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except (ConnectionRefusedError, ConnectionResetError):
        return True  # reset: the listener closed while this connect was in its backlog
    return False
