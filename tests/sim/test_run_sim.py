"""`run_sim` as `dynamote sim` runs it: a process that serves until SIGTERM, then exits 0."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from kubernetes import client, config

from bot.sim.operator.admission import LATEST_OPERATOR_VERSION
from bot.sim.sim_env import operator_version, transient_failure
from tests.waiting import wait_until

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

        def written() -> bool:
            assert process.poll() is None, process.communicate()
            return kubeconfig.exists()

        wait_until(written, what="the kubeconfig written")
        api = config.new_client_from_config(str(kubeconfig))
        names = [ns.metadata.name for ns in client.CoreV1Api(api).list_namespace().items]
        assert "dynamo-system" in names
        api.close()
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=15)
    assert process.returncode == 0, stderr
    assert f"kubeconfig written to {kubeconfig}" in stdout


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("DYNAMOTE_SIM_OPERATOR_VERSION", "latest", "set it like 1.4.2 or 1.5.0"),
        ("DYNAMOTE_SIM_TRANSIENT_FAILURE", "soon", "must be a number of seconds from 0 to 3600"),
        ("DYNAMOTE_SIM_TRANSIENT_FAILURE", "-1", "must be a number of seconds from 0 to 3600"),
    ],
)
def test_a_bad_simulation_setting_stops_dynamote_sim_with_exit_2_and_says_why(
    variable: str, value: str, expected: str, tmp_path: Path
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "sim", "--kubeconfig", str(tmp_path / "kc")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, variable: value},
    )
    assert done.returncode == 2
    assert f"{variable}={value!r}" in done.stderr and expected in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "kc").exists()


def test_the_simulation_settings_reach_the_stand_in_and_the_operator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DYNAMOTE_SIM_OPERATOR_VERSION", "1.4.2")
    monkeypatch.setenv("DYNAMOTE_SIM_TRANSIENT_FAILURE", "30")
    assert (operator_version(), transient_failure()) == ("1.4.2", 30.0)
    monkeypatch.delenv("DYNAMOTE_SIM_OPERATOR_VERSION")
    monkeypatch.delenv("DYNAMOTE_SIM_TRANSIENT_FAILURE")
    assert (operator_version(), transient_failure()) == (LATEST_OPERATOR_VERSION, 0.0)
