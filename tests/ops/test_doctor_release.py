"""`dynamote doctor` on the Dynamo release: a release outside Dynamote's rules, or runtime
images of another release than the operator found, is a warning with the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.sim.k8s.standin import StandIn
from bot.sim.slack.web_api import SlackStandIn

from .test_doctor import cluster, doctor, kubeconfig, settings_for, slack

__all__ = ["cluster", "kubeconfig", "slack"]  # the fixtures this module reuses


def _operator_pod(namespace: str, version: str) -> dict[str, object]:
    # Shaped as the operator's Helm chart makes it (templates/deployment.yaml).
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "dynamo-platform-dynamo-operator-controller-manager-7d9f8-x2x4q",
            "namespace": namespace,
            "labels": {"control-plane": "controller-manager"},
        },
        "spec": {
            "containers": [
                {"name": "kube-rbac-proxy", "image": "quay.io/brancz/kube-rbac-proxy:v0.15.0"},
                {
                    "name": "manager",
                    "image": f"nvcr.io/nvidia/ai-dynamo/kubernetes-operator:{version}",
                    "command": ["/manager"],
                    "args": [
                        "--config=/etc/dynamo-operator/config.yaml",
                        f"--operator-version={version}",
                    ],
                },
            ]
        },
    }


def _release_line(lines: list[str]) -> str:
    (line,) = [line for line in lines if "Dynamo release:" in line]
    return line


def test_the_release_line_is_ok_when_no_operator_pod_is_readable(
    slack: SlackStandIn, kubeconfig: Path
) -> None:
    code, lines = doctor(settings_for(slack), kubeconfig)
    assert code == 0
    assert _release_line(lines) == (
        "OK Dynamo release: Dynamote writes for 1.4.2 "
        "(no operator pod readable in the allowed namespaces)"
    )


@pytest.mark.parametrize(
    ("runtime", "operator", "expected"),
    [
        ("1.4.2", "1.5.1", "WARN Dynamo release: the runtime images are 1.4.2, older than the "
         "operator 1.5.1 in namespace dynamo-system — fix: set DYNAMOTE_DYNAMO_VERSION to a 1.5"),
        ("1.6.0", "1.5.1", "WARN Dynamo release: Dynamote writes for 1.6.0, newer than the "
         "operator 1.5.1"),
        ("1.5.0", "1.5.1", "OK Dynamo release: Dynamote writes for 1.5.0 (operator 1.5.1 in "
         "namespace dynamo-system)"),
    ],
)  # fmt: skip
def test_the_operator_found_is_compared_with_the_runtime_release(
    cluster: StandIn,
    slack: SlackStandIn,
    kubeconfig: Path,
    runtime: str,
    operator: str,
    expected: str,
) -> None:
    cluster.store.create("pods", _operator_pod("dynamo-system", operator))
    code, lines = doctor(settings_for(slack, dynamo_version=runtime), kubeconfig)
    assert code == 0  # a warning, not a failure
    assert _release_line(lines).startswith(expected)


def test_a_release_outside_the_known_rules_is_a_warning_that_says_which_rules_apply(
    slack: SlackStandIn, kubeconfig: Path
) -> None:
    code, lines = doctor(settings_for(slack, dynamo_version="1.8.0"), kubeconfig)
    assert code == 0
    line = _release_line(lines)
    assert line.startswith("WARN Dynamo release: Dynamo 1.8.0 is outside the releases")
    assert "1.7 rules" in line and "DYNAMOTE_DYNAMO_VERSION" in line
