"""Fixtures for policy tests over real HTTP: a stack built with the policy settings a test names."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.stacks import Stack, stack_maker


@pytest.fixture
def make_stack(tmp_path: Path) -> Iterator[Callable[..., Stack]]:
    with stack_maker(tmp_path) as make:
        yield make
