"""`run_sim` as `dynamote sim` runs it: a process that serves until SIGTERM, then exits 0."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from kubernetes import client, config

SCRIPT = """
import sys
from pathlib import Path
from bot.sim.run import run_sim
sys.exit(run_sim(Path(sys.argv[1]), ready_after=0.1))
"""


def test_run_sim_writes_a_working_kubeconfig_and_exits_cleanly_on_sigterm(
    tmp_path: Path,
) -> None:
    kubeconfig = tmp_path / "sim" / "kubeconfig"
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(kubeconfig)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 15
        while not kubeconfig.exists() and time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()
            time.sleep(0.05)
        api = config.new_client_from_config(str(kubeconfig))
        names = [ns.metadata.name for ns in client.CoreV1Api(api).list_namespace().items]
        assert "dynamo-system" in names
        api.close()
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=15)
    assert process.returncode == 0, stderr
    assert f"kubeconfig written to {kubeconfig}" in stdout
