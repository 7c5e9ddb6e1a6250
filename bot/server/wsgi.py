"""The HTTP side of `dynamote serve`: a plain WSGI app, hardened, served by waitress.

Routes: ``POST /slack/events`` (HTTP mode only) goes to Bolt's WSGI adapter; ``GET /healthz``
answers while the process is up; ``GET /readyz`` is 200 or 503 with the reason (bot.server.health);
``GET /metrics`` is bot.ops.metrics' registry in Prometheus text format. Anything else is 404, or
405 for a known path with the wrong method. No web framework: four routes do not need one.
With ``health_routes=False`` the app has /slack/events alone: the runner then serves the
health routes from a second server on their own port, so clients of /slack/events (anyone who
can reach it) can never delay or fail the probes.

Why a guard in front of Bolt: a request that fails any check below is refused before Bolt (and
so any listener) sees it, so it can have no side effect: body over the size limit -> 413,
missing ``X-Slack-Signature``/``X-Slack-Request-Timestamp`` -> 401, timestamp more than 5
minutes away -> 401, body neither form-encoded nor JSON -> 400, bad signature -> 401, a
signature already seen within the window (a replay) -> 401. Bolt verifies the signature again.
The replay memory is this process's: another replica does not know what this one saw.

Why waitress (see :func:`serve_http`): a production WSGI server in pure Python, threaded, with
request-size limits, nothing to compile, one process, so the readiness and replay state above
is shared by every request. Bolt's own ``App.start()`` is a development server. How it is set
up for clients that are slow on purpose: see :func:`serve_http`.
"""

from __future__ import annotations

import hmac
import io
import logging
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slack_sdk.signature import SignatureVerifier

from bot.ops import metrics
from bot.server.health import Health
from bot.slack.answering import answer_then_start
from bot.slack.body import read_body

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

    from slack_bolt import App

__all__ = [
    "CONNECTION_LIMIT",
    "EVENTS_PATH",
    "MAX_BODY_BYTES",
    "REQUEST_DEADLINE_SECONDS",
    "SIGNATURE_MAX_AGE_SECONDS",
    "DynamoteWsgi",
    "HttpServer",
    "Rejection",
    "ReplayGuard",
    "SlackRequestGuard",
    "build_wsgi_app",
    "serve_http",
]

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
# Slack's largest body is an interaction payload carrying a whole view: views.* refuse a view
# over 250 KB (view_too_large), form encoding makes a view's JSON about 1.5 times longer
# (measured on this app's modals), and Slack adds the typed state, which this app's inputs
# keep to a few KB: about 400 KB at most. This app's largest, a deploy modal submitted with
# every text input full, is 20 KB.
MAX_BODY_BYTES = 512 * 1024
SIGNATURE_MAX_AGE_SECONDS = 300  # Slack's rule: reject timestamps more than 5 minutes away
REPLAY_MAX_ENTRIES = 50_000
ACCEPTED_CONTENT_TYPES = ("application/x-www-form-urlencoded", "application/json")
# Slack sends a request in one go and waits 3 s for the answer: one still arriving after this
# is not one Slack waits for (serve_http).
REQUEST_DEADLINE_SECONDS = 5.0
# Open connections served at once; body memory is bounded by this times MAX_BODY_BYTES.
CONNECTION_LIMIT = 300
# An idle keep-alive connection is closed after this; longer than the 60 s after which common
# proxies (ingress-nginx, AWS ALB) drop their idle upstream connections, so they close first.
IDLE_TIMEOUT_SECONDS = 75
# Slack's request headers are under 2 KB; a proxy in front adds a few forwarding headers.
MAX_HEADER_BYTES = 16 * 1024
# How long a thread that computes keeps the interpreter lock from one that waits for it
# (Python's default: 5 ms). An ack passes between two threads (waitress's loop reads the
# request, a worker answers), and work after earlier acks is computing meanwhile, so each
# pass waited up to 5 ms; at 1 ms a pass behind a busy thread took 0.06-0.08 ms at p90
# instead of 10 ms on this machine, for a few more switches in work that computes.
SWITCH_INTERVAL_SECONDS = 0.001
_TEXT = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class Rejection:
    """Why a request to /slack/events was refused; ``reason`` is also the metric label."""

    status: int
    reason: str
    message: str


class ReplayGuard:
    """Signatures seen recently: a bounded set whose entries expire after ``ttl`` seconds.

    Only signatures that verified are recorded, so filling it takes requests signed with the
    secret. When full, the oldest entry goes first.
    """

    def __init__(
        self,
        *,
        ttl: float,
        max_entries: int = REPLAY_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl
        self._max_entries = max_entries
        self._clock = clock
        self._expiry: OrderedDict[str, float] = OrderedDict()  # insertion order = expiry order
        self._lock = threading.Lock()

    def first_time(self, signature: str) -> bool:
        """Record ``signature``; False when it was already recorded and has not expired."""
        now = self._clock()
        with self._lock:
            while self._expiry and next(iter(self._expiry.values())) <= now:
                self._expiry.popitem(last=False)
            if signature in self._expiry:
                return False
            if len(self._expiry) >= self._max_entries:
                self._expiry.popitem(last=False)
            self._expiry[signature] = now + self._ttl
            return True

    def __len__(self) -> int:
        with self._lock:
            return len(self._expiry)


class SlackRequestGuard:
    """The checks in the module docstring, for one POST to /slack/events."""

    def __init__(
        self,
        signing_secret: str,
        *,
        max_body_bytes: int = MAX_BODY_BYTES,
        clock: Callable[[], float] = time.time,
        replay_guard: ReplayGuard | None = None,
    ) -> None:
        self._verifier = SignatureVerifier(signing_secret)
        self._max_body_bytes = max_body_bytes
        self._clock = clock
        # A timestamp is accepted up to 5 minutes either side of now, so a signature must be
        # remembered for up to 10 minutes to outlive every timestamp it could carry.
        self._replays = replay_guard or ReplayGuard(ttl=2 * SIGNATURE_MAX_AGE_SECONDS)

    def check(self, environ: WSGIEnvironment) -> bytes | Rejection:
        """The raw body when the request may go to Bolt, else why not."""
        length = _content_length(environ)
        if length is None:
            return Rejection(400, "bad_length", "Bad Content-Length.")
        if length > self._max_body_bytes:
            return Rejection(413, "too_large", "Request body too large.")
        signature = environ.get("HTTP_X_SLACK_SIGNATURE", "")
        timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "")
        if not signature or not timestamp:
            return Rejection(401, "unsigned", "Missing Slack signature headers.")
        if not self._timestamp_is_fresh(timestamp):
            return Rejection(401, "stale", "Request timestamp too old or invalid.")
        if not _accepted_content_type(environ.get("CONTENT_TYPE", "")):
            return Rejection(400, "content_type", "Body must be form-encoded or JSON.")
        body = environ["wsgi.input"].read(length) if length else b""
        if len(body) != length:
            return Rejection(400, "short_body", "Body shorter than Content-Length.")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return Rejection(400, "encoding", "Body must be UTF-8.")
        expected = self._verifier.generate_signature(timestamp=timestamp, body=text) or ""
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            return Rejection(401, "bad_signature", "Invalid signature.")
        if not self._replays.first_time(signature):
            return Rejection(401, "replay", "Request already received.")
        if not _well_formed(text, environ.get("CONTENT_TYPE", "")):
            # Bolt raises on these (a 500 and a traceback); Slack never sends them.
            return Rejection(400, "malformed", "Body is not a Slack payload.")
        return body

    def _timestamp_is_fresh(self, timestamp: str) -> bool:
        try:
            sent = int(timestamp)
        except ValueError:
            return False
        return abs(self._clock() - sent) <= SIGNATURE_MAX_AGE_SECONDS


def _content_length(environ: WSGIEnvironment) -> int | None:
    raw = environ.get("CONTENT_LENGTH") or "0"
    try:
        length = int(raw)
    except ValueError:
        return None
    return length if length >= 0 else None


def _well_formed(text: str, content_type: str) -> bool:
    """A body Slack could have sent: see bot.slack.body.read_body."""
    return read_body(text, content_type) is not None


def _accepted_content_type(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type in ACCEPTED_CONTENT_TYPES


class DynamoteWsgi:
    """The WSGI application; see the module docstring for its routes."""

    def __init__(
        self,
        *,
        health: Health,
        bolt_app: App | None = None,
        signing_secret: str | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
        clock: Callable[[], float] = time.time,
        health_routes: bool = True,
    ) -> None:
        self._health = health
        # (guard, Bolt's WSGI adapter) in HTTP mode; None in Socket Mode.
        self._events: tuple[SlackRequestGuard, WSGIApplication] | None = None
        if bolt_app is not None:
            if not signing_secret:
                raise ValueError("HTTP mode needs the signing secret to check requests")
            from bot.slack.bolt_handler import SlackEventsHandler  # noqa: PLC0415  (loads Bolt)

            guard = SlackRequestGuard(signing_secret, max_body_bytes=max_body_bytes, clock=clock)
            self._events = (guard, SlackEventsHandler(bolt_app, path=EVENTS_PATH))
        self._routes: dict[str, Callable[[WSGIEnvironment, StartResponse], list[bytes]]] = {}
        if health_routes:
            self._routes = {
                "/healthz": self._healthz,
                "/readyz": self._readyz,
                "/metrics": self._metrics,
            }

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == EVENTS_PATH and self._events is not None:
            if method != "POST":
                return _reply(start_response, 405, "Method not allowed.\n", allow="POST")
            guard, bolt = self._events
            return self._slack_events(guard, bolt, environ, start_response)
        route = self._routes.get(path)
        if route is None:
            return _reply(start_response, 404, "Not found.\n")
        if method != "GET":
            return _reply(start_response, 405, "Method not allowed.\n", allow="GET")
        return route(environ, start_response)

    @staticmethod
    def _slack_events(
        guard: SlackRequestGuard,
        bolt: WSGIApplication,
        environ: WSGIEnvironment,
        start_response: StartResponse,
    ) -> Iterable[bytes]:
        checked = guard.check(environ)
        if isinstance(checked, Rejection):
            metrics.HTTP_REJECTED.labels(reason=checked.reason).inc()
            logger.warning("Refused a request to %s: %s", EVENTS_PATH, checked.reason)
            return _reply(start_response, checked.status, checked.message + "\n")
        # Bolt reads the body again from wsgi.input, exactly CONTENT_LENGTH bytes.
        forwarded = dict(environ)
        forwarded["wsgi.input"] = io.BytesIO(checked)
        forwarded["CONTENT_LENGTH"] = str(len(checked))
        return answer_then_start(lambda: bolt(forwarded, start_response))

    def _healthz(self, _environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        return _reply(start_response, 200, "ok\n")

    def _readyz(self, _environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        ready, reason = self._health.ready()
        return _reply(start_response, 200 if ready else 503, reason + "\n")

    def _metrics(self, _environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        body, content_type = metrics.exposition()
        return _reply(start_response, 200, body, content_type=content_type)


def _reply(
    start_response: StartResponse,
    status: int,
    body: str | bytes,
    *,
    content_type: str = _TEXT,
    allow: str | None = None,
) -> list[bytes]:
    data = body.encode() if isinstance(body, str) else body
    headers = [("Content-Type", content_type), ("Content-Length", str(len(data)))]
    if allow is not None:
        headers.append(("Allow", allow))
    start_response(_STATUS_LINES[status], headers)
    return [data]


_STATUS_LINES = {
    200: "200 OK",
    400: "400 Bad Request",
    401: "401 Unauthorized",
    404: "404 Not Found",
    405: "405 Method Not Allowed",
    413: "413 Content Too Large",
    503: "503 Service Unavailable",
}


def build_wsgi_app(
    *,
    health: Health,
    bolt_app: App | None = None,
    signing_secret: str | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    clock: Callable[[], float] = time.time,
    health_routes: bool = True,
) -> DynamoteWsgi:
    """The WSGI app; without ``bolt_app`` (Socket Mode) there is no /slack/events route, and
    with ``health_routes=False`` there are no /healthz, /readyz, /metrics."""
    return DynamoteWsgi(
        health=health,
        bolt_app=bolt_app,
        signing_secret=signing_secret,
        max_body_bytes=max_body_bytes,
        clock=clock,
        health_routes=health_routes,
    )


class HttpServer:
    """A waitress server that :meth:`run` serves on until :meth:`close` (from any thread)."""

    def __init__(self, server: Any) -> None:
        self.waitress = server  # waitress.server.TcpWSGIServer
        self._lock = threading.Lock()
        self._running = False
        self._closed = False
        self._all_closed = threading.Event()

    @property
    def host(self) -> str:
        return str(self.waitress.effective_host)

    @property
    def port(self) -> int:
        return int(self.waitress.effective_port)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def run(self) -> None:
        """Serve until closed; blocks."""
        with self._lock:
            if self._closed:
                return
            self._running = True
        try:
            self.waitress.run()
        finally:
            self.waitress.task_dispatcher.shutdown(cancel_pending=True, timeout=5)

    def close(self) -> None:
        """Stop accepting, let requests in progress finish (up to 5 s), close everything;
        :meth:`run` then returns. Call from any thread but the server's own."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            running = self._running
        if not running:
            self._close_listener()
            self._close_all()
            self.waitress.task_dispatcher.shutdown(cancel_pending=True, timeout=5)
            return
        # The event loop is not thread-safe: its sockets are closed inside it, by thunks.
        self.waitress.trigger.pull_trigger(self._close_listener)
        # Returns once the worker threads have finished the requests they were serving; the
        # loop keeps running meanwhile, so their responses are still sent.
        self.waitress.task_dispatcher.shutdown(cancel_pending=True, timeout=5)
        try:
            self.waitress.trigger.pull_trigger(self._close_all)
        except OSError:
            # pull_trigger queues the thunk before it writes the wake-up byte, so a loop that
            # was already awake may have run it, closing the trigger, before that write.
            if not self._all_closed.wait(1.0):
                self._close_all()  # the loop is gone: close from here

    def _close_listener(self) -> None:
        # The base dispatcher's close: the listening socket only (waitress's own close()
        # would also close the trigger, which the rest of the shutdown still needs).
        from waitress import wasyncore  # noqa: PLC0415  (waitress loads only to serve)

        wasyncore.dispatcher.close(self.waitress)

    def _close_all(self) -> None:
        trigger = self.waitress.trigger
        for dispatcher in list(self.waitress._map.values()):
            if dispatcher is not trigger:
                dispatcher.close()
        trigger.close()  # last: nothing can wake the loop after this
        self._all_closed.set()


def serve_http(
    wsgi_app: WSGIApplication,
    *,
    host: str,
    port: int,
    threads: int = 8,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> HttpServer:
    """Bind ``host:port`` (0 = any free port, see ``.port``) and return the server, not yet
    serving: call ``.run()`` (blocking, e.g. in a thread) and ``.close()`` to stop.

    Set up for clients that are slow on purpose. Each request must arrive whole within
    ``REQUEST_DEADLINE_SECONDS`` of its first byte (or of the connect, for a connection's
    first request), else its connection is closed (bot.server.deadline): waitress alone closes
    only connections that send nothing. Up to ``CONNECTION_LIMIT`` connections are served at
    once; past it new ones wait in the listen backlog until a slot frees, which the deadline
    bounds. A body is at most ``max_body_bytes`` and is kept in memory while it arrives, never
    spooled to a temporary file, so held bodies cost at most CONNECTION_LIMIT times that.
    Threads of this process pass the interpreter lock at least every
    ``SWITCH_INTERVAL_SECONDS`` from then on.
    """
    from waitress.adjustments import Adjustments  # noqa: PLC0415  (only serve needs it)
    from waitress.task import ThreadedTaskDispatcher  # noqa: PLC0415

    from bot.server.deadline import DeadlineServer  # noqa: PLC0415

    sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_SECONDS))
    # waitress refuses a body of max_request_body_size bytes or more, and spools one of
    # inbuf_overflow bytes or more to a temporary file: one past the limit each, so a body
    # the app accepts is read whole into memory and a larger one is refused (413) unread.
    body_cap = max_body_bytes + 1
    adjustments = Adjustments(
        host=host,
        port=port,
        threads=threads,
        max_request_body_size=body_cap,
        inbuf_overflow=body_cap,
        max_request_header_size=MAX_HEADER_BYTES,
        connection_limit=CONNECTION_LIMIT,
        channel_timeout=IDLE_TIMEOUT_SECONDS,
        cleanup_interval=1,  # how often overdue and idle connections are looked for
        asyncore_use_poll=True,  # select() cannot watch file descriptors past 1023
        ident="dynamote",
        expose_tracebacks=False,
        clear_untrusted_proxy_headers=True,
    )
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(threads)
    server = DeadlineServer(
        wsgi_app,
        request_deadline=REQUEST_DEADLINE_SECONDS,
        on_overdue=_count_overdue,
        map={},
        dispatcher=dispatcher,
        adj=adjustments,
        sockinfo=adjustments.listen[0],
    )
    return HttpServer(server)


def _count_overdue(closed: int) -> None:
    metrics.HTTP_REJECTED.labels(reason="too_slow").inc(closed)
    logger.warning(
        "Closed %d connection(s) whose request took over %.0f s to arrive",
        closed,
        REQUEST_DEADLINE_SECONDS,
    )
