"""DeploymentRequest -> DynamoGraphDeployment manifest, for nvidia.com/v1beta1 and v1alpha1.

Modelled on the operator's own examples (``shared/dynamo/examples``): the same component
names and types per engine and mode, ``python3 -m dynamo.<engine>`` with the examples'
working dirs and flags, KV routing through ``DYN_ROUTER_MODE`` on the frontend plus the
workers' KV-event flags, the HF token secret on every component, GPU limits and ephemeral
storage on workers. The graph is first described engine- and version-neutrally
(:class:`Component`), then written in the shape of the requested API version. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.request import DeploymentRequest

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
]

ApiVersion = Literal["nvidia.com/v1beta1", "nvidia.com/v1alpha1"]
API_VERSIONS: tuple[ApiVersion, ...] = ("nvidia.com/v1beta1", "nvidia.com/v1alpha1")
DEFAULT_API_VERSION: ApiVersion = "nvidia.com/v1beta1"

PREFIX = "dynamote.dev"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_NAME = "app.kubernetes.io/name"
LABEL_MODEL = f"{PREFIX}/model"
LABEL_ENGINE = f"{PREFIX}/engine"
LABEL_REQUESTER = f"{PREFIX}/requester"
MANAGED_SELECTOR = f"{LABEL_MANAGED_BY}=dynamote"
ANNOTATION_REQUEST = f"{PREFIX}/request"
ANNOTATION_REQUESTER = f"{PREFIX}/requester"
ANNOTATION_CHANNEL = f"{PREFIX}/channel"
ANNOTATION_THREAD = f"{PREFIX}/thread-ts"
ANNOTATION_DELETED_BY = f"{PREFIX}/deleted-by"  # set just before Dynamote deletes a DGD

ComponentType = Literal["frontend", "worker", "prefill", "decode"]

# Per engine, from the examples: worker component names (aggregated, decode, prefill), the
# working dir, the model flag, and the KV-events port.
_VLLM_KV_EVENTS = (
    '{"publisher":"zmq","topic":"kv-events","endpoint":"tcp://*:20080",'
    '"enable_kv_cache_events":true}'
)
_SGLANG_KV_EVENTS = '{"publisher":"zmq","topic":"kv-events","endpoint":"tcp://*:5557"}'
_NIXL_TRANSFER = '{"kv_connector":"NixlConnector","kv_role":"kv_both"}'
_TRTLLM_ENGINE_CONFIG = "./examples/backends/trtllm/engine_configs/qwen3/{role}.yaml"


@dataclass(frozen=True)
class _EngineLayout:
    aggregated: str
    decode: str
    prefill: str
    working_dir: str


_LAYOUTS: dict[str, _EngineLayout] = {
    "vllm": _EngineLayout(
        "VllmDecodeWorker",
        "VllmDecodeWorker",
        "VllmPrefillWorker",
        "/workspace/examples/backends/vllm",
    ),
    "sglang": _EngineLayout("decode", "decode", "prefill", "/workspace/examples/backends/sglang"),
    "trtllm": _EngineLayout("TRTLLMWorker", "decode", "prefill", "/workspace/"),
}


@dataclass(frozen=True)
class SlackOrigin:
    """Who asked, from where, and the status card whose thread gets the updates."""

    user: str
    channel: str | None = None
    thread_ts: str | None = None


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
    labels: Mapping[str, str] = field(default_factory=dict)


def graph_components(
    request: DeploymentRequest, *, image: str, ephemeral_storage: str | None = "2Gi"
) -> list[Component]:
    """The frontend and the workers the request asks for, in the examples' order."""
    frontend_env = (
        (("DYN_ROUTER_MODE", request.router_mode),) if request.router_mode != "none" else ()
    )
    components = [
        Component(
            name="Frontend",
            type="frontend",
            replicas=1,
            image=image,
            env=frontend_env,
            secret=request.hf_token_secret,
        )
    ]
    layout = _LAYOUTS[request.engine]
    roles: list[tuple[str, ComponentType]] = (
        [(layout.aggregated, "worker")]
        if request.mode == "aggregated"
        else [(layout.decode, "decode"), (layout.prefill, "prefill")]
    )
    for name, role in roles:
        components.append(
            Component(
                name=name,
                type=role,
                replicas=request.replicas,
                image=image,
                command=("python3", "-m", f"dynamo.{request.engine}"),
                args=tuple(_worker_args(request, role)),
                working_dir=layout.working_dir,
                gpus=request.gpus,
                memory=request.memory,
                ephemeral_storage=ephemeral_storage,
                secret=request.hf_token_secret,
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
    args.append("--skip-tokenizer-init")
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
        args.append("--publish-events-and-metrics")
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
        LABEL_MANAGED_BY: "dynamote",
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
    return {
        "name": component.name,
        "type": component.type,
        "replicas": component.replicas,
        "podTemplate": {"spec": {"containers": [container]}},
    }


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
    return service


def render_dgd(
    request: DeploymentRequest,
    *,
    image: str,
    api_version: ApiVersion = DEFAULT_API_VERSION,
    ephemeral_storage: str | None = "2Gi",
    origin: SlackOrigin | None = None,
) -> dict[str, Any]:
    """The DGD manifest for a request, in the shape of ``api_version``."""
    components = graph_components(request, image=image, ephemeral_storage=ephemeral_storage)
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
