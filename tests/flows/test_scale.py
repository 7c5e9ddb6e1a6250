"""Scale end to end: ``/dynamote scale`` and the card's Scale button, over signed HTTP, the
Slack stand-in and the Kubernetes stand-in."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.blocks.ids import ACTION_SCALE
from bot.cluster.dgds import worker_replicas
from bot.domain.commands import CommandError, Scale, parse_command
from bot.domain.manifest import ANNOTATION_THREAD, SlackOrigin, render_dgd
from bot.domain.provenance import Provenance
from bot.domain.request import parse_request
from bot.ops.audit import AUDIT_LOGGER
from bot.sim.operator.controller import make_ready
from tests.signing import signed
from tests.stacks import Stack, app_stack, stack_settings, stand_ins, text_of
from tests.waiting import wait_until

DGDS = "dynamographdeployments"
THREAD = "1700000000.000100"


@pytest.fixture
def admin_stack(tmp_path: Path) -> Iterator[Stack]:
    settings = stack_settings(admins=["U0ADMIN"], max_replicas=4, max_gpus_per_deployment=3)
    with stand_ins(tmp_path) as shared, app_stack(shared, settings) as running:
        yield running


def deploy_with_card(stack: Stack, name: str, *, user: str = "U0ALICE") -> None:
    """A ready, signed deployment of ``user``'s whose card thread is ``THREAD`` in C0GENERAL."""
    request = parse_request(
        {"model": "Qwen/Qwen3-0.6B", "name": name, "namespace": "team-a", "engine": "vllm"},
        catalog=stack.context.catalog,
    )
    manifest = render_dgd(
        request,
        image="nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.4.0",
        origin=SlackOrigin(user, "C0GENERAL"),
    )
    manifest["metadata"]["annotations"][ANNOTATION_THREAD] = THREAD
    make_ready(stack.k8s.store, signed(manifest, stack.context.settings))


def dgd(stack: Stack, name: str) -> dict[str, Any]:
    found = stack.k8s.store.get(DGDS, "team-a", name)
    assert found is not None
    return found


def replicas_by_component(stack: Stack, name: str) -> dict[str, int]:
    return {c["name"]: c["replicas"] for c in dgd(stack, name)["spec"]["components"]}


def thread_replies(stack: Stack) -> list[str]:
    return [
        text_of(c.params)
        for c in stack.slack.calls("chat.postMessage")
        if c.ok and c.params.get("thread_ts") == THREAD
    ]


def test_the_owner_scales_the_workers_and_the_thread_says_so(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    deploy_with_card(stack, "qwen-grow")
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    answer = text_of(stack.replies(stack.command("scale qwen-grow 2"))[0])
    assert "Scaled *qwen-grow* from 1 to 2 worker replicas" in answer
    assert replicas_by_component(stack, "qwen-grow") == {"Frontend": 1, "VllmDecodeWorker": 2}
    (said,) = thread_replies(stack)
    assert "<@U0ALICE> scaled *qwen-grow* from 1 to 2 worker replicas (2 GPUs in all)" in said
    # The spec changed; the signed claim did not, so the deployment is still the owner's.
    assert Provenance.from_settings(stack.settings).verify(dgd(stack, "qwen-grow"))
    (record,) = [r for r in caplog.records if getattr(r, "action", None) == "scale"]
    assert (record.outcome, record.user, record.gpus) == ("scaled", "U0ALICE", 2)  # type: ignore[attr-defined]


def test_someone_else_is_refused_and_nothing_changes(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    deploy_with_card(stack, "qwen-mine")
    before = dgd(stack, "qwen-mine")["metadata"]["resourceVersion"]
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    answer = text_of(stack.replies(stack.command("scale qwen-mine 2", user="U0BOB"))[0])
    assert "Only <@U0ALICE> or an admin may scale this deployment" in answer
    assert dgd(stack, "qwen-mine")["metadata"]["resourceVersion"] == before
    assert thread_replies(stack) == []
    (record,) = [r for r in caplog.records if getattr(r, "action", None) == "scale"]
    assert (record.outcome, record.user) == ("denied", "U0BOB")  # type: ignore[attr-defined]


def test_an_admin_may_scale_anyones_within_the_deploy_limits(admin_stack: Stack) -> None:
    stack = admin_stack
    deploy_with_card(stack, "qwen-team")
    over = text_of(stack.replies(stack.command("scale qwen-team 5", user="U0ADMIN"))[0])
    assert "between 1 and 4" in over
    too_big = text_of(stack.replies(stack.command("scale qwen-team 4", user="U0ADMIN"))[0])
    assert "needs 4 GPUs; one deployment may use at most 3" in too_big
    assert worker_replicas(dgd(stack, "qwen-team")) == 1
    done = text_of(stack.replies(stack.command("scale qwen-team 3", user="U0ADMIN"))[0])
    assert "from 1 to 3" in done
    assert worker_replicas(dgd(stack, "qwen-team")) == 3
    assert any("<@U0ADMIN> scaled *qwen-team* from 1 to 3" in t for t in thread_replies(stack))


def test_an_unverified_dgd_is_answered_as_missing(stack: Stack) -> None:
    deploy_with_card(stack, "qwen-forged")
    forged = dgd(stack, "qwen-forged")
    forged["metadata"]["annotations"]["dynamote.dev/requester"] = "U0BOB"
    stack.k8s.store.update(
        DGDS, "team-a", "qwen-forged", lambda d: d["metadata"].update(forged["metadata"])
    )
    answer = text_of(stack.replies(stack.command("scale qwen-forged 2", user="U0BOB"))[0])
    assert 'There is no deployment "qwen-forged"' in answer
    assert worker_replicas(dgd(stack, "qwen-forged")) == 1


def test_a_deployer_list_without_you_refuses_scale_at_the_door(tmp_path: Path) -> None:
    settings = stack_settings(deployers=["U0ALICE"])
    with stand_ins(tmp_path) as shared, app_stack(shared, settings) as stack:
        deploy_with_card(stack, "qwen-door", user="U0BOB")
        status, body, took = stack.post(_command(stack, "scale qwen-door 2", user="U0BOB"))
        assert status == 200 and took < 3.0
        assert b"not on the list of people who may deploy" in body
        assert worker_replicas(dgd(stack, "qwen-door")) == 1


def _command(stack: Stack, text: str, *, user: str) -> Any:
    from tests.standins.slack_requests import slash_command  # noqa: PLC0415

    return slash_command(text, user=user, channel="C0GENERAL",
                         response_url=stack.slack.response_url("door"))  # fmt: skip


def test_the_card_button_opens_a_prefilled_modal_that_scales(stack: Stack) -> None:
    deploy_with_card(stack, "qwen-card")
    started = time.monotonic()
    stack.click(ACTION_SCALE, "team-a/qwen-card")
    opened = stack.slack.wait_for("views.open")[0].response["view"]
    assert time.monotonic() - started < 3.0
    update = stack.slack.wait_for("views.update")[0]
    assert update.params["hash"] == opened["hash"]
    view = stack.opened_view()
    (field,) = [b for b in view["blocks"] if b["type"] == "input"]
    assert field["element"]["initial_value"] == "1" and "Now 1 worker replica" in text_of(view)

    ack, took = stack.submit(view, {"scale_replicas": "9"})
    assert ack["response_action"] == "errors" and took < 3.0
    ack, _ = stack.submit(view, {"scale_replicas": "3"})
    assert ack["response_action"] == "update"
    wait_until(lambda: worker_replicas(dgd(stack, "qwen-card")) == 3, what="scaled to 3")
    result = stack.slack.wait_for("views.update", count=2)[1].params["view"]
    assert "Scaled *qwen-card* from 1 to 3" in text_of(result)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("scale", "give the deployment's name and the number"),
        ("scale qwen", "give the deployment's name and the number"),
        ("scale qwen two", "`two` is not a whole number"),
        ("scale qwen 0", "`0` is not a whole number"),
        ("scale qwen 2 -x", "unknown option"),
    ],
)
def test_scale_commands_that_cannot_be_run_say_how_to_write_them(text: str, problem: str) -> None:
    with pytest.raises(CommandError) as bad:
        parse_command(text)
    assert problem in str(bad.value) and "scale NAME REPLICAS" in str(bad.value)


def test_scale_parses_name_replicas_and_namespace() -> None:
    assert parse_command("scale qwen 2 -n team-b") == Scale("qwen", 2, "team-b")


def test_someone_else_opening_scale_is_told_at_once(stack: Stack) -> None:
    deploy_with_card(stack, "qwen-not-bobs")
    stack.click(ACTION_SCALE, "team-a/qwen-not-bobs", user="U0BOB")
    stack.slack.wait_for("views.update")
    view = stack.opened_view()
    assert "Only <@U0ALICE> or an admin may scale this deployment." in text_of(view)
    assert not [b for b in view["blocks"] if b["type"] == "input"]
