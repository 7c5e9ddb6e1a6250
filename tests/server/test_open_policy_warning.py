"""Starting with an open policy (no deployers, no admins) logs a WARNING first thing."""

from __future__ import annotations

import pytest

from bot.config.settings import load_settings
from bot.serve import run_serve

SIGNING_SECRET = "open-policy-tests-signing-secret"  # made up for these tests


def _start_without_a_token(capsys: pytest.CaptureFixture[str], **policy: object) -> str:
    # No bot token: run_serve exits 2 right after its start-up checks, having logged them.
    settings = load_settings(slack_signing_secret=SIGNING_SECRET, **policy)
    assert run_serve(simulate=True, http=True, port=0, settings=settings) == 2
    return capsys.readouterr().err


def test_an_open_policy_is_a_warning_at_start(capsys: pytest.CaptureFixture[str]) -> None:
    err = _start_without_a_token(capsys)
    (line,) = [line for line in err.splitlines() if "Open policy" in line]
    assert " WARNING bot.serve: " in line
    assert "DYNAMOTE_DEPLOYERS and DYNAMOTE_ADMINS are empty" in line


def test_a_set_policy_starts_without_the_warning(capsys: pytest.CaptureFixture[str]) -> None:
    err = _start_without_a_token(capsys, deployers=["S0DEPLOYERS"], admins=["U0ADMIN"])
    assert "Open policy" not in err
