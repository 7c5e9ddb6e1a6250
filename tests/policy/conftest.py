"""Fixtures for policy tests over real HTTP: a stack built with the policy settings a test names."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from app.conftest import Stack
from robustness.stacks import build_stack


@pytest.fixture
def make_stack(tmp_path: Path) -> Iterator[Callable[..., Stack]]:
    with ExitStack() as stacks:

        def make(**settings: Any) -> Stack:
            return stacks.enter_context(build_stack(tmp_path, **settings))

        yield make
