"""Manifests: every catalog model x engine x mode x router x API version is valid against the
operator's CRD (unknown fields rejected) and has the structure of the operator's examples."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.domain.catalog import default_catalog_path, load_catalog, parse_catalog
from bot.domain.manifest import (
    ANNOTATION_CHANNEL,
    ANNOTATION_REQUEST,
    ANNOTATION_THREAD,
    API_VERSIONS,
    LABEL_MANAGED_BY,
    LABEL_MODEL,
    SlackOrigin,
    label_value,
    render_dgd,
    worker_ephemeral_storage,
)
from bot.domain.request import (
    DeploymentRequest,
    Privileges,
    RequestLimits,
    default_name,
    parse_request,
)
from bot.sim.k8s.validation import DgdSchemas

CATALOG = load_catalog(default_catalog_path())
IMAGE = "nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.4.0"


def _request(model: str = "Qwen/Qwen3-0.6B", **fields: Any) -> DeploymentRequest:
    data: dict[str, Any] = {
        "model": model,
        "name": default_name(model),
        "namespace": "team-a",
        "engine": "vllm",
    }
    data.update(fields)
    # As an admin: these tests render every option, trust-remote-code included.
    return parse_request(
        data, catalog=CATALOG, limits=RequestLimits(8, 8), privileges=Privileges(admin=True)
    )


def _combinations() -> Iterator[tuple[str, str, str, str]]:
    for model in CATALOG.models:
        for engine, mode, router in itertools.product(
            model.supported_engines, ("aggregated", "disaggregated"), ("none", "kv", "round-robin")
        ):
            yield model.id, engine, mode, router


@pytest.fixture(scope="module")
def schemas(dynamo_reference: Path) -> dict[str, DgdSchemas]:
    crd = dynamo_reference / "crd"
    current = DgdSchemas(crd / "nvidia.com_dynamographdeployments.yaml")
    older = DgdSchemas(crd / "deploy-cloud-final" / "nvidia.com_dynamographdeployments.yaml")
    return {"current": current, "2025-12": older}


def _assert_valid_strict(schemas: DgdSchemas, manifest: dict[str, Any]) -> None:
    version = manifest["apiVersion"].split("/")[1]
    check = schemas.check(version, copy.deepcopy(manifest))
    assert check.unknown_fields == [], f"unknown fields: {check.unknown_fields}"
    assert check.causes == [], f"invalid: {[c.message for c in check.causes]}"


@pytest.mark.parametrize("api_version", API_VERSIONS)
@pytest.mark.parametrize(("model", "engine", "mode", "router"), list(_combinations()))
def test_every_combination_validates_against_the_crd_with_unknown_fields_rejected(
    schemas: dict[str, DgdSchemas],
    model: str,
    engine: str,
    mode: str,
    router: str,
    api_version: str,
) -> None:
    request = _request(model, engine=engine, mode=mode, routerMode=router, replicas=2)
    manifest = render_dgd(
        request, image=IMAGE, api_version=api_version, origin=SlackOrigin("U1", "C1", "1.2")
    )  # type: ignore[arg-type]
    _assert_valid_strict(schemas["current"], manifest)
    if api_version == "nvidia.com/v1alpha1":
        _assert_valid_strict(schemas["2025-12"], manifest)


@pytest.mark.parametrize("api_version", API_VERSIONS)
def test_every_option_at_once_still_validates(
    schemas: dict[str, DgdSchemas], api_version: str
) -> None:
    request = _request(
        gpus=4,
        contextLength=16384,
        memory="32Gi",
        servedModelName="team/qwen",
        enforceEager=True,
        enablePrefixCaching=False,
        trustRemoteCode=True,
        engineArgs="max-num-seqs=64\nenable-chunked-prefill",
        mode="disaggregated",
        routerMode="round-robin",
    )
    manifest = render_dgd(request, image=IMAGE, api_version=api_version)  # type: ignore[arg-type]
    _assert_valid_strict(schemas["current"], manifest)


# --- structure of the operator's examples -------------------------------------------------


def _args_map(args: list[str]) -> dict[str, str | None]:
    parsed: dict[str, str | None] = {}
    for index, token in enumerate(args):
        if token.startswith("--"):
            following = args[index + 1] if index + 1 < len(args) else None
            is_value = following is not None and not following.startswith("--")
            parsed[token] = following if is_value else None
    return parsed


def _normalise(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per component: type, command, working dir, args, GPUs, worker secret, frontend env."""
    result: dict[str, dict[str, Any]] = {}
    if "components" in manifest["spec"]:
        for component in manifest["spec"]["components"]:
            container = component["podTemplate"]["spec"]["containers"][0]
            secrets = [e["secretRef"]["name"] for e in container.get("envFrom", [])]
            gpus = container.get("resources", {}).get("limits", {}).get("nvidia.com/gpu")
            result[component["name"]] = _entry(component["type"], container, secrets, gpus)
    else:
        for name, service in manifest["spec"]["services"].items():
            container = dict(service["extraPodSpec"]["mainContainer"])
            container["env"] = service.get("envs", [])
            args = _args_map(container.get("args", []))
            kind = service.get("subComponentType") or args.get("--disaggregation-mode")
            kind = kind or service["componentType"]
            secrets = [service["envFromSecret"]] if "envFromSecret" in service else []
            gpus = service.get("resources", {}).get("limits", {}).get("gpu")
            result[name] = _entry(kind, container, secrets, gpus)
    return result


def _entry(kind: str, container: dict[str, Any], secrets: list[str], gpus: Any) -> dict[str, Any]:
    env = {e["name"]: e["value"] for e in container.get("env", [])}
    if kind == "frontend":
        return {"type": kind, "router": env.get("DYN_ROUTER_MODE")}
    return {
        "type": kind,
        "command": container.get("command"),
        "workingDir": container.get("workingDir"),
        "args": _args_map(container.get("args", [])),
        "gpus": str(gpus),
        "secrets": secrets,
    }


# Flags of the reference examples that newer examples write differently (Dynamo's release
# notes): TensorRT-LLM's KV-event flag is --publish-kv-events (the old one a deprecated alias),
# and SGLang's examples dropped --skip-tokenizer-init (it broke json_schema responses).
NEWER_SPELLINGS: dict[str, str | None] = {
    "--publish-events-and-metrics": "--publish-kv-events",
    "--skip-tokenizer-init": None,
}

EXAMPLES = [
    (engine, mode, router)
    for engine in ("vllm", "sglang", "trtllm")
    for mode in ("agg", "disagg")
    for router in ("", "_router")
    if not (engine == "sglang" and mode == "disagg" and router)
]


@pytest.mark.parametrize("api_version", API_VERSIONS)
@pytest.mark.parametrize(("engine", "mode", "router"), EXAMPLES)
def test_manifest_has_the_structure_of_the_operators_example(
    dynamo_reference: Path, engine: str, mode: str, router: str, api_version: str
) -> None:
    folder = dynamo_reference / "examples"
    if api_version == "nvidia.com/v1alpha1":
        folder = folder / "v1alpha1"
    example = yaml.safe_load((folder / f"{engine}-{mode}{router}.yaml").read_text())
    expected = _normalise(example)
    worker_replicas = max(
        c["replicas"]
        for c in (example["spec"].get("components") or example["spec"]["services"].values())
        if (c.get("type") or c.get("componentType")) != "frontend"
    )
    request = _request(
        engine=engine,
        mode="aggregated" if mode == "agg" else "disaggregated",
        routerMode="kv" if router else "none",
        replicas=worker_replicas,
        # The SGLang examples always trust remote code; Dynamote does so only on request.
        trustRemoteCode=engine == "sglang",
    )
    actual = _normalise(render_dgd(request, image=IMAGE, api_version=api_version))  # type: ignore[arg-type]
    assert actual.keys() == expected.keys()
    for name, want in expected.items():
        got = actual[name]
        assert got["type"] == want["type"], name
        if want["type"] == "frontend":
            assert got["router"] == want["router"], name
            continue
        assert (got["command"], got["workingDir"], got["gpus"]) == (
            want["command"],
            want["workingDir"],
            want["gpus"],
        ), name
        assert want["secrets"] == got["secrets"], name
        # Dynamote may add flags the newer examples use (v1alpha1 decode workers lack the
        # transfer config that v1beta1 adds); every flag of the example must be there as is.
        for flag, value in want["args"].items():
            if flag in NEWER_SPELLINGS:
                newer = NEWER_SPELLINGS[flag]
                assert flag not in got["args"], (name, flag)
                assert newer is None or newer in got["args"], (name, newer)
                continue
            assert got["args"].get(flag, "<missing>") == value, (name, flag)


# --- option flags per engine ----------------------------------------------------------------


def _worker_args(request: DeploymentRequest) -> list[str]:
    manifest = render_dgd(request, image=IMAGE)
    worker = manifest["spec"]["components"][1]
    return list(worker["podTemplate"]["spec"]["containers"][0]["args"])


@pytest.mark.parametrize(
    ("engine", "fields", "expected"),
    [
        ("vllm", {"contextLength": 4096}, ["--max-model-len", "4096"]),
        ("vllm", {"enforceEager": True}, ["--enforce-eager"]),
        ("vllm", {"enablePrefixCaching": False}, ["--no-enable-prefix-caching"]),
        ("vllm", {"trustRemoteCode": True}, ["--trust-remote-code"]),
        ("vllm", {"gpus": 2}, ["--tensor-parallel-size", "2"]),
        ("vllm", {"servedModelName": "team/q"}, ["--served-model-name", "team/q"]),
        ("sglang", {"contextLength": 4096}, ["--context-length", "4096"]),
        ("sglang", {"enforceEager": True}, ["--disable-cuda-graph"]),
        ("sglang", {"enablePrefixCaching": False}, ["--disable-radix-cache"]),
        ("sglang", {"trustRemoteCode": True}, ["--trust-remote-code"]),
        ("sglang", {"gpus": 2}, ["--tp", "2"]),
        ("sglang", {"servedModelName": "team/q"}, ["--served-model-name", "team/q"]),
        ("trtllm", {"contextLength": 4096}, ["--max-seq-len", "4096"]),
        ("trtllm", {"servedModelName": "team/q"}, ["--served-model-name", "team/q"]),
    ],
)
def test_each_form_option_maps_to_the_engines_flag(
    engine: str, fields: dict[str, Any], expected: list[str]
) -> None:
    args = _worker_args(_request(engine=engine, **fields))
    start = args.index(expected[0])
    assert args[start : start + len(expected)] == expected


def test_gpus_set_the_gpu_limit_and_memory_sets_requests_and_limits() -> None:
    manifest = render_dgd(_request(gpus=4, memory="32Gi"), image=IMAGE)
    resources = manifest["spec"]["components"][1]["podTemplate"]["spec"]["containers"][0][
        "resources"
    ]
    assert resources["limits"] == {"nvidia.com/gpu": "4", "memory": "32Gi"}
    assert resources["requests"] == {"memory": "32Gi", "ephemeral-storage": "10Gi"}


def test_engine_args_are_appended_as_separate_argv_items() -> None:
    args = _worker_args(_request(engineArgs="max-num-seqs=8\nenable-chunked-prefill"))
    assert args[-3:] == ["--max-num-seqs", "8", "--enable-chunked-prefill"]


def test_round_robin_router_is_set_on_the_frontend_and_none_sets_nothing() -> None:
    def frontend_env(router: str) -> list[dict[str, str]]:
        manifest = render_dgd(_request(routerMode=router), image=IMAGE)
        return list(
            manifest["spec"]["components"][0]["podTemplate"]["spec"]["containers"][0].get("env", [])
        )

    assert frontend_env("round-robin") == [{"name": "DYN_ROUTER_MODE", "value": "round-robin"}]
    assert frontend_env("none") == []


def test_labels_and_annotations_carry_the_request_and_the_slack_origin() -> None:
    request = _request()
    manifest = render_dgd(request, image=IMAGE, origin=SlackOrigin("U123", "C456", "1700.01"))
    metadata = manifest["metadata"]
    assert metadata["labels"][LABEL_MANAGED_BY] == "dynamote"
    assert metadata["labels"][LABEL_MODEL] == "Qwen.Qwen3-0.6B"
    assert metadata["annotations"][ANNOTATION_CHANNEL] == "C456"
    assert metadata["annotations"][ANNOTATION_THREAD] == "1700.01"
    stored = DeploymentRequest.model_validate_json(
        metadata["annotations"][ANNOTATION_REQUEST], context={"catalog": CATALOG}
    )
    assert stored == request


@pytest.mark.parametrize(
    "text", ["Qwen/Qwen3-0.6B", "a" * 200, "--weird//name__", "ünïcode/model", "/", "x"]
)
def test_label_values_are_always_legal(text: str) -> None:
    value = label_value(text)
    assert len(value) <= 63
    assert value == "" or (value[0].isalnum() and value[-1].isalnum() and value.isascii())


@pytest.mark.parametrize("api_version", API_VERSIONS)
def test_the_strict_check_itself_catches_unknown_fields_and_bad_values(
    schemas: dict[str, DgdSchemas], api_version: str
) -> None:
    manifest = render_dgd(_request(), image=IMAGE, api_version=api_version)  # type: ignore[arg-type]
    manifest["spec"]["gpuCount"] = 2
    with pytest.raises(AssertionError, match="unknown fields"):
        _assert_valid_strict(schemas["current"], manifest)
    del manifest["spec"]["gpuCount"]
    manifest["spec"]["backendFramework"] = "tensorflow"
    with pytest.raises(AssertionError, match="invalid"):
        _assert_valid_strict(schemas["current"], manifest)


# --- ephemeral storage ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        # weights GiB x 1.2, rounded up, + 4 GiB; at least 10 GiB.
        ("Qwen/Qwen3-0.6B", "10Gi"),  # 1.5 GB
        ("meta-llama/Llama-3.2-3B-Instruct", "12Gi"),  # 6.4 GB = 5.96 GiB -> 8 + 4
        ("mistralai/Mistral-7B-Instruct-v0.3", "21Gi"),  # 14.5 GB = 13.5 GiB -> 17 + 4
        ("deepseek-ai/DeepSeek-R1-Distill-Llama-8B", "22Gi"),  # 16.1 GB = 15.0 GiB -> 18 + 4
    ],
)
def test_worker_storage_is_sized_from_the_catalog_weights(model: str, expected: str) -> None:
    entry = CATALOG.get(model)
    manifest = render_dgd(_request(model), image=IMAGE, model=entry)
    requests = manifest["spec"]["components"][1]["podTemplate"]["spec"]["containers"][0][
        "resources"
    ]["requests"]
    assert requests["ephemeral-storage"] == expected


def test_every_catalog_model_gets_room_for_its_weights() -> None:
    for model in CATALOG.models:
        gib = int(worker_ephemeral_storage(model).removesuffix("Gi"))
        weights_gib = float(model.size.split()[0]) * 10**9 / 2**30
        assert gib >= max(10, weights_gib * 1.2 + 4), model.id


def test_the_catalog_field_and_the_setting_replace_the_estimate() -> None:
    raw = {
        "id": "org/big",
        "name": "Big",
        "description": "A big model",
        "size": "a lot",
        "task": "chat",
        "parameters": "70B",
        "contextLength": 4096,
        "license": "MIT",
        "supportedEngines": ["vllm"],
        "minGpuMemory": 80,
    }
    estimated = parse_catalog({"models": [raw]}).models[0]
    assert worker_ephemeral_storage(estimated) == "161Gi"  # 70e9 x 2 bytes = 130.4 GiB
    chosen = parse_catalog({"models": [{**raw, "ephemeralStorage": "300Gi"}]}).models[0]
    assert worker_ephemeral_storage(chosen) == "300Gi"
    request = _request()
    manifest = render_dgd(request, image=IMAGE, model=chosen, ephemeral_storage="50Gi")
    container = manifest["spec"]["components"][1]["podTemplate"]["spec"]["containers"][0]
    assert container["resources"]["requests"]["ephemeral-storage"] == "50Gi"
