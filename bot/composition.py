"""The composition root: every long-lived part of one Dynamote process, built once.

``dynamote serve`` (bot.serve), the tests' stacks and the benchmarks all build the bot with
:func:`build_dynamote`, and nothing else constructs these parts: the catalog, the one
deployment service (its read pool, reservations and capacity cache), the listeners' context
and pools, the Bolt App, the WSGI apps and the notifier service. Building does no network
I/O; :meth:`Dynamote.start` starts the background work and :meth:`Dynamote.close` stops
everything, last built first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from slack_bolt import App
from slack_sdk import WebClient

from bot.cluster import Cluster
from bot.config.settings import Settings
from bot.deployment_service import DeploymentService
from bot.domain.catalog import load_catalog
from bot.notifier.service import NotifierService
from bot.server.health import Health
from bot.server.wsgi import DynamoteWsgi, build_wsgi_app
from bot.slack.app import build_bolt_app
from bot.slack.client import make_web_client
from bot.slack.context import AppContext
from bot.slack.home import publish_home
from bot.slack.identity import SlackIdentity
from bot.slack.listeners.guard import warm_groups

__all__ = ["Dynamote", "build_dynamote"]


@dataclass
class Dynamote:
    """One process's bot: what :func:`build_dynamote` made, and who closes it."""

    settings: Settings
    cluster: Cluster
    web_client: WebClient
    identity: SlackIdentity
    health: Health
    service: DeploymentService
    context: AppContext
    bolt_app: App
    # None where the caller runs no notifier (the tests' app-only stacks, the ack benchmarks).
    notifier: NotifierService | None
    socket_mode: bool
    _closers: list[Callable[[], None]] = field(default_factory=list)

    def events_app(self, *, health_routes: bool = True) -> DynamoteWsgi:
        """The WSGI app for Slack's requests: POST /slack/events in HTTP mode (none in Socket
        Mode), and with ``health_routes`` /healthz, /readyz and /metrics too."""
        secret = self.settings.slack_signing_secret
        signing_secret = None if self.socket_mode or secret is None else secret.get_secret_value()
        return build_wsgi_app(
            health=self.health,
            bolt_app=None if self.socket_mode else self.bolt_app,
            signing_secret=signing_secret or None,
            health_routes=health_routes,
        )

    def health_app(self) -> DynamoteWsgi:
        """The WSGI app of a separate health port: /healthz, /readyz and /metrics only."""
        return build_wsgi_app(health=self.health)

    def start(self) -> None:
        """Start the background work: the user-group and capacity caches fill, the notifier
        runs. Nothing here waits on Slack or the cluster."""
        warm_groups(self.context, self.web_client)
        self.service.capacity.prewarm()  # the first /dynamote models already knows the fit
        if self.notifier is not None:
            self.notifier.start()
            self._closers.append(self.notifier.stop)

    def close(self) -> None:
        """Stop the notifier, then shut every pool down, last built first."""
        while self._closers:
            self._closers.pop()()


def build_dynamote(
    settings: Settings,
    cluster: Cluster,
    *,
    web_client: WebClient | None = None,
    socket_mode: bool = False,
    health: Health | None = None,
    notifier: bool = True,
    submit_budget_seconds: float = 2.0,
) -> Dynamote:
    """Every part, from the settings and a cluster the caller owns.

    ``web_client``: the Slack Web API client (default: the production one, with the retry
    handlers, for ``SLACK_API_URL``). ``health``: readiness (default: the cluster's
    reachability, and Slack once the runner records auth.test). ``notifier``: False builds
    the App alone.
    """
    client = web_client or make_web_client(settings)
    identity = SlackIdentity(client.token or "")
    catalog = load_catalog(settings.catalog)
    service = DeploymentService(cluster=cluster, catalog=catalog, settings=settings)
    closers: list[Callable[[], None]] = [service.close]
    notifier_service = None
    if notifier:
        notifier_service = NotifierService(
            settings,
            cluster,
            client,
            publish_home=lambda user: publish_home(
                client, service, user_id=user, workspace_url=identity.workspace_url
            ),
        )
    context = AppContext(
        settings=settings,
        catalog=catalog,
        service=service,
        submit_budget_seconds=submit_budget_seconds,
        home_opened=notifier_service.note_home_opened if notifier_service else None,
        identity=identity,
    )
    closers.append(context.close)
    secret = settings.slack_signing_secret
    bolt_app = build_bolt_app(
        context,
        client=client,
        signing_secret=secret.get_secret_value() if secret else None,
        socket_mode=socket_mode,
        identity=identity,
    )
    return Dynamote(
        settings=settings,
        cluster=cluster,
        web_client=client,
        identity=identity,
        health=health or Health(lambda: cluster.cluster_status().reachable),
        service=service,
        context=context,
        bolt_app=bolt_app,
        notifier=notifier_service,
        socket_mode=socket_mode,
        _closers=closers,
    )
