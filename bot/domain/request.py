"""DeploymentRequest: the deploy form's data and every rule it must meet, in one place.

The modal, the CLI and the tests all go through :func:`parse_request`. It returns a valid,
frozen request or raises :class:`RequestError` with one message per field (keyed by the
camelCase field name the form and the CLI use), each saying what is wrong and how to fix it.
Pure: no I/O; the catalog, the limits and what the person may use (bot.domain.privileges) are
passed in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from bot.domain.catalog import ENGINE_LABELS, ENGINES, Catalog, Engine, Model
from bot.domain.engine_args import EngineArgError, check_args
from bot.domain.naming import RFC1123_LABEL, ComponentNames, max_dgd_name_length
from bot.domain.privileges import Privileges
from bot.domain.releases import (
    DEFAULT_DYNAMO_VERSION,
    KNOWN_RELEASES,
    graph_component_names,
    parse_runtime_version,
    rules_for,
)

__all__ = [
    "MAX_NAME_LENGTH",
    "RFC1123_LABEL",
    "SAFE_NAME_LENGTH",
    "DeploymentRequest",
    "Privileges",
    "RequestError",
    "RequestLimits",
    "default_name",
    "name_limit",
    "parse_engine_args",
    "parse_request",
]

Mode = Literal["aggregated", "disaggregated"]
RouterMode = Literal["none", "kv", "round-robin"]
ArgValue = str | int | float | bool

RFC1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
ENGINE_ARG_FLAG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
# Characters a value may not hold: line breaks and controls, and shell syntax (the args never
# reach a shell, but a value that looks like shell is a mistake or an attack either way).
_FORBIDDEN_VALUE_CHARS = re.compile(r"[\x00-\x1f\x7f;|&$`<>\\]")
_QUANTITY = re.compile(r"^([0-9]+(\.[0-9]+)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$")

_MODES: tuple[Mode, ...] = ("aggregated", "disaggregated")


def name_limit(engine: str, mode: str, namespace: str, dynamo_version: str) -> ComponentNames:
    """The longest deployment name whose derived object names fit 63 (bot.domain.naming), and why.
    """
    components = graph_component_names(engine, mode, rules_for(dynamo_version))
    return max_dgd_name_length(namespace, components)


def _limits_over_everything(namespace: str) -> list[int]:
    return [
        max_dgd_name_length(namespace, graph_component_names(engine, mode, rules)).limit
        for engine in ENGINES
        for mode in _MODES
        for rules in KNOWN_RELEASES.values()
    ]


# The longest name any engine, mode and release allows (the form's input length), and the
# longest that fits all of them in a short namespace (generated names stay within it).
MAX_NAME_LENGTH = max(_limits_over_everything("a"))
SAFE_NAME_LENGTH = min(_limits_over_everything("a"))

MAX_ENGINE_ARGS = 32


@dataclass(frozen=True)
class RequestLimits:
    """Bounds from settings: how many replicas and GPUs per worker one request may ask for, and
    the Dynamo release targeted (its component names bound the deployment name)."""

    max_replicas: int = 8
    max_gpus_per_worker: int = 8
    dynamo_version: str = DEFAULT_DYNAMO_VERSION


class RequestError(ValueError):
    """The request breaks one or more rules; ``errors`` maps a field to what to fix."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{field}: {msg}" for field, msg in self.errors.items()))


def _rule(message: str) -> PydanticCustomError:
    return PydanticCustomError("dynamote_rule", message)


def _context(info: ValidationInfo) -> tuple[Catalog, RequestLimits]:
    context = info.context or {}
    return context["catalog"], context.get("limits", RequestLimits())


def _privileges(info: ValidationInfo) -> Privileges:
    return (info.context or {}).get("privileges") or Privileges()


class DeploymentRequest(BaseModel):
    """A valid deploy request. Build it with :func:`parse_request`, not directly."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        str_strip_whitespace=True,
    )

    # Field order matters: later validators read earlier fields through ``info.data``.
    model: str
    namespace: str
    engine: Engine
    mode: Mode = "aggregated"
    name: str
    replicas: int = 1
    router_mode: RouterMode = "none"
    gpus: int = 1
    context_length: int | None = None
    memory: str | None = None
    served_model_name: str | None = Field(None, max_length=256)
    enforce_eager: bool = False
    enable_prefix_caching: bool = True
    trust_remote_code: bool = False
    engine_args: dict[str, ArgValue] = Field(default_factory=dict)
    hf_token_secret: str = "hf-token-secret"  # noqa: S105  (a Secret name, not a secret)

    @field_validator("model")
    @classmethod
    def _model_in_catalog(cls, value: str, info: ValidationInfo) -> str:
        catalog, _ = _context(info)
        model = catalog.get(value)
        if model is None:
            known = ", ".join(m.id for m in catalog.models)
            raise _rule(f"{value!r} is not in the catalog; choose one of: {known}")
        return model.id

    @field_validator("name")
    @classmethod
    def _name_is_short_label(cls, value: str, info: ValidationInfo) -> str:
        if not value:
            raise _rule("give the deployment a name, e.g. qwen3-0-6b")
        if not RFC1123_LABEL.fullmatch(value):
            raise _rule(
                "use lowercase letters, digits and '-', starting and ending with a letter "
                "or digit (e.g. my-model-1)"
            )
        engine, mode, namespace = (info.data.get(k) for k in ("engine", "mode", "namespace"))
        if engine is None or mode is None or namespace is None:
            if len(value) > MAX_NAME_LENGTH:  # the rest of the rule needs those fields
                raise _rule(f"is {len(value)} characters; at most {MAX_NAME_LENGTH} are allowed")
            return value
        _, limits = _context(info)
        version = parse_runtime_version(limits.dynamo_version)
        limit = name_limit(engine, mode, namespace, limits.dynamo_version)
        if len(value) > limit.limit:
            raise _rule(
                f"is {len(value)} characters; at most {limit.limit} fit for "
                f"{ENGINE_LABELS[engine]} {mode} in namespace {namespace} (Dynamo "
                f"{version.major}.{version.minor}): the operator derives {limit.because} "
                "from it, and Kubernetes allows 63 characters there"
            )
        return value

    @field_validator("namespace")
    @classmethod
    def _namespace_is_label(cls, value: str) -> str:
        if not value or len(value) > 63 or not RFC1123_LABEL.fullmatch(value):
            raise _rule(
                "a namespace name is up to 63 lowercase letters, digits and '-', "
                "starting and ending with a letter or digit"
            )
        return value

    @field_validator("engine")
    @classmethod
    def _engine_supported(cls, value: Engine, info: ValidationInfo) -> Engine:
        model = _validated_model(info)
        if model is not None and value not in model.supported_engines:
            supported = " or ".join(ENGINE_LABELS[e] for e in model.supported_engines)
            raise _rule(
                f"{model.name} runs on {supported}, not {ENGINE_LABELS[value]}; "
                f"choose one of: {', '.join(model.supported_engines)}"
            )
        return value

    @field_validator("replicas")
    @classmethod
    def _replicas_in_range(cls, value: int, info: ValidationInfo) -> int:
        _, limits = _context(info)
        if not 1 <= value <= limits.max_replicas:
            raise _rule(f"must be between 1 and {limits.max_replicas}")
        return value

    @field_validator("gpus")
    @classmethod
    def _gpus_in_range(cls, value: int, info: ValidationInfo) -> int:
        _, limits = _context(info)
        if not 1 <= value <= limits.max_gpus_per_worker:
            raise _rule(f"GPUs per worker must be between 1 and {limits.max_gpus_per_worker}")
        if value > 1 and info.data.get("engine") == "trtllm":
            # The runtime's engine config (engine_configs/qwen3/*.yaml) pins
            # tensor_parallel_size to 1 and overrides the command line.
            raise _rule(
                "Dynamo's TensorRT-LLM engine config runs one GPU per worker; "
                "use vLLM or SGLang for multi-GPU workers, or more replicas"
            )
        return value

    @field_validator("context_length")
    @classmethod
    def _context_fits_model(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is None:
            return None
        model = _validated_model(info)
        ceiling = model.context_length if model else None
        if value < 1 or (ceiling is not None and value > ceiling):
            limit = f"{ceiling:,}" if ceiling else "the model's context length"
            raise _rule(f"must be between 1 and {limit} tokens")
        return value

    @field_validator("memory")
    @classmethod
    def _memory_is_quantity(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not _QUANTITY.fullmatch(value):
            raise _rule("write a Kubernetes quantity such as 16Gi or 32000Mi")
        return value

    @field_validator("served_model_name")
    @classmethod
    def _served_name_is_plain(cls, value: str | None) -> str | None:
        if not value:
            return None
        if _FORBIDDEN_VALUE_CHARS.search(value) or value.startswith("-") or " " in value:
            raise _rule("use letters, digits and . _ / - : (no spaces), e.g. my-org/qwen3")
        return value

    @field_validator("enforce_eager", "enable_prefix_caching", "trust_remote_code")
    @classmethod
    def _engine_has_option(cls, value: bool, info: ValidationInfo) -> bool:
        engine = info.data.get("engine")
        default = info.field_name == "enable_prefix_caching"
        if engine == "trtllm" and value != default:
            what = {
                "enforce_eager": "eager mode (turn CUDA graphs off in its engine config)",
                "enable_prefix_caching": "a switch for prefix caching (KV block reuse is set in "
                "its engine config)",
                "trust_remote_code": "a trust-remote-code option",
            }[str(info.field_name)]
            raise _rule(f"Dynamo's TensorRT-LLM worker has no {what}; use vLLM or SGLang")
        return value

    @field_validator("enable_prefix_caching")
    @classmethod
    def _kv_router_needs_prefix_caching(cls, value: bool, info: ValidationInfo) -> bool:
        # vLLM publishes KV events only while prefix caching is on, and SGLang has no radix
        # cache to report on: the KV router would route blind.
        if not value and info.data.get("router_mode") == "kv":
            raise _rule(
                "the KV router routes by the KV-cache events the workers publish, and they "
                "publish none without prefix caching; keep prefix caching on, or choose the "
                "round-robin router"
            )
        return value

    @field_validator("trust_remote_code")
    @classmethod
    def _remote_code_allowed(cls, value: bool, info: ValidationInfo) -> bool:
        # Remote code runs in a pod that holds the HF token: only for catalog entries that
        # need it, or for admins.
        model = _validated_model(info)
        if value and model and not model.trust_remote_code and not _privileges(info).admin:
            raise _rule(
                f"{model.name} does not need remote code (the catalog does not allow it); "
                "untick Trust remote code, or ask an admin to deploy it"
            )
        return value

    @field_validator("engine_args", mode="before")
    @classmethod
    def _engine_args_are_flat(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, str):
            args = parse_engine_args(value)
        elif isinstance(value, Mapping):
            args = _check_engine_args(value)
        else:
            raise _rule("give flag=value pairs")
        engine = info.data.get("engine")
        if engine is None:  # the engine's own error says what to fix first
            return args
        privileges = _privileges(info)
        try:
            return check_args(engine, args, privileges.engine_args, admin=privileges.admin)
        except EngineArgError as refused:
            raise _rule(str(refused)) from None

    @field_validator("hf_token_secret")
    @classmethod
    def _secret_is_subdomain(cls, value: str, info: ValidationInfo) -> str:
        if not value or len(value) > 253 or not RFC1123_SUBDOMAIN.fullmatch(value):
            raise _rule(
                "a Secret name is lowercase letters, digits, '-' and '.', e.g. hf-token-secret"
            )
        # Its keys become the workers' environment: only Secrets meant for the HF token.
        allowed = _privileges(info).hf_secrets
        if value not in allowed:
            raise _rule(
                f"Dynamote mounts only the HF token Secret(s) set up for it: "
                f"{', '.join(allowed[:5])}; ask an admin to add yours to DYNAMOTE_HF_SECRETS"
            )
        return value

    # --- derived values used by manifests and messages -------------------------------------

    @property
    def served_name(self) -> str:
        """The model name clients send in requests."""
        return self.served_model_name or self.model

    @property
    def worker_count(self) -> int:
        """Worker pods: one set per replica, doubled when prefill and decode are split."""
        return self.replicas * (2 if self.mode == "disaggregated" else 1)

    @property
    def total_gpus(self) -> int:
        return self.worker_count * self.gpus

    def to_annotation(self) -> str:
        """The request as compact JSON, as stored on the DGD."""
        return json.dumps(self.model_dump(by_alias=True), separators=(",", ":"), sort_keys=True)


def _validated_model(info: ValidationInfo) -> Model | None:
    model_id = info.data.get("model")
    if not isinstance(model_id, str):
        return None
    catalog, _ = _context(info)
    return catalog.get(model_id)


def _check_engine_args(args: Mapping[Any, Any]) -> dict[str, ArgValue]:
    if len(args) > MAX_ENGINE_ARGS:
        raise _rule(f"at most {MAX_ENGINE_ARGS} extra engine args")
    checked: dict[str, ArgValue] = {}
    for flag, value in args.items():
        if not isinstance(flag, str) or not ENGINE_ARG_FLAG.fullmatch(flag) or len(flag) > 64:
            raise _rule(
                f"{str(flag)[:40]!r} is not a flag name: use lowercase letters, digits and '-', "
                "without leading dashes (e.g. max-num-seqs=64)"
            )
        if value is False:
            raise _rule(f"{flag}=false: to turn a switch off, give its negative flag instead")
        if not isinstance(value, str | int | float | bool):
            raise _rule(f"{flag}: the value must be text, a number or true")
        text = str(value)
        if len(text) > 256 or _FORBIDDEN_VALUE_CHARS.search(text) or text.startswith("-"):
            raise _rule(
                f"{flag}: the value may not start with '-' or contain line breaks or any of "
                "; | & $ ` < > \\ (max 256 characters)"
            )
        checked[flag] = value
    return checked


def parse_engine_args(text: str) -> dict[str, ArgValue]:
    """Parse the modal's ``flag=value`` lines (``flag`` alone means a switch that is on)."""
    args: dict[str, ArgValue] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        flag, sep, value = line.partition("=")
        flag = flag.strip()
        if flag.startswith("-"):
            raise _rule(
                f"line {number}: write the flag without leading dashes ({flag.lstrip('-')})"
            )
        if flag in args:
            raise _rule(f"line {number}: {flag} is given twice")
        args[flag] = value.strip() if sep else True
        if sep and not value.strip():
            raise _rule(f"line {number}: {flag}= has no value")
    return _check_engine_args(args)


def default_name(model_id: str, namespace: str | None = None) -> str:
    """A deployment name from a model id that obeys the name rule (qwen3-0-6b) for every
    engine, mode and release, and in ``namespace`` when given."""
    longest = SAFE_NAME_LENGTH
    if namespace:
        longest = min(longest, max_dgd_name_length(namespace, ()).limit)
    base = model_id.rsplit("/", 1)[-1].lower()
    name = re.sub(r"[^a-z0-9]+", "-", base).strip("-")[: max(longest, 1)].strip("-")
    return name or "model"[: max(longest, 1)]


_TYPE_MESSAGES = {
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be text",
    "missing": "is required",
    "extra_forbidden": "is not a field of a deploy request",
    "string_too_long": "is too long",
}


def _message(error: Mapping[str, Any]) -> str:
    kind = str(error["type"])
    if kind == "dynamote_rule":
        return str(error["msg"])
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f"must be one of {expected}"
    return _TYPE_MESSAGES.get(kind, str(error["msg"]))


def parse_request(
    data: Mapping[str, Any],
    *,
    catalog: Catalog,
    limits: RequestLimits | None = None,
    privileges: Privileges | None = None,
) -> DeploymentRequest:
    """Validate form or CLI data (camelCase keys) into a request, or raise RequestError."""
    context = {"catalog": catalog, "limits": limits or RequestLimits(), "privileges": privileges}
    try:
        return DeploymentRequest.model_validate(dict(data), context=context)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            loc = error["loc"]
            field = to_camel(str(loc[0])) if loc else "request"
            errors.setdefault(field, _message(error))
        raise RequestError(errors) from None
