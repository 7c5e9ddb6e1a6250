"""bot.server.wsgi.ReplayGuard: the bounded, expiring set of signatures already accepted."""

from __future__ import annotations

from bot.server.wsgi import ReplayGuard

from .conftest import FakeClock


def test_a_signature_is_accepted_once_within_its_window() -> None:
    guard = ReplayGuard(ttl=600, clock=FakeClock())

    assert guard.first_time("v0=abc")
    assert not guard.first_time("v0=abc")
    assert guard.first_time("v0=def")


def test_a_signature_is_forgotten_once_its_window_has_passed() -> None:
    clock = FakeClock()
    guard = ReplayGuard(ttl=600, clock=clock)
    guard.first_time("v0=abc")

    clock.advance(600)

    assert guard.first_time("v0=abc")
    assert len(guard) == 1


def test_the_set_never_grows_past_its_bound_and_drops_the_oldest_first() -> None:
    guard = ReplayGuard(ttl=600, max_entries=3, clock=FakeClock())
    for n in range(5):
        assert guard.first_time(f"v0={n}")

    assert len(guard) == 3
    assert guard.first_time("v0=0")  # evicted, so accepted again
    assert not guard.first_time("v0=4")
