"""bot.domain.dgd, pure: the DGD's vocabulary, and the view's reading of odd and hostile objects.

Shapes: the DGD CRD (``shared/dynamo/crd/nvidia.com_dynamographdeployments.yaml``: group
``nvidia.com``, kind ``DynamoGraphDeployment``, versions ``v1alpha1`` and ``v1beta1``, and a
``metadata`` schema of bare ``type: object``) and Kubernetes' ObjectMeta (``labels`` and
``annotations`` are ``map[string]string``). The API server enforces ObjectMeta, a stand-in or a
proxy may not, so every field is read as if it could be anything.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config.settings import load_settings
from bot.domain.deployments import deployment_from
from bot.domain.dgd import (
    ANNOTATION_CHANNEL,
    ANNOTATION_DELETED_BY,
    ANNOTATION_EXPIRES_AT,
    ANNOTATION_REQUEST,
    ANNOTATION_REQUESTER,
    ANNOTATION_THREAD,
    API_VERSIONS,
    DGD_KIND,
    LABEL_ENGINE,
    LABEL_MANAGED_BY,
    LABEL_MODEL,
    MANAGED_BY_VALUE,
    CardPlace,
    Dgd,
    api_version_of,
)
from bot.domain.provenance import Provenance
from bot.domain.status.raw import meta_of

CRD = Path(__file__).parents[3] / "shared/dynamo/crd/nvidia.com_dynamographdeployments.yaml"
SHAPES = Path(__file__).parents[1] / "fixtures/dgd_status_shapes.yaml"
KEY = "unit-test-provenance-key-made-up-0123456789"
SIGNER = Provenance.from_settings(load_settings(provenance_key=KEY))


def manifest() -> dict[str, Any]:
    """A DGD as Dynamote writes it, signed."""
    unsigned = {
        "apiVersion": "nvidia.com/v1beta1",
        "kind": DGD_KIND,
        "metadata": {
            "name": "qwen",
            "namespace": "team-a",
            "uid": "5b1c7e2a-0000-4000-8000-000000000001",
            "resourceVersion": "42",
            "creationTimestamp": "2026-12-06T10:00:00Z",
            "labels": {LABEL_MANAGED_BY: MANAGED_BY_VALUE, LABEL_MODEL: "Qwen-Qwen3-0.6B"},
            "annotations": {
                ANNOTATION_REQUEST: '{"model": "Qwen/Qwen3-0.6B", "engine": "vllm"}',
                ANNOTATION_REQUESTER: "U0ALICE",
                ANNOTATION_CHANNEL: "C0TEAM",
                ANNOTATION_THREAD: "1765015200.000100",
                ANNOTATION_EXPIRES_AT: "2026-12-07T10:00:00Z",
            },
        },
        "spec": {},
    }
    return SIGNER.signed_manifest(unsigned)


def test_the_api_versions_are_the_ones_the_crd_serves() -> None:
    crd = yaml.safe_load(CRD.read_text())
    group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
    served = {f"{group}/{v['name']}" for v in crd["spec"]["versions"] if v["served"]}
    storage = [f"{group}/{v['name']}" for v in crd["spec"]["versions"] if v["storage"]]
    assert kind == DGD_KIND
    assert set(API_VERSIONS) == served
    assert API_VERSIONS[0] == storage[0], "the storage version is the preferred one"


def test_a_signed_dgd_reads_whole() -> None:
    view = Dgd.read(manifest(), SIGNER)
    assert view.verified
    assert (view.namespace, view.name, view.key) == ("team-a", "qwen", ("team-a", "qwen"))
    assert view.uid == "5b1c7e2a-0000-4000-8000-000000000001"
    assert view.resource_version == "42"
    assert view.meta.creation_timestamp == "2026-12-06T10:00:00Z"
    assert view.api_version == "nvidia.com/v1beta1"
    assert view.managed
    assert view.request == {"model": "Qwen/Qwen3-0.6B", "engine": "vllm"}
    assert (view.model, view.engine) == ("Qwen/Qwen3-0.6B", "vllm")
    assert view.requester == "U0ALICE"
    assert view.card == CardPlace("C0TEAM", "1765015200.000100")
    assert view.deleted_by is None
    assert view.expires_at == "2026-12-07T10:00:00Z"


def test_an_unverified_dgd_claims_no_requester_card_or_deleter() -> None:
    edited = manifest()
    edited["metadata"]["annotations"][ANNOTATION_REQUESTER] = "U0MALLORY"
    edited["metadata"]["annotations"][ANNOTATION_DELETED_BY] = "U0MALLORY"
    for view in (Dgd.read(edited, SIGNER), Dgd.read(manifest()), Dgd(manifest())):
        assert not view.verified
        assert (view.requester, view.card, view.deleted_by) == (None, None, None)
        # What it is stays readable: it can still be listed (to admins) and judged.
        assert view.name == "qwen" and view.model == "Qwen/Qwen3-0.6B"
    assert Dgd.read(edited, SIGNER).annotations[ANNOTATION_REQUESTER] == "U0MALLORY"


def test_without_a_key_nothing_verifies() -> None:
    keyless = Provenance.from_settings(
        load_settings(provenance_key=None, slack_signing_secret=None, slack_bot_token=None)
    )
    assert not Dgd.read(manifest(), keyless).verified


HOSTILE_METADATA: list[tuple[str, object]] = [
    ("absent", None),
    ("a list", [{"name": "qwen"}]),
    ("a string", "qwen"),
    ("a number", 7),
]


@pytest.mark.parametrize(
    ("what", "metadata"), HOSTILE_METADATA, ids=[h[0] for h in HOSTILE_METADATA]
)
def test_metadata_that_is_not_an_object_reads_as_empty(what: str, metadata: object) -> None:
    view = Dgd.read({"apiVersion": "nvidia.com/v1alpha1", "metadata": metadata}, SIGNER)
    assert (view.name, view.namespace, view.uid, view.resource_version) == ("", "", "", "")
    assert view.labels == {} and view.annotations == {}
    assert not view.managed and not view.verified
    assert view.request == {} and view.model is None and view.engine is None
    assert view.api_version == "nvidia.com/v1alpha1"


@pytest.mark.parametrize("raw", [None, [], "dgd", 3, {"metadata": {}}])
def test_an_object_that_is_not_a_dgd_reads_as_empty(raw: object) -> None:
    view = Dgd.read(raw, SIGNER)
    assert view.key == ("", "") and view.api_version is None and not view.verified


def test_fields_of_the_wrong_type_read_as_absent() -> None:
    raw = {
        "apiVersion": ["nvidia.com/v1beta1"],
        "metadata": {
            "name": 12,
            "namespace": {"name": "team-a"},
            "uid": None,
            "resourceVersion": 42,
            "labels": {LABEL_MANAGED_BY: True, LABEL_MODEL: "m", LABEL_ENGINE: 3, 5: "five"},
            "annotations": ["not", "a", "map"],
        },
    }
    view = Dgd.read(raw, SIGNER)
    assert (view.name, view.namespace, view.uid, view.resource_version) == ("", "", "", "")
    assert view.labels == {LABEL_MODEL: "m"}
    assert not view.managed, "only the exact string 'dynamote' marks a DGD Dynamote's"
    assert view.annotations == {} and view.request == {}
    assert (view.model, view.engine) == ("m", None)
    assert view.api_version is None


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ("{not json", {}),
        ("[1, 2]", {}),
        ('"a string"', {}),
        ("", {}),
        ('{"model": 7, "engine": "sglang"}', {"model": 7, "engine": "sglang"}),
    ],
)
def test_an_odd_request_annotation_reads_as_what_can_be_read(
    stored: str, expected: dict[str, Any]
) -> None:
    raw = manifest()
    raw["metadata"]["annotations"][ANNOTATION_REQUEST] = stored
    raw["metadata"]["labels"][LABEL_ENGINE] = "vllm"
    view = Dgd.read(raw)
    assert view.request == expected
    # A model that is not text falls back to the label; so does a missing engine.
    assert view.model == "Qwen-Qwen3-0.6B"
    assert view.engine == expected.get("engine", "vllm")


def test_a_channel_without_a_thread_is_a_card_place_and_an_empty_channel_is_none() -> None:
    raw = manifest()
    del raw["metadata"]["annotations"][ANNOTATION_THREAD]
    assert Dgd.read(SIGNER.signed_manifest(raw), SIGNER).card == CardPlace("C0TEAM", None)
    raw["metadata"]["annotations"][ANNOTATION_CHANNEL] = ""
    assert Dgd.read(SIGNER.signed_manifest(raw), SIGNER).card is None


def test_the_view_never_changes_the_object_it_reads() -> None:
    raw = manifest()
    before = copy.deepcopy(raw)
    view = Dgd.read(raw, SIGNER)
    view.labels["extra"] = "x"
    view.annotations.clear()
    assert raw == before and view.raw is raw


def shapes() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = yaml.safe_load(SHAPES.read_text())["cases"]
    return cases


@pytest.mark.parametrize("case", shapes(), ids=lambda case: case["name"])
@pytest.mark.parametrize("version", API_VERSIONS)
def test_every_status_shape_reads_as_the_dgd_it_belongs_to(
    case: dict[str, Any], version: str
) -> None:
    raw = {**manifest(), "apiVersion": version, "status": case["status"]}
    view = Dgd.read(raw, SIGNER)
    assert view.api_version == version and api_version_of(raw) == version
    assert view.key == ("team-a", "qwen") and view.verified, "the status is not signed"


def test_any_object_s_metadata_reads_the_same_way() -> None:
    pod = {"metadata": {"name": "qwen-frontend-0", "labels": {"app": "x", "bad": None}}}
    meta = meta_of(pod)
    assert (meta.name, meta.labels, meta.label("bad"), meta.deletion_timestamp) == (
        "qwen-frontend-0",
        {"app": "x"},
        None,
        "",
    )
    assert meta_of("not an object").name == ""


@pytest.mark.parametrize(
    "raw",
    [
        {"metadata": ["qwen"], "spec": []},
        {"metadata": {"name": "qwen", "annotations": {ANNOTATION_REQUEST: 5}, "labels": []}},
        {"metadata": {"name": "qwen", "annotations": "x"}, "spec": {"backendFramework": 3}},
    ],
    ids=["metadata-a-list", "request-a-number", "annotations-a-string"],
)
def test_a_deployment_is_read_from_any_object_without_failing(raw: dict[str, Any]) -> None:
    deployment = deployment_from(raw, verified=True)
    assert (deployment.model, deployment.engine) == ("unknown", "unknown")
    assert deployment.requester is None and deployment.channel is None
    assert deployment.request == {} and deployment.annotations == {}
