"""Every metric of bot/ops/metrics.py moves when the thing it counts happens, driven through the
real code paths against the stand-ins (the counters are process-wide: tests compare deltas)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_sdk import WebClient

from bot.blocks.common import Message
from bot.cluster import Cluster, Forbidden, NotFound, Unreachable
from bot.config.settings import Settings, load_settings
from bot.domain.catalog import load_catalog
from bot.domain.manifest import SlackOrigin, render_dgd
from bot.domain.request import parse_request
from bot.notifier.controller import Notifier
from bot.notifier.pacer import Pacer
from bot.notifier.sender import Sender, SendError
from bot.sim.k8s.standin import StandIn
from bot.sim.operator.controller import SimOperator
from bot.sim.slack.web_api import SlackStandIn
from bot.slack.announce import post_card
from bot.slack.client import retry_handlers
from tests.metric_samples import sample_value
from tests.paths import PROJECT
from tests.signing import PROVENANCE_KEY, signed

NAMESPACE = "default"
CHANNEL = "C0METRICS"
SLACK_ERRORS = "dynamote_slack_api_errors_total"
COUNTERS_AND_HISTOGRAMS = re.compile(r"^([A-Z_]+) = (Counter|Histogram)\(", re.M)


def settings() -> Settings:
    return load_settings(
        default_namespace=NAMESPACE,
        namespaces=[NAMESPACE],
        k8s_connect_timeout=1.0,
        k8s_read_timeout=2.0,
        slack_channel_interval=0.0,
        provenance_key=PROVENANCE_KEY,
    )


@pytest.fixture
def standin() -> Iterator[StandIn]:
    with StandIn() as server:
        yield server


@pytest.fixture
def cluster(standin: StandIn, tmp_path: Path) -> Iterator[Cluster]:
    with Cluster(standin.write_kubeconfig(tmp_path / "kubeconfig"), settings=settings()) as made:
        yield made


@pytest.fixture
def client(slack: SlackStandIn) -> WebClient:
    # The client counts Slack failures (bot.slack.client); no retries, to keep tests quick.
    return WebClient(
        token=slack.token, base_url=slack.url, retry_handlers=retry_handlers(retries=False)
    )


def value(name: str, **labels: str) -> float:
    return sample_value(name, labels)


def test_every_metric_defined_is_incremented_or_observed_somewhere_in_the_bot() -> None:
    names = COUNTERS_AND_HISTOGRAMS.findall((PROJECT / "bot" / "ops" / "metrics.py").read_text())
    sources = "\n".join(
        path.read_text() for path in (PROJECT / "bot").rglob("*.py") if path.name != "metrics.py"
    )

    unused = [
        name
        for name, _ in names
        if not re.search(rf"\b{name}\b(\.labels\(.*\))?\.(inc|observe|time)\(", sources)
    ]
    assert len(names) >= 10
    assert unused == []


def test_a_forbidden_kubernetes_call_counts_a_forbidden_error(
    standin: StandIn, cluster: Cluster
) -> None:
    standin.faults.forbid("list", "pods", NAMESPACE)
    before = value("dynamote_kubernetes_api_errors_total", kind="Forbidden")

    with pytest.raises(Forbidden):
        cluster.list_pods([NAMESPACE], "a=b")

    assert value("dynamote_kubernetes_api_errors_total", kind="Forbidden") == before + 1


def test_an_unreachable_api_server_counts_an_unreachable_error(
    standin: StandIn, cluster: Cluster
) -> None:
    standin.faults.refuse_connections()
    before = value("dynamote_kubernetes_api_errors_total", kind="Unreachable")

    with pytest.raises(Unreachable):
        cluster.list_pods([NAMESPACE], "a=b")

    assert value("dynamote_kubernetes_api_errors_total", kind="Unreachable") == before + 1


def test_a_missing_object_counts_a_not_found_error_once(cluster: Cluster) -> None:
    cluster.dgd_api_version()  # discovery first, so only the get below can fail
    before = value("dynamote_kubernetes_api_errors_total", kind="NotFound")

    with pytest.raises(NotFound):
        cluster.get_dgd(NAMESPACE, "nothing-here")

    assert value("dynamote_kubernetes_api_errors_total", kind="NotFound") == before + 1


def test_a_card_that_falls_back_to_dm_counts_the_slack_error(
    slack: SlackStandIn, client: WebClient
) -> None:
    slack.fail("chat.postMessage", "not_in_channel", channel=CHANNEL)
    before = value(SLACK_ERRORS, method="chat.postMessage", kind="not_in_channel")

    channel, _ = post_card(client, {"text": "qwen is pending"}, channel=CHANNEL, user="U0ALICE")

    assert channel.startswith("D")  # delivered by DM
    assert value(SLACK_ERRORS, method="chat.postMessage", kind="not_in_channel") == before + 1


def test_a_notifier_send_slack_refuses_counts_the_slack_error(
    slack: SlackStandIn, client: WebClient
) -> None:
    slack.fail("chat.update", "message_not_found")
    sender = Sender(client, Pacer(0.0))
    before = value(SLACK_ERRORS, method="chat.update", kind="message_not_found")

    with pytest.raises(SendError):
        sender.update(CHANNEL, "1.000100", Message(text="qwen is running", blocks=[]))

    assert value(SLACK_ERRORS, method="chat.update", kind="message_not_found") == before + 1


def test_sweeps_record_their_duration_api_calls_and_notifications_sent(
    standin: StandIn, cluster: Cluster, slack: SlackStandIn, client: WebClient
) -> None:
    operator = SimOperator(standin.store, ready_after=0.0)
    card = slack.add_message(CHANNEL, text="qwen card")
    cluster.create_dgd(_dgd(cluster, thread_ts=card))
    notifier = Notifier(cluster, client, settings(), pacer=Pacer(0.0))
    sweeps = value("dynamote_sweep_duration_seconds_count")
    k8s_calls = value("dynamote_sweep_api_calls_total", api="kubernetes")
    slack_calls = value("dynamote_sweep_api_calls_total", api="slack")
    sent = value("dynamote_notifications_sent_total")

    notifier.sweep()
    operator.reconcile_once()
    notifier.sweep()

    assert value("dynamote_sweep_duration_seconds_count") == sweeps + 2
    assert value("dynamote_sweep_api_calls_total", api="kubernetes") > k8s_calls
    assert value("dynamote_sweep_api_calls_total", api="slack") > slack_calls
    replies = [c for c in slack.calls("chat.postMessage") if c.ok and c.params.get("thread_ts")]
    assert replies
    assert value("dynamote_notifications_sent_total") == sent + len(replies)


def _dgd(cluster: Cluster, *, thread_ts: str) -> dict[str, object]:
    request = parse_request(
        {"model": "Qwen/Qwen3-0.6B", "name": "qwen", "namespace": NAMESPACE, "engine": "vllm"},
        catalog=load_catalog(),
    )
    rendered = render_dgd(
        request,
        image="nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.4.0",
        api_version=cluster.dgd_api_version(),
        origin=SlackOrigin(user="U0ALICE", channel=CHANNEL, thread_ts=thread_ts),  # type: ignore[arg-type]
    )
    return signed(rendered, settings())
