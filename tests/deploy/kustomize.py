"""Render the kustomize base: with `kubectl kustomize` when kubectl is installed, else by
following the kustomizations' `resources` and `namespace` fields by hand.

The fallback knows only what manifests/ uses (resources, namespace); a test compares it with
kubectl whenever kubectl is there, so the RBAC comparison means the same thing in CI with or
without kubectl.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

KUBECTL = shutil.which("kubectl")
# Kinds without a namespace (the subset manifests/ may use).
CLUSTER_KINDS = frozenset(
    {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}
)

Doc = dict[str, Any]


def render(path: Path) -> list[Doc]:
    """The rendered documents of the kustomization at ``path``."""
    return kubectl_render(path) if KUBECTL else file_render(path)


def kubectl_render(path: Path) -> list[Doc]:
    assert KUBECTL is not None
    done = subprocess.run(
        [KUBECTL, "kustomize", str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, f"kubectl kustomize {path} failed:\n{done.stderr}"
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def file_render(path: Path) -> list[Doc]:
    kustomization = yaml.safe_load((path / "kustomization.yaml").read_text())
    docs: list[Doc] = []
    for resource in kustomization.get("resources") or ():
        target = path / resource
        if target.is_dir():
            docs.extend(file_render(target))
        else:
            docs.extend(doc for doc in yaml.safe_load_all(target.read_text()) if doc)
    namespace = kustomization.get("namespace")
    if namespace:
        for doc in docs:
            if doc["kind"] not in CLUSTER_KINDS:
                doc.setdefault("metadata", {})["namespace"] = namespace
    return docs


def find(docs: list[Doc], kind: str, name: str | None = None) -> list[Doc]:
    return [
        d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)
    ]


def one(docs: list[Doc], kind: str, name: str | None = None) -> Doc:
    found = find(docs, kind, name)
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]
