"""The Store on its own: metadata bookkeeping, selectors, notifications, bounded history."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from bot.sim.k8s.selectors import SelectorError
from bot.sim.k8s.store import AlreadyExists, Conflict, NotFoundError, Store, WatchEvent

DGDS = "dynamographdeployments"


def dgd(name: str, namespace: str = "default", **labels: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace, "labels": labels}, "spec": {}}


def test_create_assigns_uid_increasing_resource_versions_timestamp_and_generation() -> None:
    store = Store()
    first, second = store.create(DGDS, dgd("a")), store.create(DGDS, dgd("b"))
    assert int(second["metadata"]["resourceVersion"]) > int(first["metadata"]["resourceVersion"])
    assert first["metadata"]["uid"] != second["metadata"]["uid"]
    assert first["metadata"]["generation"] == 1
    assert first["metadata"]["creationTimestamp"].endswith("Z")
    assert "generation" not in store.create("pods", dgd("p"))["metadata"]


def test_returned_objects_are_copies_that_do_not_alter_the_store() -> None:
    store = Store()
    store.create(DGDS, dgd("a"))["spec"]["x"] = 1
    got = store.get(DGDS, "default", "a")
    assert got is not None and got["spec"] == {}
    got["spec"]["y"] = 2
    assert store.list(DGDS)[0][0]["spec"] == {}


def test_errors_for_taken_names_missing_objects_and_stale_versions() -> None:
    store = Store()
    created = store.create(DGDS, dgd("a"))
    with pytest.raises(AlreadyExists):
        store.create(DGDS, dgd("a"))
    with pytest.raises(NotFoundError):
        store.update(DGDS, "default", "nope", lambda obj: None)
    with pytest.raises(NotFoundError):
        store.delete(DGDS, "default", "nope")
    store.update(DGDS, "default", "a", lambda obj: None)
    with pytest.raises(Conflict):
        store.update(
            DGDS,
            "default",
            "a",
            lambda obj: None,
            expected_rv=created["metadata"]["resourceVersion"],
        )


def test_generation_counts_spec_changes_and_status_updates_keep_only_status() -> None:
    store = Store()
    store.create(DGDS, dgd("a"))
    labelled = store.update(DGDS, "default", "a", lambda o: o["metadata"].update(labels={"x": "1"}))
    assert labelled["metadata"]["generation"] == 1
    respec = store.update(DGDS, "default", "a", lambda o: o.update(spec={"n": 1}))
    assert respec["metadata"]["generation"] == 2

    def both(obj: dict[str, Any]) -> None:
        obj["spec"] = {"n": 99}
        obj["status"] = {"state": "successful"}

    status = store.update(DGDS, "default", "a", both, subresource="status")
    assert status["spec"] == {"n": 1} and status["status"] == {"state": "successful"}
    assert status["metadata"]["generation"] == 2


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("tier=web", ["a", "c"]),
        ("tier!=web", ["b", "d"]),
        ("tier in (web, db), env==prod", ["a", "b"]),
        ("tier notin (web)", ["b", "d"]),
        ("env", ["a", "b"]),
        ("!env", ["c", "d"]),
    ],
)
def test_label_selectors(selector: str, expected: list[str]) -> None:
    store = Store()
    store.create("pods", dgd("a", tier="web", env="prod"))
    store.create("pods", dgd("b", tier="db", env="prod"))
    store.create("pods", dgd("c", tier="web"))
    store.create("pods", dgd("d", "other"))
    items, _ = store.list("pods", label_selector=selector)
    assert [item["metadata"]["name"] for item in items] == expected


def test_field_selectors_and_namespaces() -> None:
    store = Store()
    store.create(
        "events",
        {
            "metadata": {"name": "e1", "namespace": "a"},
            "involvedObject": {"kind": "Pod", "name": "p1"},
        },
    )
    store.create(
        "events",
        {
            "metadata": {"name": "e2", "namespace": "b"},
            "involvedObject": {"kind": "Pod", "name": "p2"},
        },
    )
    assert [e["metadata"]["name"] for e in store.list("events", "a")[0]] == ["e1"]
    by_field = store.list("events", field_selector="involvedObject.name=p2,involvedObject.kind=Pod")
    assert [e["metadata"]["name"] for e in by_field[0]] == ["e2"]
    assert len(store.list("events", field_selector="metadata.namespace!=a")[0]) == 1
    with pytest.raises(SelectorError):
        store.list("events", label_selector="a in (b")


def test_namespaces_are_cluster_scoped() -> None:
    store = Store()
    store.create("namespaces", {"metadata": {"name": "team-a", "namespace": "ignored"}})
    assert store.get("namespaces", None, "team-a") is not None
    assert [n["metadata"]["name"] for n in store.list("namespaces", "whatever")[0]] == ["team-a"]


def test_subscribers_see_every_change_in_order_and_may_write_back() -> None:
    store = Store()
    seen: list[tuple[str, str]] = []

    def react(event: WatchEvent) -> None:
        seen.append((event.type, event.object["metadata"]["name"]))
        if event.type == "ADDED" and event.resource == DGDS:
            store.create("pods", dgd(event.object["metadata"]["name"] + "-0"))

    unsubscribe = store.subscribe(react)
    store.create(DGDS, dgd("a"))
    store.delete(DGDS, "default", "a")
    assert seen == [("ADDED", "a"), ("ADDED", "a-0"), ("DELETED", "a")]
    unsubscribe()
    store.create(DGDS, dgd("b"))
    assert len(seen) == 3


def test_concurrent_writers_get_unique_resource_versions() -> None:
    store = Store()

    def write(prefix: str) -> None:
        for i in range(200):
            store.create("pods", dgd(f"{prefix}-{i}"))

    threads = [threading.Thread(target=write, args=(str(n),)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    versions = [p["metadata"]["resourceVersion"] for p in store.list("pods")[0]]
    assert len(set(versions)) == 800


def test_history_replays_after_a_version_and_forgets_beyond_its_limit() -> None:
    store = Store(history_limit=3)
    for name in "abcde":
        store.create(DGDS, dgd(name))
    replay = store.events_since(DGDS, "3")
    assert replay is not None and [e.object["metadata"]["name"] for e in replay] == ["d", "e"]
    assert store.events_since(DGDS, "1") is None
    assert store.events_since("pods", "1") == []
