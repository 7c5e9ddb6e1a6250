"""The whole Slack app over real HTTP for benchmarks, assembled as ``tests/stacks.py`` does.

``running_stack()`` starts, in this process, the Kubernetes stand-in (seeded, with the
simulated operator) and the Slack Web API stand-in; and, in a child process of its own (as in
production, so the stand-ins do not take its GIL), the bot: the Cluster client, the Bolt app
with every listener, and the production server stack (``build_wsgi_app`` + ``serve_http``, 8
waitress threads, as ``dynamote serve``). ``bare_stack()`` serves a Bolt App whose only handler
acks, through the same server stack, in a child process too: with Bolt's default
``process_before_response=False`` (the baseline), or True (as ours, for reference).

On exit the child stops its server and drops listener work still queued behind a slow
cluster, so a benchmark cell cannot leak load into the next one. The child is
``python benchmarks/stack.py serve ...``; it prints its port and serves until its stdin closes.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SECRET = "benchmark-signing-secret"  # made up; the load generator signs with it
NAMESPACES = ("team-a", "team-b")
IMAGE = "nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.4.0"
PROVENANCE_KEY = "benchmarks-provenance-key-made-up-0123456789"  # made up for benchmarks
SEEDED = 10  # ready DGDs per namespace, so `list` and `status` read real objects


@dataclass
class Served:
    """A running server (``port``) and the stand-ins behind it (``k8s`` None when bare)."""

    port: int
    slack: Any  # SlackStandIn
    k8s: Any = None  # StandIn

    @property
    def bare(self) -> bool:
        return self.k8s is None

    def slow_cluster(self, seconds: float) -> None:
        """Every Kubernetes API answer takes ``seconds`` longer (the stand-in's fault)."""
        if self.k8s is not None and seconds > 0:
            self.k8s.faults.add_latency(seconds)


def seed_name(index: int) -> str:
    return f"seeded-{index:05d}"


def _seed(store: Any, per_namespace: int = SEEDED) -> None:
    from bot.config.settings import load_settings  # noqa: PLC0415
    from bot.domain.catalog import load_catalog  # noqa: PLC0415
    from bot.domain.manifest import SlackOrigin, render_dgd  # noqa: PLC0415
    from bot.domain.provenance import Provenance  # noqa: PLC0415
    from bot.domain.request import parse_request  # noqa: PLC0415
    from bot.sim.operator.controller import make_ready  # noqa: PLC0415

    catalog = load_catalog()
    request = parse_request(
        {"model": "Qwen/Qwen3-0.6B", "name": "seed", "namespace": NAMESPACES[0], "engine": "vllm"},
        catalog=catalog,
    )
    origin = SlackOrigin(user="U0ALICE", channel="C0GENERAL", thread_ts=None)
    template = render_dgd(request, image=IMAGE, origin=origin)
    # Signed as Dynamote signs what it creates, so the app shows them as its own.
    signer = Provenance.from_settings(load_settings(provenance_key=PROVENANCE_KEY))
    for namespace in NAMESPACES:
        for index in range(per_namespace):
            dgd = copy.deepcopy(template)
            dgd["metadata"].update(name=seed_name(index), namespace=namespace)
            make_ready(store, signer.signed_manifest(dgd), with_pods=True)
            _add_services(store, namespace, seed_name(index))


def _add_services(store: Any, namespace: str, name: str) -> None:
    """Each component's Service and Endpoints, rendered as the simulated operator renders them
    (``make_ready`` writes only the DGD and its pods)."""
    from bot.sim.operator.plan import plan_components  # noqa: PLC0415
    from bot.sim.operator.services import render_endpoints, render_service  # noqa: PLC0415

    dgd = store.get("dynamographdeployments", namespace, name)
    for plan in plan_components(dgd):
        service = store.create("services", render_service(dgd, plan))
        selector = ",".join(f"{k}={v}" for k, v in service["spec"]["selector"].items())
        pods, _ = store.list("pods", namespace, label_selector=selector)
        store.create("endpoints", render_endpoints(service, pods))


@contextmanager
def _child(*args: str) -> Iterator[int]:
    """``stack.py serve *args`` in a child process; yields its port, stops it on exit."""
    child = subprocess.Popen(
        [sys.executable, __file__, "serve", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()  # the child's first line, once it serves
        if not line:
            raise RuntimeError(f"benchmark server did not start (exit {child.wait(10)})")
        yield int(json.loads(line)["port"])
    finally:
        if child.stdin is not None:
            child.stdin.close()  # the child's signal to stop
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(timeout=5)


@contextmanager
def running_stack(*, seeded: int = SEEDED) -> Iterator[Served]:
    """Our app, its listeners, the stand-ins; see the module docstring. ``seeded``: Ready
    DGDs (2 pods each) per namespace."""
    from bot.sim.k8s.standin import StandIn, default_crd_path  # noqa: PLC0415
    from bot.sim.operator.controller import SimOperator  # noqa: PLC0415
    from bot.sim.slack.web_api import SlackStandIn  # noqa: PLC0415

    with (
        StandIn(crd_path=default_crd_path(), seed_namespaces=NAMESPACES) as k8s,
        SlackStandIn() as slack,
        tempfile.TemporaryDirectory() as tmp,
    ):
        _seed(k8s.store, seeded)
        operator = SimOperator(k8s.store, ready_after=0.3, tick=0.05)
        operator.start()
        kubeconfig = k8s.write_kubeconfig(Path(tmp) / "kubeconfig")
        args = ["--kubeconfig", str(kubeconfig), "--slack-url", slack.url, "--token", slack.token]
        try:
            with _child(*args) as port:
                try:
                    yield Served(port, slack, k8s)
                finally:
                    k8s.faults.clear()  # calls still in flight finish at once
        finally:
            operator.stop()


@contextmanager
def bare_stack(*, process_before_response: bool = False) -> Iterator[Served]:
    """A Bolt App whose only handler acks, behind the same server stack as ours."""
    from bot.sim.slack.web_api import SlackStandIn  # noqa: PLC0415

    flags = ["--before-response"] if process_before_response else []
    with SlackStandIn() as slack, _child("--bare", *flags, "--slack-url", slack.url) as port:
        yield Served(port, slack)


# --- the child: the bot (or the bare app) behind the production server stack ---------------


def _our_bolt(kubeconfig: str, slack_url: str, token: str) -> Any:
    from slack_sdk import WebClient  # noqa: PLC0415

    from bot.cluster import Cluster  # noqa: PLC0415
    from bot.composition import build_dynamote  # noqa: PLC0415
    from bot.config.settings import load_settings  # noqa: PLC0415
    from bot.server.health import Health  # noqa: PLC0415

    settings = load_settings(
        namespaces=list(NAMESPACES),
        default_namespace=NAMESPACES[0],
        slack_api_url="http://127.0.0.1:1/api/",  # the Web client below uses the stand-in
        sim_ready_after=0.3,
        provenance_key=PROVENANCE_KEY,
        slack_signing_secret=SECRET,
        # One person deploys many times here: no per-person limits, as these numbers always had.
        max_gpus_per_user=None,
        max_deployments_per_user=None,
    )
    cluster = Cluster(kubeconfig, settings=settings)
    client = WebClient(token=token, base_url=slack_url)
    return build_dynamote(
        settings, cluster, web_client=client, health=Health(lambda: True), notifier=False
    )


def _bare_bolt(slack_url: str, *, process_before_response: bool, pool: Any) -> Any:
    from slack_bolt import Ack, App  # noqa: PLC0415
    from slack_sdk import WebClient  # noqa: PLC0415

    # Bolt as its docs set it up for HTTP; only process_before_response may differ.
    bolt = App(
        client=WebClient(token="xoxb-unused", base_url=slack_url),
        signing_secret=SECRET,
        token_verification_enabled=False,
        request_verification_enabled=True,
        process_before_response=process_before_response,
        listener_executor=pool,  # Bolt's default pool size (10), ours to shut down
    )

    def only_ack(ack: Ack) -> None:
        ack()

    bolt.command("/dynamote")(only_ack)
    return bolt


def serve(argv: list[str]) -> None:
    """The child: serve until stdin closes, then stop and drop queued listener work."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--bare", action="store_true")
    parser.add_argument("--before-response", action="store_true")
    parser.add_argument("--kubeconfig", default="")
    parser.add_argument("--slack-url", required=True)
    parser.add_argument("--token", default="")
    args = parser.parse_args(argv)
    # Quiet: Bolt's "didn't call ack()" is counted in the rows as a non-200 answer, and work
    # cut off at the end fails with "connection refused"; waitress warns of queued requests.
    if os.environ.get("DYNAMOTE_BENCH_LOG"):  # to debug a benchmark: the child's log
        logging.basicConfig(level=logging.INFO)
    else:
        logging.getLogger().addHandler(logging.NullHandler())
        threading.excepthook = lambda _args: None

    from bot.server.health import Health  # noqa: PLC0415
    from bot.server.wsgi import build_wsgi_app, serve_http  # noqa: PLC0415

    dynamote = None
    bare_pool = ThreadPoolExecutor(max_workers=10)
    if args.bare:
        bare = _bare_bolt(
            args.slack_url, process_before_response=args.before_response, pool=bare_pool
        )
        wsgi = build_wsgi_app(health=Health(lambda: True), bolt_app=bare, signing_secret=SECRET)
    else:
        dynamote = _our_bolt(args.kubeconfig, args.slack_url, args.token)
        wsgi = dynamote.events_app()
    server = serve_http(wsgi, host="127.0.0.1", port=0)
    thread = threading.Thread(target=server.run, name="bench-waitress", daemon=True)
    thread.start()
    print(json.dumps({"port": server.port}), flush=True)
    sys.stdin.read()  # until the parent closes it
    server.close()
    thread.join(timeout=10)
    # Queued listener work is dropped; work already running finishes (the parent has cleared
    # the cluster's latency), so no connection to the stand-ins is cut mid-request.
    bare_pool.shutdown(wait=True, cancel_futures=True)
    if dynamote is not None:
        dynamote.close()
        dynamote.cluster.close()
    sys.stdout.flush()
    os._exit(0)  # threads still waiting on a slow call need not be joined


def wait_until(condition: Callable[[], bool], timeout: float, step: float = 0.01) -> bool:
    """Poll ``condition`` until true or ``timeout`` seconds pass; says which."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(step)
    return True


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve(sys.argv[2:])
