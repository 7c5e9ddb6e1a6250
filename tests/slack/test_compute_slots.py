"""ComputeSlots: at most N tasks compute at once; a holder waiting on the network frees its slot.

The CPU clock is a fake the test moves and the supervisor is off: each check is an explicit
``check()``, so nothing here depends on timing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from bot.slack.compute_slots import WAITING_SHARE, ComputeSlots

CHECK = 0.1


class FakeCpu:
    """CPU seconds per thread, moved by the test."""

    def __init__(self) -> None:
        self.seconds: dict[int, float] = {}

    def __call__(self, ident: int) -> float:
        return self.seconds.setdefault(ident, 0.0)


@contextmanager
def task(slots: ComputeSlots) -> Iterator[tuple[threading.Event, threading.Event, list[int]]]:
    """A task in its own thread: (started, finish, [its thread id once started])."""
    started, finish, ident = threading.Event(), threading.Event(), []

    def work() -> None:
        ident.append(threading.get_ident())
        started.set()
        assert finish.wait(10)

    thread = threading.Thread(target=slots.run, args=(work,), daemon=True)
    thread.start()
    try:
        yield started, finish, ident
    finally:
        finish.set()
        thread.join(10)


def ended(ident: list[int]) -> bool:
    return not any(t.ident == ident[0] for t in threading.enumerate())


def wait_for_waiting(slots: ComputeSlots, count: int) -> None:
    done = threading.Event()
    for _ in range(1000):
        if slots.waiting == count:
            done.set()
            break
        done.wait(0.01)
    assert done.is_set(), f"{slots.waiting} tasks waiting, expected {count}"


def test_a_second_task_waits_while_the_first_computes() -> None:
    cpu = FakeCpu()
    slots = ComputeSlots(1, check_every=CHECK, cpu=cpu, supervise=False)
    with task(slots) as (first, finish_first, first_id), task(slots) as (second, _, _):
        assert first.wait(5)
        wait_for_waiting(slots, 1)
        cpu.seconds[first_id[0]] += CHECK  # it computed the whole interval
        slots.check()
        assert slots.waiting == 1 and not second.is_set()
        finish_first.set()
        assert second.wait(5)


def test_a_holder_waiting_on_the_network_lets_the_next_task_start() -> None:
    cpu = FakeCpu()
    slots = ComputeSlots(1, check_every=CHECK, cpu=cpu, supervise=False)
    with task(slots) as (first, _, first_id), task(slots) as (second, _, _):
        assert first.wait(5)
        wait_for_waiting(slots, 1)
        cpu.seconds[first_id[0]] += WAITING_SHARE * CHECK / 2  # it barely ran
        slots.check()
        assert second.wait(5)


def test_a_freed_holder_finishing_does_not_free_a_second_slot() -> None:
    cpu = FakeCpu()
    slots = ComputeSlots(1, check_every=CHECK, cpu=cpu, supervise=False)
    with (
        task(slots) as (first, finish_first, first_id),
        task(slots) as (second, finish_second, second_id),
    ):
        assert first.wait(5)
        wait_for_waiting(slots, 1)
        slots.check()  # the first barely ran: its slot goes to the second
        assert second.wait(5)
        with task(slots) as (third, _, _):
            wait_for_waiting(slots, 1)
            finish_first.set()  # the first ends while the second holds the only slot
            pause = threading.Event()  # never set: each wait is a 10 ms poll
            for _ in range(1000):
                if ended(first_id):
                    break
                pause.wait(0.01)
            assert ended(first_id)
            assert (slots.free, slots.waiting) == (0, 1)  # still one slot, the second's
            cpu.seconds[second_id[0]] += CHECK
            slots.check()
            assert not third.is_set()
            finish_second.set()
            assert third.wait(5)


def test_with_the_supervisor_a_task_blocked_on_the_network_frees_its_slot() -> None:
    slots = ComputeSlots(1, check_every=0.02)  # the real per-thread CPU clock
    # The first task blocks on an event, as on a socket read: it uses no CPU meanwhile.
    with task(slots) as (first, _, _), task(slots) as (second, _, _):
        assert first.wait(5)
        assert second.wait(5), "the supervisor never freed the waiting holder's slot"
    slots.close()
