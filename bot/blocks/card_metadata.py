"""Reading back a modal's private_metadata: a JSON object naming who opened the modal and from
which channel; a modal opened from a deployment's card (Scale, Try it) also names the card's
deployment."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["read_card_metadata", "read_metadata"]


def read_metadata(text: str) -> tuple[dict[str, Any], str, str | None]:
    """(the object, user, channel or None); ValueError for anything else."""
    try:
        raw = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"private_metadata is not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ValueError("private_metadata is not a JSON object")
    user, channel = raw.get("user"), raw.get("channel")
    if not isinstance(user, str) or not user:
        raise ValueError("private_metadata has no user")
    if channel is not None and not isinstance(channel, str):
        raise ValueError("private_metadata has a channel that is not text")
    return raw, user, channel or None


def read_card_metadata(text: str) -> tuple[dict[str, Any], str, str | None, str]:
    """(the object, user, channel or None, ``"<namespace>/<name>"``); ValueError for
    anything else."""
    raw, user, channel = read_metadata(text)
    deployment = raw.get("deployment")
    if not isinstance(deployment, str) or "/" not in deployment:
        raise ValueError("private_metadata names no deployment")
    return raw, user, channel, deployment
