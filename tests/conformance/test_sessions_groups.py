"""Server sessions, URL groups, binding and UrlContext (spec §2.2, §6 B 9-20)."""

from __future__ import annotations

import ctypes
import ctypes.wintypes as wintypes
import subprocess
import sys
import textwrap
import time

import pytest

from httpsys.win32 import *

from .harness import (
    Server,
    bind,
    create_group,
    create_queue,
    create_session,
    free_port,
    receive,
    respond,
    set_verbosity,
)


@pytest.mark.parametrize("version", [HTTPAPI_VERSION_1, HTTPAPI_VERSION_2])
def test_create_server_session_accepts_versions_one_and_two(initialized: None, version: object) -> None:
    holder = ctypes.c_ulonglong()
    assert HttpCreateServerSession(version, holder, 0) == NO_ERROR
    assert holder.value != 0
    assert HttpCloseServerSession(holder.value) == NO_ERROR


@pytest.mark.parametrize("version", [HTTPAPI_VERSION(1, 1), HTTPAPI_VERSION(3, 0)])
def test_create_server_session_with_other_versions_is_revision_mismatch(
    initialized: None, version: object
) -> None:
    holder = ctypes.c_ulonglong(5)
    assert HttpCreateServerSession(version, holder, 0) == ERROR_REVISION_MISMATCH
    assert holder.value == 5


def test_create_server_session_needs_an_id_holder_and_zero_reserved(initialized: None) -> None:
    assert HttpCreateServerSession(HTTPAPI_VERSION_2, None, 0) == ERROR_INVALID_PARAMETER
    assert HttpCreateServerSession(HTTPAPI_VERSION_2, ctypes.c_ulonglong(), 1) == ERROR_INVALID_PARAMETER
    by_ref = ctypes.c_ulonglong()
    assert HttpCreateServerSession(HTTPAPI_VERSION_2, ctypes.byref(by_ref), 0) == NO_ERROR and by_ref.value


def test_each_session_gets_a_distinct_id(initialized: None) -> None:
    assert create_session() != create_session()


def test_close_server_session_with_an_unknown_id_is_invalid_parameter(initialized: None) -> None:
    assert HttpCloseServerSession(0xDEAD) == ERROR_INVALID_PARAMETER
    assert HttpCloseServerSession(0) == ERROR_INVALID_PARAMETER
    session = create_session()
    assert HttpCloseServerSession(session) == NO_ERROR
    assert HttpCloseServerSession(session) == ERROR_INVALID_PARAMETER


@pytest.mark.parametrize("session", [0, 0xDEAD])
def test_create_url_group_with_an_unknown_session_leaves_the_id_untouched(
    initialized: None, session: int
) -> None:
    holder = ctypes.c_ulonglong(0x1234)
    assert HttpCreateUrlGroup(session, holder, 0) == ERROR_INVALID_PARAMETER
    assert holder.value == 0x1234


def test_create_url_group_needs_an_id_holder_and_zero_reserved(initialized: None) -> None:
    session = create_session()
    assert HttpCreateUrlGroup(session, None, 0) == ERROR_INVALID_PARAMETER
    holder = ctypes.c_ulonglong(7)
    assert HttpCreateUrlGroup(session, holder, 3) == ERROR_INVALID_PARAMETER
    assert holder.value == 7


def test_closing_a_session_closes_its_groups(initialized: None) -> None:
    session = create_session()
    group = create_group(session)
    assert HttpCloseServerSession(session) == NO_ERROR
    assert HttpCloseUrlGroup(group) == ERROR_INVALID_PARAMETER
    assert HttpAddUrlToUrlGroup(group, f"http://localhost:{free_port()}/", 0, 0) == ERROR_INVALID_PARAMETER


def test_close_url_group_twice_or_unknown_is_invalid_parameter(initialized: None) -> None:
    group = create_group(create_session())
    assert HttpCloseUrlGroup(group) == NO_ERROR
    assert HttpCloseUrlGroup(group) == ERROR_INVALID_PARAMETER
    assert HttpCloseUrlGroup(0xBEEF) == ERROR_INVALID_PARAMETER


def test_closing_a_group_removes_its_urls(initialized: None, client) -> None:
    session = create_session()
    first = create_group(session)
    url = f"http://localhost:{free_port()}/"
    assert HttpAddUrlToUrlGroup(first, url, 0, 0) == NO_ERROR
    second = create_group(session)
    assert HttpAddUrlToUrlGroup(second, url, 0, 0) == ERROR_ALREADY_EXISTS
    assert HttpCloseUrlGroup(first) == NO_ERROR
    assert HttpAddUrlToUrlGroup(second, url, 0, 0) == NO_ERROR


def test_binding_delivers_requests_of_the_group_to_the_queue(server: Server, client) -> None:
    c = client(server.port)
    c.get("/hello", server.port)
    request = server.receive()
    assert request.pRawUrl == b"/hello" and request.UrlContext == server.context
    assert respond(server.queue, request.RequestId, b"hi")[0] == NO_ERROR
    assert c.recv_response()[2] == b"hi"


def test_urls_added_before_binding_route_once_the_group_is_bound(initialized: None, client) -> None:
    group = create_group(create_session())
    port = free_port()
    assert HttpAddUrlToUrlGroup(group, f"http://+:{port}/", 99, 0) == NO_ERROR
    queue = create_queue()
    assert bind(group, queue) == NO_ERROR
    c = client(port)
    c.get("/", port)
    request = receive(queue)
    assert request.UrlContext == 99
    respond(queue, request.RequestId)
    assert c.recv_response()[0] == b"HTTP/1.1 200 OK"


def test_rebinding_moves_the_group_to_another_queue(server: Server, client) -> None:
    other = create_queue()
    assert bind(server.group, other) == NO_ERROR
    assert bind(server.group, other) == NO_ERROR  # setting it again is fine
    c = client(server.port)
    c.get("/", server.port)
    request = receive(other)
    respond(other, request.RequestId, b"other")
    assert c.recv_response()[2] == b"other"


def test_unbinding_makes_matching_requests_fail_with_503_or_reset(server: Server, client) -> None:
    assert bind(server.group, None) == NO_ERROR
    c = client(server.port)
    c.get("/", server.port)
    outcome = c.closed_by_peer()
    # No queue: the driver-wide default verbosity applies (Basic: reset, nothing sent).
    assert outcome in ("reset", "eof") or c.buf.startswith(b"HTTP/1.1 503 ")


def test_binding_with_present_zero_or_null_handle_unbinds(server: Server, client) -> None:
    info = HTTP_BINDING_INFO(HTTP_PROPERTY_FLAGS(1), None)
    assert HttpSetUrlGroupProperty(server.group, HttpServerBindingProperty, info, sizeof(info)) == NO_ERROR
    c = client(server.port)
    c.get("/", server.port)
    assert c.closed_by_peer() in ("reset", "eof")


def test_binding_to_an_invalid_queue_is_invalid_parameter(server: Server) -> None:
    info = HTTP_BINDING_INFO(HTTP_PROPERTY_FLAGS(1), 0xBAD0)
    assert (
        HttpSetUrlGroupProperty(server.group, HttpServerBindingProperty, info, 16) == ERROR_INVALID_PARAMETER
    )
    assert (
        HttpSetUrlGroupProperty(server.group, HttpServerBindingProperty, info, 8) == ERROR_INVALID_PARAMETER
    )


def test_inactive_queue_answers_503_when_verbosity_is_limited(server: Server, client) -> None:
    set_verbosity(server.queue, Http503ResponseVerbosityLimited)
    state = ctypes.c_ulong(HttpEnabledStateInactive)
    assert HttpSetRequestQueueProperty(server.queue, HttpServerStateProperty, state, 4, 0, None) == NO_ERROR
    c = client(server.port)
    c.get("/", server.port)
    status, _headers, body = c.recv_response()
    assert status == b"HTTP/1.1 503 Service Unavailable"
    assert b"The service is unavailable." in body


def test_group_timeouts_override_the_session_and_unset_ones_inherit(initialized: None, client) -> None:
    session = create_session()
    queue = create_queue()
    port = free_port()
    inherit, override = create_group(session), create_group(session)
    for group, path in ((inherit, "/a/"), (override, "/b/")):
        assert bind(group, queue) == NO_ERROR
        assert HttpAddUrlToUrlGroup(group, f"http://+:{port}{path}", 0, 0) == NO_ERROR
    short = HTTP_TIMEOUT_LIMIT_INFO(Flags=HTTP_PROPERTY_FLAGS(1), IdleConnection=1)
    assert HttpSetServerSessionProperty(session, HttpServerTimeoutsProperty, short, sizeof(short)) == NO_ERROR
    longer = HTTP_TIMEOUT_LIMIT_INFO(Flags=HTTP_PROPERTY_FLAGS(1), IdleConnection=5)
    assert HttpSetUrlGroupProperty(override, HttpServerTimeoutsProperty, longer, sizeof(longer)) == NO_ERROR
    a, b = client(port), client(port)
    for peer, path in ((a, "/a/x"), (b, "/b/x")):
        peer.get(path, port)
        request = receive(queue)
        respond(queue, request.RequestId)
        assert peer.recv_response()[0] == b"HTTP/1.1 200 OK"
    time.sleep(1.6)
    assert a.closed_by_peer(0.5) in ("eof", "reset")
    assert b.closed_by_peer(0.1) == "open"


def test_url_context_is_reported_per_registration_and_zero_for_v1(initialized: None, client) -> None:
    group = create_group(create_session())
    queue = create_queue()
    port = free_port()
    assert bind(group, queue) == NO_ERROR
    assert HttpAddUrlToUrlGroup(group, f"http://+:{port}/one/", 0x1111, 0) == NO_ERROR
    assert HttpAddUrlToUrlGroup(group, f"http://+:{port}/two/", 0xFFFFFFFFFFFFFFFF, 0) == NO_ERROR
    for path, context in (("/one/x", 0x1111), ("/two/", 0xFFFFFFFFFFFFFFFF)):
        c = client(port)
        c.get(path, port)
        request = receive(queue)
        assert request.UrlContext == context
        respond(queue, request.RequestId)
    v1 = wintypes.HANDLE()
    assert HttpCreateHttpHandle(v1, 0) == NO_ERROR
    v1_port = free_port()
    assert HttpAddUrl(v1.value, f"http://+:{v1_port}/", None) == NO_ERROR
    c = client(v1_port)
    c.get("/", v1_port)
    request = receive(v1.value)
    assert request.UrlContext == 0
    respond(v1.value, request.RequestId)
    assert CloseHandle(v1.value)


def test_add_url_to_url_group_validates_reserved_and_group(initialized: None) -> None:
    group = create_group(create_session())
    url = f"http://localhost:{free_port()}/"
    assert HttpAddUrlToUrlGroup(group, url, 0, 1) == ERROR_INVALID_PARAMETER
    assert HttpAddUrlToUrlGroup(0xDEAD, url, 0, 0) == ERROR_INVALID_PARAMETER
    assert HttpAddUrlToUrlGroup(group, None, 0, 0) == ERROR_INVALID_PARAMETER
    assert HttpAddUrlToUrlGroup(group, url, 0, 0) == NO_ERROR
    assert HttpAddUrlToUrlGroup(group, url, 0, 0) == ERROR_ALREADY_EXISTS


def test_remove_all_removes_every_url_and_refuses_a_url_argument(initialized: None) -> None:
    session = create_session()
    group = create_group(session)
    port = free_port()
    urls = [f"http://localhost:{port}/a/", f"http://localhost:{port}/b/"]
    for url in urls:
        assert HttpAddUrlToUrlGroup(group, url, 0, 0) == NO_ERROR
    assert HttpRemoveUrlFromUrlGroup(group, urls[0], HTTP_URL_FLAG_REMOVE_ALL) == ERROR_INVALID_PARAMETER
    assert HttpRemoveUrlFromUrlGroup(group, None, HTTP_URL_FLAG_REMOVE_ALL) == NO_ERROR
    for url in urls:
        assert HttpRemoveUrlFromUrlGroup(group, url, 0) == ERROR_FILE_NOT_FOUND
    other = create_group(session)
    for url in urls:
        assert HttpAddUrlToUrlGroup(other, url, 0, 0) == NO_ERROR


def test_remove_url_from_url_group_rules(initialized: None) -> None:
    group = create_group(create_session())
    url = f"http://localhost:{free_port()}/x/"
    assert HttpAddUrlToUrlGroup(group, url, 0, 0) == NO_ERROR
    assert HttpRemoveUrlFromUrlGroup(group, url, 0x2) == ERROR_INVALID_PARAMETER
    assert HttpRemoveUrlFromUrlGroup(0xDEAD, url, 0) == ERROR_INVALID_PARAMETER
    assert HttpRemoveUrlFromUrlGroup(group, None, 0) == ERROR_INVALID_PARAMETER
    assert HttpRemoveUrlFromUrlGroup(group, url, 0) == NO_ERROR
    assert HttpRemoveUrlFromUrlGroup(group, url, 0) == ERROR_FILE_NOT_FOUND


def test_another_process_cannot_close_this_process_session_or_group(server: Server) -> None:
    script = textwrap.dedent(
        f"""
        from httpsys.win32 import *
        assert HttpInitialize(HTTPAPI_VERSION_2, HTTP_INITIALIZE_SERVER, None) == 0
        print(HttpCloseServerSession({server.session}), HttpCloseUrlGroup({server.group}))
        HttpTerminate(HTTP_INITIALIZE_SERVER, None)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert out.stdout.split() == [str(ERROR_INVALID_PARAMETER), str(ERROR_INVALID_PARAMETER)], out.stderr
    assert HttpCloseUrlGroup(server.group) == NO_ERROR  # still ours
