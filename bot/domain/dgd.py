"""A DynamoGraphDeployment as Dynamote reads it: its vocabulary and a typed view. Pure: no I/O.

The vocabulary: the apiVersions Dynamote writes, the managed-by label, and every
``dynamote.dev/`` label and annotation, defined here only. The view (:class:`Dgd`) reads a DGD
as the API returns it without trusting any field's type (``bot.domain.status.raw``): a field of the
wrong type reads as absent. Labels and annotations can be written by anyone who may patch
DGDs, so the requester, the card's place and the deleter are read only from a DGD whose
signature ``bot.domain.provenance`` verified; from any other they read as absent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol

from bot.domain.status.raw import Meta, as_dict, as_text

__all__ = [
    "ANNOTATION_CHANNEL",
    "ANNOTATION_DELETED_BY",
    "ANNOTATION_EXPIRES_AT",
    "ANNOTATION_EXPIRY_REMINDED",
    "ANNOTATION_NOTIFIED",
    "ANNOTATION_PROVENANCE",
    "ANNOTATION_REQUEST",
    "ANNOTATION_REQUESTER",
    "ANNOTATION_REQUESTS_SERVED",
    "ANNOTATION_THREAD",
    "API_VERSIONS",
    "DEFAULT_API_VERSION",
    "DGD_KIND",
    "LABEL_ENGINE",
    "LABEL_MANAGED_BY",
    "LABEL_MODEL",
    "LABEL_NAME",
    "LABEL_REQUESTER",
    "MANAGED_BY_VALUE",
    "MANAGED_SELECTOR",
    "PREFIX",
    "ApiVersion",
    "CardPlace",
    "Dgd",
    "Verifier",
    "api_version_of",
    "stored_request",
]

# The apiVersions Dynamote writes, most preferred first (bot.cluster.versions chooses).
ApiVersion = Literal["nvidia.com/v1beta1", "nvidia.com/v1alpha1"]
API_VERSIONS: Final[tuple[ApiVersion, ...]] = ("nvidia.com/v1beta1", "nvidia.com/v1alpha1")
DEFAULT_API_VERSION: Final[ApiVersion] = "nvidia.com/v1beta1"
DGD_KIND: Final = "DynamoGraphDeployment"

# Kubernetes' recommended labels: Dynamote lists, watches and deletes only what carries this one.
LABEL_MANAGED_BY: Final = "app.kubernetes.io/managed-by"
LABEL_NAME: Final = "app.kubernetes.io/name"
MANAGED_BY_VALUE: Final = "dynamote"
MANAGED_SELECTOR: Final = f"{LABEL_MANAGED_BY}={MANAGED_BY_VALUE}"

PREFIX: Final = "dynamote.dev"
LABEL_MODEL: Final = f"{PREFIX}/model"
LABEL_ENGINE: Final = f"{PREFIX}/engine"
LABEL_REQUESTER: Final = f"{PREFIX}/requester"
ANNOTATION_REQUEST: Final = f"{PREFIX}/request"  # the request as JSON, camelCase
ANNOTATION_REQUESTER: Final = f"{PREFIX}/requester"
ANNOTATION_CHANNEL: Final = f"{PREFIX}/channel"
ANNOTATION_THREAD: Final = f"{PREFIX}/thread-ts"
ANNOTATION_DELETED_BY: Final = f"{PREFIX}/deleted-by"  # set just before Dynamote deletes a DGD
ANNOTATION_PROVENANCE: Final = f"{PREFIX}/provenance"  # the signature over the fields above
ANNOTATION_NOTIFIED: Final = f"{PREFIX}/notified"  # what the notifier last announced
ANNOTATION_EXPIRES_AT: Final = f"{PREFIX}/expires-at"
ANNOTATION_EXPIRY_REMINDED: Final = f"{PREFIX}/expiry-reminded"
# Earlier readings of the frontend's request counter (bot.domain.served), for "served lately".
ANNOTATION_REQUESTS_SERVED: Final = f"{PREFIX}/requests-served"


def api_version_of(obj: object) -> ApiVersion | None:
    """The object's apiVersion when it is one Dynamote writes, else None."""
    version = as_dict(obj).get("apiVersion")
    for known in API_VERSIONS:
        if version == known:
            return known
    return None


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


class Verifier(Protocol):
    """What checks a DGD's signature: ``bot.domain.provenance.Provenance``."""

    def verify(self, dgd: Mapping[str, Any]) -> bool: ...


@dataclass(frozen=True, slots=True)
class CardPlace:
    """Where a deployment's status card is: its channel, and the thread of its replies."""

    channel: str
    thread_ts: str | None


@dataclass(frozen=True, slots=True)
class Dgd:
    """One DGD, read from ``raw`` (kept for write-backs) on access; its metadata found once.

    ``verified``: whether ``bot.domain.provenance`` verified the DGD's signature (:meth:`read` asks
    it); only then are the requester, the card's place and the deleter read.
    """

    raw: Mapping[str, Any]
    verified: bool = False
    # Read once: a sweep asks a view a dozen questions, each of them of the metadata.
    _meta: Meta = field(init=False, repr=False, compare=False)
    _request: dict[str, Any] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_meta", Meta(as_dict(self.raw.get("metadata"))))

    @classmethod
    def read(cls, raw: object, provenance: Verifier | None = None) -> Dgd:
        """The view of ``raw``, verified by ``provenance`` (unverified without one)."""
        body = as_dict(raw)
        return cls(body, provenance is not None and provenance.verify(body))

    @property
    def meta(self) -> Meta:
        return self._meta

    @property
    def name(self) -> str:
        return self.meta.name

    @property
    def namespace(self) -> str:
        return self.meta.namespace

    @property
    def key(self) -> tuple[str, str]:
        return self.meta.namespace, self.meta.name

    @property
    def uid(self) -> str:
        return self.meta.uid

    @property
    def resource_version(self) -> str:
        return self.meta.resource_version

    @property
    def labels(self) -> dict[str, str]:
        return self.meta.labels

    @property
    def annotations(self) -> dict[str, str]:
        return self.meta.annotations

    def annotation(self, key: str) -> str | None:
        return self.meta.annotation(key)

    @property
    def api_version(self) -> ApiVersion | None:
        return api_version_of(self.raw)

    @property
    def managed(self) -> bool:
        """It carries the managed-by label (which anyone may write: it proves nothing)."""
        return self.meta.label(LABEL_MANAGED_BY) == MANAGED_BY_VALUE

    @property
    def request(self) -> dict[str, Any]:
        """The request it was made from ({} when it carries none that can be read)."""
        if self._request is None:  # parsed once per view
            object.__setattr__(
                self, "_request", stored_request(self.meta.annotation(ANNOTATION_REQUEST))
            )
        assert self._request is not None
        return self._request

    @property
    def model(self) -> str | None:
        """The model: the request's, else the label's."""
        return as_text(self.request.get("model")) or self.meta.label(LABEL_MODEL) or None

    @property
    def engine(self) -> str | None:
        """The engine: the request's, else the label's."""
        return as_text(self.request.get("engine")) or self.meta.label(LABEL_ENGINE) or None

    @property
    def expires_at(self) -> str | None:
        return self.meta.annotation(ANNOTATION_EXPIRES_AT)

    def _signed(self, key: str) -> str | None:
        return self.meta.annotation(key) or None if self.verified else None

    @property
    def requester(self) -> str | None:
        """Who asked for it (a Slack user id), as signed; None when not verified."""
        return self._signed(ANNOTATION_REQUESTER)

    @property
    def deleted_by(self) -> str | None:
        return self._signed(ANNOTATION_DELETED_BY)

    @property
    def card(self) -> CardPlace | None:
        """Where its status card is, as signed; None when not verified or never posted."""
        channel = self._signed(ANNOTATION_CHANNEL)
        return CardPlace(channel, self._signed(ANNOTATION_THREAD)) if channel else None
