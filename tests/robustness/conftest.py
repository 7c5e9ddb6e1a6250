"""Shared pieces for the robustness tests: a hypothesis profile and one stack per module.

Hypothesis runs many examples against one running stack (a fresh one per example would take
minutes), so the stack is module-scoped and each example checks only what it changed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from tests.stacks import Stack, build_stack

settings.register_profile(
    "dynamote",
    max_examples=40,
    deadline=None,
    derandomize=False,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Applied per test (``@PROFILE``), not loaded globally, so other suites keep their own settings.
PROFILE = settings.get_profile("dynamote")


@pytest.fixture(scope="module")
def shared_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with build_stack(tmp_path_factory.mktemp("stack")) as stack:
        yield stack


class ErrorLog(logging.Handler):
    """Every ERROR (or worse) record from any logger: a crash, or a failure logged as one."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            self.records.append(record)

    def describe(self) -> str:
        return "\n".join(f"{r.name}: {r.getMessage()} {r.exc_info!r}" for r in self.records)


@pytest.fixture
def errors() -> Iterator[ErrorLog]:
    """Collects errors logged while the test runs (listeners, Bolt, the executor)."""
    handler = ErrorLog()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
