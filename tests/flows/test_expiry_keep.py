"""The Keep button end to end: the owner moves the expiry (within the maximum), the card is
redrawn with the new time and the thread told; someone else is refused and nothing changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.blocks.ids import ACTION_EXPIRY_CHANGE, ACTION_EXPIRY_KEEP, BLOCK_KEEP_FOR
from bot.domain.deployments import Deployment
from bot.domain.expiry import (
    ANNOTATION_EXPIRES_AT,
    ANNOTATION_EXPIRY_REMINDED,
    format_expires_at,
    parse_expires_at,
)
from bot.notifier.controller import Notifier
from tests.signing import signed_changes
from tests.stacks import Stack, deploy_directly, text_of


def _with_card_and_expiry(stack: Stack, name: str, expires: datetime) -> str:
    """The deployment's card in C0GENERAL (its signed place) and an expiry; the card's ts."""
    deploy_directly(stack, name)
    card = stack.slack.add_message("C0GENERAL", text=f"{name} card")
    dgd = stack.cluster.get_dgd("team-a", name)
    changes = {
        **signed_changes(dgd, stack.settings, thread_ts=card),
        ANNOTATION_EXPIRES_AT: format_expires_at(expires),
    }
    stack.cluster.patch_dgd_annotations(
        "team-a", name, changes, resource_version=dgd["metadata"]["resourceVersion"]
    )
    return card


def _expiry(stack: Stack, name: str) -> datetime | None:
    annotations = stack.cluster.get_dgd("team-a", name)["metadata"]["annotations"]
    return parse_expires_at(annotations.get(ANNOTATION_EXPIRES_AT))


def test_keep_moves_the_expiry_redraws_the_card_and_tells_the_thread(stack: Stack) -> None:
    soon = datetime.now(UTC) + timedelta(minutes=1)
    card = _with_card_and_expiry(stack, "qwen-keep", soon)

    stack.click(ACTION_EXPIRY_KEEP, "team-a/qwen-keep", user="U0ALICE")
    [reply] = [c.params for c in stack.slack.wait_for("chat.postMessage")]
    assert reply["thread_ts"] == card
    assert "<@U0ALICE> kept" in text_of(reply["blocks"])
    kept = _expiry(stack, "qwen-keep")
    policy = stack.settings.expiry_policy
    assert kept is not None and kept - soon >= policy.keep - timedelta(seconds=2)
    assert policy.maximum is None or kept <= datetime.now(UTC) + policy.maximum
    shown = stack.slack.message("C0GENERAL", card)
    assert shown is not None and f"<!date^{int(kept.timestamp())}^" in text_of(shown["blocks"])


def test_keep_by_someone_else_is_refused_and_changes_nothing(stack: Stack) -> None:
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)
    _with_card_and_expiry(stack, "qwen-theirs", soon)

    name = stack.click(ACTION_EXPIRY_KEEP, "team-a/qwen-theirs", user="U0BOB")
    [refusal] = stack.replies(name)
    assert "Only <@U0ALICE> or an admin" in text_of(refusal)
    assert _expiry(stack, "qwen-theirs") == soon
    assert stack.slack.calls("chat.postMessage") == []


def test_the_forms_keep_for_sets_expires_at_on_the_dgd_and_the_card_shows_it(
    stack: Stack,
) -> None:
    stack.command("deploy qwen3 0.6b", channel="C0ML")
    view = stack.opened_view()
    [keep_for] = [b for b in view["blocks"] if b.get("block_id", "").startswith(BLOCK_KEEP_FOR)]
    offered = [o["value"] for o in keep_for["element"]["options"]]
    assert offered == list(stack.settings.expiry_policy.offered)
    assert keep_for["element"]["initial_option"]["value"] == stack.settings.expiry_default
    before = datetime.now(UTC).replace(microsecond=0)
    ack, _ = stack.submit(view, {BLOCK_KEEP_FOR: "1d"})
    assert ack["response_action"] == "update"
    dgd = stack.wait_for_dgd("team-a", "qwen3-0-6b")
    expires = parse_expires_at(dgd["metadata"]["annotations"][ANNOTATION_EXPIRES_AT])
    after = datetime.now(UTC) + timedelta(seconds=1)
    assert expires is not None and before + timedelta(days=1) <= expires <= after + timedelta(
        days=1
    )
    card = stack.slack.wait_for("chat.postMessage")[0]
    assert f"<!date^{int(expires.timestamp())}^" in text_of(card.params["blocks"])


def test_a_keep_for_choice_the_settings_do_not_offer_is_an_inline_error(stack: Stack) -> None:
    stack.command("deploy qwen3 0.6b", channel="C0ML")
    view = stack.opened_view()
    for block in view["blocks"]:  # a forged (or stale) option the settings no longer offer
        if block.get("block_id", "").startswith(BLOCK_KEEP_FOR):
            block["element"]["options"].append({"text": {"type": "plain_text", "text": "1y"},
                                                "value": "52w"})  # fmt: skip
    ack, _ = stack.submit(view, {BLOCK_KEEP_FOR: "52w"})
    assert ack["response_action"] == "errors"
    [(block_id, message)] = ack["errors"].items()
    assert block_id.startswith(BLOCK_KEEP_FOR) and "Choose one of" in message
    assert stack.k8s.store.get("dynamographdeployments", "team-a", "qwen3-0-6b") is None


def _notifier(stack: Stack, at: datetime) -> Notifier:
    client = WebClient(token=stack.slack.token, base_url=stack.slack.url, retry_handlers=[])
    return Notifier(stack.cluster, client, stack.settings, now=lambda: at)


def test_the_reminders_keep_button_saves_it_from_the_deletion(stack: Stack) -> None:
    now = datetime.now(UTC)
    card = _with_card_and_expiry(stack, "qwen-saved", now + timedelta(minutes=1))
    _notifier(stack, now).sweep()  # within the reminder's lead: the reminder
    [reminder] = [
        c.params
        for c in stack.slack.calls("chat.postMessage")
        if c.ok and c.params.get("thread_ts") == card and c.params["text"].endswith("expires soon")
    ]
    keep = next(
        e
        for b in reminder["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == ACTION_EXPIRY_KEEP
    )
    before = len(stack.slack.calls("chat.postMessage"))
    stack.click(ACTION_EXPIRY_KEEP, keep["value"], user="U0ALICE")  # the owner presses it
    stack.slack.wait_for("chat.postMessage", count=before + 1)  # "kept until ..." in the thread

    _notifier(stack, now + timedelta(minutes=2)).sweep()  # past the old time
    assert stack.k8s.store.get("dynamographdeployments", "team-a", "qwen-saved") is not None


def test_without_keep_the_deployment_is_deleted_at_its_time(stack: Stack) -> None:
    now = datetime.now(UTC)
    card = _with_card_and_expiry(stack, "qwen-ends", now + timedelta(minutes=1))
    _notifier(stack, now + timedelta(minutes=2)).sweep()
    assert stack.k8s.store.get("dynamographdeployments", "team-a", "qwen-ends") is None
    said = [
        text_of(c.params)
        for c in stack.slack.calls("chat.postMessage")
        if c.ok and c.params.get("thread_ts") == card
    ]
    assert any("Deleted at its expiry time" in line for line in said)


def test_the_cards_change_sets_a_new_time_from_the_modal(stack: Stack) -> None:
    card = _with_card_and_expiry(stack, "qwen-change", datetime.now(UTC) + timedelta(days=3))
    stack.click(ACTION_EXPIRY_CHANGE, "team-a/qwen-change", user="U0ALICE")
    modal = stack.slack.wait_for("views.open")[-1].response["view"]
    before = datetime.now(UTC).replace(microsecond=0)
    ack, _ = stack.submit(modal, {BLOCK_KEEP_FOR: "8h"}, user="U0ALICE")
    assert ack == {} or ack.get("response_action") != "errors", ack
    [reply] = [c.params for c in stack.slack.wait_for("chat.postMessage")]
    assert reply["thread_ts"] == card and "<@U0ALICE> kept" in text_of(reply["blocks"])
    changed = _expiry(stack, "qwen-change")
    after = datetime.now(UTC) + timedelta(seconds=1)
    assert changed is not None
    assert before + timedelta(hours=8) <= changed <= after + timedelta(hours=8)


def test_change_by_someone_else_changes_nothing(stack: Stack) -> None:
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    _with_card_and_expiry(stack, "qwen-mine", soon)
    stack.click(ACTION_EXPIRY_CHANGE, "team-a/qwen-mine", user="U0BOB")
    modal = stack.slack.wait_for("views.open")[-1].response["view"]
    stack.submit(modal, {BLOCK_KEEP_FOR: "8h"}, user="U0BOB")
    [dm] = [c.params for c in stack.slack.wait_for("chat.postMessage")]  # told by DM
    assert "Only <@U0ALICE> or an admin" in text_of(dm)
    assert _expiry(stack, "qwen-mine") == soon


def _written_after_the_keeps_read(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, name: str, changes: dict[str, str]
) -> None:
    """The first time the Keep reads the deployment, ``changes`` land on it right after (with
    no resourceVersion, as the notifier's records and kubectl do), so the Keep's write is stale."""
    service = stack.context.service
    read = service.get_deployment
    writes = [changes]

    def read_then_written(namespace: str, wanted: str, **kwargs: Any) -> Deployment:
        found = read(namespace, wanted, **kwargs)
        if wanted == name and writes:
            dgd = stack.cluster.get_dgd(namespace, wanted)
            stack.cluster.patch_dgd_annotations(
                namespace, wanted, writes.pop(), resource_version=dgd["metadata"]["resourceVersion"]
            )
        return found

    monkeypatch.setattr(service, "get_deployment", read_then_written)


def test_keep_right_after_the_reminders_own_record_still_keeps_it(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)
    card = _with_card_and_expiry(stack, "qwen-raced", soon)
    # The notifier records the reminder it just sent while the owner presses its Keep.
    reminded = {ANNOTATION_EXPIRY_REMINDED: format_expires_at(soon)}
    _written_after_the_keeps_read(stack, monkeypatch, "qwen-raced", reminded)

    stack.click(ACTION_EXPIRY_KEEP, "team-a/qwen-raced", user="U0ALICE")
    [reply] = [c.params for c in stack.slack.wait_for("chat.postMessage")]
    assert reply["thread_ts"] == card and "<@U0ALICE> kept" in text_of(reply["blocks"])
    kept = _expiry(stack, "qwen-raced")
    assert kept is not None and kept - soon >= stack.settings.expiry_policy.keep
    assert stack.slack.calls("response_url") == []


def test_keep_while_the_time_was_moved_says_it_changed_and_the_new_time_stands(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)
    _with_card_and_expiry(stack, "qwen-moved", soon)
    moved = soon + timedelta(hours=2)  # kubectl annotate --overwrite meanwhile
    changes = {ANNOTATION_EXPIRES_AT: format_expires_at(moved)}
    _written_after_the_keeps_read(stack, monkeypatch, "qwen-moved", changes)

    name = stack.click(ACTION_EXPIRY_KEEP, "team-a/qwen-moved", user="U0ALICE")
    [refusal] = stack.replies(name)
    assert "It changed meanwhile" in text_of(refusal)
    assert _expiry(stack, "qwen-moved") == moved
    stack.settle()
    assert stack.slack.calls("chat.postMessage") == []
