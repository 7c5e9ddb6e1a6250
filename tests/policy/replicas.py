"""Two (or more) replicas of the app behind one Service: separate processes in production,
here separate app instances (own AppContext, DeploymentService, Cluster client, HTTP server)
over one Kubernetes stand-in (with its simulated operator) and one Slack stand-in.

Each replica is a :class:`app.conftest.Stack`, so a test drives each one as Slack would; they
share ``k8s``, ``operator`` and ``slack``, which is what replicas of one app share.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from app.conftest import NAMESPACES, SECRET, Stack
from slack_sdk import WebClient

from bot.app import AppContext, build_bolt_app
from bot.catalog import load_catalog
from bot.cluster import Cluster
from bot.health import Health
from bot.server import build_wsgi_app, serve_http
from bot.service import DeploymentService
from bot.settings import load_settings
from bot.sim.operator import SimOperator
from bot.sim.slack_api import SlackStandIn
from bot.sim.standin import StandIn, default_crd_path

__all__ = ["replicas"]


@contextmanager
def replicas(tmp_path: Path, count: int = 2, **overrides: Any) -> Iterator[list[Stack]]:
    """``count`` running replicas over shared stand-ins; ``overrides`` are settings fields."""
    settings = load_settings(
        **{
            "namespaces": list(NAMESPACES),
            "default_namespace": "team-a",
            "slack_api_url": "http://127.0.0.1:1/api/",
            "sim_ready_after": 0.3,
            **overrides,
        }
    )
    with (
        StandIn(crd_path=default_crd_path(), seed_namespaces=NAMESPACES) as k8s,
        SlackStandIn() as slack,
    ):
        operator = SimOperator(k8s.store, ready_after=0.3, tick=0.02)
        operator.start()
        kubeconfig = k8s.write_kubeconfig(tmp_path / "kubeconfig")
        try:
            with ExitStack() as running:
                stacks = [
                    running.enter_context(_replica(settings, k8s, operator, slack, kubeconfig))
                    for _ in range(count)
                ]
                yield stacks
        finally:
            operator.stop()
        assert slack.violations() == [], "the app sent Block Kit over Slack's limits"


@contextmanager
def _replica(
    settings: Any, k8s: StandIn, operator: SimOperator, slack: SlackStandIn, kubeconfig: Path
) -> Iterator[Stack]:
    cluster = Cluster(kubeconfig, settings=settings)
    catalog = load_catalog()
    context = AppContext(
        settings=settings,
        catalog=catalog,
        service=DeploymentService(cluster=cluster, catalog=catalog, settings=settings),
    )
    client = WebClient(token=slack.token, base_url=slack.url)
    app = build_bolt_app(context, client=client, signing_secret=SECRET, socket_mode=False)
    wsgi = build_wsgi_app(health=Health(lambda: True), bolt_app=app, signing_secret=SECRET)
    server = serve_http(wsgi, host="127.0.0.1", port=0, threads=8)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield Stack(settings, k8s, operator, slack, cluster, context, server)
    finally:
        server.close()
        thread.join(timeout=10)
        app.listener_runner.listener_executor.shutdown(wait=True)
        context.executor.shutdown(wait=True, cancel_futures=True)
        cluster.close()
