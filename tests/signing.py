"""Sign DGDs made by hand in tests as Dynamote signs the ones it creates
(``bot.domain.provenance``).

A test that puts a "managed" DGD straight into the cluster must sign it with the key of the
settings the bot under test runs with, or the bot rightly treats it as unverified.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from bot.config.fields import SettingsFields
from bot.domain.provenance import Provenance, claim_of

__all__ = ["PROVENANCE_KEY", "signed", "signed_changes"]

PROVENANCE_KEY = "tests-provenance-key-made-up-0123456789abcdef"  # made up for these tests


def signed(manifest: Mapping[str, Any], settings: SettingsFields) -> dict[str, Any]:
    """``manifest`` with its requester and channel signed under ``settings``' key."""
    provenance = Provenance.from_settings(settings)
    assert provenance.can_sign, "these settings have no provenance key: set provenance_key"
    return provenance.signed_manifest(manifest)


def signed_changes(
    dgd: Mapping[str, Any], settings: SettingsFields, **changes: str | None
) -> dict[str, str | None]:
    """The annotations Dynamote patches onto ``dgd`` to change its claim (``deleted_by``,
    ``channel``, ``thread_ts``...), signed: what ``DeploymentService`` writes."""
    return Provenance.from_settings(settings).annotations(replace(claim_of(dgd), **changes))
