"""What every listener shares: settings, catalog, the service, the group directory, the pools.

Listeners get it from ``context["dynamote"]`` (set by one global middleware in bot.slack.app), so
the handlers stay plain module-level functions that tests import directly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.config.settings import Settings
from bot.deployment_service import DeploymentService
from bot.domain.catalog import Catalog
from bot.slack.answering import after_response
from bot.slack.compute_slots import ComputeSlots
from bot.slack.identity import SlackIdentity
from bot.slack.user_groups import GroupDirectory

__all__ = ["CONTEXT_KEY", "AppContext"]

CONTEXT_KEY = "dynamote"
log = logging.getLogger(__name__)


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
    # do not count (see bot.slack.compute_slots).
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
    # The policy's user-group cache, one per app, made from the settings.
    groups: GroupDirectory = field(init=False)

    def __post_init__(self) -> None:
        self.groups = GroupDirectory(ttl=self.settings.group_cache_seconds)

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
