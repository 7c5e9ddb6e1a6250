"""One connection to one API server: configuration, timeouts, raw JSON, error translation.

The official client is built lazily on the first call (``import kubernetes`` takes over half a
second; the CLI must start faster, and a bot without a cluster must still start and say so).
Every call carries a ``(connect, read)`` timeout and makes a single attempt, so a dead API
server costs a bounded time and the caller decides whether to retry (each error says whether
it is ``temporary``). Answers are read with ``_preload_content=False`` and ``json.loads``: a
sweep lists thousands of DGDs, and model deserialization is many times slower than plain JSON.
Big answers are decoded with the cyclic garbage collector paused (see ``_PAUSE_GC_ABOVE``).
"""

from __future__ import annotations

import gc
import json
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from bot.cluster.errors import NotConfigured, Target, raising_cluster_errors
from bot.cluster.listing import parse_list
from bot.cluster.watching import WatchEvent, watch_events

__all__ = ["Apis", "Connection", "Snapshot", "load_api_client", "snapshot"]


def load_api_client(kubeconfig: str | os.PathLike[str] | None) -> Any:
    """An ApiClient: the in-cluster service account inside a pod, else the kubeconfig file."""
    from kubernetes import client, config  # noqa: PLC0415  (slow import)

    configuration = client.Configuration()
    try:
        if kubeconfig is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
            config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        else:
            path = os.fspath(kubeconfig) if kubeconfig else _default_kubeconfig()
            config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=path, client_configuration=configuration, persist_config=False
            )
    except (config.ConfigException, OSError, ValueError) as error:
        raise NotConfigured(
            "Dynamote found no usable Kubernetes configuration: it is not running in a pod "
            "and no kubeconfig could be loaded (KUBECONFIG or ~/.kube/config). Point "
            "KUBECONFIG at one, or run the bot in the cluster with its service account."
        ) from error
    # One attempt per call: timeouts stay bounded and callers retry on error.temporary.
    configuration.retries = False
    return client.ApiClient(configuration)


def _default_kubeconfig() -> str:
    # Read now, not at kubernetes' import time, so a KUBECONFIG set later is honoured.
    return os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")


class Apis:
    """The client's API groups over one ApiClient."""

    def __init__(self, api_client: Any) -> None:
        from kubernetes import client  # noqa: PLC0415

        self.api_client = api_client
        self.custom = client.CustomObjectsApi(api_client)
        self.core = client.CoreV1Api(api_client)
        self.authorization = client.AuthorizationV1Api(api_client)
        self.version = client.VersionApi(api_client)


class Connection:
    """Calls through the official client with a timeout, answers as JSON, errors translated."""

    def __init__(
        self, kubeconfig: str | os.PathLike[str] | None, *, timeout: tuple[float, float]
    ) -> None:
        self._kubeconfig = kubeconfig
        self.timeout = timeout
        self._lock = threading.Lock()
        self._apis: Apis | None = None

    @property
    def apis(self) -> Apis:
        """The API groups; the client is configured on first use."""
        with self._lock:
            if self._apis is None:
                self._apis = Apis(load_api_client(self._kubeconfig))
            return self._apis

    def close(self) -> None:
        """Release the connection pool; a later call connects again."""
        with self._lock:
            if self._apis is not None:
                self._apis.api_client.close()
                self._apis = None

    def raw(self, target: Target, call: Callable[..., Any], *args: Any, **kwargs: Any) -> bytes:
        """The body of one API call."""
        with raising_cluster_errors(target):
            response = call(*args, _preload_content=False, _request_timeout=self.timeout, **kwargs)
            try:
                # Not ``.data``: that would also keep a copy cached on the response.
                return bytes(response.read(cache_content=False))
            finally:
                response.release_conn()

    def json(self, target: Target, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """The body of one API call, parsed."""
        body = self.raw(target, call, *args, **kwargs)
        if len(body) < _PAUSE_GC_ABOVE:
            return json.loads(body)
        # json.loads(bytes) decodes to a str and keeps the bytes alive meanwhile; decoding
        # here lets the bytes go before the (several times larger) objects are built.
        text = body.decode(json.detect_encoding(body), "surrogatepass")
        del body
        with _gc_paused():
            gc.unfreeze()  # what the previous big answer froze goes back to the oldest generation
            parsed = json.loads(text)
            gc.freeze()
            return parsed

    def list_json(
        self,
        target: Target,
        call: Callable[..., Any],
        *args: Any,
        project: Callable[[dict[str, Any]], Any],
        **kwargs: Any,
    ) -> Any:
        """A list answer parsed as it streams in, each item passed through ``project``
        (which may return None to drop it; see ``bot.cluster.listing``)."""
        with raising_cluster_errors(target):
            response = call(*args, _preload_content=False, _request_timeout=self.timeout, **kwargs)
            try:
                with _gc_paused():
                    gc.unfreeze()  # what the previous list froze goes back to the oldest generation
                    parsed = parse_list(response.stream(_LIST_CHUNK), project)
                    gc.freeze()
                    return parsed
            finally:
                response.release_conn()

    def get_path(self, path: str, target: Target) -> Any:
        """GET a path the client has no typed method for (discovery documents), parsed."""
        from kubernetes.client.exceptions import ApiException  # noqa: PLC0415

        api_client = self.apis.api_client
        request = api_client.param_serialize(
            method="GET",
            resource_path=path,
            header_params={"Accept": "application/json"},
            auth_settings=["BearerToken"],
        )
        with raising_cluster_errors(target):
            response = api_client.call_api(*request, _request_timeout=self.timeout)
            body = response.read()
            if not 200 <= response.status <= 299:
                raise ApiException.from_response(http_resp=response, body=None, data=None)
            return json.loads(body)

    def watch(
        self,
        target: Target,
        call: Callable[..., Any],
        *args: Any,
        timeout_seconds: int,
        **kwargs: Any,
    ) -> Iterator[WatchEvent]:
        """Open a watch (a list call with watch=true) and iterate its events."""
        connect, read = self.timeout
        with raising_cluster_errors(target):
            response = call(
                *args,
                watch=True,
                allow_watch_bookmarks=True,
                timeout_seconds=timeout_seconds,
                _preload_content=False,
                # The server ends the watch after timeout_seconds; allow it that long plus
                # the usual read timeout before deciding it is gone.
                _request_timeout=(connect, timeout_seconds + read),
                **kwargs,
            )
        return watch_events(response, target)


# Above this size an answer is parsed with the cyclic GC paused, then frozen (gc.freeze) until
# the next big answer. A 10,000-DGD list is ~1M new dicts and lists: the collections they
# trigger while it is built, and the ones that scan them again afterwards, cost twice the
# parsing itself (measured: sweep CPU 1.47 s -> 0.75 s). JSON builds no reference cycles, so
# nothing it made needs the cyclic GC: refcounting still frees it all when the caller drops
# it. The cost of freezing: cycles that were already garbage at that moment wait for the next
# big answer's unfreeze (one sweep interval) to be collected. Small answers are left alone.
_PAUSE_GC_ABOVE = 256 * 1024
_LIST_CHUNK = 64 * 1024  # list answers are read this much at a time (see bot.cluster.listing)
_gc_lock = threading.Lock()
_gc_pausers = 0  # threads parsing with the GC paused; the last one out restores it
_gc_was_enabled = False


@contextmanager
def _gc_paused() -> Iterator[None]:
    global _gc_pausers, _gc_was_enabled  # noqa: PLW0603  (one process-wide switch)
    with _gc_lock:
        if _gc_pausers == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pausers += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0 and _gc_was_enabled:
                gc.enable()


@dataclass(frozen=True)
class Snapshot:
    """Objects from one or more list calls, and the resourceVersion to watch from after them."""

    items: list[dict[str, Any]]
    resource_version: str


def snapshot(namespaces: Sequence[str] | None, list_one: Callable[[str | None], Any]) -> Snapshot:
    """One list per namespace (or one cluster-wide list for None) merged into a Snapshot."""
    pages = [list_one(namespace) for namespace in ([None] if namespaces is None else namespaces)]
    items = [item for page in pages for item in page.get("items") or ()]
    versions = [str((page.get("metadata") or {}).get("resourceVersion") or "") for page in pages]
    return Snapshot(items, _oldest(versions))


def _oldest(resource_versions: list[str]) -> str:
    """The version to watch several namespaces from: the oldest, so no change is missed.

    resourceVersions are opaque by contract, but every API server numbers them with etcd's
    revision; when one is not a number, the first list's is used.
    """
    known = [rv for rv in resource_versions if rv]
    if known and all(rv.isdigit() for rv in known):
        return min(known, key=int)
    return known[0] if known else ""
