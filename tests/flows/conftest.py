"""The whole Slack app over real HTTP (``tests.stacks``): requests signed as Slack sends them
reach the real server (waitress + Bolt), the listeners talk to the Kubernetes stand-in (with the
simulated operator) through the official client, and to the Slack Web API stand-in through
slack_sdk.

Every message and view the app sends is checked against Block Kit's limits by the Slack
stand-in; a test fails at teardown if any was over a limit.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stacks import Stack, app_stack, stack_settings, stand_ins


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with stand_ins(tmp_path) as shared, app_stack(shared, stack_settings()) as running:
        yield running
