"""The page's own HTTP server: the static page, what each person sees, and what they do.

``GET /`` and ``/static/*`` serve the page shipped in this package (nothing is fetched from the
network). ``GET /api/state?user=U…`` answers what that person sees (see
:meth:`bot.playground.workspace.Workspace.snapshot`); the page polls it. ``POST /api/<what>``
takes a person's action as JSON, has :mod:`bot.playground.payloads` build and sign the request
Slack would send, posts it to the bot and applies the bot's ack (an ephemeral reply, a modal's
errors, update, push or close), as Slack's client does.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.playground import payloads
from bot.playground.payloads import PlaygroundError
from bot.playground.slack_payloads import SlackRequest
from bot.playground.workspace import PEOPLE, Workspace

__all__ = ["PageServer", "Playground"]

logger = logging.getLogger(__name__)

Json = dict[str, Any]
_STATIC_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
_MAX_BODY = 1_000_000
_PEOPLE_IDS = frozenset(person.user_id for person in PEOPLE)
_BOT_COMMAND = "/dynamote"


@dataclass(frozen=True)
class Playground:
    """What the page server needs: the workspace, and where and how to reach the bot."""

    workspace: Workspace
    events_url: str  # the bot's POST /slack/events
    signing_secret: str

    def send(self, request: SlackRequest) -> payloads.Ack:
        return payloads.post(self.events_url, request, self.signing_secret)

    # ----- actions (each returns what the page gets back) -----------------------------------

    def command(self, body: Json) -> Json:
        user, channel = _user(body), str(body.get("channel") or "")
        text, thread_ts = str(body.get("text") or "").strip(), body.get("thread_ts")
        if not text:
            return {"ok": True}
        if not text.startswith("/"):
            self.workspace.post_local(user, channel, text, thread_ts)
            return {"ok": True}
        name = text.split(" ", 1)[0]
        if name != _BOT_COMMAND:
            return _error(f"{name} is not a valid command. This playground knows {_BOT_COMMAND}.")
        ack = self.send(payloads.command(self.workspace, user, channel, text))
        if ack.status != 200:
            return _failed(_BOT_COMMAND, ack)
        answer = ack.json()
        if answer.get("text") or answer.get("blocks"):
            content: Json = {k: answer[k] for k in ("text", "blocks") if k in answer}
            self.workspace.ephemeral(user, channel, content, None)
        return {"ok": True}

    def action(self, body: Json) -> Json:
        user, container = _user(body), body.get("container") or {}
        where, chosen = body.get("where") or {}, body.get("chosen")
        kind = container.get("type")
        if kind == "message":
            request = payloads.message_action(
                self.workspace,
                user,
                channel=str(container.get("channel")),
                ts=str(container.get("ts")),
                where=where,
                chosen=chosen,
            )
        elif kind == "ephemeral":
            request = payloads.ephemeral_action(
                self.workspace, user, ephemeral_id=str(container.get("id")), where=where,
                chosen=chosen,
            )  # fmt: skip
        elif kind == "view":
            request = payloads.view_action(
                self.workspace,
                user,
                view_id=str(container.get("view_id")),
                where=where,
                chosen=chosen,
                typed=_typed(body),
            )
        else:
            raise PlaygroundError(f"unknown container {kind!r}")
        ack = self.send(request)
        return {"ok": True} if ack.status == 200 else _failed("That action", ack)

    def submit(self, body: Json) -> Json:
        user, view_id = _user(body), str(body.get("view_id"))
        ack = self.send(payloads.submission(self.workspace, user, view_id, _typed(body)))
        if ack.status != 200:
            return _failed("Submitting", ack)
        self.workspace.after_submission(user, view_id, ack.json())
        return {"ok": True}

    def close(self, body: Json) -> Json:
        user, view_id = _user(body), str(body.get("view_id"))
        request = payloads.view_close(self.workspace, user, view_id, _typed(body))
        self.workspace.close_modal(user, view_id)
        if request is not None:
            ack = self.send(request)
            if ack.status != 200:
                return _failed("Closing", ack)
        return {"ok": True}

    def home(self, body: Json) -> Json:
        ack = self.send(payloads.app_home_opened(self.workspace, _user(body)))
        return {"ok": True} if ack.status == 200 else _failed("App Home", ack)

    def dismiss(self, body: Json) -> Json:
        self.workspace.dismiss_ephemeral(_user(body), str(body.get("id")))
        return {"ok": True}


def _user(body: Json) -> str:
    user = str(body.get("user") or "")
    if user not in _PEOPLE_IDS:
        raise PlaygroundError(f"unknown person {user!r}; pick one of {sorted(_PEOPLE_IDS)}")
    return user


def _typed(body: Json) -> payloads.Typed:
    typed = body.get("typed") or {}
    return {str(key): value for key, value in typed.items()} if isinstance(typed, dict) else {}


def _error(message: str) -> Json:
    return {"ok": False, "error": message}


def _failed(what: str, ack: payloads.Ack) -> Json:
    """What Slack's client would show, with what the bot answered (the page is for developers)."""
    return _error(f"{what} failed: the bot answered HTTP {ack.status} {ack.body[:300]}".strip())


class PageServer:
    """The page and its API on ``host:port`` (0 = any free port), served from threads."""

    def __init__(self, playground: Playground, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.playground = playground
        self._server = _Server((host, port), playground)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="dynamote-playground", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/"

    def start(self) -> PageServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (if it started) and close the socket."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], playground: Playground) -> None:
        super().__init__(address, _Handler)
        self.playground = playground


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        split = urlsplit(self.path)
        if split.path == "/api/state":
            user = (parse_qs(split.query).get("user") or [""])[0]
            self._guarded(lambda: self.server.playground.workspace.snapshot(_user({"user": user})))
            return
        name = "index.html" if split.path in ("/", "/index.html") else split.path
        name = name.removeprefix("/static/")
        suffix = "." + name.rsplit(".", 1)[-1] if "." in name else ""
        if "/" in name or suffix not in _STATIC_TYPES:
            self._send(404, b"not found", "text/plain")
            return
        try:
            content = resources.files("bot.playground").joinpath("static", name).read_bytes()
        except FileNotFoundError:
            self._send(404, b"not found", "text/plain")
            return
        self._send(200, content, _STATIC_TYPES[suffix])

    def do_POST(self) -> None:
        routes: dict[str, Callable[[Json], Json]] = {
            "/api/command": self.server.playground.command,
            "/api/action": self.server.playground.action,
            "/api/submit": self.server.playground.submit,
            "/api/close": self.server.playground.close,
            "/api/home": self.server.playground.home,
            "/api/dismiss": self.server.playground.dismiss,
        }
        route = routes.get(urlsplit(self.path).path)
        if route is None:
            self._send(404, b"not found", "text/plain")
            return
        length = min(int(self.headers.get("Content-Length") or 0), _MAX_BODY)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError as error:
            self._json(400, _error(f"the request is not JSON: {error}"))
            return
        if not isinstance(body, dict):
            self._json(400, _error("the request must be a JSON object"))
            return
        self._guarded(lambda: route(body))

    def _guarded(self, answer: Callable[[], Json]) -> None:
        try:
            self._json(200, answer())
        except PlaygroundError as error:
            self._json(400, _error(str(error)))
        except (AttributeError, KeyError, TypeError, ValueError) as error:  # a wrong shape
            self._json(400, _error(f"the request is not what the page sends: {error!r}"))
        except OSError as error:  # the bot is down or too slow
            logger.warning("Playground request failed: %s", error)
            self._json(502, _error(f"the bot did not answer: {error}"))

    def _json(self, status: int, body: Json) -> None:
        self._send(status, json.dumps(body).encode(), "application/json")

    def _send(self, status: int, content: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(content)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(content)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the page polls several times a second."""
