"""Routing of real requests (spec §1.4, §5.5, §6 items 51-60).

The host comes from an absolute-form target before the Host header; the query and a missing trailing slash do not
affect the match; the longest prefix wins and may send requests on one port to different queues; the strong
wildcard bucket beats explicit hosts, which beat the weak wildcard; each request carries its UrlContext.
"""

from __future__ import annotations

from collections.abc import Callable

from conftest import OK, RawClient, Server, Waiter

from httpsys._core.records import RequestSnapshot

PROP_BINDING = 7


def new_queue(server: Server, url: str, context: int) -> int:
    """A second URL group (same session) bound to its own new request queue; returns the queue handle."""
    transport = server.transport
    code, group = transport.create_url_group(server.session)
    assert code == OK
    code, queue = transport.create_request_queue(None, 0, False)
    assert code == OK
    assert transport.set_group_property(group, PROP_BINDING, queue) == OK
    assert transport.add_url(group, url, context) == OK
    return queue


def receive_on(server: Server, queue: int, timeout: float = 5.0) -> RequestSnapshot:
    waiter = Waiter()
    server.transport.receive_request(queue, 0, 0, None, True, 0, waiter)
    code, snap, _n = waiter.wait(timeout)
    assert code == OK
    assert isinstance(snap, RequestSnapshot)
    return snap


def answer(server: Server, queue: int, request: RequestSnapshot, body: bytes) -> None:
    from httpsys._core.records import MemoryChunk
    from httpsys._core.response import ResponseSpec

    waiter = Waiter()
    spec = ResponseSpec(status=200, reason=b"OK", known={}, unknown=[])
    server.transport.send_response(
        queue, request.request_id, 0, spec, [MemoryChunk(body)], None, None, waiter
    )
    assert waiter.wait()[0] == OK


def roundtrip(server: Server, raw: bytes, queue: int | None = None) -> RequestSnapshot:
    """Send one request, receive it on `queue` (default: the fixture's), answer it, check the answer arrived."""
    client = RawClient(server.port)
    try:
        client.send(raw)
        request = receive_on(server, queue if queue is not None else server.queue)
        answer(server, queue if queue is not None else server.queue, request, b"routed")
        assert client.recv_response()[2] == b"routed"
        return request
    finally:
        client.close()


def refused(server: Server, raw: bytes) -> bytes:
    client = RawClient(server.port)
    try:
        client.send(raw)
        status, _headers, body = client.recv_response()
        assert client.closed_by_peer(2.0) == "eof"
        return status + b" / " + body.split(b"<h2>")[1].split(b"</h2>")[0]
    finally:
        client.close()


def explicit_only(make: Callable[..., Server], path: str = "/") -> Server:
    """A server whose only registration is http://example.com:PORT{path} (UrlContext 7)."""
    server = make()
    assert server.transport.add_url(server.group, f"http://example.com:{server.port}{path}", 7) == OK
    assert server.transport.remove_url(server.group, server.url, False) == OK
    return server


def test_absolute_form_target_supplies_the_host(make: Callable[..., Server]) -> None:
    server = explicit_only(make)
    port = server.port
    raw = b"GET http://example.com:%d/x?q=1 HTTP/1.1\r\nHost: elsewhere.test\r\n\r\n" % port
    request = roundtrip(server, raw)
    assert request.url_context == 7
    assert request.raw_url == b"http://example.com:%d/x?q=1" % port
    assert request.full_url == f"http://example.com:{port}/x?q=1"
    assert (request.abs_path, request.query) == ("/x", "?q=1")


def test_absolute_form_target_overrides_a_matching_host_header(make: Callable[..., Server]) -> None:
    server = explicit_only(make)
    port = server.port
    raw = b"GET http://elsewhere.test:%d/x HTTP/1.1\r\nHost: example.com:%d\r\n\r\n" % (port, port)
    assert refused(server, raw) == b"HTTP/1.1 400 Bad Request / Bad Request - Invalid Hostname"


def test_host_comparison_is_case_insensitive_and_keeps_the_sent_text(make: Callable[..., Server]) -> None:
    server = explicit_only(make)
    port = server.port
    request = roundtrip(server, b"GET /p HTTP/1.1\r\nHost: EXAMPLE.com:%d\r\n\r\n" % port)
    assert request.url_context == 7
    assert request.full_url == f"http://EXAMPLE.com:{port}/p"


def test_query_and_missing_trailing_slash_do_not_affect_the_match(server: Server) -> None:
    assert server.transport.add_url(server.group, f"http://+:{server.port}/a/b/", 5) == OK
    for target, context in (
        (b"/a/b", 5),
        (b"/a/b?x=1", 5),
        (b"/a/b/", 5),
        (b"/a/b/c", 5),
        (b"/a/bc", 42),
        (b"/a", 42),
        (b"/?a/b/", 42),
    ):
        request = roundtrip(server, b"GET " + target + b" HTTP/1.1\r\nHost: h\r\n\r\n")
        assert request.url_context == context, target


def test_escaped_path_is_matched_after_decoding(server: Server) -> None:
    assert server.transport.add_url(server.group, f"http://+:{server.port}/a%20b/", 9) == OK
    request = roundtrip(server, b"GET /a%20b/c HTTP/1.1\r\nHost: h\r\n\r\n")
    assert (request.url_context, request.abs_path) == (9, "/a b/c")
    assert server.transport.add_url(server.group, f"http://+:{server.port}/x/", 10) == OK
    request = roundtrip(server, b"GET /%78/y HTTP/1.1\r\nHost: h\r\n\r\n")
    assert (request.url_context, request.abs_path) == (10, "/x/y")


def test_longest_prefix_sends_requests_on_one_port_to_different_queues(server: Server) -> None:
    api_queue = new_queue(server, f"http://+:{server.port}/api/", 77)
    api = roundtrip(server, b"GET /api/items HTTP/1.1\r\nHost: h\r\n\r\n", api_queue)
    assert (api.url_context, api.abs_path) == (77, "/api/items")
    root = roundtrip(server, b"GET /apix HTTP/1.1\r\nHost: h\r\n\r\n")
    assert root.url_context == 42
    assert server.transport.statistics()["queued"] == 0


def test_one_connection_can_reach_two_queues_in_turn(server: Server) -> None:
    api_queue = new_queue(server, f"http://+:{server.port}/api/", 77)
    client = RawClient(server.port)
    client.send(b"GET /api/1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n")
    first = receive_on(server, api_queue)
    answer(server, api_queue, first, b"api")
    second = receive_on(server, server.queue)
    answer(server, server.queue, second, b"root")
    assert first.connection_id == second.connection_id
    assert (first.url_context, second.url_context) == (77, 42)
    assert [client.recv_response()[2] for _ in range(2)] == [b"api", b"root"]
    client.close()


def test_strong_wildcard_beats_a_longer_explicit_host_match(make: Callable[..., Server]) -> None:
    server = explicit_only(make, "/long/path/")
    port = server.port
    plus_queue = new_queue(server, f"http://+:{port}/", 2)
    raw = b"GET /long/path/x HTTP/1.1\r\nHost: example.com:%d\r\n\r\n" % port
    request = roundtrip(server, raw, plus_queue)
    assert request.url_context == 2


def test_explicit_host_beats_weak_wildcard(make: Callable[..., Server]) -> None:
    server = explicit_only(make)
    port = server.port
    star_queue = new_queue(server, f"http://*:{port}/", 3)
    explicit = roundtrip(server, b"GET /p HTTP/1.1\r\nHost: example.com:%d\r\n\r\n" % port)
    assert explicit.url_context == 7
    other = roundtrip(server, b"GET /p HTTP/1.1\r\nHost: other.test:%d\r\n\r\n" % port, star_queue)
    assert other.url_context == 3


def test_explicit_host_without_a_path_match_falls_through_to_weak_wildcard(
    make: Callable[..., Server],
) -> None:
    server = explicit_only(make, "/only/")
    port = server.port
    star_queue = new_queue(server, f"http://*:{port}/", 3)
    matched = roundtrip(server, b"GET /only/x HTTP/1.1\r\nHost: example.com:%d\r\n\r\n" % port)
    assert matched.url_context == 7
    fallen = roundtrip(server, b"GET /elsewhere HTTP/1.1\r\nHost: example.com:%d\r\n\r\n" % port, star_queue)
    assert fallen.url_context == 3


def test_explicit_host_without_a_path_match_and_no_wildcard_is_404(make: Callable[..., Server]) -> None:
    server = explicit_only(make, "/only/")
    raw = b"GET /elsewhere HTTP/1.1\r\nHost: example.com:%d\r\n\r\n" % server.port
    assert refused(server, raw) == b"HTTP/1.1 404 Not Found / Not Found"


def test_group_bound_after_registration_routes_once_bound(server: Server) -> None:
    assert server.transport.set_group_property(server.group, PROP_BINDING, None) == OK
    client = RawClient(server.port)
    client.send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    assert client.closed_by_peer(2.0) == "reset"
    client.close()
    assert server.transport.set_group_property(server.group, PROP_BINDING, server.queue) == OK
    request = roundtrip(server, b"GET /now HTTP/1.1\r\nHost: h\r\n\r\n")
    assert (request.url_context, request.abs_path) == (42, "/now")


def test_url_context_and_cooked_url_are_reported(server: Server) -> None:
    request = roundtrip(server, b"GET /x/./y/../z?k=v%20 HTTP/1.1\r\nHost: Local.Test:8080\r\n\r\n")
    assert request.url_context == 42
    assert request.raw_url == b"/x/./y/../z?k=v%20"
    assert request.full_url == "http://Local.Test:8080/x/z?k=v%20"
    assert (request.host, request.abs_path, request.query) == ("Local.Test:8080", "/x/z", "?k=v%20")
