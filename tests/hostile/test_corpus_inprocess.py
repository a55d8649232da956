"""Every corpus case through the real HTTP/1.1 adapter in-process: whole, byte by byte and in random pieces.

Each segmentation must give the same outcome, and that outcome must be the case's expectation: the requests the
application reads completely and answers, the driver's own response (its status and HTTPERR reason), and how
the connection ends (stays open, FIN, or a timer's reset). No sockets: exact control of every read boundary.
"""

from __future__ import annotations

import random

import pytest

from hostile.corpus import CASES, Case
from hostile.inprocess import AdapterRun, byte_pieces, run_adapter
from httpsys._core.timers import TimerKind

IDLE = TimerKind.IDLE_CONNECTION.httperr_reason


def outcome(run: AdapterRun) -> tuple[object, ...]:
    """What the client and the application observe, in a form comparable across segmentations."""
    before = ("closed" if run.transport.closing else "open", run.transport.aborted)
    run.settle(1000.0)
    return (
        tuple(run.answered),
        tuple((kind.status, kind.httperr_reason) for kind in run.canned),
        before,
        tuple(kind.httperr_reason for kind in run.driver.fired),
        run.transport.aborted,
    )


def expected(case: Case) -> tuple[object, ...]:
    answered = tuple((s.method, s.target, s.body) for s in case.delivered)
    if case.status is not None:
        return answered, ((case.status, case.reason),), ("closed", False), (), False
    if case.reset:
        return answered, (), ("open", False), (case.reason,), True
    if case.keep_alive:
        return answered, (), ("open", False), (IDLE,), True
    return answered, (), ("closed", False), (), False


def random_pieces(data: bytes, seed: str) -> list[bytes]:
    rng = random.Random(seed)
    pieces: list[bytes] = []
    at = 0
    while at < len(data):
        step = rng.choice((1, 2, 3, 5, 8, 13, 64, 1000))
        pieces.append(data[at : at + step])
        at += step
    return pieces


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_gives_its_expected_outcome_whatever_the_read_boundaries(case: Case) -> None:
    whole = outcome(run_adapter([case.raw]))
    assert whole == expected(case), case.ref
    assert outcome(run_adapter(byte_pieces(case.raw))) == whole, "split byte by byte"
    for attempt in range(3):
        pieces = random_pieces(case.raw, f"{case.name}/{attempt}")
        assert outcome(run_adapter(pieces)) == whole, f"split as {[len(p) for p in pieces]}"


def test_corpus_has_at_least_eighty_cases_of_every_outcome_kind() -> None:
    assert len(CASES) >= 80
    assert any(c.status is not None for c in CASES)
    assert any(c.reset for c in CASES)
    assert any(c.delivered and c.status is None and not c.reset for c in CASES)


def test_no_case_lets_the_canary_path_reach_the_application() -> None:
    for case in CASES:
        assert all(not s.target.startswith(b"/smuggled") for s in case.delivered), case.name
