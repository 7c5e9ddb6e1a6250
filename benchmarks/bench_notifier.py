"""Notifier benchmarks, called by ``benchmarks/run.py`` (sections ``notifier-latency`` and
``notifier-sweep``); each function returns rows like ``bench_startup``'s.

- latency: 20 deployments (one channel each, created 0.3 s apart) on the simulated operator
  with ``ready_after=1``; the NotifierService sweeps every 10 s, so only its watch can announce
  Running promptly. Measured from the moment the DGD's status turned ready in the stand-in's
  store to the moment the Slack stand-in received the Running reply (target p95 <= 2 s).
- sweep cost at 100, 1,000 and 10,000 ready DGDs, with and without pods (2 per DGD): the
  stand-in runs in this process; each size is swept in a fresh child process (``python
  benchmarks/bench_notifier.py sweep-child ...``) so its CPU time and peak RSS are its own. The
  child first does what ``dynamote serve`` does before its first sweep (the health probe and
  the lease tick, which load the Kubernetes client: their CPU is reported as start-up), then
  three sweeps: the first learns every DGD and writes the card ledger, the other two are
  steady (nothing to announce). Three such processes per size: the row's first sweep is
  their median, its steady sweeps all of theirs. API calls counted by the stand-in.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

NAMESPACE = "default"
IMAGE = "nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.4.0"
SIZES = (100, 1_000, 10_000)
SWEEPS_PER_CHILD = 3
# Fresh processes per size: CPU time on 2 shared cores moves by a third from one to the next
# (another process on the same core), so the first sweep is the median of three.
PROCESSES_PER_SIZE = 3
LEDGER = "bench-cards"  # the card ledger's ConfigMap
PROVENANCE_KEY = "benchmarks-provenance-key-made-up-0123456789"  # made up for benchmarks


def _template(name: str, *, channel: str, thread_ts: str | None) -> dict[str, Any]:
    from bot.domain.catalog import load_catalog  # noqa: PLC0415
    from bot.domain.manifest import SlackOrigin, render_dgd  # noqa: PLC0415
    from bot.domain.request import parse_request  # noqa: PLC0415

    request = parse_request(
        {"model": "Qwen/Qwen3-0.6B", "name": name, "namespace": NAMESPACE, "engine": "vllm"},
        catalog=load_catalog(),
    )
    origin = SlackOrigin(user="U0BENCH", channel=channel, thread_ts=thread_ts)
    return _signed(render_dgd(request, image=IMAGE, origin=origin))


def _signed(dgd: dict[str, Any]) -> dict[str, Any]:
    """Signed as Dynamote signs what it creates, so the notifier treats it as its own."""
    return _provenance().signed_manifest(dgd)


@functools.cache
def _provenance() -> Any:
    from bot.domain.provenance import Provenance  # noqa: PLC0415

    return Provenance.from_settings(_settings())


def _settings(**overrides: Any) -> Any:
    from bot.config.settings import load_settings  # noqa: PLC0415

    values: dict[str, Any] = {
        "default_namespace": NAMESPACE,
        "namespaces": [NAMESPACE],
        "api_version": "nvidia.com/v1beta1",
        "k8s_read_timeout": 60.0,
        "provenance_key": PROVENANCE_KEY,
    }
    values.update(overrides)
    return load_settings(**values)


# --- latency --------------------------------------------------------------------------------


def bench_latency(runs: int, *, count: int = 20) -> list[dict[str, Any]]:
    """Ready -> Running reply, over ``count`` deployments, with a 10 s sweep interval."""
    from slack_sdk import WebClient  # noqa: PLC0415

    from bot.cluster import Cluster  # noqa: PLC0415
    from bot.composition import build_dynamote  # noqa: PLC0415
    from bot.sim.k8s.standin import StandIn  # noqa: PLC0415
    from bot.sim.operator.controller import SimOperator  # noqa: PLC0415
    from bot.sim.slack.web_api import SlackStandIn  # noqa: PLC0415

    ready_at: dict[str, float] = {}
    with StandIn(dgd_versions=("v1beta1",)) as standin, SlackStandIn() as slack:
        standin.store.subscribe(lambda event: _note_ready(event, ready_at))
        operator = SimOperator(standin.store, ready_after=1.0, tick=0.05)
        operator.start()
        with tempfile.TemporaryDirectory() as tmp:
            kubeconfig = standin.write_kubeconfig(Path(tmp) / "kubeconfig")
            settings = _settings(sweep_interval=10.0, lease_duration=5)
            cluster = Cluster(kubeconfig, settings=settings)
            client = WebClient(token=slack.token, base_url=slack.url)
            dynamote = build_dynamote(settings, cluster, web_client=client)
            service = dynamote.notifier
            assert service is not None
            service.start()
            _wait(lambda: service.notifier.resource_versions[0] is not None, 10)
            for index in range(count):
                name = f"lat-{index}"
                card = slack.add_message(f"C{index:08d}", text="card")
                dgd = _template(name, channel=f"C{index:08d}", thread_ts=card)
                cluster.create_dgd(dgd)
                time.sleep(0.3)
            _wait(lambda: len(_running_replies(slack)) >= count, 30)
            service.stop()
            dynamote.close()
            cluster.close()
        operator.stop()
        replied = _running_replies(slack)
    latencies = sorted(replied[name] - ready_at[name] for name in replied if name in ready_at)
    p50 = statistics.median(latencies)
    p95 = latencies[max(round(0.95 * len(latencies)) - 1, 0)]
    return [
        {
            "section": "notifier",
            "what": f"Ready -> Running reply, {len(latencies)} DGDs, sweep 10 s",
            "runs": len(latencies),
            "median_s": round(p50, 3),
            "max_s": round(p95, 3),
            "p95_s": round(p95, 3),
            "worst_s": round(max(latencies), 3),
            "target": "p95<=2 s",
            "met": p95 <= 2.0,
        }
    ]


def _note_ready(event: Any, ready_at: dict[str, float]) -> None:
    if event.resource != "dynamographdeployments":
        return
    name = event.object["metadata"]["name"]
    if (event.object.get("status") or {}).get("state") == "successful":
        ready_at.setdefault(name, time.time())


def _running_replies(slack: Any) -> dict[str, float]:
    found: dict[str, float] = {}
    for call in slack.calls("chat.postMessage"):
        text = str(call.params.get("text", ""))
        if call.ok and " is running" in text:
            found.setdefault(text.split(" ", 1)[0], call.at)
    return found


def _wait(condition: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark condition not met")
        time.sleep(0.02)


# --- sweep cost ---------------------------------------------------------------------------


def bench_sweep(
    runs: int,
    *,
    sizes: tuple[int, ...] = SIZES,
    pods: tuple[bool, ...] = (False, True),
    processes: int = PROCESSES_PER_SIZE,
) -> list[dict[str, Any]]:
    """CPU, peak RSS and API calls of one steady-state sweep at each size."""
    rows = []
    for with_pods in pods:
        for size in sizes:
            rows.append(_sweep_row(size, with_pods=with_pods, processes=processes))
    calls = {row["api_calls"] for row in rows}
    for row in rows:
        row["calls_constant"] = len(calls) == 1
    return rows


def _sweep_row(size: int, *, with_pods: bool, processes: int) -> dict[str, Any]:
    from bot.sim.k8s.standin import StandIn  # noqa: PLC0415
    from bot.sim.slack.web_api import SlackStandIn  # noqa: PLC0415

    results = []
    with StandIn(dgd_versions=("v1beta1",)) as standin, SlackStandIn() as slack:
        started = time.perf_counter()
        _populate(standin.store, size, with_pods=with_pods)
        populate_s = time.perf_counter() - started
        with tempfile.TemporaryDirectory() as tmp:
            kubeconfig = standin.write_kubeconfig(Path(tmp) / "kubeconfig")
            for _ in range(processes):
                # Each process starts as the first did: no card ledger yet (it writes one).
                if standin.store.get("configmaps", NAMESPACE, LEDGER) is not None:
                    standin.store.delete("configmaps", NAMESPACE, LEDGER)
                standin.reset_api_calls()
                child = subprocess.run(
                    [sys.executable, __file__, "sweep-child", str(kubeconfig), slack.url,
                     slack.token],
                    capture_output=True,
                    text=True,
                    check=True,
                    timeout=600,
                )  # fmt: skip
                calls = sum(standin.api_calls().values())
                results.append(json.loads(child.stdout.strip().splitlines()[-1]))
                results[-1]["calls"] = calls
        posted = len(slack.calls("chat.postMessage")) + len(slack.calls("chat.update"))
    # The first sweep of each process learns every DGD; the others are steady.
    colds = sorted(result["cpu_s"][0] for result in results)
    cold_cpu = statistics.median(colds)
    cpu = [seconds for result in results for seconds in result["cpu_s"][1:]]
    if len({result["calls"] for result in results}) != 1:
        raise RuntimeError(f"the processes made different calls: {[r['calls'] for r in results]}")
    per_sweep_calls = calls / SWEEPS_PER_CHILD
    rss = max(result["max_rss_mb"] for result in results)
    result = results[len(results) // 2]
    label = f"sweep {size:>6,} DGDs {'+ 2 pods each' if with_pods else 'no pods'}"
    return {
        "section": "notifier",
        "what": label,
        "runs": len(cpu),
        "median_s": round(statistics.median(cpu), 3),
        "max_s": round(max(cpu), 3),
        "cold_cpu_s": round(cold_cpu, 3),
        "cold_cpu_range_s": [round(colds[0], 3), round(colds[-1], 3)],
        "startup_cpu_s": round(result["startup_cpu_s"], 3),
        "wall_s": [round(w, 3) for w in result["wall_s"]],
        "api_calls": per_sweep_calls,
        "slack_calls": posted,
        "peak_rss_mb": round(rss, 1),
        "rss_before_mb": round(result["rss_before_mb"], 1),
        "populate_s": round(populate_s, 1),
        "target": "cpu (first too)<=1 s, rss<=200 MB" if size == 10_000 else "calls constant",
        "met": (max(cpu) <= 1.0 and cold_cpu <= 1.0 and rss <= 200) if size == 10_000 else True,
    }


def _populate(store: Any, size: int, *, with_pods: bool) -> None:
    """``size`` ready DGDs, each with its card and 'Running' already announced."""
    from bot.domain.manifest import ANNOTATION_THREAD  # noqa: PLC0415
    from bot.domain.notified import ANNOTATION_NOTIFIED, Announced, encode  # noqa: PLC0415
    from bot.sim.operator.controller import make_ready  # noqa: PLC0415

    template = _template("bench", channel="C0BENCH", thread_ts="1700000000.000100")
    record = encode(Announced("Running", datetime.now(UTC), card="Running 2/2"))
    template["metadata"]["annotations"][ANNOTATION_NOTIFIED] = record
    template["metadata"]["annotations"][ANNOTATION_THREAD] = "1700000000.000100"
    for index in range(size):
        dgd = copy.deepcopy(template)
        dgd["metadata"]["name"] = f"bench-{index:05d}"
        make_ready(store, _signed(dgd), with_pods=with_pods)


def sweep_child(kubeconfig: str, slack_url: str, token: str) -> None:
    """In a fresh process: three sweeps; prints CPU and wall time of each and the peak RSS."""
    from slack_sdk import WebClient  # noqa: PLC0415

    from bot.cluster import Cluster  # noqa: PLC0415
    from bot.notifier.controller import Notifier  # noqa: PLC0415
    from bot.notifier.ledger import CardLedger  # noqa: PLC0415

    settings = _settings()
    cpu_start = time.process_time()
    cluster = Cluster(kubeconfig, settings=settings)
    # As ``dynamote serve`` before its first sweep: the health probe (server version, DGD
    # versions) and the lease tick that makes it the leader load and warm the Kubernetes
    # client; their CPU is reported apart (start-up), the sweeps' after it.
    if not cluster.cluster_status().reachable or not _elector(cluster, settings).tick():
        raise SystemExit("the start-up steps failed")
    startup_cpu = time.process_time() - cpu_start
    # As in production: the card ledger is read on the first sweep and kept after each.
    ledger = CardLedger(cluster, namespace=NAMESPACE, name=LEDGER)
    client = WebClient(token=token, base_url=slack_url)
    notifier = Notifier(cluster, client, settings, ledger=ledger)
    rss_before = _max_rss_mb()
    cpu, wall = [], []
    profile = os.environ.get("DYNAMOTE_BENCH_PROFILE")
    for index in range(SWEEPS_PER_CHILD):
        # DYNAMOTE_BENCH_PROFILE=PATH: an extra, profiled sweep before sweep N (default 1, a
        # steady one; 0 profiles the first sweep, and the measured ones are then all steady).
        if profile and index == int(os.environ.get("DYNAMOTE_BENCH_PROFILE_SWEEP", "1")):
            import cProfile  # noqa: PLC0415

            cProfile.runctx("notifier.sweep()", globals(), locals(), profile)
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        report = notifier.sweep()
        cpu.append(time.process_time() - cpu_start)
        wall.append(time.perf_counter() - wall_start)
        if report.errors:
            raise SystemExit(f"sweep errors: {report.errors[:3]}")
    out = {
        "cpu_s": cpu,
        "wall_s": wall,
        "startup_cpu_s": startup_cpu,
        "max_rss_mb": _max_rss_mb(),
        "rss_before_mb": rss_before,
    }
    print(json.dumps(out))


def _elector(cluster: Any, settings: Any) -> Any:
    from bot.notifier.leader import LeaderElector  # noqa: PLC0415

    return LeaderElector(
        cluster,
        namespace=NAMESPACE,
        name="bench-lease",
        identity="bench",
        lease_duration=settings.lease_duration,
    )


def _max_rss_mb() -> float:
    """Peak RSS of this process. Linux keeps ru_maxrss across fork+exec (the parent's, here
    the stand-in's), so read the new image's own high-water mark, VmHWM, when there is one."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "sweep-child":
        sweep_child(*sys.argv[2:5])
    else:
        mode = sys.argv[1] if len(sys.argv) > 1 else "all"
        threading.excepthook = lambda args: None  # daemon watch threads at exit
        if mode in ("all", "latency"):
            print(json.dumps(bench_latency(1), indent=1))
        if mode in ("all", "sweep"):
            print(json.dumps(bench_sweep(1), indent=1))
