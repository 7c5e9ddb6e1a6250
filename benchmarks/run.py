"""Dynamote benchmarks: run with ``.venv/bin/python benchmarks/run.py``.

Prints a table and writes ``benchmarks/results/latest.json``. Everything runs on this machine
over loopback. Sections so far:

- startup: wall time of ``dynamote --help`` and ``dynamote render`` in fresh processes
  (target < 0.5 s each; the CLI imports pydantic models only for the subcommand it runs).
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def _dynamote() -> list[str]:
    script = shutil.which("dynamote", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "bot.cli"]


def _wall_times(command: Sequence[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True, timeout=60)
        times.append(time.perf_counter() - started)
    return times


def bench_startup(runs: int) -> list[dict[str, Any]]:
    rows = []
    for label, extra in (
        ("dynamote --help", ["--help"]),
        ("dynamote render Qwen/Qwen3-0.6B", ["render", "Qwen/Qwen3-0.6B"]),
    ):
        _wall_times([*_dynamote(), *extra], 1)  # warm the page cache
        times = _wall_times([*_dynamote(), *extra], runs)
        rows.append(
            {
                "section": "startup",
                "what": label,
                "runs": runs,
                "median_s": round(statistics.median(times), 3),
                "max_s": round(max(times), 3),
                "target": "< 0.5 s",
                "met": max(times) < 0.5,
            }
        )
    return rows


from notifier import bench_latency, bench_sweep  # noqa: E402  (benchmarks/notifier.py)

SECTIONS: dict[str, Callable[[int], list[dict[str, Any]]]] = {
    "startup": bench_startup,
    "notifier-latency": bench_latency,
    "notifier-sweep": bench_sweep,
}


def _machine() -> dict[str, Any]:
    import os  # noqa: PLC0415

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "when": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sections", nargs="*", choices=[*SECTIONS, []], default=list(SECTIONS))
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args(argv)
    rows: list[dict[str, Any]] = []
    for name in args.sections or SECTIONS:
        rows += SECTIONS[name](args.runs)
    print(f"{'section':<10} {'what':<40} {'median':>8} {'max':>8}  target   met")
    for row in rows:
        print(
            f"{row['section']:<10} {row['what']:<40} {row['median_s']:>7.3f}s {row['max_s']:>7.3f}s"
            f"  {row['target']:<8} {'yes' if row['met'] else 'NO'}"
        )
    RESULTS.mkdir(exist_ok=True)
    report = {"machine": _machine(), "rows": rows}
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
