"""Every payload of the corpus (``tests/slack/corpus``) through the bot's real paths, twice:
signed and posted to the HTTP server (waitress, the guard, Bolt), and as an envelope over the
Socket Mode stand-in to the client ``bot.serve`` connects. Each test asserts what the person
would see: the reply, the modal, the Home tab, the DGD, the inline errors.

The corpus holds Slack's own shapes, nulls included (``enterprise: null`` outside Grid, ``team:
null`` in org-wide installs, untouched inputs as ``null``/``[]``), and slash commands whose
channel, user, domain or text contain the word "payload".
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.cluster import Cluster
from bot.composition import build_dynamote
from bot.serve import _connect_socket_mode
from bot.sim.k8s.standin import StandIn
from bot.sim.slack.web_api import SlackStandIn
from tests.slack.payloads import all_cases, case, encode, envelope_for, fresh, view_ack_problems
from tests.stacks import StandIns, app_stack, stack_settings, stand_ins, text_of
from tests.standins.slack_socket import SocketModeStandIn
from tests.waiting import WAIT_SECONDS, wait_for

APP_TOKEN = "xapp-1-A0DYNAMOTE-1-corpus"  # made up; the stand-in accepts it once added
ACK_DEADLINE = 3.0  # Slack's
DGDS = "dynamographdeployments"
_PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")


@dataclass(frozen=True)
class Sent:
    """How the bot answered one delivery: HTTP status (200 for a Socket Mode ack), the ack's
    body as JSON ({} when empty), and how long the ack took."""

    status: int
    ack: dict[str, Any]
    took: float


@dataclass
class Side:
    """One way in (HTTP or Socket Mode) to a running bot, and the stand-ins behind it."""

    mode: str
    slack: SlackStandIn
    k8s: StandIn
    send: Callable[[str, dict[str, Any]], Sent]

    def response_url(self, name: str) -> str:
        return self.slack.response_url(f"{self.mode}-{name}")

    def replies(self, name: str, timeout: float = WAIT_SECONDS) -> list[dict[str, Any]]:
        path = f"/{self.mode}-{name}"
        return wait_for(
            lambda: [c.params for c in self.slack.calls("response_url") if c.path.endswith(path)]
            or None,
            timeout,
            what=f"a reply on {name}",
        )

    def opened_with(
        self, method: str, trigger_id: str, timeout: float = WAIT_SECONDS
    ) -> dict[str, Any]:
        """The view the bot opened (or pushed) with ``trigger_id``."""
        return wait_for(
            lambda: next(
                (
                    dict(call.params["view"])
                    for call in self.slack.calls(method)
                    if call.params.get("trigger_id") == trigger_id
                ),
                None,
            ),
            timeout,
            what=f"{method} with {trigger_id}",
        )

    def wait_for_dgd(
        self, namespace: str, name: str, timeout: float = WAIT_SECONDS
    ) -> dict[str, Any]:
        return wait_for(
            lambda: self.k8s.store.get(DGDS, namespace, name),
            timeout,
            what=f"DGD {namespace}/{name} created",
        )


def _http_send(post: Callable[..., tuple[int, bytes, float]]) -> Callable[..., Sent]:
    def send(kind: str, body: dict[str, Any]) -> Sent:
        status, answer, took = post(encode(kind, body))
        return Sent(status, json.loads(answer) if answer.strip() else {}, took)

    return send


@contextmanager
def _http_side(shared: StandIns) -> Iterator[Side]:
    with app_stack(shared, stack_settings(), over_http=True) as stack:
        yield Side("http", shared.slack, shared.k8s, _http_send(stack.post))


@contextmanager
def _socket_side(shared: StandIns) -> Iterator[Side]:
    slack = shared.slack
    slack.add_token(APP_TOKEN)
    settings = stack_settings(
        slack_bot_token=slack.token, slack_app_token=APP_TOKEN, slack_api_url=slack.url
    )
    with (
        pytest.MonkeyPatch.context() as patch,
        SocketModeStandIn(ping_interval=0.2) as socket_mode,
    ):
        for variable in _PROXY_VARIABLES:  # slack_sdk would send the WebSocket through one
            patch.delenv(variable, raising=False)
        slack.serve_socket_mode(socket_mode.connection_url)
        cluster = Cluster(shared.kubeconfig, settings=settings)
        dynamote = build_dynamote(settings, cluster, socket_mode=True, notifier=False)
        app = dynamote.bolt_app
        stop = threading.Event()
        connection = _connect_socket_mode(app, APP_TOKEN, stop)
        assert connection is not None
        socket_mode.wait_connected(1)

        def send(kind: str, body: dict[str, Any]) -> Sent:
            envelope = envelope_for(kind)
            started = time.monotonic()
            envelope_id = socket_mode.post_envelope(
                envelope["type"],
                body,
                accepts_response_payload=envelope["accepts_response_payload"],
            )
            ack = socket_mode.wait_for_ack(envelope_id, timeout=ACK_DEADLINE)
            took = time.monotonic() - started
            assert ack["envelope_id"] == envelope_id
            return Sent(200, dict(ack.get("payload") or {}), took)

        try:
            yield Side("socket", slack, shared.k8s, send)
        finally:
            stop.set()
            connection.close()
            dynamote.close()
            cluster.close()


@pytest.fixture(scope="module", params=["http", "socket"])
def side(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Side]:
    """The bot behind one way in; the stand-ins fail the module if it broke a Block Kit limit."""
    folder: Path = tmp_path_factory.mktemp(f"corpus-{request.param}")
    with stand_ins(folder) as shared:
        opened = _http_side(shared) if request.param == "http" else _socket_side(shared)
        with opened as running:
            yield running


def _send(side: Side, kind: str, name: str) -> tuple[dict[str, Any], Sent]:
    body = fresh(kind, case(kind, name), response_url=side.response_url(f"{kind}-{name}"))
    sent = side.send(kind, body)
    assert sent.status == 200, sent
    assert sent.took < ACK_DEADLINE, sent.took
    return body, sent


# ----- slash commands --------------------------------------------------------------------------


@pytest.mark.parametrize("name", [name for _, name in all_cases("slash_commands")])
def test_every_slash_command_shape_is_answered(side: Side, name: str) -> None:
    body, sent = _send(side, "slash_commands", name)

    assert sent.ack == {}  # acked at once; the answer goes to the response_url
    (reply,) = side.replies(f"slash_commands-{name}")
    assert reply["response_type"] == "ephemeral"
    if body["text"] == "help":
        assert reply["text"] == "How to use /dynamote"
        assert "open_deploy" in json.dumps(reply["blocks"])
    else:  # "models payload": the word reached the command as text
        assert "payload" in reply["text"] and reply["blocks"]


# ----- block_actions ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["channel_message", "org_wide_team_null", "app_home"])
def test_a_deploy_button_opens_the_deploy_modal(side: Side, name: str) -> None:
    body, sent = _send(side, "block_actions", name)

    assert sent.ack == {}
    view = side.opened_with("views.open", body["trigger_id"])
    assert view["callback_id"] == "deploy_modal"
    preselected = body["actions"][0].get("value")
    if preselected:
        (model,) = [b for b in view["blocks"] if str(b.get("block_id", "")).startswith("model.")]
        assert model["element"]["initial_option"]["value"] == preselected


def test_a_click_in_an_ephemeral_message_answers_on_its_response_url(side: Side) -> None:
    _, sent = _send(side, "block_actions", "ephemeral_message")

    assert sent.ack == {}
    (reply,) = side.replies("block_actions-ephemeral_message")
    assert "models" in reply["text"] and "Qwen" in text_of(reply)


def test_a_click_from_enterprise_grid_is_answered(side: Side) -> None:
    _, sent = _send(side, "block_actions", "enterprise_grid")

    assert sent.ack == {}
    (reply,) = side.replies("block_actions-enterprise_grid")
    assert reply["text"].startswith("Your deployments")


def test_preview_inside_the_modal_pushes_the_manifest_from_the_modal_state(side: Side) -> None:
    body, sent = _send(side, "block_actions", "modal")

    assert sent.ack == {}
    pushed = side.opened_with("views.push", body["trigger_id"])
    shown = text_of(pushed)
    assert "qwen3-0-6b" in shown and "DYN_ROUTER_MODE" in shown and "kv" in shown


# ----- view_submission, view_closed ------------------------------------------------------------


def test_the_submitted_deploy_modal_creates_the_dgd(side: Side) -> None:
    submitted = case("view_submission", "deploy_modal")["view"]
    side.slack.add_view(submitted, view_id=submitted["id"])  # Slack holds the open modal

    _, sent = _send(side, "view_submission", "deploy_modal")

    assert sent.ack["response_action"] == "update", sent.ack
    assert view_ack_problems(sent.ack, submitted) == []
    assert "qwen3-0-6b" in text_of(sent.ack["view"])
    dgd = side.wait_for_dgd("team-a", "qwen3-0-6b")
    assert "DYN_ROUTER_MODE" in json.dumps(dgd) and '"kv"' in json.dumps(dgd)
    request = json.loads(dgd["metadata"]["annotations"]["dynamote.dev/request"])
    assert (request["gpus"], request["replicas"]) == (2, 1)  # the size chosen: "2x1"


def test_an_untouched_form_gets_inline_errors_and_creates_nothing(side: Side) -> None:
    submitted = case("view_submission", "every_input_untouched")["view"]
    before = len(side.k8s.store.list(DGDS)[0])

    _, sent = _send(side, "view_submission", "every_input_untouched")

    assert sent.ack["response_action"] == "errors", sent.ack
    assert view_ack_problems(sent.ack, submitted) == []
    assert "model.0" in sent.ack["errors"] and "name.0" in sent.ack["errors"]
    assert len(side.k8s.store.list(DGDS)[0]) == before


def test_a_closed_modal_is_acked_with_nothing_else(side: Side) -> None:
    _, sent = _send(side, "view_closed", "deploy_modal_cancelled")

    assert sent.ack == {}


# ----- events ----------------------------------------------------------------------------------


def _publishes(side: Side) -> list[dict[str, Any]]:
    return [call.params for call in side.slack.calls("views.publish")]


@pytest.mark.parametrize("name", ["first_open", "later_open"])
def test_opening_app_home_publishes_it(side: Side, name: str) -> None:
    before = len(_publishes(side))

    _send(side, "app_home_opened", name)

    published = side.slack.wait_for("views.publish", count=before + 1)[before]
    assert published.params["user_id"] == "U0ALICE"
    assert "Deploy a model" in text_of(published.params["view"])


def test_opening_the_messages_tab_publishes_nothing(side: Side) -> None:
    before = len(_publishes(side))

    _send(side, "app_home_opened", "messages_tab")
    _send(side, "app_home_opened", "first_open")  # a Home open after it: the one publish

    side.slack.wait_for("views.publish", count=before + 1)
    assert len(_publishes(side)) == before + 1


def test_url_verification_is_answered_with_its_challenge(side: Side) -> None:
    if side.mode == "socket":
        pytest.skip("Socket Mode has no Request URL: Slack sends no url_verification over it")
    body, sent = _send(side, "url_verification", "request_url_saved")

    assert sent.ack == {"challenge": body["challenge"]}
