"""The whole app over real HTTP, built with chosen settings and a retrying Slack client.

The same stack as ``tests/app/conftest.py`` (signed requests in, the Kubernetes stand-in with
the simulated operator, the Slack stand-in), with two differences these tests need: settings
can be overridden (policy lists, limits), and the Web client has the production retry
handlers (``bot.slack_client.retry_handlers``) so 429s and 5xx are retried as in production.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
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
from bot.slack_client import retry_handlers

__all__ = ["build_stack"]


@contextmanager
def build_stack(
    tmp_path: Path,
    *,
    health: Health | None = None,
    submit_budget_seconds: float = 2.0,
    **overrides: Any,
) -> Iterator[Stack]:
    """A running stack; ``overrides`` are settings fields (e.g. ``max_gpus_per_user=2``)."""
    settings = load_settings(
        **{
            "namespaces": list(NAMESPACES),
            "default_namespace": "team-a",
            "slack_api_url": "http://127.0.0.1:1/api/",
            "sim_ready_after": 0.3,
            "k8s_connect_timeout": 0.5,
            "k8s_read_timeout": 1.0,
            **overrides,
        }
    )
    with (
        StandIn(crd_path=default_crd_path(), seed_namespaces=NAMESPACES) as k8s,
        SlackStandIn() as slack,
    ):
        operator = SimOperator(k8s.store, ready_after=0.3, tick=0.02)
        operator.start()
        cluster = Cluster(k8s.write_kubeconfig(tmp_path / "kubeconfig"), settings=settings)
        catalog = load_catalog()
        context = AppContext(
            settings=settings,
            catalog=catalog,
            service=DeploymentService(cluster=cluster, catalog=catalog, settings=settings),
            submit_budget_seconds=submit_budget_seconds,
        )
        client = WebClient(
            token=slack.token, base_url=slack.url, timeout=5, retry_handlers=retry_handlers()
        )
        app = build_bolt_app(context, client=client, signing_secret=SECRET, socket_mode=False)
        wsgi = build_wsgi_app(
            health=health or Health(lambda: True), bolt_app=app, signing_secret=SECRET
        )
        server = serve_http(wsgi, host="127.0.0.1", port=0, threads=8)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            yield Stack(settings, k8s, operator, slack, cluster, context, server)
        finally:
            server.close()
            thread.join(timeout=10)
            # Listeners still running would talk to stand-ins that are about to close and log
            # errors into whichever test runs next.
            app.listener_runner.listener_executor.shutdown(wait=True)
            context.executor.shutdown(wait=True, cancel_futures=True)
            operator.stop()
            cluster.close()
