"""Reading back the private_metadata of a modal opened from a deployment's card (Scale, Try it):
a JSON object naming who opened it, from which channel, and the card's deployment."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["read_card_metadata"]


def read_card_metadata(text: str) -> tuple[dict[str, Any], str, str | None, str]:
    """(the object, user, channel or None, ``"<namespace>/<name>"``); ValueError for
    anything else."""
    try:
        raw = json.loads(text)
    except (TypeError, ValueError):
        raise ValueError("private_metadata is not JSON") from None
    if not isinstance(raw, dict):
        raise ValueError("private_metadata is not a JSON object")
    user, channel, deployment = raw.get("user"), raw.get("channel"), raw.get("deployment")
    if not isinstance(user, str) or not isinstance(deployment, str) or "/" not in deployment:
        raise ValueError("private_metadata names no user or deployment")
    if channel is not None and not isinstance(channel, str):
        raise ValueError("private_metadata has a channel that is not text")
    return raw, user, channel or None, deployment
