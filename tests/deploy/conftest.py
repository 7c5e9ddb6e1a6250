"""Fixtures for the deployment tests: the repository's files and manifests, and logging put
back after."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.settings import get_settings

from .kustomize import Doc, render

PROJECT = Path(__file__).resolve().parents[2]
MANIFESTS = PROJECT / "manifests"


@pytest.fixture(scope="module")
def docs() -> list[Doc]:
    """Every object ``manifests/`` renders to (each module gets its own copy to inspect)."""
    return render(MANIFESTS)


@pytest.fixture(autouse=True)
def logging_restored() -> Iterator[None]:
    """configure_logging changes the root logger; undo it so other tests see it unchanged."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.captureWarnings(False)


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    """get_settings() reads the environment again (the test changes it); cleared after."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
