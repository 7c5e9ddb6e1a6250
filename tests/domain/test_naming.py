"""Deployment names by the operator's naming: every object it derives from a DGD fits 63.

The operator names each component's objects ``<dgd>-<component lowercased>``, plus
``-<8 hex>`` for worker components (``GetDCDResourceName`` in
``deploy/operator/internal/dynamo/graph.go``; the hash from ``hash.go``), and labels pods with
``nvidia.com/dynamo-namespace: <namespace>-<dgd>``. These tests take the component names and
types from the rendered manifest, not from the table that sized the limit.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from bot.domain.catalog import default_catalog_path, load_catalog
from bot.domain.manifest import API_VERSIONS, render_dgd
from bot.domain.naming import component_object_name, dynamo_namespace, max_dgd_name_length
from bot.domain.releases import KNOWN_RELEASES
from bot.domain.request import RequestError, RequestLimits, name_limit, parse_request
from bot.sim.k8s.validation import DgdSchemas

CATALOG = load_catalog(default_catalog_path())
NAMESPACES = ("dynamo-system", "n" * 40)
RELEASES = [f"{major}.{minor}.0" for major, minor in sorted(KNOWN_RELEASES)]
COMBINATIONS = [
    (engine, mode)
    for engine in ("vllm", "sglang", "trtllm")
    for mode in ("aggregated", "disaggregated")
]


def _parse(name: str, engine: str, mode: str, namespace: str, version: str) -> Any:
    data = {
        "model": "Qwen/Qwen3-0.6B",
        "name": name,
        "namespace": namespace,
        "engine": engine,
        "mode": mode,
        "routerMode": "kv",
    }
    return parse_request(data, catalog=CATALOG, limits=RequestLimits(8, 8, version))


def _worker_hash(manifest: dict[str, Any]) -> str:
    # The operator's hash is the first 8 hex digits of a SHA-256 over the worker specs.
    return hashlib.sha256(json.dumps(manifest["spec"], sort_keys=True).encode()).hexdigest()[:8]


def _components(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    spec = manifest["spec"]
    if "components" in spec:
        return [(c["name"], c["type"]) for c in spec["components"]]
    return [(name, s["componentType"]) for name, s in spec["services"].items()]


def _derived_names(manifest: dict[str, Any]) -> list[str]:
    name, namespace = manifest["metadata"]["name"], manifest["metadata"]["namespace"]
    digest = _worker_hash(manifest)
    names = [component_object_name(name, c, t, digest) for c, t in _components(manifest)]
    return [*names, dynamo_namespace(namespace, name)]


@pytest.fixture(scope="module")
def schemas(dynamo_reference: Path) -> DgdSchemas:
    return DgdSchemas(dynamo_reference / "crd" / "nvidia.com_dynamographdeployments.yaml")


@pytest.mark.parametrize("api_version", API_VERSIONS)
@pytest.mark.parametrize("version", RELEASES)
@pytest.mark.parametrize("namespace", NAMESPACES)
@pytest.mark.parametrize(("engine", "mode"), COMBINATIONS)
def test_the_longest_accepted_name_renders_objects_that_fit_and_one_more_is_refused(
    schemas: DgdSchemas, engine: str, mode: str, namespace: str, version: str, api_version: str
) -> None:
    limit = name_limit(engine, mode, namespace, version).limit
    request = _parse("a" * limit, engine, mode, namespace, version)
    manifest = render_dgd(
        request,
        image="nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.4.2",
        api_version=api_version,  # type: ignore[arg-type]
        dynamo_version=version,
    )
    derived = _derived_names(manifest)
    assert all(len(n) <= 63 for n in derived), [(n, len(n)) for n in derived]
    assert max(len(n) for n in derived) == 63  # the limit is tight, not merely safe
    check = schemas.check(api_version.split("/")[1], copy.deepcopy(manifest))
    assert check.unknown_fields == [] and check.causes == []

    with pytest.raises(RequestError) as refused:
        _parse("a" * (limit + 1), engine, mode, namespace, version)
    message = refused.value.errors["name"]
    assert f"at most {limit} " in message and "63" in message


@pytest.mark.parametrize(
    ("engine", "mode", "version", "expected"),
    [
        # The limits the release notes derive from the same naming (36, 37, 41; 46-47).
        ("vllm", "disaggregated", "1.4.2", 36),
        ("vllm", "aggregated", "1.4.2", 37),
        ("vllm", "aggregated", "1.5.1", 37),
        ("trtllm", "aggregated", "1.4.2", 41),
        ("vllm", "aggregated", "1.6.0", 47),
        ("vllm", "disaggregated", "1.7.1", 46),
        ("sglang", "aggregated", "1.4.2", 47),
        ("sglang", "disaggregated", "1.4.2", 46),
    ],
)
def test_the_limits_are_those_the_release_notes_derive(
    engine: str, mode: str, version: str, expected: int
) -> None:
    assert name_limit(engine, mode, "team-a", version).limit == expected


def test_a_long_namespace_bounds_the_name_through_the_dynamo_namespace_label() -> None:
    limit = name_limit("sglang", "aggregated", "n" * 40, "1.4.2")
    assert limit.limit == 22 and "Dynamo namespace" in limit.because
    with pytest.raises(RequestError) as message:
        _parse("a" * 23, "sglang", "aggregated", "n" * 40, "1.4.2")
    assert "at most 22 " in message.value.errors["name"]


def test_object_names_follow_the_operators_rule() -> None:
    # graph.go: frontend -> <dgd>-<lowercased>; workers -> ... -<hash>; dots become '-'.
    assert component_object_name("vllm-agg", "Frontend", "frontend") == "vllm-agg-frontend"
    assert (
        component_object_name("vllm-agg", "VllmDecodeWorker", "worker", "1a2b3c4d")
        == "vllm-agg-vllmdecodeworker-1a2b3c4d"
    )
    assert component_object_name("d", "prefill", "prefill", "00ff00ff") == "d-prefill-00ff00ff"
    assert component_object_name("d", "Planner", "planner") == "d-planner"
    assert component_object_name("d.x", "A.b", "frontend") == "d-x-a-b"
    assert dynamo_namespace("team-a", "qwen") == "team-a-qwen"
    assert max_dgd_name_length("team-a", [("Frontend", "frontend")]).limit == 54
