"""Every corpus case against a real driver on loopback, sent whole and one byte per send (TCP_NODELAY).

Both sends must give the case's outcome: the same responses, the same end of the connection (FIN, reset, or
open and answering a follow-up request exactly once), the same HTTPERR reasons; the recording application sees
exactly the requests the case intends (a request whose body never completed may be seen with a failed read, never
answered), never the `/smuggled` canary; and a normal request on a new connection is answered after every case.
The corpus runs through eight connections at a time, so the whole file takes a few seconds.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from hostile.corpus import CASES, Case, Seen
from hostile.loopback import LoopbackServer, WireResult, exchange, probe, start_server


@dataclass
class CaseRun:
    whole: WireResult
    split: WireResult
    after: tuple[int, float]  # the normal request on a new connection after the case


def run_case(server: LoopbackServer, case: Case) -> CaseRun:
    follow = case.keep_alive and case.status is None and not case.reset
    timeout = 4.0
    whole = exchange(server.port, case.raw, case.responses, follow_up=follow, timeout=timeout)
    split = exchange(server.port, case.raw, case.responses, split=True, follow_up=follow, timeout=timeout)
    return CaseRun(whole, split, probe(server.port, b"/after"))


@pytest.fixture(scope="module")
def wire() -> Iterator[tuple[LoopbackServer, dict[str, CaseRun]]]:
    server = start_server()
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            runs = dict(
                zip([c.name for c in CASES], pool.map(lambda c: run_case(server, c), CASES), strict=True)
            )
        time.sleep(0.3)  # let application threads record failed body reads
        yield server, runs
    finally:
        server.close()


def app_body(seen: Seen) -> bytes:
    return b"%s %s %d" % (seen.method, seen.target, len(seen.body))


def check_responses(case: Case, result: WireResult) -> None:
    statuses = [r.status for r in result.responses]
    assert statuses == [s.status for s in case.delivered] + ([case.status] if case.status else [])
    for seen, response in zip(case.delivered, result.responses, strict=False):
        if seen.target.startswith(b"/range"):
            assert response.headers.get(b"content-range") == seen.content_range
        else:
            assert response.body == app_body(seen)
    if case.status is not None:
        assert result.responses[-1].headers[b"connection"] == b"close"
    assert result.leftover == b"", "bytes beyond the expected responses"
    assert result.interim == 0 or b"Expect: 100-continue" in case.raw


def check_end(case: Case, result: WireResult) -> None:
    if case.reset:
        assert result.end == "reset"
    elif case.keep_alive and case.status is None:
        assert result.follow_up is not None, "the follow-up request got no answer"
        assert (result.follow_up.status, result.follow_up.body) == (200, b"GET /follow 0")
        assert result.end == "open"
    else:
        assert result.end == "eof", "a FIN after the last response"


def check_application(server: LoopbackServer, case: Case, result: WireResult) -> None:
    records = server.records_for(result.peer)
    complete = [(r.method, r.target, r.body) for r in records if r.complete]
    wanted = [(s.method, s.target, s.body) for s in case.delivered]
    if result.follow_up is not None:
        wanted.append((b"GET", b"/follow", b""))
    assert complete == wanted
    failed = [r for r in records if not r.complete]
    assert len(failed) <= 1, "at most the one request whose body broke off"
    assert all(not r.target.startswith(b"/smuggled") for r in records)


def check_logged(server: LoopbackServer, case: Case, result: WireResult) -> None:
    reasons = server.errors_for(result.peer)
    assert reasons == ([case.reason] if case.reason else [])


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_on_the_wire_whole_and_byte_by_byte(
    wire: tuple[LoopbackServer, dict[str, CaseRun]], case: Case
) -> None:
    server, runs = wire
    run = runs[case.name]
    for how, result in (("whole", run.whole), ("split", run.split)):
        try:
            check_responses(case, result)
            check_end(case, result)
            check_application(server, case, result)
            check_logged(server, case, result)
        except AssertionError as exc:
            raise AssertionError(f"{how}: {exc} ({case.ref}); observed {result}") from exc
    status, seconds = run.after
    assert status == 200 and seconds < 2.0, "a normal request on a new connection after the case"


def test_no_request_for_the_canary_path_ever_reached_the_application(
    wire: tuple[LoopbackServer, dict[str, CaseRun]],
) -> None:
    server, _runs = wire
    with server.lock:
        targets = [r.target for r in server.records]
    assert targets, "the application saw requests"
    assert not [t for t in targets if t.startswith(b"/smuggled")]


def test_after_the_corpus_the_driver_is_idle_and_raised_nothing(
    wire: tuple[LoopbackServer, dict[str, CaseRun]],
) -> None:
    server, _runs = wire
    stats = server.wait_idle()
    assert (stats["connections"], stats["requests_in_flight"], stats["queued"]) == (0, 0, 0)
    assert server.exceptions == []
    assert probe(server.port)[0] == 200
