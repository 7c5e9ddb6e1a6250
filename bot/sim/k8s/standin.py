"""StandIn: the stand-in Kubernetes API server as one object tests and `dynamote sim` start.

Wires the Store, the fault injector, the discovery catalog and the DGD schemas (from the CRD
file when there is one) into an ApiServer on 127.0.0.1, and seeds namespaces, each with the
Hugging Face token secret the Dynamo examples reference.
"""

from __future__ import annotations

import base64
import contextlib
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Self

from bot.sim.k8s.apiserver import ApiServer
from bot.sim.k8s.discovery import Catalog
from bot.sim.k8s.faults import Faults
from bot.sim.k8s.kubeconfig import write_kubeconfig
from bot.sim.k8s.running import Running
from bot.sim.k8s.store import AlreadyExists, Store
from bot.sim.k8s.validation import DgdSchemas
from bot.sim.operator.admission import LATEST_OPERATOR_VERSION
from bot.sim.operator.frontend import SimFrontends

__all__ = ["StandIn", "default_crd_path"]

CRD_FILE = "nvidia.com_dynamographdeployments.yaml"
SUPPORTED_VERSIONS = ("v1beta1", "v1alpha1")


def default_crd_path() -> Path:
    """The operator's CRD under the dynamo_reference setting (it may not exist)."""
    from bot.config.settings import get_settings  # noqa: PLC0415 (settings read only when asked)

    return get_settings().dynamo_reference / "crd" / CRD_FILE


class StandIn(Running):
    """A running stand-in cluster. Use as a context manager, or start()/stop()."""

    def __init__(
        self,
        *,
        port: int = 0,
        dgd_versions: Sequence[str] = SUPPORTED_VERSIONS,
        crd_path: Path | None = None,
        seed_namespaces: Sequence[str] = ("default", "dynamo-system"),
        hf_secret: str | None = "hf-token-secret",  # noqa: S107 (a secret name)
        operator_version: str = LATEST_OPERATOR_VERSION,
    ) -> None:
        """``operator_version``: whose admission webhook judges DGDs
        (``bot.sim.operator.admission``).
        """
        unknown = [v for v in dgd_versions if v not in SUPPORTED_VERSIONS]
        if unknown or not dgd_versions:
            raise ValueError(f"dgd_versions must be a non-empty subset of {SUPPORTED_VERSIONS}")
        self.store = Store()
        self.faults = Faults()
        schemas = DgdSchemas(crd_path)
        self._catalog = Catalog(schemas.crd, list(dgd_versions), "127.0.0.1:0")
        self._server = ApiServer(
            self.store,
            self.faults,
            self._catalog,
            schemas,
            port=port,
            operator_version=operator_version,
        )
        self._seed(seed_namespaces, hf_secret)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.port}"

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def frontends(self) -> SimFrontends:
        """The simulated model frontends behind the service proxy (their timing is settable)."""
        return self._server.frontends

    def start(self) -> Self:
        self._server.start()
        self._catalog.server_address = f"127.0.0.1:{self._server.port}"
        return self

    def stop(self) -> None:
        self._server.stop()

    def write_kubeconfig(self, path: Path, *, namespace: str = "default") -> Path:
        return write_kubeconfig(path, self.url, namespace=namespace)

    def api_calls(self) -> Counter[tuple[str, str]]:
        """Requests so far by (Kubernetes verb, resource plural or non-resource path)."""
        return self.faults.api_calls()

    def reset_api_calls(self) -> None:
        self.faults.reset_api_calls()

    def _seed(self, namespaces: Sequence[str], hf_secret: str | None) -> None:
        for namespace in namespaces:
            self.create_namespace(namespace, hf_secret=hf_secret)

    def create_namespace(self, name: str, *, hf_secret: str | None = None) -> None:
        """Add a namespace (idempotent), optionally with an empty HF token secret in it."""
        with contextlib.suppress(AlreadyExists):
            self.store.create(
                "namespaces",
                {
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "metadata": {"name": name},
                    "status": {"phase": "Active"},
                },
            )
        if hf_secret:
            empty = base64.b64encode(b"").decode()
            with contextlib.suppress(AlreadyExists):
                self.store.create(
                    "secrets",
                    {
                        "apiVersion": "v1",
                        "kind": "Secret",
                        "type": "Opaque",
                        "metadata": {"name": hf_secret, "namespace": name},
                        "data": {"HF_TOKEN": empty},
                    },
                )
