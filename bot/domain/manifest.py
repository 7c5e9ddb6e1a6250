"""DeploymentRequest -> DynamoGraphDeployment manifest, for nvidia.com/v1beta1 and v1alpha1.

Modelled on the operator's own examples (``shared/dynamo/examples``): the component names
and types per engine and mode that the targeted Dynamo release uses (:mod:`bot.domain.releases`),
``python3 -m dynamo.<engine>`` with the examples' working dirs and flags, KV routing through
``DYN_ROUTER_MODE`` on the frontend plus the workers' KV-event flags, the HF token secret on
every component, GPU limits and ephemeral storage sized from the model on workers, and
``runtimeVersionOverride`` where the release's admission needs it. The graph is first
described engine- and version-neutrally (:class:`Component`), then written in the shape of
the requested API version. Pure: no I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.domain.catalog import Model
from bot.domain.dgd import (
    ANNOTATION_CHANNEL,
    ANNOTATION_DELETED_BY,
    ANNOTATION_EXPIRES_AT,
    ANNOTATION_REQUEST,
    ANNOTATION_REQUESTER,
    ANNOTATION_THREAD,
    API_VERSIONS,
    DEFAULT_API_VERSION,
    LABEL_ENGINE,
    LABEL_MANAGED_BY,
    LABEL_MODEL,
    LABEL_NAME,
    LABEL_REQUESTER,
    MANAGED_BY_VALUE,
    MANAGED_SELECTOR,
    ApiVersion,
)
from bot.domain.releases import (
    DEFAULT_DYNAMO_VERSION,
    FRONTEND_NAME,
    ComponentType,
    image_needs_version_override,
    parse_runtime_version,
    rules_for,
    worker_components,
)
from bot.domain.request import DeploymentRequest

__all__ = [
    "ANNOTATION_CHANNEL",
    "ANNOTATION_DELETED_BY",
    "ANNOTATION_REQUEST",
    "ANNOTATION_REQUESTER",
    "ANNOTATION_THREAD",
    "API_VERSIONS",
    "DEFAULT_API_VERSION",
    "LABEL_ENGINE",
    "LABEL_MANAGED_BY",
    "LABEL_MODEL",
    "LABEL_REQUESTER",
    "MANAGED_SELECTOR",
    "Component",
    "SlackOrigin",
    "frontend_service_name",
    "graph_components",
    "label_value",
    "render_dgd",
    "worker_ephemeral_storage",
]


# Per engine, from the examples: the working dir, and the KV-events and transfer settings.
_VLLM_KV_EVENTS = (
    '{"publisher":"zmq","topic":"kv-events","endpoint":"tcp://*:20080",'
    '"enable_kv_cache_events":true}'
)
_SGLANG_KV_EVENTS = '{"publisher":"zmq","topic":"kv-events","endpoint":"tcp://*:5557"}'
_NIXL_TRANSFER = '{"kv_connector":"NixlConnector","kv_role":"kv_both"}'
_TRTLLM_ENGINE_CONFIG = "./examples/backends/trtllm/engine_configs/qwen3/{role}.yaml"


_WORKING_DIRS = {
    "vllm": "/workspace/examples/backends/vllm",
    "sglang": "/workspace/examples/backends/sglang",
    "trtllm": "/workspace/",
}

# Ephemeral storage per worker: the weights the worker downloads into the container, 20%
# more (a repository often holds a little beside the weights used), and 4 GiB for the
# engine's compile caches and logs; never under 10 GiB. A catalog entry's ephemeralStorage
# replaces the estimate. The examples' 2Gi (with "increase this value for larger models")
# fits no model of the catalog.
STORAGE_FLOOR_GIB = 10
STORAGE_WEIGHTS_FACTOR = 1.2
STORAGE_EXTRA_GIB = 4
_BYTES_PER_PARAMETER = 2  # bf16/fp16 weights
_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.I)
_SIZE_UNITS = {
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}
_PARAMETER_UNITS = {"M": 10**6, "B": 10**9}


def _weights_bytes(model: Model) -> float:
    """The catalog's download size when it is a byte size, else the parameters at 2 bytes."""
    size = _SIZE.fullmatch(model.size)
    if size:
        return float(size[1]) * _SIZE_UNITS[size[2].lower()]
    parameters = float(model.parameters[:-1]) * _PARAMETER_UNITS[model.parameters[-1]]
    return parameters * _BYTES_PER_PARAMETER


def worker_ephemeral_storage(model: Model | None) -> str:
    """The ephemeral storage a worker of ``model`` requests (see the formula above)."""
    if model is None:
        return f"{STORAGE_FLOOR_GIB}Gi"
    if model.ephemeral_storage:
        return model.ephemeral_storage
    weights_gib = _weights_bytes(model) / 2**30
    gib = math.ceil(weights_gib * STORAGE_WEIGHTS_FACTOR) + STORAGE_EXTRA_GIB
    return f"{max(gib, STORAGE_FLOOR_GIB)}Gi"


@dataclass(frozen=True)
class SlackOrigin:
    """Who asked, from where, and the status card whose thread gets the updates."""

    user: str
    channel: str | None = None
    thread_ts: str | None = None
    expires_at: str | None = None  # RFC 3339 (bot.domain.expiry); None: kept until deleted


@dataclass(frozen=True)
class Component:
    """One component of the graph, independent of the API version it is written in."""

    name: str
    type: ComponentType
    replicas: int
    image: str
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    working_dir: str | None = None
    env: tuple[tuple[str, str], ...] = ()
    gpus: int = 0
    memory: str | None = None
    ephemeral_storage: str | None = None
    secret: str | None = None
    runtime_version: str | None = None  # runtimeVersionOverride
    labels: Mapping[str, str] = field(default_factory=dict)


def graph_components(
    request: DeploymentRequest,
    *,
    image: str,
    ephemeral_storage: str | None = None,
    dynamo_version: str = DEFAULT_DYNAMO_VERSION,
    model: Model | None = None,
) -> list[Component]:
    """The frontend and the workers the request asks for, in the examples' order, named as
    the targeted Dynamo release names them.

    ``ephemeral_storage`` fixes every worker's request; without it the request is sized from
    ``model`` (:func:`worker_ephemeral_storage`). ``runtime_version`` is set on every
    component when the release's admission needs it: an image tag the operator cannot read
    a version from.
    """
    version = parse_runtime_version(dynamo_version)
    rules = rules_for(version)
    override = (
        version.core if rules.image_admission and image_needs_version_override(image) else None
    )
    storage = ephemeral_storage or worker_ephemeral_storage(model)
    frontend_env = (
        (("DYN_ROUTER_MODE", request.router_mode),) if request.router_mode != "none" else ()
    )
    components = [
        Component(
            name=FRONTEND_NAME,
            type="frontend",
            replicas=1,
            image=image,
            env=frontend_env,
            secret=request.hf_token_secret,
            runtime_version=override,
        )
    ]
    for name, role in worker_components(request.engine, request.mode, rules):
        components.append(
            Component(
                name=name,
                type=role,
                replicas=request.replicas,
                image=image,
                command=("python3", "-m", f"dynamo.{request.engine}"),
                args=tuple(_worker_args(request, role)),
                working_dir=_WORKING_DIRS[request.engine],
                gpus=request.gpus,
                memory=request.memory,
                ephemeral_storage=storage,
                secret=request.hf_token_secret,
                runtime_version=override,
            )
        )
    return components


def _worker_args(request: DeploymentRequest, role: ComponentType) -> list[str]:
    builders = {"vllm": _vllm_args, "sglang": _sglang_args, "trtllm": _trtllm_args}
    args = builders[request.engine](request, role)
    for flag, value in request.engine_args.items():
        args += [f"--{flag}"] if value is True else [f"--{flag}", str(value)]
    return args


def _publishes_kv_events(request: DeploymentRequest, role: ComponentType) -> bool:
    # The examples publish KV events from the aggregated worker, or from the prefill worker
    # when the graph is disaggregated.
    return request.router_mode == "kv" and role in ("worker", "prefill")


def _vllm_args(request: DeploymentRequest, role: ComponentType) -> list[str]:
    args = ["--model", request.model]
    if role in ("prefill", "decode"):
        args += ["--disaggregation-mode", role, "--kv-transfer-config", _NIXL_TRANSFER]
    if _publishes_kv_events(request, role):
        args += ["--kv-events-config", _VLLM_KV_EVENTS]
    if request.served_model_name:
        args += ["--served-model-name", request.served_model_name]
    if request.gpus > 1:
        args += ["--tensor-parallel-size", str(request.gpus)]
    if request.context_length:
        args += ["--max-model-len", str(request.context_length)]
    if request.enforce_eager:
        args.append("--enforce-eager")
    if not request.enable_prefix_caching:
        args.append("--no-enable-prefix-caching")
    if request.trust_remote_code:
        args.append("--trust-remote-code")
    return args


def _sglang_args(request: DeploymentRequest, role: ComponentType) -> list[str]:
    args = [
        "--model-path",
        request.model,
        "--served-model-name",
        request.served_name,
        "--page-size",
        "16",
        "--tp",
        str(request.gpus),
    ]
    if request.trust_remote_code:
        args.append("--trust-remote-code")
    # No --skip-tokenizer-init, as in the newer examples: it turns SGLang's grammar backend
    # off, so requests with response_format json_schema fail.
    if role in ("prefill", "decode"):
        args += [
            "--disaggregation-mode",
            role,
            "--disaggregation-transfer-backend",
            "nixl",
            "--disaggregation-bootstrap-port",
            "12345",
            "--host",
            "0.0.0.0",  # noqa: S104  (the pod's address, as in the examples)
        ]
    if _publishes_kv_events(request, role):
        args += ["--kv-events-config", _SGLANG_KV_EVENTS]
    if request.context_length:
        args += ["--context-length", str(request.context_length)]
    if request.enforce_eager:
        args.append("--disable-cuda-graph")
    if not request.enable_prefix_caching:
        args.append("--disable-radix-cache")
    return args


def _trtllm_args(request: DeploymentRequest, role: ComponentType) -> list[str]:
    config = _TRTLLM_ENGINE_CONFIG.format(role="agg" if role == "worker" else role)
    args = [
        "--model-path",
        request.model,
        "--served-model-name",
        request.served_name,
        "--extra-engine-args",
        config,
    ]
    if role in ("prefill", "decode"):
        args += ["--disaggregation-mode", role]
    if _publishes_kv_events(request, role):
        # The newer examples' spelling (Dynamo 1.3.0 and later); the examples' older
        # --publish-events-and-metrics is a deprecated alias.
        args.append("--publish-kv-events")
    if request.context_length:
        args += ["--max-seq-len", str(request.context_length)]
    return args


# --- labels and annotations ---------------------------------------------------------------

_LABEL_VALUE_BAD = re.compile(r"[^A-Za-z0-9._-]+")


def label_value(text: str) -> str:
    """Text made into a legal label value: at most 63 of [A-Za-z0-9._-], alphanumeric ends."""
    cleaned = _LABEL_VALUE_BAD.sub(".", text.replace("/", "."))[:63]
    return re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "", cleaned)


def _metadata(request: DeploymentRequest, origin: SlackOrigin | None) -> dict[str, Any]:
    labels = {
        LABEL_MANAGED_BY: MANAGED_BY_VALUE,
        LABEL_NAME: "dynamote",
        LABEL_MODEL: label_value(request.model),
        LABEL_ENGINE: request.engine,
    }
    annotations = {ANNOTATION_REQUEST: request.to_annotation()}
    if origin is not None:
        requester = label_value(origin.user)
        if requester:
            labels[LABEL_REQUESTER] = requester
        annotations[ANNOTATION_REQUESTER] = origin.user
        if origin.channel:
            annotations[ANNOTATION_CHANNEL] = origin.channel
        if origin.thread_ts:
            annotations[ANNOTATION_THREAD] = origin.thread_ts
        if origin.expires_at:
            annotations[ANNOTATION_EXPIRES_AT] = origin.expires_at
    return {
        "name": request.name,
        "namespace": request.namespace,
        "labels": labels,
        "annotations": annotations,
    }


# --- writing the graph in each API version ------------------------------------------------


def _v1beta1_component(component: Component) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "main", "image": component.image}
    if component.command:
        container["command"] = list(component.command)
    if component.args:
        container["args"] = list(component.args)
    if component.env:
        container["env"] = [{"name": k, "value": v} for k, v in component.env]
    if component.secret:
        container["envFrom"] = [{"secretRef": {"name": component.secret}}]
    if component.working_dir:
        container["workingDir"] = component.working_dir
    limits: dict[str, str] = {}
    requests: dict[str, str] = {}
    if component.gpus:
        limits["nvidia.com/gpu"] = str(component.gpus)
    if component.memory:
        limits["memory"] = requests["memory"] = component.memory
    if component.ephemeral_storage and component.gpus:
        requests["ephemeral-storage"] = component.ephemeral_storage
    if limits or requests:
        container["resources"] = {
            key: value for key, value in (("limits", limits), ("requests", requests)) if value
        }
    written: dict[str, Any] = {
        "name": component.name,
        "type": component.type,
        "replicas": component.replicas,
        "podTemplate": {"spec": {"containers": [container]}},
    }
    if component.runtime_version:
        written["runtimeVersionOverride"] = component.runtime_version
    return written


def _v1alpha1_service(component: Component) -> dict[str, Any]:
    service: dict[str, Any] = {"replicas": component.replicas}
    if component.type in ("prefill", "decode"):
        service["componentType"] = "worker"
        service["subComponentType"] = component.type
    else:
        service["componentType"] = component.type
    if component.secret:
        service["envFromSecret"] = component.secret
    if component.env:
        service["envs"] = [{"name": k, "value": v} for k, v in component.env]
    resources: dict[str, Any] = {}
    if component.gpus:
        resources.setdefault("limits", {})["gpu"] = str(component.gpus)
    if component.memory:
        resources.setdefault("limits", {})["memory"] = component.memory
        resources.setdefault("requests", {})["memory"] = component.memory
    if component.ephemeral_storage and component.gpus:
        resources.setdefault("requests", {})["custom"] = {
            "ephemeral-storage": component.ephemeral_storage
        }
    if resources:
        service["resources"] = resources
    container: dict[str, Any] = {"image": component.image}
    if component.working_dir:
        container["workingDir"] = component.working_dir
    if component.command:
        container["command"] = list(component.command)
    if component.args:
        container["args"] = list(component.args)
    service["extraPodSpec"] = {"mainContainer": container}
    if component.runtime_version:
        service["runtimeVersionOverride"] = component.runtime_version
    return service


def render_dgd(
    request: DeploymentRequest,
    *,
    image: str,
    api_version: ApiVersion = DEFAULT_API_VERSION,
    ephemeral_storage: str | None = None,
    origin: SlackOrigin | None = None,
    dynamo_version: str = DEFAULT_DYNAMO_VERSION,
    model: Model | None = None,
) -> dict[str, Any]:
    """The DGD manifest for a request, in the shape of ``api_version``, by the rules of the
    Dynamo release ``dynamo_version`` (see :func:`graph_components`)."""
    components = graph_components(
        request,
        image=image,
        ephemeral_storage=ephemeral_storage,
        dynamo_version=dynamo_version,
        model=model,
    )
    spec: dict[str, Any] = {"backendFramework": request.engine}
    if api_version == "nvidia.com/v1beta1":
        spec["components"] = [_v1beta1_component(c) for c in components]
    elif api_version == "nvidia.com/v1alpha1":
        spec["services"] = {c.name: _v1alpha1_service(c) for c in components}
    else:
        raise ValueError(f"unsupported API version {api_version!r}; use one of {API_VERSIONS}")
    return {
        "apiVersion": api_version,
        "kind": "DynamoGraphDeployment",
        "metadata": _metadata(request, origin),
        "spec": spec,
    }


def frontend_service_name(dgd_name: str) -> str:
    """The Service the operator creates for the frontend (``<dgd>-frontend``, port 8000)."""
    return f"{dgd_name}-frontend"
