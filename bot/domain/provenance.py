"""Provenance: whether Dynamote itself wrote who owns a DGD and where its card is. Pure: no I/O.

Labels and annotations are writable by anyone who may create or patch DGDs, so
``app.kubernetes.io/managed-by=dynamote`` and ``dynamote.dev/requester`` alone prove nothing.
Whenever Dynamote writes the fields that decide whose a deployment is, where its status card
and replies go and whom its deletion names (:class:`Claim`), it also writes
``dynamote.dev/provenance``: an HMAC-SHA256 over those fields, with a key only the bot holds.
A DGD whose fields do not match its signature is *unverified*: not announced, not counted
against anyone, hidden from everyone but admins (who see it marked).

The signature cannot cover the uid (unknown before the create), so one replay remains: after
a signed DGD is deleted, someone with create rights can make a DGD of the same namespace and
name carrying a copy of its signed fields. It then counts as that person's again, and its
replies go to the old card's thread.

The key (:meth:`Provenance.from_settings`): ``DYNAMOTE_PROVENANCE_KEY``; without it, one
derived (HKDF-SHA256) from ``SLACK_SIGNING_SECRET``, else from ``SLACK_BOT_TOKEN``, so an
installation that predates the setting keeps working. Without any of them nothing verifies
and nothing can be signed; there is no built-in default key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from bot.config.fields import SettingsFields
from bot.domain.dgd import (
    ANNOTATION_CHANNEL,
    ANNOTATION_DELETED_BY,
    ANNOTATION_PROVENANCE,
    ANNOTATION_REQUESTER,
    ANNOTATION_THREAD,
    Dgd,
)
from bot.domain.status.raw import meta_of

__all__ = [
    "ANNOTATION_PROVENANCE",
    "KEY_SOURCES",
    "MIN_KEY_LENGTH",
    "Claim",
    "NoProvenanceKey",
    "Provenance",
    "Standing",
    "claim_of",
    "hkdf_sha256",
]

VERSION = "v1"
# Where the key comes from, first found wins (the variables' names, as people set them).
KEY_SOURCES = ("DYNAMOTE_PROVENANCE_KEY", "SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN")
_SALT = b"dynamote.dev/provenance"
MIN_KEY_LENGTH = 32  # characters of DYNAMOTE_PROVENANCE_KEY that doctor asks for

Standing = Literal["verified", "unverified", "unmanaged"]


class NoProvenanceKey(RuntimeError):  # noqa: N818  (reads as what is missing)
    """Nothing to sign with: none of :data:`KEY_SOURCES` is set."""


@dataclass(frozen=True)
class Claim:
    """What decides whose a deployment is and where Slack hears about it."""

    namespace: str
    name: str
    requester: str | None = None
    channel: str | None = None
    thread_ts: str | None = None
    deleted_by: str | None = None

    def annotations(self) -> dict[str, str | None]:
        """The claim as DGD annotations; None for an absent field (a merge patch removes it)."""
        return {
            ANNOTATION_REQUESTER: self.requester,
            ANNOTATION_CHANNEL: self.channel,
            ANNOTATION_THREAD: self.thread_ts,
            ANNOTATION_DELETED_BY: self.deleted_by,
        }

    def canonical(self) -> bytes:
        """One unambiguous encoding (a JSON array of strings and nulls), versioned."""
        fields = [
            f"{ANNOTATION_PROVENANCE}/{VERSION}",
            self.namespace,
            self.name,
            self.requester,
            self.channel,
            self.thread_ts,
            self.deleted_by,
        ]
        return json.dumps(fields, separators=(",", ":"), ensure_ascii=True).encode()


def claim_of(dgd: Mapping[str, Any]) -> Claim:
    """The claim a DGD (or a manifest) carries in its metadata, signed or not."""
    meta = meta_of(dgd)

    def text(key: str) -> str | None:
        return meta.annotation(key) or None

    return Claim(
        namespace=meta.namespace,
        name=meta.name,
        requester=text(ANNOTATION_REQUESTER),
        channel=text(ANNOTATION_CHANNEL),
        thread_ts=text(ANNOTATION_THREAD),
        deleted_by=text(ANNOTATION_DELETED_BY),
    )


def hkdf_sha256(ikm: bytes, *, salt: bytes, info: bytes) -> bytes:
    """HKDF-SHA256 (RFC 5869) with a 32-byte output: extract, then one block of expand."""
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()


class Provenance:
    """Signs claims and checks DGDs with one key (or, without a key, verifies nothing)."""

    def __init__(self, key: bytes | None, *, source: str | None = None) -> None:
        self._key = key
        self.source = source if key is not None else None
        # Keyed once; each signature copies it (a sweep checks every DGD's signature).
        self._mac = hmac.new(key, digestmod=hashlib.sha256) if key is not None else None

    @classmethod
    def from_settings(cls, settings: SettingsFields) -> Provenance:
        candidates = (
            settings.provenance_key,
            settings.slack_signing_secret,
            settings.slack_bot_token,
        )
        for source, secret in zip(KEY_SOURCES, candidates, strict=True):
            value = secret.get_secret_value().strip() if secret is not None else ""
            if value:
                # Bound to provenance and to the variable: never the secret itself.
                key = hkdf_sha256(value.encode(), salt=_SALT, info=source.encode())
                return cls(key, source=source)
        return cls(None)

    @property
    def can_sign(self) -> bool:
        return self._key is not None

    def signature(self, claim: Claim) -> str:
        if self._key is None:
            raise NoProvenanceKey(
                "Dynamote has no key to sign its deployments with: set "
                "DYNAMOTE_PROVENANCE_KEY (e.g. openssl rand -hex 32) in the bot's Secret."
            )
        assert self._mac is not None  # made with the key
        mac = self._mac.copy()
        mac.update(claim.canonical())
        digest = mac.digest()
        return f"{VERSION}.{base64.urlsafe_b64encode(digest).rstrip(b'=').decode()}"

    def annotations(self, claim: Claim) -> dict[str, str | None]:
        """The claim's annotations and its signature: what a patch writes, all together, so
        a field someone changed by hand is never signed along with the ones Dynamote set."""
        return {**claim.annotations(), ANNOTATION_PROVENANCE: self.signature(claim)}

    def signed_manifest(self, manifest: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of a manifest about to be created, its claim signed (no deleted-by yet)."""
        claim = replace(claim_of(manifest), deleted_by=None)
        body = dict(manifest)
        meta = meta_of(body)
        metadata = dict(meta.raw)
        kept = meta.annotations
        written = {k: v for k, v in self.annotations(claim).items() if v is not None}
        kept.pop(ANNOTATION_DELETED_BY, None)
        metadata["annotations"] = {**kept, **written}
        body["metadata"] = metadata
        return body

    def verify(self, dgd: Mapping[str, Any]) -> bool:
        """Whether the DGD's claim is the one Dynamote signed (managed-by label aside)."""
        if self._key is None:
            return False
        given = meta_of(dgd).annotation(ANNOTATION_PROVENANCE)
        if given is None:
            return False
        return hmac.compare_digest(given.encode(), self.signature(claim_of(dgd)).encode())

    def standing(self, dgd: Mapping[str, Any]) -> Standing:
        """Unmanaged (no managed-by label), unverified (label, no valid signature), verified."""
        if not Dgd(dgd).managed:
            return "unmanaged"
        return "verified" if self.verify(dgd) else "unverified"
