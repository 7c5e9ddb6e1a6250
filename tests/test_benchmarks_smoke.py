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

import bench_capacity as capacity  # noqa: E402  (benchmarks/bench_capacity.py)
import bench_notifier as notifier  # noqa: E402  (benchmarks/bench_notifier.py)
import interactions  # noqa: E402  (benchmarks/interactions.py)
import run  # noqa: E402  (benchmarks/run.py)

ROW_KEYS = {"section", "what", "target", "met"}

SMALLEST: dict[str, Callable[[], list[dict[str, Any]]]] = {
    "ack": lambda: interactions.bench_ack(
        1, concurrency=(2,), latencies=(0.0,), commands=("status",)
    ),
    "modal": lambda: interactions.bench_modal(1, cells=((0.0, 2),)),
    "deploy": lambda: interactions.bench_deploy(1, latencies=(0.0,)),
    "notifier-latency": lambda: notifier.bench_latency(1, count=2),
    "notifier-sweep": lambda: notifier.bench_sweep(1, sizes=(100,), pods=(False,)),
    "startup": lambda: run.bench_startup(1),
    "capacity": lambda: capacity.bench_capacity(1, nodes=10, pods=80),
}


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
