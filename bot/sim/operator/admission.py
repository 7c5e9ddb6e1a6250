"""The Dynamo operator's validating webhook, as far as image admission goes. Pure.

From operator 1.5.0 on, the webhook (``vdynamographdeployment.kb.io``; the rule lives in the
operator's ``internal/webhook/validation/shared_v1beta1.go`` and its v1alpha1 twin) requires
every component to name an image on its ``main`` container, and requires
``runtimeVersionOverride`` when that image's tag is not a semantic version (``my-tag``,
``latest``, no tag, a digest). Older operators admit any image. Which rules apply follows the
target operator version the stand-in is given (``DYNAMOTE_SIM_OPERATOR_VERSION`` for
``dynamote sim``); the default is the newest line, with the 1.5 rules.

A denial reaches the client as the API server relays a webhook's ``Invalid`` status: 422, the
message prefixed with ``admission webhook "<name>" denied the request: ``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.sim.k8s.validation import Cause

__all__ = [
    "IMAGE_RULES_SINCE",
    "LATEST_OPERATOR_VERSION",
    "OVERRIDE_REQUIRED",
    "WEBHOOK_NAME",
    "admission_causes",
    "parse_version",
]

WEBHOOK_NAME = "vdynamographdeployment.kb.io"
LATEST_OPERATOR_VERSION = "1.7.1"
IMAGE_RULES_SINCE = (1, 5, 0)
# runtimeVersionOverrideRequiredMessage in the webhook's validation package.
OVERRIDE_REQUIRED = (
    "is required when the specified main container image has no parseable semantic-version tag"
)
_SEMVER_TAG = re.compile(
    r"^[vV]?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$"
)
_VERSION = re.compile(r"^[vV]?(\d+)\.(\d+)(?:\.(\d+))?")


def parse_version(text: str) -> tuple[int, int, int]:
    """``"1.5.0"`` -> (1, 5, 0); raises ValueError on anything else."""
    match = _VERSION.match(text.strip())
    if match is None:
        raise ValueError(f"not an operator version: {text!r} (expected e.g. 1.5.0)")
    major, minor, patch = match.groups()
    return int(major), int(minor), int(patch or 0)


def admission_causes(dgd: Mapping[str, Any], operator_version: str) -> list[Cause]:
    """Why the webhook of ``operator_version`` refuses this DGD; empty when it admits it."""
    if parse_version(operator_version) < IMAGE_RULES_SINCE:
        return []
    spec = dgd.get("spec") or {}
    causes: list[Cause] = []
    if "components" in spec:
        for index, component in enumerate(spec.get("components") or []):
            path = f"spec.components[{index}]"
            containers = ((component.get("podTemplate") or {}).get("spec") or {}).get(
                "containers"
            ) or []
            position = next((i for i, c in enumerate(containers) if c.get("name") == "main"), None)
            image = containers[position].get("image") if position is not None else None
            image_path = f"{path}.podTemplate.spec.containers[{position or 0}].image"
            causes += _image_causes(image, component, path, image_path)
    else:
        for name, service in (spec.get("services") or {}).items():
            path = f"spec.services[{name}]"
            main = ((service or {}).get("extraPodSpec") or {}).get("mainContainer") or {}
            image_path = f"{path}.extraPodSpec.mainContainer.image"
            causes += _image_causes(main.get("image"), service or {}, path, image_path)
    return causes


def _image_causes(
    image: object, component: Mapping[str, Any], path: str, image_path: str
) -> list[Cause]:
    if not image:
        return [Cause("FieldValueRequired", "Required value: is required", image_path)]
    if component.get("runtimeVersionOverride") or _has_semver_tag(str(image)):
        return []
    return [
        Cause(
            "FieldValueRequired",
            f"Required value: {OVERRIDE_REQUIRED}",
            f"{path}.runtimeVersionOverride",
        )
    ]


def _has_semver_tag(image: str) -> bool:
    if "@" in image:  # a digest names no version
        image = image.split("@", 1)[0]
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return False
    return bool(_SEMVER_TAG.match(last.split(":", 1)[1]))
