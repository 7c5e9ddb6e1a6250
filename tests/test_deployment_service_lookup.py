"""Finding a deployment by name across the allowed namespaces, and a person's latest one.

The cluster here is a stand-in object answering the two reads ``DeploymentService.lookup``
makes (a list of managed DGDs, a get by name); the DGDs are rendered and signed as Dynamote
makes them. The flows over real HTTP are in ``tests/flows/test_commands_flow.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from bot.cluster import NotFound
from bot.config.settings import Settings, load_settings
from bot.deployment_service import DeploymentService
from bot.domain.catalog import load_catalog
from bot.domain.manifest import LABEL_MANAGED_BY, SlackOrigin, render_dgd
from bot.domain.request import parse_request
from tests.signing import PROVENANCE_KEY, signed

NAMESPACES = ["team-a", "team-b"]


class ListedCluster:
    """The DGDs a cluster holds, answered as the real client answers these two reads."""

    def __init__(self, dgds: Sequence[dict[str, Any]]) -> None:
        self.dgds = list(dgds)
        self.gets: list[tuple[str, str]] = []

    def list_managed_dgds(self, namespaces: Sequence[str]) -> list[dict[str, Any]]:
        return [
            d
            for d in self.dgds
            if d["metadata"]["namespace"] in namespaces
            and d["metadata"].get("labels", {}).get(LABEL_MANAGED_BY)
        ]

    def get_dgd(self, namespace: str, name: str) -> dict[str, Any]:
        self.gets.append((namespace, name))
        for dgd in self.dgds:
            if (dgd["metadata"]["namespace"], dgd["metadata"]["name"]) == (namespace, name):
                return dgd
        raise NotFound(f"no DGD {namespace}/{name}", status=404, reason="NotFound")


def settings() -> Settings:
    return load_settings(
        namespaces=NAMESPACES, default_namespace="team-a", provenance_key=PROVENANCE_KEY
    )


def dgd(
    name: str, namespace: str = "team-a", *, user: str = "U0ALICE", created: str, sign: bool = True
) -> dict[str, Any]:
    request = parse_request(
        {"model": "Qwen/Qwen3-0.6B", "name": name, "namespace": namespace, "engine": "vllm"},
        catalog=load_catalog(),
    )
    manifest = render_dgd(request, image="runtime:1", origin=SlackOrigin(user, "C0GENERAL"))
    made = signed(manifest, settings()) if sign else manifest
    made["metadata"]["creationTimestamp"] = created
    return made


def service(*dgds: dict[str, Any]) -> DeploymentService:
    cluster: Any = ListedCluster(dgds)
    return DeploymentService(cluster=cluster, catalog=load_catalog(), settings=settings())


T1, T2, T3 = "2026-11-27T10:00:00Z", "2026-11-27T11:00:00Z", "2026-11-27T12:00:00Z"


def test_a_name_is_found_in_any_allowed_namespace() -> None:
    found = service(dgd("qwen", "team-b", created=T1)).lookup("qwen")
    assert [(d.namespace, d.name) for d in found.matches] == [("team-b", "qwen")]


def test_the_same_name_twice_is_two_matches() -> None:
    found = service(dgd("qwen", "team-a", created=T1), dgd("qwen", "team-b", created=T2))
    assert [d.namespace for d in found.lookup("qwen").matches] == ["team-a", "team-b"]


def test_a_typo_gets_close_names_and_no_match() -> None:
    found = service(
        dgd("qwen-small", created=T1), dgd("llama", created=T2), dgd("qwen-tiny", created=T3)
    ).lookup("Qwen-smal")
    assert found.matches == ()
    assert [d.name for d in found.similar][:1] == ["qwen-small"]
    assert "llama" not in [d.name for d in found.similar]


def test_an_unverified_dgd_is_hidden_from_a_person_but_not_from_an_admin() -> None:
    forged = dgd("planted", created=T1, sign=False)
    forged["metadata"]["annotations"]["dynamote.dev/requester"] = "U0VICTIM"
    person = service(forged).lookup("planted")
    assert person.matches == () and person.similar == ()
    assert person.hidden_in == (("team-a", "unverified"),)
    admin = service(forged).lookup("planted", unverified=True)
    assert [d.verified for d in admin.matches] == [False]
    assert admin.matches[0].requester is None  # the claimed owner is never shown


def test_a_dgd_dynamote_did_not_make_is_found_only_to_audit_the_refusal() -> None:
    handmade = dgd("handmade", "team-b", created=T1, sign=False)
    del handmade["metadata"]["labels"][LABEL_MANAGED_BY]
    lookup = service(handmade).lookup("handmade")
    assert lookup.matches == () and lookup.hidden_in == (("team-b", "unmanaged"),)


@pytest.mark.parametrize("user", ["U0ALICE", "U0BOB"])
def test_latest_is_the_persons_newest_verified_deployment(user: str) -> None:
    dgds = [
        dgd("alices-old", created=T1),
        dgd("alices-new", "team-b", created=T2),
        dgd("bobs", user="U0BOB", created=T3),
    ]
    latest = service(*dgds).latest_of(user)
    assert latest is not None
    assert latest.name == {"U0ALICE": "alices-new", "U0BOB": "bobs"}[user]


def test_someone_without_deployments_has_no_latest() -> None:
    forged = dgd("claims-carol", user="U0CAROL", created=T1, sign=False)
    assert service(dgd("alices", created=T1), forged).latest_of("U0CAROL") is None
