"""Regression tests: one per bug the hostile corpus, the fuzzers and the attack suites found in the HTTP/1.1 engine.

Each test names the bug it pins down; the exact inputs are the ones that found it (shrunk by hypothesis where a
fuzzer found it).
"""

from __future__ import annotations

import socket
import time

from hostile.corpus import CASES
from hostile.inprocess import byte_pieces, run_adapter
from hostile.loopback import LoopbackServer, RawClient, start_server
from httpsys._core.canned import CannedResponse
from httpsys._core.records import RequestSnapshot
from httpsys._core.settings import DriverSettings
from httpsys._core.timers import TimeoutLimits, TimerKind


def kinds(data: list[bytes]) -> list[CannedResponse]:
    return run_adapter(data).canned


# ================================================================================================ in-process
def test_trailer_fields_are_never_merged_into_the_request_headers() -> None:
    raw = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nHost: evil\r\nX-T: 1\r\n\r\n"
    for pieces in ([raw], byte_pieces(raw)):
        run = run_adapter(pieces)
        (entry,) = run.driver.delivered
        assert entry.request.headers == [(b"Host", b"a"), (b"Transfer-Encoding", b"chunked")]
        assert run.answered == [(b"POST", b"/", b"abc")]


def test_trailing_whitespace_of_header_values_is_trimmed() -> None:
    run = run_adapter(
        [b"POST / HTTP/1.1\r\nHost: a \r\nTransfer-Encoding: chunked \r\nX-A:  b \t\r\n\r\n0\r\n\r\n"]
    )
    (entry,) = run.driver.delivered
    assert entry.request.headers == [(b"Host", b"a"), (b"Transfer-Encoding", b"chunked"), (b"X-A", b"b")]
    assert entry.request.host_header == b"a" and run.canned == []


def test_entity_body_timer_stops_when_the_body_is_complete() -> None:
    """A body arriving in two reads armed EntityBody; it stayed armed after the body completed and reset the
    connection while the application was still working on its answer."""
    run = run_adapter(
        [b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\nabc", b"def"], early_answer=False
    )
    assert run.answered == [(b"POST", b"/", b"abcdef")]
    conn = run.conn
    assert conn._timer_kind is TimerKind.IDLE_CONNECTION  # after the answer: idle, never EntityBody


def test_entity_body_timer_is_not_left_armed_for_a_slow_application() -> None:
    from hostile.inprocess import FakeTransport, StubDriver
    from httpsys._engine.http11 import Http11Connection

    driver = StubDriver()
    conn = Http11Connection(driver, 80, "http")  # type: ignore[arg-type]
    transport = FakeTransport()
    conn.connection_made(transport)  # type: ignore[arg-type]
    conn.data_received(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\nabc")
    conn.data_received(b"def")  # the body is complete
    driver.ready.clear()  # the application stalls: it never reads nor answers
    driver.fire_timers(driver.now + 10_000)  # far longer than EntityBody
    assert not transport.aborted and driver.fired == []


def test_http10_with_transfer_encoding_closes_after_the_response() -> None:
    raw = b"POST / HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.0\r\n\r\n"
    run = run_adapter([raw])
    assert run.answered == [(b"POST", b"/", b"")]
    assert run.transport.closing and not run.transport.aborted


def test_canned_kind_does_not_depend_on_read_boundaries() -> None:
    """Found by the fuzzer: the 400 variant depended on which bytes were in the failing read."""
    for raw in (
        b"GET / HTTP/1.1\r\nHost : a\r\n\nGET / \r\n\r\nG\x00T / HTTP/1.1\r\n\r\n",
        b":\x00",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nX\x00: b\r\n\r\n",
    ):
        assert kinds([raw]) == kinds(byte_pieces(raw)), raw


def test_header_error_after_an_http09_style_request_line_is_classified_alike_whole_and_split() -> None:
    """Found by atheris: leading bare CRs and a request line without a version made the request line itself
    look like a bad header line in one segmentation and not in the other."""
    for raw in (b"\r\rGET /\n\xfe\x00\n\n", b"\n\n\r\r\nGET *//\n\xfe\x00\x00/\n\n\r\r\n\nV\r\x00\x00,5("):
        assert kinds([raw]) == kinds(byte_pieces(raw)) == [CannedResponse.INVALID_HEADER], raw


def test_oversized_head_answer_does_not_depend_on_read_boundaries() -> None:
    for raw, kind in (
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + b"v" * 16400 + b"\r\n\r\n",
            CannedResponse.HEADER_FIELD_TOO_LONG,
        ),
        (b"GET /" + b"a" * 16400 + b" HTTP/1.1\r\nHost: a\r\n\r\n", CannedResponse.URL_TOO_LONG),
    ):
        assert kinds([raw]) == kinds(byte_pieces(raw)) == [kind]


def test_a_whitespace_led_line_cut_across_reads_is_still_discarded() -> None:
    raw = b"GET / HTTP/1.1\r\n X-Smuggled: 1\r\nHost: a\r\n\r\n"
    run = run_adapter(byte_pieces(raw))
    assert run.answered == [(b"GET", b"/", b"")] and run.canned == []


def test_a_connection_sending_only_empty_lines_still_times_out() -> None:
    """CRLF disarmed IdleConnection and started no request: such a connection had no timer at all."""
    for pieces in ([b"\r\n"], [b"\n"], [b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", b"\r\n"]):
        run = run_adapter(pieces, settle=1000.0)
        assert run.conn.closed and run.driver.fired == [TimerKind.IDLE_CONNECTION]


def test_a_rejection_keeps_its_kind_after_a_re_parse() -> None:
    """An unknown verb or a bare-LF start line re-parses the message; a RequestRejected raised then lost its kind
    (the outer parser error became the __context__ of the new HttpParserCallbackError)."""
    assert kinds([b"XYZZY / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n"]) == [
        CannedResponse.NOT_IMPLEMENTED
    ]
    assert kinds([b"GET / HTTP/1.1\nTransfer-Encoding: a\r\n\r\n"]) == [CannedResponse.NOT_IMPLEMENTED]
    big = b"XYZZY / HTTP/1.1\r\nHost: a\r\nX: " + b"v" * 16400 + b"\r\n\r\n"
    assert kinds([big]) == [CannedResponse.HEADER_FIELD_TOO_LONG]


def test_many_pipelined_requests_needing_a_re_parse_cost_no_stack_depth() -> None:
    """About 300 pipelined bare-LF (or unknown-verb) requests in one read raised RecursionError."""
    for one in (b"GET / HTTP/1.1\nHost: a\n\n", b"XYZ / HTTP/1.1\r\nHost: a\r\n\r\n"):
        run = run_adapter([one * 3000])
        assert len(run.answered) == 3000 and run.canned == []


def test_a_bare_cr_inside_a_re_parsed_start_line_is_rejected_not_repaired_forever() -> None:
    raw = b"CONNEQT /%2e%2e/x HTTP/1.2\r\rDELETE /a/../b HTTP/1.0\nHost: a\r\n\r\n"
    run = run_adapter([raw])
    assert run.answered == [] and len(run.canned) == 1


def test_a_closed_connection_leaves_no_live_timer_and_keeps_no_buffers() -> None:
    run = run_adapter([b"GET / HTTP/1.1\r\nHost: a\r\nX-Partial: "], client_eof=True)
    assert run.conn.closed
    assert len(run.driver.timers) == 0
    assert run.conn.transport is None and run.conn._since_boundary is None


def test_every_corpus_case_still_passes_in_process() -> None:
    assert len(CASES) >= 80


# ================================================================================================ on the wire
def test_a_request_rejected_mid_body_leaves_the_driver_tables() -> None:
    """Delivered, then its chunked body turned out malformed: the Request stayed in the driver's table forever
    when the application did not answer it."""
    server = start_server(handler=None)
    try:
        client = RawClient(server.port)
        client.send(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab")
        snapshot = server.receive(5.0)
        assert isinstance(snapshot, RequestSnapshot)
        client.send(b"cXX0\r\n\r\n")  # two bytes that are not CRLF after the chunk data
        got, _, _end = client.read(1, 5.0)
        assert [r.status for r in got] == [400]
        stats = server.wait_idle()
        assert stats["requests_in_flight"] == 0
        client.close()
    finally:
        server.close()


def test_the_response_survives_when_the_client_keeps_sending_after_a_rejection() -> None:
    """Closing with unread input sends a reset that can destroy the response: the driver now half-closes and
    discards input for a while (lingering close), so the client reads its 400 and a FIN."""
    server = start_server()
    try:
        for _ in range(5):
            client = RawClient(server.port)
            client.send(b"GET / HTTP/1.1\r\nHost: a\r\nX-A: \x01\r\n\r\n")
            for _ in range(20):
                try:
                    client.sock.send(b"more bytes the server will never parse\r\n" * 50)
                except OSError:
                    break
                time.sleep(0.005)
            got, _, end = client.read(1, 5.0)
            assert [r.status for r in got] == [400]
            assert client.end_state(3.0) in ("eof", "open") or end == "eof"
            client.close()
    finally:
        server.close()


def test_a_slow_application_answer_after_a_split_upload_is_delivered() -> None:
    def slow(server: LoopbackServer, snapshot: RequestSnapshot) -> None:
        body, _complete = server.read_body(snapshot.request_id)
        time.sleep(1.6)  # longer than EntityBody (1 s)
        server.respond(snapshot.request_id, body=b"late %d" % len(body))

    server = start_server(
        DriverSettings(header_wait_timeout=1, idle_connection_timeout=5),
        TimeoutLimits(entity_body=1, drain_entity_body=1, header_wait=1, idle_connection=5),
        handler=slow,
        threads=1,
    )
    try:
        client = RawClient(server.port)
        client.send(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\nabc")
        time.sleep(0.2)
        client.send(b"def")
        got, _, _ = client.read(1, 5.0)
        assert [r.body for r in got] == [b"late 6"]
        assert [e[1] for e in server.transport.driver.error_log] == []
        client.close()
    finally:
        server.close()


def test_a_crlf_trickle_on_the_wire_is_reset_by_idle_connection() -> None:
    server = start_server(DriverSettings(header_wait_timeout=1, idle_connection_timeout=1))
    try:
        client = RawClient(server.port)
        started = time.monotonic()
        ended = "open"
        while time.monotonic() - started < 4.0:
            try:
                client.sock.send(b"\r\n")
            except OSError:
                ended = "reset"
                break
            state = client.end_state(0.3)
            if state != "open":
                ended = state
                break
        assert ended == "reset" and time.monotonic() - started < 2.5
        assert [e[1] for e in server.transport.driver.error_log] == ["Timer_ConnectionIdle"]
        client.close()
    finally:
        server.close()


def test_a_thousand_pipelined_bare_lf_requests_in_one_send_are_all_answered() -> None:
    server = start_server()
    try:
        client = RawClient(server.port)
        client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        client.send(b"GET /p HTTP/1.1\nHost: a\n\n" * 1000)
        got, _, _ = client.read(1000, 20.0)
        assert len(got) == 1000 and all(r.body == b"GET /p 0" for r in got)
        assert server.exceptions == []
        client.close()
    finally:
        server.close()
