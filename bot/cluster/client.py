"""The Kubernetes API as Dynamote uses it: one class, raw JSON dicts out, typed errors.

:class:`Cluster` wraps the official ``kubernetes`` client. It is the only code in the bot that
imports it, and imports it lazily (``import kubernetes`` takes over half a second, the CLI must
start faster). Every call carries a ``(connect, read)`` timeout from the settings and makes a
single attempt, so a dead API server costs a bounded time and the caller decides whether to
retry (each error says whether it is ``temporary``). Answers are read with
``_preload_content=False`` and ``json.loads``: a sweep lists thousands of DGDs, and model
deserialization is many times slower than plain JSON.

Every call made here is declared in :data:`bot.cluster.permissions.REQUIRED_PERMISSIONS`, or
for the optional GPU capacity reads in ``CAPACITY_PERMISSIONS``.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.cluster.connection import Apis, Connection, Snapshot, snapshot
from bot.cluster.dgds import (
    DGD_NAME_LABEL,
    MANAGED_SELECTOR,
    candidate_names,
    dgd_version_of,
    is_managed,
    longest_name,
    with_managed_label,
)
from bot.cluster.errors import (
    AlreadyExists,
    ApiError,
    ClusterError,
    Conflict,
    Forbidden,
    NotFound,
    NotManaged,
    OperatorNotInstalled,
    Target,
)
from bot.cluster.frontend import Frontend, in_cluster, resolve_access
from bot.cluster.permissions import (
    DGD_GROUP,
    DGD_PLURAL,
    REQUIRED_PERMISSIONS,
    Permission,
    PermissionCheck,
    access_review,
    check_from_review,
    resource_name,
)
from bot.cluster.slim import slim_dgd, slim_pod
from bot.cluster.versions import (
    VersionCache,
    choose_version,
    group_versions,
    serves_dgds,
    version_to_write,
)
from bot.cluster.watching import WatchEvent, merge_streams
from bot.domain.dgd import ApiVersion

if TYPE_CHECKING:
    from bot.config.settings import Settings

__all__ = ["Cluster", "ClusterStatus"]

logger = logging.getLogger(__name__)

LEASE_GROUP = "coordination.k8s.io"
LOG_TAIL_MAX_BYTES = 64 * 1024
# Patches of a DGD as read: the operator writes its status several times while it reconciles
# a new DGD, so a Conflict right after a create is common and a few re-reads get through.
PATCH_AS_READ_TRIES = 3
# Ask for the secret's metadata only, so its value never reaches the bot.
METADATA_ONLY = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json"


@dataclass(frozen=True)
class ClusterStatus:
    """What ``/dynamote cluster`` and ``dynamote doctor`` show; ``error`` is Slack-safe."""

    reachable: bool
    server_version: str | None
    dgd_versions_served: tuple[str, ...]
    error: str | None
    writes: str | None = None  # the DGD apiVersion Dynamote writes there; None: none it can


def _unwritable(served: tuple[str, ...]) -> str:
    """OperatorNotInstalled's detail when the served versions are none Dynamote writes."""
    return f" in a version Dynamote can write (served: {', '.join(served)})" if served else ""


def _version_of(metadata: Mapping[str, Any]) -> str:
    return str(metadata.get("resourceVersion", ""))


def _annotation(metadata: Mapping[str, Any], key: str) -> Any:
    return (metadata.get("annotations") or {}).get(key)


def _dgd(verb: str, namespace: str | None = None, name: str | None = None) -> Target:
    return Target(verb, DGD_PLURAL, DGD_GROUP, namespace, name)


class Cluster:
    """Everything Dynamote does to a cluster. Thread-safe; connects on first use."""

    def __init__(
        self,
        kubeconfig: str | os.PathLike[str] | None = None,
        *,
        settings: Settings | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if settings is None:
            from bot.config.settings import get_settings  # noqa: PLC0415  (read on first use)

            settings = get_settings()
        self._settings = settings
        timeout = (self._settings.k8s_connect_timeout, self._settings.k8s_read_timeout)
        self._api = Connection(kubeconfig, timeout=timeout)
        self._versions = VersionCache(self._settings.api_version_cache_seconds, clock)
        self.frontend = Frontend(
            self._api,
            access=resolve_access(
                self._settings.frontend_access, in_cluster=in_cluster(kubeconfig)
            ),
            connect_timeout=self._settings.k8s_connect_timeout,
            read_timeout=self._settings.frontend_read_timeout,
            list_timeout=self._settings.k8s_read_timeout,
        )

    # --- plumbing ------------------------------------------------------------------------

    @property
    def _apis(self) -> Apis:
        return self._api.apis

    def close(self) -> None:
        """Release the connection pool."""
        self._api.close()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _on_dgds(
        self, target: Target, call: Callable[..., Any], version: str, *args: Any, **kwargs: Any
    ) -> dict[str, Any]:
        """A namespaced CustomObjectsApi call on DGDs: (group, version, namespace, plural, ...)."""
        prefix = (DGD_GROUP, version, target.namespace, DGD_PLURAL)
        return dict(self._api.json(target, call, *prefix, *args, **kwargs))

    # --- which DGD version -----------------------------------------------------------------

    def dgd_api_version(self) -> ApiVersion:
        """The DGD apiVersion to write, e.g. ``nvidia.com/v1beta1``; forced by settings."""
        forced = self._settings.api_version
        if forced != "auto":
            return forced
        served = self._served_dgd_versions()
        chosen = choose_version(served)
        if chosen is None:
            raise OperatorNotInstalled(_unwritable(served))
        return chosen

    def _dgd_version(self) -> str:
        return self.dgd_api_version().split("/", 1)[1]

    def _served_dgd_versions(self) -> tuple[str, ...]:
        cached = self._versions.get()
        if cached is not None:
            return cached
        served = self._discover_dgd_versions()
        self._versions.put(served)
        return served

    def _discover_dgd_versions(self) -> tuple[str, ...]:
        """Every ``nvidia.com/<v>`` whose discovery document lists dynamographdeployments."""
        target = Target("read", f"the API discovery documents of {DGD_GROUP}")
        try:
            group = self._api.get_path(f"/apis/{DGD_GROUP}", target)
        except NotFound:
            return ()
        served = []
        for version in group_versions(group):
            try:
                resources = self._api.get_path(f"/apis/{DGD_GROUP}/{version}", target)
            except NotFound:
                continue
            if serves_dgds(resources):
                served.append(f"{DGD_GROUP}/{version}")
        return tuple(served)

    # --- DGDs ----------------------------------------------------------------------------

    def create_dgd(self, manifest: Mapping[str, Any], *, dry_run: bool = False) -> dict[str, Any]:
        """Create a DGD (or validate it server-side with ``dry_run``); returns it as stored.

        The managed-by label is added when missing, so Dynamote can always delete what it
        created. Unknown fields are rejected (fieldValidation=Strict) rather than dropped.
        """
        body = with_managed_label(manifest)
        version = dgd_version_of(body)
        metadata = body["metadata"]
        namespace = str(metadata.get("namespace") or self._settings.default_namespace)
        name = str(metadata["name"])
        try:
            return self._on_dgds(
                _dgd("create", namespace, name),
                self._apis.custom.create_namespaced_custom_object,
                version,
                body,
                dry_run="All" if dry_run else None,
                field_validation="Strict",
            )
        except AlreadyExists as taken:
            limit = longest_name(body, namespace)
            raise self._suggest_free_name(
                taken, namespace, name, version, limit
            ) from taken.__cause__

    def _suggest_free_name(
        self, taken: AlreadyExists, namespace: str, name: str, version: str, limit: int
    ) -> AlreadyExists:
        for candidate in candidate_names(name, limit):
            try:
                self._get_dgd(namespace, candidate, version)
            except NotFound:
                return AlreadyExists(
                    f'{taken.message} Try "{candidate}", which is free.',
                    name=name,
                    namespace=namespace,
                    suggested_name=candidate,
                )
            except ClusterError:
                break  # cannot look further; the plain message is still true
        return AlreadyExists(f"{taken.message} Pick another name.", name=name, namespace=namespace)

    def get_dgd(self, namespace: str, name: str) -> dict[str, Any]:
        """One DGD, in the version :meth:`dgd_api_version` chooses."""
        return self._get_dgd(namespace, name, self._dgd_version())

    def _get_dgd(self, namespace: str, name: str, version: str) -> dict[str, Any]:
        call = self._apis.custom.get_namespaced_custom_object
        return self._on_dgds(_dgd("get", namespace, name), call, version, name)

    def list_managed_dgds(self, namespaces: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Dynamote's DGDs: one call per namespace, or one cluster-wide call for None."""
        return self.snapshot_managed_dgds(namespaces).items

    def snapshot_managed_dgds(
        self,
        namespaces: Sequence[str] | None = None,
        *,
        keep: Callable[[dict[str, Any]], dict[str, Any] | None] = slim_dgd,
    ) -> Snapshot:
        """Like :meth:`list_managed_dgds`, with a resourceVersion to start a watch from.

        Each DGD is passed to ``keep`` as soon as it is parsed; the snapshot holds what it
        returns (by default the DGD slimmed, ``bot.cluster.slim``), None drops the DGD. A
        sweep keeps only the few DGDs it still has to act on, so 10,000 DGDs never sit in
        memory at once.
        """
        version = self._dgd_version()
        custom = self._apis.custom

        def list_one(namespace: str | None) -> Any:
            call, args = _dgd_list_call(custom, version, namespace)
            return self._api.list_json(
                _dgd("list", namespace),
                call,
                *args,
                project=keep,
                label_selector=MANAGED_SELECTOR,
            )

        return snapshot(namespaces, list_one)

    def delete_dgd(self, namespace: str, name: str, *, uid: str | None = None) -> dict[str, Any]:
        """Delete a DGD Dynamote created; refuse (NotManaged) any other. Returns the answer.

        With ``uid``, only that object: a same-named DGD created since is left alone
        (NotFound, as the one meant is gone).
        """
        version = self._dgd_version()
        current = self._get_dgd(namespace, name, version)
        if uid is not None and (current.get("metadata") or {}).get("uid") != uid:
            raise NotFound(
                f'The deployment "{name}" in namespace "{namespace}" is already gone.',
                status=404,
                reason="NotFound",
            )
        if not is_managed(current):
            raise NotManaged(
                f'The deployment "{name}" in namespace "{namespace}" was not created by '
                "Dynamote, so Dynamote will not delete it. Its owner can delete it with "
                f"kubectl delete dgd {name} -n {namespace}."
            )
        # The uid precondition keeps a same-named DGD created meanwhile from being deleted.
        uid = (current.get("metadata") or {}).get("uid")
        options = {"preconditions": {"uid": uid}} if uid else None
        call = self._apis.custom.delete_namespaced_custom_object
        return self._on_dgds(_dgd("delete", namespace, name), call, version, name, body=options)

    def patch_dgd_annotations(
        self,
        namespace: str,
        name: str,
        annotations: Mapping[str, str | None],
        *,
        resource_version: str,
    ) -> dict[str, Any]:
        """Merge-patch annotations (None removes one); a stale resource_version -> Conflict."""
        patch = {
            "metadata": {"resourceVersion": resource_version, "annotations": dict(annotations)}
        }
        call = self._apis.custom.patch_namespaced_custom_object
        return self._on_dgds(_dgd("patch", namespace, name), call, self._dgd_version(), name, patch)

    def patch_dgd_annotations_as_read(
        self,
        dgd: Mapping[str, Any],
        annotations: Mapping[str, str | None],
        *,
        guarded: Collection[str],
    ) -> dict[str, Any]:
        """Merge-patch annotations on a DGD as read (its resourceVersion); returns it patched.

        On Conflict it is read again and patched again (at most :data:`PATCH_AS_READ_TRIES`
        tries) while it is the same object (uid) and none of the ``guarded`` annotations
        changed since ``dgd`` was read; otherwise the Conflict stands, so nothing is written
        on a DGD created anew under the name, nor over a record someone else wrote meanwhile.
        """
        read: Mapping[str, Any] = dgd.get("metadata") or {}
        namespace, name = str(read["namespace"]), str(read["name"])
        current = read
        for _ in range(PATCH_AS_READ_TRIES - 1):
            try:
                return self.patch_dgd_annotations(
                    namespace, name, annotations, resource_version=_version_of(current)
                )
            except Conflict:
                current = self.get_dgd(namespace, name).get("metadata") or {}
                if current.get("uid") != read.get("uid") or any(
                    _annotation(current, key) != _annotation(read, key) for key in guarded
                ):
                    raise
        return self.patch_dgd_annotations(
            namespace, name, annotations, resource_version=_version_of(current)
        )

    def patch_dgd(
        self,
        namespace: str,
        name: str,
        patch: Mapping[str, Any],
        *,
        resource_version: str,
    ) -> dict[str, Any]:
        """Merge-patch a DGD as read at ``resource_version`` (changed since -> Conflict)."""
        body = dict(patch)
        body["metadata"] = {**(patch.get("metadata") or {}), "resourceVersion": resource_version}
        call = self._apis.custom.patch_namespaced_custom_object
        return self._on_dgds(_dgd("patch", namespace, name), call, self._dgd_version(), name, body)

    def watch_dgds(
        self,
        namespaces: Sequence[str] | None,
        *,
        resource_version: str | None,
        timeout_seconds: int,
    ) -> Iterator[WatchEvent]:
        """(event type, DGD) for Dynamote's DGDs until the server ends the watch.

        Types are ADDED, MODIFIED, DELETED and BOOKMARK. A too-old resource_version raises
        Expired: list again and watch from the list's resourceVersion.
        """
        version = self._dgd_version()
        custom = self._apis.custom

        def open_watch(namespace: str | None) -> Iterator[WatchEvent]:
            call, args = _dgd_list_call(custom, version, namespace)
            return self._api.watch(
                _dgd("watch", namespace),
                call,
                *args,
                label_selector=MANAGED_SELECTOR,
                resource_version=resource_version,
                timeout_seconds=timeout_seconds,
            )

        return _watch_each(namespaces, open_watch)

    # --- pods, events, logs, secrets -----------------------------------------------------

    def list_dgd_pods(self, namespace: str, name: str) -> list[dict[str, Any]]:
        """The pods the operator made for one DGD."""
        return self.list_pods([namespace], f"{DGD_NAME_LABEL}={name}")

    def list_pods(
        self, namespaces: Sequence[str] | None, label_selector: str
    ) -> list[dict[str, Any]]:
        """Pods matching a selector: one call per namespace, or one cluster-wide for None."""
        return self.snapshot_pods(namespaces, label_selector).items

    def snapshot_pods(self, namespaces: Sequence[str] | None, label_selector: str) -> Snapshot:
        """Like :meth:`list_pods`, with a resourceVersion to start a watch from."""
        core = self._apis.core

        def list_one(namespace: str | None) -> Any:
            call, args = _pod_list_call(core, namespace)
            target = Target("list", "pods", namespace=namespace)
            return self._api.list_json(
                target, call, *args, project=slim_pod, label_selector=label_selector
            )

        return snapshot(namespaces, list_one)

    def watch_pods(
        self,
        namespaces: Sequence[str] | None,
        label_selector: str,
        *,
        resource_version: str | None,
        timeout_seconds: int,
    ) -> Iterator[WatchEvent]:
        """(event type, pod) for pods matching the selector, like :meth:`watch_dgds`."""
        core = self._apis.core

        def open_watch(namespace: str | None) -> Iterator[WatchEvent]:
            call, args = _pod_list_call(core, namespace)
            return self._api.watch(
                Target("watch", "pods", namespace=namespace),
                call,
                *args,
                label_selector=label_selector,
                resource_version=resource_version,
                timeout_seconds=timeout_seconds,
            )

        return _watch_each(namespaces, open_watch)

    def list_pod_events(self, namespace: str, pod_names: Sequence[str]) -> list[dict[str, Any]]:
        """Events about the given pods, in one call for the namespace whatever their number.

        One namespace-wide list (``involvedObject.kind=Pod``) filtered here keeps a sweep's
        call count constant; events expire after an hour, so the list stays small.
        """
        wanted = set(pod_names)
        if not wanted:
            return []
        answer = self._api.json(
            Target("list", "events", namespace=namespace),
            self._apis.core.list_namespaced_event,
            namespace,
            field_selector="involvedObject.kind=Pod",
        )
        return [event for event in answer.get("items") or () if _about_pod(event, wanted)]

    def pod_log_tail(
        self, namespace: str, pod: str, *, container: str = "main", lines: int = 20
    ) -> str | None:
        """The last lines of a container's log; None when forbidden or not started yet."""
        target = Target("get", "pods", namespace=namespace, name=pod, subresource="log")
        try:
            raw = self._api.raw(
                target,
                self._apis.core.read_namespaced_pod_log,
                pod,
                namespace,
                container=container,
                tail_lines=lines,
                limit_bytes=LOG_TAIL_MAX_BYTES,
            )
        except Forbidden:
            return None
        except ApiError as error:
            if error.status == 400:  # "container ... is waiting to start": no log yet
                return None
            raise
        return raw.decode("utf-8", errors="replace")

    def secret_exists(self, namespace: str, name: str) -> bool | None:
        """Whether the secret exists; None when the bot may not look (403)."""
        try:
            self._api.raw(
                Target("get", "secrets", namespace=namespace, name=name),
                self._apis.core.read_namespaced_secret,
                name,
                namespace,
                _headers={"Accept": METADATA_ONLY},
            )
        except NotFound:
            return False
        except Forbidden:
            return None
        return True

    # --- capacity (optional: CAPACITY_PERMISSIONS, bot.cluster.capacity) -------------------

    def list_nodes(self, *, keep: Callable[[dict[str, Any]], Any]) -> list[Any]:
        """Every node, each passed to ``keep`` as soon as it is parsed (None drops it)."""
        answer = self._api.list_json(
            Target("list", "nodes"), self._apis.core.list_node, project=keep
        )
        return list(answer.get("items") or ())

    def list_active_pods(self, *, keep: Callable[[dict[str, Any]], Any]) -> list[Any]:
        """Every pod of every namespace that has not ended, streamed through ``keep``.

        The field selector is the one ``kubectl describe node`` uses to count what a node's
        pods request: phases Succeeded and Failed hold nothing.
        """
        answer = self._api.list_json(
            Target("list", "pods"),
            self._apis.core.list_pod_for_all_namespaces,
            project=keep,
            field_selector="status.phase!=Succeeded,status.phase!=Failed",
        )
        return list(answer.get("items") or ())

    # --- leases (leader election) ----------------------------------------------------------
    # Through the generic object API: the typed V1Lease model would re-format the MicroTime
    # fields (renewTime...) into a form the API server rejects.

    def get_lease(self, namespace: str, name: str) -> dict[str, Any]:
        """A coordination.k8s.io/v1 Lease."""
        call = self._apis.custom.get_namespaced_custom_object
        return self._on_leases(_lease("get", namespace, name), call, name)

    def create_lease(self, namespace: str, lease: Mapping[str, Any]) -> dict[str, Any]:
        """Create a Lease; AlreadyExists when another replica was first."""
        name = str((lease.get("metadata") or {}).get("name") or "")
        call = self._apis.custom.create_namespaced_custom_object
        return self._on_leases(_lease("create", namespace, name), call, dict(lease))

    def replace_lease(self, namespace: str, name: str, lease: Mapping[str, Any]) -> dict[str, Any]:
        """Replace a Lease; its metadata.resourceVersion makes a lost race a Conflict."""
        call = self._apis.custom.replace_namespaced_custom_object
        return self._on_leases(_lease("update", namespace, name), call, name, dict(lease))

    def _on_leases(self, target: Target, call: Callable[..., Any], *args: Any) -> dict[str, Any]:
        prefix = (LEASE_GROUP, "v1", target.namespace, "leases")
        return dict(self._api.json(target, call, *prefix, *args))

    # --- the notifier's ledger (a ConfigMap in the bot's own namespace) --------------------

    def get_config_map(self, namespace: str, name: str) -> dict[str, Any]:
        """A ConfigMap as raw JSON; NotFound when there is none."""
        call = self._apis.core.read_namespaced_config_map
        return dict(self._api.json(_config_map("get", namespace, name), call, name, namespace))

    def create_config_map(self, namespace: str, config_map: Mapping[str, Any]) -> dict[str, Any]:
        """Create a ConfigMap; AlreadyExists when another replica was first."""
        name = str((config_map.get("metadata") or {}).get("name") or "")
        call = self._apis.core.create_namespaced_config_map
        target = _config_map("create", namespace, name)
        return dict(self._api.json(target, call, namespace, dict(config_map)))

    def replace_config_map(
        self, namespace: str, name: str, config_map: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Replace a ConfigMap; its metadata.resourceVersion makes a lost race a Conflict."""
        call = self._apis.core.replace_namespaced_config_map
        target = _config_map("update", namespace, name)
        return dict(self._api.json(target, call, name, namespace, dict(config_map)))

    # --- health and permissions -----------------------------------------------------------

    def cluster_status(self) -> ClusterStatus:
        """Reachability, server version and DGD versions served. Never raises."""
        try:
            version = self._api.json(Target("get", "version"), self._apis.version.get_code)
        except ClusterError as error:
            return ClusterStatus(False, None, (), error.message)
        except Exception:
            logger.exception("Failed to read the Kubernetes server version")
            return ClusterStatus(False, None, (), "Unexpected error reading the cluster.")
        server_version = str(version.get("gitVersion") or "") or None
        try:
            served = self._discover_dgd_versions()
        except ClusterError as error:
            return ClusterStatus(True, server_version, (), error.message)
        except Exception:
            logger.exception("Failed to read the DGD versions served")
            return ClusterStatus(True, server_version, (), "Unexpected error reading the cluster.")
        self._versions.put(served)
        writes = version_to_write(served, self._settings.api_version)
        if writes is not None:
            return ClusterStatus(True, server_version, served, None, writes)
        missing = OperatorNotInstalled(_unwritable(served)).message
        return ClusterStatus(True, server_version, served, missing)

    def check_permissions(
        self,
        namespaces: Sequence[str],
        *,
        lease_namespace: str | None = None,
        permissions: Sequence[Permission] = REQUIRED_PERMISSIONS,
    ) -> list[PermissionCheck]:
        """A SelfSubjectAccessReview for every entry of ``permissions`` (by default
        REQUIRED_PERMISSIONS), where it applies.

        Deployment permissions are checked in each namespace, Lease permissions in
        ``lease_namespace`` (default: the default namespace), cluster ones once.
        """
        checks = []
        for permission in permissions:
            name = resource_name(
                permission, hf_secret=self._settings.hf_secret, lease_name=self._settings.lease_name
            )
            for namespace in self._where(permission, namespaces, lease_namespace):
                review = self._api.json(
                    Target("create", "selfsubjectaccessreviews", "authorization.k8s.io"),
                    self._apis.authorization.create_self_subject_access_review,
                    access_review(permission, namespace, name),
                )
                checks.append(check_from_review(permission, namespace, name, review))
        return checks

    def _where(
        self, permission: Permission, namespaces: Sequence[str], lease_namespace: str | None
    ) -> list[str | None]:
        if permission.scope == "cluster":
            return [None]
        if permission.scope == "lease":
            return [lease_namespace or self._settings.default_namespace]
        return list(namespaces)


# --- helpers -------------------------------------------------------------------------------


def _config_map(verb: str, namespace: str, name: str) -> Target:
    return Target(verb, "configmaps", namespace=namespace, name=name)


def _dgd_list_call(
    custom: Any, version: str, namespace: str | None
) -> tuple[Callable[..., Any], tuple[str, ...]]:
    """The list method and its leading arguments: all namespaces for None, else one."""
    if namespace is None:
        return custom.list_cluster_custom_object, (DGD_GROUP, version, DGD_PLURAL)
    return custom.list_namespaced_custom_object, (DGD_GROUP, version, namespace, DGD_PLURAL)


def _pod_list_call(core: Any, namespace: str | None) -> tuple[Callable[..., Any], tuple[str, ...]]:
    """The pod list method and its leading arguments: all namespaces for None, else one."""
    if namespace is None:
        return core.list_pod_for_all_namespaces, ()
    return core.list_namespaced_pod, (namespace,)


def _lease(verb: str, namespace: str, name: str) -> Target:
    return Target(verb, "leases", LEASE_GROUP, namespace, name or None)


def _watch_each(
    namespaces: Sequence[str] | None, open_watch: Callable[[str | None], Iterator[WatchEvent]]
) -> Iterator[WatchEvent]:
    targets: list[str | None] = [None] if namespaces is None else list(namespaces)
    return merge_streams([functools.partial(open_watch, namespace) for namespace in targets])


def _about_pod(event: Mapping[str, Any], pod_names: set[str]) -> bool:
    involved = event.get("involvedObject") or {}
    return involved.get("kind") == "Pod" and involved.get("name") in pod_names
