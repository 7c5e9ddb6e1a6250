"""``dynamote doctor`` reports the expiry and approval settings: what "Keep for" offers, and
what needs approval, failing when approvals are asked for without approvers or a channel."""

# ruff: noqa: F811  (the fixtures imported below are the parameters of the tests)
from __future__ import annotations

from pathlib import Path

from bot.sim.slack.web_api import SlackStandIn

# The doctor tests' fixtures, shared by importing them (pytest finds them by name here).
from .test_doctor import cluster, doctor, kubeconfig, settings_for, slack  # noqa: F401


def test_doctor_reports_keep_for_and_no_approvals_by_default(
    slack: SlackStandIn, kubeconfig: Path
) -> None:
    code, lines = doctor(settings_for(slack), kubeconfig)
    assert code == 0
    assert (
        "OK Expiry: keep for 8 hours, 1 day, 3 days (default), 1 week; at most 2 weeks; "
        "reminded 1 day before"
    ) in lines
    assert "OK Approvals: nothing needs approval" in lines


def test_approvals_without_approvers_fail_with_what_to_set(
    slack: SlackStandIn, kubeconfig: Path
) -> None:
    code, lines = doctor(settings_for(slack, approval_above_gpus=4), kubeconfig)
    assert code == 1
    [failed] = [line for line in lines if line.startswith("FAIL Approvals")]
    assert "above 4 GPUs" in failed
    assert "DYNAMOTE_APPROVERS and DYNAMOTE_APPROVAL_CHANNEL unset" in failed


def test_complete_approval_settings_are_reported(slack: SlackStandIn, kubeconfig: Path) -> None:
    settings = settings_for(
        slack,
        approval_above_gpus=4,
        approval_namespaces="team-b",
        approvers="U0BOSS,S0LEADS",
        approval_channel="C0APPROVE",
        approval_ttl="12h",
    )
    code, lines = doctor(settings, kubeconfig)
    assert code == 0
    assert (
        "OK Approvals: deployments above 4 GPUs or in team-b need one of 2 approver(s) in "
        "C0APPROVE; requests lapse after 12 hours"
    ) in lines
