"""DGDs through the official client over real HTTP: CRUD, patches, status, validation, errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from bot.sim.k8s.standin import StandIn

from .dgds import GROUP, PLURAL, v1alpha1_dgd, v1beta1_dgd

BETA, ALPHA = "v1beta1", "v1alpha1"


def create(custom: client.CustomObjectsApi, body: dict[str, Any], **kwargs: Any) -> Any:
    version = body["apiVersion"].split("/")[1]
    return custom.create_namespaced_custom_object(GROUP, version, "default", PLURAL, body, **kwargs)


def error_body(caught: pytest.ExceptionInfo[ApiException]) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(caught.value.body)
    return body


@pytest.mark.parametrize("manifest", [v1beta1_dgd(), v1alpha1_dgd()], ids=[BETA, ALPHA])
def test_create_then_get_returns_the_object_with_server_metadata(
    custom: client.CustomObjectsApi, manifest: dict[str, Any]
) -> None:
    created = create(custom, manifest)
    version = manifest["apiVersion"].split("/")[1]
    fetched = custom.get_namespaced_custom_object(
        GROUP, version, "default", PLURAL, manifest["metadata"]["name"]
    )
    meta = fetched["metadata"]
    assert fetched == created
    assert meta["generation"] == 1 and meta["uid"] and meta["creationTimestamp"].endswith("Z")
    assert meta["namespace"] == "default" and int(meta["resourceVersion"]) > 0
    assert fetched["apiVersion"] == manifest["apiVersion"]


def test_create_with_taken_name_answers_409_already_exists(
    custom: client.CustomObjectsApi,
) -> None:
    create(custom, v1beta1_dgd("taken"))
    with pytest.raises(ApiException) as caught:
        create(custom, v1beta1_dgd("taken"))
    body = error_body(caught)
    assert caught.value.status == 409 and body["reason"] == "AlreadyExists"
    assert body["message"] == 'dynamographdeployments.nvidia.com "taken" already exists'


def test_get_of_a_missing_dgd_answers_404_not_found_status(
    custom: client.CustomObjectsApi,
) -> None:
    with pytest.raises(ApiException) as caught:
        custom.get_namespaced_custom_object(GROUP, BETA, "default", PLURAL, "x")
    body = error_body(caught)
    assert caught.value.status == 404 and body["kind"] == "Status"
    assert body["message"] == 'dynamographdeployments.nvidia.com "x" not found'
    assert body["details"] == {"name": "x", "group": "nvidia.com", "kind": PLURAL}


def test_dry_run_create_validates_but_stores_nothing(
    custom: client.CustomObjectsApi, standin: StandIn
) -> None:
    answered = create(custom, v1beta1_dgd("dry"), dry_run="All")
    assert answered["metadata"]["name"] == "dry"
    assert standin.store.get(PLURAL, "default", "dry") is None
    with pytest.raises(ApiException) as caught:
        create(custom, v1beta1_dgd("dry", replicas=-1), dry_run="All")
    assert caught.value.status == 422


def test_dry_run_create_of_a_taken_name_answers_409_like_a_real_create(
    custom: client.CustomObjectsApi,
) -> None:
    create(custom, v1beta1_dgd("taken"))
    with pytest.raises(ApiException) as caught:
        create(custom, v1beta1_dgd("taken"), dry_run="All")
    assert caught.value.status == 409 and error_body(caught)["reason"] == "AlreadyExists"


def test_a_schema_violation_answers_422_with_a_cause_per_field(
    custom: client.CustomObjectsApi,
) -> None:
    manifest = v1beta1_dgd("bad")
    manifest["spec"]["components"][0]["replicas"] = -1
    manifest["spec"]["components"][1]["type"] = "teapot"
    with pytest.raises(ApiException) as caught:
        create(custom, manifest)
    body = error_body(caught)
    assert caught.value.status == 422 and body["reason"] == "Invalid"
    assert body["message"].startswith('DynamoGraphDeployment.nvidia.com "bad" is invalid: [')
    causes = {cause["field"]: cause for cause in body["details"]["causes"]}
    assert causes["spec.components[0].replicas"]["reason"] == "FieldValueInvalid"
    assert causes["spec.components[1].type"]["reason"] == "FieldValueNotSupported"
    assert body["details"]["kind"] == "DynamoGraphDeployment"


def test_a_v1alpha1_violation_names_the_service_map_key(custom: client.CustomObjectsApi) -> None:
    manifest = v1alpha1_dgd("bad-alpha")
    manifest["spec"]["services"]["Frontend"]["replicas"] = "two"
    with pytest.raises(ApiException) as caught:
        create(custom, manifest)
    [cause] = error_body(caught)["details"]["causes"]
    assert cause["field"] == "spec.services[Frontend].replicas"


def test_a_name_that_is_not_an_rfc1123_subdomain_answers_422(
    custom: client.CustomObjectsApi,
) -> None:
    with pytest.raises(ApiException) as caught:
        create(custom, v1beta1_dgd("Not_Valid"))
    [cause] = error_body(caught)["details"]["causes"]
    assert caught.value.status == 422 and cause["field"] == "metadata.name"


def with_unknown_field(name: str) -> dict[str, Any]:
    manifest = v1beta1_dgd(name)
    manifest["spec"]["foo"] = "bar"
    return manifest


def test_unknown_fields_are_pruned_with_a_warning_by_default(
    custom: client.CustomObjectsApi,
) -> None:
    body, status, headers = custom.create_namespaced_custom_object_with_http_info(
        GROUP, BETA, "default", PLURAL, with_unknown_field("warned")
    )
    assert status == 201 and "foo" not in body["spec"]
    assert headers["Warning"] == '299 - "unknown field \\"spec.foo\\""'


def test_unknown_fields_are_pruned_silently_with_ignore(custom: client.CustomObjectsApi) -> None:
    body, _, headers = custom.create_namespaced_custom_object_with_http_info(
        GROUP, BETA, "default", PLURAL, with_unknown_field("ignored"), field_validation="Ignore"
    )
    assert "foo" not in body["spec"] and "Warning" not in headers


def test_unknown_fields_are_rejected_with_strict_as_a_400_strict_decoding_error(
    custom: client.CustomObjectsApi, standin: StandIn
) -> None:
    with pytest.raises(ApiException) as caught:
        create(custom, with_unknown_field("strict"), field_validation="Strict")
    body = error_body(caught)
    assert caught.value.status == 400 and body["reason"] == "BadRequest"
    assert body["message"] == (
        'DynamoGraphDeployment in version "v1beta1" cannot be handled as a '
        'DynamoGraphDeployment: strict decoding error: unknown field "spec.foo"'
    )
    assert standin.store.get(PLURAL, "default", "strict") is None


def test_v1alpha1_requests_carry_the_deprecation_warning(custom: client.CustomObjectsApi) -> None:
    _, _, headers = custom.create_namespaced_custom_object_with_http_info(
        GROUP, ALPHA, "default", PLURAL, v1alpha1_dgd()
    )
    assert "nvidia.com/v1alpha1 DynamoGraphDeployment is deprecated" in headers["Warning"]


def test_an_api_version_that_does_not_match_the_url_answers_400(
    custom: client.CustomObjectsApi,
) -> None:
    with pytest.raises(ApiException) as caught:
        custom.create_namespaced_custom_object(GROUP, ALPHA, "default", PLURAL, v1beta1_dgd())
    assert caught.value.status == 400


def test_merge_patch_changes_labels_and_bumps_generation_only_for_spec(
    custom: client.CustomObjectsApi,
) -> None:
    created = create(custom, v1beta1_dgd("patched"))
    labelled = custom.patch_namespaced_custom_object(
        GROUP, BETA, "default", PLURAL, "patched", {"metadata": {"labels": {"team": "a"}}}
    )
    assert labelled["metadata"]["labels"]["team"] == "a"
    assert labelled["metadata"]["generation"] == 1
    assert int(labelled["metadata"]["resourceVersion"]) > int(
        created["metadata"]["resourceVersion"]
    )
    respec = custom.patch_namespaced_custom_object(
        GROUP, BETA, "default", PLURAL, "patched", {"spec": {"backendFramework": "sglang"}}
    )
    assert respec["metadata"]["generation"] == 2 and respec["spec"]["backendFramework"] == "sglang"


def test_merge_patch_with_a_stale_resource_version_answers_409_conflict(
    custom: client.CustomObjectsApi,
) -> None:
    created = create(custom, v1beta1_dgd("stale"))
    stale = created["metadata"]["resourceVersion"]
    custom.patch_namespaced_custom_object(
        GROUP, BETA, "default", PLURAL, "stale", {"metadata": {"annotations": {"a": "1"}}}
    )
    with pytest.raises(ApiException) as caught:
        custom.patch_namespaced_custom_object(
            GROUP,
            BETA,
            "default",
            PLURAL,
            "stale",
            {"metadata": {"resourceVersion": stale, "annotations": {"a": "2"}}},
        )
    assert caught.value.status == 409 and error_body(caught)["reason"] == "Conflict"


def test_json_patch_replaces_a_replica_count(
    custom: client.CustomObjectsApi, api_client: client.ApiClient
) -> None:
    create(custom, v1beta1_dgd("jsonpatch"))
    patch = [{"op": "replace", "path": "/spec/components/1/replicas", "value": 3}]
    patched = custom.patch_namespaced_custom_object(
        GROUP,
        BETA,
        "default",
        PLURAL,
        "jsonpatch",
        patch,
        _content_type="application/json-patch+json",
    )
    assert patched["spec"]["components"][1]["replicas"] == 3


def test_a_json_patch_that_breaks_the_schema_answers_422(custom: client.CustomObjectsApi) -> None:
    create(custom, v1beta1_dgd("jsonpatch-bad"))
    patch = [{"op": "replace", "path": "/spec/components/1/replicas", "value": -3}]
    with pytest.raises(ApiException) as caught:
        custom.patch_namespaced_custom_object(
            GROUP,
            BETA,
            "default",
            PLURAL,
            "jsonpatch-bad",
            patch,
            _content_type="application/json-patch+json",
        )
    assert caught.value.status == 422


def test_strategic_merge_patch_on_a_custom_resource_answers_415(
    custom: client.CustomObjectsApi,
) -> None:
    create(custom, v1beta1_dgd("smp"))
    with pytest.raises(ApiException) as caught:
        custom.patch_namespaced_custom_object(
            GROUP,
            BETA,
            "default",
            PLURAL,
            "smp",
            {"metadata": {"labels": {"a": "b"}}},
            _content_type="application/strategic-merge-patch+json",
        )
    assert caught.value.status == 415


def test_replace_with_an_old_resource_version_answers_409_conflict(
    custom: client.CustomObjectsApi,
) -> None:
    created = create(custom, v1beta1_dgd("replaced"))
    created["spec"]["backendFramework"] = "trtllm"
    replaced = custom.replace_namespaced_custom_object(
        GROUP, BETA, "default", PLURAL, "replaced", created
    )
    assert replaced["spec"]["backendFramework"] == "trtllm"
    with pytest.raises(ApiException) as caught:
        custom.replace_namespaced_custom_object(GROUP, BETA, "default", PLURAL, "replaced", created)
    assert caught.value.status == 409
    assert "the object has been modified" in error_body(caught)["message"]


def test_status_subresource_writes_only_status_and_main_writes_ignore_status(
    custom: client.CustomObjectsApi,
) -> None:
    create(custom, v1beta1_dgd("withstatus"))
    status = {
        "status": {
            "state": "successful",
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "lastTransitionTime": "2026-01-01T00:00:00Z",
                    "reason": "r",
                    "message": "m",
                }
            ],
        },
        "spec": {"backendFramework": "sglang"},
    }
    written = custom.patch_namespaced_custom_object_status(
        GROUP, BETA, "default", PLURAL, "withstatus", status
    )
    assert written["status"]["state"] == "successful"
    assert written["spec"]["backendFramework"] == "vllm", "spec is not the status's business"
    main = custom.patch_namespaced_custom_object(
        GROUP, BETA, "default", PLURAL, "withstatus", {"status": {"state": "failed"}}
    )
    assert main["status"]["state"] == "successful", "the main resource ignores .status"
    fetched = custom.get_namespaced_custom_object_status(
        GROUP, BETA, "default", PLURAL, "withstatus"
    )
    assert fetched["status"]["state"] == "successful"


def test_delete_returns_the_object_and_removes_the_dgds_pods_and_events(
    custom: client.CustomObjectsApi, standin: StandIn
) -> None:
    create(custom, v1beta1_dgd("doomed"))
    label = {"nvidia.com/dynamo-graph-deployment-name": "doomed"}
    for plural, name in (("pods", "doomed-0"), ("events", "doomed-0.1"), ("pods", "other-0")):
        labels = label if name.startswith("doomed") else {}
        standin.store.create(
            plural, {"metadata": {"name": name, "namespace": "default", "labels": labels}}
        )
    gone = custom.delete_namespaced_custom_object(GROUP, BETA, "default", PLURAL, "doomed")
    assert gone["metadata"]["name"] == "doomed"
    assert standin.store.get(PLURAL, "default", "doomed") is None
    assert [p["metadata"]["name"] for p in standin.store.list("pods")[0]] == ["other-0"]
    assert standin.store.list("events")[0] == []
    with pytest.raises(ApiException) as caught:
        custom.delete_namespaced_custom_object(GROUP, BETA, "default", PLURAL, "doomed")
    assert caught.value.status == 404


def test_create_in_a_missing_namespace_answers_404(custom: client.CustomObjectsApi) -> None:
    with pytest.raises(ApiException) as caught:
        custom.create_namespaced_custom_object(GROUP, BETA, "nowhere", PLURAL, v1beta1_dgd())
    assert error_body(caught)["message"] == 'namespaces "nowhere" not found'
