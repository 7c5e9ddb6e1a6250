"""The cluster reads of one sweep, in a number of calls that does not grow with deployments.

A full sweep lists the managed DGDs once per allowed namespace, handing each to a triage as it
is parsed, then the pods of every Dynamo graph (``DGD_NAME_LABEL`` exists) once per namespace
where triage kept a DGD, and groups the pods by their DGD. Events are read
only for deployments in trouble: one call per namespace that has some. A targeted sweep (after
a watch event) reads just the deployments it names: one get and one pod list each.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.cluster import DGD_NAME_LABEL, Cluster, NotFound
from bot.domain.status.raw import meta_of
from bot.ops.metrics import SWEEP_API_CALLS

__all__ = ["Key", "Reading", "key_of", "read_all", "read_events", "read_some"]

Key = tuple[str, str]  # (namespace, name)
Obj = dict[str, Any]


@dataclass(frozen=True)
class Reading:
    """DGDs to judge, their pods, and (full sweeps) the resourceVersions to watch from."""

    dgds: list[Obj]
    pods: Mapping[Key, list[Obj]]
    listed: frozenset[Key] = frozenset()  # a full sweep: every managed DGD, triaged or not
    missing: frozenset[Key] = frozenset()  # asked for by a targeted sweep, not found
    dgd_version: str | None = None
    pod_version: str | None = None
    complete: bool = True  # every managed DGD is in ``dgds`` (a full sweep)
    calls: int = 0

    def pods_of(self, key: Key) -> list[Obj]:
        return list(self.pods.get(key, ()))


def key_of(obj: Mapping[str, Any]) -> Key:
    meta = meta_of(obj)
    return meta.namespace, meta.name


def read_all(
    cluster: Cluster, namespaces: Sequence[str], triage: Callable[[Obj], Obj | None]
) -> Reading:
    """Every managed DGD in ``namespaces`` (one call each) and the pods of the ones that need
    them (one more call per namespace that has such a DGD).

    Each DGD goes to ``triage`` as soon as it is parsed. Triage deals with it there and then
    (returns None) or returns it to be judged with its pods: a DGD its operator reports ready
    needs no pods to be judged Running, and in a big cluster the pod list is half the sweep's
    cost (the pod watch still covers those pods). So a steady sweep of 10,000 DGDs never holds
    more than one of them at a time.
    """
    listed: set[Key] = set()

    def keep(dgd: Obj) -> Obj | None:
        listed.add(key_of(dgd))
        return triage(dgd)

    dgds = cluster.snapshot_managed_dgds(namespaces, keep=keep)
    wanted = sorted({key_of(dgd)[0] for dgd in dgds.items})
    pods = cluster.snapshot_pods(wanted, DGD_NAME_LABEL) if wanted else None
    calls = len(namespaces) + len(wanted)
    SWEEP_API_CALLS.labels(api="kubernetes").inc(calls)
    # resourceVersions are one counter for the whole cluster: a pod watch may start from
    # the DGD list's version when no pods were listed.
    dgd_version = dgds.resource_version or None
    return Reading(
        dgds=dgds.items,
        pods=_by_dgd(pods.items) if pods else {},
        listed=frozenset(listed),
        dgd_version=dgd_version,
        pod_version=(pods.resource_version or None) if pods else dgd_version,
        calls=calls,
    )


def read_some(cluster: Cluster, keys: Iterable[Key]) -> Reading:
    """The named DGDs and their pods: 2 calls each; the ones gone are in ``missing``."""
    dgds: list[Obj] = []
    pods: dict[Key, list[Obj]] = {}
    missing: set[Key] = set()
    calls = 0
    for namespace, name in sorted(set(keys)):
        calls += 1
        try:
            dgd = cluster.get_dgd(namespace, name)
        except NotFound:
            missing.add((namespace, name))
            continue
        calls += 1
        dgds.append(dgd)
        pods[(namespace, name)] = cluster.list_dgd_pods(namespace, name)
    SWEEP_API_CALLS.labels(api="kubernetes").inc(calls)
    return Reading(dgds=dgds, pods=pods, missing=frozenset(missing), complete=False, calls=calls)


def read_events(cluster: Cluster, pod_names: Mapping[str, Iterable[str]]) -> dict[str, list[Obj]]:
    """Events about the named pods, by namespace: one call per namespace."""
    found: dict[str, list[Obj]] = {}
    for namespace, names in pod_names.items():
        wanted = sorted(set(names))
        if wanted:
            SWEEP_API_CALLS.labels(api="kubernetes").inc()
            found[namespace] = cluster.list_pod_events(namespace, wanted)
    return found


def _by_dgd(pods: Iterable[Obj]) -> dict[Key, list[Obj]]:
    grouped: defaultdict[Key, list[Obj]] = defaultdict(list)
    for pod in pods:
        meta = meta_of(pod)
        owner = meta.label(DGD_NAME_LABEL)
        if owner:
            grouped[(meta.namespace, owner)].append(pod)
    return dict(grouped)
