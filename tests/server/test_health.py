"""bot.server.health.Health: readiness rules and the probe cache, without a server."""

from __future__ import annotations

import threading
import time

from bot.server.health import Health

from .conftest import FakeClock, Probe


def test_it_is_not_ready_before_slack_auth_even_with_a_reachable_cluster() -> None:
    health = Health(Probe(), clock=FakeClock())

    ready, reason = health.ready()

    assert not ready
    assert "auth.test" in reason


def test_a_probe_that_raises_counts_as_unreachable() -> None:
    def broken() -> bool:
        raise RuntimeError("kaboom")

    health = Health(broken, clock=FakeClock())
    health.mark_slack_ready()

    assert health.ready() == (False, "the Kubernetes API server is unreachable")


def test_an_unreachable_answer_is_cached_too_then_retried() -> None:
    probe, clock = Probe(reachable=False), FakeClock()
    health = Health(probe, cache_seconds=2.0, clock=clock)
    health.mark_slack_ready()

    assert not health.ready()[0]
    probe.reachable = True
    assert not health.ready()[0]
    clock.advance(2.0)
    assert health.ready() == (True, "ready")
    assert probe.calls == 2


class SlowProbe:
    """Answers from a script; answers marked slow hang until released."""

    def __init__(self, *answers: tuple[bool, bool]) -> None:
        self.answers = iter(answers)  # (reachable, slow)
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self) -> bool:
        reachable, slow = next(self.answers)
        if slow:
            self.entered.set()
            self.release.wait(5)
        return reachable


def test_a_slow_first_probe_answers_not_ready_quickly_then_its_result() -> None:
    probe = SlowProbe((True, True))
    health = Health(probe, probe_wait_seconds=0.05, clock=FakeClock())
    health.mark_slack_ready()

    assert health.ready() == (False, "checking whether the Kubernetes API server is reachable")

    probe.release.set()
    assert health.refresh().wait(5)
    assert health.ready() == (True, "ready")


def test_callers_during_a_slow_probe_get_the_last_answer_instead_of_waiting() -> None:
    clock = FakeClock()
    probe = SlowProbe((True, False), (False, True))
    health = Health(probe, cache_seconds=1.0, probe_wait_seconds=0.05, clock=clock)
    health.mark_slack_ready()
    assert health.ready() == (True, "ready")
    clock.advance(1.5)

    assert health.ready() == (True, "ready")  # stale, while the new probe hangs
    assert probe.entered.is_set()

    probe.release.set()
    assert health.refresh().wait(5)
    assert health.ready()[0] is False


def test_a_probe_that_never_answers_leaves_readiness_answering_quickly() -> None:
    probe = SlowProbe((True, True))
    health = Health(probe, probe_wait_seconds=0.05, clock=FakeClock())
    health.mark_slack_ready()
    started = time.monotonic()

    for _ in range(5):
        assert health.ready()[0] is False

    assert time.monotonic() - started < 2
    probe.release.set()
