"""`dynamote serve --simulate` reads DYNAMOTE_SIM_TRANSIENT_FAILURE and
DYNAMOTE_SIM_OPERATOR_VERSION as `dynamote sim` does: the simulated cluster behaves as they
say, and a bad value stops it with exit 2 naming the variable.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.cluster import Cluster, ClusterError
from bot.serve import run_serve
from bot.sim.slack.web_api import SlackStandIn
from tests.notifier.conftest import manifest

from .test_runner import Running, settings_for, wait_until


def _state(cluster: Cluster, name: str) -> Callable[[], bool]:
    def failed() -> bool:
        status = cluster.get_dgd("default", name).get("status") or {}
        ready = [c for c in status.get("conditions") or () if c.get("type") == "Ready"]
        return (
            status.get("state") == "failed"
            and bool(ready)
            and (ready[0].get("reason") == "failed_to_reconcile_the_resources")
        )

    return failed


def test_a_transient_failure_set_in_the_environment_fails_each_new_dgds_reconciles(
    slack_standin: SlackStandIn, sim_kubeconfig: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DYNAMOTE_SIM_TRANSIENT_FAILURE", "600")
    settings = settings_for(slack_standin)
    served = Running(settings)
    try:
        wait_until(sim_kubeconfig.exists)
        with Cluster(sim_kubeconfig, settings=settings) as cluster:
            cluster.create_dgd(manifest("v1beta1", "hiccup"))
            wait_until(_state(cluster, "hiccup"))
    finally:
        assert served.finish() == 0


def test_the_operator_version_set_in_the_environment_judges_the_dgds(
    slack_standin: SlackStandIn, sim_kubeconfig: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # From 1.5.0 on the operator's webhook refuses an image whose tag is not a semantic
    # version without runtimeVersionOverride; 1.4.2 accepts it (bot.sim.operator.admission).
    image = "nvcr.io/nvidia/ai-dynamo/vllm-runtime:my-build"
    monkeypatch.setenv("DYNAMOTE_SIM_OPERATOR_VERSION", "1.4.2")
    settings = settings_for(slack_standin)
    served = Running(settings)
    try:
        wait_until(sim_kubeconfig.exists)
        with Cluster(sim_kubeconfig, settings=settings) as cluster:
            created = cluster.create_dgd(manifest("v1beta1", "oldop", image=image))
            assert created["metadata"]["name"] == "oldop"
    finally:
        assert served.finish() == 0
    sim_kubeconfig.unlink()  # kept after exit: the next serve writes its own
    monkeypatch.setenv("DYNAMOTE_SIM_OPERATOR_VERSION", "1.7.1")
    served = Running(settings)
    try:
        wait_until(sim_kubeconfig.exists)
        with (
            Cluster(sim_kubeconfig, settings=settings) as cluster,
            pytest.raises(ClusterError, match="runtimeVersionOverride"),
        ):
            cluster.create_dgd(manifest("v1beta1", "newop", image=image))
    finally:
        assert served.finish() == 0


@pytest.mark.parametrize(
    ("variable", "value"),
    [("DYNAMOTE_SIM_TRANSIENT_FAILURE", "soon"), ("DYNAMOTE_SIM_OPERATOR_VERSION", "latest")],
)
def test_a_bad_simulator_variable_stops_serve_with_exit_2_naming_it(
    variable: str,
    value: str,
    slack_standin: SlackStandIn,
    sim_kubeconfig: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(variable, value)
    code = run_serve(simulate=True, http=True, port=0, settings=settings_for(slack_standin))
    assert code == 2
    err = capsys.readouterr().err
    assert f"{variable}={value!r}" in err
    assert not sim_kubeconfig.exists()  # nothing was started
