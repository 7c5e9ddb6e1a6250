"""Extra engine args by allow-list: which ``flag=value`` a deployer may add, with typed values.

Why an allow-list: the engines' parsers take flags that load code or data from anywhere
(``--tokenizer``, ``--revision``, ``--speculative-config``, ``--hf-overrides``,
``--logits-processors``, ``--worker-extension-cls``), and Dynamo's wrapper takes flags that
change where a worker registers (``--endpoint``, ``--namespace``) or what it reads
(``--custom-jinja-template``). They run in a pod that holds the HF token. So only the flags in
:data:`LIBRARY` exist here, each with a typed, bounded value (a number in a range, a choice, or
a switch): no paths, repo ids, URLs or JSON. The shipped allow-list (:data:`DEFAULT_ALLOWED`)
is performance tuning only; settings may replace it and allow admins more (``DYNAMOTE_ENGINE_ARGS``,
``DYNAMOTE_ADMIN_ENGINE_ARGS``), always from the library.

Why abbreviations matter: the engines parse with argparse, which takes any unambiguous prefix
of a flag (``allow_abbrev``), so ``served-model`` reaches ``--served-model-name``. An exact
flag wins over prefixes, so an allowed flag is safe; anything else is refused, and a prefix
of a known flag is named as such. (vLLM's FlexibleArgumentParser, ``vllm/utils``, also reads
``_`` as ``-`` and ``--flag.key value`` as JSON; flag names here have neither.)
:data:`DYNAMOTE_FLAGS` (what Dynamote sets from the form) stay refused for everyone, admins
included; settings cannot allow them either.

Flag names and value ranges, from the engines' sources:
- vLLM: ``vllm/engine/arg_utils.py`` (EngineArgs: one flag per field) and
  ``vllm/config/cache.py`` (``BlockSize``, ``CacheDType``; gpu_memory_utilization in (0, 1]).
- SGLang: ``python/sglang/srt/server_args.py`` (ServerArgs.add_cli_args).
- TensorRT-LLM: ai-dynamo/dynamo ``components/src/dynamo/trtllm/backend_args.py``
  (``--max-batch-size``, ``--max-num-tokens``, ``--free-gpu-memory-fraction``,
  ``--kv-block-size``); values the engine config file also sets take that file's value.
- Dynamo's wrappers: ``components/src/dynamo/common/configuration/groups/runtime_args.py``
  (``--endpoint``, ``--namespace``, ``--connector``, ``--custom-jinja-template``...) and
  ``components/src/dynamo/vllm/backend_args.py``.

Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "DEFAULT_ALLOWED",
    "DYNAMOTE_FLAGS",
    "KNOWN_FLAGS",
    "LIBRARY",
    "ArgValue",
    "EngineArgError",
    "EngineArgRules",
    "FlagSpec",
    "allowed_hints",
    "check_args",
    "parse_rule_entries",
]

ArgValue = str | int | float | bool
EngineName = Literal["vllm", "sglang", "trtllm"]
ENGINE_NAMES: tuple[EngineName, ...] = ("vllm", "sglang", "trtllm")


class EngineArgError(ValueError):
    """An engine arg is not allowed or its value is wrong; the message says what to do."""


@dataclass(frozen=True)
class FlagSpec:
    """One flag and the values it takes: a switch, a bounded number, or one of some choices."""

    name: str
    kind: Literal["switch", "int", "float", "choice"]
    low: float = 0
    high: float = 0
    choices: tuple[str, ...] = ()

    @property
    def hint(self) -> str:
        """How to write it, for the list of what is allowed."""
        if self.kind == "switch":
            return self.name
        if self.kind == "choice":
            return f"{self.name}={'|'.join(self.choices)}"
        low, high = (_number(self.low), _number(self.high))
        return f"{self.name}={low}..{high}"

    def parse(self, value: ArgValue) -> ArgValue:
        """The typed value, or EngineArgError saying what this flag takes."""
        if self.kind == "switch":
            if value is True or (isinstance(value, str) and value.lower() == "true"):
                return True
            raise EngineArgError(f"{self.name} is a switch: write it alone, without a value")
        if value is True or value is False:
            raise EngineArgError(f"{self.name} needs a value: {self.hint}")
        text = str(value).strip()
        if self.kind == "choice":
            if text in self.choices:
                return text
            raise EngineArgError(f"{self.name} must be one of {', '.join(self.choices)}")
        number = _parse_number(text, whole=self.kind == "int")
        if number is None or not self.low <= number <= self.high:
            what = "a whole number" if self.kind == "int" else "a number"
            low, high = _number(self.low), _number(self.high)
            raise EngineArgError(f"{self.name} must be {what} from {low} to {high}")
        return number


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


_INT = re.compile(r"^[0-9]{1,9}$")
_FLOAT = re.compile(r"^[0-9]{1,6}(\.[0-9]{1,6})?$|^\.[0-9]{1,6}$")


def _parse_number(text: str, *, whole: bool) -> int | float | None:
    if whole:
        return int(text) if _INT.fullmatch(text) else None
    return float(text) if _FLOAT.fullmatch(text) else None


def _switch(name: str) -> FlagSpec:
    return FlagSpec(name, "switch")


def _int(name: str, low: int, high: int) -> FlagSpec:
    return FlagSpec(name, "int", low, high)


def _float(name: str, low: float, high: float) -> FlagSpec:
    return FlagSpec(name, "float", low, high)


def _choice(name: str, *choices: str) -> FlagSpec:
    return FlagSpec(name, "choice", choices=choices)


_DTYPES = ("auto", "half", "float16", "bfloat16", "float", "float32")

# Every flag a deployer or an admin could ever be allowed, per engine. Memory fractions stop
# at 0.98: above that the engine leaves no room for activations and the worker crash-loops.
LIBRARY: Mapping[str, Mapping[str, FlagSpec]] = {
    engine: {spec.name: spec for spec in specs}
    for engine, specs in {
        "vllm": (
            _int("max-num-seqs", 1, 4096),
            _int("max-num-batched-tokens", 1, 1_048_576),
            _float("gpu-memory-utilization", 0.1, 0.98),
            _choice("block-size", "1", "8", "16", "32", "64", "128", "256"),
            _choice("kv-cache-dtype", "auto", "bfloat16", "fp8", "fp8_e4m3", "fp8_e5m2"),
            _switch("enable-chunked-prefill"),
            _switch("no-enable-chunked-prefill"),
            _choice("dtype", *_DTYPES),
            _switch("async-scheduling"),
            _int("max-num-partial-prefills", 1, 64),
            _int("seed", 0, 2**31 - 1),
            _int("swap-space", 0, 256),
            _float("cpu-offload-gb", 0, 1024),
            _int("max-logprobs", 0, 1000),
            _switch("disable-log-stats"),
            _choice("quantization", "fp8", "awq", "gptq", "bitsandbytes", "compressed-tensors"),
        ),
        "sglang": (
            _float("mem-fraction-static", 0.1, 0.98),
            _int("max-running-requests", 1, 4096),
            _int("max-total-tokens", 1, 16_777_216),
            _int("chunked-prefill-size", 1, 1_048_576),
            _int("max-prefill-tokens", 1, 1_048_576),
            _choice("kv-cache-dtype", "auto", "fp8_e5m2", "fp8_e4m3"),
            _choice("schedule-policy", "lpm", "random", "fcfs", "dfs-weight", "lof"),
            _float("schedule-conservativeness", 0.1, 10),
            _int("cuda-graph-max-bs", 1, 1024),
            _switch("enable-mixed-chunk"),
            _choice("dtype", *_DTYPES),
            _int("random-seed", 0, 2**31 - 1),
            _switch("enable-torch-compile"),
            _int("torch-compile-max-bs", 1, 256),
            _choice("quantization", "fp8", "awq", "gptq", "bitsandbytes", "compressed-tensors"),
        ),
        "trtllm": (
            _int("max-batch-size", 1, 4096),
            _int("max-num-tokens", 1, 1_048_576),
            _float("free-gpu-memory-fraction", 0.1, 0.98),
            _choice("kv-block-size", "8", "16", "32", "64", "128"),
            _int("max-beam-width", 1, 16),
        ),
    }.items()
}

# The shipped allow-list: performance tuning only.
DEFAULT_ALLOWED: Mapping[str, frozenset[str]] = {
    "vllm": frozenset(
        {
            "max-num-seqs",
            "max-num-batched-tokens",
            "gpu-memory-utilization",
            "block-size",
            "kv-cache-dtype",
            "enable-chunked-prefill",
            "no-enable-chunked-prefill",
            "dtype",
        }
    ),
    "sglang": frozenset(
        {
            "mem-fraction-static",
            "max-running-requests",
            "max-total-tokens",
            "chunked-prefill-size",
            "max-prefill-tokens",
            "kv-cache-dtype",
            "schedule-policy",
            "schedule-conservativeness",
            "cuda-graph-max-bs",
            "enable-mixed-chunk",
            "dtype",
        }
    ),
    "trtllm": frozenset(
        {"max-batch-size", "max-num-tokens", "free-gpu-memory-fraction", "kv-block-size"}
    ),
}

# What Dynamote sets from the form or its manifests (bot/domain/manifest.py), for any engine, and
# Dynamo's wrapper flags that pick a worker's identity, transport or role. Refused for
# everyone, admins included, and no setting may allow them. --connector is refused by vLLM
# itself now (Dynamo moved vLLM to --kv-transfer-config).
DYNAMOTE_FLAGS = frozenset(
    {
        # the model and how it is served (form fields)
        "model",
        "model-path",
        "served-model-name",
        "tensor-parallel-size",
        "tp",
        "tp-size",
        "max-model-len",
        "context-length",
        "max-seq-len",
        "enforce-eager",
        "disable-cuda-graph",
        "enable-prefix-caching",
        "no-enable-prefix-caching",
        "disable-radix-cache",
        "trust-remote-code",
        "page-size",
        "skip-tokenizer-init",
        # disaggregation and KV events (bot/domain/manifest.py)
        "disaggregation-mode",
        "disaggregation-transfer-backend",
        "disaggregation-bootstrap-port",
        "kv-transfer-config",
        "kv-events-config",
        "connector",
        "publish-kv-events",
        "publish-events-and-metrics",
        "extra-engine-args",
        "override-engine-args",
        "is-prefill-worker",
        "is-decode-worker",
        # Dynamo runtime identity and transport
        "namespace",
        "endpoint",
        "kv-state-endpoint",
        "discovery-backend",
        "request-plane",
        "response-plane",
        "event-plane",
        "host",
        "port",
    }
)

# Form fields that set a flag, so a refusal can point at the field instead.
_FORM_FIELD = {
    "served-model-name": "Served model name",
    "tensor-parallel-size": "GPUs per worker",
    "tp": "GPUs per worker",
    "tp-size": "GPUs per worker",
    "max-model-len": "Context length",
    "context-length": "Context length",
    "max-seq-len": "Context length",
    "enforce-eager": "Eager mode",
    "disable-cuda-graph": "Eager mode",
    "enable-prefix-caching": "Prefix caching",
    "no-enable-prefix-caching": "Prefix caching",
    "disable-radix-cache": "Prefix caching",
    "trust-remote-code": "Trust remote code",
    "model": "Model",
    "model-path": "Model",
}

# Flags that load code, data or secrets, or change where the worker runs or registers: not
# exhaustive (the allow-list does not depend on it), but named so that an abbreviation of
# one is recognised as such and refused with a clear reason.
_RISKY_FLAGS = frozenset(
    {
        "tokenizer",
        "tokenizer-path",
        "tokenizer-revision",
        "tokenizer-mode",
        "revision",
        "code-revision",
        "hf-token",
        "hf-overrides",
        "hf-config-path",
        "speculative-config",
        "speculative-draft-model-path",
        "speculative-algorithm",
        "logits-processors",
        "worker-extension-cls",
        "worker-cls",
        "custom-jinja-template",
        "chat-template",
        "download-dir",
        "load-format",
        "model-loader-extra-config",
        "model-express-url",
        "allowed-local-media-path",
        "lora-modules",
        "lora-paths",
        "enable-lora",
        "json-model-override-args",
        "compilation-config",
        "otlp-traces-endpoint",
        "api-key",
        "stage-configs-path",
        "dump-config-to",
        "health-check-payload",
        "media-output-fs-url",
        "media-output-http-url",
        "encode-endpoint",
        "generation-config",
        "override-generation-config",
        "structured-outputs-config",
    }
)

KNOWN_FLAGS: frozenset[str] = (
    DYNAMOTE_FLAGS | _RISKY_FLAGS | frozenset(name for specs in LIBRARY.values() for name in specs)
)

# Words of a flag name that say it carries a secret (hf-token, api-key): its value would be
# stored on the DGD, in the request annotation, readable by anyone who can read the deployment.
_SECRET_WORDS = frozenset({"token", "secret", "password", "passwd", "credential", "credentials"})
_LABELS = {"vllm": "vLLM", "sglang": "SGLang", "trtllm": "TensorRT-LLM"}


@dataclass(frozen=True)
class EngineArgRules:
    """Which library flags a person may use, per engine: everyone's, and admins' on top."""

    allowed: Mapping[str, frozenset[str]] = field(default_factory=lambda: dict(DEFAULT_ALLOWED))
    admin_extra: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def for_engine(self, engine: str, *, admin: bool) -> frozenset[str]:
        names = self.allowed.get(engine, frozenset())
        if admin:
            names |= self.admin_extra.get(engine, frozenset())
        return names - DYNAMOTE_FLAGS


def check_args(
    engine: str,
    args: Mapping[str, ArgValue],
    rules: EngineArgRules,
    *,
    admin: bool = False,
) -> dict[str, ArgValue]:
    """The args with typed values, or EngineArgError for the first one not allowed."""
    specs = LIBRARY.get(engine)
    if specs is None:
        raise EngineArgError(f"choose an engine first ({', '.join(ENGINE_NAMES)})")
    allowed = rules.for_engine(engine, admin=admin)
    checked: dict[str, ArgValue] = {}
    for flag, value in args.items():
        if flag not in allowed:
            raise EngineArgError(_refusal(flag, engine, allowed))
        checked[flag] = specs[flag].parse(value)
    return checked


def _refusal(flag: str, engine: str, allowed: Iterable[str]) -> str:
    # Short: a modal shows the first 150 characters of an error.
    listed = _allowed_text(engine, allowed)
    if flag in DYNAMOTE_FLAGS:
        field_name = _FORM_FIELD.get(flag)
        where = f"use the {field_name} field" if field_name else "it cannot be changed"
        return f"{flag} is set by Dynamote; {where}. {listed}"
    if _carries_secret(flag):
        return f"{flag} would store a secret on the deployment; the HF token comes from its Secret."
    longer = sorted(k for k in KNOWN_FLAGS if k != flag and k.startswith(flag))
    if longer and flag not in KNOWN_FLAGS:
        return f"{flag} abbreviates {_names(longer)}; write flags in full. {listed}"
    return f"{flag} is not allowed for {_LABELS.get(engine, engine)}. {listed}"


def _carries_secret(flag: str) -> bool:
    words = set(flag.split("-"))
    return bool(words & _SECRET_WORDS) or "api-key" in flag or "private-key" in flag


def _allowed_text(engine: str, allowed: Iterable[str]) -> str:
    """The allowed flags, most useful first (the library's order); a wrong value's error
    says what that flag takes."""
    names = [name for name in LIBRARY.get(engine, {}) if name in set(allowed)]
    if not names:
        return f"No extra engine args are allowed for {_LABELS.get(engine, engine)}."
    return "Allowed: " + ", ".join(names)


def allowed_hints(engine: str, allowed: Iterable[str]) -> list[str]:
    """``flag=low..high``, ``flag=a|b`` or ``flag`` for each allowed flag, for help texts."""
    specs = LIBRARY.get(engine, {})
    return [spec.hint for name, spec in specs.items() if name in set(allowed)]


def _names(flags: list[str]) -> str:
    shown = ", ".join(flags[:3])
    return shown + (f" and {len(flags) - 3} more" if len(flags) > 3 else "")


def parse_rule_entries(entries: Iterable[str]) -> dict[str, frozenset[str]]:
    """``engine:flag`` entries of a setting as flags per engine; ValueError names bad ones."""
    found: dict[str, set[str]] = {}
    bad: list[str] = []
    for entry in entries:
        engine, sep, flag = entry.partition(":")
        engine, flag = engine.strip().lower(), flag.strip()
        specs = LIBRARY.get(engine)
        if not sep or specs is None or flag not in specs or flag in DYNAMOTE_FLAGS:
            bad.append(entry)
            continue
        found.setdefault(engine, set()).add(flag)
    if bad:
        raise ValueError(
            f"not engine:flag entries from Dynamote's list of typed flags: {', '.join(bad)}; "
            "known: "
            + "; ".join(f"{engine}: {', '.join(sorted(LIBRARY[engine]))}" for engine in LIBRARY)
        )
    return {engine: frozenset(flags) for engine, flags in found.items()}
