"""``/dynamote status NAME``: summary, phase, conditions, pods, commands and Delete."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from bot.blocks.deployments import build_details
from bot.blocks.ids import ACTION_DELETE_DEPLOYMENT
from bot.domain.deployments import endpoint_commands
from tests.blocks.conftest import NASTY, NOW, fits_message, make_deployment, mrkdwn_text, shown_text


def text_of(payload: dict[str, Any]) -> str:
    return shown_text(payload)


def test_details_show_the_summary_fields() -> None:
    deployment = make_deployment("qwen", namespace="team-a", gpus=2, ready=1, desired=2)
    payload = fits_message(build_details(deployment, now=NOW))
    assert payload["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "qwen"},
    }
    fields = next(b["fields"] for b in payload["blocks"] if "fields" in b)
    labels = [f["text"].split("\n")[0] for f in fields]
    assert labels == [
        "*Model*",
        "*Engine*",
        "*Namespace*",
        "*Requested by*",
        "*Age*",
        "*Mode*",
        "*Replicas*",
        "*Router*",
        "*GPUs*",
        "*Frontend*",
    ]
    text = text_of(payload)
    for part in (
        "`Qwen/Qwen3-0.6B`",
        "vLLM",
        "`team-a`",
        "<@U123ABC>",
        "2h",
        "Aggregated",
        "1 of 2 replicas ready",
        "Default",  # the router's name in the form, not its value "none"
        "`qwen-frontend`",
    ):
        assert part in text


def test_model_replicas_leave_out_the_frontend_pod() -> None:
    deployment = make_deployment()
    counted = replace(
        deployment.status, replicas_ready=2, replicas_desired=2, model_replicas=(1, 1)
    )
    text = text_of(fits_message(build_details(replace(deployment, status=counted), now=NOW)))
    assert "Running · 1 of 1 replica ready" in text
    assert "2 of 2 pods ready in all" in text


def test_details_show_phase_reason_and_conditions() -> None:
    deployment = make_deployment(phase="Failed", reason="image pull failed: x", conditions=2)
    text = text_of(fits_message(build_details(deployment, now=NOW)))
    assert ":red_circle: Failed" in text
    assert "image pull failed: x" in text
    assert "*Conditions*" in text
    assert "*Ready* True" in text


def test_pods_show_name_phase_ready_restarts_and_node() -> None:
    text = text_of(fits_message(build_details(make_deployment("qwen", pods=2), now=NOW)))
    assert "`qwen-vllmdecodeworker-00001`" in text
    assert "Running" in text
    assert "1 restart" in text
    assert "on gpu-node-1" in text


def test_five_hundred_pods_are_bounded_with_a_count_of_the_rest() -> None:
    payload = fits_message(build_details(make_deployment(pods=500, conditions=40), now=NOW))
    text = text_of(payload)
    assert "… and 485 more" in text
    assert "*Pods* (500)" in text
    assert text.count("vllmdecodeworker") == 15
    assert "… and 32 more" in text  # conditions


def test_troubled_pods_are_listed_first() -> None:
    text = text_of(fits_message(build_details(make_deployment(pods=30), now=NOW)))
    assert text.index("ImagePullBackOff") < text.index("on gpu-node")


def test_no_pods_says_so() -> None:
    assert "None yet" in text_of(fits_message(build_details(make_deployment(pods=0), now=NOW)))


@pytest.mark.parametrize(("phase", "caveat"), [("Running", False), ("Deploying", True)])
def test_port_forward_and_curl_in_code_blocks(phase: str, caveat: bool) -> None:
    deployment = make_deployment(phase=phase)
    commands = endpoint_commands(deployment)
    text = text_of(fits_message(build_details(deployment, now=NOW)))
    assert f"```\n{commands.port_forward}\n```" in text
    assert "curl localhost:8000/v1/chat/completions" in text
    assert ("once it is Running" in text) is caveat


def test_details_end_with_a_confirmed_delete() -> None:
    payload = fits_message(build_details(make_deployment(), now=NOW))
    deletes = [
        e
        for b in payload["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == ACTION_DELETE_DEPLOYMENT
    ]
    assert len(deletes) == 1
    assert deletes[0]["value"] == "dynamo-system/qwen3-0-6b"
    assert deletes[0]["confirm"]["style"] == "danger"


def test_nasty_values_everywhere_still_fit_and_are_escaped() -> None:
    deployment = make_deployment(
        NASTY * 5,
        namespace=NASTY * 5,
        model=NASTY * 10,
        engine=NASTY,
        requester=NASTY,
        reason=NASTY * 50,
        pods=500,
        conditions=50,
        served_model_name=NASTY * 10,
        phase="Weird",
    )
    payload = fits_message(build_details(deployment, now=NOW))
    assert "<@U999>" not in mrkdwn_text(payload)
