"""The response cache and the logs on HTTP/2 streams (issue 18 item 3): a cached response answers HTTP/2 requests
without waking the application, and HTTPERR records carry HTTP/2.0 as cs-version; a refused stream gets the same
canned status as on HTTP/1.1 and the connection goes on."""

from __future__ import annotations

import socket

from hostile.loopback import LoopbackServer, Waiter
from http2.client import H2Client
from http2.conftest import Api, memory
from httpsys._core.logformat import format_httperr
from httpsys._core.records import CachePolicy
from httpsys._core.response import ResponseSpec
from httpsys._core.response_cache import ResponseCache
from httpsys._core.status import Win32Error

OK = int(Win32Error.NO_ERROR)


def nothing_reaches_the_application(server: LoopbackServer) -> bool:
    waiter = Waiter()
    server.transport.receive_request(server.queue, 0, 0, None, True, 77, waiter)
    reached = waiter.event.wait(0.3)
    if not reached:
        server.transport.cancel_io(server.queue, 77)
        waiter.wait(5.0)
    return not reached


def test_cached_response_answers_http2_requests(h2_server: LoopbackServer, api: Api) -> None:
    transport = h2_server.transport
    transport._call(lambda: setattr(transport.driver, "response_cache", ResponseCache()))
    client = H2Client(h2_server.port)
    first = client.request(b"/cached")
    snap = api.receive()
    spec = ResponseSpec(status=200, reason=b"OK", known={}, unknown=[(b"Content-Type", b"text/plain")])
    waiter = Waiter()
    transport.send_response(
        h2_server.queue, snap.request_id, 0, spec, memory(b"from cache"), CachePolicy(1, 0), None, waiter
    )
    assert waiter.wait(5.0) == (OK, len(b"from cache")) or waiter.result[0] == OK
    assert client.wait(first).body == b"from cache"
    again = client.request(b"/cached")
    result = client.wait(again)
    assert (result.status, result.body, result.ended) == (200, b"from cache", True)
    assert result.header(b"content-type") == b"text/plain"
    assert nothing_reaches_the_application(h2_server)
    with socket.create_connection(("127.0.0.1", h2_server.port), timeout=5) as sock:  # and HTTP/1.1 alike
        sock.sendall(b"GET /cached HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert sock.recv(65536).endswith(b"from cache")
    client.close()


def test_refused_stream_gets_the_http11_canned_status_and_an_http2_httperr_line(
    h2_server: LoopbackServer, api: Api
) -> None:
    fields: list[dict[str, object]] = []
    transport = h2_server.transport
    transport._call(lambda: setattr(transport.driver.counters, "error_sink", fields.append))
    client = H2Client(h2_server.port)
    long_path = b"/" + b"a" * 20000  # longer than MaxFieldLength (16384)
    refused = client.request(long_path)
    result = client.wait(refused)
    assert result.status == 414 and result.ended  # as HTTP/1.1 answers (spec §5.2)
    ok = client.request(b"/fine")  # only that stream was refused
    snap = api.receive()
    assert snap.raw_url == b"/fine"
    assert api.respond(snap.request_id, chunks=memory(b"ok")) == OK
    assert client.wait(ok).body == b"ok"
    line = format_httperr(fields[0])
    assert b" HTTP/2.0 GET " in line
    assert fields[0]["version"] == (2, 0)
    client.close()
