"""Leader election on the stand-in's Lease: one holder, renewals, takeover, release."""

from __future__ import annotations

from collections.abc import Callable

from bot.cluster import Cluster
from bot.notifier.leader import LeaderElector

from .conftest import FakeClock


def elector(cluster: Cluster, identity: str, clock: FakeClock) -> LeaderElector:
    return LeaderElector(
        cluster,
        namespace="default",
        name="dynamote-notifier",
        identity=identity,
        lease_duration=10,
        clock=clock,
    )


def test_only_one_of_two_instances_leads(connect: Callable[..., Cluster]) -> None:
    clock = FakeClock()
    a, b = elector(connect(), "a", clock), elector(connect(), "b", clock)
    assert a.tick() is True
    assert b.tick() is False
    clock.advance(3)
    assert a.tick() is True and b.tick() is False


def test_a_follower_takes_over_once_the_leader_stopped_renewing_for_a_lease_period(
    connect: Callable[..., Cluster],
) -> None:
    clock = FakeClock()
    a, b = elector(connect(), "a", clock), elector(connect(), "b", clock)
    a.tick()
    b.tick()
    clock.advance(9)
    assert b.tick() is False  # not yet a whole lease period
    assert a.is_leader() is False  # but a stopped trusting itself at 2/3 of it
    clock.advance(1)
    assert b.tick() is True


def test_a_released_lease_is_taken_at_once(connect: Callable[..., Cluster]) -> None:
    clock = FakeClock()
    a, b = elector(connect(), "a", clock), elector(connect(), "b", clock)
    a.tick()
    b.tick()
    a.release()
    assert b.tick() is True
