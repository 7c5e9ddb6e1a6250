"""What each Dynamo release expects of a DGD writer, keyed by release (major.minor). Pure.

Dynamote targets one release, ``DYNAMOTE_DYNAMO_VERSION``: its runtime image tag and the rules
of the operator that runs it. The table holds only what the operator's source, examples and
release notes say of each release; a version outside the table gets the nearest known rules,
and :func:`coverage` says so (``dynamote doctor`` shows it as a warning).

Facts, by release:

- Component names. The examples name the worker components per engine: vLLM ``VllmDecodeWorker``
  (aggregated, and decode) and ``VllmPrefillWorker``; SGLang ``decode``/``prefill`` (``decode``
  also when aggregated); TensorRT-LLM ``TRTLLMWorker`` (aggregated) and ``decode``/``prefill``.
  From 1.6.0 the vLLM components are ``worker`` (aggregated; release notes) and
  ``prefill``/``decode`` (disaggregated; inferred from the same notes). No source says SGLang's
  or TensorRT-LLM's names changed after 1.5.
- Image admission. From 1.5.0 the operator's admission webhook needs ``runtimeVersionOverride``
  on every component whose ``main`` image tag is not a semantic version (a digest, ``latest``,
  ``my-tag``); ``deploy/operator/internal/runtimeversion/runtimeversion.go`` reads the tag (text
  after the last ``:`` that follows the last ``/``, before any ``@``) with
  ``^[vV]?N.N(.N)?(-pre)?(+build)?$``. The CRD allows the override only as ``X.Y.Z``.
- Worker health checks: on by default from 1.5.0 (liveness ``/live`` failureThreshold 3,
  readiness ``/health``, startup ``/live`` 720 x 10 s), injected by the operator; Dynamote
  writes no probes in any release, so the operator's defaults apply.
- Flags did not change between these releases in a way that needs a switch: TensorRT-LLM's
  ``--publish-kv-events`` exists since Dynamo 1.3.0 (its KV-cache tier docs), and SGLang's
  ``--skip-tokenizer-init`` is optional in every release (the newer examples drop it: it turns
  off the grammar backend, so ``response_format: json_schema`` fails).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "DEFAULT_DYNAMO_VERSION",
    "FRONTEND_NAME",
    "KNOWN_RELEASES",
    "ComponentType",
    "ReleaseRules",
    "RuntimeVersion",
    "coverage",
    "graph_component_names",
    "image_needs_version_override",
    "image_tag",
    "parse_runtime_version",
    "rules_for",
    "worker_components",
]

# The newest patch of the release the operator reference in this repository documents fully.
DEFAULT_DYNAMO_VERSION = "1.4.2"

ComponentType = Literal["frontend", "worker", "prefill", "decode"]
FRONTEND_NAME = "Frontend"

# A release as DYNAMOTE_DYNAMO_VERSION gives it: the runtime image tag, so a semantic version.
_VERSION = re.compile(
    r"^[vV]?(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})\.(0|[1-9][0-9]{0,3})"
    r"(?:-[0-9A-Za-z][0-9A-Za-z.-]*)?(?:\+[0-9A-Za-z][0-9A-Za-z.-]*)?$"
)
# What the operator accepts as a version in an image tag (runtimeversion.go, see above).
_IMAGE_TAG_VERSION = re.compile(
    r"^[vV]?[0-9]+\.[0-9]+(?:\.[0-9]+)?"
    r"(?:-[0-9A-Za-z][0-9A-Za-z.-]*)?(?:\+[0-9A-Za-z][0-9A-Za-z.-]*)?$"
)


@dataclass(frozen=True, order=True)
class RuntimeVersion:
    """A Dynamo version: ``release`` picks the rules; ``core`` is the runtimeVersionOverride."""

    major: int
    minor: int
    patch: int

    @property
    def release(self) -> tuple[int, int]:
        return (self.major, self.minor)

    @property
    def core(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


def parse_runtime_version(text: str) -> RuntimeVersion:
    """``1.4.2``, ``v1.5.0`` or ``1.4.0-cuda13`` as a version; else ValueError saying the form."""
    match = _VERSION.fullmatch(text.strip())
    if match is None:
        raise ValueError(
            f"{text!r} is not a Dynamo release version: write MAJOR.MINOR.PATCH such as "
            f"{DEFAULT_DYNAMO_VERSION} (a -suffix such as 1.4.0-cuda13 is allowed)"
        )
    return RuntimeVersion(int(match[1]), int(match[2]), int(match[3]))


@dataclass(frozen=True)
class ReleaseRules:
    """The rules of one release that change what Dynamote writes."""

    release: tuple[int, int]
    vllm_names: tuple[str, str, str]  # aggregated worker, decode, prefill
    image_admission: bool  # runtimeVersionOverride required on a non-semver image tag


_VLLM_EXAMPLE_NAMES = ("VllmDecodeWorker", "VllmDecodeWorker", "VllmPrefillWorker")
_VLLM_1_6_NAMES = ("worker", "decode", "prefill")

KNOWN_RELEASES: dict[tuple[int, int], ReleaseRules] = {
    (1, 4): ReleaseRules((1, 4), _VLLM_EXAMPLE_NAMES, image_admission=False),
    (1, 5): ReleaseRules((1, 5), _VLLM_EXAMPLE_NAMES, image_admission=True),
    (1, 6): ReleaseRules((1, 6), _VLLM_1_6_NAMES, image_admission=True),
    (1, 7): ReleaseRules((1, 7), _VLLM_1_6_NAMES, image_admission=True),
}
_OLDEST = min(KNOWN_RELEASES)
_NEWEST = max(KNOWN_RELEASES)


def rules_for(version: str | RuntimeVersion) -> ReleaseRules:
    """The release's rules; the newest known for a newer release, the oldest for an older one."""
    parsed = parse_runtime_version(version) if isinstance(version, str) else version
    release = parsed.release
    if release in KNOWN_RELEASES:
        return KNOWN_RELEASES[release]
    return KNOWN_RELEASES[_NEWEST if release > _NEWEST else _OLDEST]


def coverage(version: str | RuntimeVersion) -> str | None:
    """None when the table documents the release; otherwise what Dynamote assumes instead."""
    parsed = parse_runtime_version(version) if isinstance(version, str) else version
    if parsed.release in KNOWN_RELEASES:
        return None
    known = ", ".join(f"{major}.{minor}" for major, minor in sorted(KNOWN_RELEASES))
    used = rules_for(parsed).release
    return (
        f"Dynamo {parsed.core} is outside the releases whose rules Dynamote knows ({known}); "
        f"it writes manifests by the {used[0]}.{used[1]} rules, which that operator may not "
        "expect"
    )


def worker_components(
    engine: str, mode: str, rules: ReleaseRules
) -> tuple[tuple[str, ComponentType], ...]:
    """The worker components (name, type) of an engine and mode, as the release names them."""
    aggregated, decode, prefill = {
        "vllm": rules.vllm_names,
        "sglang": ("decode", "decode", "prefill"),
        "trtllm": ("TRTLLMWorker", "decode", "prefill"),
    }[engine]
    if mode == "aggregated":
        return ((aggregated, "worker"),)
    return ((decode, "decode"), (prefill, "prefill"))


def graph_component_names(
    engine: str, mode: str, rules: ReleaseRules
) -> tuple[tuple[str, ComponentType], ...]:
    """Every component (name, type) a request renders: the frontend, then the workers."""
    return ((FRONTEND_NAME, "frontend"), *worker_components(engine, mode, rules))


def image_tag(image: str) -> str:
    """The tag of an image reference as the operator reads it ('' for none, as for a digest)."""
    reference = image.strip().split("@", 1)[0]
    colon, slash = reference.rfind(":"), reference.rfind("/")
    return reference[colon + 1 :] if colon > slash else ""


def image_needs_version_override(image: str) -> bool:
    """Whether the operator cannot read a runtime version from the image's tag."""
    return not _IMAGE_TAG_VERSION.fullmatch(image_tag(image))
