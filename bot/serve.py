"""`dynamote serve`: run the bot bot.composition builds, over HTTP or Socket Mode, until stopped.

Modes: Socket Mode when ``SLACK_APP_TOKEN`` is set and
``--http`` is not given, else HTTP mode (needs ``SLACK_SIGNING_SECRET``). Either way the WSGI
app of bot.server.wsgi answers /healthz, /readyz and /metrics on ``--port``; in HTTP mode it also
takes ``POST /slack/events``. With a health port (``--health-port`` or
``DYNAMOTE_HEALTH_PORT``) those three move to a second waitress server of their own (own
socket, event loop and worker threads), so nothing sent to ``--port`` can hold up a probe;
``--port`` then serves /slack/events alone, and is not opened at all in Socket Mode.

Who calls auth.test: this runner, once, in a background thread that retries until Slack
answers, then records the answer in the App's ``SlackIdentity`` (bot.slack.identity) and marks
bot.server.health ready. The App authorizes requests from that identity, so building it does no
network I/O, no request waits on auth.test before its ack, and Slack being briefly down at start
does not crash the process: /healthz answers and /readyz says what is missing. A token Slack
rejects (``invalid_auth`` and friends) stops the process with exit 2, since no retry can fix
it.

``--simulate`` starts the Kubernetes API stand-in and the simulated operator in this process
and points the cluster client at them. SIGINT/SIGTERM stop everything; the exit code is 0.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Protocol

from pydantic import SecretStr
from slack_sdk.errors import SlackApiError

from bot.cluster import Cluster
from bot.composition import Dynamote, build_dynamote
from bot.config.settings import Settings, SettingsError, get_settings
from bot.domain.policy import open_policy_warning
from bot.ops import backoff
from bot.ops.logs import configure_logging
from bot.server.health import Health
from bot.server.wsgi import EVENTS_PATH, HttpServer, serve_http
from bot.slack.identity import SlackIdentity

if TYPE_CHECKING:
    from wsgiref.types import WSGIApplication

    from slack_bolt import App
    from slack_sdk import WebClient

__all__ = ["run_serve", "signals_set"]

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
SIM_KUBECONFIG_ENV = "DYNAMOTE_SIM_KUBECONFIG"
# Slack errors that mean the token itself is wrong: retrying cannot help.
FATAL_AUTH_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}
)
HEALTH_THREADS = 2  # the health server's workers: probes and scrapes answer in milliseconds
RETRY_FIRST_SECONDS = 1.0
RETRY_MAX_SECONDS = 30.0
# Socket Mode: the client pings Slack this often (Bolt's default is 10 s), and a connection
# that sent nothing, not even a pong, for SOCKET_STALE_PINGS intervals is replaced.
SOCKET_PING_SECONDS = 5.0
SOCKET_STALE_PINGS = 2


class _Operator(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


class _Connection(Protocol):
    """What we use of the Socket Mode handler (Bolt's handler methods are untyped)."""

    def connect(self) -> None: ...
    def close(self) -> None: ...


class _StartupError(Exception):
    """Startup cannot continue; the message is for stderr."""

    def __init__(self, message: str, code: int = EXIT_CONFIG) -> None:
        super().__init__(message)
        self.code = code


def run_serve(
    *,
    simulate: bool,
    http: bool,
    port: int,
    health_port: int | None = None,
    settings: Settings | None = None,
    stop: threading.Event | None = None,
    on_built: Callable[[Dynamote], None] | None = None,
) -> int:
    """Serve until SIGINT/SIGTERM (or ``stop`` is set); returns the exit code.

    ``health_port`` None: the settings' ``health_port`` (None there too: health on ``port``).
    ``stop`` lets a test run this in a thread; signal handlers are installed only when this
    runs in the main thread. ``on_built`` is told what the composition root built.
    """
    stop = stop or threading.Event()
    outcome: list[_StartupError] = []  # set by a background thread that must end the process
    try:
        settings = settings or get_settings()
        configure_logging(settings)  # first: every later record is formatted and redacted
        _warn_if_open(settings)
        socket_mode = _choose_mode(settings, http=http)
        health_port = settings.health_port if health_port is None else health_port
        if health_port is not None and health_port == port:
            raise _StartupError(
                f"the health port ({health_port}) must differ from --port: give "
                "--health-port (DYNAMOTE_HEALTH_PORT) another port, or leave it unset to "
                "serve health on --port"
            )
        with (
            signals_set(stop),
            _cluster_for(settings, simulate=simulate) as cluster,
        ):
            _serve(
                settings=settings,
                cluster=cluster,
                socket_mode=socket_mode,
                ports=(port, health_port),
                stop=stop,
                outcome=outcome,
                on_built=on_built,
            )
    except (_StartupError, SettingsError) as error:
        print(f"dynamote serve: {error}", file=sys.stderr)
        return error.code if isinstance(error, _StartupError) else EXIT_CONFIG
    if outcome:
        print(f"dynamote serve: {outcome[0]}", file=sys.stderr)
        return outcome[0].code
    return EXIT_OK


def _choose_mode(settings: Settings, *, http: bool) -> bool:
    """True for Socket Mode; raises _StartupError when a needed credential is missing."""
    if not _secret(settings.slack_bot_token):
        raise _StartupError(
            "SLACK_BOT_TOKEN is not set: set it to the app's Bot User OAuth Token (xoxb-...), "
            "from the Slack app's OAuth & Permissions page."
        )
    if _secret(settings.slack_app_token) and not http:
        return True
    if not _secret(settings.slack_signing_secret):
        raise _StartupError(
            "HTTP mode needs SLACK_SIGNING_SECRET (Basic Information > App Credentials); "
            "or set SLACK_APP_TOKEN (xapp-..., scope connections:write) and drop --http "
            "to use Socket Mode."
        )
    return False


def _secret(value: SecretStr | None) -> str | None:
    """The value, or None when unset or empty (``SLACK_APP_TOKEN=`` counts as unset)."""
    text = value.get_secret_value().strip() if value is not None else ""
    return text or None


def _serve(
    *,
    settings: Settings,
    cluster: Cluster,
    socket_mode: bool,
    ports: tuple[int, int | None],
    stop: threading.Event,
    outcome: list[_StartupError],
    on_built: Callable[[Dynamote], None] | None,
) -> None:
    dynamote = build_dynamote(settings, cluster, socket_mode=socket_mode)
    try:
        if on_built is not None:
            on_built(dynamote)
        _run(dynamote, ports=ports, stop=stop, outcome=outcome)
    finally:
        dynamote.close()  # no request is served any more


def _run(
    dynamote: Dynamote,
    *,
    ports: tuple[int, int | None],
    stop: threading.Event,
    outcome: list[_StartupError],
) -> None:
    settings, socket_mode, health = dynamote.settings, dynamote.socket_mode, dynamote.health
    web_client, identity = dynamote.web_client, dynamote.identity
    health.refresh()  # warm the Kubernetes client up before the first /readyz
    servers = _http_servers(dynamote, ports=ports)
    distinct = list(dict.fromkeys(servers.values()))  # one server has both roles by default
    threads = [
        threading.Thread(target=server.run, name=f"dynamote-http-{server.port}", daemon=True)
        for server in distinct
    ]
    for thread in threads:
        thread.start()
    mode = (
        "Socket Mode"
        if socket_mode
        else f"HTTP mode, POST {EVENTS_PATH} on {servers['events'].url}"
    )
    print(
        f"dynamote serve: {mode}; /healthz /readyz /metrics on {servers['health'].url}",
        flush=True,
    )

    def fail(error: _StartupError) -> None:
        outcome.append(error)
        stop.set()

    authenticating = threading.Thread(
        target=_authenticate,
        args=(web_client, health, identity, stop, fail),
        name="dynamote-slack-auth",
        daemon=True,
    )
    authenticating.start()
    dynamote.start()
    socket_handler = None
    try:
        app_token = _secret(settings.slack_app_token)
        if socket_mode and app_token:
            socket_handler = _connect_socket_mode(dynamote.bolt_app, app_token, stop)
        stop.wait()
    finally:
        if socket_handler is not None:
            socket_handler.close()
        for server in distinct:
            server.close()
        for thread in threads:
            thread.join(timeout=10)
        authenticating.join(timeout=1)


def _http_servers(dynamote: Dynamote, *, ports: tuple[int, int | None]) -> dict[str, HttpServer]:
    """The listening servers by role, "health" and (HTTP mode) "events": one server for both
    without a health port; bound, not yet serving."""
    port, health_port = ports
    host, socket_mode = dynamote.settings.bind_host, dynamote.socket_mode
    if health_port is None:
        shared = _listen(host, port, dynamote.events_app())
        return {"health": shared} if socket_mode else {"health": shared, "events": shared}
    servers = {"health": _listen(host, health_port, dynamote.health_app(), threads=HEALTH_THREADS)}
    if not socket_mode:
        events = dynamote.events_app(health_routes=False)
        try:
            servers["events"] = _listen(host, port, events)
        except _StartupError:
            servers["health"].close()
            raise
    return servers


def _listen(host: str, port: int, wsgi: WSGIApplication, *, threads: int = 8) -> HttpServer:
    try:
        return serve_http(wsgi, host=host, port=port, threads=threads)
    except OSError as error:
        raise _StartupError(f"cannot listen on {host}:{port}: {error}") from error


def _authenticate(
    web_client: WebClient,
    health: Health,
    identity: SlackIdentity,
    stop: threading.Event,
    fail: Callable[[_StartupError], None],
) -> None:
    """auth.test until it succeeds (then Health is slack-ready) or Slack rejects the token."""
    for delay in _backoff():
        try:
            answer = web_client.auth_test()
        except SlackApiError as error:
            code = str(error.response.get("error", ""))
            if code in FATAL_AUTH_ERRORS:
                fail(_StartupError(f"Slack rejected SLACK_BOT_TOKEN ({code}); check the token."))
                return
            logger.warning("auth.test failed (%s); retrying in %.0f s", code, delay)
        except Exception:  # network errors after the client's own retries
            logger.exception("Failed to call auth.test; retrying in %.0f s", delay)
        else:
            logger.info("Slack auth ok: bot %s in team %s", answer.get("user"), answer.get("team"))
            identity.record(
                answer.data if isinstance(answer.data, dict) else {},
                scopes=answer.headers.get("x-oauth-scopes"),
            )
            health.mark_slack_ready()
            return
        if stop.wait(delay):
            return


def _connect_socket_mode(
    app: App,
    app_token: str,
    stop: threading.Event,
    *,
    ping_interval: float = SOCKET_PING_SECONDS,
) -> _Connection | None:
    """Open the Socket Mode connection, retrying until it opens or we are stopped.

    Once open, the client (bot.slack.socket_mode) keeps it: it reconnects when Slack asks it to,
    closes it or drops it, and replaces a connection that answers no ping for
    SOCKET_STALE_PINGS intervals.
    """
    from bot.slack.socket_mode import SocketModeHandler  # noqa: PLC0415  (Socket Mode only)

    connection: _Connection = SocketModeHandler(
        app, app_token, ping_interval=ping_interval, stale_pings=SOCKET_STALE_PINGS
    )
    for delay in _backoff():
        try:
            connection.connect()
        except SlackApiError as error:
            code = str(error.response.get("error", ""))
            if code in FATAL_AUTH_ERRORS:
                connection.close()
                raise _StartupError(
                    f"Slack rejected SLACK_APP_TOKEN ({code}): it must be an app-level token "
                    "(xapp-...) with the connections:write scope."
                ) from error
            logger.warning("Socket Mode connection failed (%s); retrying in %.0f s", code, delay)
        except Exception:
            logger.exception("Failed to open the Socket Mode connection; retrying in %.0f s", delay)
        else:
            return connection
        if stop.wait(delay):
            connection.close()
            return None
    return None  # pragma: no cover  (_backoff never ends)


def _backoff() -> Iterator[float]:
    return backoff.delays(first=RETRY_FIRST_SECONDS, cap=RETRY_MAX_SECONDS)


@contextlib.contextmanager
def signals_set(stop: threading.Event) -> Iterator[None]:
    """SIGINT/SIGTERM set ``stop`` (main thread only; elsewhere the caller sets it)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def _cluster_for(settings: Settings, *, simulate: bool) -> Iterator[Cluster]:
    """The real cluster (KUBECONFIG or in-cluster), or the in-process stand-in."""
    if not simulate:
        with Cluster(settings=settings) as cluster:
            yield cluster
        return
    with (
        _simulated_kubeconfig(settings) as kubeconfig,
        Cluster(kubeconfig, settings=settings) as cluster,
    ):
        yield cluster


@contextlib.contextmanager
def _simulated_kubeconfig(settings: Settings) -> Iterator[Path]:
    """Start the stand-in and operator; yield a kubeconfig for them; stop them after."""
    from bot.sim.k8s.standin import StandIn, default_crd_path  # noqa: PLC0415
    from bot.sim.operator.controller import SimOperator  # noqa: PLC0415  (only --simulate needs it)
    from bot.sim.sim_env import operator_version, transient_failure  # noqa: PLC0415

    try:  # as `dynamote sim` reads them, checked before anything starts
        failing_for, version = transient_failure(), operator_version()
    except ValueError as error:
        raise _StartupError(str(error)) from None
    # Every namespace the bot may deploy to exists, with the HF token secret it will check.
    namespaces = tuple(dict.fromkeys(["default", *settings.allowed_namespaces]))
    standin = StandIn(
        port=0,
        crd_path=default_crd_path(),
        seed_namespaces=namespaces,
        hf_secret=settings.hf_secret,
        operator_version=version,
    ).start()
    operator: _Operator = SimOperator(
        standin.store, ready_after=settings.sim_ready_after, transient_failure=failing_for
    )
    operator.start()
    try:
        with _kubeconfig_path() as path:
            standin.write_kubeconfig(path)
            print(f"dynamote serve: simulated cluster at {standin.url}; kubeconfig {path}")
            yield path
    finally:
        operator.stop()
        standin.stop()


@contextlib.contextmanager
def _kubeconfig_path() -> Iterator[Path]:
    """DYNAMOTE_SIM_KUBECONFIG when set (kept after exit), else a temporary file."""
    chosen = os.environ.get(SIM_KUBECONFIG_ENV)
    if chosen:
        yield Path(chosen)
        return
    with tempfile.TemporaryDirectory(prefix="dynamote-sim-") as folder:
        yield Path(folder) / "kubeconfig"


def _warn_if_open(settings: Settings) -> None:
    warning = open_policy_warning(settings)
    if warning:
        logger.warning("Open policy: %s", warning)
