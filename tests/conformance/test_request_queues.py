"""Request queues: names, OPEN_EXISTING, CONTROLLER, queue properties, shutdown, close, demand start (§6 C 21-36)."""

from __future__ import annotations

import ctypes
import subprocess
import sys
import textwrap
import threading
import time
import uuid

import pytest

from httpsys.win32 import *

from .harness import (
    Server,
    bind,
    create_group,
    create_queue,
    create_session,
    free_port,
    only_shared,
    receive,
    respond,
    set_verbosity,
    wait,
)


def unique_name() -> str:
    return "conformance-" + uuid.uuid4().hex[:12]


def open_queue(
    name: str, flags: int = HTTP_CREATE_REQUEST_QUEUE_FLAG_OPEN_EXISTING, sa: object = None
) -> tuple[int, int]:
    holder = ctypes.c_void_p()
    code = HttpCreateRequestQueue(HTTPAPI_VERSION_2, name, sa, flags, holder)
    return code, int(holder.value or 0)


def ulong_property(queue: int, prop: int) -> tuple[int, int]:
    value, returned = ctypes.c_ulong(0xFFFF), ctypes.c_ulong()
    code = HttpQueryRequestQueueProperty(queue, prop, value, 4, 0, returned, None)
    return code, value.value


def set_ulong_property(queue: int, prop: int, value: int, length: int = 4) -> int:
    return HttpSetRequestQueueProperty(queue, prop, ctypes.c_ulong(value), length, 0, None)


@pytest.mark.parametrize("version", [HTTPAPI_VERSION_1, HTTPAPI_VERSION(2, 1), HTTPAPI_VERSION(3, 0)])
def test_create_request_queue_requires_version_two(initialized: None, version: object) -> None:
    holder = ctypes.c_void_p()
    assert HttpCreateRequestQueue(version, None, None, 0, holder) == ERROR_REVISION_MISMATCH
    assert holder.value is None


def test_create_request_queue_needs_a_handle_holder_and_known_flags(initialized: None) -> None:
    assert HttpCreateRequestQueue(HTTPAPI_VERSION_2, None, None, 0, None) == ERROR_INVALID_PARAMETER
    assert (
        HttpCreateRequestQueue(HTTPAPI_VERSION_2, None, None, 0x80, ctypes.c_void_p())
        == ERROR_INVALID_PARAMETER
    )
    assert (
        HttpCreateRequestQueue(HTTPAPI_VERSION_2, None, "sa", 0, ctypes.c_void_p()) == ERROR_INVALID_PARAMETER
    )


def test_named_queue_names_are_unique(initialized: None) -> None:
    name = unique_name()
    assert open_queue(name, 0)[0] == NO_ERROR
    assert open_queue(name, 0)[0] == ERROR_ALREADY_EXISTS
    assert open_queue(name.upper(), 0)[0] == ERROR_ALREADY_EXISTS


def test_queue_name_is_limited_to_max_path_bytes(initialized: None) -> None:
    assert open_queue("q" * 130, 0)[0] == NO_ERROR  # 260 bytes of UTF-16
    assert open_queue("r" * 131, 0)[0] == ERROR_INVALID_PARAMETER


@pytest.mark.parametrize("name", ["", "a\\b"])
def test_malformed_queue_names_are_invalid_name(initialized: None, name: str) -> None:
    assert open_queue(name, 0)[0] == ERROR_INVALID_NAME


def test_open_existing_opens_a_named_queue_by_name(initialized: None, client) -> None:
    name = unique_name()
    code, creator = open_queue(name, 0)
    assert code == NO_ERROR
    code, opened = open_queue(name)
    assert code == NO_ERROR and opened and opened != creator
    group = create_group(create_session())
    port = free_port()
    assert bind(group, creator) == NO_ERROR
    assert HttpAddUrlToUrlGroup(group, f"http://+:{port}/", 0, 0) == NO_ERROR
    c = client(port)
    c.get("/", port)
    request = receive(opened)  # a worker receives from the same queue
    assert respond(opened, request.RequestId, b"worker")[0] == NO_ERROR
    assert c.recv_response()[2] == b"worker"


def test_open_existing_rules(initialized: None) -> None:
    name = unique_name()
    assert open_queue(name)[0] == ERROR_FILE_NOT_FOUND
    assert open_queue(name, 0)[0] == NO_ERROR
    assert (
        HttpCreateRequestQueue(HTTPAPI_VERSION_2, None, None, 1, ctypes.c_void_p()) == ERROR_INVALID_PARAMETER
    )
    sa = SECURITY_ATTRIBUTES(nLength=sizeof(SECURITY_ATTRIBUTES))
    assert open_queue(name, HTTP_CREATE_REQUEST_QUEUE_FLAG_OPEN_EXISTING, sa)[0] == ERROR_INVALID_PARAMETER
    both = HTTP_CREATE_REQUEST_QUEUE_FLAG_OPEN_EXISTING | HTTP_CREATE_REQUEST_QUEUE_FLAG_CONTROLLER
    assert open_queue(name, both)[0] == ERROR_INVALID_PARAMETER


def test_security_attributes_are_accepted_at_creation(initialized: None) -> None:
    sa = SECURITY_ATTRIBUTES(nLength=sizeof(SECURITY_ATTRIBUTES), lpSecurityDescriptor=b"D:(A;;GA;;;WD)")
    assert open_queue(unique_name(), 0, sa)[0] == NO_ERROR


@only_shared
def test_queue_acl_keeps_other_processes_out(initialized: None) -> None:
    name = unique_name()
    sa = SECURITY_ATTRIBUTES(nLength=sizeof(SECURITY_ATTRIBUTES), lpSecurityDescriptor=b"D:(D;;GA;;;WD)")
    assert open_queue(name, 0, sa)[0] == NO_ERROR
    assert child_open(name) == ERROR_ACCESS_DENIED


def child_open(name: str) -> int:
    script = textwrap.dedent(
        f"""
        import ctypes
        from httpsys.win32 import *
        HttpInitialize(HTTPAPI_VERSION_2, HTTP_INITIALIZE_SERVER, None)
        print(HttpCreateRequestQueue(HTTPAPI_VERSION_2, {name!r}, None, 1, ctypes.c_void_p()))
        HttpTerminate(HTTP_INITIALIZE_SERVER, None)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    return int(out.stdout.strip())


@only_shared
def test_another_process_can_open_a_named_queue(initialized: None) -> None:
    name = unique_name()
    assert open_queue(name, 0)[0] == NO_ERROR
    assert child_open(name) == NO_ERROR


def test_controller_handle_cannot_do_http_io(initialized: None) -> None:
    name = unique_name()
    code, controller = open_queue(name, HTTP_CREATE_REQUEST_QUEUE_FLAG_CONTROLLER)
    assert code == NO_ERROR
    got = ctypes.c_ulong()
    assert (
        HttpReceiveHttpRequest(controller, 0, 0, HTTP_REQUEST_V2(), 4096, got, None)
        == ERROR_INVALID_PARAMETER
    )
    code, worker = open_queue(name)
    assert code == NO_ERROR
    ov = OVERLAPPED()
    assert HttpReceiveHttpRequest(worker, 0, 0, HTTP_REQUEST_V2(), 4096, None, ov) == ERROR_IO_PENDING
    assert CancelIoEx(worker, ov)


def test_only_the_creator_sets_queue_properties_and_openers_query_them(initialized: None) -> None:
    name = unique_name()
    code, creator = open_queue(name, 0)
    code, opened = open_queue(name)
    assert code == NO_ERROR
    assert set_ulong_property(creator, HttpServerQueueLengthProperty, 77) == NO_ERROR
    assert set_ulong_property(opened, HttpServerQueueLengthProperty, 5) == ERROR_INVALID_PARAMETER
    assert ulong_property(opened, HttpServerQueueLengthProperty) == (NO_ERROR, 77)


def test_queue_length_range_is_one_to_max(initialized: None) -> None:
    queue = create_queue()
    assert ulong_property(queue, HttpServerQueueLengthProperty) == (NO_ERROR, 1000)
    assert set_ulong_property(queue, HttpServerQueueLengthProperty, 0) == ERROR_INVALID_PARAMETER
    assert set_ulong_property(queue, HttpServerQueueLengthProperty, HTTP_MAX_SERVER_QUEUE_LENGTH + 1) == (
        ERROR_INVALID_PARAMETER
    )
    assert set_ulong_property(queue, HttpServerQueueLengthProperty, HTTP_MAX_SERVER_QUEUE_LENGTH) == NO_ERROR
    assert set_ulong_property(queue, HttpServerQueueLengthProperty, HTTP_MIN_SERVER_QUEUE_LENGTH) == NO_ERROR


def test_queue_length_limit_answers_excess_requests_with_503(server: Server, client) -> None:
    assert set_ulong_property(server.queue, HttpServerQueueLengthProperty, 1) == NO_ERROR
    set_verbosity(server.queue, Http503ResponseVerbosityLimited)
    first = client(server.port)
    first.get("/", server.port)
    time.sleep(0.2)
    second = client(server.port)
    second.get("/", server.port)
    assert second.recv_response()[0] == b"HTTP/1.1 503 Service Unavailable"
    request = server.receive()
    respond(server.queue, request.RequestId, b"first")
    assert first.recv_response()[2] == b"first"


@pytest.mark.parametrize(
    ("verbosity", "expect"),
    [
        (Http503ResponseVerbosityBasic, "reset"),
        (Http503ResponseVerbosityLimited, b"The service is unavailable."),
    ],
)
def test_503_verbosity_decides_between_reset_and_a_503(
    server: Server, client, verbosity: int, expect: object
) -> None:
    assert ulong_property(server.queue, HttpServer503VerbosityProperty) == (
        NO_ERROR,
        Http503ResponseVerbosityBasic,
    )
    set_verbosity(server.queue, verbosity)
    assert ulong_property(server.queue, HttpServer503VerbosityProperty) == (NO_ERROR, verbosity)
    assert set_ulong_property(server.queue, HttpServerStateProperty, HttpEnabledStateInactive) == NO_ERROR
    c = client(server.port)
    c.get("/", server.port)
    if expect == "reset":
        assert c.closed_by_peer() in ("reset", "eof") and c.buf == b""
    else:
        status, headers, body = c.recv_response()
        assert status == b"HTTP/1.1 503 Service Unavailable" and headers[b"connection"] == b"close"
        assert isinstance(expect, bytes) and expect in body


def test_full_verbosity_also_sends_a_503(server: Server, client) -> None:
    set_verbosity(server.queue, Http503ResponseVerbosityFull)
    assert set_ulong_property(server.queue, HttpServerStateProperty, HttpEnabledStateInactive) == NO_ERROR
    c = client(server.port)
    c.get("/", server.port)
    assert c.recv_response()[0].startswith(b"HTTP/1.1 503 ")
    assert set_ulong_property(server.queue, HttpServer503VerbosityProperty, 3) == ERROR_INVALID_PARAMETER


def test_queue_state_is_a_bare_enabled_state(server: Server, client) -> None:
    assert ulong_property(server.queue, HttpServerStateProperty) == (NO_ERROR, HttpEnabledStateActive)
    info = HTTP_STATE_INFO(HTTP_PROPERTY_FLAGS(1), HttpEnabledStateInactive)
    assert HttpSetRequestQueueProperty(server.queue, HttpServerStateProperty, info, 8, 0, None) == (
        ERROR_INVALID_PARAMETER
    )
    assert HttpSetRequestQueueProperty(
        server.queue, HttpServerStateProperty, HttpEnabledStateInactive, 4, 0, None
    ) == (NO_ERROR)
    assert ulong_property(server.queue, HttpServerStateProperty) == (NO_ERROR, HttpEnabledStateInactive)
    assert set_ulong_property(server.queue, HttpServerStateProperty, HttpEnabledStateActive) == NO_ERROR
    c = client(server.port)
    c.get("/", server.port)
    request = server.receive()
    respond(server.queue, request.RequestId)
    assert c.recv_response()[0] == b"HTTP/1.1 200 OK"


def test_queue_property_apis_on_a_v1_handle_are_not_supported(initialized: None) -> None:
    handle = ctypes.c_void_p()
    assert HttpCreateHttpHandle(handle, 0) == NO_ERROR
    assert set_ulong_property(handle.value, HttpServerQueueLengthProperty, 10) == ERROR_NOT_SUPPORTED
    assert ulong_property(handle.value, HttpServerQueueLengthProperty)[0] == ERROR_NOT_SUPPORTED
    assert CloseHandle(handle.value)


def test_queue_property_argument_rules(initialized: None) -> None:
    queue = create_queue()
    value = ctypes.c_ulong(10)
    prop = HttpServerQueueLengthProperty
    assert HttpSetRequestQueueProperty(queue, prop, value, 4, 1, None) == ERROR_INVALID_PARAMETER
    assert HttpSetRequestQueueProperty(queue, prop, value, 4, 0, b"x") == ERROR_INVALID_PARAMETER
    assert HttpSetRequestQueueProperty(queue, prop, None, 4, 0, None) == ERROR_INVALID_PARAMETER
    assert HttpSetRequestQueueProperty(queue, prop, value, 0, 0, None) == ERROR_INVALID_PARAMETER
    assert HttpSetRequestQueueProperty(queue, prop, value, 2, 0, None) == ERROR_INVALID_PARAMETER
    assert HttpSetRequestQueueProperty(queue, HttpServerTimeoutsProperty, value, 4, 0, None) == (
        ERROR_INVALID_PARAMETER
    )
    assert HttpSetRequestQueueProperty(queue, prop, value, 8, 0, None) == NO_ERROR  # ctypes c_ulong is 8 here
    assert HttpSetRequestQueueProperty(queue, prop, ctypes.byref(value), 4, 0, None) == NO_ERROR
    assert HttpSetRequestQueueProperty(queue, prop, 12, 4, 0, None) == NO_ERROR
    returned = ctypes.c_ulong()
    out = ctypes.c_ulong()
    assert HttpQueryRequestQueueProperty(queue, prop, out, 4, 1, returned, None) == ERROR_INVALID_PARAMETER
    assert HttpQueryRequestQueueProperty(queue, prop, None, 4, 0, returned, None) == ERROR_INVALID_PARAMETER
    assert HttpQueryRequestQueueProperty(queue, prop, out, 0, 0, returned, None) == ERROR_INVALID_PARAMETER
    assert HttpQueryRequestQueueProperty(queue, prop, out, 2, 0, returned, None) == ERROR_MORE_DATA
    assert returned.value == 4
    assert HttpQueryRequestQueueProperty(queue, prop, ctypes.byref(out), 4, 0, returned, None) == NO_ERROR
    assert out.value == 12 and returned.value == 4
    assert HttpQueryRequestQueueProperty(queue, prop, 5, 4, 0, returned, None) == ERROR_INVALID_PARAMETER


def test_shutdown_cancels_pending_receives_disconnect_waits_and_unanswered_requests(
    server: Server, client
) -> None:
    c = client(server.port)
    c.get("/", server.port)
    held = server.receive()
    ov = OVERLAPPED()
    assert HttpReceiveHttpRequest(server.queue, 0, 0, HTTP_REQUEST_V2(), 4096, None, ov) == ERROR_IO_PENDING
    disconnect = OVERLAPPED()
    assert HttpWaitForDisconnect(server.queue, held.ConnectionId, disconnect) == ERROR_IO_PENDING
    assert HttpShutdownRequestQueue(server.queue) == NO_ERROR
    ok, error, nbytes = wait(server.queue, ov)
    assert not ok and error == ERROR_OPERATION_ABORTED and nbytes == 0
    ok, error, _ = wait(server.queue, disconnect)
    assert not ok and error == ERROR_OPERATION_ABORTED
    assert c.closed_by_peer() in ("reset", "eof")
    assert respond(server.queue, held.RequestId)[0] == ERROR_CONNECTION_INVALID
    got = ctypes.c_ulong()
    assert (
        HttpReceiveHttpRequest(server.queue, 0, 0, HTTP_REQUEST_V2(), 4096, got, None) == ERROR_INVALID_HANDLE
    )


def test_shutdown_lets_a_response_already_started_finish(server: Server, client) -> None:
    c = client(server.port)
    c.get("/", server.port)
    request = server.receive()
    code, _ = respond(
        server.queue,
        request.RequestId,
        flags=HTTP_SEND_RESPONSE_FLAG_MORE_DATA,
        known={HttpHeaderContentLength: b"4"},
    )
    assert code == NO_ERROR
    assert HttpShutdownRequestQueue(server.queue) == NO_ERROR
    sent = ctypes.c_ulong()
    chunk = [
        HTTP_DATA_CHUNK(
            DataChunkType=HttpDataChunkFromMemory, FromMemory=HTTP_DATA_CHUNK_FROM_MEMORY(b"done")
        )
    ]
    assert HttpSendResponseEntityBody(
        server.queue, request.RequestId, 0, 1, chunk, sent, None, 0, None, None
    ) == (NO_ERROR)
    assert c.recv_response()[2] == b"done"


def test_requests_not_received_by_a_shut_down_handle_go_to_another_handle(initialized: None, client) -> None:
    name = unique_name()
    _, first = open_queue(name, 0)
    _, second = open_queue(name)
    group = create_group(create_session())
    port = free_port()
    assert bind(group, first) == NO_ERROR
    assert HttpAddUrlToUrlGroup(group, f"http://+:{port}/", 0, 0) == NO_ERROR
    assert HttpShutdownRequestQueue(first) == NO_ERROR
    c = client(port)
    c.get("/", port)
    request = receive(second)
    respond(second, request.RequestId, b"second")
    assert c.recv_response()[2] == b"second"


def test_close_request_queue_abandons_its_unanswered_requests(server: Server, client) -> None:
    c = client(server.port)
    c.get("/", server.port)
    server.receive()
    assert HttpCloseRequestQueue(server.queue) == NO_ERROR
    assert c.closed_by_peer() in ("reset", "eof")
    assert c.buf == b""


def test_each_request_goes_to_exactly_one_of_several_receivers(initialized: None, client) -> None:
    name = unique_name()
    _, first = open_queue(name, 0)
    _, second = open_queue(name)
    group = create_group(create_session())
    port = free_port()
    assert bind(group, first) == NO_ERROR
    assert HttpAddUrlToUrlGroup(group, f"http://+:{port}/", 0, 0) == NO_ERROR
    overlapped = {first: OVERLAPPED(), second: OVERLAPPED()}
    requests = {first: HTTP_REQUEST_V2(), second: HTTP_REQUEST_V2()}
    for handle, ov in overlapped.items():
        assert HttpReceiveHttpRequest(handle, 0, 0, requests[handle], 4096, None, ov) == ERROR_IO_PENDING
    c1, c2 = client(port), client(port)
    c1.get("/", port)
    c2.get("/", port)
    ids = set()
    for handle, ov in overlapped.items():
        ok, _, _ = wait(handle, ov)
        assert ok
        ids.add(requests[handle].RequestId)
        respond(handle, requests[handle].RequestId)
    assert len(ids) == 2
    assert c1.recv_response()[0] == c2.recv_response()[0] == b"HTTP/1.1 200 OK"


def test_wait_for_demand_start_completes_when_a_request_arrives(initialized: None, client) -> None:
    name = unique_name()
    code, controller = open_queue(name, HTTP_CREATE_REQUEST_QUEUE_FLAG_CONTROLLER)
    assert code == NO_ERROR
    group = create_group(create_session())
    port = free_port()
    assert bind(group, controller) == NO_ERROR
    assert HttpAddUrlToUrlGroup(group, f"http://+:{port}/", 0, 0) == NO_ERROR
    ov = OVERLAPPED()
    assert HttpWaitForDemandStart(controller, ov) == ERROR_IO_PENDING
    assert HttpWaitForDemandStart(controller, OVERLAPPED()) == ERROR_ALREADY_EXISTS
    c = client(port)
    c.get("/", port)
    ok, _, _ = wait(controller, ov)
    assert ok
    _, worker = open_queue(name)
    request = receive(worker)
    respond(worker, request.RequestId)
    assert c.recv_response()[0] == b"HTTP/1.1 200 OK"


def test_wait_for_demand_start_rules(initialized: None) -> None:
    assert HttpWaitForDemandStart(create_queue(), OVERLAPPED()) == ERROR_INVALID_ID_AUTHORITY
    name = unique_name()
    _, controller = open_queue(name, HTTP_CREATE_REQUEST_QUEUE_FLAG_CONTROLLER)
    _, worker = open_queue(name)
    assert HttpWaitForDemandStart(worker, OVERLAPPED()) == ERROR_INVALID_ID_AUTHORITY
    ov = OVERLAPPED()
    assert HttpWaitForDemandStart(controller, ov) == ERROR_IO_PENDING
    assert CancelIoEx(controller, ov)
    ok, error, _ = wait(controller, ov)
    assert not ok and error == ERROR_OPERATION_ABORTED
    pending = OVERLAPPED()
    assert HttpWaitForDemandStart(controller, pending) == ERROR_IO_PENDING
    assert HttpShutdownRequestQueue(controller) == NO_ERROR
    ok, error, _ = wait(controller, pending)
    assert not ok and error == ERROR_OPERATION_ABORTED
    assert HttpWaitForDemandStart(controller, OVERLAPPED()) == ERROR_INVALID_HANDLE


def test_synchronous_wait_for_demand_start_blocks_until_a_request(initialized: None, client) -> None:
    _, controller = open_queue(unique_name(), HTTP_CREATE_REQUEST_QUEUE_FLAG_CONTROLLER)
    group = create_group(create_session())
    port = free_port()
    bind(group, controller)
    HttpAddUrlToUrlGroup(group, f"http://+:{port}/", 0, 0)
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(HttpWaitForDemandStart(controller, None)))
    thread.start()
    time.sleep(0.1)
    assert result == []
    client(port).get("/", port)
    thread.join(5)
    assert result == [NO_ERROR]
