"""The policy's rules as plain calls: who may read, deploy and delete, where, and how much."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from bot.config.settings import load_settings
from bot.domain.deployments import Deployment
from bot.domain.policy import Action, Decision, Membership, Policy, Usage, usage_of
from bot.domain.status import DeploymentStatus


def policy(**overrides: Any) -> Policy:
    return Policy(load_settings(namespaces=["team-a", "team-b"], **overrides))


def test_with_empty_lists_everyone_may_read_deploy_and_use_any_channel() -> None:
    rules = policy()
    for action in Action:
        assert rules.may(action, user="U0ANYONE", channel="C0RANDOM").allowed


def test_a_listed_deployer_may_deploy_and_anyone_else_is_told_why_and_whom_to_ask() -> None:
    rules = policy(deployers=["U0ALICE"], admins=["U0ADMIN", "S0PLATFORM"])
    assert rules.may(Action.DEPLOY, user="U0ALICE", channel="C1").allowed
    denied = rules.may(Action.DEPLOY, user="U0BOB", channel="C1")
    assert not denied.allowed
    assert "not on the list" in denied.reason
    assert denied.whom_to_ask == (
        "ask an admin: <@U0ADMIN>, <!subteam^S0PLATFORM>, or your platform team"
    )
    assert denied.whom_to_ask in denied.text


def test_without_admins_a_denial_points_at_the_platform_team() -> None:
    denied = policy(deployers=["U0ALICE"]).may(Action.DEPLOY, user="U0BOB", channel=None)
    assert denied.whom_to_ask == "ask your platform team"


def test_members_of_a_deployer_group_may_deploy() -> None:
    rules = policy(deployers=["S0DEPLOY"])
    member = Membership(groups=frozenset({"S0DEPLOY"}))
    assert rules.groups_to_check("U0BOB", Action.DEPLOY) == ("S0DEPLOY",)
    assert rules.may(Action.DEPLOY, user="U0BOB", channel="C1", membership=member).allowed
    assert not rules.may(Action.DEPLOY, user="U0BOB", channel="C1").allowed


def test_a_group_that_could_not_be_checked_is_named_in_the_denial() -> None:
    rules = policy(deployers=["S0DEPLOY"])
    unknown = Membership(unknown={"S0DEPLOY": "user groups need a paid Slack plan"})
    denied = rules.may(Action.DEPLOY, user="U0BOB", channel="C1", membership=unknown)
    assert not denied.allowed and "paid Slack plan" in denied.reason
    assert "<!subteam^S0DEPLOY>" in denied.reason


def test_reading_needs_no_group_lookup_and_is_open_to_non_deployers() -> None:
    rules = policy(deployers=["S0DEPLOY"], admins=["S0ADMINS"])
    assert rules.groups_to_check("U0BOB", Action.READ) == ()
    assert rules.may(Action.READ, user="U0BOB", channel="C1").allowed


def test_admins_may_deploy_even_when_not_listed_as_deployers() -> None:
    rules = policy(deployers=["U0ALICE"], admins=["U0ADMIN", "S0ADMINS"])
    assert rules.may(Action.DEPLOY, user="U0ADMIN", channel="C1").allowed
    in_group = Membership(groups=frozenset({"S0ADMINS"}))
    assert rules.may(Action.DEPLOY, user="U0CAROL", channel="C1", membership=in_group).allowed


def test_outside_the_allowed_channels_nothing_is_allowed_and_the_channels_are_named() -> None:
    rules = policy(allowed_channels=["C0DEPLOYS"])
    for action in Action:
        denied = rules.may(action, user="U0ALICE", channel="C0RANDOM")
        assert not denied.allowed and "<#C0DEPLOYS>" in denied.reason
    assert rules.may(Action.DEPLOY, user="U0ALICE", channel="C0DEPLOYS").allowed


@pytest.mark.parametrize("channel", [None, "D0ALICE"])
def test_app_home_and_dms_may_read_but_not_deploy_or_delete_when_channels_are_set(
    channel: str | None,
) -> None:
    rules = policy(allowed_channels=["C0DEPLOYS"])
    assert rules.may(Action.READ, user="U0ALICE", channel=channel).allowed
    assert not rules.may(Action.DEPLOY, user="U0ALICE", channel=channel).allowed
    assert not rules.may(Action.DELETE, user="U0ALICE", channel=channel).allowed


def test_an_unknown_user_is_denied() -> None:
    assert not policy().may(Action.READ, user="", channel="C1").allowed


def test_only_the_requester_or_an_admin_may_delete() -> None:
    rules = policy(admins=["U0ADMIN", "S0ADMINS"])
    assert rules.may_delete(user="U0ALICE", requester="U0ALICE").allowed
    assert rules.may_delete(user="U0ADMIN", requester="U0ALICE").allowed
    group = Membership(groups=frozenset({"S0ADMINS"}))
    assert rules.may_delete(user="U0CAROL", requester="U0ALICE", membership=group).allowed
    denied = rules.may_delete(user="U0BOB", requester="U0ALICE")
    assert not denied.allowed and "<@U0ALICE>" in denied.reason
    assert not rules.may_delete(user="U0BOB", requester=None).allowed


def test_a_deployment_over_the_gpu_limit_is_refused_with_the_numbers() -> None:
    rules = policy(max_gpus_per_deployment=4)
    assert rules.may_deploy_size(4).allowed
    denied = rules.may_deploy_size(6)
    assert not denied.allowed and "6 GPUs" in denied.reason and "at most 4" in denied.reason


def test_per_user_limits_count_what_the_user_already_holds() -> None:
    rules = policy(max_gpus_per_user=4, max_deployments_per_user=2)
    assert rules.may_deploy_more(Usage(deployments=1, gpus=2), 2) == {}
    denied = rules.may_deploy_more(Usage(deployments=2, gpus=3), 2)
    assert set(denied) == {"name", "gpus"}
    assert "already have 2 deployments" in denied["name"].reason
    assert "already use 3 GPUs" in denied["gpus"].reason


def test_no_limits_means_no_live_count_is_needed() -> None:
    assert not policy(max_gpus_per_user=None, max_deployments_per_user=None).quotas
    assert policy(max_gpus_per_user=None, max_deployments_per_user=1).quotas
    assert policy().quotas  # the shipped per-person limits need the live count


def _deployment(requester: str | None, gpus: int, phase: str) -> Deployment:
    status = DeploymentStatus.__new__(DeploymentStatus)
    object.__setattr__(status, "gpus", gpus)
    object.__setattr__(status, "phase", phase)
    return Deployment(
        name="d", namespace="team-a", model="m", engine="vllm", served_model_name="m",
        requester=requester, channel=None, thread_ts=None, status=status,
    )  # fmt: skip


def test_usage_counts_a_users_deployments_still_starting_and_their_gpus() -> None:
    deployments = [
        _deployment("U0ALICE", 2, "Pending"),
        _deployment("U0ALICE", 1, "Running"),
        _deployment("U0ALICE", 4, "Terminating"),
        _deployment("U0BOB", 8, "Running"),
        _deployment(None, 8, "Running"),
    ]
    assert usage_of("U0ALICE", deployments) == Usage(deployments=3, gpus=7)


def test_inline_text_has_no_mentions_because_modals_do_not_render_them() -> None:
    denied = Decision(False, "Too many GPUs.", "ask an admin: <@U0ADMIN>, or your platform team")
    assert "<@" not in denied.inline and "admin" in denied.inline
    assert "<@U0ADMIN>" in denied.text
    assert replace(denied, allowed=True).text == "Too many GPUs."
