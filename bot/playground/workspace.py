"""What the page shows: a Slack workspace as each person sees it, read back from the stand-in.

The bot talks to :class:`bot.sim.slack.web_api.SlackStandIn` exactly as it talks to Slack. This
module replays the stand-in's record of those calls (and the acks the bot answered the page's
requests with) into what Slack's client shows: channel messages and threads (read live from the
stand-in, so every ``chat.update`` shows), ephemeral messages for the one person who may see
them, each person's stack of open modals, their App Home, and the inline errors of a modal.

Slack ties a modal to the person whose interaction minted the ``trigger_id`` it was opened with,
and a ``response_url`` to the place it came from; the page's server registers both here when it
builds a payload (``new_trigger``, ``new_response_url``).
"""

from __future__ import annotations

import copy
import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.sim.slack.web_api import RESPONSE_URL_METHOD, SlackStandIn

__all__ = ["CHANNELS", "PEOPLE", "Origin", "Person", "Workspace"]

Json = dict[str, Any]


@dataclass(frozen=True)
class Person:
    user_id: str
    name: str
    role: str  # what the page says about them, e.g. "deployer"


# The playground's people; bot.playground.run puts them in the policy settings.
PEOPLE = (
    Person("U0DEPLOYER", "dana", "deployer"),
    Person("U0ADMIN", "ari", "admin"),
    Person("U0GUEST", "gus", "guest, not a deployer"),
)
CHANNELS = {"C0DEPLOYS": "ml-deploys", "C0GENERAL": "general"}


@dataclass(frozen=True)
class Origin:
    """Where a response_url posts to: the person, the channel, and the message clicked (if any)."""

    user: str
    channel: str
    kind: Literal["command", "message", "ephemeral"]
    message_ts: str | None = None
    thread_ts: str | None = None


@dataclass
class _Ephemeral:
    id: str
    user: str
    channel: str
    ts: str
    content: Json
    thread_ts: str | None = None
    seq: int = 0  # where it falls among the channel's messages


@dataclass
class _Local:
    """A plain message a person typed (the bot never sees these: it subscribes to none)."""

    user: str
    text: str


@dataclass
class _State:
    order: dict[tuple[str, str], int] = field(default_factory=dict)  # (channel, ts) -> seq
    locals: dict[tuple[str, str], _Local] = field(default_factory=dict)
    ephemerals: list[_Ephemeral] = field(default_factory=list)
    modals: dict[str, list[str]] = field(default_factory=dict)  # user -> view ids, top last
    homes: dict[str, str] = field(default_factory=dict)  # user -> home view id
    errors: dict[str, tuple[str, Json]] = field(default_factory=dict)  # view id -> (hash, errors)
    dms: dict[str, str] = field(default_factory=dict)  # DM channel -> user


class Workspace:
    """Thread-safe; the page server calls it from its request threads."""

    def __init__(self, standin: SlackStandIn) -> None:
        self.standin = standin
        self._lock = threading.Lock()
        self._state = _State()
        self._seen = 0  # how many of the stand-in's calls have been replayed
        self._triggers: dict[str, str] = {}  # trigger_id -> user
        self._origins: dict[str, Origin] = {}  # response_url name -> origin
        self._ids = itertools.count(1)
        self._seq = itertools.count(1)  # arrival order of messages and ephemerals
        for person in PEOPLE:
            standin.set_user(person.user_id, name=person.name, real_name=person.name.title())
        for channel, name in CHANNELS.items():
            standin.set_channel(channel, name=name, name_normalized=name)

    # ----- what the page server registers ---------------------------------------------------

    def new_trigger(self, user: str) -> str:
        trigger = self.standin.new_trigger_id()
        with self._lock:
            self._triggers[trigger] = user
        return trigger

    def new_response_url(self, origin: Origin) -> str:
        name = f"playground-{next(self._ids)}"
        with self._lock:
            self._origins[name] = origin
        return self.standin.response_url(name)

    def dm_channel(self, user: str) -> str:
        channel = self.standin.dm_channel(user)
        with self._lock:
            self._state.dms[channel] = user
        return channel

    def post_local(self, user: str, channel: str, text: str, thread_ts: str | None) -> None:
        """A plain message typed by a person; shown in the channel, not sent to the bot."""
        ts = self.standin.add_message(channel, text=text, **_thread(thread_ts))
        with self._lock:
            self._sync()
            self._state.order[(channel, ts)] = next(self._seq)
            self._state.locals[(channel, ts)] = _Local(user, text)

    def ephemeral(self, user: str, channel: str, content: Json, thread_ts: str | None) -> None:
        """An ephemeral reply that came back in an ack (a slash command's)."""
        with self._lock:
            self._sync()
            self._add_ephemeral(user, channel, content, thread_ts)

    def modal(self, user: str) -> Json | None:
        """The top modal ``user`` sees, as Slack holds it, or None."""
        with self._lock:
            self._sync()
            stack = self._state.modals.get(user) or []
        return self.standin.view(stack[-1]) if stack else None

    def home(self, user: str) -> Json | None:
        with self._lock:
            self._sync()
            view_id = self._state.homes.get(user)
        return self.standin.view(view_id) if view_id else None

    def message(self, channel: str, ts: str) -> Json | None:
        return self.standin.message(channel, ts)

    def find_ephemeral(self, user: str, ephemeral_id: str) -> Json | None:
        with self._lock:
            for item in self._state.ephemerals:
                if item.id == ephemeral_id and item.user == user:
                    return {"channel": item.channel, "ts": item.ts, "thread_ts": item.thread_ts,
                            **copy.deepcopy(item.content)}  # fmt: skip
        return None

    def after_submission(self, user: str, view_id: str, ack: Json) -> None:
        """Apply a view_submission's ack: errors, update, push, clear; none closes the view."""
        action = ack.get("response_action")
        with self._lock:
            self._sync()
            stack = self._state.modals.setdefault(user, [])
            if action == "errors":
                current = self.standin.view(view_id) or {}
                self._state.errors[view_id] = (str(current.get("hash")), ack.get("errors") or {})
            elif action == "update" and isinstance(ack.get("view"), dict):
                self.standin.add_view(ack["view"], view_id=view_id)
            elif action == "push" and isinstance(ack.get("view"), dict):
                stack.append(str(self.standin.add_view(ack["view"])["id"]))
            elif action == "clear":
                stack.clear()
            elif view_id in stack:
                del stack[stack.index(view_id) :]

    def close_modal(self, user: str, view_id: str) -> None:
        with self._lock:
            stack = self._state.modals.setdefault(user, [])
            if view_id in stack:
                del stack[stack.index(view_id) :]

    def dismiss_ephemeral(self, user: str, ephemeral_id: str) -> None:
        with self._lock:
            self._state.ephemerals = [
                e for e in self._state.ephemerals if not (e.id == ephemeral_id and e.user == user)
            ]

    # ----- what the page shows --------------------------------------------------------------

    def snapshot(self, user: str) -> Json:
        """Everything ``user`` sees, as JSON for the page."""
        with self._lock:
            self._sync()
            state = copy.deepcopy(self._state)
        channels: list[Json] = [{"id": cid, "name": name} for cid, name in CHANNELS.items()]
        dm = self.dm_channel(user)
        channels.append({"id": dm, "name": "Dynamote", "dm": True})
        visible = {c["id"] for c in channels}
        arrived: dict[str, list[tuple[int, Json]]] = {c["id"]: [] for c in channels}
        for (channel, ts), seq in state.order.items():
            stored = self.standin.message(channel, ts) if channel in visible else None
            if stored is not None:
                local = state.locals.get((channel, ts))
                arrived[channel].append((seq, _shown(stored, local)))
        for item in state.ephemerals:
            if item.user == user and item.channel in visible:
                shown: Json = {"ts": item.ts, "ephemeral": True, "id": item.id, "bot": True}
                shown |= _thread(item.thread_ts) | item.content
                arrived[item.channel].append((item.seq, shown))
        messages = {
            channel: [shown for _, shown in sorted(items, key=lambda pair: pair[0])]
            for channel, items in arrived.items()
        }
        modals = []
        for view_id in state.modals.get(user) or []:
            view = self.standin.view(view_id)
            if view is None:
                continue
            hash_, errors = state.errors.get(view_id, ("", {}))
            modals.append(view | {"errors": errors if hash_ == view.get("hash") else {}})
        home_id = state.homes.get(user)
        return {
            "me": user,
            "people": [vars(person) for person in PEOPLE],
            "channels": channels,
            "messages": messages,
            "modals": modals,
            "home": self.standin.view(home_id) if home_id else None,
        }

    # ----- replaying the stand-in's record (under the lock) ---------------------------------

    def _sync(self) -> None:
        calls = self.standin.calls()
        for call in calls[self._seen :]:
            if call.ok:
                self._replay(call.method, call.params, call.response, call.path)
        self._seen = len(calls)

    def _replay(self, method: str, params: Json, response: Json, path: str) -> None:
        state = self._state
        if method == "chat.postMessage":
            state.order[(str(response["channel"]), str(response["ts"]))] = next(self._seq)
            if str(params.get("channel", "")).startswith(("U", "W")):
                state.dms[str(response["channel"])] = str(params["channel"])
        elif method == "chat.postEphemeral":
            self._add_ephemeral(
                str(params["user"]), str(params["channel"]), _content(params),
                params.get("thread_ts"),
            )  # fmt: skip
        elif method in ("views.open", "views.push"):
            user = self._triggers.get(str(params.get("trigger_id")))
            if user is not None:
                stack = state.modals.setdefault(user, [])
                if method == "views.open":
                    stack.clear()
                stack.append(str(response["view"]["id"]))
        elif method == "views.publish":
            state.homes[str(params["user_id"])] = str(response["view"]["id"])
        elif method == RESPONSE_URL_METHOD:
            origin = self._origins.get(path.rsplit("/", 1)[-1])
            if origin is not None:
                self._respond(origin, params)

    def _respond(self, origin: Origin, params: Json) -> None:
        """A post to a response_url, as Slack applies it (bolt's respond())."""
        content = _content(params)
        if _true(params.get("delete_original")) or _true(params.get("replace_original")):
            if origin.kind == "ephemeral":
                for item in self._state.ephemerals:
                    if item.ts == origin.message_ts and item.user == origin.user:
                        item.content = content
                if _true(params.get("delete_original")):
                    self._state.ephemerals = [
                        e for e in self._state.ephemerals if e.ts != origin.message_ts
                    ]
            elif origin.message_ts is not None:
                if _true(params.get("delete_original")):
                    self.standin.delete_message(origin.channel, origin.message_ts)
                else:
                    self.standin.replace_message(origin.channel, origin.message_ts, content)
            return
        thread_ts = params.get("thread_ts") or origin.thread_ts
        if params.get("response_type") == "in_channel":
            ts = self.standin.add_message(origin.channel, **content, **_thread(thread_ts))
            self._state.order[(origin.channel, ts)] = next(self._seq)
        else:
            self._add_ephemeral(origin.user, origin.channel, content, thread_ts)

    def _add_ephemeral(self, user: str, channel: str, content: Json, thread_ts: str | None) -> None:
        ts = f"{time.time():.6f}"
        item = _Ephemeral(
            f"E{next(self._ids)}", user, channel, ts, content, thread_ts, next(self._seq)
        )
        self._state.ephemerals.append(item)


def _shown(stored: Json, local: _Local | None) -> Json:
    shown = {
        key: stored[key]
        for key in ("ts", "thread_ts", "text", "blocks", "attachments", "edited", "subtype")
        if key in stored
    }
    if local is not None:
        return shown | {"user": local.user, "bot": False}
    return shown | {"user": stored.get("user"), "bot": True}


def _content(params: Json) -> Json:
    return {key: params[key] for key in ("text", "blocks", "attachments") if key in params}


def _thread(thread_ts: Any) -> Json:
    return {"thread_ts": str(thread_ts)} if thread_ts else {}


def _true(value: Any) -> bool:
    return value in (True, "true", "1", 1)
