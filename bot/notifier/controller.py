"""The notifier: each managed deployment's card kept current, and its thread told, once, what
someone should act on (Running, trouble; see ``bot.notifier.changes``).

One sweep reads the cluster (``bot.notifier.reading``: a constant number of calls), derives each
DGD's status (``bot.domain.status``), decides what to announce (``bot.notifier.changes``) against
the record on the DGD (``bot.domain.notified``), sends it (``bot.notifier.sender``, paced: a reply,
an edit of the trouble reply, a card redraw), and only after Slack accepted it merge-patches the
record back with the resourceVersion it read; what was merely seen (since when a phase or the
operator's failed state holds) is written the same way. A
failure leaves the change unannounced for a later sweep; errors are collected and logged,
never raised. A DGD without a card gets one late (in its channel only if that is an allowed
one, else by DM); a deleted DGD gets a last reply.

Only DGDs whose provenance verifies (``bot.domain.provenance``) are announced: the requester and
channel on any other are someone's say-so. The late card's place is written signed.

When, what, where: status decides, ``bot.blocks`` renders, this module sends.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk import WebClient

from bot.blocks.common import Message
from bot.blocks.notifications import build_running_reply, build_trouble_reply
from bot.blocks.status_card import build_status_card
from bot.cluster import Cluster, ClusterError
from bot.cluster.frontend import FrontendError
from bot.cluster.slim import slim_dgd
from bot.config.settings import Settings
from bot.domain.advice import fix_for
from bot.domain.deployments import Deployment, deployment_from
from bot.domain.dgd import Dgd
from bot.domain.expiry import ANNOTATION_EXPIRES_AT
from bot.domain.manifest import (
    ANNOTATION_CHANNEL,
    ANNOTATION_REQUESTER,
    ANNOTATION_THREAD,
    frontend_service_name,
)
from bot.domain.notified import ANNOTATION_NOTIFIED, Announced, decode, encode
from bot.domain.provenance import Provenance, claim_of
from bot.domain.status import DeploymentStatus, compute_status
from bot.notifier.approvals import lapses_for
from bot.notifier.changes import Plan, after_reply, card_signature, failing_since, plan
from bot.notifier.deletions import Deletions
from bot.notifier.expiry import Expiry
from bot.notifier.ledger import CardLedger
from bot.notifier.memory import (
    Backoff,
    Known,
    known_from,
    pending_over,
    stub_of,
)
from bot.notifier.pacer import Pacer
from bot.notifier.reading import Key, Reading, key_of, read_all, read_events, read_some
from bot.notifier.sender import Sender, SendError
from bot.notifier.trouble import log_tail_source, operator_ready, troubled_pods
from bot.ops.metrics import SWEEP_DURATION

__all__ = ["LATE_CARD_GRACE", "Notifier", "SweepReport"]

log = logging.getLogger(__name__)

# The deploy listener records its card right after creating the DGD; only a DGD older than
# this without one was left without a card (the bot stopped in between).
LATE_CARD_GRACE = timedelta(seconds=60)
MAX_LOG_TAILS = 3  # per sweep: log reads are one call each


@dataclass(frozen=True)
class SweepReport:
    """What one sweep did."""

    deployments: int = 0
    replies: int = 0
    cards: int = 0
    kube_calls: int = 0
    errors: tuple[str, ...] = ()
    skipped: bool = False  # not the leader
    queued: bool = False  # another thread was sweeping; it does this sweep next


@dataclass(frozen=True)
class _Work:
    """What a caller asked of the notifier, queued while another thread works."""

    kind: str  # "sweep", "keys" or "deleted"
    keys: frozenset[Key] = frozenset()
    dgd: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class _Run:
    """One sweep's bookkeeping (mutable, internal)."""

    now: datetime
    errors: list[str]
    items: list[_Item] = field(default_factory=list)  # found by triage while listing
    replies: int = 0
    cards: int = 0
    log_tails: int = 0


@dataclass(frozen=True)
class _Item:
    dgd: dict[str, Any]
    pods: list[dict[str, Any]]
    events: tuple[dict[str, Any], ...]
    status: DeploymentStatus
    announced: Announced
    plan: Plan
    late_card: bool
    failing: datetime | None  # when the operator's failed state was first seen


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Notifier:
    """Sweeps and deletion announcements; thread-safe (one thread at a time does the work)."""

    def __init__(
        self,
        cluster: Cluster,
        client: WebClient,
        settings: Settings,
        *,
        pacer: Pacer | None = None,
        now: Callable[[], datetime] = _utcnow,
        may_send: Callable[[], bool] = lambda: True,
        ledger: CardLedger | None = None,
    ) -> None:
        self._cluster = cluster
        self._namespaces = list(settings.allowed_namespaces)
        self._channels = frozenset(settings.allowed_channels)  # empty: every channel
        self._provenance = Provenance.from_settings(settings)
        self._pending_timeout = timedelta(seconds=settings.pending_timeout)
        self._broadcast_ready = settings.broadcast_ready
        self._now = now
        self._may_send = may_send
        self._sender = Sender(
            client, pacer or Pacer(settings.slack_channel_interval), may_send=may_send
        )
        # Guards only the three fields below, never held during a sweep: one thread at a time
        # runs the notifier's work (and so owns everything else here), and work asked for
        # meanwhile is queued for that thread, so no caller waits on Slack or the cluster.
        self._lock = threading.Lock()
        self._busy = False
        self._wanted: list[_Work] = []
        self._known: dict[Key, Known] = {}
        # resourceVersion of a DGD the thread and card already show Running, with nothing to
        # do and nothing that time alone could change
        self._quiet: dict[Key, str] = {}
        self._remembered: dict[str, Announced] = {}  # uid -> sent but not yet recorded
        self._placed: dict[str, tuple[str, str]] = {}  # uid -> late card not yet recorded
        self._deletions = Deletions(cluster, self._sender, self._placed, ledger)
        self._expiry = Expiry(
            cluster, self._sender, self._provenance, settings.expiry_policy, self._deletions
        )
        self._lapses = lapses_for(cluster, self._sender, settings)
        self._backoff = Backoff()
        self._versions: tuple[str | None, str | None] = (None, None)
        self._changes = 0

    @property
    def resource_versions(self) -> tuple[str | None, str | None]:
        """(DGD list, pod list) resourceVersions of the last full sweep, to watch from."""
        return self._versions

    @property
    def changes(self) -> int:
        """How many messages Slack accepted so far (the Home refresh watches it move)."""
        return self._changes

    # --- entry points --------------------------------------------------------------------

    def sweep(self) -> SweepReport:
        """Read every managed DGD and announce what changed. Never raises.

        While another thread is sweeping, the sweep is queued for it and the report says
        ``queued``."""
        return self._serially(_Work("sweep"))

    def sweep_keys(self, keys: Iterable[Key]) -> SweepReport:
        """Like :meth:`sweep` for a few DGDs (a watch saw them change)."""
        return self._serially(_Work("keys", keys=frozenset(keys)))

    def on_deleted(self, dgd: Mapping[str, Any]) -> None:
        """A watch's DELETED event: the last reply and the Deleted card, once. Never raises."""
        self._serially(_Work("deleted", dgd=dgd))

    # --- one thread at a time ------------------------------------------------------------

    def _serially(self, work: _Work) -> SweepReport:
        """Do ``work`` now, then whatever was queued meanwhile; or, while another thread is at
        it, queue ``work`` for that thread (merged with a like one) and return at once."""
        with self._lock:
            if self._busy:
                self._want(work)
                return SweepReport(queued=True)
            self._busy = True
        try:
            report = self._do(work)
            while True:
                with self._lock:
                    if not self._wanted:
                        self._busy = False
                        return report
                    work = self._wanted.pop(0)
                self._do(work)
        except BaseException:
            with self._lock:
                self._busy = False
            raise

    def _want(self, work: _Work) -> None:
        """Holds the lock. A sweep queued once covers every sweep asked for before it runs."""
        if work.kind == "deleted":
            self._wanted.append(work)
            return
        for i, queued in enumerate(self._wanted):
            if queued.kind == "sweep":
                return
            if queued.kind == "keys":
                keys = queued.keys | work.keys
                self._wanted[i] = work if work.kind == "sweep" else _Work("keys", keys=keys)
                return
        self._wanted.append(work)

    def _do(self, work: _Work) -> SweepReport:
        if work.kind == "deleted":
            self._deleted(work.dgd)
            return SweepReport()
        if work.kind == "keys":
            wanted = list(work.keys)
            return self._guarded(lambda _run: read_some(self._cluster, wanted))
        return self._guarded(
            lambda run: read_all(self._cluster, self._namespaces, lambda d: self._triage(d, run))
        )

    def _deleted(self, dgd: Mapping[str, Any]) -> None:
        if not self._may_send():
            return
        known = self._known.pop(key_of(dgd), None)
        uid = Dgd(dgd).uid
        if self._provenance.standing(dgd) == "verified":
            stub = stub_of(dgd)
        elif known is not None and known.uid == uid:
            stub = known.stub  # changed by hand since it was last verified
        else:
            return  # never Dynamote's to announce
        run = _Run(self._now(), [])
        try:
            self._count(self._deletions.announce(stub, run.now, run.errors), run)
            self._deletions.keep_ledger(self._known.values(), run.now, run.errors, full_sweep=False)
        except Exception:
            log.exception("Failed to announce the deletion of %s", key_of(dgd))

    # --- a sweep ---------------------------------------------------------------------------

    def _guarded(self, read: Callable[[_Run], Reading]) -> SweepReport:
        if not self._may_send():
            self._deletions.leadership_lost()
            return SweepReport(skipped=True)
        started = time.perf_counter()
        run = _Run(self._now(), [])
        try:
            reading = read(run)
        except ClusterError as error:
            log.warning("Failed to read deployments for the sweep: %s", error.message)
            return SweepReport(errors=(error.message,))
        except Exception as error:
            log.exception("Failed to read deployments for the sweep")
            return SweepReport(errors=(repr(error),))
        try:
            self._process(reading, run)
        except Exception as error:
            log.exception("Sweep failed")
            run.errors.append(repr(error))
        SWEEP_DURATION.observe(time.perf_counter() - started)
        return SweepReport(
            deployments=len(reading.listed) if reading.complete else len(reading.dgds),
            replies=run.replies,
            cards=run.cards,
            kube_calls=reading.calls,
            errors=tuple(run.errors),
        )

    def _process(self, reading: Reading, run: _Run) -> None:
        if reading.complete:
            self._versions = (reading.dgd_version, reading.pod_version)
        items = list(run.items)
        for dgd in reading.dgds:
            # A full sweep's DGDs all passed triage, which checked their provenance.
            pods = reading.pods_of(key_of(dgd))
            item = self._consider(dgd, pods, run.now, checked=reading.complete)
            if item is not None:
                items.append(item)
        trouble: dict[str, list[str]] = {}
        for item in items:
            names = troubled_pods(item.pods)
            if names:
                trouble.setdefault(key_of(item.dgd)[0], []).extend(names)
        events = read_events(self._cluster, trouble) if trouble else {}
        for item in _interleaved(items):
            self._handle(item, events.get(key_of(item.dgd)[0], []), run)
        self._vanished(reading, run)
        deletions = self._deletions
        self._count(deletions.retry(run.now, run.errors), run)
        told = deletions.keep_ledger(
            self._known.values(), run.now, run.errors, full_sweep=reading.complete
        )
        self._count(told, run)
        self._count(self._expiry.act(run.now, run.errors, self._known), run)
        if self._lapses is not None and reading.complete:
            self._count(self._lapses.sweep(run.now, run.errors), run)

    def _triage(self, dgd: dict[str, Any], run: _Run) -> dict[str, Any] | None:
        """While the list is parsed: settle a DGD now, or keep it to judge with its pods.

        Unchanged Running DGDs are skipped; one its operator reports ready is judged without
        pods (an item only when there is something to send); the rest wait for their pods.
        Only what is kept is slimmed: the first sweep judges every DGD once and keeps few.
        """
        view = Dgd(dgd)
        key, version = view.key, view.resource_version
        if self._quiet.get(key) == version and key in self._known:
            return None
        if self._provenance.standing(dgd) != "verified":
            self._quiet.pop(key, None)
            return None  # not announced (see _consider); its pods need not be read either
        if not operator_ready(dgd):
            return slim_dgd(dgd)
        item = self._consider(dgd, [], run.now, checked=True)
        if item is not None:
            run.items.append(replace(item, dgd=slim_dgd(item.dgd)))
        return None

    def _consider(
        self, dgd: dict[str, Any], pods: list[dict[str, Any]], now: datetime, *, checked: bool
    ) -> _Item | None:
        """The DGD's item when something may need sending; None (the usual case) otherwise.

        ``checked``: its provenance was verified already (triage); else it is checked here.
        """
        view = Dgd(dgd)
        key, version = view.key, view.resource_version
        if self._quiet.get(key) == version and key in self._known:
            return None  # unchanged since it was Running with everything announced
        if not checked and self._provenance.standing(dgd) != "verified":
            # Not announced. A Known record from when it verified stays, so its deletion
            # is still told in its real thread.
            self._quiet.pop(key, None)
            return None
        known = known_from(dgd, self._known.get(key))
        self._known[key] = known
        self._expiry.see(dgd)  # quiet DGDs keep the entry they had
        annotations = view.annotations
        announced = self._announced(known.uid, annotations)
        failing = failing_since(announced, dgd.get("status") or {}, now)
        status = compute_status(dgd, pods, (), now=now, failing_since=failing)
        todo = plan(
            status,
            announced,
            now=now,
            pending_timeout=self._pending_timeout,
            failing=failing,
            expires_at=annotations.get(ANNOTATION_EXPIRES_AT),
        )
        if (
            status.phase == "Running"
            and todo.empty
            and todo.record.phase == "Running"
            and failing is None  # the operator's retry window could still run out
            and known.uid not in self._remembered
        ):
            self._quiet[key] = version
        else:
            self._quiet.pop(key, None)
        has_card = annotations.get(ANNOTATION_THREAD) or known.uid in self._placed
        late_card = (
            not has_card
            and _late(status.created_at, now)
            and bool(annotations.get(ANNOTATION_REQUESTER))
        )
        if not has_card and not late_card:
            return None  # the deploy listener is still posting its card
        if todo.empty and not late_card:
            return None
        return _Item(dgd, pods, (), status, announced, todo, late_card, failing)

    def _announced(self, uid: str, annotations: Mapping[str, str]) -> Announced:
        recorded = decode(annotations.get(ANNOTATION_NOTIFIED))
        remembered = self._remembered.get(uid)
        if remembered == recorded:
            self._remembered.pop(uid, None)  # the annotation caught up
        return pending_over(recorded, remembered)

    def _handle(self, item: _Item, events: list[dict[str, Any]], run: _Run) -> None:
        uid = Dgd(item.dgd).uid
        if not self._backoff.ready(uid, time.monotonic()):
            return
        if troubled_pods(item.pods):  # decide again, now with the events
            status = compute_status(
                item.dgd, item.pods, events, now=run.now, failing_since=item.failing
            )
            todo = plan(
                status,
                item.announced,
                now=run.now,
                pending_timeout=self._pending_timeout,
                failing=item.failing,
                expires_at=Dgd(item.dgd).expires_at,
            )
            if todo.empty and not item.late_card:
                return
            item = replace(item, events=tuple(events), status=status, plan=todo)
        try:
            self._announce(item, run)
            self._backoff.succeeded(uid)
        except SendError as failure:
            self._backoff.failed(uid, time.monotonic())
            run.errors.append(f"{key_of(item.dgd)}: Slack said {failure.kind}")
            log.warning("Failed to announce %s: Slack said %s", key_of(item.dgd), failure.kind)
        except ClusterError as error:
            run.errors.append(f"{key_of(item.dgd)}: {error.message}")
            log.warning("Failed to record an announcement on %s: %s", key_of(item.dgd), error)
        except Exception as error:
            run.errors.append(f"{key_of(item.dgd)}: {error!r}")
            log.exception("Failed to announce %s", key_of(item.dgd))

    # --- sending ---------------------------------------------------------------------------

    def _announce(self, item: _Item, run: _Run) -> None:
        """Card (late), reply, card redraw, then the record: each only after Slack took it."""
        # Items are made only of verified DGDs (_consider).
        deployment = deployment_from(item.dgd, item.pods, item.events, verified=True, now=run.now)
        deployment = replace(deployment, status=item.status)  # judged with ``failing``
        uid = Dgd(item.dgd).uid
        todo = item.plan
        announced = todo.record
        expires = deployment.annotations.get(ANNOTATION_EXPIRES_AT)
        place = self._card_place(deployment, uid)
        if place is None:
            place = self._late_card(item, deployment, uid, run)
            announced = announced.with_card(card_signature(deployment.status, expires))
        channel, ts = place
        if todo.reply is not None:
            announced = self._reply(deployment, item, announced, (channel, ts), run)
            self._remembered[uid] = announced
        signature = card_signature(deployment.status, expires)
        if announced.card != signature:
            try:
                self._sender.update(channel, ts, build_status_card(deployment))
                run.cards += 1
            except SendError as failure:
                if not failure.gone:
                    raise
                log.warning("The card of %s is gone (%s)", deployment.key, failure.kind)
            announced = announced.with_card(signature)
            self._remembered[uid] = announced
        self._record(item.dgd, {ANNOTATION_NOTIFIED: encode(announced)})
        self._remembered.pop(uid, None)

    def _reply(
        self,
        deployment: Deployment,
        item: _Item,
        announced: Announced,
        place: tuple[str, str],
        run: _Run,
    ) -> Announced:
        """Post the plan's reply in the card's thread (or edit the trouble reply); the record
        once Slack took it."""
        kind, mention = item.plan.reply or "trouble", item.plan.mention
        channel, thread_ts = place
        unavailable = self._model_answers(deployment, run) if kind == "running" else ""
        if unavailable is None:
            return announced  # Running, the model still loading: asked again next sweep
        message = self._reply_message(
            deployment, item, announced, run, try_it_unavailable=unavailable or None
        )
        status = deployment.status
        if kind == "update" and announced.trouble:
            try:
                self._sender.update(channel, announced.trouble, message)
            except SendError as failure:
                if not failure.gone:
                    raise
                # The trouble reply was deleted: the next trouble is posted anew.
                log.warning("The trouble reply of %s is gone (%s)", deployment.key, failure.kind)
                return replace(announced, trouble=None, trouble_mark=None)
            self._changes += 1
            return after_reply(announced, status, kind, run.now)
        broadcast = item.plan.first_running and self._broadcast_ready
        posted = self._sender.reply(channel, thread_ts, message, broadcast=broadcast)
        run.replies += 1
        self._changes += 1
        return after_reply(announced, status, kind, run.now, ts=posted, mention=mention)

    def _card_place(self, deployment: Deployment, uid: str) -> tuple[str, str] | None:
        if deployment.channel and deployment.thread_ts:
            return deployment.channel, deployment.thread_ts
        return self._placed.get(uid)

    def _late_card(
        self, item: _Item, deployment: Deployment, uid: str, run: _Run
    ) -> tuple[str, str]:
        """Post the card the deploy never got, and record where it is at once, signed.

        In the deployment's channel only if it is an allowed one (a list was set since it
        was created, or it was a DM); else in the requester's DM.
        """
        user = deployment.requester or ""
        channel = deployment.channel
        if channel and self._channels and channel not in self._channels:
            channel = None
        place = self._sender.card(build_status_card(deployment), channel=channel, user=user)
        self._placed[uid] = place
        run.cards += 1
        self._changes += 1
        claim = replace(claim_of(item.dgd), channel=place[0], thread_ts=place[1])
        item.dgd["metadata"]["resourceVersion"] = self._record(
            item.dgd, self._provenance.annotations(claim)
        )
        self._placed.pop(uid, None)
        return place

    def _reply_message(
        self,
        deployment: Deployment,
        item: _Item,
        announced: Announced,
        run: _Run,
        *,
        try_it_unavailable: str | None = None,
    ) -> Message:
        status = deployment.status
        kind, mention = item.plan.reply, item.plan.mention
        if kind == "stuck":
            stuck_for = run.now - (announced.since or run.now)
            return build_trouble_reply(
                deployment, fix=fix_for(status), stuck_for=stuck_for, mention_owner=mention
            )
        if kind == "running":
            return build_running_reply(
                deployment, mention_owner=mention, try_it_unavailable=try_it_unavailable
            )
        tail, source = self._log_tail(deployment, item, run)
        return build_trouble_reply(
            deployment,
            fix=fix_for(status),
            log_tail=tail,
            log_source=source,
            mention_owner=mention,
            updated=run.now if kind == "update" else None,
        )

    def _model_answers(self, deployment: Deployment, run: _Run) -> str | None:
        """Running means the model answers: "" once the frontend lists the served model, None
        while it is reachable but still loading (the Running reply waits, at most the pending
        timeout after the deployment was created), else why Try it is unavailable."""
        service = deployment.status.frontend_service or frontend_service_name(deployment.name)
        created = deployment.status.created_at or run.now
        waited_enough = run.now - created >= self._pending_timeout
        try:
            served = self._cluster.frontend.served_models(deployment.namespace, service)
        except FrontendError as error:
            if error.problem == "loading" and not waited_enough:
                return None
            return error.message
        if deployment.served_model_name in served:
            return ""
        if not waited_enough:
            return None
        return f"the frontend does not list `{deployment.served_model_name}` yet."

    def _log_tail(
        self, deployment: Deployment, item: _Item, run: _Run
    ) -> tuple[str | None, str | None]:
        pod = log_tail_source(deployment.status)
        if pod is None or run.log_tails >= MAX_LOG_TAILS:
            return None, None
        run.log_tails += 1
        try:
            tail = self._cluster.pod_log_tail(deployment.namespace, pod, lines=20)
        except ClusterError as error:
            log.info("No log for %s/%s: %s", deployment.namespace, pod, error.message)
            return None, None
        return tail, pod

    def _record(self, dgd: Mapping[str, Any], annotations: Mapping[str, str | None]) -> str:
        """Merge-patch annotations on the DGD as read; returns its new resourceVersion.

        A Conflict stands when someone else changed the record meanwhile (see
        ``Cluster.patch_dgd_annotations_as_read``).
        """
        patched = self._cluster.patch_dgd_annotations_as_read(
            dgd, annotations, guarded=(ANNOTATION_NOTIFIED,)
        )
        return Dgd(patched).resource_version

    # --- deletions -------------------------------------------------------------------------

    def _vanished(self, reading: Reading, run: _Run) -> None:
        """DGDs seen before and missing now: announce each deletion the watch did not."""
        if reading.complete:
            gone = [key for key in self._known if key not in reading.listed]
        else:
            gone = [key for key in reading.missing if key in self._known]
        for key in gone:
            self._quiet.pop(key, None)
            known = self._known.pop(key)
            if self._deletions.told(known.uid):
                continue
            if self._deletions.confirm_gone(key, known.uid):
                self._count(self._deletions.announce(known.stub, run.now, run.errors), run)

    def _count(self, replies: int, run: _Run) -> None:
        run.replies += replies
        self._changes += replies


def _late(created_at: datetime | None, now: datetime) -> bool:
    return created_at is not None and now - created_at >= LATE_CARD_GRACE


def _interleaved(items: list[_Item]) -> list[_Item]:
    """Items taking turns by channel, so one busy channel's pacing does not hold the rest."""
    by_channel: dict[str, list[_Item]] = {}
    for item in items:
        channel = Dgd(item.dgd).annotation(ANNOTATION_CHANNEL) or ""
        by_channel.setdefault(channel, []).append(item)
    queues = list(by_channel.values())
    ordered: list[_Item] = []
    for round_ in range(max((len(queue) for queue in queues), default=0)):
        ordered.extend(queue[round_] for queue in queues if round_ < len(queue))
    return ordered
