"""Deployment: one DGD that Dynamote manages, as people see it in Slack. Pure: no I/O.

Joins what the DGD carries (the request annotation, the Slack origin) with the status that
``bot.domain.status`` derives, and knows the commands that reach the model once it runs. Who asked
and where its card is are taken only from a DGD whose provenance verified
(``bot.domain.provenance``); an unverified one has neither.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.domain.dgd import Dgd, stored_request
from bot.domain.manifest import frontend_service_name
from bot.domain.notified import failing_since_of
from bot.domain.status import DeploymentStatus, compute_status
from bot.domain.status.raw import as_dict, as_text

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
    view = Dgd(dgd, verified=verified)
    annotations = view.annotations
    request = view.request
    model = view.model or "unknown"
    card = view.card
    return Deployment(
        name=view.name,
        namespace=view.namespace,
        model=model,
        engine=view.engine
        or as_text(as_dict(dgd.get("spec")).get("backendFramework"))
        or "unknown",
        served_model_name=str(request.get("servedModelName") or model),
        requester=view.requester,
        channel=card.channel if card else None,
        thread_ts=card.thread_ts if card else None,
        # The notifier's record says since when the operator's failed state is seen, so every
        # view judges its retry window as the deployment's thread does.
        status=compute_status(
            dgd, pods, events, now=now, failing_since=failing_since_of(annotations)
        ),
        request=request,
        annotations=annotations,
        resource_version=view.resource_version or None,
        verified=verified,
    )


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
