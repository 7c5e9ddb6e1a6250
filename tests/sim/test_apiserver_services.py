"""Services, Endpoints and admission through the official Python client (no kubectl needed).

The operator runs on a hand-moved clock with explicit ``reconcile_once()`` passes, so what the
client reads is decided by the passes, not by timing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from bot.sim.k8s.standin import StandIn
from bot.sim.operator.admission import OVERRIDE_REQUIRED, WEBHOOK_NAME
from bot.sim.operator.controller import SimOperator

from .conftest import FakeClock
from .dgds import GROUP, PLURAL, v1alpha1_dgd, v1beta1_dgd

READY_AFTER = 10.0


@pytest.fixture
def operator(standin: StandIn, clock: FakeClock) -> Iterator[SimOperator]:
    running = SimOperator(standin.store, ready_after=READY_AFTER, clock=clock)
    yield running
    running.stop()


def create(custom: client.CustomObjectsApi, body: dict[str, Any]) -> dict[str, Any]:
    version = body["apiVersion"].split("/")[1]
    created: dict[str, Any] = custom.create_namespaced_custom_object(
        GROUP, version, "default", PLURAL, body
    )
    return created


def pass_to(operator: SimOperator, clock: FakeClock, at: float) -> None:
    clock.now = at
    operator.reconcile_once()


@pytest.mark.parametrize("make", [v1beta1_dgd, v1alpha1_dgd])
def test_the_frontend_service_is_there_and_its_endpoints_fill_once_ready(
    make: Any,
    custom: client.CustomObjectsApi,
    core: client.CoreV1Api,
    operator: SimOperator,
    clock: FakeClock,
) -> None:
    name = create(custom, make("svc-demo"))["metadata"]["name"]
    pass_to(operator, clock, 0)
    service = core.read_namespaced_service(f"{name}-frontend", "default")
    assert service.spec.type == "ClusterIP"
    (port,) = service.spec.ports
    assert (port.name, port.port, port.target_port) == ("http", 8000, "http")

    pass_to(operator, clock, READY_AFTER)
    dgd = custom.get_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, name)
    assert dgd["status"]["state"] == "successful"
    endpoints = core.read_namespaced_endpoints(f"{name}-frontend", "default")
    (subset,) = endpoints.subsets
    (address,) = subset.addresses
    pods = core.list_namespaced_pod(
        "default", label_selector=",".join(f"{k}={v}" for k, v in service.spec.selector.items())
    ).items
    assert [address.target_ref.name] == [p.metadata.name for p in pods]
    assert address.ip == pods[0].status.pod_ip
    listed = core.list_namespaced_service(
        "default", label_selector=f"nvidia.com/dynamo-graph-deployment-name={name}"
    ).items
    assert len(listed) == 2  # the frontend and the worker


def test_the_webhook_refuses_a_tag_that_is_not_a_version_without_the_override(
    custom: client.CustomObjectsApi,
) -> None:
    body = v1beta1_dgd("placeholder")
    for component in body["spec"]["components"]:
        component["podTemplate"]["spec"]["containers"][0]["image"] = "my-registry/vllm:my-tag"
    with pytest.raises(client.ApiException) as refused:
        create(custom, body)
    assert refused.value.status == 422
    status = json.loads(refused.value.body)
    assert status["message"].startswith(
        f'admission webhook "{WEBHOOK_NAME}" denied the request: '
        'DynamoGraphDeployment.nvidia.com "placeholder" is invalid: '
    )
    assert status["details"]["causes"][0] == {
        "reason": "FieldValueRequired",
        "message": f"Required value: {OVERRIDE_REQUIRED}",
        "field": "spec.components[0].runtimeVersionOverride",
    }

    for component in body["spec"]["components"]:
        component["runtimeVersionOverride"] = "1.4.0"
    assert create(custom, body)["metadata"]["name"] == "placeholder"


def test_the_webhook_refuses_a_v1alpha1_service_without_an_image(
    custom: client.CustomObjectsApi,
) -> None:
    body = v1alpha1_dgd("imageless")
    del body["spec"]["services"]["Frontend"]["extraPodSpec"]
    with pytest.raises(client.ApiException) as refused:
        create(custom, body)
    causes = json.loads(refused.value.body)["details"]["causes"]
    assert causes == [
        {
            "reason": "FieldValueRequired",
            "message": "Required value: is required",
            "field": "spec.services[Frontend].extraPodSpec.mainContainer.image",
        }
    ]


def test_a_1_4_operator_admits_the_placeholder_tag(crd_path: Path | None, tmp_path: Path) -> None:
    with StandIn(crd_path=crd_path, operator_version="1.4.2") as standin:
        configuration = client.Configuration()
        configuration.host = standin.url
        with client.ApiClient(configuration) as api:
            body = v1beta1_dgd("old-line")
            for component in body["spec"]["components"]:
                main = component["podTemplate"]["spec"]["containers"][0]
                main["image"] = "nvcr.io/nvidia/ai-dynamo/vllm-runtime:my-tag"
            created = create(client.CustomObjectsApi(api), body)
    assert created["metadata"]["name"] == "old-line"


def test_a_service_name_over_63_characters_is_refused_as_the_api_server_does(
    core: client.CoreV1Api,
) -> None:
    name = "s" * 64
    body = {"metadata": {"name": name}, "spec": {"ports": [{"port": 80}]}}
    with pytest.raises(client.ApiException) as refused:
        core.create_namespaced_service("default", body)
    assert refused.value.status == 422
    assert json.loads(refused.value.body)["message"] == (
        f'Service "{name}" is invalid: metadata.name: Invalid value: "{name}": '
        "must be no more than 63 characters"
    )


def test_a_label_value_over_63_characters_is_refused(core: client.CoreV1Api) -> None:
    value = "v" * 64
    body = {
        "metadata": {"name": "labelled", "labels": {"nvidia.com/selector": value}},
        "spec": {"containers": [{"name": "main", "image": "busybox"}]},
    }
    with pytest.raises(client.ApiException) as refused:
        core.create_namespaced_pod("default", body)
    assert json.loads(refused.value.body)["message"] == (
        f'Pod "labelled" is invalid: metadata.labels: Invalid value: "{value}": '
        "must be no more than 63 characters"
    )
