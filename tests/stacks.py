"""The whole Slack app over real HTTP, for tests: signed requests in, the real server (waitress +
Bolt) and listeners, the Kubernetes stand-in (with the simulated operator) behind the official
client, and the Slack Web API stand-in behind slack_sdk.

Two layers, so one app or several replicas of it can be assembled the same way:

- :func:`stand_ins`: the Kubernetes stand-in, the operator and the Slack stand-in, which
  replicas of one app share; it checks at the end that nothing sent to Slack broke a Block Kit
  limit (unless told not to).
- :func:`app_stack`: one app instance over given stand-ins (its own Cluster client,
  AppContext, DeploymentService, Bolt app and HTTP server), driven through :class:`Stack`.

Built from them: the ``stack`` fixture of ``tests/app``; :func:`build_stack`, with the
production retry handlers and short Kubernetes timeouts, for the fault, policy and metrics
tests; and :func:`replicas`, several app instances over one set of stand-ins.

Import this module as ``tests.stacks`` (the project root is on ``sys.path``: the editable
install's ``.pth`` and pytest's ``pythonpath``).
"""

from __future__ import annotations

import functools
import http.client
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pydantic import SecretStr
from slack_bolt import App
from slack_sdk import WebClient

from bot.blocks.ids import ACTION_SHOW_ADVANCED
from bot.cluster import Cluster
from bot.composition import build_dynamote
from bot.config.settings import Settings, load_settings
from bot.domain.manifest import SlackOrigin, render_dgd
from bot.domain.request import parse_request
from bot.server.health import Health
from bot.server.wsgi import HttpServer, serve_http
from bot.sim.k8s.standin import StandIn, default_crd_path
from bot.sim.operator.controller import SimOperator, make_ready
from bot.sim.slack.web_api import SlackStandIn
from bot.slack.bolt_handler import bolt_request
from bot.slack.client import retry_handlers
from bot.slack.context import AppContext
from tests.signing import PROVENANCE_KEY, signed
from tests.slack.payloads import view_ack_problems
from tests.standins.slack_requests import (
    SlackRequest,
    block_actions,
    event_callback,
    slash_command,
    view_state,
    view_submission,
)
from tests.waiting import WAIT_SECONDS, Background, wait_for

__all__ = [
    "NAMESPACES",
    "SECRET",
    "InCluster",
    "Stack",
    "StandIns",
    "app_stack",
    "build_stack",
    "deploy_directly",
    "replicas",
    "stack_maker",
    "stack_settings",
    "stand_ins",
    "text_of",
]

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
    # The app's pool and Bolt's listener pool: what a request sets off after its ack.
    background: Background = field(default_factory=Background)
    # None: requests go over HTTP to ``server`` (the server is part of what is tested);
    # else straight to this App's dispatch, as the server hands them on.
    dispatch_to: App | None = None
    responses: dict[str, str] = field(default_factory=dict)

    def settle(self) -> None:
        """Wait until everything the requests so far set off (replies, creates) has finished,
        so a test can assert on what did not happen."""
        self.background.drain()

    # --- sending ---------------------------------------------------------------------------

    def post(self, request: SlackRequest) -> tuple[int, bytes, float]:
        """POST to /slack/events (or dispatch it); returns status, body and how long the
        answer took."""
        if self.dispatch_to is not None:
            headers: dict[str, str | Sequence[str]] = {
                name.lower(): value for name, value in request.headers(SECRET).items()
            }
            started = time.perf_counter()
            handled = self.dispatch_to.dispatch(bolt_request(request.body.decode(), headers))
            return handled.status, handled.body.encode(), time.perf_counter() - started
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
        kind: str = "static_select",
    ) -> str:
        """Click a button (or pick an option of a ``kind`` menu) in a message or, with
        ``view``, in a modal."""
        name = f"r{next(_RESPONSE_NAMES)}"
        action: dict[str, Any] = {"action_id": action_id, "type": "button"}
        if value is not None:
            action["value"] = value
        if selected is not None:
            action.update(type=kind, selected_option=dict(selected))
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
        ack = json.loads(body) if body else {}
        # The ack is a view or inline errors Slack shows: held to the same limits as any view.
        assert view_ack_problems(ack, submitted) == [], ack
        return ack, took

    def event(self, event: Mapping[str, Any]) -> None:
        status, _, _ = self.post(event_callback(event))
        assert status == 200

    # --- reading what Slack received -------------------------------------------------------

    def replies(
        self, name: str, count: int = 1, timeout: float = WAIT_SECONDS
    ) -> list[dict[str, Any]]:
        """What the app posted to response_url ``name``."""

        def found() -> list[dict[str, Any]] | None:
            calls = self.slack.calls("response_url")
            params = [c.params for c in calls if c.path.endswith(f"/{name}")]
            return params if len(params) >= count else None

        return wait_for(found, timeout, what=f"{count} replies on {name}")

    def opened_view(self, number: int = 1) -> dict[str, Any]:
        """The ``number``-th view opened, as Slack now holds it (after any updates)."""
        opened = self.slack.wait_for("views.open", count=number)
        view_id = str(opened[number - 1].response["view"]["id"])
        view = self.slack.view(view_id)
        assert view is not None
        return view

    def advanced_view(self, number: int = 1, *, user: str = "U0ALICE") -> dict[str, Any]:
        """The ``number``-th deploy modal after ``user`` pressed "Show advanced options"."""
        view = self.opened_view(number)
        submitted = {**view, "state": {"values": view_state(view)}}
        self.click(ACTION_SHOW_ADVANCED, "advanced", view=submitted, user=user)

        def revealed() -> dict[str, Any] | None:
            held = self.slack.view(str(view["id"]))
            shown = held is not None and ACTION_SHOW_ADVANCED not in json.dumps(held["blocks"])
            return held if shown else None

        return wait_for(revealed, what="the advanced options shown")

    def wait_for_dgd(
        self, namespace: str, name: str, timeout: float = WAIT_SECONDS
    ) -> dict[str, Any]:
        return wait_for(
            lambda: self.k8s.store.get("dynamographdeployments", namespace, name),
            timeout,
            what=f"DGD {namespace}/{name} created",
        )


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


class InCluster(Protocol):
    """What :func:`deploy_directly` reads: a :class:`Stack`, or another stack with these."""

    @property
    def k8s(self) -> StandIn: ...

    @property
    def context(self) -> AppContext: ...


def deploy_directly(
    stack: InCluster, name: str, *, user: str = "U0ALICE", ns: str = "team-a"
) -> None:
    """A ready deployment of ``user``'s in the cluster, made without Slack."""
    request = parse_request(
        {"model": "Qwen/Qwen3-0.6B", "name": name, "namespace": ns, "engine": "vllm"},
        catalog=stack.context.catalog,
    )
    manifest = render_dgd(
        request,
        image="nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.4.0",
        origin=SlackOrigin(user, "C0GENERAL"),
    )
    make_ready(stack.k8s.store, signed(manifest, stack.context.settings))


# --- assembling ----------------------------------------------------------------------------


def stack_settings(**overrides: Any) -> Settings:
    """Settings for a test stack; ``overrides`` are settings fields (``max_gpus_per_user=2``).

    The shipped per-person limits are off here, explicitly: with them every create waits for
    the recount (``bot.slack.listeners.deploy_submission.SETTLE_SECONDS``), and a test deploys more
    than 3 times as one person. The limit tests (``tests/policy``) set them; the shipped
    defaults themselves run in ``tests/flows/policy/test_safe_defaults.py``.
    """
    return load_settings(
        **{
            "namespaces": list(NAMESPACES),
            "default_namespace": "team-a",
            "slack_api_url": "http://127.0.0.1:1/api/",  # the Web client uses the stand-in
            "sim_ready_after": 0.3,
            "provenance_key": PROVENANCE_KEY,
            "slack_signing_secret": SECRET,
            "max_gpus_per_user": None,
            "max_deployments_per_user": None,
            **overrides,
        }
    )


@dataclass(frozen=True)
class StandIns:
    """What replicas of one app share: the cluster (and its operator) and Slack."""

    k8s: StandIn
    operator: SimOperator
    slack: SlackStandIn
    kubeconfig: Path


@contextmanager
def stand_ins(tmp_path: Path, *, check_block_kit: bool = True) -> Iterator[StandIns]:
    """The Kubernetes stand-in (seeded with ``NAMESPACES``, the operator running) and the Slack
    stand-in; with ``check_block_kit``, fails at the end if the app sent Block Kit over Slack's
    limits."""
    with (
        StandIn(crd_path=default_crd_path(), seed_namespaces=NAMESPACES) as k8s,
        SlackStandIn() as slack,
    ):
        kubeconfig = k8s.write_kubeconfig(tmp_path / "kubeconfig")
        operator = SimOperator(k8s.store, ready_after=0.3, tick=0.02)
        operator.start()
        try:
            yield StandIns(k8s, operator, slack, kubeconfig)
        finally:
            operator.stop()
        if check_block_kit:
            assert slack.violations() == [], "the app sent Block Kit over Slack's limits"


@contextmanager
def app_stack(
    shared: StandIns,
    settings: Settings,
    *,
    retrying: bool = False,
    health: Health | None = None,
    submit_budget_seconds: float = 2.0,
    over_http: bool = False,
) -> Iterator[Stack]:
    """One running app instance over ``shared``; ``retrying``: the Web client has the
    production retry handlers (``bot.slack.client.retry_handlers``), so 429s and 5xx are
    retried as in production. ``over_http`` False: requests go to the App's dispatch, as
    the HTTP server hands them on, for tests of what the listeners do."""
    slack = shared.slack
    if settings.slack_signing_secret is None:  # Slack signs every request with it
        settings = settings.model_copy(update={"slack_signing_secret": SecretStr(SECRET)})
    _load_kubernetes_client()
    cluster = Cluster(shared.kubeconfig, settings=settings)
    if retrying:
        client = WebClient(
            token=slack.token, base_url=slack.url, timeout=5, retry_handlers=retry_handlers()
        )
    else:
        client = WebClient(token=slack.token, base_url=slack.url)
    dynamote = build_dynamote(
        settings,
        cluster,
        web_client=client,
        health=health or Health(lambda: True),
        notifier=False,
        submit_budget_seconds=submit_budget_seconds,
    )
    context = dynamote.context
    background = Background()
    background.track(context.executor)
    server = serve_http(dynamote.events_app(), host="127.0.0.1", port=0, threads=8)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield Stack(
            settings, shared.k8s, shared.operator, slack, cluster, context, server, background,
            dispatch_to=None if over_http else dynamote.bolt_app,
        )  # fmt: skip
    finally:
        server.close()
        thread.join(timeout=10)
        # Listeners still running would talk to stand-ins that are about to close and log
        # errors into whichever test runs next: closing waits for them.
        dynamote.close()
        cluster.close()


@functools.cache
def _load_kubernetes_client() -> None:
    """Import the API classes of the Kubernetes client once per test process, as the runner's
    start-up probe (``Health.refresh``) does before Slack can reach the bot. They build some
    hundreds of pydantic models on import (1.5 s alone, over 10 s on a loaded machine): without
    this the first cluster call of a process, in whichever test comes first, carries that."""
    from kubernetes import client  # noqa: PLC0415  (bot.cluster imports it lazily too)

    for api in ("CustomObjectsApi", "CoreV1Api", "AuthorizationV1Api", "VersionApi"):
        getattr(client, api)


@contextmanager
def build_stack(
    tmp_path: Path,
    *,
    health: Health | None = None,
    submit_budget_seconds: float = 2.0,
    **overrides: Any,
) -> Iterator[Stack]:
    """A running stack as production would talk to Slack (the retry handlers) and with short
    Kubernetes timeouts, for fault tests; ``overrides`` are settings fields. Block Kit limits
    are left for the test to check (``stack.slack.violations()``)."""
    settings = stack_settings(**{"k8s_connect_timeout": 0.5, "k8s_read_timeout": 1.0, **overrides})
    with (
        stand_ins(tmp_path, check_block_kit=False) as shared,
        app_stack(
            shared,
            settings,
            retrying=True,
            health=health,
            submit_budget_seconds=submit_budget_seconds,
            over_http=True,
        ) as stack,
    ):
        yield stack


@contextmanager
def stack_maker(tmp_path: Path, **defaults: Any) -> Iterator[Callable[..., Stack]]:
    """``make(**settings)`` starts a :func:`build_stack` (``defaults`` then ``settings``); all
    stop when this context ends."""
    with ExitStack() as stacks:

        def make(**settings: Any) -> Stack:
            return stacks.enter_context(build_stack(tmp_path, **{**defaults, **settings}))

        yield make


@contextmanager
def replicas(tmp_path: Path, count: int = 2, **overrides: Any) -> Iterator[list[Stack]]:
    """``count`` replicas of the app behind one Service: separate processes in production, here
    separate app instances (own AppContext, DeploymentService, Cluster client, HTTP server) over
    one set of :func:`stand_ins`, which is what replicas of one app share. Each is a
    :class:`Stack`, so a test drives each one as Slack would; ``overrides`` are settings
    fields."""
    settings = stack_settings(**overrides)
    with stand_ins(tmp_path) as shared, ExitStack() as running:
        yield [
            running.enter_context(app_stack(shared, settings))
            for _ in range(count)
        ]
