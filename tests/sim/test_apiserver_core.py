"""Core v1 resources, SelfSubjectAccessReview and leases through the official client."""

from __future__ import annotations

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from bot.sim.k8s.resources import DGD_LABEL, POD_LOG_ANNOTATION
from bot.sim.k8s.standin import StandIn


def pod(name: str, dgd: str, *, log: str = "") -> client.V1Pod:
    annotations = {POD_LOG_ANNOTATION: log} if log else None
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels={DGD_LABEL: dgd}, annotations=annotations),
        spec=client.V1PodSpec(containers=[client.V1Container(name="main", image="x")]),
    )


def test_pods_are_created_listed_by_label_cluster_wide_patched_and_deleted(
    core: client.CoreV1Api,
) -> None:
    core.create_namespaced_pod("default", pod("a-0", "a"))
    core.create_namespaced_pod("dynamo-system", pod("a-1", "a"))
    core.create_namespaced_pod("default", pod("b-0", "b"))
    mine = core.list_pod_for_all_namespaces(label_selector=f"{DGD_LABEL}=a")
    assert sorted(p.metadata.name for p in mine.items) == ["a-0", "a-1"]
    in_default = core.list_namespaced_pod("default", label_selector=f"{DGD_LABEL}=a")
    assert [p.metadata.name for p in in_default.items] == ["a-0"]
    patched = core.patch_namespaced_pod("a-0", "default", {"metadata": {"labels": {"x": "y"}}})
    assert patched.metadata.labels["x"] == "y"
    core.delete_namespaced_pod("a-0", "default")
    with pytest.raises(ApiException) as caught:
        core.read_namespaced_pod("a-0", "default")
    assert caught.value.status == 404


def test_pod_log_returns_the_text_the_operator_set(core: client.CoreV1Api) -> None:
    core.create_namespaced_pod("default", pod("logged", "a", log="one\ntwo\nthree\n"))
    assert core.read_namespaced_pod_log("logged", "default") == "one\ntwo\nthree\n"
    assert core.read_namespaced_pod_log("logged", "default", tail_lines=1) == "three\n"


def test_events_are_filtered_by_involved_object(core: client.CoreV1Api, standin: StandIn) -> None:
    for name, involved in (("e1", "a-0"), ("e2", "b-0")):
        standin.store.create(
            "events",
            {
                "apiVersion": "v1",
                "kind": "Event",
                "reason": "FailedScheduling",
                "metadata": {"name": name, "namespace": "default"},
                "involvedObject": {"kind": "Pod", "name": involved, "namespace": "default"},
            },
        )
    events = core.list_namespaced_event(
        "default", field_selector="involvedObject.name=a-0,involvedObject.kind=Pod"
    )
    assert [e.metadata.name for e in events.items] == ["e1"]


def test_seeded_namespaces_have_the_hf_secret_and_secrets_are_crud(
    core: client.CoreV1Api,
) -> None:
    names = [ns.metadata.name for ns in core.list_namespace().items]
    assert names == ["default", "dynamo-system"]
    assert core.read_namespaced_secret("hf-token-secret", "dynamo-system").data == {"HF_TOKEN": ""}
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="team-a")))
    secret = client.V1Secret(metadata=client.V1ObjectMeta(name="s"), string_data={"k": "v"})
    assert core.create_namespaced_secret("team-a", secret).data == {"k": "dg=="}
    core.delete_namespaced_secret("s", "team-a")
    assert core.list_namespaced_secret("team-a").items == []
    assert core.read_namespace("team-a").metadata.name == "team-a"


def review(verb: str, resource: str, namespace: str) -> client.V1SelfSubjectAccessReview:
    attributes = client.V1ResourceAttributes(
        verb=verb, group="nvidia.com", resource=resource, namespace=namespace
    )
    return client.V1SelfSubjectAccessReview(
        spec=client.V1SelfSubjectAccessReviewSpec(resource_attributes=attributes)
    )


def test_access_reviews_allow_everything_unless_a_fault_denies_it(
    api_client: client.ApiClient, standin: StandIn
) -> None:
    auth = client.AuthorizationV1Api(api_client)
    dgds = "dynamographdeployments"
    assert auth.create_self_subject_access_review(review("create", dgds, "a")).status.allowed
    standin.faults.forbid("create", dgds, "a")
    assert not auth.create_self_subject_access_review(review("create", dgds, "a")).status.allowed
    assert auth.create_self_subject_access_review(review("create", dgds, "b")).status.allowed


def test_leases_are_crud_and_a_stale_replace_answers_409(api_client: client.ApiClient) -> None:
    leases = client.CoordinationV1Api(api_client)
    body = client.V1Lease(
        metadata=client.V1ObjectMeta(name="dynamote-leader"),
        spec=client.V1LeaseSpec(holder_identity="pod-a", lease_duration_seconds=15),
    )
    created = leases.create_namespaced_lease("dynamo-system", body)
    created.spec.holder_identity = "pod-b"
    taken = leases.replace_namespaced_lease("dynamote-leader", "dynamo-system", created)
    assert taken.spec.holder_identity == "pod-b"
    created.spec.holder_identity = "pod-c"  # still carries the old resourceVersion
    with pytest.raises(ApiException) as caught:
        leases.replace_namespaced_lease("dynamote-leader", "dynamo-system", created)
    assert caught.value.status == 409
    read = leases.read_namespaced_lease("dynamote-leader", "dynamo-system")
    assert read.spec.holder_identity == "pod-b"
    leases.delete_namespaced_lease("dynamote-leader", "dynamo-system")
    assert leases.list_namespaced_lease("dynamo-system").items == []
