"""Clients that are slow on purpose cannot stall the server or fill the disk.

The attacks: many connections that trickle request headers and never finish them (they used
to fill waitress's 100 connections, after which /healthz and /slack/events went unanswered),
and large bodies held one byte short of complete (they used to be spooled to temporary
files before any signature check). Everything here runs on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient

import bot.server.wsgi
from bot.server.wsgi import CONNECTION_LIMIT, MAX_BODY_BYTES
from bot.sim.slack.web_api import SlackStandIn
from tests.metric_samples import sample_value
from tests.standins.slack_requests import slash_command

from .conftest import SIGNING_SECRET, Served, signed_headers, slash_command_body
from .test_runner import Running, answers, free_port, settings_for, wait_until

SLOW_CONNECTIONS = 150  # the attack the server must shrug off
TRICKLE_EVERY = 0.25  # seconds between the bytes a slow client sends
MAX_TRICKLES = 400  # the trickling loop's bound (100 s), in case a test forgets to stop it
SHORT_DEADLINE = 1.5  # seconds: several trickles, past one maintenance round (1 s)


class SlowClients:
    """``count`` connections to ``port``, each sending a request's headers one byte at a
    time and never finishing them, until :meth:`close`."""

    def __init__(self, port: int, count: int) -> None:
        self.sockets = [socket.create_connection(("127.0.0.1", port), 5) for _ in range(count)]
        for connection in self.sockets:
            connection.sendall(b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._trickle, daemon=True)
        self._thread.start()

    def _trickle(self) -> None:
        for _ in range(MAX_TRICKLES):
            if self._stop.wait(TRICKLE_EVERY):
                return
            for connection in self.sockets:
                # A connection the server closed refuses the byte: the deadline test waits
                # for exactly that.
                with contextlib.suppress(OSError):
                    connection.send(b"a")

    def still_open(self) -> int:
        """How many connections the server has not closed."""
        count = 0
        for connection in self.sockets:
            connection.setblocking(False)
            try:
                closed = connection.recv(1) == b""
            except BlockingIOError:
                closed = False
            except OSError:
                closed = True
            connection.setblocking(True)
            count += not closed
        return count

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for connection in self.sockets:
            connection.close()


@contextmanager
def slow_clients(port: int, count: int = SLOW_CONNECTIONS) -> Iterator[SlowClients]:
    clients = SlowClients(port, count)
    try:
        yield clients
    finally:
        clients.close()


def timed_get(url_port: int, path: str) -> tuple[int, float]:
    connection = http.client.HTTPConnection("127.0.0.1", url_port, timeout=10)
    started = time.perf_counter()
    try:
        connection.request("GET", path)
        answer = connection.getresponse()
        answer.read()
        return answer.status, time.perf_counter() - started
    finally:
        connection.close()


def test_with_150_slow_connections_on_the_events_port_probes_and_a_signed_command_answer_fast(
    slack_standin: SlackStandIn,
    sim_kubeconfig: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The slow clients must stay connected throughout: no deadline may shed them for us.
    monkeypatch.setattr(bot.server.wsgi, "REQUEST_DEADLINE_SECONDS", 600.0)
    health_port = free_port()
    served = Running(settings_for(slack_standin), health_port=health_port)
    try:
        wait_until(lambda: answers(f"{served.health_url}/readyz"))
        command = slash_command("help", response_url=slack_standin.response_url("help"))

        with slow_clients(served.port) as attack:
            health_status, health_took = timed_get(health_port, "/healthz")
            connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
            started = time.perf_counter()
            connection.request(
                "POST", "/slack/events", command.body, command.headers(SIGNING_SECRET)
            )
            ack = connection.getresponse()
            ack.read()
            ack_took = time.perf_counter() - started
            connection.close()
            open_after = attack.still_open()

        print(f"\n/healthz {health_took * 1000:.0f} ms, signed ack {ack_took * 1000:.0f} ms")
        assert (health_status, ack.status) == (200, 200)
        assert health_took < 2.0, health_took
        assert ack_took < 3.0, ack_took
        assert open_after == SLOW_CONNECTIONS
        (reply,) = slack_standin.wait_for("response_url", timeout=10)
        assert reply.path.endswith("/help")
    finally:
        assert served.finish() == 0


def test_with_150_slow_connections_health_on_the_shared_port_still_answers(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert CONNECTION_LIMIT > SLOW_CONNECTIONS

    with slow_clients(served.server.port) as attack:
        status, took = timed_get(served.server.port, "/healthz")
        body = slash_command_body("list")
        signed, _, _ = served.request("POST", "/slack/events", body, signed_headers(body))
        assert attack.still_open() == SLOW_CONNECTIONS

    assert (status, signed) == (200, 200)
    assert took < 2.0, took
    assert served.listener.ran.is_set()


def closed_at(connection: socket.socket, timeout: float) -> float:
    """When (time.monotonic()) the server closed ``connection``: its end of stream."""
    connection.settimeout(timeout)
    while connection.recv(4096):  # a 4xx answer may come before the close
        pass
    return time.monotonic()


def test_a_request_that_takes_longer_than_the_deadline_to_arrive_is_cut_off(
    serve: Callable[..., Served], slack_standin: SlackStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A shorter deadline than the shipped one: the mechanism is the same, the wait is not.
    monkeypatch.setattr(bot.server.wsgi, "REQUEST_DEADLINE_SECONDS", SHORT_DEADLINE)
    served = serve(bolt_client=WebClient(token=slack_standin.token, base_url=slack_standin.url))
    before = sample_value("dynamote_http_rejected_total", {"reason": "too_slow"})
    connected = time.monotonic()

    with slow_clients(served.server.port, count=1) as trickling:
        # A connection that never sends a byte: its first request is due from the connect.
        silent = socket.create_connection(("127.0.0.1", served.server.port), 5)
        with silent:
            cut = [closed_at(trickling.sockets[0], 30), closed_at(silent, 30)]

    # Both were cut by the deadline, not before it; the trickling one was active throughout.
    assert all(t - connected >= SHORT_DEADLINE - 0.5 for t in cut), cut
    assert all(t - connected < SHORT_DEADLINE + 20 for t in cut), cut
    after = sample_value("dynamote_http_rejected_total", {"reason": "too_slow"})
    assert after - before == 2
    status, _, _ = served.request("GET", "/healthz")
    assert status == 200


def temp_files(folder: Path) -> tuple[int, int]:
    """(count, bytes) of files in ``folder``, including open unnamed ones (O_TMPFILE)."""
    sizes = {}
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
            if target.startswith(str(folder)):
                sizes[target] = os.stat(f"/proc/self/fd/{fd}").st_size
        except OSError:
            continue  # closed meanwhile
    for entry in folder.iterdir():
        sizes.setdefault(str(entry), entry.stat().st_size)
    return len(sizes), sum(sizes.values())


def test_bodies_are_kept_in_memory_while_they_arrive_never_spooled_to_disk(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where waitress would spool
    held, size = 90, MAX_BODY_BYTES
    body = b"text=" + b"a" * (size - 5)
    head = (
        f"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {size}\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in signed_headers(body).items())
        + "\r\n"
    ).encode()
    connections = [
        socket.create_connection(("127.0.0.1", served.server.port), 5) for _ in range(held)
    ]
    try:
        for connection in connections:
            connection.sendall(head + body[:-1])  # one byte short: the server keeps waiting
        waitress = served.server.waitress

        def buffered() -> int:
            return sum(
                channel.request.body_bytes_received
                for channel in list(waitress.active_channels.values())
                if channel.request is not None
            )

        wait_until(lambda: buffered() == held * (size - 1), timeout=30)
        count, used = temp_files(tmp_path)
    finally:
        for connection in connections:
            connection.close()

    print(f"\n{held} bodies of {size} bytes held: {count} temporary files, {used} bytes")
    assert (count, used) == (0, 0)


def test_a_body_of_exactly_the_limit_is_accepted_and_one_byte_more_is_refused_unread(
    serve: Callable[..., Served], slack_standin: SlackStandIn
) -> None:
    served = serve(bolt_client=WebClient(token=slack_standin.token, base_url=slack_standin.url))
    body = slash_command_body("list")
    body += b"&x=" + b"a" * (MAX_BODY_BYTES - len(body) - 3)
    assert len(body) == MAX_BODY_BYTES

    status, _, _ = served.request("POST", "/slack/events", body, signed_headers(body))
    over = body + b"a"
    head = "".join(f"{k}: {v}\r\n" for k, v in signed_headers(over).items())
    # Headers only: the server must refuse on the declared length, before any body byte.
    with socket.create_connection(("127.0.0.1", served.server.port), timeout=10) as connection:
        connection.sendall(
            f"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Length: {len(over)}\r\n{head}\r\n".encode()
        )
        refused = connection.makefile("rb").readline().split()[1]

    assert (status, refused) == (200, b"413")
    assert len(served.listener.commands) == 1


def test_a_request_the_app_answers_slowly_is_not_cut_off(monkeypatch: pytest.MonkeyPatch) -> None:
    # The deadline is for arriving requests; an answer that takes longer is the app's business.
    monkeypatch.setattr(bot.server.wsgi, "REQUEST_DEADLINE_SECONDS", 0.2)
    answering = threading.Event()

    def slow_app(_environ: Any, start_response: Any) -> list[bytes]:
        answering.set()
        threading.Event().wait(2.5)  # the slow answer under test: past deadline + maintenance
        start_response("200 OK", [("Content-Length", "4")])
        return [b"done"]

    server = bot.server.wsgi.serve_http(slow_app, host="127.0.0.1", port=0)
    running = threading.Thread(target=server.run, daemon=True)
    running.start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        connection.request("GET", "/slow")
        answer = connection.getresponse()
        assert (answer.status, answer.read()) == (200, b"done")
        assert answering.is_set()
        connection.close()
    finally:
        server.close()
        running.join(timeout=10)
