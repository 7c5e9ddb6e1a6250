"""The pure rules of expiry and approvals: durations, RFC 3339 times, when to remind or delete,
Keep within the maximum, what needs approval, and the request hash."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.approvals import ApprovalPolicy, PendingApproval, new_approval, request_hash
from bot.domain.expiry import (
    ANNOTATION_EXPIRES_AT,
    ANNOTATION_EXPIRY_REMINDED,
    ExpiryPolicy,
    due,
    expiry_unchanged,
    format_expires_at,
    parse_duration,
    parse_expires_at,
)

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def test_durations_parse_and_bad_ones_say_what_a_duration_looks_like() -> None:
    assert parse_duration("30m") == timedelta(minutes=30)
    assert parse_duration("2W") == timedelta(weeks=2)
    for bad in ("", "3", "0d", "1.5d", "3 days", "-1d"):
        with pytest.raises(ValueError, match=r"e\.g\. 12h or 3d"):
            parse_duration(bad)


def test_only_rfc3339_times_with_an_offset_are_read() -> None:
    assert parse_expires_at("2026-12-07T09:00:00Z") == datetime(2026, 12, 7, 9, tzinfo=UTC)
    assert parse_expires_at("2026-12-07T10:00:00+01:00") == datetime(2026, 12, 7, 9, tzinfo=UTC)
    for bad in (None, "", "2026-12-07 09:00", "tomorrow", "2026-12-07T09:00:00"):
        assert parse_expires_at(bad) is None
    assert format_expires_at(datetime(2026, 12, 7, 9, 0, 0, 123, tzinfo=UTC)) == (
        "2026-12-07T09:00:00Z"
    )


def test_due_reminds_once_per_time_then_expires() -> None:
    value = format_expires_at(NOW + timedelta(hours=2))
    annotations = {ANNOTATION_EXPIRES_AT: value}
    assert due(NOW, annotations, reminder=timedelta(hours=1)) is None  # not yet
    assert due(NOW, annotations, reminder=timedelta(hours=3)) == "remind"
    told = {**annotations, ANNOTATION_EXPIRY_REMINDED: value}
    assert due(NOW, told, reminder=timedelta(hours=3)) is None
    assert due(NOW, annotations, reminder=timedelta(hours=3), reminded=value) is None
    moved = {**told, ANNOTATION_EXPIRES_AT: format_expires_at(NOW + timedelta(hours=2, minutes=1))}
    assert due(NOW, moved, reminder=timedelta(hours=3)) == "remind"  # a new time, a new reminder
    assert due(NOW + timedelta(hours=2), told, reminder=timedelta(hours=3)) == "expire"
    assert due(NOW, {}, reminder=DAY) is None


def test_keep_adds_the_default_within_the_maximum() -> None:
    policy = ExpiryPolicy.from_texts(["1d", "3d", "7d", "never"], "3d", "7d", "1d")
    assert "never" not in policy.offered  # only without a maximum
    assert policy.kept(NOW + DAY, NOW) == NOW + 4 * DAY
    assert policy.kept(NOW + 6 * DAY, NOW) == NOW + 7 * DAY  # capped
    assert policy.kept(NOW + 7 * DAY, NOW) is None  # nothing to gain
    assert policy.kept(NOW - DAY, NOW) == NOW + 3 * DAY  # from now when already past
    assert policy.expires_at("1d", NOW) == NOW + DAY
    with pytest.raises(ValueError):
        policy.expires_at("never", NOW)
    unlimited = ExpiryPolicy.from_texts(["1d", "never"], "never", "none", "1d")
    assert unlimited.expires_at("never", NOW) is None
    with pytest.raises(ValueError, match="not one of the choices"):
        ExpiryPolicy.from_texts(["1d"], "3d", "7d", "1d")
    with pytest.raises(ValueError, match="above the maximum"):
        ExpiryPolicy.from_texts(["1d", "30d"], "30d", "7d", "1d")


def test_what_needs_approval() -> None:
    policy = ApprovalPolicy(("U0BOSS",), "C0APPROVE", above_gpus=4, namespaces=("prod",))
    assert policy.needs(gpus=4, namespace="team-a") is None
    assert "more than the 4" in (policy.needs(gpus=5, namespace="team-a") or "")
    assert "prod" in (policy.needs(gpus=1, namespace="prod") or "")
    assert ApprovalPolicy().needs(gpus=1000, namespace="prod") is None
    assert ApprovalPolicy(above_gpus=1).complete == (
        "DYNAMOTE_APPROVERS and DYNAMOTE_APPROVAL_CHANNEL unset"
    )


def test_the_hash_binds_the_exact_request_and_a_record_lapses() -> None:
    record = new_approval(
        '{"name":"big","replicas":2}',
        requester="U0ALICE",
        channel="C0ML",
        thread_ts="1.2",
        reason="big",
        now=NOW,
        ttl=DAY,
        gpus=2,
    )
    assert record.intact()
    assert record.hash == request_hash('{"name":"big","replicas":2}', requester="U0ALICE")
    assert request_hash('{"name":"big","replicas":3}', requester="U0ALICE") != record.hash
    assert request_hash('{"name":"big","replicas":2}', requester="U0BOB") != record.hash
    edited = PendingApproval.from_json(
        record.to_json().replace('\\"replicas\\":2', '\\"replicas\\":8')
    )
    assert edited is not None and not edited.intact()
    assert PendingApproval.from_json("not json") is None
    assert not record.expired(NOW + DAY - timedelta(seconds=1))
    assert record.expired(NOW + DAY)


def test_the_hash_binds_what_a_redeploy_replaces() -> None:
    request = '{"name":"big","namespace":"team-a","replicas":2}'
    record = new_approval(
        request,
        requester="U0ALICE",
        channel="C0ML",
        thread_ts="1.2",
        reason="big",
        now=NOW,
        ttl=DAY,
        gpus=2,
        replaces="team-a/big",
        replaces_uid="uid-1",
    )
    assert record.intact()
    assert record.hash != request_hash(request, requester="U0ALICE")  # not a new deployment
    for field, value in (("replaces", ""), ("replaces_uid", "uid-2"), ("replaces", "team-a/x")):
        edited = PendingApproval.from_json(record.to_json().replace(getattr(record, field), value))
        assert edited is not None and getattr(edited, field) == value
        assert not edited.intact(), field
    restored = PendingApproval.from_json(record.to_json())
    assert restored == record and restored.intact()


def test_a_keep_decided_on_a_read_holds_while_only_records_beside_the_time_changed() -> None:
    read = {ANNOTATION_EXPIRES_AT: "2026-12-06T13:00:00Z"}
    reminded = {**read, ANNOTATION_EXPIRY_REMINDED: "2026-12-06T13:00:00Z"}
    moved = {ANNOTATION_EXPIRES_AT: "2026-12-06T15:00:00Z"}
    marked = {**read, "dynamote.dev/deleted-by": "expiry"}

    assert expiry_unchanged(read, reminded)
    assert not expiry_unchanged(read, moved)
    assert not expiry_unchanged(read, marked)
