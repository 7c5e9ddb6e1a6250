"""Shared fixtures: where the upstream Dynamo reference material lives."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import get_settings


@pytest.fixture(scope="session")
def dynamo_reference() -> Path:
    """``shared/dynamo`` beside the project (DYNAMOTE_DYNAMO_REFERENCE); skip when absent."""
    path = get_settings().dynamo_reference
    if not (path / "crd" / "nvidia.com_dynamographdeployments.yaml").is_file():
        pytest.skip(f"the Dynamo reference folder is absent at {path} (DYNAMOTE_DYNAMO_REFERENCE)")
    return path
