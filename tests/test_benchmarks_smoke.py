"""Smoke test of the benchmark code: every section's function at its smallest size with tiny
counts, to prove it runs and returns well-formed rows. No timing is asserted (the machine is
shared); the real figures come from ``benchmarks/run.py``."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import run  # noqa: E402  (benchmarks/run.py)

pytestmark = pytest.mark.runs_long  # every benchmark section

ROW_KEYS = {"section", "what", "target", "met"}

SMALLEST: dict[str, Callable[[], list[dict[str, Any]]]] = run.QUICK


def test_every_section_has_a_smoke_run() -> None:
    assert set(SMALLEST) == set(run.SECTIONS)


@pytest.mark.parametrize("section", sorted(SMALLEST))
def test_section_runs_and_returns_rows(section: str, capsys: pytest.CaptureFixture[str]) -> None:
    rows = SMALLEST[section]()
    assert rows
    for row in rows:
        assert set(row) >= ROW_KEYS, row
        assert row.get("errors", 0) == 0 and row.get("missing", 0) == 0, row
    run.print_table(rows, {**run._machine(), "loadavg_end": None})
    assert rows[0]["what"] in capsys.readouterr().out
