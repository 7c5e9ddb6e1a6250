"""Why a deployment fails, in words, with the one line that shows it and the change that fixes
it. Pure: no I/O.

``bot.domain.status`` says what Kubernetes sees ("crash looping: 3 restarts", "image pull failed:
..."); the worker's log says why. :func:`diagnose` reads both and answers with a
:class:`Diagnosis`: the cause as a person says it ("out of GPU memory"), the one line of the
log (or the status) that shows it, redacted, and, where one change to the stored request
fixes it, that change (``{"gpus": 2}``), which Redeploy… applies to the form.

The lines matched are the ones the engines and libraries print:

- PyTorch's allocator: ``torch.OutOfMemoryError: CUDA out of memory. Tried to allocate
  2.00 GiB. GPU 0 has a total capacity of 23.65 GiB of which 11.06 MiB is free.`` (older
  releases: ``torch.cuda.OutOfMemoryError``, "(GPU 0; 6.00 GiB total capacity; ...)");
- vLLM's KV-cache check: ``ValueError: The model's max seq len (32768) is larger than the
  maximum number of tokens that can be stored in KV cache (7344). Try increasing
  `gpu_memory_utilization` or decreasing `max_model_len` when initializing the engine.``,
  and ``No available memory for the cache blocks``;
- huggingface_hub: ``GatedRepoError: 401 Client Error. ... Cannot access gated repo for url
  ...`` ("Access to model X is restricted. You must have access to it and be authenticated to
  access it."), ``RepositoryNotFoundError`` ("Repository Not Found for url"), and the Hub's
  answer to a bad token, ``Invalid credentials in Authorization header`` / ``Invalid user
  token``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.domain.status import DeploymentStatus
from bot.ops.redaction import redact

__all__ = ["Diagnosis", "apply_change", "diagnose"]

MAX_LINE = 300  # characters of the quoted line

_OOM = re.compile(r"CUDA out of memory|OutOfMemoryError", re.IGNORECASE)
_KV_CACHE = re.compile(
    r"larger than the maximum number of tokens that can be stored in KV cache"
    r"|No available memory for the cache blocks"
)
_KV_FIT = re.compile(r"stored in KV cache \((?P<fit>\d+)\)")
_GATED = re.compile(r"GatedRepoError|Cannot access gated repo")
_BAD_TOKEN = re.compile(r"Invalid credentials in Authorization header|Invalid user token")
_MISSING = re.compile(r"RepositoryNotFoundError|Repository Not Found")
_ERROR_LINE = re.compile(r"Error|Exception|error:|FATAL|Traceback", re.IGNORECASE)


@dataclass(frozen=True)
class Diagnosis:
    """A failure's cause in words, the line that shows it, and what to change."""

    kind: str  # oom, kv_cache, gated, bad_token, missing_model, image, secret, gpus, crash
    cause: str  # plain words, lower case: "out of GPU memory"
    line: str | None = None  # the one log (or status) line that shows it, redacted
    change: Mapping[str, Any] = field(default_factory=dict)  # request fields (camelCase)
    change_text: str = ""  # the change in words: "2 GPUs per worker instead of 1"
    from_log: bool = True  # the line is the log's (else the status's)


def diagnose(
    status: DeploymentStatus, log_tail: str | None, request: Mapping[str, Any] | None = None
) -> Diagnosis | None:
    """The failure's diagnosis from the status, the log's tail and the stored request; None
    when nothing names a cause (the reply then says what the status says)."""
    lines = [line.strip() for line in redact(log_tail or "").splitlines() if line.strip()]
    stored = request or {}
    for rule in _LOG_RULES:
        found = rule(lines, stored)
        if found is not None:
            return found
    return _from_status(status, lines)


def apply_change(request: Mapping[str, Any], diagnosis: Diagnosis | None) -> dict[str, Any]:
    """The stored request with the diagnosis's change applied (a copy)."""
    changed = dict(request)
    if diagnosis is not None:
        changed.update(diagnosis.change)
    return changed


# --- what the log says ---------------------------------------------------------------------


def _last(lines: list[str], pattern: re.Pattern[str]) -> str | None:
    for line in reversed(lines):
        if pattern.search(line):
            return _cut(line)
    return None


def _cut(line: str) -> str:
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 1] + "…"


def _whole(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _oom(lines: list[str], request: Mapping[str, Any]) -> Diagnosis | None:
    line = _last(lines, _OOM)
    if line is None:
        return None
    gpus = _whole(request.get("gpus"), 1)
    return Diagnosis(
        "oom",
        "out of GPU memory: the model does not fit its GPUs",
        line,
        {"gpus": gpus * 2},
        f"{gpus * 2} GPUs per worker instead of {gpus}",
    )


def _kv_cache(lines: list[str], request: Mapping[str, Any]) -> Diagnosis | None:
    line = _last(lines, _KV_CACHE)
    if line is None:
        return None
    fits = _KV_FIT.search(line)
    current = request.get("contextLength")
    if fits is not None:
        smaller = int(fits["fit"])
        smaller = smaller // 1024 * 1024 or smaller  # a round number that still fits
    elif isinstance(current, int) and current > 1:
        smaller = current // 2
    else:
        smaller = 0
    change = {"contextLength": smaller} if smaller > 0 else {}
    said = f"a context of {smaller} tokens" if smaller > 0 else ""
    return Diagnosis(
        "kv_cache", "the context is too long for the GPU memory left for the KV cache",
        line, change, said,
    )  # fmt: skip


def _gated(lines: list[str], request: Mapping[str, Any]) -> Diagnosis | None:
    line = _last(lines, _GATED)
    if line is None:
        return None
    detail = _last(lines, re.compile(r"is restricted|is gated")) or line
    return Diagnosis("gated", "the model is gated and the Hugging Face token has no access", detail)


def _bad_token(lines: list[str], request: Mapping[str, Any]) -> Diagnosis | None:
    line = _last(lines, _BAD_TOKEN)
    if line is None:
        return None
    return Diagnosis("bad_token", "Hugging Face refuses the token (bad token)", line)


def _missing(lines: list[str], request: Mapping[str, Any]) -> Diagnosis | None:
    line = _last(lines, _MISSING)
    if line is None:
        return None
    return Diagnosis("missing_model", "the model is not on Hugging Face (or is private)", line)


_LOG_RULES: tuple[Callable[[list[str], Mapping[str, Any]], Diagnosis | None], ...] = (
    _oom,
    _kv_cache,
    _gated,
    _bad_token,
    _missing,
)


# --- what the status says ------------------------------------------------------------------


def _from_status(status: DeploymentStatus, lines: list[str]) -> Diagnosis | None:
    reason = redact(status.reason)
    if reason.startswith("image pull failed"):
        return Diagnosis("image", "the image cannot be pulled", _cut(reason), from_log=False)
    if reason.startswith("secret ") and "not found" in reason:
        cause = "the Hugging Face token's Secret is missing"
        return Diagnosis("secret", cause, _cut(reason), from_log=False)
    if reason.startswith(("waiting for GPUs", "waiting for capacity")) or (
        reason.startswith("unschedulable") and "nvidia.com/gpu" in reason
    ):
        return Diagnosis("gpus", "no node has enough free GPUs", _cut(reason), from_log=False)
    if reason.startswith("crash looping"):
        line = _last(lines, _ERROR_LINE) or (_cut(lines[-1]) if lines else None)
        return Diagnosis("crash", "the worker crashes on start", line)
    return None
