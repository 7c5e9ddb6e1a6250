"""The whole Slack app over real HTTP: requests signed as Slack sends them reach the real
server (waitress + Bolt), the listeners talk to the Kubernetes stand-in (with the simulated
operator) through the official client, and to the Slack Web API stand-in through slack_sdk.

Every message and view the app sends is checked against Block Kit's limits by the Slack
stand-in; a test fails at teardown if any was over a limit.
"""

from __future__ import annotations

import http.client
import itertools
import json
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.app import AppContext, build_bolt_app
from bot.catalog import load_catalog
from bot.cluster import Cluster
from bot.health import Health
from bot.server import HttpServer, build_wsgi_app, serve_http
from bot.service import DeploymentService
from bot.settings import Settings, load_settings
from bot.sim.operator import SimOperator
from bot.sim.slack_api import RecordedCall, SlackStandIn
from bot.sim.slack_requests import (
    SlackRequest,
    block_actions,
    event_callback,
    slash_command,
    view_state,
    view_submission,
)
from bot.sim.standin import StandIn, default_crd_path

SECRET = "app-tests-signing-secret"  # made up for these tests
NAMESPACES = ("team-a", "team-b")
_RESPONSE_NAMES = itertools.count(1)


@dataclass
class Stack:
    """A running app and everything behind it, with helpers that act as Slack would."""

    settings: Settings
    k8s: StandIn
    operator: SimOperator
    slack: SlackStandIn
    cluster: Cluster
    context: AppContext
    server: HttpServer
    responses: dict[str, str] = field(default_factory=dict)

    # --- sending ---------------------------------------------------------------------------

    def post(self, request: SlackRequest) -> tuple[int, bytes, float]:
        """POST to /slack/events; returns status, body and how long the answer took."""
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=15)
        started = time.perf_counter()
        try:
            connection.request(
                "POST", "/slack/events", body=request.body, headers=request.headers(SECRET)
            )
            answer = connection.getresponse()
            body = answer.read()
            return answer.status, body, time.perf_counter() - started
        finally:
            connection.close()

    def command(self, text: str, *, user: str = "U0ALICE", channel: str = "C0GENERAL") -> str:
        """Run ``/dynamote text``; asserts the ack came fast; returns its response_url name."""
        name = f"r{next(_RESPONSE_NAMES)}"
        status, _, took = self.post(
            slash_command(
                text, user=user, channel=channel, response_url=self.slack.response_url(name)
            )
        )
        assert status == 200 and took < 3.0, (status, took)
        return name

    def click(
        self,
        action_id: str,
        value: str | None = None,
        *,
        user: str = "U0ALICE",
        view: Mapping[str, Any] | None = None,
        selected: Mapping[str, Any] | None = None,
    ) -> str:
        """Click a button (or pick an option) in a message or, with ``view``, in a modal."""
        name = f"r{next(_RESPONSE_NAMES)}"
        action: dict[str, Any] = {"action_id": action_id, "type": "button"}
        if value is not None:
            action["value"] = value
        if selected is not None:
            action.update(type="static_select", selected_option=dict(selected))
        status, _, took = self.post(
            block_actions(
                [action],
                user=user,
                view=view,
                channel=None if view is not None else "C0GENERAL",
                response_url=None if view is not None else self.slack.response_url(name),
                container={"type": "view"} if view is not None else None,
            )
        )
        assert status == 200 and took < 3.0, (status, took)
        return name

    def submit(
        self,
        view: Mapping[str, Any],
        typed: Mapping[str, Any] | None = None,
        *,
        user: str = "U0ALICE",
    ) -> tuple[dict[str, Any], float]:
        """Submit a modal with what the person typed; returns the ack body and its time."""
        submitted = dict(view)
        submitted["state"] = {"values": view_state(view, typed)}
        status, body, took = self.post(view_submission(submitted, user=user))
        assert status == 200, (status, body)
        return (json.loads(body) if body else {}), took

    def event(self, event: Mapping[str, Any]) -> None:
        status, _, _ = self.post(event_callback(event))
        assert status == 200

    # --- reading what Slack received -------------------------------------------------------

    def replies(self, name: str, count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        """What the app posted to response_url ``name``."""
        deadline = time.monotonic() + timeout
        while True:
            found = [
                c.params for c in self.slack.calls("response_url") if c.path.endswith(f"/{name}")
            ]
            if len(found) >= count or time.monotonic() > deadline:
                assert len(found) >= count, f"no reply on {name}; calls: {self.slack.calls()}"
                return found
            time.sleep(0.02)

    def opened_view(self, number: int = 1) -> dict[str, Any]:
        """The ``number``-th view opened, as Slack now holds it (after any updates)."""
        opened = self.slack.wait_for("views.open", count=number)
        view_id = str(opened[number - 1].response["view"]["id"])
        view = self.slack.view(view_id)
        assert view is not None
        return view

    def wait_for_dgd(self, namespace: str, name: str, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.k8s.store.get("dynamographdeployments", namespace, name)
            if found is not None:
                return found
            time.sleep(0.02)
        raise AssertionError(f"DGD {namespace}/{name} was never created")


def text_of(payload: Any) -> str:
    """All text in a message or view payload, for assertions on what people read."""
    parts: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "text" and isinstance(item, str):
                    parts.append(item)
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str) and value.startswith("[{"):
            walk(json.loads(value))

    walk(payload)
    return "\n".join(parts)


def calls_after(calls: list[RecordedCall], method: str) -> list[RecordedCall]:
    return [c for c in calls if c.method == method]


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    settings = load_settings(
        namespaces=list(NAMESPACES),
        default_namespace="team-a",
        slack_api_url="http://127.0.0.1:1/api/",  # replaced by the stand-in's client below
        sim_ready_after=0.3,
    )
    with (
        StandIn(crd_path=default_crd_path(), seed_namespaces=NAMESPACES) as k8s,
        SlackStandIn() as slack,
    ):
        operator = SimOperator(k8s.store, ready_after=0.3, tick=0.02)
        operator.start()
        kubeconfig = k8s.write_kubeconfig(tmp_path / "kubeconfig")
        cluster = Cluster(kubeconfig, settings=settings)
        catalog = load_catalog()
        context = AppContext(
            settings=settings,
            catalog=catalog,
            service=DeploymentService(cluster=cluster, catalog=catalog, settings=settings),
        )
        client = WebClient(token=slack.token, base_url=slack.url)
        app = build_bolt_app(context, client=client, signing_secret=SECRET, socket_mode=False)
        health = Health(lambda: True)
        wsgi = build_wsgi_app(health=health, bolt_app=app, signing_secret=SECRET)
        server = serve_http(wsgi, host="127.0.0.1", port=0, threads=8)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            yield Stack(settings, k8s, operator, slack, cluster, context, server)
        finally:
            server.close()
            thread.join(timeout=10)
            # Listeners still running would otherwise log into the next test.
            app.listener_runner.listener_executor.shutdown(wait=True)
            context.executor.shutdown(wait=True, cancel_futures=True)
            operator.stop()
            cluster.close()
        assert slack.violations() == [], "the app sent Block Kit over Slack's limits"
