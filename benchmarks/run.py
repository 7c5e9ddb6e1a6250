"""Dynamote benchmarks: run with ``.venv/bin/python benchmarks/run.py [SECTION ...]``.

Prints one table and writes ``benchmarks/results/latest.json`` (rows, the machine, and the
load average at start and end). Everything runs on this machine over loopback, against the
stand-ins. Sections:

- ack: slash-command ack p50/p99 through the real HTTP stack vs a bare Bolt app, every cell
  measured ``--ack-rounds`` times interleaved (``benchmarks/interactions.py``);
- modal: slash command -> ``views.open`` at Slack; deploy: view submission -> DGD exists;
- notifier-latency, notifier-sweep, burst: ``benchmarks/bench_notifier.py`` and
  ``benchmarks/bench_scale.py``;
- scale: ``list all`` and App Home with 1,000 and 10,000 deployments; serve: ``dynamote
  serve`` start-up to ready and idle memory (``benchmarks/bench_scale.py``);
- capacity: one GPU capacity read at 1,000 nodes and 50,000 pods (``benchmarks/bench_capacity.py``);
- tryit: what the bot adds to Try it's time to first token, against calling the frontend
  directly (``benchmarks/bench_tryit.py``);
- startup: wall time of ``dynamote --help`` and ``dynamote render`` in fresh processes
  (target < 0.5 s each), with the interpreter and pydantic + yaml floors for comparison.

``--quick`` runs every section at its smallest size with tiny counts: a smoke check that the
whole run works end to end, not figures.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
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


# What render cannot go below without dropping a library: the interpreter, and the libraries
# it uses (pydantic, with one model built, for the catalog, request and settings; yaml).
_FLOORS = (
    ("floor: python -c pass", [sys.executable, "-c", "pass"]),
    (
        "floor: yaml + one pydantic model",
        [
            sys.executable,
            "-c",
            "import yaml, pydantic\nclass M(pydantic.BaseModel):\n    x: int = 0\nM()",
        ],
    ),
)


def bench_startup(runs: int) -> list[dict[str, Any]]:
    rows = []
    for label, command in (
        ("dynamote --help", [*_dynamote(), "--help"]),
        ("dynamote render Qwen/Qwen3-0.6B", [*_dynamote(), "render", "Qwen/Qwen3-0.6B"]),
        *_FLOORS,
    ):
        _wall_times(command, 1)  # warm the page cache
        times = _wall_times(command, runs)
        floor = label.startswith("floor")
        rows.append(
            {
                "section": "startup",
                "what": label,
                "runs": runs,
                "median_s": round(statistics.median(times), 3),
                "max_s": round(max(times), 3),
                "target": "reference" if floor else "< 0.5 s",
                "met": True if floor else max(times) < 0.5,
            }
        )
    return rows


sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_capacity import bench_capacity  # noqa: E402  (benchmarks/bench_capacity.py)
from bench_notifier import bench_latency, bench_sweep  # noqa: E402  (benchmarks/bench_notifier.py)
from bench_scale import bench_burst, bench_scale, bench_serve  # noqa: E402
from bench_tryit import bench_tryit  # noqa: E402  (benchmarks/bench_tryit.py)
from interactions import bench_ack, bench_deploy, bench_modal  # noqa: E402

ACK_ROUNDS = 3

SECTIONS: dict[str, Callable[[int], list[dict[str, Any]]]] = {
    "ack": lambda runs: bench_ack(runs, rounds=ACK_ROUNDS),
    "modal": bench_modal,
    "deploy": bench_deploy,
    "notifier-latency": bench_latency,
    "notifier-sweep": bench_sweep,
    "burst": bench_burst,
    "scale": bench_scale,
    "serve": bench_serve,
    "capacity": bench_capacity,
    "tryit": bench_tryit,
    "startup": bench_startup,
}

# Every section at its smallest, for ``--quick`` (and tests/test_benchmarks_smoke.py).
QUICK: dict[str, Callable[[], list[dict[str, Any]]]] = {
    "ack": lambda: bench_ack(1, concurrency=(2,), latencies=(0.0,), commands=("status",)),
    "modal": lambda: bench_modal(1, cells=((0.0, 2),)),
    "deploy": lambda: bench_deploy(1, latencies=(0.0,)),
    "notifier-latency": lambda: bench_latency(1, count=2),
    "notifier-sweep": lambda: bench_sweep(1, sizes=(100,), pods=(False,), processes=1),
    "burst": lambda: bench_burst(1, count=4, channels=2),
    "scale": lambda: bench_scale(1, sizes=(20,)),
    "serve": lambda: bench_serve(1, seeded=10),
    "startup": lambda: bench_startup(1),
    "capacity": lambda: bench_capacity(1, nodes=10, pods=80),
    "tryit": lambda: bench_tryit(1, count=2),
}

# Extra fields shown in the table's note column, when a row has them.
_NOTES = (
    ("ratio_p99_to_bare", "p99/bare={}x"),
    ("p99_range_s", "p99 over rounds={}s"),
    ("errors", "non-200={}"),
    ("missing", "missing={}"),
    ("violations", "Block Kit violations={}"),
    ("doubled", "doubled={}"),
    ("closest_posts_s", "closest posts in a channel={}s"),
    ("card_updates", "card updates={}"),
    ("submit_ack_max_s", "submit ack max={}s"),
    ("api_calls", "calls={}"),
    ("peak_rss_mb", "rss={} MB"),
    ("cold_cpu_s", "first sweep cpu={}s"),
    ("cold_cpu_range_s", "first over processes={}s"),
    ("first_read_cpu_s", "first read cpu={}s"),
    ("startup_cpu_s", "start-up cpu={}s"),
    ("p95_s", "p95={}s"),
    ("direct_p50_s", "direct p50={}s"),
    ("direct_p99_s", "direct p99={}s"),
)


# Causes of the misses, found with the profiler and the what-if rows (see the report); the
# note is attached to each row that misses its target.
_CAUSES = (
    (
        lambda r: r["section"] == "ack" and r.get("errors"),
        "requests refused or cut off (non-200): see the child's log (DYNAMOTE_BENCH_LOG=1)",
    ),
    (
        lambda r: r["section"] == "ack" and r.get("cluster_ms") == 0,
        "the previous requests' answers (cluster reads, Block Kit, replies) and the stand-ins"
        " share the 2 cores with the ack; back-to-back load keeps them busy",
    ),
    (
        lambda r: r["section"] == "ack",
        "50-sample p99 is the 2nd-worst ack: one scheduling hiccup on the busy cores",
    ),
    (
        lambda r: r["section"] == "notifier" and "burst" in r["what"],
        "replies and card redraws are paced 1 s per channel, by one thread: see card updates",
    ),
    (
        lambda r: r["section"] in ("scale", "serve"),
        "compare the load average: the 2 cores are shared (see the README)",
    ),
    (
        lambda r: r["section"] == "notifier" and "10,000" in r["what"],
        "first sweep: every DGD judged once (provenance, status, card, record: bot.notifier"
        ".controller._consider), ~80 us each; CPU time moves by a third between processes (range)",
    ),
    (
        lambda r: r["section"] == "tryit",
        "the bot's part: the pool, the deployment's lookup, the view, views.update; see"
        " bot_p50_s/bot_p99_s in the JSON",
    ),
    (
        lambda r: r["section"] == "startup",
        "pydantic + yaml are a ~0.3 s floor (floor row); +-25 % run to run on 2 busy cores",
    ),
)


def explain_misses(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        if row["met"] or row.get("note"):
            continue
        for applies, cause in _CAUSES:
            if applies(row):
                row["note"] = cause
                break


def _machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "when": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
    }


def _note(row: dict[str, Any]) -> str:
    parts = [fmt.format(row[key]) for key, fmt in _NOTES if row.get(key) not in (None, 0)]
    if row.get("note"):
        parts.append(str(row["note"]))
    return ", ".join(parts)


def print_table(rows: list[dict[str, Any]], machine: dict[str, Any]) -> None:
    """One table: p50 (median) and p99 (max where there is no p99), target, met, notes."""
    print(
        f"machine: {machine['cpus']} cpus, Python {machine['python']}, {machine['platform']}; "
        f"load avg start {machine['loadavg_start']} end {machine.get('loadavg_end')}"
    )
    head = f"{'section':<9} {'what':<48} {'n':>4} {'p50/med':>8} {'p99/max':>8}"
    print(f"{head}  {'target':<30} met  note")
    for row in rows:
        high = row.get("p99_s", row.get("max_s"))
        median = row.get("median_s")
        print(
            f"{row['section']:<9} {row['what']:<48} {row.get('runs', ''):>4} "
            f"{'-' if median is None else f'{median:.3f}s':>8} "
            f"{'-' if high is None else f'{high:.3f}s':>8}  {row['target']:<30} "
            f"{'yes' if row['met'] else 'NO ':<4} {_note(row)}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sections", nargs="*", choices=[*SECTIONS, []], default=[])
    parser.add_argument("--runs", type=int, default=10, help="scales request and run counts")
    parser.add_argument(
        "--ack-rounds", type=int, default=ACK_ROUNDS, help="times each ack cell is measured"
    )
    parser.add_argument("--quick", action="store_true", help="smallest sizes: a smoke check")
    args = parser.parse_args(argv)
    threading.excepthook = lambda _args: None  # daemon watch threads cut off at exit
    # Without a handler, Python prints warnings to stderr: Bolt's "didn't call ack()" (counted
    # in the rows as non-200 answers) and background work cut off when a stack stops.
    logging.getLogger().addHandler(logging.NullHandler())
    machine = _machine()
    rows: list[dict[str, Any]] = []
    for name in args.sections or SECTIONS:
        started = time.perf_counter()
        if args.quick:
            rows += QUICK[name]()
        elif name == "ack":
            rows += bench_ack(args.runs, rounds=args.ack_rounds)
        else:
            rows += SECTIONS[name](args.runs)
        print(f"[{name}: {time.perf_counter() - started:.0f} s]", file=sys.stderr, flush=True)
    machine["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    explain_misses(rows)
    print_table(rows, machine)
    RESULTS.mkdir(exist_ok=True)
    report = {
        "machine": machine,
        "sections": args.sections or list(SECTIONS),
        "quick": args.quick,
        "rows": rows,
    }
    (RESULTS / ("quick.json" if args.quick else "latest.json")).write_text(
        json.dumps(report, indent=2)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
