"""`dynamote sim`: run the stand-in API server with the simulated operator until stopped.

The kubeconfig is written only once the server accepts requests, so a script can wait for the
file to appear and then use kubectl at once. SIGINT and SIGTERM stop it cleanly (exit 0).
"""

from __future__ import annotations

import signal
import sys
import threading
import urllib.request
from pathlib import Path
from types import FrameType
from typing import Protocol

from bot.sim.standin import StandIn, default_crd_path
from bot.sim.store import Store

__all__ = ["run_sim"]


class _Operator(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


def _start_operator(store: Store, ready_after: float) -> _Operator | None:
    """The simulated operator when bot.sim.operator is present (it is built separately)."""
    try:
        from bot.sim.operator import SimOperator  # noqa: PLC0415 (optional module)
    except ImportError:
        return None
    operator: _Operator = SimOperator(store, ready_after=ready_after)
    operator.start()
    return operator


def _wait_until_serving(url: str) -> None:
    with urllib.request.urlopen(f"{url}/readyz", timeout=5) as answer:  # noqa: S310 (http URL)
        answer.read()


def run_sim(kubeconfig: Path, *, port: int = 0, ready_after: float | None = None) -> int:
    """Serve until SIGINT/SIGTERM; returns the process exit code (0)."""
    if ready_after is None:
        from bot.settings import get_settings  # noqa: PLC0415

        ready_after = get_settings().sim_ready_after
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    standin = StandIn(port=port, crd_path=default_crd_path()).start()
    operator = _start_operator(standin.store, ready_after)
    try:
        _wait_until_serving(standin.url)
        path = standin.write_kubeconfig(Path(kubeconfig))
        print(f"Kubernetes API stand-in at {standin.url}", flush=True)
        print(f"kubeconfig written to {path}", flush=True)
        print(f"try: kubectl --kubeconfig {path} get dgd,pods   (Ctrl-C stops)", flush=True)
        if operator is None:
            print("note: bot.sim.operator not found; DGDs will not progress", file=sys.stderr)
        while not stop.wait(0.5):
            pass
    finally:
        if operator is not None:
            operator.stop()
        standin.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("stand-in stopped", flush=True)
    return 0
