"""Fixtures for the Block Kit builders: the shipped catalog, deployments, and limit checks.

Every surface test runs its output through ``to_dict()`` (slack_sdk's own checks) and through
``bot.blocks.limits`` (the limits slack_sdk does not check); both must pass.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk.models.views import View

from bot.blocks.common import Message
from bot.blocks.limits import check_message, check_view
from bot.domain.catalog import Catalog, load_catalog
from bot.domain.deployments import Deployment
from bot.domain.status import Condition, DeploymentStatus, PodStatus

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
NASTY = "<@U999> & <!channel> *bold* `tick` ```fence``` _x_ ünïcødé 🚀"


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


def fits_message(message: Message) -> dict[str, Any]:
    """The message's payload, after checking it against every Block Kit limit."""
    assert message.text.strip(), "a message needs fallback text"
    payload = message.as_kwargs()
    assert check_message(payload) == []
    # NASTY's "<!channel>" must never reach Slack unescaped: it would notify a whole channel.
    assert "<!channel>" not in payload["text"]
    assert "<!channel>" not in mrkdwn_text(payload)
    return payload


def fits_view(view: View) -> dict[str, Any]:
    """The view as a dict, after checking it against every Block Kit limit."""
    payload = view.to_dict()
    assert check_view(payload) == []
    assert "<!channel>" not in mrkdwn_text(payload)
    return payload


@pytest.fixture
def message_fits() -> Callable[[Message], dict[str, Any]]:
    return fits_message


@pytest.fixture
def view_fits() -> Callable[[View], dict[str, Any]]:
    return fits_view


def make_pod(index: int, *, name: str = "qwen", ready: bool = True) -> PodStatus:
    return PodStatus(
        name=f"{name}-vllmdecodeworker-{index:05d}",
        component="VllmDecodeWorker",
        phase="Running" if ready else "Pending",
        ready=ready,
        restarts=index % 4,
        node=f"gpu-node-{index % 7}" if ready else None,
        reason=None if ready else "ImagePullBackOff",
    )


def make_deployment(
    name: str = "qwen3-0-6b",
    *,
    namespace: str = "dynamo-system",
    phase: str = "Running",
    reason: str = "ready",
    model: str = "Qwen/Qwen3-0.6B",
    engine: str = "vllm",
    requester: str | None = "U123ABC",
    pods: int = 2,
    conditions: int = 1,
    ready: int = 1,
    desired: int = 1,
    gpus: int = 1,
    age: timedelta = timedelta(hours=2),
    served_model_name: str | None = None,
) -> Deployment:
    status = DeploymentStatus(
        name=name,
        namespace=namespace,
        phase=phase,  # type: ignore[arg-type]  # tests also try unknown phases
        reason=reason,
        replicas_desired=desired,
        replicas_ready=ready,
        replicas_available=ready,
        conditions=tuple(
            Condition(
                type="Ready" if i == 0 else f"Cond{i}",
                status="True" if i % 2 == 0 else "False",
                reason="all_good" if i == 0 else "waiting",
                message=f"condition {i} " + "x" * 300,
            )
            for i in range(conditions)
        ),
        pods=tuple(make_pod(i, name=name, ready=i % 5 != 4) for i in range(pods)),
        created_at=NOW - age,
        frontend_service=f"{name}-frontend",
        gpus=gpus,
    )
    request = {"model": model, "engine": engine, "mode": "aggregated", "replicas": desired}
    return Deployment(
        name=name,
        namespace=namespace,
        model=model,
        engine=engine,
        served_model_name=served_model_name or model,
        requester=requester,
        channel="C123",
        thread_ts="1700000000.000100",
        status=status,
        request=request,
    )


def shown_text(payload: Any) -> str:
    """Every text a person sees (values under "text" keys), one per line."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "text" and isinstance(item, str):
                    found.append(item)
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(payload.get("blocks", payload) if isinstance(payload, dict) else payload)
    return "\n".join(found)


def mrkdwn_text(payload: Any) -> str:
    """Every mrkdwn text, where an unescaped ``<@U…>`` would ping someone."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if value.get("type") == "mrkdwn" and isinstance(value.get("text"), str):
                found.append(value["text"])
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(payload)
    return "\n".join(found)
