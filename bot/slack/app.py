"""Build the Bolt App: every listener, and the context they share set on each request.

Only the composition root (bot.composition) calls :func:`build_bolt_app`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_bolt import App, BoltContext
from slack_bolt.logger.messages import (
    warning_client_prioritized_and_token_skipped,
    warning_token_skipped,
)
from slack_sdk import WebClient

from bot.slack.client import counted
from bot.slack.context import CONTEXT_KEY, AppContext
from bot.slack.identity import SlackIdentity
from bot.slack.listeners import (
    approvals,
    commands,
    deploy_modal,
    deployments,
    expiry,
    fixit,
    home,
    scale,
    tryit,
)

__all__ = ["build_bolt_app"]


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


def build_bolt_app(
    shared: AppContext,
    *,
    client: WebClient,
    signing_secret: str | None,
    socket_mode: bool,
    identity: SlackIdentity | None = None,
) -> App:
    """The App with every listener; ``socket_mode`` turns request signing checks off.

    ``identity`` authorizes each request without calling Slack (bot.slack.identity); the
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
        # Bolt runs listeners on this pool only when they do not ack on the request thread
        # (lazy listeners; we have none); ours, so the context closes it.
        listener_executor=shared.executor,
    )

    def share_context(context: BoltContext, next_: Callable[[], None]) -> None:
        # Listeners then take a parameter named ``dynamote`` (Bolt injects context keys).
        context[CONTEXT_KEY] = shared
        next_()

    app.use(share_context)
    _register_listeners(app, command=shared.settings.command)
    return app


def _register_listeners(app: App, *, command: str) -> None:
    """Every flow's listeners; each module's ``register`` is called here and nowhere else."""
    commands.register(app, command=command)
    deploy_modal.register(app)
    deployments.register(app)
    expiry.register(app)
    approvals.register(app)
    home.register(app)
    tryit.register(app)
    scale.register(app)
    fixit.register(app)
