"""The API on HTTP/2 streams (issue 18 items 1-2, spec §6 item 147): what a request looks like on a stream, and
every flag of HttpSendResponseEntityBody (the seed) on a stream — over a real socket with prior knowledge."""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time

from hostile.loopback import LoopbackServer, start_server
from http2.client import H2Client
from http2.conftest import Api, memory
from httpsys._core.records import FileChunk, TrailersChunk
from httpsys._core.settings import DriverSettings
from httpsys._core.status import Win32Error

OK = int(Win32Error.NO_ERROR)
EOF_CODE = int(Win32Error.ERROR_HANDLE_EOF)
MORE_DATA = 0x2
DISCONNECT = 0x1
OPAQUE = 0x40
GOAWAY = 0x100
HTTP_REQUEST_FLAG_HTTP2 = 0x4


def test_request_on_a_stream_has_version_2_0_and_the_http2_flag(h2_server: LoopbackServer, api: Api) -> None:
    client = H2Client(h2_server.port)
    sid = client.request(b"/a/b?x=1", headers=[(b"cookie", b"a=1"), (b"cookie", b"b=2"), (b"x-one", b"1")])
    snap = api.receive()
    assert snap.version == (2, 0)
    assert snap.flags & HTTP_REQUEST_FLAG_HTTP2
    assert snap.method == b"GET"
    assert snap.raw_url == b"/a/b?x=1"
    headers = dict(snap.headers)
    assert headers[b"host"] == b"localhost"  # :authority is the Host HTTP.sys reports
    assert headers[b"cookie"] == b"a=1; b=2"  # RFC 9113 §8.2.3 crumbs joined
    assert not any(name.startswith(b":") for name, _ in snap.headers)
    assert api.respond(snap.request_id, chunks=memory(b"hi")) == OK
    result = client.wait(sid)
    assert (result.status, result.body, result.ended) == (200, b"hi", True)
    client.close()


def test_streams_of_one_connection_are_outstanding_together(h2_server: LoopbackServer, api: Api) -> None:
    client = H2Client(h2_server.port)
    first = client.request(b"/first")
    second = client.request(b"/second")
    snaps = {snap.raw_url: snap for snap in (api.receive(), api.receive())}
    assert set(snaps) == {b"/first", b"/second"}
    assert snaps[b"/first"].connection_id == snaps[b"/second"].connection_id
    assert snaps[b"/first"].request_id != snaps[b"/second"].request_id
    assert api.respond(snaps[b"/second"].request_id, chunks=memory(b"2")) == OK  # answered out of order
    assert client.wait(second).body == b"2"
    assert api.respond(snaps[b"/first"].request_id, chunks=memory(b"1")) == OK
    assert client.wait(first).body == b"1"
    client.close()


def test_response_has_no_connection_specific_fields(h2_server: LoopbackServer, api: Api) -> None:
    client = H2Client(h2_server.port)
    sid = client.request(b"/")
    snap = api.receive()
    code = api.respond(
        snap.request_id,
        chunks=memory(b"body"),
        unknown=[(b"Keep-Alive", b"timeout=5"), (b"X-App", b"yes"), (b"Upgrade", b"foo")],
    )
    assert code == OK
    result = client.wait(sid)
    names = [name for name, _ in result.headers]
    assert b"x-app" in names
    for name in (b"connection", b"keep-alive", b"upgrade", b"transfer-encoding", b"proxy-connection"):
        assert name not in names
    assert all(name == name.lower() for name in names)
    assert result.body == b"body"
    client.close()


def test_more_data_streams_data_frames_and_the_final_call_ends_the_stream(
    h2_server: LoopbackServer, api: Api
) -> None:
    client = H2Client(h2_server.port)
    sid = client.request(b"/")
    snap = api.receive()
    assert api.respond(snap.request_id, flags=MORE_DATA) == OK
    assert api.send_body(snap.request_id, memory(b"one,"), MORE_DATA) == OK
    client.pump(0.3)
    assert client.streams[sid].status == 200 and not client.streams[sid].ended
    assert api.send_body(snap.request_id, memory(b"two")) == OK
    result = client.wait(sid)
    assert (result.body, result.ended, result.reset) == (b"one,two", True, None)
    assert result.header(b"transfer-encoding") is None  # HTTP/2 frames it, no chunking
    client.close()


def test_disconnect_ends_only_its_stream(h2_server: LoopbackServer, api: Api) -> None:
    client = H2Client(h2_server.port)
    sid = client.request(b"/one")
    snap = api.receive()
    assert api.respond(snap.request_id, chunks=memory(b"bye"), flags=DISCONNECT) == OK
    assert client.wait(sid).ended
    again = client.request(b"/two")  # the same connection still serves
    snap = api.receive()
    assert api.respond(snap.request_id, chunks=memory(b"still here")) == OK
    result = client.wait(again)
    assert result.body == b"still here" and client.goaway is None
    client.close()


def test_goaway_flag_sends_goaway_and_closes_the_connection(h2_server: LoopbackServer, api: Api) -> None:
    client = H2Client(h2_server.port)
    sid = client.request(b"/")
    snap = api.receive()
    assert api.respond(snap.request_id, chunks=memory(b"last"), flags=DISCONNECT | GOAWAY) == OK
    result = client.wait(sid)
    assert result.body == b"last" and result.ended
    assert client.wait_closed(5.0)
    assert client.goaway == 0  # NO_ERROR
    client.close()


def test_trailers_chunk_becomes_a_trailing_headers_frame(h2_server: LoopbackServer, api: Api) -> None:
    client = H2Client(h2_server.port)
    sid = client.request(b"/", headers=[(b"te", b"trailers")])
    snap = api.receive()
    assert (
        api.respond(snap.request_id, flags=MORE_DATA, unknown=[(b"Content-Type", b"application/grpc")]) == OK
    )
    trailers = TrailersChunk(((b"Grpc-Status", b"0"), (b"grpc-message", b"fine")))
    assert api.send_body(snap.request_id, [*memory(b"payload"), trailers]) == OK
    result = client.wait(sid)
    assert result.body == b"payload"
    assert (b"grpc-status", b"0") in result.trailers and (b"grpc-message", b"fine") in result.trailers
    client.close()


def test_opaque_is_refused_on_a_stream(h2_server: LoopbackServer, api: Api) -> None:
    client = H2Client(h2_server.port)
    client.request(b"/ws")
    snap = api.receive()
    assert api.respond(snap.request_id, status=101, flags=OPAQUE) == int(Win32Error.ERROR_INVALID_PARAMETER)
    client.close()


def test_file_handle_chunks_are_sent_on_a_stream(h2_server: LoopbackServer, api: Api) -> None:
    data = os.urandom(300_000)  # several windows and frames
    with tempfile.TemporaryFile() as handle:
        handle.write(data)
        handle.flush()
        client = H2Client(h2_server.port)
        sid = client.request(b"/file")
        snap = api.receive()
        sending = api.start_response(snap.request_id, chunks=[FileChunk(handle.fileno())])
        result = client.wait(sid, 10.0)
        assert sending.wait(5.0) == (OK, len(data))
    assert result.body == data and result.header(b"content-length") == b"300000"
    client.close()


def test_a_large_file_is_framed_within_the_clients_windows_and_frame_size(
    h2_server: LoopbackServer, api: Api
) -> None:
    """The batched path (many DATA frames read with one preadv and written at once) honours a stream window that
    is not a multiple of the frame size and reopens only as the client reads; the client's h2 state machine ends
    the connection if a frame is larger than 16 KiB or passes a window."""
    data = os.urandom(3 * 1024 * 1024 + 7)
    with tempfile.TemporaryFile() as handle:
        handle.write(data)
        handle.flush()
        client = H2Client(h2_server.port, window=100_000)
        sid = client.request(b"/big")
        snap = api.receive()
        sending = api.start_response(snap.request_id, chunks=[FileChunk(handle.fileno())])
        result = client.wait(sid, 30.0)
        assert sending.wait(5.0) == (OK, len(data))
    assert not client.closed and client.goaway is None
    assert result.ended and result.body == data
    again = client.request(b"/after")  # the connection's window accounting stayed right for the next stream
    snap = api.receive()
    assert api.respond(snap.request_id, chunks=memory(b"next")) == OK
    assert client.wait(again).body == b"next"
    client.close()


def test_two_large_files_on_one_connection_both_arrive_whole(h2_server: LoopbackServer, api: Api) -> None:
    """Two streams send large files at once: the socket falls behind (the transport pauses), each stream goes on
    a frame at a time while it is paused, and both bodies arrive complete and in order."""
    first, second = os.urandom(2 * 1024 * 1024 + 11), os.urandom(2 * 1024 * 1024 + 5)
    with tempfile.TemporaryFile() as one, tempfile.TemporaryFile() as two:
        one.write(first)
        two.write(second)
        one.flush()
        two.flush()
        client = H2Client(h2_server.port)
        sid1, sid2 = client.request(b"/one"), client.request(b"/two")
        ids = sorted([api.receive().request_id, api.receive().request_id])
        sends = [
            api.start_response(ids[0], chunks=[FileChunk(one.fileno())]),
            api.start_response(ids[1], chunks=[FileChunk(two.fileno())]),
        ]
        results = [client.wait(sid1, 30.0), client.wait(sid2, 30.0)]
        assert [w.wait(5.0) for w in sends] == [(OK, len(first)), (OK, len(second))]
    assert not client.closed and client.goaway is None
    assert sorted(r.body for r in results) == sorted([first, second])
    client.close()


def test_a_large_memory_body_with_more_data_is_framed_whole(h2_server: LoopbackServer, api: Api) -> None:
    first, second = os.urandom(1024 * 1024 + 3), os.urandom(700_001)
    client = H2Client(h2_server.port)
    sid = client.request(b"/memory")
    snap = api.receive()
    codes: list[int] = []

    def application() -> None:  # each send completes as the client's reads reopen the window
        codes.append(api.respond(snap.request_id, chunks=memory(first), flags=MORE_DATA))
        codes.append(api.send_body(snap.request_id, memory(second)))

    sender = threading.Thread(target=application)
    sender.start()
    result = client.wait(sid, 30.0)
    sender.join(10.0)
    assert codes == [OK, OK]
    assert result.ended and result.body == first + second
    client.close()


def test_request_body_window_follows_the_applications_reads(h2_server: LoopbackServer, api: Api) -> None:
    client = H2Client(h2_server.port)
    body = os.urandom(256 * 1024)
    window = 64 * 1024  # the stream window the driver announces: DriverSettings.body_buffer
    sid = client.request(b"/upload", method=b"POST", end=False)
    snap = api.receive()
    # nobody reads: the client can send the stream's window and no more, and it stays shut
    assert not client.send_body(sid, body, timeout=1.0)
    client.pump(0.5)
    assert client.conn.local_flow_control_window(sid) == 0
    sender = threading.Thread(target=client.send_body, args=(sid, body[window:], True, 20.0))
    sender.start()
    received = bytearray()
    while True:
        code, data = api.read(snap.request_id)
        if code == EOF_CODE:
            break
        assert code == OK
        received += data
    sender.join(20.0)
    assert bytes(received) == body
    assert api.respond(snap.request_id, chunks=memory(b"stored")) == OK
    assert client.wait(sid).body == b"stored"
    client.close()


def test_http11_still_served_beside_http2(h2_server: LoopbackServer, api: Api) -> None:
    with socket.create_connection(("127.0.0.1", h2_server.port), timeout=5) as sock:
        sock.sendall(
            b"GET /plain HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n"
        )
        snap = api.receive()
        assert snap.version == (1, 1) and not snap.flags & HTTP_REQUEST_FLAG_HTTP2
        assert api.respond(snap.request_id, chunks=memory(b"h1")) == OK
        reply = sock.recv(65536)
    assert reply.startswith(b"HTTP/1.1 200 ")  # Upgrade: h2c is not honoured (no 101), as HTTP.sys
    assert reply.endswith(b"h1")


def test_without_http2_cleartext_the_preface_gets_an_http11_400() -> None:
    server = start_server(handler=None)  # DriverSettings() default: http2_cleartext off
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
            reply = sock.recv(65536)
        assert reply.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    finally:
        server.close()


def test_stream_error_property_resets_the_stream_with_the_applications_code(
    h2_server: LoopbackServer, api: Api
) -> None:
    transport = h2_server.transport
    client = H2Client(h2_server.port)
    sid = client.request(b"/grpc")
    snap = api.receive()
    assert transport.set_request_property(h2_server.queue, snap.request_id, 5, 0x8) == OK  # CANCEL
    assert transport.set_request_property(h2_server.queue, snap.request_id, 4, 0) == int(
        Win32Error.ERROR_INVALID_FUNCTION
    )  # HttpRequestPropertySni cannot be set
    assert transport.cancel_request(h2_server.queue, snap.request_id) == OK
    assert client.wait(sid).reset == 0x8  # RST_STREAM with the code the application chose
    again = client.request(b"/after")  # only the stream was reset
    snap = api.receive()
    assert api.respond(snap.request_id, chunks=memory(b"fine")) == OK
    assert client.wait(again).body == b"fine"
    client.close()


def test_stream_error_property_is_not_valid_on_http11(h2_server: LoopbackServer, api: Api) -> None:
    with socket.create_connection(("127.0.0.1", h2_server.port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        snap = api.receive()
        code = h2_server.transport.set_request_property(h2_server.queue, snap.request_id, 5, 0x8)
        assert code == int(Win32Error.ERROR_INVALID_PARAMETER)
        assert api.respond(snap.request_id, chunks=memory(b"ok")) == OK


def test_a_file_truncated_while_its_stream_waits_fails_that_send_and_the_connection_goes_on(
    h2_server: LoopbackServer, api: Api
) -> None:
    """A cleartext stream frames a file from its mapped pages: when the file shrinks under a waiting send, the send
    fails with ERROR_HANDLE_EOF and only its stream is reset (the server never touches the missing pages), and the
    next stream on the same connection is answered."""
    data = os.urandom(4 * 1024 * 1024)
    with tempfile.TemporaryFile() as handle:
        handle.write(data)
        handle.flush()
        client = H2Client(h2_server.port, window=200_000)
        sid = client.request(b"/shrinking")
        snap = api.receive()
        sending = api.start_response(snap.request_id, chunks=[FileChunk(handle.fileno())])
        for _ in range(3):  # some of the file leaves, then the client's windows hold the rest
            client.pump(0.2)
        handle.truncate(1024 * 1024 + 100)
        result = client.wait(sid, 15.0)
        assert sending.wait(5.0) == (EOF_CODE, 0)
    assert result.reset is not None and not result.ended
    assert len(result.body) <= 1024 * 1024 + 100 and result.body == data[: len(result.body)]
    assert not client.closed and client.goaway is None
    again = client.request(b"/after")
    snap = api.receive()
    assert api.respond(snap.request_id, chunks=memory(b"still here")) == OK
    assert client.wait(again).body == b"still here"
    client.close()


def test_a_file_sent_again_carries_its_bytes_as_they_are_now(h2_server: LoopbackServer, api: Api) -> None:
    """The same file sent on two streams (its mapping kept between them): bytes rewritten in place and bytes
    appended in between are what the second stream carries."""
    first = os.urandom(1024 * 1024 + 5)
    with tempfile.NamedTemporaryFile() as handle:
        handle.write(first)
        handle.flush()
        client = H2Client(h2_server.port)
        bodies = []
        for path, edit in ((b"/one", None), (b"/two", b"rewritten"), (b"/three", b"appended" * 70_000)):
            if edit is not None:
                handle.seek(0, os.SEEK_SET if path == b"/two" else os.SEEK_END)
                handle.write(edit)
                handle.flush()
            # a descriptor of its own for each stream, as a file server opens the file each time
            with open(handle.name, "rb") as reader:
                sid = client.request(path)
                snap = api.receive()
                sending = api.start_response(snap.request_id, chunks=[FileChunk(reader.fileno())])
                result = client.wait(sid, 15.0)
                size = os.fstat(reader.fileno()).st_size
                assert sending.wait(5.0) == (OK, size)
            assert result.ended
            bodies.append(result.body)
    assert bodies[0] == first
    assert bodies[1] == b"rewritten" + first[9:]
    assert bodies[2] == b"rewritten" + first[9:] + b"appended" * 70_000
    client.close()


def test_idle_connection_counts_from_the_last_read_and_then_sends_goaway() -> None:
    """IdleConnection on HTTP/2: a connection that keeps sending frames (PINGs, no stream) outlives its idle
    timeout; once it stops, GOAWAY NO_ERROR and the close come one timeout after its last frame, not later."""
    server = start_server(DriverSettings(http2_cleartext=True, idle_connection_timeout=1), handler=None)
    try:
        client = H2Client(server.port)
        started = time.monotonic()
        while time.monotonic() - started < 2.5:  # two and a half timeouts, a frame every 0.3 s
            client.conn.ping(b"still on")
            client.flush()
            time.sleep(0.3)
            client.pump(0.05)  # its PING ACK
            assert client.goaway is None and not client.closed, list(server.transport.driver.error_log)
        last = time.monotonic()
        assert client.wait_closed(5.0)
        waited = time.monotonic() - last
        assert client.goaway == 0
        assert 0.6 < waited < 2.5
        client.close()
    finally:
        server.close()


def test_a_whole_small_response_larger_than_the_stream_window_waits_for_window_updates(
    h2_server: LoopbackServer, api: Api
) -> None:
    # A final send whose body fits one frame but not the client's 4-byte stream window is not sent as one frame
    # (decision 0030, amendment of milestone 6): it is framed as the window reopens and arrives whole, in order.
    client = H2Client(h2_server.port, window=4)
    sid = client.request(b"/small")
    snap = api.receive()
    sending = api.start_response(snap.request_id, chunks=memory(b"0123456789"))
    result = client.wait(sid)
    assert sending.wait(5.0) == (OK, 10)
    assert (result.status, result.body, result.ended, result.reset) == (200, b"0123456789", True, None)
    assert not client.closed and client.goaway is None  # no frame passed the window (h2 would end the connection)
    client.close()


def test_a_whole_response_to_head_ends_its_stream_without_a_body(h2_server: LoopbackServer, api: Api) -> None:
    client = H2Client(h2_server.port)
    sid = client.request(b"/head", method=b"HEAD")
    snap = api.receive()
    assert snap.method == b"HEAD"
    assert api.respond(snap.request_id, chunks=memory(b"not sent")) == OK
    result = client.wait(sid)
    assert (result.status, result.body, result.ended, result.reset) == (200, b"", True, None)
    get = client.request(b"/after")  # the connection goes on
    assert api.respond(api.receive().request_id, chunks=memory(b"ok")) == OK
    assert client.wait(get).body == b"ok"
    client.close()
