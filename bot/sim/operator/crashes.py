"""Workers that start and die, as real ones do: why, what they print, and the kubelet's
back-off. Pure.

A scheduled worker whose container starts can still fail inside it:

- **out of GPU memory**: the model's weights (the catalog's ``minGpuMemory``) need more than
  its GPUs hold (GPUs per worker x the node's GPU memory); the kube-scheduler knows nothing
  of weights, so the pod is scheduled and the worker dies with PyTorch's
  ``torch.OutOfMemoryError: CUDA out of memory. ...`` line;
- **a token the hub refuses**: the HF token Secret's ``HF_TOKEN`` starts with
  :data:`REFUSED_TOKEN_PREFIX`; a gated model (:data:`GATED_ORGS` on the simulated hub) then
  fails with huggingface_hub's ``GatedRepoError: 401 Client Error. ... Cannot access gated
  repo for url ...``, any other with the Hub's ``Invalid credentials in Authorization header``.

Such a container runs for a moment, terminates with exit code 1, and is restarted after the
kubelet's crash back-off: 10 s, doubling each time, at most 5 min (``CrashLoopBackOff``, with
the message ``back-off 10s restarting failed container=main pod=<pod>_<namespace>(<uid>)``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "BACKOFF_CAP",
    "BACKOFF_START",
    "GATED_ORGS",
    "REFUSED_TOKEN_PREFIX",
    "CrashState",
    "backoff_text",
    "crash_log",
    "crash_state",
    "hf_token",
]

BACKOFF_START = 10.0  # seconds: the kubelet's first crash back-off
BACKOFF_CAP = 300.0  # seconds: its longest
REFUSED_TOKEN_PREFIX = "hf_invalid"  # noqa: S105  (a token shape the simulated hub refuses)
GATED_ORGS = ("meta-llama/", "google/gemma", "mistralai/")  # gated on the simulated hub


def hf_token(secret: Mapping[str, Any] | None) -> str | None:
    """The ``HF_TOKEN`` a Secret holds (``data`` is base64, ``stringData`` plain)."""
    if secret is None:
        return None
    plain = (secret.get("stringData") or {}).get("HF_TOKEN")
    if isinstance(plain, str):
        return plain
    encoded = (secret.get("data") or {}).get("HF_TOKEN")
    if not isinstance(encoded, str):
        return None
    try:
        return base64.b64decode(encoded, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None


def crash_log(
    model: str | None,
    *,
    gpus: int,
    gpu_memory_gib: int | None,
    model_gib: int | None,
    token: str | None,
    source: str,
) -> str | None:
    """What the worker prints before it dies, or None when it runs."""
    if not model:
        return None
    start = f"INFO {source}: Loading model {model} on {gpus} GPU(s)\n"
    if token is not None and token.startswith(REFUSED_TOKEN_PREFIX):
        if model.startswith(GATED_ORGS):
            return start + (
                "huggingface_hub.errors.GatedRepoError: 401 Client Error. (Request ID: "
                "Root=1-6754-sim)\n\n"
                f"Cannot access gated repo for url https://huggingface.co/{model}/resolve/main/"
                "config.json.\n"
                f"Access to model {model} is restricted. You must have access to it and be "
                "authenticated to access it. Please log in.\n"
            )
        return start + (
            "huggingface_hub.errors.HfHubHTTPError: 401 Client Error: Unauthorized for url: "
            f"https://huggingface.co/api/models/{model} (Request ID: Root=1-6754-sim)\n"
            "Invalid credentials in Authorization header\n"
        )
    if model_gib is not None and gpu_memory_gib is not None and model_gib > gpu_memory_gib * gpus:
        total = gpu_memory_gib - 0.45
        return start + (
            "Traceback (most recent call last):\n"
            '  File "/opt/dynamo/venv/lib/python3.12/site-packages/torch/nn/modules/module.py",'
            " line 1355, in convert\n"
            "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has "
            f"a total capacity of {total:.2f} GiB of which 1.19 GiB is free. Including "
            f"non-PyTorch memory, this process has {total - 1.19:.2f} GiB memory in use.\n"
        )
    return None


@dataclass(frozen=True)
class CrashState:
    """Where a crash-looping container is at one moment."""

    running: bool  # running now (loading), else waiting in back-off
    restarts: int  # restartCount
    backoff: float  # the back-off it waits now (0 while running)
    next_change: float  # clock time of its next start or death


def crash_state(started: float, now: float, *, runs_for: float) -> CrashState:
    """The state at ``now`` of a container first started at ``started`` that dies after
    ``runs_for`` seconds each time and is restarted after the growing back-off."""
    start, crashes = started, 0
    run = max(runs_for, 0.001)
    while True:
        death = start + run
        if now < death:
            return CrashState(True, crashes, 0.0, death)
        backoff = min(BACKOFF_START * 2**crashes, BACKOFF_CAP)
        crashes += 1
        if now < death + backoff:
            return CrashState(False, crashes, backoff, death + backoff)
        start = death + backoff


def backoff_text(seconds: float) -> str:
    """A back-off as Go prints a time.Duration: ``10s``, ``1m20s``, ``5m0s``."""
    whole = int(seconds)
    minutes, rest = divmod(whole, 60)
    return f"{minutes}m{rest}s" if minutes else f"{rest}s"
