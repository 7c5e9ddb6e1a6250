"""The status card and what follows a delete."""

from __future__ import annotations

import pytest

from bot.blocks.ids import ACTION_SCALE, ACTION_TRY_IT, ACTION_VIEW_DEPLOYMENT
from bot.blocks.status_card import build_deleted_card, build_deleted_reply, build_status_card
from tests.blocks.conftest import NASTY, fits_message, make_deployment, mrkdwn_text


def test_the_card_says_who_deployed_what_where() -> None:
    deployment = make_deployment("qwen", namespace="team-a", engine="sglang")
    payload = fits_message(build_status_card(deployment))
    assert payload["blocks"][0]["text"]["text"] == (
        "<@U123ABC> deployed *qwen* (`Qwen/Qwen3-0.6B` on SGLang) in `team-a`"
    )


@pytest.mark.parametrize(
    ("phase", "reason", "badge", "shown"),
    [
        (
            "Pending",
            "waiting for GPUs: 0/3 nodes have nvidia.com/gpu free",
            ":large_yellow_circle:",
            True,
        ),
        ("Running", "ready", ":large_green_circle:", False),
        ("Failed", "secret hf-token-secret not found", ":red_circle:", True),
    ],
)
def test_the_card_shows_badge_replicas_and_reason(
    phase: str, reason: str, badge: str, shown: bool
) -> None:
    payload = fits_message(build_status_card(make_deployment(phase=phase, reason=reason)))
    line = payload["blocks"][1]["text"]["text"]
    assert line.startswith(f"{badge} {phase}")
    assert "1/1 ready" in line
    assert (f"· {reason}" in line) is shown
    assert phase in build_status_card(make_deployment(phase=phase)).text


def test_the_card_has_try_it_while_running_and_view_and_scale_buttons() -> None:
    def actions_of(phase: str) -> list[tuple[str, str]]:
        payload = fits_message(build_status_card(make_deployment("qwen", phase=phase)))
        actions = [e for b in payload["blocks"] if b["type"] == "actions" for e in b["elements"]]
        return [(a["action_id"], a["value"]) for a in actions]

    key = "dynamo-system/qwen"
    assert actions_of("Running") == [
        (ACTION_TRY_IT, key), (ACTION_VIEW_DEPLOYMENT, key), (ACTION_SCALE, key)
    ]  # fmt: skip
    assert actions_of("Deploying") == [(ACTION_VIEW_DEPLOYMENT, key), (ACTION_SCALE, key)]


def test_a_card_without_a_requester_still_reads_well() -> None:
    payload = fits_message(build_status_card(make_deployment("qwen", requester=None)))
    assert payload["blocks"][0]["text"]["text"].startswith("Deployment *qwen*")


def test_the_deleted_card_has_the_deleted_badge_and_no_buttons() -> None:
    payload = fits_message(build_deleted_card(make_deployment("qwen")))
    assert ":white_circle: Deleted" in payload["blocks"][1]["text"]["text"]
    assert all(b["type"] != "actions" for b in payload["blocks"])


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
