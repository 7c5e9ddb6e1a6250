"""The notifier announces only DGDs whose provenance verifies, and puts late cards only in
allowed channels: the attacks of someone who may create or patch DGDs (through the API
server, as kubectl would), against the real notifier over the Kubernetes and Slack stand-ins.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.cluster import Cluster
from bot.domain.manifest import ANNOTATION_CHANNEL, ANNOTATION_DELETED_BY, ANNOTATION_THREAD
from bot.domain.notified import ANNOTATION_NOTIFIED
from bot.domain.provenance import ANNOTATION_PROVENANCE, Provenance
from bot.sim.k8s.standin import StandIn
from bot.sim.operator.controller import SimOperator
from bot.sim.slack.web_api import SlackStandIn
from tests.signing import signed_changes

from .conftest import (
    CHANNEL,
    NAMESPACE,
    REQUESTER,
    Bot,
    Deploy,
    make_settings,
    manifest,
    replies,
    run_to_running,
)

VICTIM = "U0VICTIM"


def planted(cluster: Cluster, version: str, name: str, **claims: Any) -> dict[str, Any]:
    """A DGD made with kubectl from a copied manifest: managed-by dynamote, the claims the
    attacker chose, no valid signature."""
    body = manifest(version, name, **claims)
    del body["metadata"]["annotations"][ANNOTATION_PROVENANCE]
    return cluster.create_dgd(body)


def sent(slack: SlackStandIn) -> list[str]:
    return [c.method for c in slack.calls() if c.method.startswith(("chat.", "conversations."))]


def test_a_planted_dgd_gets_no_late_card_pings_nobody_and_is_not_written_to(
    bot: Bot, operator: SimOperator, slack: SlackStandIn, version: str
) -> None:
    planted(bot.cluster, version, "planted", requester=VICTIM, channel="C0VICTIMS")
    operator.reconcile_once()
    bot.offset = timedelta(minutes=5)  # long past the late-card grace
    notifier = bot.notifier()
    notifier.sweep()
    notifier.sweep()
    assert sent(slack) == []
    annotations = bot.cluster.get_dgd(NAMESPACE, "planted")["metadata"]["annotations"]
    assert ANNOTATION_NOTIFIED not in annotations and ANNOTATION_THREAD not in annotations


def test_a_copied_signature_does_not_let_a_planted_dgd_reply_in_someone_elses_thread(
    bot: Bot,
    deploy: Deploy,
    operator: SimOperator,
    slack: SlackStandIn,
    version: str,
) -> None:
    real, card = deploy("real")
    body = manifest(version, "planted", thread_ts=card)
    # Every claim and the signature of "real", on another name.
    body["metadata"]["annotations"][ANNOTATION_PROVENANCE] = real["metadata"]["annotations"][
        ANNOTATION_PROVENANCE
    ]
    bot.cluster.create_dgd(body)
    notifier = bot.notifier()
    notifier.sweep()
    run_to_running(operator, bot.clock)  # both Running: each would get a reply
    notifier.sweep()
    texts = [str(reply.get("text")) for reply in replies(slack, card)]
    assert texts and all("planted" not in text for text in texts), texts
    assert any("real" in text for text in texts)


def test_the_deletion_of_a_planted_dgd_is_not_announced_in_the_thread_it_names(
    bot: Bot,
    deploy: Deploy,
    slack: SlackStandIn,
    version: str,
) -> None:
    _, card = deploy("real")
    gone = planted(bot.cluster, version, "planted", thread_ts=card)
    notifier = bot.notifier()
    notifier.sweep()
    bot.cluster.delete_dgd(NAMESPACE, "planted")
    notifier.on_deleted(gone)  # the watch's DELETED event
    notifier.sweep()  # and the sweep that no longer lists it
    assert replies(slack, card) == []


def test_a_deleted_by_written_by_hand_does_not_name_anyone_in_the_thread(
    bot: Bot,
    deploy: Deploy,
    slack: SlackStandIn,
) -> None:
    _, card = deploy("qwen")
    notifier = bot.notifier()
    notifier.sweep()  # seen while it verified
    dgd = bot.cluster.get_dgd(NAMESPACE, "qwen")
    marked = bot.cluster.patch_dgd_annotations(
        NAMESPACE, "qwen", {ANNOTATION_DELETED_BY: VICTIM},
        resource_version=dgd["metadata"]["resourceVersion"],
    )  # fmt: skip
    bot.cluster.delete_dgd(NAMESPACE, "qwen")
    notifier.on_deleted(marked)
    [reply] = replies(slack, card)
    assert VICTIM not in str(reply)
    assert reply["text"] == "qwen: Deleted outside Dynamote (kubectl?)"


def test_a_signed_deleted_by_still_names_who_deleted(
    bot: Bot,
    deploy: Deploy,
    slack: SlackStandIn,
) -> None:
    _, card = deploy("qwen")
    notifier = bot.notifier()
    notifier.sweep()
    dgd = bot.cluster.get_dgd(NAMESPACE, "qwen")
    marked = bot.cluster.patch_dgd_annotations(
        NAMESPACE, "qwen", signed_changes(dgd, bot.settings, deleted_by="U0BOB"),
        resource_version=dgd["metadata"]["resourceVersion"],
    )  # fmt: skip
    bot.cluster.delete_dgd(NAMESPACE, "qwen")
    notifier.on_deleted(marked)
    [reply] = replies(slack, card)
    assert "Deleted by <@U0BOB>" in str(reply["blocks"])


def test_a_late_card_goes_to_the_requesters_dm_when_its_channel_is_not_allowed(
    bot: Bot,
    deploy: Deploy,
    operator: SimOperator,
    slack: SlackStandIn,
) -> None:
    strict = Bot(bot.cluster, bot.client, bot.clock, make_settings(allowed_channels=["C0OTHER"]))
    dgd, _ = deploy("orphan", channel=None)
    # Signed with a channel, but no card: the bot stopped before posting it.
    bot.cluster.patch_dgd_annotations(
        NAMESPACE, "orphan", signed_changes(dgd, bot.settings, channel=CHANNEL),
        resource_version=dgd["metadata"]["resourceVersion"],
    )  # fmt: skip
    operator.reconcile_once()
    strict.offset = timedelta(minutes=2)
    strict.notifier().sweep()
    [card] = [c for c in slack.calls("chat.postMessage") if c.ok and not c.params.get("thread_ts")]
    assert card.params["channel"] != CHANNEL
    assert slack.calls("conversations.open")[0].params["users"] == REQUESTER
    recorded = bot.cluster.get_dgd(NAMESPACE, "orphan")
    annotations = recorded["metadata"]["annotations"]
    assert annotations[ANNOTATION_CHANNEL] == card.response["channel"]
    assert annotations[ANNOTATION_THREAD] == card.response["ts"]
    assert Provenance.from_settings(bot.settings).standing(recorded) == "verified"


def test_a_sweep_reads_no_pods_for_a_planted_dgd_still_starting(
    bot: Bot, standin: StandIn, version: str
) -> None:
    planted(bot.cluster, version, "planted")  # never reconciled: not ready, pods unknown
    notifier = bot.notifier()
    standin.reset_api_calls()
    notifier.sweep()
    assert [k for k in standin.api_calls() if k[1] == "pods"] == []
    # A signed one in the same state does need its pods read: the check above can fail.
    bot.cluster.create_dgd(manifest(version, "signed"))
    standin.reset_api_calls()
    notifier.sweep()
    assert [k for k in standin.api_calls() if k[1] == "pods"] == [("list", "pods")]
