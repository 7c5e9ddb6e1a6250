"""Benchmarks at scale, called by ``benchmarks/run.py`` (sections ``scale``, ``burst``,
``serve``); each function returns rows like ``bench_startup``'s.

- scale: ``/dynamote list all`` and App Home with 1,000 and 10,000 Ready deployments (2 pods
  each) in the Kubernetes stand-in: time from the request sent to the answer received by the
  Slack stand-in (response_url / ``views.publish``), which also checks every answer against
  Block Kit's limits (a violation fails the row).
- burst: 200 deployments, 10 in each of 20 channels, turn Ready at once under the notifier
  (``NotifierService``, as ``dynamote serve`` runs it): every Running reply delivered, none
  twice, each channel's posts at least ``slack_channel_interval`` apart (Slack allows about
  one message per second per channel), and the time from the first DGD Ready to the last reply.
- serve: ``dynamote serve --http`` in a fresh process against the stand-ins: wall time from
  the process start to ``/readyz`` answering 200, and its resident memory once idle (after its
  first sweep over the seeded deployments).
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stack import NAMESPACES, PROVENANCE_KEY, SECRET, Served, running_stack, wait_until

ROOT = Path(__file__).resolve().parents[1]
SIZES = (1_000, 10_000)
# Time to the answer. A list or Home is something a person waits for: Slack gives the
# response_url 30 minutes, but about 1 s keeps a person's flow and 10 s is the limit of their
# attention, so: within 2 s at 1,000 deployments, within 5 s at 10,000.
ANSWER_TARGET_S = {1_000: 2.0, 10_000: 5.0}
BURST_DGDS, BURST_CHANNELS = 200, 20


def _seconds(value: float) -> float:
    return round(value, 3)


# --- list and App Home at scale ------------------------------------------------------------


def bench_scale(runs: int, *, sizes: tuple[int, ...] = SIZES) -> list[dict[str, Any]]:
    """Time to the answer of ``list all`` and App Home at each size; see the module doc."""
    rows = []
    for size in sizes:
        per_namespace = max(1, size // len(NAMESPACES))
        with running_stack(seeded=per_namespace) as served:
            count = max(1, min(runs, 3))
            _answer_times(served, "list", 1)  # warm: imports, connections, the first list
            for what, times in (
                ("list", _answer_times(served, "list", count)),
                ("home", _answer_times(served, "home", count)),
            ):
                violations = served.slack.violations()
                label = "`list all`" if what == "list" else "App Home"
                target = ANSWER_TARGET_S.get(size, 5.0)
                worst = max(times) if times else float("inf")
                rows.append(
                    {
                        "section": "scale",
                        "what": f"{label} -> answer, {per_namespace * len(NAMESPACES):,} DGDs",
                        "runs": len(times),
                        "median_s": _seconds(statistics.median(times)) if times else None,
                        "max_s": _seconds(worst),
                        "missing": count - len(times),
                        "violations": len(violations),
                        "target": f"<= {target:g} s, Block Kit limits",
                        "met": len(times) == count and worst <= target and not violations,
                    }
                )
    return rows


def _answer_times(served: Served, what: str, count: int) -> list[float]:
    from tests.standins.slack_requests import event_callback, slash_command  # noqa: PLC0415

    times = []
    for index in range(count):
        if what == "list":
            name = f"scale-{time.time_ns()}-{index}"
            request = slash_command("list all", response_url=served.slack.response_url(name))
            method, match = "response_url", lambda c, n=name: c.path.endswith(f"/{n}")
        else:
            request = event_callback({"type": "app_home_opened", "user": "U0ALICE", "tab": "home"})
            method, match = "views.publish", lambda _c: True
        before = len(served.slack.calls(method))
        sent = time.time()
        _post(served.port, request)
        if not wait_until(lambda m=method, b=before: len(served.slack.calls(m)) > b, timeout=60):
            continue
        answer = [c for c in served.slack.calls(method)[before:] if match(c)]
        if answer and answer[0].ok:
            times.append(answer[0].at - sent)
    return times


def _post(port: int, request: Any) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        connection.request(
            "POST", "/slack/events", body=request.body, headers=request.headers(SECRET)
        )
        answer = connection.getresponse()
        answer.read()
        if answer.status != 200:
            raise RuntimeError(f"HTTP {answer.status}")
    finally:
        connection.close()


# --- a burst of Ready ----------------------------------------------------------------------


def bench_burst(
    runs: int, *, count: int = BURST_DGDS, channels: int = BURST_CHANNELS
) -> list[dict[str, Any]]:
    """``count`` DGDs across ``channels`` channels turn Ready at once; see the module doc."""
    import bench_notifier  # noqa: PLC0415  (benchmarks/bench_notifier.py)
    from slack_sdk import WebClient  # noqa: PLC0415

    from bot.cluster import Cluster  # noqa: PLC0415
    from bot.composition import build_dynamote  # noqa: PLC0415
    from bot.sim.k8s.standin import StandIn  # noqa: PLC0415
    from bot.sim.operator.controller import SimOperator  # noqa: PLC0415
    from bot.sim.slack.web_api import SlackStandIn  # noqa: PLC0415

    ready_at: dict[str, float] = {}
    with StandIn(dgd_versions=("v1beta1",)) as standin, SlackStandIn() as slack:
        standin.store.subscribe(lambda event: bench_notifier._note_ready(event, ready_at))
        with tempfile.TemporaryDirectory() as tmp:
            kubeconfig = standin.write_kubeconfig(Path(tmp) / "kubeconfig")
            settings = bench_notifier._settings(sweep_interval=30.0, lease_duration=5)
            cluster = Cluster(kubeconfig, settings=settings)
            for index in range(count):
                channel = f"C0BURST{index % channels:02d}"
                card = slack.add_message(channel, text="card")
                name = f"burst-{index:03d}"
                cluster.create_dgd(bench_notifier._template(name, channel=channel, thread_ts=card))
            client = WebClient(token=slack.token, base_url=slack.url)
            dynamote = build_dynamote(settings, cluster, web_client=client)
            service = dynamote.notifier
            assert service is not None
            service.start()
            # Its first sweep learns every DGD, draws each card (the stand-in's are blank) and
            # records that on the DGD; once all are recorded, they turn Ready.
            wait_until(lambda: _all_recorded(standin.store, count), 60 + count)
            # GPUs for every one of them (one each): none waits for another to go.
            operator = SimOperator(
                standin.store, ready_after=0.0, tick=0.05, nodes=-(-count // 8), gpus_per_node=8
            )
            operator.start()
            wait_until(lambda: len(_running(slack)) >= count, 30 + count)
            operator.stop()
            service.stop()
            dynamote.close()
            cluster.close()
        posts = [c for c in slack.calls("chat.postMessage") if c.ok]
        updates = [c.at for c in slack.calls("chat.update") if c.ok]
    running = _running(slack)
    doubled = sum(n - 1 for n in Counter(_name(c) for c in posts if " is running" in _text(c))
                  .values() if n > 1)  # fmt: skip
    closest = _closest_posts(posts)
    interval = settings.slack_channel_interval
    first_ready = min(ready_at.values()) if ready_at else float("nan")
    last = max(running.values()) if running else float("nan")
    paced = closest >= interval - 0.05  # the stand-in stamps arrival; allow for the trip
    target = _burst_target(count, channels, interval)
    return [
        {
            "section": "notifier",
            "what": f"burst: {count} Ready at once in {channels} channels -> last reply",
            "runs": len(running),
            "median_s": None,
            "max_s": _seconds(last - first_ready),
            "missing": count - len(running),
            "doubled": doubled,
            "closest_posts_s": _seconds(closest),
            "card_updates": len([at for at in updates if at >= first_ready]),
            "target": f"all, once, >={interval:g} s apart/channel, <={target:g} s",
            "met": len(running) == count
            and doubled == 0
            and paced
            and last - first_ready <= target,
        }
    ]


def _all_recorded(store: Any, count: int) -> bool:
    from bot.domain.notified import ANNOTATION_NOTIFIED  # noqa: PLC0415

    dgds = store.list("dynamographdeployments")[0]
    recorded = [d for d in dgds if ANNOTATION_NOTIFIED in d["metadata"].get("annotations", {})]
    return len(recorded) >= count


def _burst_target(count: int, channels: int, interval: float = 1.0) -> float:
    """Replies in a channel go out ``interval`` apart (Slack: about one message a second per
    channel), so the last cannot leave before (per channel - 1) intervals: the floor. Half as
    much again, and 1.5 s for the watch to see the first change."""
    per_channel = -(-count // channels)
    return 1.5 * (per_channel - 1) * interval + 1.5


def _text(call: Any) -> str:
    return str(call.params.get("text", ""))


def _name(call: Any) -> str:
    return _text(call).split(" ", 1)[0]


def _running(slack: Any) -> dict[str, float]:
    found: dict[str, float] = {}
    for call in slack.calls("chat.postMessage"):
        if call.ok and " is running" in _text(call):
            found.setdefault(_name(call), call.at)
    return found


def _closest_posts(posts: list[Any]) -> float:
    """The shortest time between two posts in the same channel."""
    by_channel: dict[str, list[float]] = defaultdict(list)
    for call in posts:
        by_channel[str(call.params.get("channel"))].append(call.at)
    gaps = [
        later - earlier
        for times in by_channel.values()
        for earlier, later in zip(sorted(times), sorted(times)[1:], strict=False)
    ]
    return min(gaps) if gaps else float("inf")


# --- dynamote serve ------------------------------------------------------------------------

# Ready by the pod's first readiness probe, 3 s after start (manifests/deployment.yaml).
SERVE_READY_TARGET_S = 3.0
SERVE_RSS_TARGET_MB = 192.0  # the container's memory request (manifests/deployment.yaml)
SERVE_DGDS = 1_000


def bench_serve(runs: int, *, seeded: int = SERVE_DGDS) -> list[dict[str, Any]]:
    """``dynamote serve`` start-up to ready, and its idle memory; see the module doc."""
    import bench_notifier  # noqa: PLC0415

    from bot.sim.k8s.standin import StandIn, default_crd_path  # noqa: PLC0415
    from bot.sim.slack.web_api import SlackStandIn  # noqa: PLC0415

    starts, rss = [], []
    with (
        StandIn(crd_path=default_crd_path(), seed_namespaces=("default",)) as standin,
        SlackStandIn() as slack,
        tempfile.TemporaryDirectory() as tmp,
    ):
        bench_notifier._populate(standin.store, seeded, with_pods=True)
        kubeconfig = standin.write_kubeconfig(Path(tmp) / "kubeconfig")
        for _ in range(max(1, min(runs, 3))):
            started, idle_mb = _serve_once(kubeconfig, slack)
            starts.append(started)
            rss.append(idle_mb)
    return [
        {
            "section": "serve",
            "what": "dynamote serve: start -> /readyz 200",
            "runs": len(starts),
            "median_s": _seconds(statistics.median(starts)),
            "max_s": _seconds(max(starts)),
            "target": f"<= {SERVE_READY_TARGET_S:g} s",
            "met": max(starts) <= SERVE_READY_TARGET_S,
        },
        {
            "section": "serve",
            "what": f"dynamote serve: idle RSS, {seeded:,} DGDs swept",
            "runs": len(rss),
            "median_s": None,
            "max_s": None,
            "peak_rss_mb": round(max(rss), 1),
            "target": f"<= {SERVE_RSS_TARGET_MB:g} MB",
            "met": max(rss) <= SERVE_RSS_TARGET_MB,
        },
    ]


def _serve_once(kubeconfig: Path, slack: Any) -> tuple[float, float]:
    """(seconds to /readyz 200, idle RSS in MB) of one ``dynamote serve`` process."""
    env = {
        **os.environ,
        "KUBECONFIG": str(kubeconfig),
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.url,
        "DYNAMOTE_DEFAULT_NAMESPACE": "default",
        "DYNAMOTE_NAMESPACES": "default",
        "DYNAMOTE_API_VERSION": "nvidia.com/v1beta1",
        "DYNAMOTE_PROVENANCE_KEY": PROVENANCE_KEY,
        "DYNAMOTE_LOG_LEVEL": "WARNING",
    }
    env.pop("SLACK_APP_TOKEN", None)
    port = _free_port()
    started = time.perf_counter()
    child = subprocess.Popen(
        [*_dynamote(), "serve", "--http", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        if not wait_until(lambda: _ready(port), timeout=60, step=0.02):
            raise RuntimeError(f"dynamote serve never got ready: {_stderr(child)}")
        took = time.perf_counter() - started
        # Idle: its first sweep (a full list of every DGD) is done and nothing is happening.
        wait_until(lambda: _swept(port), timeout=60)
        time.sleep(1.0)  # measured at rest, not as a barrier
        return took, _rss_mb(child.pid)
    finally:
        child.terminate()
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(timeout=5)


def _dynamote() -> list[str]:
    import shutil  # noqa: PLC0415

    script = shutil.which("dynamote", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "bot.cli"]


def _free_port() -> int:
    import socket  # noqa: PLC0415

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(port: int, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def _ready(port: int) -> bool:
    try:
        return _get(port, "/readyz")[0] == 200
    except OSError:
        return False


def _swept(port: int) -> bool:
    """The sweep-duration histogram counted one sweep (``/metrics``)."""
    try:
        _, body = _get(port, "/metrics")
    except OSError:
        return False
    for line in body.decode().splitlines():
        if line.startswith("dynamote_sweep_duration_seconds_count"):
            return float(line.rsplit(" ", 1)[1]) >= 1
    return False


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _stderr(child: subprocess.Popen[str]) -> str:
    child.terminate()
    try:
        return (child.communicate(timeout=10)[1] or "")[-2000:]
    except subprocess.TimeoutExpired:
        return ""


__all__ = ["bench_burst", "bench_scale", "bench_serve"]

if __name__ == "__main__":
    threading.excepthook = lambda _args: None
    section = sys.argv[1] if len(sys.argv) > 1 else "scale"
    bench = {"scale": bench_scale, "burst": bench_burst, "serve": bench_serve}[section]
    print(json.dumps(bench(1), indent=1))
