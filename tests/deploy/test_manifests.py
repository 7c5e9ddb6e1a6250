"""manifests/ renders and runs the bot the way a platform team expects: two replicas, probes,
resources, a restricted security context, settings and catalog wired, Slack secrets by key."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from bot.cli import build_parser
from bot.config.settings import Settings, env_name
from bot.domain.catalog import parse_catalog
from tests.paths import MANIFESTS, PROJECT

from .kustomize import KUBECTL, Doc, kubectl_render, one


@pytest.fixture(scope="module")
def pod(docs: list[Doc]) -> dict[str, Any]:
    return dict(one(docs, "Deployment", "dynamote")["spec"]["template"]["spec"])


@pytest.fixture(scope="module")
def container(pod: dict[str, Any]) -> dict[str, Any]:
    (main,) = pod["containers"]
    return dict(main)


def test_kubectl_kustomize_renders_the_base() -> None:
    if KUBECTL is None:
        pytest.skip("kubectl is not installed")

    kinds = sorted({doc["kind"] for doc in kubectl_render(MANIFESTS)})

    assert kinds == [
        "ClusterRole",
        "ClusterRoleBinding",
        "ConfigMap",
        "Deployment",
        "Namespace",
        "NetworkPolicy",
        "Role",
        "RoleBinding",
        "Service",
        "ServiceAccount",
    ]


def test_the_deployment_runs_two_replicas_of_dynamote_serve(
    docs: list[Doc], container: dict[str, Any]
) -> None:
    assert one(docs, "Deployment", "dynamote")["spec"]["replicas"] == 2
    assert container["args"][0] == "serve"
    assert container["ports"] == [
        {"name": "http", "containerPort": 3000, "protocol": "TCP"},
        {"name": "health", "containerPort": 8080, "protocol": "TCP"},
    ]


def test_the_container_ports_are_the_ones_dynamote_serve_is_told(
    docs: list[Doc], container: dict[str, Any]
) -> None:
    args = build_parser().parse_args(container["args"])
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    template = one(docs, "Deployment", "dynamote")["spec"]["template"]

    assert (args.port, args.health_port) == (ports["http"], ports["health"])
    assert template["metadata"]["annotations"]["prometheus.io/port"] == str(ports["health"])


def test_readiness_and_liveness_probe_the_health_port_with_room_for_their_answer(
    container: dict[str, Any],
) -> None:
    ready, live = container["readinessProbe"], container["livenessProbe"]

    # On the health port: slow clients of the events port cannot make a probe fail.
    assert ready["httpGet"] == {"path": "/readyz", "port": "health"}
    assert live["httpGet"] == {"path": "/healthz", "port": "health"}
    # /readyz answers within 0.8 s (bot.server.health.DEFAULT_PROBE_WAIT_SECONDS).
    assert ready["timeoutSeconds"] >= 1 and live["timeoutSeconds"] >= 1
    assert live["initialDelaySeconds"] >= ready["initialDelaySeconds"]


def test_resources_have_requests_and_limits(container: dict[str, Any]) -> None:
    resources = container["resources"]

    assert set(resources["requests"]) == {"cpu", "memory"}
    assert set(resources["limits"]) == {"cpu", "memory"}


def test_the_pod_meets_the_restricted_pod_security_standard(
    docs: list[Doc], pod: dict[str, Any], container: dict[str, Any]
) -> None:
    context = container["securityContext"]

    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] > 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert context["allowPrivilegeEscalation"] is False
    assert context["readOnlyRootFilesystem"] is True
    assert context["capabilities"] == {"drop": ["ALL"]}
    namespace = one(docs, "Namespace", "dynamote")["metadata"]["labels"]
    assert namespace["pod-security.kubernetes.io/enforce"] == "restricted"


def test_tmp_is_a_writable_empty_dir_on_the_read_only_root(
    pod: dict[str, Any], container: dict[str, Any]
) -> None:
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}

    assert "emptyDir" in volumes[mounts["/tmp"]]


def test_the_settings_configmap_holds_only_known_settings_that_validate(docs: list[Doc]) -> None:
    data = one(docs, "ConfigMap", "dynamote-settings")["data"]
    known = {env_name(field) for field in Settings.model_fields}

    assert set(data) <= known, f"unknown settings: {sorted(set(data) - known)}"
    settings = Settings(**{k.removeprefix("DYNAMOTE_").lower(): v for k, v in data.items()})
    assert settings.bind_host == "0.0.0.0"  # probes come from outside the pod


def test_the_catalog_configmap_is_mounted_where_dynamote_catalog_points(
    docs: list[Doc], pod: dict[str, Any], container: dict[str, Any]
) -> None:
    path = one(docs, "ConfigMap", "dynamote-settings")["data"]["DYNAMOTE_CATALOG"]
    mount = next(m for m in container["volumeMounts"] if path.startswith(m["mountPath"] + "/"))
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    catalog = one(docs, "ConfigMap", volume["configMap"]["name"])

    assert path.removeprefix(mount["mountPath"] + "/") in catalog["data"]


def test_the_catalog_configmap_is_a_valid_copy_of_the_shipped_catalog(docs: list[Doc]) -> None:
    shipped = json.loads((PROJECT / "catalog" / "models.json").read_text())
    in_cluster = json.loads(one(docs, "ConfigMap", "dynamote-catalog")["data"]["models.json"])

    assert len(parse_catalog(in_cluster)) > 0
    assert in_cluster == shipped, (
        "manifests/configmap-catalog.yaml differs from catalog/models.json; copy the file in"
    )


def test_slack_credentials_come_from_the_secret_and_only_the_bot_token_is_required(
    container: dict[str, Any],
) -> None:
    from_secret = {
        env["name"]: env["valueFrom"]["secretKeyRef"]
        for env in container["env"]
        if "secretKeyRef" in env.get("valueFrom", {})
    }

    assert set(from_secret) == {
        "SLACK_BOT_TOKEN",
        "SLACK_APP_TOKEN",
        "SLACK_SIGNING_SECRET",
        "DYNAMOTE_PROVENANCE_KEY",
    }
    assert {ref["name"] for ref in from_secret.values()} == {"dynamote-slack"}
    assert all(ref["key"] == name for name, ref in from_secret.items())
    assert [n for n, ref in from_secret.items() if not ref.get("optional")] == ["SLACK_BOT_TOKEN"]
    assert container["envFrom"] == [{"configMapRef": {"name": "dynamote-settings"}}]


def test_the_secret_example_has_no_values_and_is_never_applied(
    container: dict[str, Any],
) -> None:
    example = yaml.safe_load((MANIFESTS / "secret-example.yaml").read_text())
    kustomization = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())
    read = {e["valueFrom"]["secretKeyRef"]["key"] for e in container["env"] if "valueFrom" in e}

    assert "secret-example.yaml" not in kustomization["resources"]
    assert example["metadata"]["name"] == "dynamote-slack"
    assert set(example["stringData"]) == read
    assert set(example["stringData"].values()) == {""}
    assert "data" not in example


def test_the_service_sends_traffic_to_the_pods_http_port(docs: list[Doc]) -> None:
    service = one(docs, "Service", "dynamote")
    template = one(docs, "Deployment", "dynamote")["spec"]["template"]

    selector = service["spec"]["selector"]
    assert selector.items() <= template["metadata"]["labels"].items()
    assert [p["targetPort"] for p in service["spec"]["ports"]] == ["http"]
    assert service["metadata"]["namespace"] == one(docs, "Deployment")["metadata"]["namespace"]
