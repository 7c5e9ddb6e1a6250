"""GET /healthz, /readyz and /metrics, unknown paths and wrong methods, over real HTTP."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.ops import metrics

from .conftest import Served


@pytest.fixture
def plain(serve: Callable[..., Served]) -> Served:
    """Socket Mode's server: no /slack/events, the rest the same."""
    return serve()


def test_healthz_answers_ok_while_the_process_is_up(plain: Served) -> None:
    plain.probe.reachable = False  # liveness does not depend on the cluster or Slack

    status, headers, body = plain.request("GET", "/healthz")

    assert (status, body) == (200, b"ok\n")
    assert headers["content-type"].startswith("text/plain")


def test_readyz_is_503_until_slack_auth_has_succeeded(plain: Served) -> None:
    status, _, body = plain.request("GET", "/readyz")

    assert status == 503
    assert b"auth.test" in body
    assert plain.probe.calls == 0  # no point asking the cluster yet


def test_readyz_is_503_while_the_cluster_is_unreachable(plain: Served) -> None:
    plain.health.mark_slack_ready()
    plain.probe.reachable = False

    status, _, body = plain.request("GET", "/readyz")

    assert status == 503
    assert b"Kubernetes API server is unreachable" in body


def test_readyz_is_200_when_slack_and_the_cluster_are_fine(plain: Served) -> None:
    plain.health.mark_slack_ready()

    status, _, body = plain.request("GET", "/readyz")

    assert (status, body) == (200, b"ready\n")


def test_readyz_follows_the_cluster_down_and_back_up_after_the_cache_window(
    plain: Served,
) -> None:
    plain.health.mark_slack_ready()
    seen = [plain.request("GET", "/readyz")[0]]

    plain.probe.reachable = False
    seen.append(plain.request("GET", "/readyz")[0])  # still cached: 200
    plain.clock.advance(2.1)
    seen.append(plain.request("GET", "/readyz")[0])
    plain.probe.reachable = True
    plain.clock.advance(2.1)
    seen.append(plain.request("GET", "/readyz")[0])

    assert seen == [200, 200, 503, 200]


def test_readyz_hammering_probes_the_cluster_once_per_cache_window(plain: Served) -> None:
    plain.health.mark_slack_ready()

    for _ in range(20):
        assert plain.request("GET", "/readyz")[0] == 200

    assert plain.probe.calls == 1


def test_metrics_serves_prometheus_text_with_every_dynamote_metric(plain: Served) -> None:
    metrics.COMMANDS.labels(subcommand="list", outcome="ok").inc()

    status, headers, body = plain.request("GET", "/metrics")

    assert status == 200
    assert headers["content-type"].startswith("text/plain; version=")
    text = body.decode()
    for name in (
        "dynamote_commands_total",
        "dynamote_deployments_created_total",
        "dynamote_deployments_deleted_total",
        "dynamote_modal_submissions_total",
        "dynamote_sweep_duration_seconds",
        "dynamote_sweep_api_calls_total",
        "dynamote_slack_api_errors_total",
        "dynamote_kubernetes_api_errors_total",
        "dynamote_notifications_sent_total",
    ):
        assert f"# TYPE {name.removesuffix('_total')}" in text, name
    assert 'dynamote_commands_total{outcome="ok",subcommand="list"}' in text
    assert "python_gc" not in text  # only Dynamote's registry, not the global one


def test_an_unknown_path_is_404(plain: Served) -> None:
    assert plain.request("GET", "/admin")[0] == 404


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_health_and_metrics_only_accept_get(plain: Served, path: str) -> None:
    status, headers, _ = plain.request("POST", path, b"x=1")

    assert status == 405
    assert headers["allow"] == "GET"
