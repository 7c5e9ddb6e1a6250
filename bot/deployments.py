"""Deployment: one DGD that Dynamote manages, as people see it in Slack. Pure: no I/O.

Joins what the DGD carries (the request annotation, the Slack origin) with the status that
``bot.status`` derives, and knows the commands that reach the model once it runs. Who asked
and where its card is are taken only from a DGD whose provenance verified
(``bot.provenance``); an unverified one has neither.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.dynamo import (
    ANNOTATION_CHANNEL,
    ANNOTATION_REQUEST,
    ANNOTATION_REQUESTER,
    ANNOTATION_THREAD,
    LABEL_ENGINE,
    frontend_service_name,
)
from bot.notify.state import failing_since_of
from bot.status import DeploymentStatus, compute_status

__all__ = [
    "Deployment",
    "EndpointCommands",
    "deployment_from",
    "endpoint_commands",
    "stored_request",
]

FRONTEND_PORT = 8000


@dataclass(frozen=True)
class Deployment:
    """A managed DGD: who asked for what, from where, and how it is doing."""

    name: str
    namespace: str
    model: str
    engine: str
    served_model_name: str
    requester: str | None
    channel: str | None
    thread_ts: str | None
    status: DeploymentStatus
    request: Mapping[str, Any] = field(default_factory=dict)  # the stored request, as JSON
    annotations: Mapping[str, str] = field(default_factory=dict)
    resource_version: str | None = None
    verified: bool = True  # False: Dynamote cannot tell who asked (no requester, no card)

    @property
    def key(self) -> str:
        """``namespace/name``: the value buttons carry."""
        return f"{self.namespace}/{self.name}"

    @property
    def created_at(self) -> datetime | None:
        return self.status.created_at


@dataclass(frozen=True)
class EndpointCommands:
    """Lines a person pastes to reach a running deployment."""

    port_forward: str
    curl: str


def deployment_from(
    dgd: Mapping[str, Any],
    pods: Sequence[Mapping[str, Any]] = (),
    events: Sequence[Mapping[str, Any]] = (),
    *,
    verified: bool,
    now: datetime | None = None,
) -> Deployment:
    """A Deployment from a DGD as the API returns it, its pods and their events.

    ``verified``: whether the DGD's provenance checked out; when not, the requester and card
    place it claims are left out, so nothing downstream can ping, count or post on them.
    """
    metadata = dgd.get("metadata") or {}
    annotations: dict[str, str] = dict(metadata.get("annotations") or {})
    labels = metadata.get("labels") or {}
    request = stored_request(annotations.get(ANNOTATION_REQUEST))
    model = str(request.get("model") or labels.get("dynamote.dev/model") or "unknown")
    return Deployment(
        name=str(metadata.get("name", "")),
        namespace=str(metadata.get("namespace", "")),
        model=model,
        engine=str(
            request.get("engine")
            or labels.get(LABEL_ENGINE)
            or (dgd.get("spec") or {}).get("backendFramework")
            or "unknown"
        ),
        served_model_name=str(request.get("servedModelName") or model),
        requester=annotations.get(ANNOTATION_REQUESTER) if verified else None,
        channel=annotations.get(ANNOTATION_CHANNEL) if verified else None,
        thread_ts=annotations.get(ANNOTATION_THREAD) if verified else None,
        # The notifier's record says since when the operator's failed state is seen, so every
        # view judges its retry window as the deployment's thread does.
        status=compute_status(
            dgd, pods, events, now=now, failing_since=failing_since_of(annotations)
        ),
        request=request,
        annotations=annotations,
        resource_version=metadata.get("resourceVersion"),
        verified=verified,
    )


def stored_request(raw: str | None) -> dict[str, Any]:
    """The request annotation as a dict; {} when it is missing or unreadable."""
    # A DGD edited by hand may carry anything here; show what can be read, never fail.
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def endpoint_commands(deployment: Deployment) -> EndpointCommands:
    """``kubectl port-forward`` to the frontend Service and a ``curl`` that chats with it."""
    service = deployment.status.frontend_service or frontend_service_name(deployment.name)
    port_forward = (
        f"kubectl port-forward svc/{service} {FRONTEND_PORT}:{FRONTEND_PORT} "
        f"-n {deployment.namespace}"
    )
    body = json.dumps(
        {
            "model": deployment.served_model_name,
            "messages": [{"role": "user", "content": "Hello! Who are you?"}],
            "max_tokens": 64,
        }
    )
    curl = (
        f"curl localhost:{FRONTEND_PORT}/v1/chat/completions "
        f"-H 'Content-Type: application/json' -d {shlex.quote(body)}"
    )
    return EndpointCommands(port_forward, curl)
