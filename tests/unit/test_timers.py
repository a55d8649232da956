"""Timer values and the deadline heap, without sockets or sleeping: time is a number the test passes in."""

from __future__ import annotations

import random

import pytest

from httpsys._core.timers import (
    DEFAULT_LIMITS,
    DEFAULT_MIN_SEND_RATE,
    DEFAULT_SECONDS,
    MIN_SEND_RATE_DISABLED,
    DeadlineHeap,
    TimeoutLimits,
    TimerKind,
)

FIELDS = (
    "entity_body",
    "drain_entity_body",
    "request_queue",
    "idle_connection",
    "header_wait",
    "min_send_rate",
)


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


# ----------------------------------------------------------------------------------------- TimeoutLimits
def test_new_limits_set_nothing() -> None:
    limits = TimeoutLimits()
    assert all(getattr(limits, name) == 0 for name in FIELDS)


def test_defaults_are_120_seconds_and_150_bytes_per_second() -> None:
    assert DEFAULT_SECONDS == 120
    assert DEFAULT_MIN_SEND_RATE == 150
    assert TimeoutLimits().with_defaults() == DEFAULT_LIMITS
    assert TimeoutLimits(120, 120, 120, 120, 120, 150) == DEFAULT_LIMITS


def test_group_value_overrides_session_value() -> None:
    session = TimeoutLimits(entity_body=30, idle_connection=40)
    group = TimeoutLimits(entity_body=5)
    effective = group.over(session).with_defaults()
    assert effective.entity_body == 5
    assert effective.idle_connection == 40
    assert effective.header_wait == 120


def test_zero_on_the_group_inherits_the_session_value() -> None:
    session = TimeoutLimits(request_queue=9)
    assert TimeoutLimits(request_queue=0).over(session).request_queue == 9


def test_zero_on_the_session_means_the_default() -> None:
    assert TimeoutLimits().over(TimeoutLimits()).with_defaults().drain_entity_body == 120
    assert TimeoutLimits(min_send_rate=0).with_defaults().min_send_rate == 150


def test_every_field_is_inherited_independently() -> None:
    for name in FIELDS:
        group = TimeoutLimits(**{name: 7})
        effective = group.over(TimeoutLimits(**{n: 3 for n in FIELDS}))
        assert getattr(effective, name) == 7
        assert all(getattr(effective, other) == 3 for other in FIELDS if other != name)


def test_min_send_rate_maxulong_survives_as_disabled() -> None:
    limits = TimeoutLimits(min_send_rate=MIN_SEND_RATE_DISABLED).with_defaults()
    assert limits.min_send_rate == 0xFFFFFFFF


def test_updated_returns_a_new_value_and_keeps_the_old_one() -> None:
    old = TimeoutLimits(header_wait=10)
    new = old.updated(header_wait=20, entity_body=1)
    assert (old.header_wait, old.entity_body) == (10, 0)
    assert (new.header_wait, new.entity_body) == (20, 1)
    with pytest.raises(AttributeError):
        old.header_wait = 5  # type: ignore[misc]


# ----------------------------------------------------------------------------------------- TimerKind
def test_timer_kinds_log_the_documented_httperr_reasons() -> None:
    assert TimerKind.ENTITY_BODY.httperr_reason == "Timer_EntityBody"
    assert TimerKind.DRAIN_ENTITY_BODY.httperr_reason == "Timer_EntityBody"
    assert TimerKind.IDLE_CONNECTION.httperr_reason == "Timer_ConnectionIdle"
    assert TimerKind.HEADER_WAIT.httperr_reason == "Timer_HeaderWait"
    assert TimerKind.MIN_SEND_RATE.httperr_reason == "Timer_MinBytesPerSecond"
    assert TimerKind.REQUEST_QUEUE.httperr_reason in ("Timer_AppPool", "Timer_ReqQueue")


def test_drain_entity_body_is_its_own_timer_kind() -> None:
    assert TimerKind.DRAIN_ENTITY_BODY is not TimerKind.ENTITY_BODY
    assert len(list(TimerKind)) == 6


# ----------------------------------------------------------------------------------------- DeadlineHeap
def test_empty_heap_has_no_deadline_and_nothing_expires() -> None:
    heap: DeadlineHeap[str] = DeadlineHeap()
    assert heap.next_deadline() is None
    assert heap.pop_expired(1e12) == []
    assert len(heap) == 0


def test_next_deadline_is_the_earliest_armed() -> None:
    clock = FakeClock()
    heap: DeadlineHeap[str] = DeadlineHeap()
    heap.arm(clock.now + 30, TimerKind.IDLE_CONNECTION, "c")
    heap.arm(clock.now + 10, TimerKind.HEADER_WAIT, "a")
    heap.arm(clock.now + 20, TimerKind.ENTITY_BODY, "b")
    assert heap.next_deadline() == clock.now + 10
    assert len(heap) == 3


def test_only_deadlines_at_or_before_now_expire_in_order() -> None:
    clock = FakeClock()
    heap: DeadlineHeap[str] = DeadlineHeap()
    start = clock.now
    heap.arm(start + 3, TimerKind.IDLE_CONNECTION, "third")
    heap.arm(start + 1, TimerKind.HEADER_WAIT, "first")
    heap.arm(start + 2, TimerKind.ENTITY_BODY, "second")
    assert heap.pop_expired(clock.advance(0.5)) == []
    fired = heap.pop_expired(clock.advance(1.5))  # now == start + 2: "second" is due exactly now
    assert [(e.owner, e.kind) for e in fired] == [
        ("first", TimerKind.HEADER_WAIT),
        ("second", TimerKind.ENTITY_BODY),
    ]
    assert heap.next_deadline() == start + 3
    assert [e.owner for e in heap.pop_expired(clock.advance(10))] == ["third"]
    assert heap.next_deadline() is None


def test_an_entry_fires_once() -> None:
    clock = FakeClock()
    heap: DeadlineHeap[int] = DeadlineHeap()
    entry = heap.arm(clock.now + 1, TimerKind.REQUEST_QUEUE, 1)
    assert heap.pop_expired(clock.advance(2)) == [entry]
    assert entry.cancelled  # a fired entry cannot be cancelled or fire again
    assert heap.pop_expired(clock.advance(2)) == []


def test_cancelled_entries_never_fire_and_are_not_counted() -> None:
    clock = FakeClock()
    heap: DeadlineHeap[str] = DeadlineHeap()
    a = heap.arm(clock.now + 1, TimerKind.HEADER_WAIT, "a")
    b = heap.arm(clock.now + 2, TimerKind.HEADER_WAIT, "b")
    a.cancel()
    assert len(heap) == 1
    assert heap.next_deadline() == b.deadline
    assert heap.pop_expired(clock.advance(5)) == [b]
    assert len(heap) == 0


def test_re_arming_is_cancel_then_arm() -> None:
    clock = FakeClock()
    heap: DeadlineHeap[str] = DeadlineHeap()
    first = heap.arm(clock.now + 1, TimerKind.ENTITY_BODY, "conn")
    clock.advance(0.9)
    first.cancel()
    second = heap.arm(clock.now + 1, TimerKind.ENTITY_BODY, "conn")
    assert heap.pop_expired(clock.advance(0.5)) == []  # the first deadline passed, but it was cancelled
    assert heap.pop_expired(clock.advance(0.5)) == [second]


def test_cancelling_the_earliest_moves_the_next_deadline() -> None:
    heap: DeadlineHeap[str] = DeadlineHeap()
    early = heap.arm(5.0, TimerKind.IDLE_CONNECTION, "x")
    heap.arm(7.0, TimerKind.IDLE_CONNECTION, "y")
    early.cancel()
    assert heap.next_deadline() == 7.0


def test_many_random_deadlines_fire_sorted_and_all_exactly_once() -> None:
    rng = random.Random(1234)
    heap: DeadlineHeap[int] = DeadlineHeap()
    entries = [heap.arm(rng.uniform(0, 100), TimerKind.HEADER_WAIT, i) for i in range(500)]
    cancelled = set(rng.sample(range(500), 100))
    for i in cancelled:
        entries[i].cancel()
    fired = []
    now = 0.0
    while heap.next_deadline() is not None:
        now += 7.5
        batch = heap.pop_expired(now)
        assert all(e.deadline <= now for e in batch)
        fired.extend(batch)
    deadlines = [e.deadline for e in fired]
    assert deadlines == sorted(deadlines)
    assert sorted(e.owner for e in fired) == sorted(set(range(500)) - cancelled)
