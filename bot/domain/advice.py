"""What a person can do about a failed or stuck deployment: one fix line per reason. Pure.

``bot.domain.status`` says *what* is wrong in one line ("secret hf-token-secret not found", "image
pull failed: ...", "waiting for GPUs: ..."); this module turns that into the command or
request that fixes it, so the thread reply is actionable without reading Kubernetes docs.
The commands follow the operator's conventions (the HF token secret, the frontend Service).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from bot.domain.status import DeploymentStatus

__all__ = ["fix_for", "hf_secret_command"]

_SECRET = re.compile(r"^secret (?P<name>\S+) not found")
_CONFIGMAP = re.compile(r"^configmap (?P<name>\S+) not found")
_IMAGE = re.compile(r"^image pull failed: (?P<image>\S+)")

_FEWER_GPUS = (
    "ask for fewer GPUs or a smaller model (or free GPUs by deleting deployments nobody uses: "
    "/dynamote list)"
)


def fix_for(status: DeploymentStatus) -> str:
    """The fix line for a Failed or stuck-Pending status; a generic look-here line otherwise."""
    reason = status.reason
    for rule in _RULES:
        fix = rule(reason, status)
        if fix is not None:
            return fix
    return (
        f"look at kubectl describe dgd {status.name} -n {status.namespace} and its pods' events "
        f"(kubectl get events -n {status.namespace})"
    )


def hf_secret_command(name: str, namespace: str) -> str:
    """The command that creates the Secret a deployment names for HF_TOKEN (its envFromSecret)."""
    return f"kubectl create secret generic {name} --from-literal=HF_TOKEN=<token> -n {namespace}"


def _secret(reason: str, status: DeploymentStatus) -> str | None:
    found = _SECRET.match(reason)
    if not found:
        return None
    command = hf_secret_command(found["name"], status.namespace)
    return f"create the secret with {command} (an empty token works for public models)"


def _configmap(reason: str, status: DeploymentStatus) -> str | None:
    found = _CONFIGMAP.match(reason)
    if not found:
        return None
    return f"create the ConfigMap {found['name']} in namespace {status.namespace}"


def _image(reason: str, status: DeploymentStatus) -> str | None:
    found = _IMAGE.match(reason)
    if not found:
        return None
    return (
        f"check the image tag: {found['image']} could not be pulled. Use a released Dynamo tag "
        "(e.g. 1.4.0, set with DYNAMOTE_DYNAMO_VERSION) and make sure the nodes can reach the "
        "registry"
    )


def _capacity(reason: str, status: DeploymentStatus) -> str | None:
    if reason.startswith(("waiting for GPUs", "waiting for capacity")) or (
        reason.startswith("unschedulable") and "nvidia.com/gpu" in reason
    ):
        return _FEWER_GPUS
    if reason.startswith("unschedulable"):
        return (
            "no node accepts its pods: ask for less memory, fewer GPUs or a smaller model, "
            f"or check node taints (kubectl describe pods -n {status.namespace})"
        )
    return None


def _crash(reason: str, status: DeploymentStatus) -> str | None:
    if not reason.startswith("crash looping"):
        return None
    if "OOMKilled" in reason:
        return "the container ran out of memory: ask for more memory, more GPUs or a smaller model"
    return (
        "read the log below; a model that does not fit its GPUs is the usual cause: ask for "
        "more GPUs or a smaller model"
    )


def _no_pods(reason: str, status: DeploymentStatus) -> str | None:
    if reason != "waiting for the operator to create pods":
        return None
    return (
        "check that the Dynamo operator is installed and running "
        "(kubectl get pods -A | grep dynamo-operator)"
    )


_RULES: tuple[Callable[[str, DeploymentStatus], str | None], ...] = (
    _secret,
    _configmap,
    _image,
    _capacity,
    _crash,
    _no_pods,
)
