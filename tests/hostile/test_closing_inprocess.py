"""Which ends of a connection linger, through the real HTTP/1.1 adapter in-process (decision 0015).

The adapter closes at once only when the client asked to close, its request was read to the end and nothing after
it was received; anything else (a body still arriving, more bytes after the request, a rejection) ends with a
lingering close: FIN first (`write_eof`), input discarded, so the client reads its response instead of a reset.
No sockets: the fake transport records whether the adapter half-closed before closing.
"""

from __future__ import annotations

from hostile.inprocess import AdapterRun, run_adapter

CLOSE = b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"


def lingered(run: AdapterRun) -> bool:
    return run.transport.eof_sent


def test_a_complete_close_request_alone_closes_at_once() -> None:
    run = run_adapter([CLOSE])
    assert run.answered == [(b"GET", b"/", b"")]
    assert run.transport.closing and not lingered(run) and not run.transport.aborted
    assert b"Connection: close" in run.written


def test_an_http10_request_closes_at_once_whatever_the_read_boundaries() -> None:
    raw = b"GET / HTTP/1.0\r\n\r\n"
    for pieces in ([raw], [raw[:5], raw[5:]], [raw[i : i + 1] for i in range(len(raw))]):
        run = run_adapter(pieces)
        assert run.answered == [(b"GET", b"/", b"")]
        assert run.transport.closing and not lingered(run)


def test_a_close_request_with_a_body_read_to_the_end_closes_at_once() -> None:
    raw = b"POST / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabc"
    run = run_adapter([raw[:-2], raw[-2:]])
    assert run.answered == [(b"POST", b"/", b"abc")]
    assert run.transport.closing and not lingered(run)


def test_an_answer_before_the_body_has_arrived_lingers() -> None:
    head = b"POST / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: 6\r\n\r\n"
    run = run_adapter([head + b"abc", b"def"], early_answer=True)
    assert run.answered == [(b"POST", b"/", b"")]
    assert lingered(run)  # the client was still sending its body


def test_bytes_after_the_close_request_make_it_linger() -> None:
    for extra in (b"GET /2 HTTP/1.1\r\nHost: a\r\n\r\n", b"GET /2 HT", b"\x00garbage"):
        run = run_adapter([CLOSE + extra])
        assert run.answered == [(b"GET", b"/", b"")]
        assert lingered(run), extra


def test_a_keep_alive_request_never_closes_and_a_rejection_lingers() -> None:
    run = run_adapter([b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"])
    assert not run.transport.closing and not lingered(run)
    rejected = run_adapter([b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nX: \x01\r\n\r\n"])
    assert [kind.status for kind in rejected.canned] == [400]
    assert lingered(rejected)
