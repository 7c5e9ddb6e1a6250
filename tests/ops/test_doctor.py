"""`dynamote doctor` against the stand-ins: every line OK when all is well, and each broken
thing (cluster down, CRD not served, a forbidden verb, a missing secret, a bad catalog, a
rejected token, a missing scope) is a FAIL line with a fix and exit code 1."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli import main
from bot.cluster import REQUIRED_PERMISSIONS
from bot.config.settings import Settings, load_settings
from bot.ops.doctor import SLACK_SCOPES, run_doctor
from bot.sim.k8s.standin import StandIn
from bot.sim.operator.nodes import DEFAULT_FLEET, write_nodes
from bot.sim.slack.web_api import SlackStandIn
from tests.paths import MANIFESTS, PROJECT
from tests.signing import PROVENANCE_KEY

NAMESPACES = ("dynamo-system", "team-a")
APP_TOKEN = "xapp-1-A0-doctor"


@pytest.fixture
def cluster() -> Iterator[StandIn]:
    with StandIn(seed_namespaces=("default", *NAMESPACES)) as standin:
        write_nodes(standin.store, DEFAULT_FLEET)  # GPU nodes, as a healthy cluster has
        yield standin


@pytest.fixture
def kubeconfig(cluster: StandIn, tmp_path: Path) -> Path:
    return cluster.write_kubeconfig(tmp_path / "kubeconfig")


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn(scopes=SLACK_SCOPES) as standin:
        yield standin


def settings_for(slack: SlackStandIn, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "slack_bot_token": slack.token,
        "slack_app_token": APP_TOKEN,
        "slack_api_url": slack.url,
        "default_namespace": NAMESPACES[0],
        "namespaces": list(NAMESPACES),
        "k8s_connect_timeout": 1.0,
        "k8s_read_timeout": 2.0,
        "catalog": None,
        "provenance_key": PROVENANCE_KEY,
        # A healthy installation names its deployers and admins (an open policy is a WARN).
        "deployers": ["U0DEPLOYER"],
        "admins": ["U0ADMIN"],
    }
    return load_settings(**(values | overrides))


def doctor(settings: Settings, kubeconfig: Path) -> tuple[int, list[str]]:
    out = io.StringIO()
    code = run_doctor(settings, kubeconfig=kubeconfig, out=out)
    return code, out.getvalue().splitlines()


def failures(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("FAIL")]


def test_a_healthy_installation_passes_every_check(slack: SlackStandIn, kubeconfig: Path) -> None:
    code, lines = doctor(settings_for(slack), kubeconfig)

    assert code == 0, "\n".join(lines)
    assert all(line.startswith("OK ") for line in lines), "\n".join(lines)
    text = "\n".join(lines)
    assert "Slack auth: bot dynamote in workspace Dynamote Test" in text
    assert "Slack scopes: all 5 needed are granted" in text
    assert "Slack mode: Socket Mode" in text
    assert "Kubernetes API reachable: server v" in text
    assert "Dynamo CRD served: nvidia.com/v1beta1, nvidia.com/v1alpha1" in text
    assert "Dynamote writes nvidia.com/v1beta1" in text
    assert "OK RBAC cluster-wide: every required permission granted (1)" in text
    for namespace in NAMESPACES:
        assert f"OK RBAC namespace {namespace}: every required permission granted" in text
        assert f"HF secret hf-token-secret exists in namespace {namespace}" in text
    assert re.search(r"^OK Catalog: [1-9]\d* models from .*models\.json$", text, re.M)


def test_a_cluster_that_refuses_connections_fails_and_skips_the_cluster_checks(
    slack: SlackStandIn, cluster: StandIn, kubeconfig: Path
) -> None:
    cluster.faults.refuse_connections()

    code, lines = doctor(settings_for(slack), kubeconfig)

    assert code == 1
    (failed,) = failures(lines)
    assert failed.startswith("FAIL Kubernetes API: Dynamote cannot reach the Kubernetes API")
    assert " — fix: point KUBECONFIG at the cluster" in failed
    assert not [line for line in lines if "RBAC" in line or "HF secret" in line]
    assert lines[-1].startswith("OK Catalog")  # what does not need the cluster is still checked


def test_a_cluster_without_the_dynamo_crd_fails_with_how_to_install_the_operator(
    slack: SlackStandIn, cluster: StandIn, kubeconfig: Path
) -> None:
    cluster.faults.add_error(404, method="GET", path_regex=r"^/apis/nvidia\.com")

    code, lines = doctor(settings_for(slack), kubeconfig)

    assert code == 1
    (failed,) = failures(lines)
    assert "Dynamo CRD: no API serves dynamographdeployments.nvidia.com" in failed
    assert "fix: Install it with the dynamo-platform Helm chart" in failed


def test_a_forced_api_version_the_cluster_does_not_serve_fails(
    slack: SlackStandIn, tmp_path: Path
) -> None:
    with StandIn(dgd_versions=("v1alpha1",), seed_namespaces=NAMESPACES) as old_operator:
        kubeconfig = old_operator.write_kubeconfig(tmp_path / "old")
        settings = settings_for(slack, api_version="nvidia.com/v1beta1")

        code, lines = doctor(settings, kubeconfig)

    assert code == 1
    (failed,) = failures(lines)
    assert "served nvidia.com/v1alpha1, but Dynamote writes nvidia.com/v1beta1" in failed
    assert "fix: set DYNAMOTE_API_VERSION=auto" in failed


def test_a_forbidden_verb_fails_in_its_namespace_only_with_the_role_to_apply(
    slack: SlackStandIn, cluster: StandIn, kubeconfig: Path
) -> None:
    cluster.faults.forbid("create", "dynamographdeployments", "team-a")

    code, lines = doctor(settings_for(slack), kubeconfig)

    assert code == 1
    (failed,) = failures(lines)
    assert failed.startswith(
        "FAIL RBAC namespace team-a: may not create dynamographdeployments.nvidia.com — fix: "
        "apply the Role and RoleBinding dynamote in namespace team-a"
    )
    # dynamo-system is both a deployment namespace and the bot's own (Lease and ledger).
    here = sum(1 for p in REQUIRED_PERMISSIONS if p.scope != "cluster")
    assert f"OK RBAC namespace dynamo-system: every required permission granted ({here})" in lines


def test_a_forbidden_lease_update_fails_pointing_at_the_leader_election_role(
    slack: SlackStandIn, cluster: StandIn, kubeconfig: Path
) -> None:
    cluster.faults.forbid("update", "leases")

    code, lines = doctor(settings_for(slack), kubeconfig)

    assert code == 1
    (failed,) = failures(lines)
    assert failed.startswith("FAIL RBAC namespace dynamo-system: may not update leases.coordin")
    assert "Role dynamote-leader-election" in failed


def test_a_forbidden_secret_read_fails_rbac_and_leaves_the_secret_unknown(
    slack: SlackStandIn, cluster: StandIn, kubeconfig: Path
) -> None:
    cluster.faults.forbid("get", "secrets", "team-a")

    code, lines = doctor(settings_for(slack), kubeconfig)

    assert code == 1
    assert any("may not get secrets named hf-token-secret" in line for line in failures(lines))
    # unknown is a failure: the bot refuses deployments naming a Secret it cannot check
    assert "FAIL HF secret hf-token-secret in namespace team-a: unknown" in "\n".join(lines)


def test_a_missing_hf_secret_fails_with_the_kubectl_command_that_creates_it(
    slack: SlackStandIn, cluster: StandIn, kubeconfig: Path
) -> None:
    cluster.create_namespace("team-b")  # no secret in it
    settings = settings_for(slack, namespaces=[*NAMESPACES, "team-b"])

    code, lines = doctor(settings, kubeconfig)

    assert code == 1
    (failed,) = failures(lines)
    assert failed == (
        "FAIL HF secret hf-token-secret is missing in namespace team-b — fix: kubectl create "
        "secret generic hf-token-secret --from-literal=HF_TOKEN=<token> -n team-b"
    )


def test_a_catalog_that_is_not_json_fails_naming_the_file(
    slack: SlackStandIn, kubeconfig: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "models.json"
    broken.write_text("{not json")

    code, lines = doctor(settings_for(slack, catalog=broken), kubeconfig)

    assert code == 1
    (failed,) = failures(lines)
    assert failed.startswith(f"FAIL Catalog: {broken}: not valid JSON at line 1")
    assert "unset DYNAMOTE_CATALOG" in failed


def test_a_token_slack_rejects_fails_slack_auth(slack: SlackStandIn, kubeconfig: Path) -> None:
    code, lines = doctor(settings_for(slack, slack_bot_token="xoxb-revoked"), kubeconfig)

    assert code == 1
    (failed,) = failures(lines)
    assert failed.startswith("FAIL Slack auth: auth.test answered invalid_auth — fix: copy")
    assert "xoxb-revoked" not in "\n".join(lines)


def test_an_unreachable_slack_fails_slack_auth(slack: SlackStandIn, kubeconfig: Path) -> None:
    code, lines = doctor(settings_for(slack, slack_api_url="http://127.0.0.1:9/api/"), kubeconfig)

    assert code == 1
    (failed,) = failures(lines)
    assert failed.startswith("FAIL Slack auth: cannot reach http://127.0.0.1:9/api/")


def test_a_missing_scope_fails_naming_it(kubeconfig: Path) -> None:
    without_im = [scope for scope in SLACK_SCOPES if scope != "im:write"]
    with SlackStandIn(scopes=[*without_im, "users:read"]) as slack:
        code, lines = doctor(settings_for(slack), kubeconfig)

    assert code == 1
    (failed,) = failures(lines)
    assert failed.startswith("FAIL Slack scopes: missing im:write — fix: add them under OAuth")


def test_scopes_slack_does_not_report_are_a_warning_not_a_failure(kubeconfig: Path) -> None:
    with SlackStandIn() as slack:
        code, lines = doctor(settings_for(slack), kubeconfig)

    assert code == 0
    assert [line for line in lines if not line.startswith("OK")] == [
        "WARN Slack scopes: Slack did not report the token's scopes (no x-oauth-scopes header)"
        f" — fix: check by hand that the bot token has {', '.join(SLACK_SCOPES)}"
    ]


def test_no_slack_mode_credential_fails(slack: SlackStandIn, kubeconfig: Path) -> None:
    code, lines = doctor(settings_for(slack, slack_app_token=None), kubeconfig)

    assert code == 1
    assert failures(lines)[0].startswith("FAIL Slack mode: neither SLACK_APP_TOKEN")


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"provenance_key": None}, "WARN Provenance key: derived from SLACK_BOT_TOKEN"),
        (
            {"provenance_key": None, "slack_signing_secret": "made-up-signing-secret"},
            "WARN Provenance key: derived from SLACK_SIGNING_SECRET",
        ),
        (
            {"provenance_key": "short-made-up-key"},
            "WARN Provenance key: DYNAMOTE_PROVENANCE_KEY is shorter than 32 characters",
        ),
    ],
)
def test_a_derived_or_short_provenance_key_warns_with_how_to_set_one(
    slack: SlackStandIn, kubeconfig: Path, overrides: dict[str, Any], expected: str
) -> None:
    code, lines = doctor(settings_for(slack, **overrides), kubeconfig)

    assert code == 0
    [warned] = [line for line in lines if not line.startswith("OK")]
    assert warned.startswith(expected) and "openssl rand -hex 32" in warned
    assert "made-up" not in "\n".join(lines)  # never the secret itself


def test_no_provenance_key_at_all_fails(slack: SlackStandIn, kubeconfig: Path) -> None:
    settings = settings_for(slack, provenance_key=None, slack_bot_token=None)
    code, lines = doctor(settings, kubeconfig)

    assert code == 1
    assert any(line.startswith("FAIL Provenance key: none") for line in failures(lines))


def test_the_scopes_in_code_are_the_bot_scopes_of_the_slack_app_manifest() -> None:
    manifest = yaml.safe_load((MANIFESTS / "slack-app.yaml").read_text())

    assert list(SLACK_SCOPES) == manifest["oauth_config"]["scopes"]["bot"]


def doctor_env(slack: SlackStandIn, kubeconfig: Path, **extra: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_API_URL": slack.url,
        "KUBECONFIG": str(kubeconfig),
        "DYNAMOTE_DEFAULT_NAMESPACE": NAMESPACES[0],
        "DYNAMOTE_NAMESPACES": ",".join(NAMESPACES),
        **extra,
    }


def test_the_cli_runs_doctor_and_exits_1_on_a_failure(
    slack: SlackStandIn,
    cluster: StandIn,
    kubeconfig: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fresh_settings: None,
) -> None:
    for name, value in doctor_env(slack, kubeconfig).items():
        monkeypatch.setenv(name, value)
    cluster.faults.forbid("watch", "pods", "dynamo-system")

    code = main(["doctor"])

    out, err = capsys.readouterr()
    assert code == 1
    assert "FAIL RBAC namespace dynamo-system: may not watch pods" in out
    assert "dynamote doctor: 1 failed" in err


def test_the_cli_exits_2_on_a_bad_setting_before_any_check(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], fresh_settings: None
) -> None:
    monkeypatch.setenv("DYNAMOTE_LOG_FORMAT", "xml")

    code = main(["doctor"])

    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert "DYNAMOTE_LOG_FORMAT" in err


def test_dynamote_doctor_as_a_process_exits_0_on_a_healthy_installation(
    slack: SlackStandIn, kubeconfig: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DYNAMOTE_", "SLACK_"))}
    env |= doctor_env(slack, kubeconfig, DYNAMOTE_LOG_FORMAT="json")

    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "doctor"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("\nOK ") >= 8
    assert slack.token not in done.stdout + done.stderr


def test_an_open_policy_and_a_lifted_limit_are_a_warning(
    slack: SlackStandIn, kubeconfig: Path
) -> None:
    settings = settings_for(slack, deployers=[], admins=[], max_gpus_per_user="none")
    code, lines = doctor(settings, kubeconfig)
    assert code == 0
    (warning,) = [line for line in lines if line.startswith("WARN")]
    assert warning.startswith("WARN Policy: DYNAMOTE_DEPLOYERS and DYNAMOTE_ADMINS are empty")
    assert "no limit set by DYNAMOTE_MAX_GPUS_PER_USER" in warning
    assert "OK Policy: 1 deployer(s), 1 admin(s), at most 8 GPUs per deployment" in "\n".join(
        doctor(settings_for(slack), kubeconfig)[1]
    )


# --- the optional GPU capacity reads: a warning at most, never a failure -----------------


def test_doctor_shows_the_free_gpus_when_capacity_is_readable(
    slack: SlackStandIn, kubeconfig: Path
) -> None:
    code, lines = doctor(settings_for(slack), kubeconfig)
    assert code == 0
    assert (
        "OK GPU capacity: 24 of 24 GPUs free on 3 GPU nodes "
        "(NVIDIA H100 80GB HBM3, NVIDIA L40S 45 GiB)"
    ) in lines


def test_without_the_optional_permissions_doctor_warns_how_to_enable_them(
    slack: SlackStandIn, cluster: StandIn, kubeconfig: Path
) -> None:
    cluster.faults.forbid("list", "nodes")
    code, lines = doctor(settings_for(slack), kubeconfig)
    assert code == 0
    (warning,) = [line for line in lines if "GPU capacity" in line]
    assert warning == (
        "WARN GPU capacity: unknown, the bot may not list nodes cluster-wide — fix: apply the "
        "optional kustomize component manifests/capacity/ (add it to your overlay's "
        "components; README: Installing in a cluster); everything else works without it"
    )


def test_a_cluster_without_gpu_nodes_is_a_warning(slack: SlackStandIn, tmp_path: Path) -> None:
    with StandIn(seed_namespaces=("default", *NAMESPACES)) as bare:
        code, lines = doctor(settings_for(slack), bare.write_kubeconfig(tmp_path / "k"))
    assert code == 0
    (warning,) = [line for line in lines if "GPU capacity" in line]
    assert warning.startswith("WARN GPU capacity: none of the 0 nodes advertises nvidia.com/gpu")
