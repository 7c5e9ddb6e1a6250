"""The optional capacity component grants exactly CAPACITY_PERMISSIONS, cluster-wide.

``manifests/capacity/`` is a kustomize Component an overlay adds next to the base; the base
itself grants only REQUIRED_PERMISSIONS (``test_rbac``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.cluster.permissions import CAPACITY_PERMISSIONS
from tests.paths import MANIFESTS

from .kustomize import KUBECTL, Doc, file_render, kubectl_render, render
from .test_rbac import Grants, rendered_grants

COMPONENT = MANIFESTS / "capacity"


def expected() -> Grants:
    assert all(p.scope == "cluster" and not p.named for p in CAPACITY_PERMISSIONS)
    return {None: {(p.group, p.resource, p.verb, ()) for p in CAPACITY_PERMISSIONS}}


def added_by(component: list[Doc], base: list[Doc]) -> Grants:
    with_it, without = rendered_grants(base + component), rendered_grants(base)
    added = {place: rules - without.get(place, set()) for place, rules in with_it.items()}
    return {place: rules for place, rules in added.items() if rules}


def test_the_component_grants_exactly_the_capacity_permissions() -> None:
    assert added_by(file_render(COMPONENT), render(MANIFESTS)) == expected()


def test_the_base_alone_grants_no_capacity_permission() -> None:
    base = rendered_grants(render(MANIFESTS))
    assert not any(("", "nodes", "list", ()) in rules for rules in base.values())
    assert ("", "pods", "list", ()) not in base.get(None, set())


def test_an_overlay_with_the_component_renders_it_with_kubectl(tmp_path: Path) -> None:
    if KUBECTL is None:
        pytest.skip("kubectl is not installed; the component was read from its files")
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    base, component = (os.path.relpath(p, overlay) for p in (MANIFESTS, COMPONENT))
    (overlay / "kustomization.yaml").write_text(f"resources: [{base}]\ncomponents: [{component}]\n")
    rendered = kubectl_render(overlay)
    assert expected()[None] <= rendered_grants(rendered)[None]
    assert rendered_grants(rendered) == rendered_grants(render(MANIFESTS) + file_render(COMPONENT))
