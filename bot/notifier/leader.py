"""Leader election with a ``coordination.k8s.io/v1`` Lease: only the leader sends to Slack.

Two replicas of the bot must not announce the same change twice, so one holds a Lease and the
other waits. The rules follow client-go's leaderelection: the holder renews ``renewTime``
every tick; a follower takes the lease over only once it has seen the record unchanged for a
whole ``leaseDurationSeconds`` by its *own* clock (no clock-skew trust), so a dead leader is
replaced within about one lease period. A leader that cannot renew for two thirds of the
period stops calling itself leader before anyone can take over. Losing a race is a Conflict
on the Lease's resourceVersion. Stopping releases the lease so a follower need not wait.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bot.cluster import AlreadyExists, Cluster, ClusterError, Conflict, NotFound

__all__ = ["LeaderElector", "default_identity"]

log = logging.getLogger(__name__)

RENEW_DEADLINE = 2 / 3  # of the lease duration


def default_identity() -> str:
    """The pod name (or hostname) with a random suffix: unique even across restarts."""
    base = os.environ.get("POD_NAME") or socket.gethostname() or "dynamote"
    return f"{base}-{secrets.token_hex(3)}"


def _micro_time(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    """Acquire, renew, take over and release one Lease; call :meth:`tick` periodically."""

    def __init__(
        self,
        cluster: Cluster,
        *,
        namespace: str,
        name: str,
        identity: str,
        lease_duration: int,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._cluster = cluster
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self._duration = lease_duration
        self._clock = clock
        self._wall = wall
        self._lock = threading.Lock()
        self._leader = False
        self._renewed_at = -float("inf")
        self._observed: tuple[Any, ...] | None = None  # (holder, renewTime, transitions)
        self._observed_at = 0.0

    def is_leader(self) -> bool:
        """Held, and renewed recently enough that no follower can have taken over."""
        with self._lock:
            fresh = self._clock() - self._renewed_at < self._duration * RENEW_DEADLINE
            return self._leader and fresh

    def tick(self) -> bool:
        """Try to acquire or renew; returns whether this instance leads now. Never raises."""
        try:
            leading = self._try()
        except ClusterError as error:
            log.warning("Failed to renew the leader lease %s: %s", self.name, error.message)
            leading = self.is_leader()
        except Exception:
            log.exception("Failed to renew the leader lease %s", self.name)
            leading = self.is_leader()
        with self._lock:
            if self._leader and not leading:
                log.info("%s is no longer the notifier leader", self.identity)
            self._leader = leading
        return leading

    def release(self) -> None:
        """Give the lease up (when stopping), so a follower takes over at once."""
        with self._lock:
            was_leader, self._leader = self._leader, False
        if not was_leader:
            return
        try:
            lease = self._cluster.get_lease(self.namespace, self.name)
            spec = lease.get("spec") or {}
            if spec.get("holderIdentity") != self.identity:
                return
            spec["holderIdentity"] = ""
            spec["leaseDurationSeconds"] = 1
            spec["renewTime"] = _micro_time(self._wall())
            lease["spec"] = spec
            self._cluster.replace_lease(self.namespace, self.name, lease)
        except ClusterError as error:
            log.warning("Failed to release the leader lease %s: %s", self.name, error.message)

    # --- internals ---------------------------------------------------------------------------

    def _try(self) -> bool:
        try:
            lease = self._cluster.get_lease(self.namespace, self.name)
        except NotFound:
            return self._create()
        spec = lease.get("spec") or {}
        holder = spec.get("holderIdentity") or ""
        now = self._clock()
        record = (holder, spec.get("renewTime"), spec.get("leaseTransitions"))
        if record != self._observed:
            self._observed, self._observed_at = record, now
        if holder == self.identity:
            return self._write(lease, spec, transitions=int(spec.get("leaseTransitions") or 0))
        duration = int(spec.get("leaseDurationSeconds") or self._duration)
        if holder and now - self._observed_at < duration:
            return False  # someone else holds it and was alive recently
        transitions = int(spec.get("leaseTransitions") or 0) + 1
        spec["acquireTime"] = _micro_time(self._wall())
        log.info("%s takes over the notifier lease from %r", self.identity, holder)
        return self._write(lease, spec, transitions=transitions)

    def _write(self, lease: dict[str, Any], spec: dict[str, Any], *, transitions: int) -> bool:
        spec["holderIdentity"] = self.identity
        spec["leaseDurationSeconds"] = self._duration
        spec["renewTime"] = _micro_time(self._wall())
        spec["leaseTransitions"] = transitions
        lease["spec"] = spec
        try:
            self._cluster.replace_lease(self.namespace, self.name, lease)
        except Conflict:
            return False  # another replica wrote first
        self._mark_renewed()
        return True

    def _create(self) -> bool:
        stamp = _micro_time(self._wall())
        lease = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": self.name, "namespace": self.namespace},
            "spec": {
                "holderIdentity": self.identity,
                "leaseDurationSeconds": self._duration,
                "acquireTime": stamp,
                "renewTime": stamp,
                "leaseTransitions": 0,
            },
        }
        try:
            self._cluster.create_lease(self.namespace, lease)
        except AlreadyExists:
            return False
        self._mark_renewed()
        return True

    def _mark_renewed(self) -> None:
        with self._lock:
            self._renewed_at = self._clock()
