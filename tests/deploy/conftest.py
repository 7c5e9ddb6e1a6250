"""Fixtures for the deployment tests: every object the repository's manifests render to."""

from __future__ import annotations

import pytest

from tests.paths import MANIFESTS

from .kustomize import Doc, render


@pytest.fixture(scope="module")
def docs() -> list[Doc]:
    """Every object ``manifests/`` renders to (each module gets its own copy to inspect)."""
    return render(MANIFESTS)
