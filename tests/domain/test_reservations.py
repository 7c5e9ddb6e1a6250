"""The in-process reservation registry (bot.domain.reservations): pure, no cluster."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Mapping

from bot.domain.policy import Usage
from bot.domain.reservations import Hold, Reservations, Ticket

Decide = Callable[[Usage], Mapping[str, str]]
NOTHING = Usage()


def at_most(deployments: int, gpus: int = 1000, *, want: int = 1) -> Decide:
    """A decide function: deny once the usage plus this one is over the limits."""

    def decide(usage: Usage) -> Mapping[str, str]:
        denied: dict[str, str] = {}
        if usage.deployments + 1 > deployments:
            denied["name"] = f"already {usage.deployments}"
        if usage.gpus + want > gpus:
            denied["gpus"] = f"already {usage.gpus} GPUs"
        return denied

    return decide


def hold(name: str, user: str = "U0ALICE", gpus: int = 1) -> Hold:
    return Hold(user, "team-a", name, gpus)


def reserve(
    registry: Reservations,
    h: Hold,
    decide: Decide,
    *,
    listed: Usage = NOTHING,
    keys: Collection[tuple[str, str]] = (),
    mark: int | None = None,
) -> tuple[Ticket | None, Mapping[str, str]]:
    return registry.reserve(
        h,
        decide,
        listed=listed,
        listed_keys=set(keys),
        mark=registry.mark() if mark is None else mark,
    )


def test_a_held_reservation_counts_for_the_next_check_of_the_same_person() -> None:
    registry = Reservations()
    first, denied = reserve(registry, hold("a"), at_most(1))
    assert first is not None and denied == {}
    second, denied = reserve(registry, hold("b"), at_most(1))
    assert second is None and denied == {"name": "already 1"}
    assert registry.in_flight("U0ALICE") == Usage(deployments=1, gpus=1)


def test_someone_elses_reservation_does_not_count() -> None:
    registry = Reservations()
    reserve(registry, hold("a"), at_most(1))
    ticket, _ = reserve(registry, hold("b", user="U0BOB"), at_most(1))
    assert ticket is not None


def test_gpus_of_reservations_add_to_the_listed_usage() -> None:
    registry = Reservations()
    reserve(registry, hold("a", gpus=2), at_most(10, 4, want=2), listed=Usage(0, 0))
    ticket, denied = reserve(
        registry, hold("b", gpus=2), at_most(10, 4, want=2), listed=Usage(1, 1), keys={("x", "y")}
    )
    assert ticket is None and denied == {"gpus": "already 3 GPUs"}  # 1 listed + 2 held


def test_cancel_gives_the_reservation_back() -> None:
    registry = Reservations()
    ticket, _ = reserve(registry, hold("a"), at_most(1))
    assert ticket is not None
    ticket.cancel()
    assert len(registry) == 0
    again, _ = reserve(registry, hold("b"), at_most(1))
    assert again is not None


def test_a_created_one_still_counts_for_a_list_that_started_before_it() -> None:
    registry = Reservations()
    ticket, _ = reserve(registry, hold("a"), at_most(1))
    assert ticket is not None
    listed_before = registry.mark()  # a check starts its list here, before the create ends
    ticket.created()
    late, _ = reserve(registry, hold("b"), at_most(1), mark=listed_before)
    assert late is None, "the list may have missed the new DGD"
    # A list that started after the create sees the DGD itself: not counted twice.
    fresh, _ = reserve(registry, hold("b"), at_most(2), listed=Usage(1, 1), keys={("team-a", "a")})
    assert fresh is not None
    assert registry.in_flight("U0ALICE") == Usage(deployments=1, gpus=1)  # only "b"


def test_a_reservation_the_list_already_shows_is_not_counted_twice() -> None:
    registry = Reservations()
    reserve(registry, hold("a"), at_most(2))
    ticket, _ = reserve(registry, hold("b"), at_most(2), listed=Usage(1, 1), keys={("team-a", "a")})
    assert ticket is not None


def test_created_and_cancel_are_idempotent_and_the_first_wins() -> None:
    registry = Reservations()
    ticket, _ = reserve(registry, hold("a"), at_most(5))
    assert ticket is not None
    mark = registry.mark()
    ticket.created()
    ticket.cancel()  # the finally after a successful create: must not forget it
    ticket.created()
    assert registry.mark() == mark + 1
    late, _ = reserve(registry, hold("b"), at_most(1), mark=mark)
    assert late is None

    other, _ = reserve(registry, hold("c", user="U0BOB"), at_most(5))
    assert other is not None
    other.cancel()
    other.created()  # too late: nothing was held any more
    assert registry.mark() == mark + 1
    assert registry.in_flight("U0BOB") == Usage()


def test_forgotten_reservations_stop_counting_after_keep_seconds() -> None:
    now = [100.0]
    registry = Reservations(keep_seconds=60, clock=lambda: now[0])
    reserve(registry, hold("a"), at_most(1))
    now[0] += 61
    ticket, _ = reserve(registry, hold("b"), at_most(1))
    assert ticket is not None and len(registry) == 1


def test_decide_and_reserve_are_one_step_under_contention() -> None:
    registry = Reservations()
    limit, threads = 3, 24
    won: list[bool] = []
    start = threading.Barrier(threads)

    def slow_decide(usage: Usage) -> Mapping[str, str]:
        time.sleep(0.002)  # widen the window between reading the usage and reserving
        return at_most(limit)(usage)

    def submit(index: int) -> None:
        start.wait()
        ticket, _ = reserve(registry, hold(f"d{index}"), slow_decide)
        won.append(ticket is not None)

    workers = [threading.Thread(target=submit, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert won.count(True) == limit
    assert registry.in_flight("U0ALICE").deployments == limit
