"""The policy enforced on every command, click and submit, end to end over signed HTTP.

Each denial answers within 3 seconds, says why and whom to ask, creates or deletes nothing,
and leaves one audit record.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest

from bot.blocks.ids import (
    ACTION_DELETE_DEPLOYMENT,
    ACTION_MODEL_SELECT,
    ACTION_OPEN_DEPLOY,
    ACTION_PREVIEW_YAML,
)
from bot.ops.audit import AUDIT_LOGGER
from tests.stacks import Stack, deploy_directly, text_of
from tests.standins.slack_requests import slash_command, view_state, view_submission

MakeStack = Callable[..., Stack]


def command_ack(stack: Stack, text: str, *, user: str, channel: str = "C0GENERAL") -> str:
    """Run a command and return the text of its ack (where denials are answered)."""
    status, body, took = stack.post(
        slash_command(text, user=user, channel=channel, response_url=stack.slack.response_url())
    )
    assert status == 200 and took < 3.0, (status, took)
    return text_of(json.loads(body)) if body else ""


def submit_as(stack: Stack, view: dict[str, Any], typed: dict[str, Any] | None, user: str) -> Any:
    status, body, took = stack.post(
        view_submission({**view, "state": {"values": view_state(view, typed)}}, user=user)
    )
    assert status == 200 and took < 3.0, (status, took)
    return json.loads(body) if body else {}


def audits(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == AUDIT_LOGGER]


def dgds(stack: Stack) -> list[dict[str, Any]]:
    return stack.k8s.store.list("dynamographdeployments")[0]


def test_a_non_deployer_is_told_why_and_whom_to_ask_and_no_modal_opens(
    make_stack: MakeStack, caplog: pytest.LogCaptureFixture
) -> None:
    stack = make_stack(deployers=["U0ALICE"], admins=["U0ADMIN"])
    with caplog.at_level(logging.INFO, logger=AUDIT_LOGGER):
        text = command_ack(stack, "deploy qwen3 0.6b", user="U0BOB")
    assert "not on the list" in text and "<@U0ADMIN>" in text and "platform team" in text
    stack.settle()
    assert stack.slack.calls("views.open") == []
    (record,) = audits(caplog)
    assert (record.action, record.user, record.outcome) == ("deploy", "U0BOB", "denied")
    assert record.channel == "C0GENERAL"


def test_a_non_deployer_may_still_read(make_stack: MakeStack) -> None:
    stack = make_stack(deployers=["U0ALICE"])
    name = stack.command("list all", user="U0BOB")
    assert "open_deploy" in str(stack.replies(name)[0]["blocks"])


def test_every_step_of_an_open_modal_is_checked_again_for_whoever_acts(
    make_stack: MakeStack,
) -> None:
    stack = make_stack(deployers=["U0ALICE"])
    stack.command("deploy qwen3 0.6b", user="U0ALICE")
    view = stack.opened_view()
    state = {**view, "state": {"values": view_state(view)}}
    # The same modal, driven by someone who may not deploy (a forged or shared payload).
    stack.click(ACTION_PREVIEW_YAML, view=state, user="U0BOB")
    stack.click(ACTION_MODEL_SELECT, view=state, user="U0BOB",
                selected={"value": "Qwen/Qwen3-0.6B"})  # fmt: skip
    ack = submit_as(stack, view, None, user="U0BOB")
    assert ack["response_action"] == "errors"
    (message,) = ack["errors"].values()
    assert "not on the list" in message and list(ack["errors"]) == ["model.0"]
    stack.settle()
    assert stack.slack.calls("views.push") == [] and stack.slack.calls("views.update") == []
    assert dgds(stack) == []
    assert len(stack.slack.wait_for("chat.postMessage", count=2)) >= 2  # told by DM, twice


def test_a_deployer_group_member_deploys_and_the_group_is_asked_once(
    make_stack: MakeStack,
) -> None:
    stack = make_stack(deployers=["S0DEPLOY"])
    stack.slack.set_usergroup("S0DEPLOY", ["U0ALICE"])
    stack.command("deploy qwen3 0.6b", user="U0ALICE")
    ack, _ = stack.submit(stack.opened_view(), user="U0ALICE")
    assert ack.get("response_action") == "update"
    stack.wait_for_dgd("team-a", "qwen3-0-6b")
    assert len(stack.slack.calls("usergroups.users.list")) == 1  # cached between steps


def test_when_groups_cannot_be_checked_deploying_is_denied_with_the_reason(
    make_stack: MakeStack,
) -> None:
    stack = make_stack(deployers=["S0DEPLOY"])
    stack.slack.fail("usergroups.users.list", "plan_upgrade_required")
    text = command_ack(stack, "deploy qwen3 0.6b", user="U0ALICE")
    assert "paid Slack plan" in text


def test_a_slow_group_lookup_still_answers_the_denial_within_three_seconds(
    make_stack: MakeStack,
) -> None:
    stack = make_stack(deployers=["S0DEPLOY"])
    stack.slack.set_usergroup("S0DEPLOY", ["U0ALICE"])
    stack.slack.add_latency("usergroups.users.list", 5.0)
    text = command_ack(stack, "deploy qwen3 0.6b", user="U0ALICE")
    assert "could not check" in text


def test_commands_in_a_channel_outside_the_allowed_ones_are_refused(make_stack: MakeStack) -> None:
    stack = make_stack(allowed_channels=["C0DEPLOYS"])
    text = command_ack(stack, "list all", user="U0ALICE", channel="C0RANDOM")
    assert "<#C0DEPLOYS>" in text
    assert command_ack(stack, "list all", user="U0ALICE", channel="C0DEPLOYS") == ""


def _home_deploy_click(stack: Stack, user: str = "U0ALICE") -> None:
    from tests.standins.slack_requests import block_actions  # noqa: PLC0415

    status, _, took = stack.post(
        block_actions([{"action_id": ACTION_OPEN_DEPLOY, "type": "button", "value": ""}],
                      user=user, channel=None, container={"type": "view"},
                      view={"id": "V0HOME", "type": "home", "blocks": []})
    )  # fmt: skip
    assert status == 200 and took < 3.0


def test_deploying_from_app_home_asks_which_allowed_channel_gets_the_updates(
    make_stack: MakeStack,
) -> None:
    stack = make_stack(allowed_channels=["C0DEPLOYS", "C0ML"])
    _home_deploy_click(stack)
    view = stack.opened_view()
    (channel,) = [b for b in view["blocks"] if b.get("block_id", "").startswith("channel")]
    assert channel["element"]["type"] == "conversations_select"
    assert channel["element"]["initial_conversation"] == "C0DEPLOYS"
    assert "the channel you choose" in text_of(view)
    # A channel outside the list is refused inline, naming the allowed ones; nothing is made.
    ack, _ = stack.submit(view, {"channel": "C0RANDOM"})
    assert ack["response_action"] == "errors", ack
    assert "C0DEPLOYS" in " ".join(ack["errors"].values())
    assert dgds(stack) == []
    typed = {"channel": "C0ML", "model": "Qwen/Qwen3-0.6B", "name": "qwen3-0-6b"}
    ack, _ = stack.submit(view, typed)
    assert ack["response_action"] == "update", ack
    card = stack.slack.wait_for("chat.postMessage")[0]
    assert card.params["channel"] == "C0ML"
    assert stack.wait_for_dgd("team-a", "qwen3-0-6b") is not None


def test_someone_who_may_not_deploy_is_still_refused_from_app_home(
    make_stack: MakeStack,
) -> None:
    stack = make_stack(allowed_channels=["C0DEPLOYS"], deployers=["U0ALICE"])
    _home_deploy_click(stack, user="U0MALLORY")
    dm = stack.slack.wait_for("chat.postMessage")[0]
    assert "not on the list of people who may deploy" in text_of(dm.params)
    assert stack.slack.calls("views.open") == []


def test_only_the_requester_or_an_admin_deletes_and_each_try_is_audited(
    make_stack: MakeStack, caplog: pytest.LogCaptureFixture
) -> None:
    stack = make_stack(admins=["S0ADMINS"])
    stack.slack.set_usergroup("S0ADMINS", ["U0ADMIN"])
    deploy_directly(stack, "alices", user="U0ALICE")
    with caplog.at_level(logging.INFO, logger=AUDIT_LOGGER):
        refused = stack.replies(stack.click(ACTION_DELETE_DEPLOYMENT, "team-a/alices",
                                            user="U0BOB"))[0]  # fmt: skip
        assert "<@U0ALICE>" in text_of(refused)
        assert stack.k8s.store.get("dynamographdeployments", "team-a", "alices") is not None
        prompt = stack.replies(stack.command("delete alices", user="U0BOB"))[0]
        assert "delete_deployment" not in str(prompt["blocks"])
        stack.replies(stack.click(ACTION_DELETE_DEPLOYMENT, "team-a/alices", user="U0ADMIN"))
    assert stack.k8s.store.get("dynamographdeployments", "team-a", "alices") is None
    outcomes = [(r.user, r.outcome) for r in audits(caplog)]
    assert outcomes == [("U0BOB", "denied"), ("U0ADMIN", "deleted")]
    deleted = audits(caplog)[-1]
    assert (deleted.namespace, deleted.deployment, deleted.model) == (
        "team-a", "alices", "Qwen/Qwen3-0.6B",
    )  # fmt: skip


def test_the_requester_deletes_their_own_even_when_no_longer_a_deployer(
    make_stack: MakeStack,
) -> None:
    stack = make_stack(deployers=["U0CAROL"])
    deploy_directly(stack, "alices", user="U0ALICE")
    stack.replies(stack.click(ACTION_DELETE_DEPLOYMENT, "team-a/alices", user="U0ALICE"))
    assert stack.k8s.store.get("dynamographdeployments", "team-a", "alices") is None


def test_a_deployment_over_the_gpu_limit_is_refused_on_the_size_block(
    make_stack: MakeStack, caplog: pytest.LogCaptureFixture
) -> None:
    stack = make_stack(max_gpus_per_deployment=2)
    stack.command("deploy qwen3 0.6b")
    with caplog.at_level(logging.INFO, logger=AUDIT_LOGGER):
        ack, took = stack.submit(stack.opened_view(), {"size": "1x3"})
    assert took < 3.0 and ack["response_action"] == "errors"
    assert list(ack["errors"]) == ["size.0"] and "3 GPUs" in ack["errors"]["size.0"]
    assert dgds(stack) == []
    (record,) = audits(caplog)
    assert (record.outcome, record.gpus, record.deployment) == ("denied", 3, "qwen3-0-6b")


def test_per_user_gpus_count_deployments_still_starting(make_stack: MakeStack) -> None:
    stack = make_stack(max_gpus_per_user=2)
    stack.operator.stop()  # nothing gets ready: what is still starting counts too
    stack.command("deploy qwen3 0.6b")
    first, _ = stack.submit(stack.opened_view(), {"name": "first", "size": "1x2"})
    assert first.get("response_action") == "update"
    stack.wait_for_dgd("team-a", "first")
    stack.command("deploy qwen3 0.6b")
    ack, _ = stack.submit(stack.opened_view(2), {"name": "second"})
    assert ack["response_action"] == "errors"
    assert "already use 2 GPUs" in ack["errors"]["size.0"]
    assert [d["metadata"]["name"] for d in dgds(stack)] == ["first"]
    # Someone else is not held to Alice's usage.
    stack.command("deploy qwen3 0.6b", user="U0BOB")
    bobs, _ = stack.submit(stack.opened_view(3), {"name": "bobs"}, user="U0BOB")
    assert bobs.get("response_action") == "update"


def test_per_user_deployment_count_is_enforced_on_the_name_block(make_stack: MakeStack) -> None:
    stack = make_stack(max_deployments_per_user=1)
    deploy_directly(stack, "already", user="U0ALICE")
    stack.command("deploy qwen3 0.6b")
    ack, _ = stack.submit(stack.opened_view())
    assert "already have 1 deployments" in ack["errors"]["name.0"]
    assert len(dgds(stack)) == 1


def test_a_namespace_outside_the_allowed_ones_is_refused_inline_and_audited(
    make_stack: MakeStack, caplog: pytest.LogCaptureFixture
) -> None:
    stack = make_stack()
    stack.command("deploy qwen3 0.6b")
    view = stack.opened_view()
    values = view_state(view)
    values["namespace.0"]["namespace"]["selected_option"] = {
        "value": "kube-system", "text": {"type": "plain_text", "text": "kube-system"},
    }  # fmt: skip
    with caplog.at_level(logging.INFO, logger=AUDIT_LOGGER):
        status, body, _ = stack.post(view_submission({**view, "state": {"values": values}}))
    ack = json.loads(body)
    assert status == 200 and "kube-system" in ack["errors"]["namespace.0"]
    assert dgds(stack) == []
    assert [r.outcome for r in audits(caplog)] == ["denied"]


def test_a_create_is_one_audit_record_with_who_what_where_and_from_which_channel(
    make_stack: MakeStack, caplog: pytest.LogCaptureFixture
) -> None:
    stack = make_stack()
    with caplog.at_level(logging.INFO, logger=AUDIT_LOGGER):
        stack.command("deploy qwen3 0.6b", channel="C0TEAM")
        stack.submit(stack.opened_view(), {"size": "1x2"})
        dgd = stack.wait_for_dgd("team-a", "qwen3-0-6b")
        stack.settle()  # the audit record is written by the create, after the DGD exists
    (record,) = audits(caplog)
    fields = {
        k: getattr(record, k)
        for k in (
            "action",
            "user",
            "channel",
            "namespace",
            "deployment",
            "model",
            "gpus",
            "outcome",
        )
    }
    assert fields == {"action": "deploy", "user": "U0ALICE", "channel": "C0TEAM",
                      "namespace": "team-a", "deployment": "qwen3-0-6b",
                      "model": "Qwen/Qwen3-0.6B", "gpus": 2, "outcome": "created"}  # fmt: skip
    assert dgd["metadata"]["annotations"]["dynamote.dev/requester"] == "U0ALICE"
