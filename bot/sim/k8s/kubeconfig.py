"""Write a kubeconfig that points kubectl and the official Python client at the stand-in.

Plain http on 127.0.0.1, a user with a dummy token: the Python client sends it, kubectl
doesn't over http, and the stand-in accepts requests either way.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

__all__ = ["CONTEXT_NAME", "kubeconfig_document", "write_kubeconfig"]

CONTEXT_NAME = "dynamote-sim"


def kubeconfig_document(server_url: str, *, namespace: str = "default") -> dict[str, Any]:
    """The kubeconfig as a dict: one cluster, one user, one current context."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": CONTEXT_NAME, "cluster": {"server": server_url}}],
        "users": [{"name": CONTEXT_NAME, "user": {"token": "dynamote-sim-token"}}],
        "contexts": [
            {
                "name": CONTEXT_NAME,
                "context": {"cluster": CONTEXT_NAME, "user": CONTEXT_NAME, "namespace": namespace},
            }
        ],
        "current-context": CONTEXT_NAME,
    }


def write_kubeconfig(path: Path, server_url: str, *, namespace: str = "default") -> Path:
    """Write atomically (a reader never sees half a file), readable by the owner only."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(yaml.safe_dump(kubeconfig_document(server_url, namespace=namespace)))
    partial.chmod(0o600)
    os.replace(partial, path)
    return path
