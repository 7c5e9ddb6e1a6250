"""A local stand-in for Slack's Socket Mode WebSocket server, on 127.0.0.1, for tests.

Why: the bot's Socket Mode client (``bot.slack.socket_mode``) must be seen to ack at once and to
reconnect when Slack drops, refreshes or silently loses the link, and that needs a server that
speaks the protocol and can misbehave on cue.

Wire it to the Web API stand-in, which then answers ``apps.connections.open`` with a fresh URL
from here::

    with SocketModeStandIn() as socket_mode, SlackStandIn() as slack:
        slack.serve_socket_mode(socket_mode.connection_url)

What it does, as Slack does. Shapes from Slack's "Using Socket Mode" page
(https://docs.slack.dev/apis/events-api/using-socket-mode) and the envelopes and hello of
python-slack-sdk's tests (tests/slack_sdk/socket_mode/mock_socket_mode_server.py):
- hands out single-use ``ws://127.0.0.1:<port>/link/?ticket=...`` URLs; a handshake with an
  unknown or used ticket is refused with HTTP 401;
- sends ``hello`` on every new connection: ``num_connections``, ``connection_info.app_id``,
  ``debug_info`` with ``host``, ``build_number``, ``approximate_connection_time``;
- sends envelopes (``slash_commands``, ``interactive``, ``events_api``) on the newest
  connection: ``envelope_id`` (a UUID), ``payload``, ``type``, ``accepts_response_payload``
  (true for slash commands, view submissions and options requests, as Slack sends), and
  ``retry_attempt``/``retry_reason`` on events; then waits for the client's ack
  ``{"envelope_id": ..., "payload": ...}``, which it takes on any connection;
- ``drop()`` ends every connection abruptly (TCP closed, no disconnect message, no close
  frame); ``disconnect(reason)`` sends ``{"type": "disconnect", "reason": ..., "debug_info":
  {"host": ...}}`` (reason ``warning``, ``refresh_requested`` or ``link_disabled``) and leaves
  the closing to the client (or closes after ``close_after`` seconds); ``blackhole()`` makes
  every open connection carry nothing either way without closing it, as when a host or network
  path dies (no close frame, no FIN): only pings that go unanswered can tell.
Clients reach the server through a relay on 127.0.0.1 that ``blackhole()`` can silence.
All public methods are thread-safe. Needs the ``websockets`` package (a dev dependency); it is
imported only when the stand-in starts, so importing this module never needs it.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Literal, Self
from urllib.parse import parse_qs, urlsplit

from bot.sim.k8s.running import Running

if TYPE_CHECKING:
    from websockets.http11 import Request, Response
    from websockets.sync.server import Server, ServerConnection

__all__ = [
    "DISCONNECT_REASONS",
    "DisconnectReason",
    "EnvelopeType",
    "SocketLink",
    "SocketModeStandIn",
]

APP_ID = "A0DYNAMOTE"
LINK_PATH = "/link/"
CLOSE_SECONDS = 1.0  # how long a server-side close waits for the client's side of it
HOST = "applink-standin-0"  # debug_info.host; Slack's look like "applink-7fc4fdbb64-4x5xq"
BUILD_NUMBER = 10
CONNECTION_SECONDS = 18060  # hello's approximate_connection_time, as Slack sent it
# Interactive payloads whose envelope lets the ack carry a response (response_action, options).
_RESPONDING_INTERACTIONS = frozenset({"view_submission", "block_suggestion"})

Json = dict[str, Any]
EnvelopeType = Literal["slash_commands", "interactive", "events_api"]
DisconnectReason = Literal["warning", "refresh_requested", "link_disabled"]
DISCONNECT_REASONS: tuple[DisconnectReason, ...] = ("warning", "refresh_requested", "link_disabled")
EndedBy = Literal["client", "drop", "blackhole", "disconnect", "stop"]


@dataclass(frozen=True)
class SocketLink:
    """One WebSocket connection the stand-in accepted (a snapshot)."""

    number: int  # 1 for the first connection opened, 2 for the next, ...
    ticket: str
    opened_at: float  # time.monotonic()
    closed_at: float | None = None
    # Who ended it: "client" (it closed the socket), "drop", "blackhole" (silenced; closed
    # when the stand-in stops), "disconnect" (closed after a disconnect message), "stop";
    # None while open.
    ended_by: EndedBy | None = None
    envelopes: tuple[str, ...] = ()  # envelope ids sent on it
    acks: tuple[str, ...] = ()  # envelope ids acked on it (an ack may come on any connection)

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


@dataclass
class _Link:
    """A live connection and what the stand-in knows about it (guarded by the lock)."""

    info: SocketLink
    connection: ServerConnection
    ending: EndedBy | None = None  # set before the server itself closes it
    envelopes: list[str] = field(default_factory=list)


class SocketModeStandIn(Running):
    """Slack's Socket Mode server on 127.0.0.1:<free port>; a context manager."""

    def __init__(self, *, app_id: str = APP_ID, ping_interval: float | None = None) -> None:
        """`ping_interval`, when set, makes the server ping each client that often, as Slack
        does; besides keepalive, each ping wakes slack_sdk's reader, which otherwise holds its
        socket lock for up to 3 s in a blocking read (so closing the client waits that long)."""
        self.app_id = app_id
        self._ping_interval = ping_interval
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # notified on connect, close and ack
        self._tickets: set[str] = set()  # issued and not yet used
        self._ticket_numbers = itertools.count(1)
        self._link_numbers = itertools.count(1)
        self._links: list[_Link] = []
        self._acks: dict[str, Json] = {}
        self._received: list[str] = []
        self._rejected = 0
        self._timers: list[threading.Timer] = []
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._relay = _Relay()

    # ----- lifecycle ------------------------------------------------------------------------

    def start(self) -> Self:
        from websockets.sync.server import serve  # noqa: PLC0415  (a dev dependency)

        self._server = serve(
            self._serve_link,
            "127.0.0.1",
            0,
            process_request=self._check_ticket,
            compression=None,
            ping_interval=self._ping_interval,
            close_timeout=CLOSE_SECONDS,
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="slack-socket-standin", daemon=True
        )
        self._thread.start()
        self._relay.start(self._server.socket.getsockname()[1])
        return self

    def stop(self) -> None:
        with self._lock:
            timers, self._timers = self._timers, []
            for link in self._links:
                link.ending = link.ending or "stop"
        for timer in timers:
            timer.cancel()
        self._relay.stop()
        if self._server is not None:
            self._server.shutdown()  # closes open connections, waits for their threads
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def connection_url(self) -> str:
        """A new single-use WebSocket URL, as apps.connections.open answers."""
        if self._server is None:
            raise RuntimeError("the Socket Mode stand-in is not running; call start() first")
        port = self._relay.port
        with self._lock:
            ticket = f"ticket-{next(self._ticket_numbers)}"
            self._tickets.add(ticket)
        return f"ws://127.0.0.1:{port}{LINK_PATH}?ticket={ticket}&app_id={self.app_id}"

    # ----- what happened --------------------------------------------------------------------

    def links(self) -> list[SocketLink]:
        """Every connection accepted so far, oldest first."""
        with self._lock:
            return [link.info for link in self._links]

    @property
    def opened(self) -> int:
        """How many connections were accepted (and got their hello)."""
        with self._lock:
            return len(self._links)

    @property
    def open_count(self) -> int:
        with self._lock:
            return len(self._open_links())

    @property
    def rejected(self) -> int:
        """How many handshakes were refused for an unknown or used ticket."""
        with self._lock:
            return self._rejected

    def received(self) -> list[str]:
        """Every text message the client sent, in order (acks included)."""
        with self._lock:
            return list(self._received)

    def wait_connected(self, opened: int = 1, timeout: float = 5.0) -> SocketLink:
        """Wait until at least `opened` connections were accepted and one is open; returns the
        newest open one. AssertionError on timeout."""

        def ready() -> bool:
            return len(self._links) >= opened and bool(self._open_links())

        with self._changed:
            if not self._changed.wait_for(ready, timeout):
                raise AssertionError(
                    f"waited {timeout}s for {opened} connection(s) with one open; "
                    f"links: {[link.info for link in self._links]}"
                )
            return self._open_links()[-1].info

    def wait_closed(self, number: int, timeout: float = 5.0) -> SocketLink:
        """Wait until connection `number` is closed; returns it. AssertionError on timeout."""
        with self._changed:
            if not self._changed.wait_for(lambda: self._closed(number), timeout):
                raise AssertionError(f"connection {number} still open after {timeout}s")
            return self._links[number - 1].info

    # ----- acting as Slack ------------------------------------------------------------------

    def send_envelope(
        self,
        envelope_type: EnvelopeType,
        payload: Json,
        *,
        timeout: float = 3.0,
        accepts_response_payload: bool | None = None,
    ) -> Json:
        """Send an envelope on the newest open connection; return the client's ack.

        AssertionError when no connection is open or no ack comes within `timeout` seconds.
        """
        envelope_id = self.post_envelope(
            envelope_type, payload, accepts_response_payload=accepts_response_payload
        )
        return self.wait_for_ack(envelope_id, timeout)

    def post_envelope(
        self,
        envelope_type: EnvelopeType,
        payload: Json,
        *,
        accepts_response_payload: bool | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
    ) -> str:
        """Send an envelope without waiting; returns its envelope_id for `wait_for_ack`.

        `accepts_response_payload` None means what Slack sends for this payload; the retry
        fields go on events_api envelopes only (e.g. retry_attempt=1, "timeout")."""
        envelope = self.envelope(
            envelope_type,
            payload,
            accepts_response_payload=accepts_response_payload,
            retry_attempt=retry_attempt,
            retry_reason=retry_reason,
        )
        envelope_id = str(envelope["envelope_id"])
        with self._lock:
            links = self._open_links()
            if not links:
                raise AssertionError(f"no open connection to send {envelope_type} on")
            link = links[-1]
            link.envelopes.append(envelope_id)
            link.info = replace(link.info, envelopes=tuple(link.envelopes))
        link.connection.send(json.dumps(envelope))
        return envelope_id

    @staticmethod
    def envelope(
        envelope_type: EnvelopeType,
        payload: Json,
        *,
        accepts_response_payload: bool | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
    ) -> Json:
        """The envelope Slack would send around `payload` (see the module docstring)."""
        if accepts_response_payload is None:
            accepts_response_payload = envelope_type == "slash_commands" or (
                envelope_type == "interactive" and payload.get("type") in _RESPONDING_INTERACTIONS
            )
        envelope: Json = {"envelope_id": str(uuid.uuid4()), "payload": payload}
        envelope |= {"type": envelope_type, "accepts_response_payload": accepts_response_payload}
        if envelope_type == "events_api":
            envelope |= {"retry_attempt": retry_attempt, "retry_reason": retry_reason}
        return envelope

    def wait_for_ack(self, envelope_id: str, timeout: float = 3.0) -> Json:
        """The ack for `envelope_id` once it arrives; AssertionError on timeout."""
        with self._changed:
            if not self._changed.wait_for(lambda: envelope_id in self._acks, timeout):
                raise AssertionError(
                    f"no ack for {envelope_id} within {timeout}s; received: {self._received}"
                )
            return self._acks[envelope_id]

    def drop(self) -> int:
        """End every open connection abruptly: the TCP connection is shut, with no disconnect
        message and no WebSocket close frame, as when a network path or Slack host dies.
        Returns how many were dropped."""
        with self._lock:
            links = self._open_links()
            for link in links:
                link.ending = "drop"
        for link in links:
            with contextlib.suppress(OSError):  # already gone
                link.connection.socket.shutdown(socket.SHUT_RDWR)
        return len(links)

    def blackhole(self) -> int:
        """From now on every open connection carries nothing either way and is never closed
        (no close frame, no FIN), as when a Slack host or a network path dies; only the
        client's unanswered pings can tell. Later connections work. Returns how many."""
        with self._lock:
            for link in self._open_links():
                link.ending = "blackhole"
        return self._relay.silence_all()

    def disconnect(
        self, reason: DisconnectReason = "refresh_requested", *, close_after: float | None = None
    ) -> int:
        """Send ``{"type": "disconnect", "reason": reason, "debug_info": {"host": ...}}`` on
        every open connection, as Slack does before it retires a connection (``warning`` comes
        about 10 s before); with `close_after`, close them (normal close frame) that many
        seconds later if the client has not. Returns how many were told."""
        if reason not in DISCONNECT_REASONS:
            raise ValueError(
                f"Slack sends no disconnect reason {reason!r}; use {DISCONNECT_REASONS}"
            )
        message = json.dumps({"type": "disconnect", "reason": reason, "debug_info": {"host": HOST}})
        from websockets.exceptions import ConnectionClosed  # noqa: PLC0415

        with self._lock:
            links = self._open_links()
        told = 0
        for link in links:
            try:
                link.connection.send(message)
            except ConnectionClosed:
                continue  # the client closed it meanwhile
            told += 1
            if close_after is not None:
                self._close_later(link, close_after)
        return told

    # ----- serving (called from the server's threads) ---------------------------------------

    def _open_links(self) -> list[_Link]:
        """Open links the server has not started closing, oldest first. Caller holds the lock."""
        return [link for link in self._links if link.info.is_open and link.ending is None]

    def _closed(self, number: int) -> bool:
        return len(self._links) >= number and not self._links[number - 1].info.is_open

    def _close_later(self, link: _Link, seconds: float) -> None:
        def close() -> None:
            with self._lock:
                if not link.info.is_open or link.ending is not None:
                    return
                link.ending = "disconnect"
            link.connection.close()

        timer = threading.Timer(seconds, close)
        timer.daemon = True
        with self._lock:
            self._timers.append(timer)
        timer.start()

    def _check_ticket(self, connection: ServerConnection, request: Request) -> Response | None:
        """Refuse a handshake whose ticket was never issued or was used before."""
        split = urlsplit(request.path)
        ticket = (parse_qs(split.query).get("ticket") or [""])[0]
        with self._lock:
            if split.path == LINK_PATH and ticket in self._tickets:
                self._tickets.discard(ticket)
                return None
            self._rejected += 1
        return connection.respond(HTTPStatus.UNAUTHORIZED, "unknown or used ticket\n")

    def _serve_link(self, connection: ServerConnection) -> None:
        """One connection's life: hello, then record what the client sends until it ends."""
        from websockets.exceptions import ConnectionClosed  # noqa: PLC0415

        request = connection.request
        ticket = parse_qs(urlsplit(request.path).query)["ticket"][0] if request else ""
        try:
            connection.send(json.dumps(self._hello()))
        except ConnectionClosed:
            return
        link = self._register(connection, ticket)
        try:
            for message in connection:
                self._record(message if isinstance(message, str) else message.decode(), link)
        except ConnectionClosed:
            pass  # dropped or reset; the link is marked closed below either way
        finally:
            self._unregister(link)

    def _hello(self) -> Json:
        with self._lock:
            connections = len(self._open_links()) + 1
        debug_info = {"host": HOST, "build_number": BUILD_NUMBER}
        debug_info["approximate_connection_time"] = CONNECTION_SECONDS
        return {
            "type": "hello",
            "num_connections": connections,
            "debug_info": debug_info,
            "connection_info": {"app_id": self.app_id},
        }

    def _register(self, connection: ServerConnection, ticket: str) -> _Link:
        with self._changed:
            info = SocketLink(next(self._link_numbers), ticket, time.monotonic())
            link = _Link(info, connection)
            self._links.append(link)
            self._changed.notify_all()
            return link

    def _unregister(self, link: _Link) -> None:
        with self._changed:
            ended_by = link.ending or "client"
            link.info = replace(link.info, closed_at=time.monotonic(), ended_by=ended_by)
            self._changed.notify_all()

    def _record(self, text: str, link: _Link) -> None:
        with self._changed:
            self._received.append(text)
            try:
                message = json.loads(text)
            except json.JSONDecodeError:
                return
            if isinstance(message, dict) and message.get("envelope_id"):
                envelope_id = str(message["envelope_id"])
                self._acks.setdefault(envelope_id, message)
                link.info = replace(link.info, acks=(*link.info.acks, envelope_id))
                self._changed.notify_all()


class _Relay:
    """A TCP relay in front of the WebSocket server, so a connection can be silenced.

    Each accepted client connection gets its own connection to the server and two pumps
    copying bytes; a silenced pair keeps reading and discards everything, closing nothing.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._pairs: list[_Pair] = []
        self._target = 0

    @property
    def port(self) -> int:
        if self._listener is None:
            raise RuntimeError("the relay is not running")
        return int(self._listener.getsockname()[1])

    def start(self, target_port: int) -> None:
        self._target = target_port
        listener = socket.create_server(("127.0.0.1", 0))
        self._listener = listener
        threading.Thread(
            target=self._accept, args=(listener,), name="slack-socket-relay", daemon=True
        ).start()

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            pair.close()

    def silence_all(self) -> int:
        """Silence every live pair; returns how many."""
        with self._lock:
            live = [pair for pair in self._pairs if not pair.done.is_set()]
        for pair in live:
            pair.silent = True
        return len(live)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            try:
                server = socket.create_connection(("127.0.0.1", self._target))
            except OSError:
                client.close()
                continue
            pair = _Pair(client, server)
            with self._lock:
                self._pairs = [p for p in self._pairs if not p.done.is_set()] + [pair]
            pair.start()


@dataclass(eq=False)
class _Pair:
    """One client connection and its server connection."""

    client: socket.socket
    server: socket.socket
    silent: bool = False
    done: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        for source, sink in ((self.client, self.server), (self.server, self.client)):
            threading.Thread(
                target=self._pump, args=(source, sink), name="slack-socket-pump", daemon=True
            ).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                if not self.silent:
                    sink.sendall(data)
        except OSError:
            pass  # reset, or closed by close()
        if not self.silent:  # an end passes through, as a FIN would; a silenced one is lost
            self.close()

    def close(self) -> None:
        self.done.set()
        for end in (self.client, self.server):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()
