"""The status card and what follows a delete."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from bot.blocks.ids import (
    ACTION_DEPLOYMENT_MENU,
    ACTION_REDEPLOY,
    ACTION_SCALE,
    ACTION_TRY_IT,
    ACTION_VIEW_DEPLOYMENT,
)
from bot.blocks.rows import view_button
from bot.blocks.status_card import (
    CARD_BUTTONS,
    build_deleted_card,
    build_deleted_reply,
    build_status_card,
)
from tests.blocks.conftest import (
    NASTY,
    NOW,
    fits_message,
    make_deployment,
    mrkdwn_text,
    shown_text,
)


def first_line(payload: dict[str, Any]) -> str:
    return str(payload["blocks"][0]["text"]["text"])


def buttons(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in payload["blocks"] if b["type"] == "actions" for e in b["elements"]]


def test_a_running_card_leads_with_the_name_and_running() -> None:
    deployment = make_deployment("qwen", ready=2, desired=2)
    counted = replace(deployment.status, model_replicas=(1, 1))  # the frontend is the other pod
    payload = fits_message(build_status_card(replace(deployment, status=counted)))
    assert first_line(payload) == ":large_green_circle: *qwen is Running* · 1 of 1 replica ready"


def test_a_failed_card_says_failed_and_why_not_who_deployed() -> None:
    deployment = make_deployment("llama", phase="Failed", reason="crash loop (4 restarts)")
    payload = fits_message(build_status_card(deployment))
    assert first_line(payload) == ":red_circle: *llama failed* · crash loop (4 restarts)"
    assert "deployed" not in shown_text(payload)
    assert build_status_card(deployment).text == "llama (Qwen/Qwen3-0.6B) is Failed"


def test_the_context_line_has_model_engine_gpus_namespace_owner_and_since_when() -> None:
    deployment = make_deployment("qwen", namespace="team-a", engine="sglang", gpus=2)
    context = fits_message(build_status_card(deployment))["blocks"][1]
    assert context["type"] == "context"
    stamp = int((NOW - timedelta(hours=2)).timestamp())
    assert context["elements"][0]["text"] == (
        "`Qwen/Qwen3-0.6B` · SGLang · 2 GPUs · `team-a` · by <@U123ABC> · "
        f"since <!date^{stamp}^{{date_short_pretty}} at {{time}}|2026-11-27 10:00 UTC>"
    )


def test_a_deploying_card_drops_a_reason_that_only_repeats_the_count() -> None:
    deployment = make_deployment(
        "qwen", phase="Deploying", reason="0/2 replicas ready", ready=0, desired=2
    )
    payload = fits_message(build_status_card(deployment))
    assert first_line(payload) == ":large_blue_circle: *qwen is Deploying* · 0 of 2 replicas ready"


@pytest.mark.parametrize(
    ("phase", "reason", "expected"),
    [
        (
            "Pending",
            "waiting for GPUs: 0/3 nodes have nvidia.com/gpu free",
            ":large_yellow_circle: *qwen is Pending* · waiting for GPUs: 0/3 nodes "
            "have nvidia.com/gpu free",
        ),
        ("Terminating", "deleting", ":large_orange_circle: *qwen is Terminating* · deleting"),
    ],
)
def test_each_phase_has_its_emoji_and_words(phase: str, reason: str, expected: str) -> None:
    payload = fits_message(build_status_card(make_deployment("qwen", phase=phase, reason=reason)))
    assert first_line(payload) == expected


def test_the_buttons_follow_the_phase_and_delete_is_in_the_menu() -> None:
    def actions_of(phase: str) -> list[tuple[str, str]]:
        payload = fits_message(build_status_card(make_deployment("qwen", phase=phase)))
        return [(b["action_id"], b["value"]) for b in buttons(payload)]

    key = "dynamo-system/qwen"
    assert actions_of("Running") == [
        (ACTION_TRY_IT, key), (ACTION_VIEW_DEPLOYMENT, key), (ACTION_SCALE, key)
    ]  # fmt: skip
    assert actions_of("Deploying") == [(ACTION_VIEW_DEPLOYMENT, key), (ACTION_SCALE, key)]
    assert actions_of("Pending") == [(ACTION_VIEW_DEPLOYMENT, key), (ACTION_SCALE, key)]
    assert actions_of("Failed") == [(ACTION_REDEPLOY, key), (ACTION_VIEW_DEPLOYMENT, key)]
    payload = fits_message(build_status_card(make_deployment("qwen", phase="Failed")))
    assert buttons(payload)[0]["accessibility_label"] == "Redeploy qwen"
    assert buttons(payload)[1]["accessibility_label"] == "View qwen"
    menu = payload["blocks"][0]["accessory"]
    assert menu["action_id"] == ACTION_DEPLOYMENT_MENU
    assert [o["value"] for o in menu["options"]] == [
        "view:dynamo-system/qwen",
        "delete:dynamo-system/qwen",
    ]


def test_a_phase_gets_a_new_button_with_one_entry() -> None:
    assert set(CARD_BUTTONS) == {"Pending", "Deploying", "Running", "Failed"}
    assert all(view_button in makers for makers in CARD_BUTTONS.values())


def test_a_card_without_a_requester_still_reads_well() -> None:
    payload = fits_message(build_status_card(make_deployment("qwen", requester=None)))
    assert first_line(payload).startswith(":large_green_circle: *qwen is Running*")
    assert "by " not in payload["blocks"][1]["elements"][0]["text"]


def test_the_deleted_card_says_deleted_and_what_it_freed_with_no_buttons() -> None:
    payload = fits_message(build_deleted_card(make_deployment("qwen", gpus=1)))
    assert first_line(payload) == ":white_circle: *qwen was Deleted* · Its GPU is free again."
    assert all(b["type"] != "actions" and "accessory" not in b for b in payload["blocks"])
    two = fits_message(build_deleted_card(make_deployment("qwen", gpus=2)))
    assert first_line(two).endswith("Its 2 GPUs are free again.")


def test_the_deleted_reply_names_who_deleted_it() -> None:
    message = build_deleted_reply("qwen", by_user="U42")
    assert "Deleted by <@U42>" in fits_message(message)["blocks"][0]["text"]["text"]
    assert "<@U42>" in message.text


def test_a_delete_outside_dynamote_says_so() -> None:
    payload = fits_message(build_deleted_reply("qwen", by_user=None))
    assert "Deleted outside Dynamote (kubectl?)" in payload["blocks"][0]["text"]["text"]


def test_nasty_values_fit_everywhere() -> None:
    deployment = make_deployment(
        NASTY * 5,
        namespace=NASTY,
        model=NASTY * 10,
        engine=NASTY,
        requester=NASTY,
        reason=NASTY * 50,
        phase="Failed",
    )
    for message in (
        build_status_card(deployment),
        build_deleted_card(deployment),
        build_deleted_reply(NASTY * 20, by_user=NASTY),
    ):
        assert "<@U999>" not in mrkdwn_text(fits_message(message))
