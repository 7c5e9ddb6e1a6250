"""The bot's Socket Mode client: envelopes are handled and acked at once, even across refreshes.

Why our own client (on the ``websocket-client`` library, dispatching through Bolt): slack_sdk's
clients hold envelopes back while they replace a connection. Its built-in client closes the old
connection with a blocking read before it handles the next envelope (an ack 2.6 s late with real
latency); its websocket-client one makes the new connection current before it has opened, so an
ack sent meanwhile is lost, and its monitor replaces connections that have not started yet.

What this one does (Slack's protocol: https://docs.slack.dev/apis/events-api/using-socket-mode):

- a new connection is opened (handshake done) before it becomes current; envelopes arriving
  on either are handled at once, and the one it replaces is closed in the background once the
  envelopes that came on it are handled (at most SETTLE_SECONDS);
- each ack goes back on the connection its envelope came on, or, should that one have ended,
  on any open one;
- a ``disconnect`` message (``warning``, ``refresh_requested``, ``link_disabled``), a close or
  a dropped connection starts a reconnection in the background, retried with backoff while
  ``apps.connections.open`` fails (slack_sdk's own retry handlers and Retry-After apply first);
- a keeper thread pings the current connection every ``ping_interval`` and replaces it when
  nothing (no pong, no message) arrived for ``stale_pings`` intervals: a connection cut with no
  close frame and no FIN (a dead host or network path) is noticed in two to three intervals
  instead of when TCP gives up.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from queue import Queue
from typing import Any

import websocket
from slack_bolt import App
from slack_bolt.adapter.socket_mode.base_handler import BaseSocketModeHandler
from slack_bolt.adapter.socket_mode.internals import run_bolt_app, send_response
from slack_sdk import WebClient
from slack_sdk.errors import SlackClientNotConnectedError
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from websocket import ABNF, WebSocketException

from bot.ops import backoff

__all__ = ["SocketModeClient", "SocketModeHandler"]

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 10.0  # the WebSocket handshake; reads after it never time out
CLOSE_TIMEOUT_SECONDS = 1.0  # how long a retired connection waits for Slack's close frame
# How long a retired connection stays open for the envelopes that came on it to be handled
# (their acks go back on it); Slack's own deadline for an ack.
SETTLE_SECONDS = 3.0
RETRY_FIRST_SECONDS = 1.0
RETRY_MAX_SECONDS = 30.0


@dataclass(eq=False)
class _Link:
    """One WebSocket connection to Slack and what the client knows about it."""

    number: int
    socket: websocket.WebSocket
    last_heard: float = field(default_factory=time.monotonic)  # any frame, pongs included
    last_ping: float = field(default_factory=time.monotonic)
    pongs: int = 0
    retiring: bool = False  # our close frame is sent or going: nothing more may be sent on it
    ended: threading.Event = field(default_factory=threading.Event)
    sending: threading.Lock = field(default_factory=threading.Lock)  # a send, or the close


class SocketModeClient(BaseSocketModeClient):
    """Socket Mode over websocket-client; see the module docstring. Thread-safe."""

    def __init__(
        self,
        app_token: str,
        *,
        web_client: WebClient,
        ping_interval: float,
        stale_pings: int,
        concurrency: int = 10,
        log: logging.Logger = logger,
    ) -> None:
        self.app_token = app_token
        self.web_client = web_client
        self.logger = log
        self.ping_interval = ping_interval
        self.stale_after = ping_interval * stale_pings
        self.wss_uri = ""  # a URL issued but not used yet (each is single-use)
        self.message_queue = Queue()  # unused: messages go straight to the workers
        self.message_listeners = []
        self.socket_mode_request_listeners = []
        self.message_workers = ThreadPoolExecutor(
            max_workers=concurrency, thread_name_prefix="dynamote-socket-worker"
        )
        self.closed = False
        self.connect_operation_lock = threading.Lock()  # one connect() at a time
        self._lock = threading.Lock()  # guards the fields below
        self._settled = threading.Condition(self._lock)  # notified when an envelope is handled
        self._links: list[_Link] = []
        self._current: _Link | None = None
        self._came_on: dict[str, _Link] = {}  # envelope being handled -> the link it came on
        self._numbers = itertools.count(1)
        self._reconnecting = threading.Lock()  # held while a background reconnection runs
        self._stopped = threading.Event()
        self._keeper: threading.Thread | None = None

    # ----- connections ----------------------------------------------------------------------

    def is_connected(self) -> bool:
        with self._lock:
            return self._current is not None

    @property
    def pongs(self) -> int:
        """Pongs heard on the current connection (0 when none is open)."""
        with self._lock:
            return self._current.pongs if self._current is not None else 0

    def connect(self) -> None:
        """Open a connection on a fresh URL, make it current, retire the previous one.

        Raises what apps.connections.open or the handshake raised (e.g. SlackApiError, or
        websocket's WebSocketBadStatusException for a refused ticket).
        """
        with self.connect_operation_lock:
            url, self.wss_uri = self.wss_uri, ""
        # Outside the lock: apps.connections.open may wait out a 429's Retry-After.
        url = url or self.issue_new_wss_url()
        with self.connect_operation_lock:
            sock = websocket.create_connection(
                url, timeout=CONNECT_TIMEOUT_SECONDS, enable_multithread=True
            )
            sock.settimeout(None)  # a silent connection is the keeper's to notice
            link = _Link(next(self._numbers), sock)
            with self._lock:
                if self.closed:
                    _release(sock)
                    return
                previous, self._current = self._current, link
                self._links.append(link)
            self._start_thread(self._read, link, name=f"dynamote-socket-{link.number}")
            if self._keeper is None:
                self._keeper = self._start_thread(self._keep_alive, name="dynamote-socket-keeper")
        self.logger.info("Socket Mode connection %d open", link.number)
        if previous is not None:
            self._start_thread(self._retire, previous, name="dynamote-socket-retire")

    def issue_new_wss_url(self) -> str:
        """A fresh single-use URL from apps.connections.open.

        One call: the Web client's retry handlers wait out a 429 and retry 5xx, and whoever
        called connect() backs off after a failure. (slack_sdk's own version sleeps
        Retry-After and calls itself again on ``ratelimited``, a second loop around those.)
        """
        response = self.web_client.apps_connections_open(app_token=self.app_token)
        return str(response["url"])

    def connect_to_new_endpoint(self, force: bool = False) -> None:
        """A new connection unless one is open (always with ``force``)."""
        if force or not self.is_connected():
            self.connect()

    def disconnect(self) -> None:
        """Close every connection, each once its envelopes are handled (see `_retire`)."""
        with self._lock:
            links, self._current = list(self._links), None
        for link in links:
            self._retire(link)

    def close(self) -> None:
        """Close the connections and stop every thread this client started."""
        self.closed = True
        self._stopped.set()
        self.disconnect()
        if self._keeper is not None:
            self._keeper.join(timeout=self.ping_interval + 1)
        self.message_workers.shutdown(wait=False)

    # ----- sending --------------------------------------------------------------------------

    def send_socket_mode_response(self, response: dict[str, Any] | SocketModeResponse) -> None:
        """The ack, on the connection its envelope came on when that is still open."""
        body = response.to_dict() if isinstance(response, SocketModeResponse) else response
        with self._lock:
            came_on = self._came_on.get(str(body.get("envelope_id", "")))
        self._send(json.dumps(body), prefer=came_on)

    def send_message(self, message: str) -> None:
        self._send(message, prefer=None)

    def _send(self, message: str, *, prefer: _Link | None) -> None:
        for link in self._open_links(prefer):
            with link.sending:
                if link.retiring or link.ended.is_set():
                    continue  # closed meanwhile
                try:
                    link.socket.send(message)
                except (WebSocketException, OSError):
                    continue  # ended meanwhile; its reader reconnects if it was current
            return
        raise SlackClientNotConnectedError("no open Socket Mode connection to send on")

    def _open_links(self, prefer: _Link | None) -> Iterator[_Link]:
        with self._lock:
            newest_first = [self._current, *reversed(self._links)]
        seen: set[int] = set()
        for link in (prefer, *newest_first):
            if link is None or link.retiring or link.ended.is_set():
                continue
            if link.number not in seen:
                seen.add(link.number)
                yield link

    # ----- receiving (one thread per connection) --------------------------------------------

    def _read(self, link: _Link) -> None:
        try:
            while True:
                opcode, frame = link.socket.recv_data_frame(control_frame=True)
                link.last_heard = time.monotonic()
                if opcode == ABNF.OPCODE_PONG:
                    link.pongs += 1
                elif opcode == ABNF.OPCODE_CLOSE:
                    break  # websocket-client has answered it with our close frame
                elif opcode == ABNF.OPCODE_TEXT:
                    self._on_text(link, frame.data.decode())
        except (WebSocketException, OSError) as error:
            if not link.retiring and not self.closed:
                self.logger.warning("Socket Mode connection %d lost: %s", link.number, error)
        finally:
            self._ended(link)

    def _on_text(self, link: _Link, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            self.logger.warning("Socket Mode message is not JSON; ignored: %.200s", text)
            return
        if not isinstance(message, dict):
            return
        kind = message.get("type")
        if kind == "hello":
            self.logger.debug("Socket Mode hello on connection %d: %s", link.number, message)
            return
        if kind == "disconnect":
            self.logger.info(
                "Slack asked to replace Socket Mode connection %d (%s)",
                link.number,
                message.get("reason"),
            )
            with self._lock:
                current = link is self._current
            if current:
                self._reconnect_in_background()
            return
        envelope_id = str(message.get("envelope_id") or "")
        if envelope_id:
            with self._lock:
                self._came_on[envelope_id] = link
        self.message_workers.submit(self._handle, envelope_id, message, text)

    def _handle(self, envelope_id: str, message: dict[str, Any], text: str) -> None:
        try:
            self.run_message_listeners(message, text)
        finally:
            with self._settled:
                self._came_on.pop(envelope_id, None)
                self._settled.notify_all()

    def _ended(self, link: _Link) -> None:
        link.ended.set()
        _release(link.socket)
        with self._lock:
            self._links = [other for other in self._links if other is not link]
            was_current = link is self._current
            if was_current:
                self._current = None
        if was_current and not self.closed:
            self._reconnect_in_background()

    def _retire(self, link: _Link) -> None:
        """Close a connection once the envelopes that came on it are handled (at most
        SETTLE_SECONDS): our close frame, then Slack's; cut it if that does not come."""
        with self._settled:
            self._settled.wait_for(
                lambda: link.ended.is_set() or link not in self._came_on.values(),
                SETTLE_SECONDS,
            )
        with link.sending:
            link.retiring = True
            with contextlib.suppress(WebSocketException, OSError):  # already gone
                link.socket.send_close()
        if not link.ended.wait(CLOSE_TIMEOUT_SECONDS):
            _cut(link)
            link.ended.wait(CLOSE_TIMEOUT_SECONDS)

    # ----- keeping a connection -------------------------------------------------------------

    def _reconnect_in_background(self) -> None:
        if self.closed or not self._reconnecting.acquire(blocking=False):
            return  # closing, or a reconnection is already under way
        self._start_thread(self._reconnect, name="dynamote-socket-reconnect")

    def _reconnect(self) -> None:
        try:
            for delay in _backoff():
                if self.closed:
                    return
                try:
                    self.connect()
                    return
                except Exception:
                    self.logger.exception(
                        "Failed to open a Socket Mode connection; retrying in %.0f s", delay
                    )
                if self._stopped.wait(delay):
                    return
        finally:
            self._reconnecting.release()

    def _keep_alive(self) -> None:
        """Ping the current connection; replace it once it has been silent too long."""
        while not self._stopped.wait(self.ping_interval / 2):
            with self._lock:
                link = self._current
            if link is None:
                self._reconnect_in_background()  # e.g. after the first connect failed later
                continue
            now = time.monotonic()
            silent = now - link.last_heard
            if silent > self.stale_after:
                self.logger.warning(
                    "Socket Mode connection %d answered no ping for %.1f s; reconnecting",
                    link.number,
                    silent,
                )
                _cut(link)  # its reader ends it and reconnects
            elif now - link.last_ping >= self.ping_interval:
                link.last_ping = now
                try:
                    link.socket.ping()
                except (WebSocketException, OSError):
                    _cut(link)

    def _start_thread(self, target: Any, *args: Any, name: str) -> threading.Thread:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        return thread


class SocketModeHandler(BaseSocketModeHandler):
    """Bolt's Socket Mode adapter on `SocketModeClient`: each envelope goes to the App."""

    def __init__(self, app: App, app_token: str, *, ping_interval: float, stale_pings: int) -> None:
        self.app = app
        self.app_token = app_token
        self.client = SocketModeClient(
            app_token,
            web_client=app.client,
            ping_interval=ping_interval,
            stale_pings=stale_pings,
        )
        self.client.socket_mode_request_listeners.append(self.handle)

    def handle(self, client: BaseSocketModeClient, req: SocketModeRequest) -> None:
        started = time.time()
        send_response(client, req, run_bolt_app(self.app, req), started)


def _cut(link: _Link) -> None:
    """End the TCP connection without a close handshake; wakes the link's reader."""
    raw = link.socket.sock
    if raw is not None:
        with contextlib.suppress(OSError):
            raw.shutdown(socket.SHUT_RDWR)


def _release(sock: websocket.WebSocket) -> None:
    """Close the socket's file descriptor (websocket-client leaves ``shutdown`` untyped)."""
    raw, sock.sock, sock.connected = sock.sock, None, False
    if raw is not None:
        raw.close()


def _backoff() -> Iterator[float]:
    # Jittered: after a Slack outage every replica reconnects, and not all in the same second.
    return backoff.delays(first=RETRY_FIRST_SECONDS, cap=RETRY_MAX_SECONDS, jitter=True)
