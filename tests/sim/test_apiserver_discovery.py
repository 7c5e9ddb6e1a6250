"""Discovery, the CRD and OpenAPI as the official client sees them, per served DGD versions."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from bot.sim.k8s.standin import StandIn


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return json.load(answer)


@pytest.mark.parametrize(
    "versions", [("v1beta1", "v1alpha1"), ("v1beta1",), ("v1alpha1",)], ids=str
)
def test_nvidia_group_and_crd_list_exactly_the_served_versions(
    versions: Sequence[str], crd_path: Path | None, tmp_path: Path
) -> None:
    with StandIn(dgd_versions=versions, crd_path=crd_path) as standin:
        api = config.new_client_from_config(str(standin.write_kubeconfig(tmp_path / "kc")))
        groups = {g.name: g for g in client.ApisApi(api).get_api_versions().groups}
        nvidia = groups["nvidia.com"]
        assert [v.version for v in nvidia.versions] == list(versions)
        assert nvidia.preferred_version.version == versions[0]
        crd = client.ApiextensionsV1Api(api).read_custom_resource_definition(
            "dynamographdeployments.nvidia.com"
        )
        assert sorted(v.name for v in crd.spec.versions) == sorted(versions)
        assert crd.spec.names.short_names == ["dgd"]
        api.close()


def test_version_and_core_discovery_answer(api_client: client.ApiClient) -> None:
    assert client.VersionApi(api_client).get_code().major == "1"
    assert client.CoreApi(api_client).get_api_versions().versions == ["v1"]
    core = client.CoreV1Api(api_client).get_api_resources()
    assert {"pods", "pods/log", "events", "secrets", "namespaces"} <= {
        r.name for r in core.resources
    }


def test_the_dgd_resource_list_names_kind_short_name_and_status(standin: StandIn) -> None:
    listing = get_json(f"{standin.url}/apis/nvidia.com/v1beta1")
    by_name = {r["name"]: r for r in listing["resources"]}
    dgd = by_name["dynamographdeployments"]
    assert dgd["kind"] == "DynamoGraphDeployment" and dgd["namespaced"]
    assert dgd["shortNames"] == ["dgd"] and "dynamographdeployments/status" in by_name


def test_openapi_v3_lists_every_group_version_and_declares_field_validation(
    standin: StandIn,
) -> None:
    root = get_json(f"{standin.url}/openapi/v3")["paths"]
    assert {"api/v1", "apis/nvidia.com/v1beta1", "apis/coordination.k8s.io/v1"} <= set(root)
    document = get_json(standin.url + root["apis/nvidia.com/v1beta1"]["serverRelativeURL"])
    item = document["paths"][
        "/apis/nvidia.com/v1beta1/namespaces/{namespace}/dynamographdeployments/{name}"
    ]
    assert any(p["name"] == "fieldValidation" for p in item["patch"]["parameters"])
    schema = document["components"]["schemas"]["com.nvidia.v1beta1.DynamoGraphDeployment"]
    assert "spec" in schema["properties"]


def test_unknown_paths_answer_404_status_and_unknown_methods_405(standin: StandIn) -> None:
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"{standin.url}/apis/nvidia.com/v1beta1/widgets", timeout=5)
    assert caught.value.code == 404
    assert json.load(caught.value)["kind"] == "Status"
    request = urllib.request.Request(f"{standin.url}/apis", method="POST", data=b"{}")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)
    assert caught.value.code == 405


def test_the_compact_schema_is_used_without_the_crd_file(tmp_path: Path) -> None:
    with StandIn(crd_path=tmp_path / "absent.yaml") as standin:
        crd = get_json(
            f"{standin.url}/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
            "dynamographdeployments.nvidia.com"
        )
    beta = next(v for v in crd["spec"]["versions"] if v["name"] == "v1beta1")
    assert (
        beta["storage"]
        and "components" in (beta["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"])
    )
