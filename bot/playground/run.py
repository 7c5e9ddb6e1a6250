"""``dynamote playground``: start the Slack stand-in, the bot (simulated cluster, HTTP mode) and
the page, print the page's URL, and stop everything on Ctrl-C.

The bot is the one ``dynamote serve --simulate --http`` runs (bot.serve.run_serve), with the
settings a Slack app would give it, pointed at the Slack stand-in, and a signing secret made up
for this run: the page server signs every request with it, and the bot checks each signature.
The playground's people get their roles through the ordinary policy settings.
"""

from __future__ import annotations

import os
import secrets
import socket
import sys
import threading
import time
import urllib.error
import urllib.request

from bot.config.fields import ENV_PREFIX
from bot.config.settings import Settings, SettingsError, load_settings
from bot.playground.server import PageServer, Playground
from bot.playground.workspace import Workspace
from bot.serve import run_serve, signals_set
from bot.server.wsgi import EVENTS_PATH
from bot.sim.slack.web_api import SlackStandIn

__all__ = ["DEFAULT_PORT", "playground_settings", "run_playground"]

DEFAULT_PORT = 3100
READY_SECONDS = 60.0  # the bot answers /readyz once auth.test and the cluster answer
EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2
DEPLOYERS = ("U0DEPLOYER",)
ADMINS = ("U0ADMIN",)


def playground_settings(
    standin: SlackStandIn, signing_secret: str, **overrides: object
) -> Settings:
    """The bot's settings: Slack is the stand-in; dana deploys, ari administers, gus watches."""
    values: dict[str, object] = {
        "slack_bot_token": standin.token,
        "slack_signing_secret": signing_secret,
        "slack_app_token": "",  # HTTP mode, whatever the environment says
        "slack_api_url": standin.url,
        "deployers": ",".join(DEPLOYERS),
        "admins": ",".join(ADMINS),
        "bind_host": "127.0.0.1",
    }
    if ENV_PREFIX + "LOG_LEVEL" not in os.environ:
        values["log_level"] = "WARNING"  # the page shows what happens; INFO lines every 5 s do not
    return load_settings(**(values | overrides))


def run_playground(
    *,
    port: int = DEFAULT_PORT,
    stop: threading.Event | None = None,
    out: list[str] | None = None,
    started: threading.Event | None = None,
) -> int:
    """Serve until SIGINT/SIGTERM (or ``stop``); returns the exit code. For tests that run this
    in a thread: ``out`` gets the page's URL once it answers, then ``started`` is set."""
    stop = stop or threading.Event()
    with SlackStandIn() as standin, signals_set(stop):
        secret = secrets.token_hex(16)
        try:
            settings = playground_settings(standin, secret)
        except SettingsError as error:
            print(f"dynamote playground: {error}", file=sys.stderr)
            return EXIT_CONFIG
        bot_port = _free_port()
        events_url = f"http://127.0.0.1:{bot_port}{EVENTS_PATH}"
        try:  # bound first, so a port in use is said at once, before the bot starts
            page = PageServer(Playground(Workspace(standin), events_url, secret), port=port)
        except OSError as error:
            print(f"dynamote playground: cannot listen on port {port}: {error}; "
                  "choose another with --port", file=sys.stderr)  # fmt: skip
            return EXIT_CONFIG
        codes: list[int] = []
        bot_stopped = threading.Event()

        def serve() -> None:
            try:
                codes.append(
                    run_serve(
                        simulate=True, http=True, port=bot_port, settings=settings, stop=bot_stopped
                    )
                )
            finally:
                stop.set()

        bot = threading.Thread(target=serve, name="dynamote-playground-bot", daemon=True)
        bot.start()
        try:
            if not _wait_ready(f"http://127.0.0.1:{bot_port}/readyz", stop):
                return codes[0] if codes else EXIT_FAILED
            page.start()
            print(f"dynamote playground: open {page.url} (Ctrl-C stops)", flush=True)
            if out is not None:
                out.append(page.url)
            if started is not None:
                started.set()
            stop.wait()
        finally:
            page.stop()
            bot_stopped.set()
            bot.join(timeout=20)
    return codes[0] if codes else EXIT_OK


def _wait_ready(url: str, stop: threading.Event) -> bool:
    """True once the bot answers /readyz with 200; False if it stopped or never got ready."""
    deadline = time.monotonic() + READY_SECONDS
    while not stop.is_set() and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310  (127.0.0.1)
                if answer.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        stop.wait(0.1)
    if not stop.is_set():
        print(f"dynamote playground: the bot was not ready after {READY_SECONDS:.0f} s",
              file=sys.stderr)  # fmt: skip
    return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
