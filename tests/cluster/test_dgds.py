"""Creating, reading, listing, patching and deleting DGDs against the stand-in, per version."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bot.cluster import (
    MANAGED_BY_LABEL,
    AlreadyExists,
    Cluster,
    Conflict,
    Invalid,
    NotFound,
    NotManaged,
)

from .conftest import dgd_manifest, total_calls

DGDS = "dynamographdeployments"


def stored(standin: Any, namespace: str, name: str) -> dict[str, Any] | None:
    obj: dict[str, Any] | None = standin.store.get(DGDS, namespace, name)
    return obj


def test_a_created_dgd_is_stored_and_returned_with_its_server_fields(
    cluster: Cluster, standin: Any, version: str
) -> None:
    created = cluster.create_dgd(dgd_manifest(version, "qwen-small"))
    assert created["apiVersion"] == f"nvidia.com/{version}"
    assert created["metadata"]["uid"]
    assert created["metadata"]["resourceVersion"]
    assert stored(standin, "default", "qwen-small") is not None


def test_a_dry_run_is_validated_and_returned_but_nothing_is_stored(
    cluster: Cluster, standin: Any, version: str
) -> None:
    answer = cluster.create_dgd(dgd_manifest(version, "qwen-dry"), dry_run=True)
    assert answer["metadata"]["name"] == "qwen-dry"
    assert stored(standin, "default", "qwen-dry") is None


def test_create_adds_the_managed_by_label_when_the_manifest_lacks_it(
    cluster: Cluster, standin: Any, version: str
) -> None:
    manifest = dgd_manifest(version, "unlabelled")
    del manifest["metadata"]["labels"]
    cluster.create_dgd(manifest)
    obj = stored(standin, "default", "unlabelled")
    assert obj is not None
    assert obj["metadata"]["labels"][MANAGED_BY_LABEL] == "dynamote"
    assert "labels" not in manifest["metadata"], "the caller's manifest is not modified"


def test_a_taken_name_raises_already_exists_suggesting_a_free_name(
    cluster: Cluster, version: str
) -> None:
    cluster.create_dgd(dgd_manifest(version, "qwen"))
    cluster.create_dgd(dgd_manifest(version, "qwen-2"))
    with pytest.raises(AlreadyExists) as caught:
        cluster.create_dgd(dgd_manifest(version, "qwen"))
    error = caught.value
    assert error.suggested_name == "qwen-3"
    assert '"qwen" is already taken in namespace "default"' in error.message
    assert 'Try "qwen-3", which is free.' in error.message
    assert not error.temporary
    assert error.__cause__ is not None, "raised from the client's ApiException"


def test_a_taken_numbered_name_suggests_the_next_number(cluster: Cluster, version: str) -> None:
    cluster.create_dgd(dgd_manifest(version, "qwen-7"))
    with pytest.raises(AlreadyExists) as caught:
        cluster.create_dgd(dgd_manifest(version, "qwen-7"))
    assert caught.value.suggested_name == "qwen-8"


def test_a_suggested_free_name_fits_the_longest_name_the_components_allow(
    cluster: Cluster, version: str
) -> None:
    # bot.domain.naming: the worker's objects are "<name>-vllmdecodeworker-<8 hex>", at most 63
    # characters, so the longest name here is 63 - 26 = 37; "<name>-2" must fit it too.
    longest = "q" * 37
    cluster.create_dgd(dgd_manifest(version, longest))
    with pytest.raises(AlreadyExists) as caught:
        cluster.create_dgd(dgd_manifest(version, longest))
    suggested = caught.value.suggested_name
    assert suggested == "q" * 35 + "-2"
    cluster.create_dgd(dgd_manifest(version, suggested))


def test_the_free_name_search_is_bounded(cluster: Cluster, version: str) -> None:
    for name in ["busy", *(f"busy-{n}" for n in range(2, 7))]:
        cluster.create_dgd(dgd_manifest(version, name))
    with pytest.raises(AlreadyExists) as caught:
        cluster.create_dgd(dgd_manifest(version, "busy"))
    assert caught.value.suggested_name is None
    assert "Pick another name" in caught.value.message


def test_an_invalid_dgd_raises_invalid_with_each_field_cause(
    cluster: Cluster, standin: Any, version: str
) -> None:
    manifest = dgd_manifest(version, "broken")
    if version == "v1alpha1":
        manifest["spec"]["services"]["VllmDecodeWorker"]["replicas"] = "two"
    else:
        manifest["spec"]["components"][1]["type"] = "teleporter"
    with pytest.raises(Invalid) as caught:
        cluster.create_dgd(manifest)
    error = caught.value
    assert error.causes, "the server's causes are kept"
    fields = [cause.field for cause in error.causes]
    assert any("replicas" in field or "type" in field for field in fields), fields
    for cause in error.causes:
        assert f"{cause.field}: {cause.message}" in error.message
    assert stored(standin, "default", "broken") is None


def test_an_unknown_field_is_rejected_not_silently_dropped(
    cluster: Cluster, standin: Any, version: str
) -> None:
    manifest = dgd_manifest(version, "extra-field")
    manifest["spec"]["notAField"] = True
    with pytest.raises(Invalid) as caught:
        cluster.create_dgd(manifest, dry_run=True)
    assert any("notAField" in cause.field for cause in caught.value.causes)


def test_get_returns_the_dgd_in_the_chosen_version(cluster: Cluster, version: str) -> None:
    cluster.create_dgd(dgd_manifest(version, "qwen"))
    got = cluster.get_dgd("default", "qwen")
    assert got["metadata"]["name"] == "qwen"
    assert got["apiVersion"] == f"nvidia.com/{version}"


def test_get_of_a_missing_dgd_raises_not_found_naming_it(cluster: Cluster) -> None:
    with pytest.raises(NotFound) as caught:
        cluster.get_dgd("default", "ghost")
    assert 'There is no deployment "ghost"' in caught.value.message
    assert 'namespace "default"' in caught.value.message


def test_listing_returns_only_managed_dgds_of_the_namespaces_asked(
    cluster: Cluster, version: str, create_unmanaged: Callable[[str], None]
) -> None:
    cluster.create_dgd(dgd_manifest(version, "mine-a"))
    cluster.create_dgd(dgd_manifest(version, "mine-b", namespace="dynamo-system"))
    create_unmanaged("theirs")
    names = {d["metadata"]["name"] for d in cluster.list_managed_dgds(["default"])}
    assert names == {"mine-a"}
    both = {d["metadata"]["name"] for d in cluster.list_managed_dgds(["default", "dynamo-system"])}
    assert both == {"mine-a", "mine-b"}
    everywhere = {d["metadata"]["name"] for d in cluster.list_managed_dgds()}
    assert everywhere == {"mine-a", "mine-b"}


@pytest.mark.parametrize("count", [1, 40])
def test_listing_makes_one_call_per_namespace_however_many_dgds(
    cluster: Cluster, standin: Any, version: str, count: int
) -> None:
    for n in range(count):
        cluster.create_dgd(dgd_manifest(version, f"model-{n}"))
    cluster.dgd_api_version()  # warm the version cache
    before = total_calls(standin)
    listed = cluster.list_managed_dgds(["default", "dynamo-system"])
    assert len(listed) == count
    assert total_calls(standin) - before == 2
    before = total_calls(standin)
    cluster.list_managed_dgds()
    assert total_calls(standin) - before == 1


def test_annotations_are_merge_patched_and_none_removes_one(cluster: Cluster, version: str) -> None:
    created = cluster.create_dgd(dgd_manifest(version, "qwen"))
    rv = created["metadata"]["resourceVersion"]
    patched = cluster.patch_dgd_annotations(
        "default",
        "qwen",
        {"dynamote.io/phase": "Running", "dynamote.io/ts": "1.2"},
        resource_version=rv,
    )
    assert patched["metadata"]["annotations"]["dynamote.io/phase"] == "Running"
    again = cluster.patch_dgd_annotations(
        "default",
        "qwen",
        {"dynamote.io/ts": None},
        resource_version=patched["metadata"]["resourceVersion"],
    )
    assert again["metadata"]["annotations"] == {"dynamote.io/phase": "Running"}
    assert again["spec"] == created["spec"], "only annotations change"


def test_patching_with_a_stale_resource_version_raises_conflict(
    cluster: Cluster, version: str
) -> None:
    created = cluster.create_dgd(dgd_manifest(version, "qwen"))
    stale = created["metadata"]["resourceVersion"]
    cluster.patch_dgd_annotations("default", "qwen", {"a": "1"}, resource_version=stale)
    with pytest.raises(Conflict) as caught:
        cluster.patch_dgd_annotations("default", "qwen", {"a": "2"}, resource_version=stale)
    assert caught.value.temporary
    assert cluster.get_dgd("default", "qwen")["metadata"]["annotations"] == {"a": "1"}


def _someone_writes(cluster: Cluster, name: str, annotations: dict[str, str | None]) -> None:
    """A write by someone else (the operator's status, another replica) on the DGD as it is."""
    version = cluster.get_dgd("default", name)["metadata"]["resourceVersion"]
    cluster.patch_dgd_annotations("default", name, annotations, resource_version=version)


def test_a_patch_as_read_after_another_write_reads_again_and_goes_through(
    cluster: Cluster, version: str
) -> None:
    created = cluster.create_dgd(dgd_manifest(version, "qwen"))
    _someone_writes(cluster, "qwen", {"other": "x"})
    patched = cluster.patch_dgd_annotations_as_read(created, {"mine": "1"}, guarded=("mine",))
    assert patched["metadata"]["annotations"] == {"other": "x", "mine": "1"}


def test_a_patch_as_read_reads_again_while_writes_keep_coming_up_to_three_tries(
    cluster: Cluster, version: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = cluster.create_dgd(dgd_manifest(version, "qwen"))
    _someone_writes(cluster, "qwen", {"status": "0"})
    read = cluster.get_dgd
    reads: list[str] = []

    def read_then_someone_writes(namespace: str, name: str, writes: int) -> dict[str, Any]:
        got = read(namespace, name)
        reads.append(name)
        if len(reads) <= writes:  # the operator writes its status again right after the read
            version = got["metadata"]["resourceVersion"]
            status = {"status": str(len(reads))}
            cluster.patch_dgd_annotations(namespace, name, status, resource_version=version)
        return got

    monkeypatch.setattr(cluster, "get_dgd", lambda ns, name: read_then_someone_writes(ns, name, 1))
    patched = cluster.patch_dgd_annotations_as_read(created, {"mine": "1"}, guarded=())
    assert patched["metadata"]["annotations"] == {"status": "1", "mine": "1"}
    assert len(reads) == 2

    monkeypatch.undo()
    _someone_writes(cluster, "qwen", {"status": "again"})
    reads.clear()
    monkeypatch.setattr(cluster, "get_dgd", lambda ns, name: read_then_someone_writes(ns, name, 9))
    with pytest.raises(Conflict):
        cluster.patch_dgd_annotations_as_read(patched, {"mine": "2"}, guarded=())
    assert len(reads) == 2, "three patches, a read after each of the first two"
    assert read("default", "qwen")["metadata"]["annotations"]["mine"] == "1"


def test_a_patch_as_read_writes_nothing_on_a_dgd_created_anew_under_the_name(
    cluster: Cluster, version: str
) -> None:
    created = cluster.create_dgd(dgd_manifest(version, "qwen"))
    cluster.delete_dgd("default", "qwen")
    cluster.create_dgd(dgd_manifest(version, "qwen"))
    with pytest.raises(Conflict):
        cluster.patch_dgd_annotations_as_read(created, {"mine": "1"}, guarded=())
    assert "annotations" not in cluster.get_dgd("default", "qwen")["metadata"]


def test_a_patch_as_read_leaves_a_guarded_annotation_someone_changed_meanwhile(
    cluster: Cluster, version: str
) -> None:
    created = cluster.create_dgd(dgd_manifest(version, "qwen"))
    _someone_writes(cluster, "qwen", {"record": "theirs"})
    with pytest.raises(Conflict):
        cluster.patch_dgd_annotations_as_read(created, {"record": "mine"}, guarded=("record",))
    assert cluster.get_dgd("default", "qwen")["metadata"]["annotations"] == {"record": "theirs"}


def test_deleting_a_managed_dgd_removes_it(cluster: Cluster, standin: Any, version: str) -> None:
    cluster.create_dgd(dgd_manifest(version, "qwen"))
    cluster.delete_dgd("default", "qwen")
    assert stored(standin, "default", "qwen") is None


def test_deleting_an_unmanaged_dgd_raises_not_managed_and_deletes_nothing(
    cluster: Cluster, standin: Any, create_unmanaged: Callable[[str], None]
) -> None:
    create_unmanaged("theirs")
    with pytest.raises(NotManaged) as caught:
        cluster.delete_dgd("default", "theirs")
    assert "was not created by Dynamote" in caught.value.message
    assert stored(standin, "default", "theirs") is not None


def test_deleting_a_missing_dgd_raises_not_found(cluster: Cluster) -> None:
    with pytest.raises(NotFound):
        cluster.delete_dgd("default", "ghost")


def test_creating_in_a_namespace_that_does_not_exist_says_so(
    cluster: Cluster, version: str
) -> None:
    with pytest.raises(NotFound) as caught:
        cluster.create_dgd(dgd_manifest(version, "qwen", namespace="nowhere"))
    assert 'namespace "nowhere" does not exist' in caught.value.message


def test_a_delete_by_uid_leaves_a_same_named_newer_dgd_alone(
    cluster: Cluster, version: str
) -> None:
    first = cluster.create_dgd(dgd_manifest(version, "qwen"))
    cluster.delete_dgd("default", "qwen")
    cluster.create_dgd(dgd_manifest(version, "qwen"))
    with pytest.raises(NotFound):
        cluster.delete_dgd("default", "qwen", uid=first["metadata"]["uid"])
    assert cluster.get_dgd("default", "qwen")["metadata"]["uid"] != first["metadata"]["uid"]
