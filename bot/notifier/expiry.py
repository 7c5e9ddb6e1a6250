"""Expiry in the sweep: the reminder in the card's thread, and the deletion when the time comes.

The notifier shows this module every verified DGD it reads (:meth:`Expiry.see`); after the
sweep's announcements :meth:`Expiry.act` asks ``bot.domain.expiry.due`` of each one carrying
``dynamote.dev/expires-at``. Only the leader sweeps, so only it reminds and deletes.

A reminder is posted, then recorded on the DGD (``dynamote.dev/expiry-reminded``, with the
resourceVersion read); until the record is seen this process remembers it, so a sweep in
between never reminds twice. Before deleting, the DGD is read again and judged on what it
says now (a Keep or a kubectl edit since the sweep's read wins); the deletion is marked
deleted-by expiry (signed, so the Deleted reply says why) with that resourceVersion, so a Keep
landing in between makes the mark conflict and nothing is deleted this sweep. The Deleted
reply itself is the notifier's usual one (``bot.notifier.deletions``), told once.

For the reminder's "served lately" (``bot.domain.served``), such a DGD its operator reports ready
gets a reading of its frontend's counter when one is due, written with the resourceVersion read (on
a conflict read again once; a second conflict waits for the next sweep); a frontend that does
not answer is asked again after :data:`READING_RETRY` at the soonest, so a blocked one costs a
sweep little.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Collection, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Final

from bot.blocks.expiry import build_expiry_reminder
from bot.cluster import Cluster, ClusterError, Conflict, NotFound
from bot.domain.deployments import Deployment, deployment_from
from bot.domain.dgd import Dgd
from bot.domain.expiry import (
    ANNOTATION_EXPIRES_AT,
    ANNOTATION_EXPIRY_REMINDED,
    DELETED_BY_EXPIRY,
    ExpiryPolicy,
    due,
    expires_at_of,
    format_expires_at,
)
from bot.domain.manifest import frontend_service_name
from bot.domain.policy import Action
from bot.domain.provenance import Provenance, claim_of
from bot.domain.served import (
    ANNOTATION_REQUESTS_SERVED,
    Reading,
    Served,
    format_readings,
    reading_due,
    readings_of,
    served_lately,
    with_reading,
)
from bot.notifier.deletions import Deletions
from bot.notifier.memory import stub_of
from bot.notifier.reading import Key, key_of
from bot.notifier.sender import Sender, SendError
from bot.notifier.trouble import operator_ready
from bot.ops.audit import audit

__all__ = ["Expiry"]

log = logging.getLogger(__name__)

READING_RETRY: Final = timedelta(minutes=10)


def _annotations(dgd: Mapping[str, Any]) -> dict[str, str]:
    return Dgd(dgd).annotations


def _uid(dgd: Mapping[str, Any]) -> str:
    return Dgd(dgd).uid


class Expiry:
    """Reminds and deletes; not thread-safe (the notifier works in one thread at a time)."""

    def __init__(
        self,
        cluster: Cluster,
        sender: Sender,
        provenance: Provenance,
        policy: ExpiryPolicy,
        deletions: Deletions,
    ) -> None:
        self._cluster = cluster
        self._sender = sender
        self._provenance = provenance
        self._policy = policy
        self._deletions = deletions
        self._seen: dict[Key, dict[str, Any]] = {}  # verified DGDs with an expires-at
        self._reminded: dict[str, str] = {}  # uid -> expires-at reminded, not yet recorded
        self._unanswered: dict[Key, datetime] = {}  # when its frontend last did not say

    def see(self, dgd: dict[str, Any]) -> None:
        """A verified DGD as just read (a DGD the sweep skips as unchanged keeps its entry)."""
        key = key_of(dgd)
        if ANNOTATION_EXPIRES_AT in _annotations(dgd):
            self._seen[key] = dgd
        else:
            self._seen.pop(key, None)

    def act(self, now: datetime, errors: list[str], alive: Collection[Key]) -> int:
        """Remind or delete what is due; returns how many replies Slack took."""
        replies = 0
        for key in [key for key in self._seen if key not in alive]:
            del self._seen[key]  # gone, or no longer verified
            self._unanswered.pop(key, None)
        for key, seen in list(self._seen.items()):
            uid, dgd = _uid(seen), seen
            try:
                dgd = self._read_counter(key, seen, now)
            except ClusterError as error:
                log.info("No reading of %s's requests this sweep: %s", key, error.message)
            what = due(
                now,
                _annotations(dgd),
                reminder=self._policy.reminder,
                reminded=self._reminded.get(uid),
            )
            try:
                if what == "remind":
                    replies += self._remind(key, dgd, now)
                elif what == "expire":
                    replies += self._expire(key, dgd, now, errors)
            except SendError as failure:
                errors.append(f"{key}: expiry reminder not sent, Slack said {failure.kind}")
                log.warning("Failed to remind %s of its expiry: %s", key, failure.kind)
            except ClusterError as error:
                errors.append(f"{key}: expiry: {error.message}")
                log.warning("Expiry of %s failed: %s", key, error.message)
        return replies

    # --- the reminder ------------------------------------------------------------------------

    def _remind(self, key: Key, dgd: dict[str, Any], now: datetime) -> int:
        deployment = deployment_from(dgd, verified=True, now=now)
        expires = expires_at_of(deployment.annotations)
        if expires is None or not (deployment.channel and deployment.thread_ts):
            return 0  # no card, no thread to remind in
        raw = deployment.annotations[ANNOTATION_EXPIRES_AT]
        message = build_expiry_reminder(
            deployment,
            expires,
            keep=self._policy.kept(expires, now),
            policy=self._policy,
            served=self._served(deployment, now),
        )
        self._sender.reply(deployment.channel, deployment.thread_ts, message)
        self._reminded[_uid(dgd)] = raw
        self._seen[key] = self._mark_reminded(dgd, raw)
        self._reminded.pop(_uid(dgd), None)
        return 1

    def _served(self, deployment: Deployment, now: datetime) -> Served | None:
        """Requests its frontend answered lately (against the DGD's readings); None when the
        frontend cannot say (the reminder then goes without)."""
        current = self._counter(deployment)
        if current is None:
            return None
        return served_lately(readings_of(deployment.annotations), current, now)

    def _counter(self, deployment: Deployment) -> int | None:
        """Its frontend's counter now; None when it cannot say (the read has the frontend
        client's short timeouts)."""
        service = deployment.status.frontend_service or frontend_service_name(deployment.name)
        return self._cluster.frontend.requests_served(
            deployment.namespace, service, deployment.served_model_name
        )

    # --- the readings behind "served lately" -------------------------------------------------

    def _read_counter(self, key: Key, dgd: dict[str, Any], now: datetime) -> dict[str, Any]:
        """Record a reading of the frontend's counter on the DGD when one is due; the DGD as
        it is now (patched, or as it was)."""
        readings = readings_of(_annotations(dgd))
        if not operator_ready(dgd) or not reading_due(readings, now):
            return dgd
        asked = self._unanswered.get(key)
        if asked is not None and asked <= now < asked + READING_RETRY:
            return dgd
        count = self._counter(deployment_from(dgd, verified=True, now=now))
        if count is None:
            self._unanswered[key] = now
            return dgd
        self._unanswered.pop(key, None)
        reading = Reading(count, now)
        try:
            patched = self._write_reading(key, dgd, reading)
        except NotFound:
            return dgd  # gone meanwhile
        self._seen[key] = patched
        return patched

    def _write_reading(self, key: Key, dgd: dict[str, Any], reading: Reading) -> dict[str, Any]:
        """Add the reading with the resourceVersion read; on Conflict (this sweep's own card
        and thread records land first) read again and add it to what is there now."""
        try:
            return self._patch_reading(key, dgd, reading)
        except Conflict:
            current = self._cluster.get_dgd(*key)
            if _uid(current) != _uid(dgd):
                return current  # replaced meanwhile: its own readings start over
            return self._patch_reading(key, current, reading)

    def _patch_reading(self, key: Key, dgd: dict[str, Any], reading: Reading) -> dict[str, Any]:
        readings = with_reading(readings_of(_annotations(dgd)), reading)
        version = Dgd(dgd).resource_version
        return self._cluster.patch_dgd_annotations(
            *key, {ANNOTATION_REQUESTS_SERVED: format_readings(readings)}, resource_version=version
        )

    def _mark_reminded(self, dgd: dict[str, Any], raw: str) -> dict[str, Any]:
        """Record the reminder; on Conflict read again and retry once if the time still holds."""
        namespace, name = key_of(dgd)
        version = Dgd(dgd).resource_version
        patch = {ANNOTATION_EXPIRY_REMINDED: raw}
        try:
            return self._cluster.patch_dgd_annotations(
                namespace, name, patch, resource_version=version
            )
        except Conflict:
            current = self._cluster.get_dgd(namespace, name)
            if (
                _uid(current) != _uid(dgd)
                or _annotations(current).get(ANNOTATION_EXPIRES_AT) != raw
            ):
                return current  # moved meanwhile: the new time gets its own reminder
            version = Dgd(current).resource_version
            return self._cluster.patch_dgd_annotations(
                namespace, name, patch, resource_version=version
            )

    # --- the deletion ------------------------------------------------------------------------

    def _expire(self, key: Key, seen: dict[str, Any], now: datetime, errors: list[str]) -> int:
        try:
            current = self._cluster.get_dgd(*key)
        except NotFound:
            self._seen.pop(key, None)
            return 0
        uid = _uid(current)
        if uid != _uid(seen) or self._provenance.standing(current) != "verified":
            self._seen.pop(key, None)  # replaced, or no longer Dynamote's to act on
            return 0
        annotations = _annotations(current)
        if due(now, annotations, reminder=self._policy.reminder) != "expire":
            self._seen[key] = current  # kept, or the time was moved with kubectl
            return 0
        version = Dgd(current).resource_version
        claim = replace(claim_of(current), deleted_by=DELETED_BY_EXPIRY)
        try:
            marked = self._cluster.patch_dgd_annotations(
                *key, self._provenance.annotations(claim), resource_version=version
            )
        except Conflict:
            log.info("%s changed just before its expiry; judging it again next sweep", key)
            return 0
        # NotFound: someone else deleted it meanwhile; its deletion is told as usual.
        with contextlib.suppress(NotFound):
            self._cluster.delete_dgd(*key, uid=uid)
        self._seen.pop(key, None)
        deployment = deployment_from(current, verified=True, now=now)
        audit(
            Action.DELETE.value,
            user=DELETED_BY_EXPIRY,
            channel=deployment.channel,
            namespace=deployment.namespace,
            name=deployment.name,
            model=deployment.model,
            gpus=deployment.status.gpus,
            outcome="deleted",
            reason=f"expired at {format_expires_at(expires_at_of(annotations) or now)}",
        )
        # Told now, from the marked DGD; the watch and the next sweep find it told.
        return self._deletions.announce(stub_of(marked), now, errors)
