"""Fixtures for the notifier tests: the Kubernetes stand-in, the simulated operator in simulated
time, the Slack stand-in (failing the test on any Block Kit violation), and helpers to deploy.

Time is controlled: the operator's clock is a :class:`FakeClock` the test advances, sweeps are
called directly, and the pacer sleeps in simulated time, so nothing waits longer than needed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.cluster import Cluster
from bot.config.settings import Settings, load_settings
from bot.domain.catalog import load_catalog
from bot.domain.expiry import ANNOTATION_EXPIRES_AT, format_expires_at
from bot.domain.manifest import SlackOrigin, render_dgd
from bot.domain.request import Privileges, RequestLimits, parse_request
from bot.notifier.controller import Notifier
from bot.notifier.pacer import Pacer
from bot.sim.k8s.standin import StandIn
from bot.sim.operator.controller import SimOperator
from bot.sim.slack.web_api import SlackStandIn
from tests.signing import PROVENANCE_KEY, signed

NAMESPACE = "default"
CHANNEL = "C0DEPLOYS"
REQUESTER = "U0ALICE"
IMAGE = "nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.4.0"
READY_AFTER = 10.0  # simulated seconds

# The ``deploy`` fixture: create a DGD with its card posted; returns (the DGD, the card's ts).
Deploy = Callable[..., tuple[dict[str, Any], str]]


class FakeClock:
    """A monotonic clock that moves only when told; ``sleep`` advances it."""

    def __init__(self) -> None:
        self.value = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.value

    def advance(self, seconds: float) -> None:
        self.value += seconds

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.value += seconds


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "k8s_connect_timeout": 1.0,
        "k8s_read_timeout": 2.0,
        "api_version": "auto",
        "default_namespace": NAMESPACE,
        "namespaces": [NAMESPACE],
        "sweep_interval": 10.0,
        "pending_timeout": 600.0,
        "slack_channel_interval": 1.0,
        "provenance_key": PROVENANCE_KEY,
    }
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture
def standin(version: str) -> Iterator[StandIn]:
    with StandIn(dgd_versions=(version,)) as server:
        yield server


@pytest.fixture
def cluster_settings() -> Callable[..., Settings]:
    return make_settings


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def operator(standin: StandIn, clock: FakeClock) -> Iterator[SimOperator]:
    """The simulated operator, not started: tests call reconcile_once() between sweeps."""
    sim = SimOperator(standin.store, ready_after=READY_AFTER, clock=clock)
    yield sim
    sim.stop()


@pytest.fixture
def web_client(slack: SlackStandIn) -> WebClient:
    return WebClient(token=slack.token, base_url=slack.url, retry_handlers=[])


@dataclass
class Bot:
    """Builds notifiers the way a (re)started bot would, sharing the simulated clock."""

    cluster: Cluster
    client: WebClient
    clock: FakeClock
    settings: Settings
    offset: timedelta = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def notifier(self, **kwargs: Any) -> Notifier:
        pacer = Pacer(
            self.settings.slack_channel_interval, clock=self.clock, sleep=self.clock.sleep
        )
        kwargs.setdefault("pacer", pacer)
        kwargs.setdefault("now", self.now)
        return Notifier(self.cluster, self.client, self.settings, **kwargs)

    def annotate(self, name: str, annotations: dict[str, str]) -> None:
        """Change a DGD's annotations as ``kubectl annotate --overwrite`` does (as read)."""
        current = self.cluster.get_dgd(NAMESPACE, name)
        self.cluster.patch_dgd_annotations(
            NAMESPACE, name, annotations, resource_version=current["metadata"]["resourceVersion"]
        )

    def expire_in(self, name: str, delta: timedelta) -> str:
        """Set a DGD's expires-at ``delta`` from the bot's now, by hand; returns the value."""
        value = format_expires_at(self.now() + delta)
        self.annotate(name, {ANNOTATION_EXPIRES_AT: value})
        return value


@pytest.fixture
def bot(cluster: Cluster, web_client: WebClient, clock: FakeClock) -> Bot:
    return Bot(cluster, web_client, clock, make_settings())


def manifest(
    version: str,
    name: str,
    *,
    model: str = "Qwen/Qwen3-0.6B",
    gpus: int = 1,
    image: str = IMAGE,
    secret: str = "hf-token-secret",
    channel: str | None = CHANNEL,
    thread_ts: str | None = None,
    requester: str = REQUESTER,
) -> dict[str, Any]:
    """A DGD as the deploy modal creates it (signed), in the API version under test."""
    request = parse_request(
        {
            "model": model,
            "name": name,
            "namespace": NAMESPACE,
            "engine": "vllm",
            "gpus": gpus,
            "hfTokenSecret": secret,
        },
        catalog=load_catalog(),
        limits=RequestLimits(max_gpus_per_worker=64) if gpus > 8 else None,
        privileges=Privileges(hf_secrets=(secret,)),  # allowed, though maybe missing
    )
    origin = SlackOrigin(user=requester, channel=channel, thread_ts=thread_ts)
    rendered = render_dgd(
        request,
        image=image,
        api_version=f"nvidia.com/{version}",
        origin=origin,  # type: ignore[arg-type]
    )
    return signed(rendered, make_settings())


@pytest.fixture
def deploy(cluster: Cluster, slack: SlackStandIn, version: str) -> Deploy:
    """Create a DGD with its status card already posted, as the deploy modal does."""

    def create(name: str, **kwargs: Any) -> tuple[dict[str, Any], str]:
        channel = kwargs.get("channel", CHANNEL)
        card_ts = slack.add_message(channel, text=f"{name} card") if channel else None
        dgd = cluster.create_dgd(manifest(version, name, thread_ts=card_ts, **kwargs))
        return dgd, card_ts or ""

    return create


def run_to_running(operator: SimOperator, clock: FakeClock) -> None:
    """The operator's reconciles that take the DGDs deployed so far to Running: their pods
    made, then ready once :data:`READY_AFTER` simulated seconds have passed."""
    operator.reconcile_once()
    clock.advance(READY_AFTER)
    operator.reconcile_once()


def replies(slack: SlackStandIn, thread_ts: str | None = None) -> list[dict[str, Any]]:
    """Thread replies Slack accepted (optionally under one card)."""
    return [
        call.params
        for call in slack.calls("chat.postMessage")
        if call.ok
        and call.params.get("thread_ts")
        and (thread_ts is None or call.params.get("thread_ts") == thread_ts)
    ]


def card_updates(slack: SlackStandIn, ts: str) -> list[dict[str, Any]]:
    return [
        call.params for call in slack.calls("chat.update") if call.ok and call.params["ts"] == ts
    ]
