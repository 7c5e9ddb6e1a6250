"""NotifierService: the notifier's jobs, its watches and its leader election, started as one.

APScheduler 3's ``BackgroundScheduler`` runs three jobs, each coalescing and never overlapping
itself (``max_instances=1``): the lease tick (every third of the lease), the full sweep (every
``sweep_interval``; the resync) and the App Home refresh for users who opened Home recently
(only after something was announced, at most ``home_refresh_max_users`` per run, well inside
views.publish's Tier 4). A :class:`~bot.notifier.watcher.Watcher` triggers targeted sweeps
between full ones. Only the lease holder sweeps and sends; a new leader sweeps at once.

The runner builds it with ``NotifierService(settings, cluster, web_client, publish_home)``
and calls :meth:`start` and :meth:`stop`; the Home listener calls :meth:`note_home_opened`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler  # type: ignore[import-untyped]
from slack_sdk import WebClient

from bot.cluster import Cluster
from bot.cluster.permissions import card_ledger_name
from bot.config.settings import Settings
from bot.notifier.controller import Notifier
from bot.notifier.leader import LeaderElector, default_identity
from bot.notifier.ledger import CardLedger
from bot.notifier.pacer import Pacer
from bot.notifier.watcher import Watcher

__all__ = ["HomeRefresher", "NotifierService"]

log = logging.getLogger(__name__)

MIN_LEASE_TICK = 0.05


class HomeRefresher:
    """Who opened App Home recently, and republishing their Home after announcements."""

    def __init__(
        self,
        publish_home: Callable[[str], None],
        *,
        max_users: int,
        recent_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._publish = publish_home
        self._max_users = max_users
        self._recent = recent_seconds
        self._clock = clock
        self._opened: dict[str, float] = {}
        self._lock = threading.Lock()
        self._seen_changes = 0

    def note_opened(self, user_id: str) -> None:
        if not user_id:
            return
        with self._lock:
            self._opened[user_id] = self._clock()

    def users_due(self) -> list[str]:
        """Users who opened Home within the window, most recent first, at most ``max_users``."""
        now = self._clock()
        with self._lock:
            for user, when in list(self._opened.items()):
                if now - when > self._recent:
                    del self._opened[user]
            ordered = sorted(self._opened.items(), key=lambda pair: pair[1], reverse=True)
        return [user for user, _ in ordered[: self._max_users]]

    def refresh(self, changes: int) -> int:
        """Republish Home for due users when ``changes`` moved since last time; returns count."""
        if changes == self._seen_changes:
            return 0
        self._seen_changes = changes
        published = 0
        for user in self.users_due():
            try:
                self._publish(user)
                published += 1
            except Exception:
                log.exception("Failed to refresh App Home for %s", user)
        return published


class NotifierService:
    """Sweeps, watches, Home refresh and leader election; :meth:`start` / :meth:`stop`."""

    def __init__(
        self,
        settings: Settings,
        cluster: Cluster,
        web_client: WebClient,
        publish_home: Callable[[str], None],
        *,
        identity: str | None = None,
    ) -> None:
        self._settings = settings
        self._stopping = threading.Event()
        self.elector = LeaderElector(
            cluster,
            namespace=settings.lease_namespace or settings.default_namespace,
            name=settings.lease_name,
            identity=identity or default_identity(),
            lease_duration=settings.lease_duration,
        )
        pacer = Pacer(settings.slack_channel_interval, sleep=self._stopping.wait)
        ledger = CardLedger(
            cluster, namespace=self.elector.namespace, name=card_ledger_name(settings.lease_name)
        )
        self.notifier = Notifier(
            cluster, web_client, settings, pacer=pacer, may_send=self._may_send, ledger=ledger
        )
        self.home = HomeRefresher(
            publish_home,
            max_users=settings.home_refresh_max_users,
            recent_seconds=settings.home_recent_seconds,
        )
        self._watcher = Watcher(
            cluster,
            settings.allowed_namespaces,
            versions=lambda: self.notifier.resource_versions,
            on_keys=self.notifier.sweep_keys,
            on_deleted=self.notifier.on_deleted,
            want_resync=self.sweep_soon,
            active=self._may_send,
            timeout_seconds=settings.watch_timeout,
        )
        self._scheduler = BackgroundScheduler(
            timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1}
        )
        self._was_leader = False

    @property
    def is_leader(self) -> bool:
        return self.elector.is_leader()

    def start(self) -> None:
        """Start the jobs (the first lease tick and sweep at once) and the watches."""
        self._stopping.clear()
        now = datetime.now(UTC)
        tick = max(self._settings.lease_duration / 3, MIN_LEASE_TICK)
        self._scheduler.add_job(
            self._lease_tick, "interval", seconds=tick, id="lease", next_run_time=now
        )
        self._scheduler.add_job(
            self._sweep, "interval", seconds=self._settings.sweep_interval, id="sweep"
        )
        self._scheduler.add_job(
            self._refresh_home, "interval", seconds=self._settings.home_refresh_interval, id="home"
        )
        self._scheduler.start()
        self._watcher.start()

    def stop(self) -> None:
        """Stop sending, end the jobs and watches, and hand the lease over."""
        self._stopping.set()
        self._watcher.stop()
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)
        self.elector.release()

    def note_home_opened(self, user_id: str) -> None:
        """The Home listener saw ``app_home_opened``: keep this user's Home fresh a while."""
        self.home.note_opened(user_id)

    def sweep_soon(self) -> None:
        """Run the full sweep now instead of at its next interval."""
        if self._stopping.is_set() or not self._scheduler.running:
            return
        try:
            self._scheduler.modify_job("sweep", next_run_time=datetime.now(UTC))
        except Exception:  # the job is gone: the service is stopping
            log.debug("No sweep job to bring forward", exc_info=True)

    # --- jobs ------------------------------------------------------------------------------

    def _may_send(self) -> bool:
        return not self._stopping.is_set() and self.elector.is_leader()

    def _lease_tick(self) -> None:
        if self._stopping.is_set():
            return
        leading = self.elector.tick()
        if leading and not self._was_leader:
            log.info("%s leads the notifier", self.elector.identity)
            self.sweep_soon()
        self._was_leader = leading

    def _sweep(self) -> None:
        if self._may_send():
            self.notifier.sweep()

    def _refresh_home(self) -> None:
        if not self._stopping.is_set():
            self.home.refresh(self.notifier.changes)
