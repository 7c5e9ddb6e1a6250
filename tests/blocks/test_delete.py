"""``/dynamote delete NAME``: the prompt with a confirmed Delete, and the notice after."""

from __future__ import annotations

from typing import Any

from bot.blocks.deployments import build_delete_prompt, build_deleted_notice
from bot.blocks.ids import ACTION_DELETE_DEPLOYMENT, ACTION_VIEW_DEPLOYMENT
from tests.blocks.conftest import NASTY, NOW, fits_message, make_deployment, shown_text


def elements(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in payload["blocks"] if b["type"] == "actions" for e in b["elements"]]


def test_the_prompt_names_what_would_be_deleted_and_what_it_holds() -> None:
    deployment = make_deployment("qwen", namespace="team-a", gpus=4)
    payload = fits_message(build_delete_prompt(deployment, now=NOW))
    text = shown_text(payload)
    assert "Delete *qwen* in `team-a`?" in text
    assert "4 GPUs" in text
    assert ":large_green_circle: Running" in text


def test_the_prompts_delete_button_is_danger_and_confirmed() -> None:
    payload = fits_message(build_delete_prompt(make_deployment("qwen"), now=NOW))
    delete, view = elements(payload)
    assert (delete["action_id"], delete["value"]) == (
        ACTION_DELETE_DEPLOYMENT,
        "dynamo-system/qwen",
    )
    assert delete["style"] == "danger"
    assert delete["confirm"]["style"] == "danger"
    assert delete["confirm"]["deny"]["text"] == "Keep it"
    assert view["action_id"] == ACTION_VIEW_DEPLOYMENT


def test_the_notice_says_it_is_gone_and_what_was_freed() -> None:
    payload = fits_message(build_deleted_notice(make_deployment("qwen", gpus=2), by_user="U07ABC"))
    text = shown_text(payload)
    assert "Deleted *qwen* in `dynamo-system` by <@U07ABC>." in text
    assert "2 GPUs are free again" in text
    assert "thread" in text


def test_the_notice_to_whoever_deleted_reads_as_a_sentence() -> None:
    payload = fits_message(
        build_deleted_notice(make_deployment("qwen", gpus=1), by_user="U07ABC", viewer="U07ABC")
    )
    text = shown_text(payload)
    assert text.startswith(
        ":wastebasket: Deleted *qwen* in `dynamo-system`. Its GPU is free again."
    )
    assert "by " not in text and "are free" not in text and "status card" not in text


def test_the_notice_without_gpus_or_thread_stays_short() -> None:
    deployment = make_deployment("qwen", gpus=0)
    deployment = type(deployment)(**{**deployment.__dict__, "thread_ts": None})
    text = shown_text(fits_message(build_deleted_notice(deployment, by_user=None)))
    assert text == ":wastebasket: Deleted *qwen* in `dynamo-system`."


def test_nasty_values_fit() -> None:
    deployment = make_deployment(
        NASTY * 5, namespace=NASTY, model=NASTY * 10, engine=NASTY, requester=NASTY
    )
    fits_message(build_delete_prompt(deployment, now=NOW))
    fits_message(build_deleted_notice(deployment, by_user=NASTY))
