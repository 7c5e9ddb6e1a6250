"""`dynamote sim`: run the stand-in API server with the simulated operator until stopped.

The kubeconfig is written only once the server accepts requests, so a script can wait for the
file to appear and then use kubectl at once. SIGINT and SIGTERM stop it cleanly (exit 0).
"""

from __future__ import annotations

import signal
import threading
import urllib.request
from pathlib import Path
from types import FrameType

from bot.config.settings import get_settings
from bot.sim.k8s.standin import StandIn, default_crd_path
from bot.sim.operator.controller import SimOperator
from bot.sim.sim_env import operator_version, transient_failure

__all__ = ["run_sim", "start_simulation"]


def start_simulation(
    *, port: int = 0, ready_after: float | None = None
) -> tuple[StandIn, SimOperator]:
    """The stand-in and the simulated operator, both running; stop them in reverse order."""
    settings = get_settings()
    failing_for, version = transient_failure(), operator_version()  # checked before starting
    standin = StandIn(port=port, crd_path=default_crd_path(), operator_version=version).start()
    operator = SimOperator(
        standin.store,
        ready_after=settings.sim_ready_after if ready_after is None else ready_after,
        transient_failure=failing_for,
    )
    operator.start()
    return standin, operator


def _wait_until_serving(url: str) -> None:
    with urllib.request.urlopen(f"{url}/readyz", timeout=5) as answer:  # noqa: S310 (http URL)
        answer.read()


def run_sim(kubeconfig: Path, *, port: int = 0, ready_after: float | None = None) -> int:
    """Serve until SIGINT/SIGTERM; returns the process exit code (0)."""
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    standin, operator = start_simulation(port=port, ready_after=ready_after)
    try:
        _wait_until_serving(standin.url)
        path = standin.write_kubeconfig(Path(kubeconfig))
        print(f"Kubernetes API stand-in at {standin.url}", flush=True)
        print(f"kubeconfig written to {path}", flush=True)
        print(f"try: kubectl --kubeconfig {path} get dgd,pods   (Ctrl-C stops)", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        operator.stop()
        standin.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("stand-in stopped", flush=True)
    return 0
