"""Only Dynamote's own DGDs, end to end over signed HTTP: the attacks of someone who may create
or patch DGDs with kubectl (the test's own Kubernetes client, through the stand-in's API).

A DGD without the managed-by label is shown to nobody and never written to; one labelled
managed-by dynamote but not signed by the bot (or changed since) is not counted against the
person it names, is hidden from everyone but admins (who see it marked unverified), and is
never written to on a refused delete. Every refusal is one audit record.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest

from bot.blocks.ids import ACTION_DELETE_DEPLOYMENT, ACTION_VIEW_DEPLOYMENT
from bot.cluster import ClusterError
from bot.domain.manifest import (
    ANNOTATION_CHANNEL,
    ANNOTATION_DELETED_BY,
    ANNOTATION_REQUESTER,
    ANNOTATION_THREAD,
    SlackOrigin,
    render_dgd,
)
from bot.domain.provenance import ANNOTATION_PROVENANCE, Provenance
from bot.domain.request import parse_request
from bot.ops.audit import AUDIT_LOGGER
from tests.signing import signed
from tests.stacks import Stack, deploy_directly, text_of
from tests.waiting import wait_for

MakeStack = Callable[..., Stack]
DGDS = "dynamographdeployments"
MISSING = 'There is no deployment "{name}" in namespace "team-a"'
# What a name gets when no namespace is given and it is nowhere to be seen.
NOWHERE = "There is no deployment named *{name}* in the namespaces Dynamote uses."


def forged(stack: Stack, name: str, *, victim: str = "U0VICTIM", channel: str = "C0VICTIMS"
           ) -> dict[str, Any]:  # fmt: skip
    """What ``kubectl apply`` of a copied Dynamote manifest gives: managed-by dynamote,
    someone else's requester and any channel, no (valid) signature. Created through the
    API server like any kubectl user, not by the bot's service."""
    manifest = rendered(stack, name, SlackOrigin(victim, channel, "1700000000.000100"))
    # A plain create through the API server (the label is there, as in a copied manifest);
    # not DeploymentService.create, which is what signs.
    return stack.cluster.create_dgd(manifest)


def rendered(stack: Stack, name: str, origin: SlackOrigin) -> dict[str, Any]:
    """The manifest Dynamote renders for a small deployment in team-a, unsigned."""
    request = parse_request(
        {"model": "Qwen/Qwen3-0.6B", "name": name, "namespace": "team-a", "engine": "vllm"},
        catalog=stack.context.catalog,
    )
    return render_dgd(request, image="nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.4.0", origin=origin)


def unlabelled(stack: Stack, name: str) -> dict[str, Any]:
    """A DGD someone made without Dynamote, carrying Dynamote's annotations but no label."""
    body = {
        "apiVersion": "nvidia.com/v1beta1",
        "kind": "DynamoGraphDeployment",
        "metadata": {
            "name": name,
            "namespace": "team-a",
            "annotations": {ANNOTATION_REQUESTER: "U0VICTIM", ANNOTATION_CHANNEL: "C0VICTIMS"},
        },
        "spec": {"components": []},
    }
    stack.k8s.store.create(DGDS, body)
    stored = stack.k8s.store.get(DGDS, "team-a", name)
    assert stored is not None
    return stored


def audits(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == AUDIT_LOGGER]


def dgd_writes(stack: Stack) -> list[tuple[str, str]]:
    return [k for k in stack.k8s.api_calls() if k[1] == DGDS and k[0] not in ("get", "list")]


# --- a kubectl-made DGD claiming someone else -------------------------------------------------


def test_status_of_a_forged_dgd_shows_nothing_of_it_to_a_non_admin(
    make_stack: MakeStack, caplog: pytest.LogCaptureFixture
) -> None:
    stack = make_stack(admins=["U0ADMIN"])
    forged(stack, "planted")
    stack.k8s.reset_api_calls()
    with caplog.at_level(logging.INFO, logger=AUDIT_LOGGER):
        reply = stack.replies(stack.command("status planted", user="U0VICTIM"))[0]
        missing = stack.replies(stack.command("status nosuch", user="U0VICTIM"))[0]
    text = text_of(reply)
    assert NOWHERE.format(name="planted") in text
    # The same answer as for a DGD that does not exist: nothing tells them apart.
    assert text.replace("planted", "X") == text_of(missing).replace("nosuch", "X")
    assert "U0VICTIM" not in json.dumps(reply) and "Qwen" not in text
    # The managed and provenance check came before any read of its pods.
    assert not [k for k in stack.k8s.api_calls() if k[1] in ("pods", "events")]
    [record] = [r for r in audits(caplog) if r.deployment == "planted"]
    assert (record.action, record.outcome) == ("read", "denied")
    assert "provenance" in record.reason


def test_status_of_an_unlabelled_dgd_shows_nothing_even_to_an_admin(
    make_stack: MakeStack,
) -> None:
    stack = make_stack(admins=["U0ADMIN"])
    unlabelled(stack, "handmade")
    stack.k8s.reset_api_calls()
    for user in ("U0ALICE", "U0ADMIN"):
        text = text_of(stack.replies(stack.command("status handmade", user=user))[0])
        assert NOWHERE.format(name="handmade") in text
        named = text_of(stack.replies(stack.command("status handmade -n team-a", user=user))[0])
        assert MISSING.format(name="handmade") in named
    view = text_of(stack.replies(stack.click(ACTION_VIEW_DEPLOYMENT, "team-a/handmade"))[0])
    assert MISSING.format(name="handmade") in view
    assert not [k for k in stack.k8s.api_calls() if k[1] in ("pods", "events")]


def test_an_admin_sees_a_forged_dgd_marked_unverified_without_its_claimed_owner(
    make_stack: MakeStack,
) -> None:
    stack = make_stack(admins=["S0ADMINS"])
    stack.slack.set_usergroup("S0ADMINS", ["U0ADMIN"])
    forged(stack, "planted")
    details = stack.replies(stack.command("status planted", user="U0ADMIN"))[0]
    assert "unverified" in text_of(details)
    assert "U0VICTIM" not in json.dumps(details)
    listed = stack.replies(stack.command("list all", user="U0ADMIN"))[0]
    assert "planted" in text_of(listed) and "unverified" in text_of(listed)
    assert "U0VICTIM" not in json.dumps(listed)
    prompt = stack.replies(stack.command("delete planted", user="U0ADMIN"))[0]
    assert "unverified" in text_of(prompt) and "U0VICTIM" not in json.dumps(prompt)
    assert stack.slack.violations() == []


def test_lists_show_a_forged_dgd_to_nobody_but_admins(make_stack: MakeStack) -> None:
    stack = make_stack(admins=["U0ADMIN"])
    deploy_directly(stack, "real", user="U0VICTIM")
    forged(stack, "planted")
    for text in ("list all", "list mine"):
        listed = text_of(stack.replies(stack.command(text, user="U0VICTIM"))[0])
        assert "real" in listed and "planted" not in listed, (text, listed)


def test_a_forged_dgd_does_not_count_against_the_person_it_names(make_stack: MakeStack) -> None:
    stack = make_stack(max_deployments_per_user=1)
    forged(stack, "planted", victim="U0ALICE")
    stack.command("deploy qwen3 0.6b")
    ack, _ = stack.submit(stack.opened_view(), {"name": "mine"})
    assert ack.get("response_action") == "update", ack
    stack.wait_for_dgd("team-a", "mine")


def test_a_requester_patched_onto_a_signed_dgd_no_longer_verifies(make_stack: MakeStack) -> None:
    stack = make_stack(max_deployments_per_user=1)
    deploy_directly(stack, "bobs", user="U0BOB")
    dgd = stack.cluster.get_dgd("team-a", "bobs")
    stack.cluster.patch_dgd_annotations(
        "team-a", "bobs", {ANNOTATION_REQUESTER: "U0ALICE"},
        resource_version=dgd["metadata"]["resourceVersion"],
    )  # fmt: skip
    # Not Alice's (it does not block her deploy), and not shown to her as hers.
    listed = text_of(stack.replies(stack.command("list mine"))[0])
    assert "bobs" not in listed
    stack.command("deploy qwen3 0.6b")
    ack, _ = stack.submit(stack.opened_view(), {"name": "alices"})
    assert ack.get("response_action") == "update", ack


# --- a refused delete writes nothing ---------------------------------------------------------


def test_a_refused_delete_of_an_unlabelled_dgd_writes_nothing_and_is_audited(
    make_stack: MakeStack, caplog: pytest.LogCaptureFixture
) -> None:
    stack = make_stack(admins=["U0ADMIN"])
    before = unlabelled(stack, "handmade")
    stack.k8s.reset_api_calls()
    with caplog.at_level(logging.INFO, logger=AUDIT_LOGGER):
        by_button = stack.replies(stack.click(ACTION_DELETE_DEPLOYMENT, "team-a/handmade",
                                              user="U0ADMIN"))[0]  # fmt: skip
        by_command = stack.replies(stack.command("delete handmade", user="U0ADMIN"))[0]
    assert dgd_writes(stack) == []  # not even a deleted-by mark set and taken back
    assert MISSING.format(name="handmade") in text_of(by_button)
    assert NOWHERE.format(name="handmade") in text_of(by_command)
    after = stack.k8s.store.get(DGDS, "team-a", "handmade")
    assert after is not None
    # (The operator writes its status meanwhile; the bot wrote nothing.)
    assert after["metadata"]["annotations"] == before["metadata"]["annotations"]
    assert ANNOTATION_DELETED_BY not in after["metadata"]["annotations"]
    refusals = [(r.action, r.outcome) for r in audits(caplog)]
    assert refusals == [("delete", "denied"), ("delete", "denied")]
    assert all("managed-by" in r.reason for r in audits(caplog))


def test_a_non_admin_cannot_delete_a_forged_dgd_and_nothing_is_written(
    make_stack: MakeStack, caplog: pytest.LogCaptureFixture
) -> None:
    stack = make_stack(admins=["U0ADMIN"])
    before = forged(stack, "planted", victim="U0ALICE")
    stack.k8s.reset_api_calls()
    with caplog.at_level(logging.INFO, logger=AUDIT_LOGGER):
        reply = stack.replies(stack.click(ACTION_DELETE_DEPLOYMENT, "team-a/planted"))[0]
    assert MISSING.format(name="planted") in text_of(reply)
    assert dgd_writes(stack) == []
    after = stack.k8s.store.get(DGDS, "team-a", "planted")
    assert after is not None
    # (The operator writes its status meanwhile; the bot wrote nothing.)
    assert after["metadata"]["annotations"] == before["metadata"]["annotations"]
    [record] = audits(caplog)
    assert (record.user, record.action, record.outcome) == ("U0ALICE", "delete", "denied")
    assert "provenance" in record.reason


def test_an_admin_deletes_a_forged_dgd_writing_nothing_else_on_it(make_stack: MakeStack) -> None:
    stack = make_stack(admins=["U0ADMIN"])
    forged(stack, "planted")
    stack.k8s.reset_api_calls()
    stack.replies(stack.click(ACTION_DELETE_DEPLOYMENT, "team-a/planted", user="U0ADMIN"))
    assert stack.k8s.store.get(DGDS, "team-a", "planted") is None
    assert dgd_writes(stack) == [("delete", DGDS)]  # no deleted-by mark: no card to tell


# --- what Dynamote itself creates verifies ---------------------------------------------------


def test_a_deploy_from_slack_is_signed_and_stays_signed_once_its_card_is_recorded(
    make_stack: MakeStack,
) -> None:
    stack = make_stack()
    stack.command("deploy qwen3 0.6b", channel="C0TEAM")
    ack, _ = stack.submit(stack.opened_view(), {"name": "signed"})
    assert ack.get("response_action") == "update", ack
    card = stack.slack.wait_for("chat.postMessage")[0].response
    provenance = Provenance.from_settings(stack.settings)

    def recorded() -> dict[str, Any] | None:
        dgd = stack.k8s.store.get(DGDS, "team-a", "signed")
        annotations = (dgd or {}).get("metadata", {}).get("annotations", {})
        return dgd if annotations.get(ANNOTATION_THREAD) == card["ts"] else None

    dgd = wait_for(recorded)
    annotations = dgd["metadata"]["annotations"]
    assert annotations[ANNOTATION_REQUESTER] == "U0ALICE"
    assert annotations[ANNOTATION_CHANNEL] == card["channel"]
    assert annotations[ANNOTATION_PROVENANCE].startswith("v1.")
    assert provenance.standing(dgd) == "verified"
    text = text_of(stack.replies(stack.command("status signed"))[0])
    assert "*Requested by*\nyou" in text and "unverified" not in text  # known: Alice asks


def test_a_card_recorded_after_its_dgd_was_made_anew_under_the_name_signs_nothing(
    make_stack: MakeStack,
) -> None:
    stack = make_stack()
    manifest = rendered(stack, "renamed", SlackOrigin("U0ALICE", "C0TEAM"))
    created = stack.cluster.create_dgd(signed(manifest, stack.settings))
    # Deleted and made again by someone else before the bot records where the card is.
    stack.cluster.delete_dgd("team-a", "renamed")
    wait_for(lambda: stack.k8s.store.get(DGDS, "team-a", "renamed") is None)
    forged(stack, "renamed")
    with pytest.raises(ClusterError, match="changed meanwhile"):
        stack.context.service.record_card(created, channel="C0TEAM", ts="1700000000.000200")
    dgd = stack.k8s.store.get(DGDS, "team-a", "renamed")
    assert dgd["metadata"]["annotations"][ANNOTATION_REQUESTER] == "U0VICTIM"
    assert Provenance.from_settings(stack.settings).standing(dgd) == "unverified"
