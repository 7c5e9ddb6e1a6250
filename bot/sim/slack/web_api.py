"""A local stand-in for Slack's Web API, over real HTTP on 127.0.0.1, for tests and --simulate.

Why: the app's Slack calls should be tested through the real `slack_sdk.WebClient` (its
encoding, its retry handlers, its error raising), not through mocked methods. Point a client at
it with ``WebClient(token=standin.token, base_url=standin.url)``.

What it does:
- records every call (method, decoded params, headers, time, what it answered);
- answers the methods the bot uses with the fields Slack's answers carry (`ts`, messages with
  `bot_id` and `bot_profile`, views with `id`, `hash`, `root_view_id`, `app_id`, `bot_id`, ...)
  and Slack's errors (`hash_conflict`, `not_found`, `invalid_arguments` for missing required
  arguments, single-use trigger ids, `expired_trigger_id` for a trigger id it minted more than
  3 s before), anything else with ``{"ok": true}``. Shapes and error codes are taken from
  Slack's OpenAPI spec (slackapi/slack-api-specs, web-api/slack_web_openapi_v2.json: each
  method's example answer and error list), Slack's method pages (docs.slack.dev/reference/
  methods/<method>) and answers recorded from Slack by client libraries (the slack-web Haskell
  package's golden chat.update answer); tests/slack/web_api_shapes.json writes the shapes down
  and a test compares the answers with it key by key;
- serves `response_url` endpoints (`response_url(name)`) and records what `respond()` posts;
- checks the bearer token (`invalid_auth`);
- injects faults while running: 429 with Retry-After, 5xx, ``ok: false`` errors (only codes
  Slack documents for that method; optionally for one channel), latency, a call held until
  the test releases it; each fault counts its hits;
- runs every message and view through `bot.blocks.limits` and, on a violation, answers like
  Slack (`invalid_blocks`, `invalid_arguments`) and records it for `violations()`.
All public methods are thread-safe.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, Self
from urllib.parse import parse_qsl, urlsplit

from bot.blocks.limits import MISSING_TEXT_FALLBACK, check_message, check_view
from bot.sim.k8s.running import Running

__all__ = ["DOCUMENTED_ERRORS", "TEST_TOKEN", "Fault", "RecordedCall", "SlackStandIn"]

TEAM_ID = "T0DYNAMOTE"
BOT_USER_ID = "U0DYNAMOTE"
BOT_ID = "B0DYNAMOTE"
APP_ID = "A0DYNAMOTE"
TEST_TOKEN = "xoxb-test"  # noqa: S105 - a made-up token the stand-in accepts
RESPONSE_URL_METHOD = "response_url"  # the `method` recorded for posts to a response_url

_JSON_FIELDS = ("blocks", "attachments", "view", "metadata")  # form fields that carry JSON
_MESSAGE_METHODS = frozenset(
    {"chat.postMessage", "chat.postEphemeral", "chat.update", "chat.scheduleMessage"}
)
_VIEW_METHODS = frozenset({"views.open", "views.push", "views.update", "views.publish"})
_FIRST_TS = 1_700_000_000_000_100  # microseconds; ts values look like "1700000000.000100"
TRIGGER_SECONDS = 3.0  # a trigger_id opens a view within 3 s of the interaction, else expires
BOT_NAME = "Dynamote"
BOT_UPDATED = 1_700_000_000  # bot_profile.updated, a Unix time

# Error codes any method may answer (Slack's "Errors" tables, common to every method).
_COMMON_ERRORS = frozenset(
    {
        "not_authed", "invalid_auth", "account_inactive", "token_revoked", "token_expired",
        "no_permission", "missing_scope", "not_allowed_token_type", "org_login_required",
        "ekm_access_denied", "team_access_not_granted", "team_added_to_org", "invalid_arguments",
        "invalid_arg_name", "invalid_array_arg", "invalid_charset", "invalid_form_data",
        "invalid_post_type", "missing_post_type", "invalid_json", "json_not_object",
        "request_timeout", "upgrade_required", "fatal_error", "internal_error",
        "service_unavailable", "ratelimited", "accesslimited", "deprecated_endpoint",
    }
)  # fmt: skip
# Per method, from slack_web_openapi_v2.json's error enums and the method pages; a fault may
# only answer one of these (or a common one), so a test cannot make Slack say what it never
# says. response_url answers are webhook errors (docs.slack.dev/messaging/sending-messages-
# using-incoming-webhooks, "Handling errors"; expired_url for a used-up response_url).
DOCUMENTED_ERRORS: dict[str, frozenset[str]] = {
    "chat.postMessage": frozenset(
        {
            "channel_not_found", "not_in_channel", "is_archived", "msg_too_long", "no_text",
            "too_many_attachments", "rate_limited", "restricted_action", "invalid_blocks",
            "invalid_blocks_format",
        }
    ),
    "chat.postEphemeral": frozenset(
        {
            "channel_not_found", "is_archived", "msg_too_long", "no_text", "restricted_action",
            "too_many_attachments", "user_not_in_channel", "invalid_blocks",
            "invalid_blocks_format",
        }
    ),
    "chat.update": frozenset(
        {
            "message_not_found", "cant_update_message", "channel_not_found",
            "edit_window_closed", "msg_too_long", "too_many_attachments", "rate_limited",
            "no_text", "is_inactive", "invalid_blocks", "invalid_blocks_format",
        }
    ),
    "chat.delete": frozenset(
        {
            "message_not_found", "channel_not_found", "cant_delete_message",
            "compliance_exports_prevent_deletion",
        }
    ),
    "views.open": frozenset(
        {"expired_trigger_id", "exchanged_trigger_id", "view_too_large",
         "duplicate_external_id"}
    ),
    "views.push": frozenset(
        {"expired_trigger_id", "exchanged_trigger_id", "view_too_large",
         "duplicate_external_id", "push_limit_reached"}
    ),
    "views.update": frozenset(
        {"not_found", "hash_conflict", "view_too_large", "duplicate_external_id"}
    ),
    "views.publish": frozenset(
        {"hash_conflict", "view_too_large", "duplicate_external_id"}
    ),
    "conversations.open": frozenset(
        {
            "method_not_supported_for_channel_type", "user_not_found", "user_not_visible",
            "user_disabled", "users_list_not_supplied", "not_enough_users", "too_many_users",
            "invalid_user_combination", "channel_not_found",
        }
    ),
    "conversations.info": frozenset({"channel_not_found"}),
    "users.info": frozenset({"user_not_found", "user_not_visible"}),
    "usergroups.users.list": frozenset(
        {"no_such_subteam", "plan_upgrade_required", "user_is_bot", "user_is_restricted",
         "missing_charset", "superfluous_charset"}
    ),
    "auth.test": frozenset(),
    "apps.connections.open": frozenset(),
    RESPONSE_URL_METHOD: frozenset(
        {"expired_url", "invalid_payload", "channel_not_found", "channel_is_archived",
         "action_prohibited", "no_text", "too_many_attachments", "user_not_found",
         "invalid_blocks"}
    ),
}  # fmt: skip

Json = dict[str, Any]


@dataclass(frozen=True)
class RecordedCall:
    """One request the stand-in received, and how it answered."""

    method: str  # "chat.postMessage", or "response_url" for posts to a response_url
    params: Json  # query + body; JSON-string fields (blocks, view, ...) decoded
    headers: dict[str, str]  # lower-case names
    at: float  # time.time() when it arrived
    path: str
    status: int  # HTTP status answered
    error: str | None  # Slack error answered (e.g. "ratelimited"); None when ok
    response: Json  # the JSON body answered, e.g. for the view id and hash of a views.open

    @property
    def ok(self) -> bool:
        return self.error is None


FaultKind = Literal["rate_limit", "server_error", "error", "latency", "pause"]
PAUSE_LIMIT_SECONDS = 60.0  # a paused call answers by then even if the test never releases it


@dataclass
class Fault:
    """One injected fault. `remaining` None = forever; `hits` counts the calls it answered."""

    kind: FaultKind
    method: str | None  # None = every method
    remaining: int | None
    channel: str | None = None  # only calls whose `channel` param is this
    error: str = ""
    status: int = 200
    retry_after: int = 0
    seconds: float = 0.0
    hits: int = 0
    # "pause": set when a call arrives and is held; the call is answered once `released` is set
    arrived: threading.Event = field(default_factory=threading.Event, repr=False)
    released: threading.Event = field(default_factory=threading.Event, repr=False)

    def release(self) -> None:
        """Let the calls a "pause" fault holds (and any later ones) be answered."""
        self.released.set()

    def applies_to(self, method: str, params: Json) -> bool:
        return (
            (self.remaining is None or self.remaining > 0)
            and (self.method is None or self.method == method)
            and (self.channel is None or self.channel == params.get("channel"))
        )

    def hit(self) -> None:
        self.hits += 1
        if self.remaining is not None:
            self.remaining -= 1


@dataclass
class _Answer:
    status: int
    body: Json
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def error(self) -> str | None:
        return None if self.body.get("ok", True) else str(self.body.get("error"))


def _ok(**fields: Any) -> _Answer:
    return _Answer(200, {"ok": True, **fields})


def _error(error: str, status: int = 200, **fields: Any) -> _Answer:
    return _Answer(status, {"ok": False, "error": error, **fields})


class _Workspace:
    """Slack's side of the conversation: messages, views, users, groups. Not thread-safe."""

    def __init__(self, *, single_use_triggers: bool, clock: Callable[[], float]) -> None:
        self.single_use_triggers = single_use_triggers
        self.clock = clock
        self.minted_triggers: dict[str, float] = {}  # trigger_id -> clock() when minted
        self.messages: dict[tuple[str, str], Json] = {}
        self.views: dict[str, Json] = {}
        self.home_view_ids: dict[str, str] = {}
        self.users: dict[str, Json] = {}
        self.usergroups: dict[str, list[str]] = {}
        self.channels: dict[str, Json] = {}
        self.dm_channels: dict[str, str] = {}
        self.used_triggers: set[str] = set()
        self._clock = itertools.count(_FIRST_TS, 100)
        self._ids = itertools.count(1)
        self.handlers: dict[str, Callable[[Json], _Answer]] = {
            "auth.test": self.auth_test,
            "chat.postMessage": self.post_message,
            "chat.postEphemeral": self.post_ephemeral,
            "chat.update": self.update_message,
            "chat.delete": self.delete_message,
            "views.open": self.open_view,
            "views.push": self.open_view,
            "views.update": self.update_view,
            "views.publish": self.publish_view,
            "conversations.open": self.open_conversation,
            "conversations.info": self.conversation_info,
            "users.info": self.user_info,
            "usergroups.users.list": self.usergroup_members,
        }

    def answer(self, method: str, params: Json) -> _Answer:
        handler = self.handlers.get(method)
        return handler(params) if handler else _ok()

    # ----- ids ------------------------------------------------------------------------------

    def next_ts(self) -> str:
        micros = next(self._clock)
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def next_id(self, prefix: str) -> str:
        return f"{prefix}0{next(self._ids):08X}"

    def mint_trigger(self) -> str:
        """A trigger_id shaped like Slack's ("<digits>.<digits>.<hex>"), its age tracked."""
        number = next(self._ids)
        trigger = f"{number}.{BOT_UPDATED}.{number:032x}"
        self.minted_triggers[trigger] = self.clock()
        return trigger

    def dm_channel(self, user_id: str) -> str:
        return self.dm_channels.setdefault(user_id, self.next_id("D"))

    def resolve_channel(self, channel: str) -> str:
        """Posting to a user id posts into the bot's DM with that user, as Slack does."""
        return self.dm_channel(channel) if channel[:1] in ("U", "W") else channel

    # ----- methods --------------------------------------------------------------------------

    def auth_test(self, params: Json) -> _Answer:
        return _ok(
            url="https://dynamote-test.slack.com/",
            team="Dynamote Test",
            user="dynamote",
            team_id=TEAM_ID,
            user_id=BOT_USER_ID,
            bot_id=BOT_ID,
            is_enterprise_install=False,
        )

    def post_message(self, params: Json) -> _Answer:
        if not params.get("channel"):
            return _error("channel_not_found")
        if not _has_content(params):
            return _error("no_text")
        channel = self.resolve_channel(str(params["channel"]))
        ts = self.next_ts()
        message = _bot_message(ts, _content(params))
        if params.get("thread_ts"):
            message["thread_ts"] = params["thread_ts"]
            if params.get("reply_broadcast") in (True, "true", "1", 1):
                # A reply also shown in the channel: Slack's thread_broadcast subtype
                # (docs.slack.dev/reference/events/message/thread_broadcast).
                message["subtype"] = "thread_broadcast"
        self.messages[(channel, ts)] = message
        return _ok(channel=channel, ts=ts, message=message)

    def post_ephemeral(self, params: Json) -> _Answer:
        if not params.get("channel"):
            return _error("channel_not_found")
        if not params.get("user"):
            return _error("user_not_in_channel")
        return _ok(message_ts=self.next_ts()) if _has_content(params) else _error("no_text")

    def update_message(self, params: Json) -> _Answer:
        if not params.get("channel"):
            return _error("channel_not_found")
        key = (str(params["channel"]), str(params.get("ts", "")))
        message = self.messages.get(key)
        if message is None:
            return _error("message_not_found")
        if not _has_content(params):
            return _error("no_text")
        message.update(_content(params))
        message["edited"] = {"user": BOT_ID, "ts": self.next_ts()}
        # Slack's answer carries the message without its ts (it is the top-level ts).
        answered = {key: value for key, value in message.items() if key != "ts"}
        return _ok(channel=key[0], ts=key[1], text=message.get("text", ""), message=answered)

    def delete_message(self, params: Json) -> _Answer:
        key = (str(params.get("channel", "")), str(params.get("ts", "")))
        if self.messages.pop(key, None) is None:
            return _error("message_not_found")
        return _ok(channel=key[0], ts=key[1])

    def open_view(self, params: Json) -> _Answer:
        trigger = params.get("trigger_id")
        if not trigger:
            return _error(
                "invalid_arguments", response_metadata=_pointers(["/trigger_id: required"])
            )
        if self.single_use_triggers and trigger in self.used_triggers:
            return _error("exchanged_trigger_id")
        minted = self.minted_triggers.get(str(trigger))
        if minted is not None and self.clock() - minted > TRIGGER_SECONDS:
            return _error("expired_trigger_id")
        self.used_triggers.add(str(trigger))
        view_id = self.next_id("V")
        return _ok(view=self.store_view(view_id, params["view"]))

    def update_view(self, params: Json) -> _Answer:
        if not params.get("view_id") and not params.get("external_id"):
            return _error(
                "invalid_arguments",
                response_metadata=_pointers(["/view_id: view_id or external_id is required"]),
            )
        view_id = params.get("view_id") or self.view_id_for(params.get("external_id"))
        if view_id not in self.views:
            return _error("not_found")
        if params.get("hash") and params["hash"] != self.views[view_id]["hash"]:
            return _error("hash_conflict")
        return _ok(view=self.store_view(str(view_id), params["view"]))

    def publish_view(self, params: Json) -> _Answer:
        user_id = params.get("user_id")
        if not user_id:
            return _error("invalid_arguments", response_metadata=_pointers(["/user_id: required"]))
        view_id = self.home_view_ids.setdefault(str(user_id), self.next_id("V"))
        current = self.views.get(view_id)
        if current and params.get("hash") and params["hash"] != current["hash"]:
            return _error("hash_conflict")
        return _ok(view=self.store_view(view_id, params["view"]))

    def open_conversation(self, params: Json) -> _Answer:
        users = [user for user in str(params.get("users") or "").split(",") if user]
        if params.get("channel"):
            return _ok(channel={"id": params["channel"]})
        if not users:
            return _error("users_list_not_supplied")
        return _ok(channel={"id": self.dm_channel(",".join(users))})

    def conversation_info(self, params: Json) -> _Answer:
        channel_id = str(params.get("channel", ""))
        if not channel_id:
            return _error("channel_not_found")
        return _ok(channel=_channel(channel_id) | self.channels.get(channel_id, {}))

    def user_info(self, params: Json) -> _Answer:
        user_id = str(params.get("user", ""))
        if not user_id:
            return _error("user_not_found")
        return _ok(user=_user(user_id) | self.users.get(user_id, {}))

    def usergroup_members(self, params: Json) -> _Answer:
        members = self.usergroups.get(str(params.get("usergroup", "")))
        return _error("no_such_subteam") if members is None else _ok(users=list(members))

    # ----- views ----------------------------------------------------------------------------

    def store_view(self, view_id: str, submitted: Json) -> Json:
        """The view as Slack answers it: what was sent, with Slack's fields around it."""
        previous = self.views.get(view_id, {})
        view = {
            "id": view_id,
            "team_id": TEAM_ID,
            "private_metadata": "",
            "callback_id": "",
            "external_id": "",
            "state": {"values": {}},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": None,
            "submit": None,
            "root_view_id": previous.get("root_view_id", view_id),
            "previous_view_id": None,
            "app_id": APP_ID,
            "bot_id": BOT_ID,
            **submitted,
            "hash": f"{int(time.time())}.{next(self._ids):08x}",
        }
        self.views[view_id] = view
        return view

    def view_id_for(self, external_id: Any) -> str | None:
        if not external_id:
            return None
        found = (vid for vid, view in self.views.items() if view["external_id"] == external_id)
        return next(found, None)


def _bot_message(ts: str, content: Json) -> Json:
    """A message the bot posted, as Slack answers and stores it."""
    message = {"type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID, "app_id": APP_ID}
    return message | {"team": TEAM_ID, "bot_profile": _bot_profile(), "ts": ts, **content}


def _bot_profile() -> Json:
    icons = {f"image_{size}": f"https://a.slack-edge.com/bot_{size}.png" for size in (36, 48, 72)}
    profile: Json = {"id": BOT_ID, "app_id": APP_ID, "name": BOT_NAME, "icons": icons}
    return profile | {"deleted": False, "updated": BOT_UPDATED, "team_id": TEAM_ID}


def _channel(channel_id: str) -> Json:
    """conversations.info's channel (C... public, G... private, D... a DM)."""
    is_im, is_private = channel_id.startswith("D"), channel_id.startswith("G")
    about = {"value": "", "creator": "", "last_set": 0}
    channel: Json = {"id": channel_id, "name": channel_id.lower()}
    channel |= {"name_normalized": channel_id.lower(), "created": BOT_UPDATED}
    channel |= {"creator": BOT_USER_ID, "is_channel": not is_im, "is_group": False}
    channel |= {"is_im": is_im, "is_mpim": False, "is_private": is_private}
    channel |= {"is_archived": False, "is_general": False, "is_member": True}
    channel |= {"is_read_only": False, "is_shared": False, "is_ext_shared": False}
    channel |= {"is_org_shared": False, "is_pending_ext_shared": False, "pending_shared": []}
    channel |= {"unlinked": 0, "parent_conversation": None, "last_read": "0000000000.000000"}
    channel |= {"locale": "en-US", "previous_names": []}
    return channel | {"topic": dict(about), "purpose": dict(about)}


def _user(user_id: str) -> Json:
    """users.info's user, an ordinary member; tests override fields with set_user."""
    name = user_id.lower()
    user: Json = {"id": user_id, "team_id": TEAM_ID, "name": name, "deleted": False}
    user |= {"color": "9f69e7", "real_name": f"User {user_id}", "tz": "UTC"}
    user |= {"tz_label": "Coordinated Universal Time", "tz_offset": 0, "is_admin": False}
    user |= {"is_owner": False, "is_primary_owner": False, "is_restricted": False}
    user |= {"is_ultra_restricted": False, "is_bot": False, "is_app_user": False}
    user |= {"has_2fa": False, "updated": BOT_UPDATED}
    images = {f"image_{size}": f"https://avatars.example/{name}_{size}.png" for size in _SIZES}
    profile: Json = {"avatar_hash": "g0000000000", "display_name": name}
    profile |= {"display_name_normalized": name, "real_name": f"User {user_id}"}
    profile |= {"real_name_normalized": f"User {user_id}", "email": f"{name}@example.com"}
    profile |= {"status_emoji": "", "status_text": "", "team": TEAM_ID}
    return user | {"profile": profile | images | {"image_original": images["image_512"]}}


_SIZES = (24, 32, 48, 72, 192, 512)


def _content(params: Json) -> Json:
    return {key: params[key] for key in ("text", "blocks", "attachments") if key in params}


def _has_content(params: Json) -> bool:
    return any(params.get(key) for key in ("text", "blocks", "attachments"))


def _pointers(violations: Iterable[str], prefix: str = "") -> Json:
    """Slack's way of saying where: "[ERROR] <what> [json-pointer:<where>]"."""
    messages = []
    for violation in violations:
        pointer, _, what = violation.partition(": ")
        messages.append(f"[ERROR] {what} [json-pointer:{prefix}{pointer}]")
    return {"messages": messages}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 drops bursts of concurrent connects for ~1 s

    def __init__(self, standin: SlackStandIn, port: int) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.standin = standin


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._reply(self.rfile.read(length))

    def do_GET(self) -> None:
        self._reply(b"")

    def _reply(self, body: bytes) -> None:
        headers = {name.lower(): value for name, value in self.headers.items()}
        answer = self.server.standin._serve(self.path, headers, body)
        payload = json.dumps(answer.body).encode()
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read `calls()`, not stderr."""


class SlackStandIn(Running):
    """The Slack Web API on 127.0.0.1:<free port>; a context manager. See the module docstring."""

    def __init__(
        self,
        *,
        token: str = TEST_TOKEN,
        port: int = 0,
        single_use_triggers: bool = True,
        scopes: Iterable[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`port` 0 takes any free port; `single_use_triggers` makes a reused trigger_id fail;
        `scopes`, when given, are reported in the `x-oauth-scopes` header, as Slack does;
        `clock` tells the age of the trigger ids `new_trigger_id` minted."""
        self.token = token
        self._scopes = None if scopes is None else ",".join(scopes)
        self._port = port
        self._tokens = {token}
        self._lock = threading.Lock()
        self._calls: list[RecordedCall] = []
        self._violations: list[str] = []
        self._faults: list[Fault] = []
        self._workspace = _Workspace(single_use_triggers=single_use_triggers, clock=clock)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ----- lifecycle ------------------------------------------------------------------------

    def start(self) -> Self:
        self._server = _Server(self, self._port)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},  # how long stop() waits for the loop to notice
            name="slack-standin",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    @property
    def url(self) -> str:
        """The Web API base URL, with the trailing slash slack_sdk needs."""
        return f"{self._root()}api/"

    def response_url(self, name: str = "1") -> str:
        """A response_url to put in payloads; posts to it are recorded as "response_url"."""
        return f"{self._root()}response/{name}"

    def add_token(self, token: str) -> None:
        """Accept another token, e.g. a second workspace's bot token."""
        with self._lock:
            self._tokens.add(token)

    # ----- what was received ----------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[RecordedCall]:
        with self._lock:
            return [call for call in self._calls if method is None or call.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[RecordedCall]:
        """The calls of `method` once there are at least `count`; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.calls(method)
            if len(found) >= count:
                return found
            if time.monotonic() >= deadline:
                seen = [call.method for call in self.calls()]
                raise AssertionError(
                    f"waited {timeout}s for {count} {method} call(s), got {len(found)}; "
                    f"all calls so far: {seen}"
                )
            time.sleep(0.01)

    def violations(self) -> list[str]:
        """Block Kit limit violations in what was sent, as "<method> <pointer>: <what>"."""
        with self._lock:
            return list(self._violations)

    def reset(self) -> None:
        """Forget calls, violations and faults; messages, views, users and groups stay."""
        with self._lock:
            self._calls.clear()
            self._violations.clear()
            self._faults.clear()

    def message(self, channel: str, ts: str) -> Json | None:
        """A message as it stands now (after any chat.update), or None when deleted/unknown."""
        with self._lock:
            return copy.deepcopy(self._workspace.messages.get((channel, ts)))

    def view(self, view_id: str) -> Json | None:
        """A view as it stands now (after any views.update), or None when unknown."""
        with self._lock:
            return copy.deepcopy(self._workspace.views.get(view_id))

    # ----- the workspace --------------------------------------------------------------------

    def add_view(self, view: Json, *, view_id: str | None = None) -> Json:
        """Make a view known without views.open (e.g. one pushed by an ack); returns it stored,
        with its id and hash, to put in a block_actions or view_submission payload."""
        with self._lock:
            stored = self._workspace.store_view(view_id or self._workspace.next_id("V"), view)
            return copy.deepcopy(stored)

    def add_message(self, channel: str, ts: str | None = None, **content: Any) -> str:
        """Make a message known without chat.postMessage (e.g. a card posted before a restart),
        so chat.update and chat.delete find it; returns its ts."""
        with self._lock:
            ts = ts or self._workspace.next_ts()
            self._workspace.messages[(channel, ts)] = _bot_message(ts, content)
            return ts

    def replace_message(self, channel: str, ts: str, content: Json) -> None:
        """Replace a message's content, as a response_url post with replace_original does."""
        with self._lock:
            old = self._workspace.messages.get((channel, ts))
            if old is not None:
                kept = {key: old[key] for key in ("thread_ts",) if key in old}
                self._workspace.messages[(channel, ts)] = _bot_message(ts, content | kept)

    def delete_message(self, channel: str, ts: str) -> None:
        """Delete a message, as a response_url post with delete_original does."""
        with self._lock:
            self._workspace.messages.pop((channel, ts), None)

    def dm_channel(self, user_id: str) -> str:
        """The id of the bot's DM with `user_id` (what conversations.open answers)."""
        with self._lock:
            return self._workspace.dm_channel(user_id)

    def new_trigger_id(self) -> str:
        """A trigger_id as Slack puts in an interaction payload; views.open and views.push
        answer expired_trigger_id once it is more than 3 s old (by the stand-in's clock)."""
        with self._lock:
            return self._workspace.mint_trigger()

    def set_user(self, user_id: str, **fields: Any) -> None:
        """users.info answers for `user_id` get these fields (e.g. is_admin=True)."""
        with self._lock:
            self._workspace.users.setdefault(user_id, {}).update(fields)

    def set_usergroup(self, usergroup_id: str, members: Iterable[str]) -> None:
        """usergroups.users.list members; unknown groups answer no_such_subteam."""
        with self._lock:
            self._workspace.usergroups[usergroup_id] = list(members)

    def set_channel(self, channel_id: str, **fields: Any) -> None:
        """conversations.info answers for `channel_id` get these fields (e.g. is_private=True)."""
        with self._lock:
            self._workspace.channels.setdefault(channel_id, {}).update(fields)

    def serve_socket_mode(self, new_url: Callable[[], str]) -> None:
        """Answer apps.connections.open with ``{"ok": true, "url": new_url()}``; pass
        `tests.standins.slack_socket.SocketModeStandIn.connection_url`. Until then the method
        answers ``{"ok": true}`` with no URL. Faults apply to it as to any method."""
        with self._lock:
            self._workspace.handlers["apps.connections.open"] = lambda _: _ok(url=new_url())

    # ----- faults ---------------------------------------------------------------------------

    def rate_limit(
        self, method: str | None = None, *, times: int | None = 1, retry_after: int = 1
    ) -> Fault:
        """Answer 429 with Retry-After (whole seconds, as Slack sends) to the next `times` calls."""
        return self._add_fault(Fault("rate_limit", method, times, retry_after=retry_after))

    def server_error(
        self, method: str | None = None, *, times: int | None = 1, status: int = 500
    ) -> Fault:
        """Answer HTTP `status` (5xx) to the next `times` calls."""
        return self._add_fault(Fault("server_error", method, times, status=status))

    def fail(
        self,
        method: str | None,
        error: str,
        *,
        channel: str | None = None,
        times: int | None = None,
    ) -> Fault:
        """Answer ``ok: false`` with `error` (e.g. not_in_channel), optionally for one channel.

        ValueError when Slack documents no such error for `method` (see DOCUMENTED_ERRORS)."""
        _check_documented(method, error)
        return self._add_fault(Fault("error", method, times, channel=channel, error=error))

    def add_latency(self, method: str | None, seconds: float, *, times: int | None = None) -> Fault:
        """Wait `seconds` before answering calls of `method` (None = all)."""
        return self._add_fault(Fault("latency", method, times, seconds=seconds))

    def pause(self, method: str | None, *, times: int | None = 1) -> Fault:
        """Hold the next `times` calls of `method` unanswered until the fault's `release()`;
        its `arrived` event is set when the first one is held (a Slack that is slow to answer,
        at a moment the test chooses)."""
        return self._add_fault(Fault("pause", method, times))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _add_fault(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    # ----- serving (called from the server's threads) ---------------------------------------

    def _root(self) -> str:
        if self._server is None:
            raise RuntimeError("the Slack stand-in is not running; call start() first")
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def _serve(self, raw_path: str, headers: dict[str, str], body: bytes) -> _Answer:
        arrived = time.time()
        split = urlsplit(raw_path)
        method = _method_for(split.path)
        try:
            params = _parse_params(split.query, headers.get("content-type", ""), body)
        except (ValueError, UnicodeDecodeError):
            params = {"_raw": body.decode(errors="replace")}
        time.sleep(self._latency(method, params))  # outside the lock: other calls go on
        for pause in self._pauses(method, params):
            pause.arrived.set()
            pause.released.wait(PAUSE_LIMIT_SECONDS)
        with self._lock:
            if "_raw" in params:
                answer = _error("invalid_json")
            else:
                answer = self._answer(method, params, headers)
            if method == RESPONSE_URL_METHOD:
                answer = _as_webhook_answer(answer)
            elif self._scopes is not None and answer.error != "invalid_auth":
                answer.headers["x-oauth-scopes"] = self._scopes  # on every authed call
            call = RecordedCall(
                method=method,
                params=params,
                headers=headers,
                at=arrived,
                path=split.path,
                status=answer.status,
                error=answer.error,
                response=copy.deepcopy(answer.body),  # later updates must not rewrite history
            )
            self._calls.append(call)
        return answer

    def _latency(self, method: str, params: Json) -> float:
        with self._lock:
            return sum(fault.seconds for fault in self._hit_faults("latency", method, params))

    def _pauses(self, method: str, params: Json) -> list[Fault]:
        with self._lock:
            return list(self._hit_faults("pause", method, params))

    def _answer(self, method: str, params: Json, headers: dict[str, str]) -> _Answer:
        if method != RESPONSE_URL_METHOD and _token(headers, params) not in self._tokens:
            return _error("invalid_auth")
        # Checked before any fault answers, so a payload the app only tried to send still counts.
        rejected = self._check_limits(method, params)
        for fault in self._hit_faults("rate_limit", method, params):
            limited = _error("ratelimited", 429)
            limited.headers["Retry-After"] = str(fault.retry_after)
            return limited
        for fault in self._hit_faults("server_error", method, params):
            return _error("internal_error", fault.status)
        for fault in self._hit_faults("error", method, params):
            return _error(fault.error)
        if rejected is not None:
            return rejected
        if method == RESPONSE_URL_METHOD:
            return _ok()
        return self._workspace.answer(method, params)

    def _hit_faults(self, kind: FaultKind, method: str, params: Json) -> Iterator[Fault]:
        """The faults of `kind` that apply, each counted as hit when the caller takes it."""
        for fault in self._faults:
            if fault.kind == kind and fault.applies_to(method, params):
                fault.hit()
                yield fault

    def _check_limits(self, method: str, params: Json) -> _Answer | None:
        if method in _MESSAGE_METHODS or method == RESPONSE_URL_METHOD:
            violations = check_message(params)
            self._violations.extend(f"{method} {violation}" for violation in violations)
            errors = [v for v in violations if not v.endswith(MISSING_TEXT_FALLBACK)]
            if errors:
                return _error("invalid_blocks", errors=errors, response_metadata=_pointers(errors))
        elif method in _VIEW_METHODS:
            view = params.get("view")
            if not isinstance(view, dict):
                return _error("invalid_arguments", response_metadata=_pointers(["/view: required"]))
            violations = check_view(view) + _view_type_problems(method, view)
            self._violations.extend(f"{method} {violation}" for violation in violations)
            if violations:
                return _error("invalid_arguments", response_metadata=_pointers(violations, "/view"))
        return None


def _check_documented(method: str | None, error: str) -> None:
    """A fault may only answer what Slack answers: a common error or one of `method`'s."""
    if error in _COMMON_ERRORS:
        return
    if method is None:
        raise ValueError(f"{error!r} is not an error every Slack method answers; name a method")
    documented = DOCUMENTED_ERRORS.get(method)
    if documented is not None and error not in documented:
        raise ValueError(
            f"Slack documents no {error!r} error for {method}; "
            f"it answers {sorted(documented | _COMMON_ERRORS)}"
        )


def _as_webhook_answer(answer: _Answer) -> _Answer:
    """A response_url says what went wrong with the HTTP status, as incoming webhooks do."""
    if answer.status == 200 and answer.error is not None:
        answer.status = 400 if answer.error in ("invalid_blocks", "invalid_json") else 404
    return answer


def _view_type_problems(method: str, view: Json) -> list[str]:
    wanted = "home" if method == "views.publish" else "modal"
    kind = view.get("type")
    return [] if kind == wanted else [f"/type: {method} takes a {wanted} view, not {kind!r}"]


def _method_for(path: str) -> str:
    """The Web API method in a path: /api/chat.postMessage (or /chat.postMessage)."""
    if path.startswith("/response/"):
        return RESPONSE_URL_METHOD
    return path.removeprefix("/api/").strip("/")


def _token(headers: dict[str, str], params: Json) -> str | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token:
        return token
    return str(params["token"]) if params.get("token") else None


def _parse_params(query: str, content_type: str, body: bytes) -> Json:
    """Query + body, whether slack_sdk sent the body form-encoded or as JSON."""
    params: Json = dict(parse_qsl(query, keep_blank_values=True))
    if body and content_type.startswith("application/json"):
        decoded = json.loads(body)
        params |= decoded if isinstance(decoded, dict) else {"_body": decoded}
    elif body:
        params |= dict(parse_qsl(body.decode(), keep_blank_values=True))
    for key in _JSON_FIELDS:
        value = params.get(key)
        if isinstance(value, str) and value[:1] in ("[", "{"):
            # Malformed JSON is left as sent; the limit checker reports it.
            with contextlib.suppress(json.JSONDecodeError):
                params[key] = json.loads(value)
    return params
