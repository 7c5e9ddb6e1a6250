"""The Dynamo release Dynamote targets decides component names and image admission.

Facts from the operator's source and release notes: vLLM's components are ``worker`` /
``prefill`` / ``decode`` from 1.6.0; from 1.5.0 admission needs ``runtimeVersionOverride`` on
every component whose main image tag is not a semantic version
(``deploy/operator/internal/runtimeversion/runtimeversion.go``), and the CRD takes it only as
``X.Y.Z``.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from bot.domain.catalog import default_catalog_path, load_catalog
from bot.domain.manifest import API_VERSIONS, render_dgd
from bot.domain.releases import (
    DEFAULT_DYNAMO_VERSION,
    coverage,
    image_needs_version_override,
    image_tag,
    parse_runtime_version,
    rules_for,
)
from bot.domain.request import RequestLimits, parse_request
from bot.sim.k8s.validation import DgdSchemas

CATALOG = load_catalog(default_catalog_path())
DIGEST = "sha256:" + "0123456789abcdef" * 4
REPO = "nvcr.io/nvidia/ai-dynamo/vllm-runtime"


def _request(version: str, **fields: Any) -> Any:
    data = {"model": "Qwen/Qwen3-0.6B", "name": "q", "namespace": "team-a", "engine": "vllm"}
    data.update(fields)
    return parse_request(data, catalog=CATALOG, limits=RequestLimits(8, 8, version))


def _worker_names(manifest: dict[str, Any]) -> list[str]:
    return [c["name"] for c in manifest["spec"]["components"][1:]]


@pytest.mark.parametrize(
    ("image", "needs"),
    [
        (f"{REPO}:1.4.2", False),
        (f"{REPO}:v1.4.0", False),
        (f"{REPO}:1.4.0-cuda13", False),
        (f"{REPO}:1.5", False),  # the operator reads MAJOR.MINOR too
        (f"{REPO}:1.4.2@{DIGEST}", False),  # the tag before the digest counts
        (f"{REPO}@{DIGEST}", True),
        (f"{REPO}:latest", True),
        (f"{REPO}:my-tag", True),
        (REPO, True),
        ("localhost:5000/vllm-runtime", True),  # a port is not a tag
        ("localhost:5000/vllm-runtime:1.5.0", False),
    ],
)
def test_the_image_tag_is_read_as_the_operator_reads_it(image: str, needs: bool) -> None:
    assert image_needs_version_override(image) is needs


def test_image_tag_ignores_ports_and_digests() -> None:
    assert image_tag("host:5000/a/b:1.2.3@" + DIGEST) == "1.2.3"
    assert image_tag("host:5000/a/b") == ""


@pytest.mark.parametrize(
    ("version", "aggregated", "disaggregated"),
    [
        ("1.4.2", ["VllmDecodeWorker"], ["VllmDecodeWorker", "VllmPrefillWorker"]),
        ("1.5.1", ["VllmDecodeWorker"], ["VllmDecodeWorker", "VllmPrefillWorker"]),
        ("1.6.2", ["worker"], ["decode", "prefill"]),
        ("1.7.1", ["worker"], ["decode", "prefill"]),
    ],
)
def test_vllm_components_are_named_as_the_targeted_release_names_them(
    version: str, aggregated: list[str], disaggregated: list[str]
) -> None:
    image = f"{REPO}:{version}"
    agg = render_dgd(_request(version), image=image, dynamo_version=version)
    disagg = render_dgd(
        _request(version, mode="disaggregated"), image=image, dynamo_version=version
    )
    assert _worker_names(agg) == aggregated
    assert _worker_names(disagg) == disaggregated
    assert [c["type"] for c in disagg["spec"]["components"]] == ["frontend", "decode", "prefill"]


@pytest.mark.parametrize("engine", ["sglang", "trtllm"])
def test_sglang_and_trtllm_keep_their_names_in_every_release(engine: str) -> None:
    names = {
        version: _worker_names(
            render_dgd(_request(version, engine=engine), image=f"{REPO}:1", dynamo_version=version)
        )
        for version in ("1.4.0", "1.7.0")
    }
    assert (
        names["1.4.0"] == names["1.7.0"] == (["decode"] if engine == "sglang" else ["TRTLLMWorker"])
    )


@pytest.mark.parametrize("api_version", API_VERSIONS)
@pytest.mark.parametrize("image", [f"{REPO}@{DIGEST}", f"{REPO}:latest", "registry.local/vllm"])
def test_a_non_semver_image_gets_runtime_version_override_on_every_component_from_1_5(
    dynamo_reference: Path, image: str, api_version: str
) -> None:
    schemas = DgdSchemas(dynamo_reference / "crd" / "nvidia.com_dynamographdeployments.yaml")
    request = _request("1.5.1", mode="disaggregated", routerMode="kv")
    manifest = render_dgd(
        request,
        image=image,
        api_version=api_version,  # type: ignore[arg-type]
        dynamo_version="v1.5.1-cuda13",
    )
    spec = manifest["spec"]
    components = spec["components"] if "components" in spec else list(spec["services"].values())
    assert [c.get("runtimeVersionOverride") for c in components] == ["1.5.1"] * 3
    check = schemas.check(api_version.split("/")[1], copy.deepcopy(manifest))
    assert check.unknown_fields == [] and check.causes == []


@pytest.mark.parametrize(
    ("image", "version"),
    [(f"{REPO}:1.5.0", "1.5.0"), (f"{REPO}@{DIGEST}", "1.4.2"), (f"{REPO}:my-tag", "1.4.0")],
)
def test_no_override_where_the_tag_is_a_version_or_the_operator_does_not_ask(
    image: str, version: str
) -> None:
    manifest = render_dgd(_request(version), image=image, dynamo_version=version)
    assert all("runtimeVersionOverride" not in c for c in manifest["spec"]["components"])


def test_the_default_is_the_newest_patch_of_the_documented_release() -> None:
    assert DEFAULT_DYNAMO_VERSION == "1.4.2" and coverage(DEFAULT_DYNAMO_VERSION) is None


@pytest.mark.parametrize(
    ("version", "used"),
    [("1.8.0", (1, 7)), ("2.0.0", (1, 7)), ("1.3.1", (1, 4)), ("0.7.1", (1, 4))],
)
def test_a_release_outside_the_table_gets_the_nearest_rules_and_says_so(
    version: str, used: tuple[int, int]
) -> None:
    assert rules_for(version).release == used
    note = coverage(version)
    assert note is not None and version in note and f"{used[0]}.{used[1]} rules" in note


@pytest.mark.parametrize("text", ["latest", "1.4", "my-tag", "1.04.0", "sha256:abc", ""])
def test_a_version_that_is_not_a_release_is_refused_with_the_form(text: str) -> None:
    with pytest.raises(ValueError, match=r"MAJOR\.MINOR\.PATCH"):
        parse_runtime_version(text)
