"""DeploymentService: what the Slack app asks of the cluster, in the domain's terms.

Listeners stay thin by calling this: it validates names and namespaces before anything reaches
the API server, turns DGDs and pods into :class:`~bot.domain.deployments.Deployment` objects, checks
a request against the cluster (server-side dry run, HF secret present) and maps what the cluster
says onto the form's fields. Cluster failures surface as :class:`bot.cluster.ClusterError`,
whose messages are safe to show in Slack.

Only Dynamote's own DGDs reach people: a DGD without the managed-by label, or (unless an admin
asks) one whose provenance does not verify (``bot.domain.provenance``), is answered as missing
(:class:`NotDynamotes`) before its pods are read and before anything is written to it. Every
create signs who asked and from where; every write of the card's place or of who deleted it
signs them again.

The reads of a deploy check are independent (one DGD list per namespace for the per-user
limits, the HF secret, the server-side dry run), so they run at once on a small pool the
service owns. Only single cluster calls run there, never work that waits on the pool, so the
pool cannot deadlock however small it is or however many submissions queue on it.
"""

from __future__ import annotations

import contextlib
import difflib
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from bot.cluster import (
    DGD_NAME_LABEL,
    AlreadyExists,
    Cluster,
    ClusterError,
    ClusterStatus,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
)
from bot.cluster.capacity import CapacityCache, CapacityReading, read_capacity
from bot.config.settings import Settings
from bot.domain.advice import hf_secret_command
from bot.domain.capacity import Fit, Need, fit, shortfall
from bot.domain.catalog import Catalog
from bot.domain.deployments import Deployment, deployment_from
from bot.domain.dgd import Dgd
from bot.domain.manifest import SlackOrigin, render_dgd
from bot.domain.naming import DNS_LABEL_MAX
from bot.domain.provenance import Claim, Provenance, Standing, claim_of
from bot.domain.redeploy import redeploy_mark
from bot.domain.request import RFC1123_LABEL, DeploymentRequest, RequestLimits
from bot.domain.reservations import Reservations
from bot.domain.status.raw import meta_of

__all__ = [
    "DeploymentService",
    "NameInvalid",
    "NameLookup",
    "NamespaceNotAllowed",
    "NotDynamotes",
]

# Concurrent cluster reads of deploy checks; more queue (each check needs namespaces + 3).
READ_WORKERS = 8
# How long a deploy check waits for a GPU capacity read that is not fresh (it runs beside the
# dry run, inside the submission's budget); past it the check goes on without capacity.
CAPACITY_CHECK_WAIT_SECONDS = 1.5
REPLACE_RETRY_SECONDS = 0.5  # between creates while a redeployed DGD is still going
WAITING_FOR_GPUS = "waiting for GPUs:"  # bot.domain.status.pods.scheduling_reason


class NamespaceNotAllowed(ValueError):  # noqa: N818  (reads as what happened)
    """The namespace is not one Dynamote may use; the message lists those it may."""


class NameInvalid(ValueError):  # noqa: N818  (reads as what happened)
    """The text cannot be a deployment name, so no cluster call is made for it."""


class NotDynamotes(NotFound):
    """Not a DGD Dynamote may show or touch (``standing``: unmanaged, or unverified for a
    non-admin). The message is the one a missing DGD gets, so it tells nothing of the DGD."""

    def __init__(self, namespace: str, name: str, standing: Standing) -> None:
        super().__init__(
            f'There is no deployment "{name}" in namespace "{namespace}".',
            status=404,
            reason="NotFound",
        )
        self.standing = standing

    @property
    def audit_reason(self) -> str:
        if self.standing == "unmanaged":
            return "not created by Dynamote (no managed-by label)"
        return "its provenance does not verify (not signed by Dynamote)"


MAX_SIMILAR = 3  # "did you mean" offers at most this many names


@dataclass(frozen=True)
class NameLookup:
    """Where a name is among the deployments a person may see, across allowed namespaces.

    ``matches``: those with exactly that name (one: found; more: ask which). ``similar``:
    close names when none matches. Both without pods: only enough to say which is which.
    ``hidden_in``: where a DGD of that name is that the person may not see, and why.
    """

    name: str
    matches: tuple[Deployment, ...] = ()
    similar: tuple[Deployment, ...] = ()
    hidden_in: tuple[tuple[str, Standing], ...] = ()


def _pods_by_deployment(pods: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str], list[Any]]:
    grouped: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for pod in pods:
        meta = meta_of(pod)
        owner = meta.label(DGD_NAME_LABEL)
        if owner:
            grouped[(meta.namespace, owner)].append(pod)
    return grouped


class DeploymentService:
    """The deploy, list, status and delete operations behind the Slack surfaces."""

    def __init__(
        self,
        *,
        cluster: Cluster,
        catalog: Catalog,
        settings: Settings,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.cluster = cluster
        self.catalog = catalog
        self.settings = settings
        self._now = now
        self.provenance = Provenance.from_settings(settings)
        # Deploys this process has let through but not yet created (per-user limits).
        self.reservations = Reservations()
        self._reads = ThreadPoolExecutor(
            max_workers=READ_WORKERS, thread_name_prefix="dynamote-reads"
        )
        # GPU capacity, read in the background (optional permissions; unknown without them).
        self.capacity = CapacityCache(lambda: read_capacity(cluster))

    def close(self) -> None:
        """Shut the read pool down; reads not started yet are dropped."""
        self._reads.shutdown(wait=True, cancel_futures=True)

    # --- inputs ----------------------------------------------------------------------------

    @property
    def limits(self) -> RequestLimits:
        settings = self.settings
        return RequestLimits(
            settings.max_replicas, settings.max_gpus_per_worker, settings.dynamo_version
        )

    @property
    def namespaces(self) -> list[str]:
        return self.settings.allowed_namespaces

    def namespace_for(self, namespace: str | None) -> str:
        """The namespace to use: the given one if allowed, else the default."""
        if namespace is None:
            return (
                self.settings.default_namespace
                if self.settings.default_namespace in (self.namespaces)
                else self.namespaces[0]
            )
        if namespace not in self.namespaces:
            allowed = ", ".join(f"`{ns}`" for ns in self.namespaces)
            raise NamespaceNotAllowed(
                f"Dynamote does not manage namespace `{namespace[:63]}`; use one of: {allowed}"
            )
        return namespace

    @staticmethod
    def check_name(name: str) -> str:
        if len(name) > DNS_LABEL_MAX or not RFC1123_LABEL.fullmatch(name):
            raise NameInvalid(
                f"`{name[:63]}` is not a deployment name: names are lowercase letters, digits "
                "and '-'. See the names with `list`."
            )
        return name

    # --- reading ---------------------------------------------------------------------------

    def deployment_of(
        self,
        dgd: Mapping[str, Any],
        pods: Sequence[Mapping[str, Any]] = (),
        events: Sequence[Mapping[str, Any]] = (),
    ) -> Deployment:
        """The Deployment of a DGD, its requester and card place only if its provenance holds."""
        verified = self.provenance.verify(dgd)
        return deployment_from(dgd, pods, events, verified=verified, now=self._now())

    def list_deployments(
        self, namespaces: Sequence[str] | None = None, *, unverified: bool = False
    ) -> list[Deployment]:
        """Every verified deployment in the namespaces (``unverified``: every managed one, for
        admins): two API calls per namespace."""
        scope = list(namespaces or self.namespaces)
        dgds = [
            dgd
            for dgd in self.cluster.list_managed_dgds(scope)
            if unverified or self.provenance.verify(dgd)
        ]
        pods = _pods_by_deployment(self.cluster.list_pods(scope, DGD_NAME_LABEL)) if dgds else {}
        now = self._now()
        deployments = [self.deployment_of(dgd, pods.get(_key(dgd), ())) for dgd in dgds]
        return sorted(deployments, key=lambda d: (d.created_at or now, d.name), reverse=True)

    def start_listing_for_limits(self) -> Callable[[], list[Deployment]]:
        """Start listing every managed DGD, one call per namespace at once; call the answer
        to wait for the verified ones (an unverified DGD counts against nobody). No pods:
        usage needs only the requester and the spec's GPUs.

        A failure raises the first namespace's error, as listing them in turn would.
        """
        pages = [self._reads.submit(self.cluster.list_managed_dgds, [ns]) for ns in self.namespaces]

        def wait() -> list[Deployment]:
            dgds = [dgd for page in pages for dgd in page.result()]
            return [self.deployment_of(dgd) for dgd in dgds if self.provenance.verify(dgd)]

        return wait

    def deployments_for(
        self, *, scope: str, user: str, namespace: str | None = None, unverified: bool = False
    ) -> list[Deployment]:
        """What a list shows: ``all`` or the user's (``mine``), in one namespace or all;
        ``unverified`` (admins) adds the unverified ones to ``all``."""
        namespaces = [self.namespace_for(namespace)] if namespace else self.namespaces
        if scope != "all":
            return [d for d in self.list_deployments(namespaces) if d.requester == user]
        return self.list_deployments(namespaces, unverified=unverified)

    def _visible(self, *, unverified: bool) -> list[Deployment]:
        """Every deployment a person may see (``unverified``: admins), without pods: one
        list call per allowed namespace, the provenance checked before anything is shown."""
        dgds = self.cluster.list_managed_dgds(self.namespaces)
        return [
            self.deployment_of(dgd) for dgd in dgds if unverified or self.provenance.verify(dgd)
        ]

    def lookup(self, name: str, *, unverified: bool = False) -> NameLookup:
        """``name`` in every allowed namespace; close names when it is nowhere to be seen.

        The name is only compared with listed ones, never sent to the API server. A DGD of
        that name whose provenance does not verify (for a non-admin), or that Dynamote did not
        make, is answered as missing and named in ``hidden_in`` so the refusal is audited.
        """
        visible: list[Deployment] = []
        hidden_in: list[tuple[str, Standing]] = []
        for dgd in self.cluster.list_managed_dgds(self.namespaces):
            if unverified or self.provenance.verify(dgd):
                visible.append(self.deployment_of(dgd))
            elif _key(dgd)[1] == name:
                hidden_in.append((_key(dgd)[0], "unverified"))
        matches = tuple(d for d in visible if d.name == name)
        if matches:
            return NameLookup(name, matches=matches, hidden_in=tuple(hidden_in))
        if not hidden_in and RFC1123_LABEL.fullmatch(name) and len(name) <= DNS_LABEL_MAX:
            hidden_in = self._unmanaged_named(name)
        by_name: dict[str, list[Deployment]] = defaultdict(list)
        for deployment in visible:
            by_name[deployment.name].append(deployment)
        close = difflib.get_close_matches(name.lower()[:63], list(by_name), n=MAX_SIMILAR)
        similar = tuple(by_name[n][0] for n in close)
        return NameLookup(name, similar=similar, hidden_in=tuple(hidden_in))

    def _unmanaged_named(self, name: str) -> list[tuple[str, Standing]]:
        """Namespaces holding a DGD ``name`` that Dynamote did not make (a list of managed
        DGDs cannot see it): one read each, so that naming one is audited as refused."""
        found: list[tuple[str, Standing]] = []
        for namespace in self.namespaces:
            with contextlib.suppress(NotFound):
                if self.provenance.standing(self.cluster.get_dgd(namespace, name)) == "unmanaged":
                    found.append((namespace, "unmanaged"))
        return found

    def latest_of(self, user: str) -> Deployment | None:
        """``user``'s newest deployment (verified: who asked is known), without pods."""
        mine = [d for d in self._visible(unverified=False) if d.requester == user]
        if not mine:
            return None
        oldest = datetime.min.replace(tzinfo=UTC)
        return max(mine, key=lambda d: (d.created_at or oldest, d.name))

    def get_deployment(self, namespace: str, name: str, *, unverified: bool = False) -> Deployment:
        """One deployment with its pods and their events (for details and announcements).

        NotDynamotes, before its pods are read, for a DGD without the managed-by label and,
        unless ``unverified`` (admins), for one whose provenance does not verify.
        """
        return self._with_free_gpus(self._read(namespace, name, unverified=unverified)[1])

    def _with_free_gpus(self, deployment: Deployment) -> Deployment:
        """A deployment waiting for GPUs, its reason saying what is free (cached capacity)."""
        status = deployment.status
        if status.phase != "Pending" or not status.reason.startswith(WAITING_FOR_GPUS):
            return deployment
        reading = self.capacity.get()
        if reading.capacity is None:
            return deployment
        reason = f"{status.reason}; {shortfall(reading.capacity)}"
        return replace(deployment, status=replace(status, reason=reason))

    def _read(
        self, namespace: str, name: str, *, unverified: bool
    ) -> tuple[dict[str, Any], Deployment]:
        self.check_name(name)
        dgd = self.cluster.get_dgd(namespace, name)
        standing = self.provenance.standing(dgd)
        if standing == "unmanaged" or (standing == "unverified" and not unverified):
            raise NotDynamotes(namespace, name, standing)
        pods = self.cluster.list_dgd_pods(namespace, name)
        names = [meta_of(p).name for p in pods]
        events = self.cluster.list_pod_events(namespace, names)
        verified = standing == "verified"
        return dgd, deployment_from(dgd, pods, events, verified=verified, now=self._now())

    def cluster_status(self) -> ClusterStatus:
        return self.cluster.cluster_status()

    # --- deploying -------------------------------------------------------------------------

    def manifest(
        self, request: DeploymentRequest, origin: SlackOrigin | None = None
    ) -> dict[str, Any]:
        """The exact manifest that would be applied, in the version the cluster serves."""
        return render_dgd(
            request,
            image=self.settings.image_for(request.engine),
            api_version=self.cluster.dgd_api_version(),
            ephemeral_storage=self.settings.ephemeral_storage,
            origin=origin,
            dynamo_version=self.settings.dynamo_version,
            model=self.catalog.get(request.model),
        )

    def check(self, request: DeploymentRequest, *, replacing: bool = False) -> dict[str, str]:
        """What only the cluster knows, keyed by form field: secret present, dry run passes.

        ``replacing``: the request redeploys the DGD of its name, so that name is not taken.
        """
        return self.start_check(request, replacing=replacing)()

    def start_check(
        self, request: DeploymentRequest, *, replacing: bool = False
    ) -> Callable[[], dict[str, str]]:
        """Start :meth:`check`'s two reads at once; call the answer to wait for its result.

        The result is the one the reads in turn gave: the secret's problem first, and a
        failed secret lookup raises before anything the dry run says.
        """
        secret: Future[bool | None] = self._reads.submit(
            self.cluster.secret_exists, request.namespace, request.hf_token_secret
        )
        dry_run = self._reads.submit(self._dry_run_problems, request, replacing)
        capacity = self._reads.submit(self.capacity.get, wait=CAPACITY_CHECK_WAIT_SECONDS)

        def wait() -> dict[str, str]:
            problems: dict[str, str] = {}
            never = self._never_fits(request, capacity.result())
            if never is not None:
                problems["gpus"] = never
            if secret.result() is False:
                problems["hfTokenSecret"] = (
                    f"Secret `{request.hf_token_secret}` does not exist in "
                    f"`{request.namespace}`. Create it: "
                    + hf_secret_command(request.hf_token_secret, request.namespace)
                )
            elif secret.result() is None:
                # Unchecked is refused: a Secret the bot may not read is no HF token of ours.
                problems["hfTokenSecret"] = (
                    f"Dynamote may not read Secret `{request.hf_token_secret}` in "
                    f"`{request.namespace}`, so it cannot check that it exists. Ask an admin "
                    "to let Dynamote read it (its Role lists the HF token Secrets by name)."
                )
            problems.update(dry_run.result())
            return problems

        return wait

    def free_gpus(self) -> int | None:
        """Free GPUs in the cluster from the cached capacity (never waits); None when unknown."""
        reading = self.capacity.get()
        return reading.capacity.free if reading.capacity is not None else None

    def capacity_fit(self, request: DeploymentRequest) -> Fit | None:
        """Whether the request fits the cluster's GPUs at all and now, from what is cached
        (never waits); None while capacity is unknown."""
        return self.fit_of(request.model, gpus_per_worker=request.gpus,
                           workers=request.worker_count)  # fmt: skip

    def fit_of(self, model: str | None, *, gpus_per_worker: int, workers: int) -> Fit | None:
        """:meth:`capacity_fit` of a choice not yet a request (the deploy form's model and
        size); never waits; None while capacity is unknown."""
        reading = self.capacity.get()
        if reading.capacity is None:
            return None
        return fit(reading.capacity, self.need_of(model, gpus_per_worker, workers))

    def _need(self, request: DeploymentRequest) -> Need:
        return self.need_of(request.model, request.gpus, request.worker_count)

    def need_of(self, model: str | None, gpus_per_worker: int, workers: int) -> Need:
        """What ``workers`` pods of ``gpus_per_worker`` GPUs serving ``model`` ask of the
        cluster; an unknown model asks no memory."""
        known = self.catalog.get(model) if model else None
        return Need(
            gpus_per_worker=gpus_per_worker,
            workers=workers,
            model_gib=known.min_gpu_memory if known is not None else None,
        )

    def _never_fits(self, request: DeploymentRequest, reading: CapacityReading) -> str | None:
        """Why the request can never run on this cluster's GPUs, or None (fits, or unknown)."""
        if reading.capacity is None:
            return None
        verdict = fit(reading.capacity, self._need(request))
        if verdict.ever:
            return None
        return f"This can never run on this cluster: it {verdict.text}."

    def _dry_run_problems(
        self, request: DeploymentRequest, replacing: bool = False
    ) -> dict[str, str]:
        problems: dict[str, str] = {}
        try:
            self.cluster.create_dgd(self.manifest(request), dry_run=True)
        except AlreadyExists as taken:
            if replacing:
                return problems  # the one it replaces; the create after the delete decides
            suggestion = f" Try `{taken.suggested_name}`." if taken.suggested_name else ""
            problems["name"] = f"`{request.name}` is taken in `{request.namespace}`.{suggestion}"
        except Invalid as invalid:
            problems.update(_invalid_by_field(invalid))
        except Forbidden as forbidden:
            problems["namespace"] = forbidden.message
        return problems

    def create(self, request: DeploymentRequest, origin: SlackOrigin | None) -> dict[str, Any]:
        """Create the DGD for real, who asked and from where signed; returns it as stored."""
        return self.cluster.create_dgd(
            self.provenance.signed_manifest(self.manifest(request, origin))
        )

    def redeploy(
        self,
        request: DeploymentRequest,
        *,
        by_user: str,
        expires_at: str | None = None,
        expected_uid: str | None = None,
        wait_seconds: float = 60.0,
    ) -> dict[str, Any]:
        """Replace a verified DGD of the request's name with the request, keeping its owner,
        card and thread (signed again) and ending at ``expires_at`` (the form's "Keep for",
        RFC 3339); returns the new one as stored. ``expected_uid``: only that very object
        (an approved replacement names the one it was asked to replace).

        A delete of that very object (its uid as read) then a create, not a patch: the
        operator refuses changes to a DGD's components, backend and topology once created,
        and a new object starts without the failed one's status. Who redeploys is marked
        first (``bot.domain.redeploy``), so the deletion is not told as the thread's end. The create
        is retried while the old object is still going (the operator's finalizers), at most
        ``wait_seconds``.
        """
        namespace, name = request.namespace, request.name
        dgd, deployment = self._read(namespace, name, unverified=False)
        claim = claim_of(dgd)
        uid = Dgd(dgd).uid or None
        if expected_uid is not None and uid != expected_uid:
            raise ClusterError(
                f"{name} is not the deployment that was asked to be replaced any more."
            )
        try:
            marked = self.cluster.patch_dgd_annotations(
                namespace,
                name,
                self.provenance.annotations(replace(claim, deleted_by=redeploy_mark(by_user))),
                resource_version=str(deployment.resource_version or ""),
            )
        except Conflict:
            raise ClusterError(
                f"{name} changed while it was being redeployed; press Redeploy… again."
            ) from None
        try:
            self.cluster.delete_dgd(namespace, name, uid=uid)
        except NotFound:
            pass  # gone already: create its successor all the same
        except ClusterError:
            self._unmark(marked, claim)
            raise
        origin = SlackOrigin(
            user=claim.requester or by_user,
            channel=claim.channel,
            thread_ts=claim.thread_ts,
            expires_at=expires_at,
        )
        manifest = self.provenance.signed_manifest(self.manifest(request, origin))
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                return self.cluster.create_dgd(manifest)
            except AlreadyExists:
                if time.monotonic() >= deadline:
                    raise ClusterError(
                        f"The failed {name} is still being deleted; press Redeploy… again in "
                        "a minute."
                    ) from None
                time.sleep(REPLACE_RETRY_SECONDS)

    def withdraw(self, created: Mapping[str, Any]) -> None:
        """Delete a DGD this process has just created (it broke a per-user limit after all).

        Only that very object (its uid as created): a same-named DGD someone created since
        is left alone, and one already gone counts as withdrawn. No deleted-by mark: the DGD
        has no status card yet, so there is no thread to tell.
        """
        namespace, name = _key(created)
        uid = Dgd(created).uid or None
        with contextlib.suppress(NotFound):
            self.cluster.delete_dgd(namespace, name, uid=uid)

    def record_card(self, dgd: Mapping[str, Any], *, channel: str, ts: str) -> None:
        """Store the status card's place on the DGD, signed with the rest of its claim,
        re-reading if the operator changed it meanwhile.

        ``dgd`` is the one this process created; the claim written is taken from it, never
        from a re-read, so what someone else wrote meanwhile is not signed. A DGD created
        anew under the name, or whose claim someone else wrote meanwhile, is left as it is.
        """
        if not self.provenance.verify(dgd):
            raise ClusterError("Dynamote did not sign this deployment; its card is not recorded.")
        name = Dgd(dgd).name
        claim = replace(claim_of(dgd), channel=channel, thread_ts=ts)
        annotations = self.provenance.annotations(claim)
        try:
            self.cluster.patch_dgd_annotations_as_read(dgd, annotations, guarded=tuple(annotations))
        except Conflict:
            raise ClusterError(
                f"Could not record the status card on {name}: it changed meanwhile."
            ) from None

    def delete(
        self, namespace: str, name: str, *, by_user: str, unverified: bool = False
    ) -> Deployment:
        """Delete a managed deployment; returns it as it was (for GPUs freed and its card).

        The DGD is read and judged first (:meth:`get_deployment`): one that is not Dynamote's
        (or, unless ``unverified``, not verified) raises NotDynamotes with nothing written.
        Who deleted a verified one is then written on it, signed, so the notifier, which
        announces every deletion in the card's thread, can say who it was. An unverified one
        has no card to tell, so nothing is written on it.
        """
        dgd, deployment = self._read(namespace, name, unverified=unverified)
        uid = Dgd(dgd).uid or None
        claim = claim_of(dgd)
        marked: dict[str, Any] | None = None
        if deployment.verified and deployment.resource_version:
            # Changed meanwhile (Conflict): the deletion is still announced, without a name.
            with contextlib.suppress(Conflict):
                marked = self.cluster.patch_dgd_annotations(
                    namespace,
                    name,
                    self.provenance.annotations(replace(claim, deleted_by=by_user)),
                    resource_version=deployment.resource_version,
                )
        try:
            # The uid read above: a same-named DGD made since is not the one judged here.
            self.cluster.delete_dgd(namespace, name, uid=uid)
        except ClusterError:
            # Not deleted: take the mark back, or a later deletion would name the wrong person.
            if marked is not None:
                self._unmark(marked, replace(claim, deleted_by=None))
            raise
        return deployment

    def _unmark(self, marked: Mapping[str, Any], claim: Claim) -> None:
        version = Dgd(marked).resource_version
        with contextlib.suppress(ClusterError):
            self.cluster.patch_dgd_annotations(
                claim.namespace,
                claim.name,
                self.provenance.annotations(claim),
                resource_version=version,
            )


def _key(dgd: Mapping[str, Any]) -> tuple[str, str]:
    return Dgd(dgd).key


def _invalid_by_field(invalid: Invalid) -> dict[str, str]:
    # The form only has a few fields the server can judge; other causes go to the model block.
    problems: dict[str, list[str]] = defaultdict(list)
    for cause in invalid.causes or ():
        field = "name" if cause.field.startswith("metadata.name") else "model"
        problems[field].append(f"{cause.field}: {cause.message}" if cause.field else cause.message)
    if not problems:
        problems["model"].append(invalid.message)
    return {field: "; ".join(messages) for field, messages in problems.items()}
