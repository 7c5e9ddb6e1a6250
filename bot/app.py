"""Build the Bolt App: the shared context every listener reads, and the listeners.

Listeners get their collaborators from ``context["dynamote"]`` (set by one global
middleware), so the handlers stay plain module-level functions that tests import directly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from slack_bolt import App, BoltContext
from slack_bolt.logger.messages import (
    warning_client_prioritized_and_token_skipped,
    warning_token_skipped,
)
from slack_sdk import WebClient

from bot import listeners
from bot.catalog import Catalog, load_catalog
from bot.compute_slots import ComputeSlots
from bot.server import after_response
from bot.service import DeploymentService
from bot.settings import Settings
from bot.slack_client import counted
from bot.slack_identity import SlackIdentity

if TYPE_CHECKING:
    from bot.runner import AppDeps

__all__ = ["CONTEXT_KEY", "AppContext", "build_app", "build_bolt_app"]

CONTEXT_KEY = "dynamote"
log = logging.getLogger(__name__)


class _TokenFromEnvironment(logging.Filter):
    """Drops Bolt's two warnings that a token will be unused, and nothing else.

    Why a filter: Dynamote never passes ``token``, but Bolt reads SLACK_BOT_TOKEN from the
    environment itself whenever ``token`` is not given, and warns on every start even though
    the client we pass carries that same token; it warns again that the client's token is
    ignored because ``authorize`` is given, while that authorize returns the same token. No
    App argument turns either off.
    """

    _DROPPED = frozenset({warning_client_prioritized_and_token_skipped(), warning_token_skipped()})

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() not in self._DROPPED


def _quiet_token_warning() -> None:
    bolt_app_logger = logging.getLogger("slack_bolt.App")  # Bolt's logger in App.__init__
    if not any(isinstance(f, _TokenFromEnvironment) for f in bolt_app_logger.filters):
        bolt_app_logger.addFilter(_TokenFromEnvironment())


@dataclass
class AppContext:
    """What the listeners share: settings, catalog, the service, the pools for work after acks.

    Listeners run on the thread that answers Slack (``process_before_response``), so each
    one acks and hands the rest to one of these pools; :meth:`close` shuts them down.
    """

    settings: Settings
    catalog: Catalog
    service: DeploymentService
    # Work that must not hold up an ack (cluster calls, card posting) runs here.
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=8, thread_name_prefix="dynamote")
    )
    # Of the work after_ack puts on each pool, one task computes at a time (the interpreter
    # lock runs one anyway; more only make acks wait longer); tasks waiting on the network
    # do not count (see bot.compute_slots).
    compute_slots: ComputeSlots = field(default_factory=lambda: ComputeSlots(1))
    prompt_slots: ComputeSlots = field(default_factory=lambda: ComputeSlots(1))
    # Work that never waits on the cluster and must start at once: views.open and views.push
    # (a trigger_id lives 3 s), modal updates, answers from the catalog. Its own small pool,
    # so it never queues behind cluster calls on ``executor``.
    prompt_executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(
            max_workers=4, thread_name_prefix="dynamote-prompt"
        )
    )
    # How long a modal submission may wait on the cluster before answering "Deploying…".
    submit_budget_seconds: float = 2.0
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    # Told when someone opens App Home, so the notifier keeps their Home fresh.
    home_opened: Callable[[str], None] | None = None
    # Who the bot is in Slack (build_bolt_app sets the App's own when none is given).
    identity: SlackIdentity | None = None

    def workspace_url(self) -> str | None:
        """auth.test's workspace URL, for links to messages; None until it has answered."""
        return self.identity.workspace_url if self.identity is not None else None

    def after_ack(self, work: Callable[[], None], *, doing: str, prompt: bool = False) -> None:
        """Run the work after an ack on our own pool: ``prompt`` for work that never waits
        on the cluster (see ``prompt_executor``), else the pool for cluster-bound work.

        The listener runs on the thread that sends its ack, and the ack leaves only when
        the listener returns, so nothing after ``ack()`` may run there.
        """

        def run() -> None:
            try:
                work()
            except Exception:
                log.exception("Failed to %s", doing)

        def start() -> None:
            if prompt:
                self.prompt_executor.submit(self.prompt_slots.run, run)
            else:
                self.executor.submit(self.compute_slots.run, run)

        after_response(start)  # the pool starts once the ack is written

    def close(self, *, wait: bool = True) -> None:
        """Shut both pools down; work not started yet is dropped."""
        self.compute_slots.close()
        self.prompt_slots.close()
        self.prompt_executor.shutdown(wait=wait, cancel_futures=True)
        self.executor.shutdown(wait=wait, cancel_futures=True)


def build_bolt_app(
    shared: AppContext,
    *,
    client: WebClient,
    signing_secret: str | None,
    socket_mode: bool,
    identity: SlackIdentity | None = None,
) -> App:
    """The App with every listener; ``socket_mode`` turns request signing checks off.

    ``identity`` authorizes each request without calling Slack (bot.slack_identity); the
    runner records its start-up auth.test answer there. Without one, requests are authorized
    from the client's token alone.
    """
    _quiet_token_warning()
    identity = identity or shared.identity or SlackIdentity(client.token or "")
    shared.identity = identity
    app = App(
        client=counted(client),  # Bolt copies its handlers into each listener's client
        signing_secret=signing_secret or "",
        authorize=identity.authorizer(),  # no auth.test before any ack
        request_verification_enabled=not socket_mode,
        # Each listener acks and hands the rest to our pools (AppContext.after_ack), so the
        # ack leaves as the listener returns; with False, Bolt runs the listener on its own
        # pool and polls for the ack every 10 ms.
        process_before_response=True,
        ignoring_self_events_enabled=True,
    )

    def share_context(context: BoltContext, next_: Callable[[], None]) -> None:
        # Listeners then take a parameter named ``dynamote`` (Bolt injects context keys).
        context[CONTEXT_KEY] = shared
        next_()

    app.use(share_context)
    listeners.register(app, command=shared.settings.command)
    return app


def build_app(deps: AppDeps) -> App:
    """The runner's factory: the App for these settings, cluster and Web client."""
    settings = deps.settings
    catalog = load_catalog(settings.catalog)
    service = DeploymentService(cluster=deps.cluster, catalog=catalog, settings=settings)
    socket_mode = settings.slack_app_token is not None and deps.socket_mode
    secret = settings.slack_signing_secret
    shared = AppContext(
        settings=settings, catalog=catalog, service=service, home_opened=deps.home_opened
    )
    app = build_bolt_app(
        shared,
        client=deps.web_client,
        signing_secret=secret.get_secret_value() if secret else None,
        socket_mode=socket_mode,
        identity=deps.identity,
    )
    from bot.listeners.guard import warm_groups  # noqa: PLC0415  (guard imports this module)

    warm_groups(shared, deps.web_client)
    service.capacity.prewarm()  # in the background: the first /dynamote models knows the fit
    deps.closers.append(shared.close)
    return app
