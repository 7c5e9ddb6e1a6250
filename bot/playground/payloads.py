"""What a person did on the page, as the signed request Slack would send the bot.

The page says only what happened ("U0DEPLOYER typed /dynamote deploy qwen3 in C0DEPLOYS",
"clicked the element with this action_id in block 3 of that message", "submitted view V…
with these values"); the shapes come from :mod:`bot.playground.slack_payloads`, the builders
the test suite checks against the corpus of Slack's own payloads, and each element's action is
built from the element as the bot sent it (its text, value, options), as Slack builds it.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.playground.slack_payloads import (
    SlackRequest,
    block_actions,
    event_callback,
    slash_command,
    view_closed,
    view_state,
    view_submission,
)
from bot.playground.workspace import CHANNELS, Origin, Workspace

__all__ = [
    "Ack",
    "PlaygroundError",
    "app_home_opened",
    "command",
    "ephemeral_action",
    "message_action",
    "post",
    "submission",
    "view_action",
    "view_close",
]

Json = dict[str, Any]
Chosen = str | list[str] | None
Typed = dict[str, Chosen]
BOT_TIMEOUT_SECONDS = 10.0
# The keys of a message as Slack echoes it in a block_actions payload (the corpus's
# channel_message case); the stand-in's stored message carries more (bot_profile).
_ECHOED = ("bot_id", "type", "text", "user", "ts", "app_id", "blocks", "team", "thread_ts")


class PlaygroundError(ValueError):
    """The page asked for something that does not exist (a gone message, an unknown element)."""


@dataclass(frozen=True)
class Ack:
    """The bot's HTTP answer to one request."""

    status: int
    body: str

    def json(self) -> Json:
        try:
            parsed = json.loads(self.body) if self.body.strip() else {}
        except json.JSONDecodeError:
            return {"text": self.body}
        return parsed if isinstance(parsed, dict) else {}


def command(workspace: Workspace, user: str, channel: str, typed: str) -> SlackRequest:
    """``/dynamote deploy qwen3`` typed in ``channel``."""
    name, _, text = typed.strip().partition(" ")
    return slash_command(
        text.strip(),
        user=user,
        channel=channel,
        channel_name=CHANNELS.get(channel),
        command=name,
        response_url=workspace.new_response_url(Origin(user, channel, "command")),
        trigger_id=workspace.new_trigger(user),
    )


def message_action(
    workspace: Workspace, user: str, *, channel: str, ts: str, where: Json, chosen: Chosen
) -> SlackRequest:
    """A click or choice on an element of a message in a channel."""
    message = workspace.message(channel, ts)
    if message is None:
        raise PlaygroundError(f"message {ts} in {channel} is gone")
    block_id, action = _action(message.get("blocks") or [], where, chosen)
    thread_ts = message.get("thread_ts")
    container: Json = {"message_ts": ts}
    if thread_ts:
        container["thread_ts"] = thread_ts
    origin = Origin(user, channel, "message", message_ts=ts, thread_ts=thread_ts)
    return block_actions(
        [action],
        user=user,
        channel=channel,
        response_url=workspace.new_response_url(origin),
        container=container,
        trigger_id=workspace.new_trigger(user),
        message={key: message[key] for key in _ECHOED if key in message},
        block_id=block_id,
    )


def ephemeral_action(
    workspace: Workspace, user: str, *, ephemeral_id: str, where: Json, chosen: Chosen
) -> SlackRequest:
    """A click on an ephemeral message: Slack echoes no message, only its container."""
    ephemeral = workspace.find_ephemeral(user, ephemeral_id)
    if ephemeral is None:
        raise PlaygroundError(f"ephemeral message {ephemeral_id} is gone")
    block_id, action = _action(ephemeral.get("blocks") or [], where, chosen)
    channel, ts, thread_ts = ephemeral["channel"], ephemeral["ts"], ephemeral.get("thread_ts")
    origin = Origin(user, channel, "ephemeral", message_ts=ts, thread_ts=thread_ts)
    return block_actions(
        [action],
        user=user,
        channel=channel,
        response_url=workspace.new_response_url(origin),
        container={"message_ts": ts},
        trigger_id=workspace.new_trigger(user),
        ephemeral=True,
        block_id=block_id,
    )


def view_action(
    workspace: Workspace, user: str, *, view_id: str, where: Json, chosen: Chosen, typed: Typed
) -> SlackRequest:
    """A click or choice inside a modal or App Home; the view comes with its current state."""
    view = _view_with_state(workspace, view_id, typed)
    block_id, action = _action(view.get("blocks") or [], where, chosen)
    return block_actions(
        [action], user=user, view=view, trigger_id=workspace.new_trigger(user), block_id=block_id
    )


def submission(workspace: Workspace, user: str, view_id: str, typed: Typed) -> SlackRequest:
    return view_submission(_view_with_state(workspace, view_id, typed), user=user)


def view_close(workspace: Workspace, user: str, view_id: str, typed: Typed) -> SlackRequest | None:
    """Cancel or X: Slack tells the app only when the view asked (notify_on_close)."""
    view = _view_with_state(workspace, view_id, typed)
    return view_closed(view, user=user) if view.get("notify_on_close") else None


def app_home_opened(workspace: Workspace, user: str) -> SlackRequest:
    event: Json = {"type": "app_home_opened", "user": user}
    event |= {"channel": workspace.dm_channel(user), "tab": "home"}
    home = workspace.home(user)
    if home is not None:
        event["view"] = home
    return event_callback(event | {"event_ts": f"{time.time():.6f}"})


def post(url: str, request: SlackRequest, secret: str) -> Ack:
    """POST ``request`` to the bot, signed with ``secret`` as Slack signs it."""
    sent = urllib.request.Request(  # noqa: S310  (url is the bot's own http://127.0.0.1 address)
        url, data=request.body, headers=request.headers(secret), method="POST"
    )
    try:
        with urllib.request.urlopen(sent, timeout=BOT_TIMEOUT_SECONDS) as answer:  # noqa: S310
            return Ack(answer.status, answer.read().decode())
    except urllib.error.HTTPError as error:
        return Ack(error.code, error.read().decode(errors="replace"))


# ----- elements and state ----------------------------------------------------------------------


def _view_with_state(workspace: Workspace, view_id: str, typed: Typed) -> Json:
    view = workspace.standin.view(view_id)
    if view is None:
        raise PlaygroundError(f"view {view_id} is gone")
    view["state"] = {"values": view_state(view, typed)}
    return view


def _action(blocks: Sequence[Json], where: Json, chosen: Chosen) -> tuple[str, Json]:
    """(block_id, the action Slack sends) for the element at ``where`` = {block, action_id}."""
    try:
        index = int(where["block"])
        block = blocks[index]
    except (KeyError, ValueError, TypeError, IndexError):
        raise PlaygroundError(f"no block at {where.get('block')!r}") from None
    action_id = str(where.get("action_id"))
    for element in _elements(block):
        if element.get("action_id") == action_id:
            block_id = str(block.get("block_id") or f"block-{index}")
            return block_id, _as_action(element, chosen)
    raise PlaygroundError(f"block {index} has no element {action_id!r}")


def _elements(block: Json) -> list[Json]:
    if block.get("type") == "actions":
        return list(block.get("elements") or [])
    if block.get("type") == "section" and block.get("accessory"):
        return [block["accessory"]]
    if block.get("type") == "input" and block.get("element"):
        return [block["element"]]
    return []


def _as_action(element: Json, chosen: Chosen) -> Json:
    """The element as it appears in ``actions``: its type and id, and what was chosen."""
    kind = str(element.get("type"))
    action: Json = {"type": kind, "action_id": element["action_id"]}
    options = {str(option.get("value")): option for option in _options(element)}
    if kind == "button":
        action["text"] = element.get("text")
        if "value" in element:  # Slack echoes neither style nor url (the corpus)
            action["value"] = element["value"]
    elif kind in ("static_select", "overflow", "radio_buttons"):
        if str(chosen) not in options:
            raise PlaygroundError(f"{element['action_id']!r} has no option {chosen!r}")
        action["selected_option"] = options[str(chosen)]
        if "placeholder" in element:
            action["placeholder"] = element["placeholder"]
    elif kind in ("checkboxes", "multi_static_select"):
        values = [chosen] if isinstance(chosen, str) else list(chosen or [])
        action["selected_options"] = [options[value] for value in values if value in options]
    else:  # plain_text_input, number_input (dispatch_action)
        action["value"] = chosen
    return action


def _options(element: Json) -> list[Json]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options += group.get("options") or []
    return options
