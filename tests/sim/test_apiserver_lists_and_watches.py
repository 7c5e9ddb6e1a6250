"""Listing with selectors and pages, and watch streams, through the official client."""

from __future__ import annotations

import time
from typing import Any

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from bot.sim.k8s.standin import StandIn
from tests.waiting import when_watched

from .dgds import GROUP, PLURAL, v1alpha1_dgd, v1beta1_dgd

BETA = "v1beta1"


def names(listing: dict[str, Any]) -> list[str]:
    return [item["metadata"]["name"] for item in listing["items"]]


@pytest.fixture
def labelled(custom: client.CustomObjectsApi) -> None:
    """Four DGDs: a(tier=web,env=prod) b(tier=db,env=prod) c(tier=web) d(no labels)."""
    for name, labels in (
        ("a", {"tier": "web", "env": "prod"}),
        ("b", {"tier": "db", "env": "prod"}),
        ("c", {"tier": "web"}),
        ("d", {}),
    ):
        custom.create_namespaced_custom_object(
            GROUP, BETA, "default", PLURAL, v1beta1_dgd(name, **labels)
        )


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("tier=web", ["a", "c"]),
        ("tier==web", ["a", "c"]),
        ("tier!=web", ["b", "d"]),
        ("tier in (db,web),env=prod", ["a", "b"]),
        ("tier notin (web)", ["b", "d"]),
        ("env", ["a", "b"]),
        ("!env", ["c", "d"]),
    ],
)
@pytest.mark.usefixtures("labelled")
def test_label_selector_forms_filter_lists(
    custom: client.CustomObjectsApi, selector: str, expected: list[str]
) -> None:
    listing = custom.list_namespaced_custom_object(
        GROUP, BETA, "default", PLURAL, label_selector=selector
    )
    assert names(listing) == expected


@pytest.mark.usefixtures("labelled")
def test_field_selector_on_metadata_name_and_a_malformed_selector_answers_400(
    custom: client.CustomObjectsApi,
) -> None:
    listing = custom.list_namespaced_custom_object(
        GROUP, BETA, "default", PLURAL, field_selector="metadata.name=b"
    )
    assert names(listing) == ["b"]
    with pytest.raises(ApiException) as caught:
        custom.list_namespaced_custom_object(
            GROUP, BETA, "default", PLURAL, label_selector="tier in (web"
        )
    assert caught.value.status == 400


@pytest.mark.usefixtures("labelled")
def test_list_pages_with_limit_and_continue(custom: client.CustomObjectsApi) -> None:
    first = custom.list_namespaced_custom_object(GROUP, BETA, "default", PLURAL, limit=3)
    assert names(first) == ["a", "b", "c"] and first["metadata"]["remainingItemCount"] == 1
    rest = custom.list_namespaced_custom_object(
        GROUP, BETA, "default", PLURAL, limit=3, _continue=first["metadata"]["continue"]
    )
    assert names(rest) == ["d"] and "continue" not in rest["metadata"]


def test_cluster_wide_list_spans_namespaces_and_returns_objects_as_stored(
    custom: client.CustomObjectsApi,
) -> None:
    custom.create_namespaced_custom_object(GROUP, BETA, "default", PLURAL, v1beta1_dgd("one"))
    custom.create_namespaced_custom_object(
        GROUP, "v1alpha1", "dynamo-system", PLURAL, v1alpha1_dgd("two")
    )
    listing = custom.list_cluster_custom_object(GROUP, BETA, PLURAL)
    assert names(listing) == ["one", "two"]
    assert listing["items"][1]["apiVersion"] == "nvidia.com/v1alpha1", "no conversion webhook"
    assert listing["kind"] == "DynamoGraphDeploymentList"


def stream_events(
    custom: client.CustomObjectsApi, *, until: int | None = None, **kwargs: Any
) -> list[tuple[str, str]]:
    """(type, name) of each event; stops after `until` events, else at the server's timeout."""
    watcher = watch.Watch()
    seen = []
    for event in watcher.stream(
        custom.list_namespaced_custom_object, GROUP, BETA, "default", PLURAL, **kwargs
    ):
        seen.append((event["type"], event["object"]["metadata"]["name"]))
        if until is not None and len(seen) == until:
            watcher.stop()
    return seen


def test_watch_streams_added_modified_and_deleted_in_order(
    custom: client.CustomObjectsApi, standin: StandIn
) -> None:
    _, list_rv = standin.store.list(PLURAL)

    def make_changes() -> None:
        custom.create_namespaced_custom_object(GROUP, BETA, "default", PLURAL, v1beta1_dgd("w"))
        custom.patch_namespaced_custom_object(
            GROUP, BETA, "default", PLURAL, "w", {"metadata": {"labels": {"x": "y"}}}
        )
        custom.delete_namespaced_custom_object(GROUP, BETA, "default", PLURAL, "w")

    writer = when_watched(standin.store, make_changes)
    seen = stream_events(custom, until=3, resource_version=list_rv, timeout_seconds=5)
    writer.join()
    assert seen == [("ADDED", "w"), ("MODIFIED", "w"), ("DELETED", "w")]


def test_watch_without_resource_version_starts_with_the_current_objects(
    custom: client.CustomObjectsApi,
) -> None:
    custom.create_namespaced_custom_object(GROUP, BETA, "default", PLURAL, v1beta1_dgd("here"))
    started = time.monotonic()
    assert stream_events(custom, timeout_seconds=1) == [("ADDED", "here")]
    assert 0.9 < time.monotonic() - started < 3, "timeoutSeconds ends the stream"


def test_watch_from_a_resource_version_replays_later_changes_matching_the_selector(
    custom: client.CustomObjectsApi, standin: StandIn
) -> None:
    _, start = standin.store.list(PLURAL)
    custom.create_namespaced_custom_object(GROUP, BETA, "default", PLURAL, v1beta1_dgd("skip"))
    custom.create_namespaced_custom_object(
        GROUP, BETA, "default", PLURAL, v1beta1_dgd("keep", app="x")
    )
    seen = stream_events(
        custom, until=1, resource_version=start, label_selector="app=x", timeout_seconds=5
    )
    assert seen == [("ADDED", "keep")], "skip came first and was filtered out"


def test_watch_from_a_resource_version_older_than_the_history_gets_410_expired(
    custom: client.CustomObjectsApi, standin: StandIn
) -> None:
    standin.store.create(PLURAL, {"metadata": {"name": "churn", "namespace": "default"}})
    for _ in range(10_001):  # push the first change out of the bounded history
        standin.store.update(PLURAL, "default", "churn", lambda obj: None)
    with pytest.raises(ApiException) as caught:
        stream_events(custom, resource_version="1", timeout_seconds=1)
    assert caught.value.status == 410
    assert "Expired" in str(caught.value.reason)


def test_watch_sends_bookmarks_when_asked(
    custom: client.CustomObjectsApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.sim.k8s.watch._BOOKMARK_EVERY", 0.2)
    watcher = watch.Watch()
    events = watcher.stream(
        custom.list_namespaced_custom_object,
        GROUP,
        BETA,
        "default",
        PLURAL,
        allow_watch_bookmarks=True,
        timeout_seconds=5,
    )
    first = next(iter(events))
    watcher.stop()
    assert first["type"] == "BOOKMARK"
