"""bot.domain.provenance, pure: what a signature covers, what breaks it, where the key comes from.

"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import pytest

from bot.config.settings import load_settings
from bot.domain.deployments import deployment_from
from bot.domain.manifest import (
    ANNOTATION_CHANNEL,
    ANNOTATION_DELETED_BY,
    ANNOTATION_REQUEST,
    ANNOTATION_REQUESTER,
    ANNOTATION_THREAD,
    LABEL_MANAGED_BY,
)
from bot.domain.provenance import (
    ANNOTATION_PROVENANCE,
    Claim,
    NoProvenanceKey,
    Provenance,
    claim_of,
    hkdf_sha256,
)

KEY = "unit-test-provenance-key-made-up-0123456789"


def provenance(**settings: Any) -> Provenance:
    return Provenance.from_settings(load_settings(**settings))


SIGNER = provenance(provenance_key=KEY)


def dgd(**annotations: str) -> dict[str, Any]:
    """A manifest as Dynamote renders it: managed-by label, requester and channel."""
    return {
        "apiVersion": "nvidia.com/v1beta1",
        "kind": "DynamoGraphDeployment",
        "metadata": {
            "name": "qwen",
            "namespace": "team-a",
            "labels": {LABEL_MANAGED_BY: "dynamote"},
            "annotations": {
                ANNOTATION_REQUEST: '{"model": "Qwen/Qwen3-0.6B"}',
                ANNOTATION_REQUESTER: "U0ALICE",
                ANNOTATION_CHANNEL: "C0TEAM",
                **annotations,
            },
        },
        "spec": {},
    }


def test_hkdf_matches_rfc_5869_test_case_1() -> None:
    # RFC 5869, Appendix A.1 (SHA-256): the first 32 bytes of the 42-byte OKM.
    okm = hkdf_sha256(bytes([0x0B] * 22), salt=bytes(range(13)), info=bytes(range(0xF0, 0xFA)))
    assert okm.hex() == "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"


def test_a_signed_manifest_verifies_and_keeps_its_other_annotations() -> None:
    manifest = dgd()
    signed = SIGNER.signed_manifest(manifest)
    assert SIGNER.standing(signed) == "verified"
    assert signed["metadata"]["annotations"][ANNOTATION_REQUEST] == '{"model": "Qwen/Qwen3-0.6B"}'
    assert signed["metadata"]["annotations"][ANNOTATION_PROVENANCE].startswith("v1.")
    assert ANNOTATION_PROVENANCE not in manifest["metadata"]["annotations"]  # not mutated


def test_a_manifest_is_signed_without_a_deleted_by_mark_it_may_carry() -> None:
    signed = SIGNER.signed_manifest(dgd(**{ANNOTATION_DELETED_BY: "U0MALLORY"}))
    assert ANNOTATION_DELETED_BY not in signed["metadata"]["annotations"]
    assert SIGNER.verify(signed)


@pytest.mark.parametrize(
    ("where", "key", "value"),
    [
        ("annotations", ANNOTATION_REQUESTER, "U0MALLORY"),
        ("annotations", ANNOTATION_CHANNEL, "C0ELSEWHERE"),
        ("annotations", ANNOTATION_THREAD, "1700000000.000100"),
        ("annotations", ANNOTATION_DELETED_BY, "U0VICTIM"),
        ("metadata", "name", "other"),
        ("metadata", "namespace", "team-b"),
    ],
)
def test_any_change_to_the_claim_breaks_the_signature(where: str, key: str, value: str) -> None:
    changed = copy.deepcopy(SIGNER.signed_manifest(dgd()))
    target = changed["metadata"] if where == "metadata" else changed["metadata"]["annotations"]
    target[key] = value
    assert SIGNER.standing(changed) == "unverified"


def test_removing_a_claimed_field_breaks_the_signature() -> None:
    changed = copy.deepcopy(SIGNER.signed_manifest(dgd()))
    del changed["metadata"]["annotations"][ANNOTATION_REQUESTER]
    assert not SIGNER.verify(changed)


def test_what_is_not_part_of_the_claim_may_change() -> None:
    changed = copy.deepcopy(SIGNER.signed_manifest(dgd()))
    changed["metadata"]["annotations"][ANNOTATION_REQUEST] = "{}"
    changed["metadata"]["resourceVersion"] = "99"
    assert SIGNER.verify(changed)


@pytest.mark.parametrize("value", [None, "", "v1.", "v1.AAAA", "v2.whatever", 7, ["v1.x"]])
def test_a_missing_or_malformed_signature_does_not_verify(value: Any) -> None:
    body = dgd()
    if value is not None:
        body["metadata"]["annotations"][ANNOTATION_PROVENANCE] = value
    assert SIGNER.standing(body) == "unverified"


def test_without_the_managed_by_label_nothing_is_dynamotes_even_when_signed() -> None:
    signed = SIGNER.signed_manifest(dgd())
    signed["metadata"]["labels"] = {}
    assert SIGNER.standing(signed) == "unmanaged"


def test_another_key_does_not_verify() -> None:
    signed = SIGNER.signed_manifest(dgd())
    assert not provenance(provenance_key=KEY + "x").verify(signed)


def test_without_any_key_nothing_verifies_and_nothing_can_be_signed() -> None:
    keyless = provenance()
    assert keyless.source is None and not keyless.can_sign
    assert not keyless.verify(SIGNER.signed_manifest(dgd()))
    with pytest.raises(NoProvenanceKey, match="DYNAMOTE_PROVENANCE_KEY"):
        keyless.signed_manifest(dgd())


def test_the_key_comes_from_the_setting_then_the_signing_secret_then_the_bot_token() -> None:
    everything = {
        "provenance_key": KEY,
        "slack_signing_secret": "signing",
        "slack_bot_token": "xoxb-token",
    }
    assert provenance(**everything).source == "DYNAMOTE_PROVENANCE_KEY"
    assert provenance(**{**everything, "provenance_key": "  "}).source == "SLACK_SIGNING_SECRET"
    assert provenance(slack_bot_token="xoxb-token").source == "SLACK_BOT_TOKEN"
    # Each source gives its own key: the same text in another variable signs differently.
    claim = Claim("team-a", "qwen", "U0ALICE")
    assert provenance(slack_signing_secret="same").signature(claim) != provenance(
        slack_bot_token="same"
    ).signature(claim)


def test_the_encoding_keeps_fields_apart() -> None:
    one = Claim("team-a", "qwen", requester="U1,C2", channel=None)
    other = Claim("team-a", "qwen", requester="U1", channel="C2")
    assert one.canonical() != other.canonical()
    assert SIGNER.signature(one) != SIGNER.signature(other)


def test_a_signature_copied_onto_the_same_namespace_and_name_verifies_the_one_replay() -> None:
    # The uid is unknown before the create, so it is not covered: a DGD re-created under
    # the same namespace and name with a copy of a deleted one's signed fields verifies.
    original = SIGNER.signed_manifest(dgd())
    copied = copy.deepcopy(original)
    copied["metadata"]["uid"] = "another-uid"
    copied["spec"] = {"components": [{"name": "Frontend"}]}
    assert SIGNER.verify(copied)


def test_annotations_write_the_whole_claim_so_hand_edits_are_not_signed_along() -> None:
    claim = replace(claim_of(dgd()), thread_ts="1700000000.000100")
    written = SIGNER.annotations(claim)
    assert written[ANNOTATION_REQUESTER] == "U0ALICE"
    assert written[ANNOTATION_DELETED_BY] is None  # a merge patch removes one set by hand
    patched = dgd(**{k: v for k, v in written.items() if v is not None})
    assert SIGNER.verify(patched)


def test_an_unverified_deployment_has_no_requester_and_no_card_place() -> None:
    body = dgd(**{ANNOTATION_THREAD: "1700000000.000100"})
    shown = deployment_from(body, verified=False)
    assert (shown.requester, shown.channel, shown.thread_ts, shown.verified) == (
        None, None, None, False,
    )  # fmt: skip
    trusted = deployment_from(body, verified=True)
    assert (trusted.requester, trusted.channel) == ("U0ALICE", "C0TEAM")
