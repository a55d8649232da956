"""Request delegation (spec §6 item 149, §2 HttpDelegateRequestEx / HttpFindUrlGroupId, decision 0024 §1).

A front queue receives a request and hands it to a worker's named queue, opened by name with
HTTP_CREATE_REQUEST_QUEUE_FLAG_DELEGATION, after naming that queue in its URL group's HttpServerDelegationProperty.
Runs in both modes (HTTPSYS_TEST_MODE=daemon: the daemon's engine moves the request).
"""

from __future__ import annotations

import ctypes
import uuid
from dataclasses import dataclass

import pytest

from httpsys.win32 import *

from .harness import (
    RawClient,
    Server,
    bind,
    create_group,
    create_queue,
    create_session,
    free_port,
    make_server,
    read_all,
    read_body,
    receive,
    respond,
)


@dataclass
class Worker:
    """The destination: a named queue with its own session, group and registration (another port)."""

    name: str
    queue: int
    group: int
    port: int
    url: str
    context: int


def make_worker(context: int = 77) -> Worker:
    name = "delegation-" + uuid.uuid4().hex[:12]
    session = create_session()
    group = create_group(session)
    queue = create_queue(name)
    assert bind(group, queue) == NO_ERROR
    for _ in range(10):
        port = free_port()
        url = f"http://localhost:{port}/tenant/"
        code = HttpAddUrlToUrlGroup(group, url, context, 0)
        if code != ERROR_SHARING_VIOLATION:
            break
    assert code == NO_ERROR
    return Worker(name, queue, group, port, url, context)


def open_for_delegation(name: str) -> int:
    holder = ctypes.c_void_p()
    flags = HTTP_CREATE_REQUEST_QUEUE_FLAG_OPEN_EXISTING | HTTP_CREATE_REQUEST_QUEUE_FLAG_DELEGATION
    assert HttpCreateRequestQueue(HTTPAPI_VERSION_2, name, None, flags, holder) == NO_ERROR
    return int(holder.value or 0)


def set_delegation(group: int, queue: int, present: bool = True) -> int:
    info = HTTP_BINDING_INFO(HTTP_PROPERTY_FLAGS(1 if present else 0), queue)
    return HttpSetUrlGroupProperty(group, HttpServerDelegationProperty, info, sizeof(info))


def url_property(url: str) -> HTTP_DELEGATE_REQUEST_PROPERTY_INFO:
    return HTTP_DELEGATE_REQUEST_PROPERTY_INFO(
        PropertyId=DelegateRequestDelegateUrlProperty,
        PropertyInfoLength=len(url.encode("utf-16-le")),
        PropertyInfo=url,
    )


def delegate(source: int, target: int, request_id: int, url: str | None = None, group: int = 0) -> int:
    props = [url_property(url)] if url is not None else None
    return HttpDelegateRequestEx(source, target, request_id, group, len(props or ()), props)


@pytest.fixture
def pair(server: Server) -> tuple[Server, Worker, int]:
    """(front server, worker, the front's delegation handle of the worker's queue), delegation allowed."""
    worker = make_worker()
    target = open_for_delegation(worker.name)
    assert set_delegation(server.group, target) == NO_ERROR
    return server, worker, target


def test_feature_is_reported(initialized: None) -> None:
    assert HttpIsFeatureSupported(HttpFeatureDelegateEx) is True


def test_find_url_group_id_names_the_group_bound_to_the_queue(pair: tuple[Server, Worker, int]) -> None:
    _server, worker, target = pair
    holder = ctypes.c_ulonglong(0xDEAD)
    assert HttpFindUrlGroupId(worker.url, target, holder) == NO_ERROR and holder.value == worker.group
    deeper = ctypes.c_ulonglong()
    assert HttpFindUrlGroupId(worker.url + "a/b", worker.queue, deeper) == NO_ERROR
    assert deeper.value == worker.group
    missing = ctypes.c_ulonglong(5)
    assert (
        HttpFindUrlGroupId(f"http://localhost:{worker.port}/other/", target, missing) == ERROR_FILE_NOT_FOUND
    )
    assert missing.value == 5
    assert HttpFindUrlGroupId("not a url", target, holder) == ERROR_INVALID_PARAMETER
    assert HttpFindUrlGroupId(worker.url, target, None) == ERROR_INVALID_PARAMETER
    assert HttpFindUrlGroupId(worker.url, 0xBAD0, holder) == ERROR_INVALID_HANDLE


def test_delegated_request_is_answered_by_the_worker(pair: tuple[Server, Worker, int], client) -> None:
    server, worker, target = pair
    c: RawClient = client(server.port)
    c.get("/hello?x=1")
    front = receive(server.queue)
    source_id = front.RequestId
    assert front.pRawUrl == b"/hello?x=1" and front.UrlContext == server.context
    assert delegate(server.queue, target, source_id, worker.url) == NO_ERROR
    moved = receive(worker.queue)
    assert moved.pRawUrl == b"/hello?x=1" and moved.UrlContext == worker.context
    assert moved.ConnectionId == front.ConnectionId
    assert moved.RequestId and moved.RequestId != source_id  # a new id, given at the worker's receive
    # the source lost the request: every call on its old id fails as for an unknown request
    assert respond(server.queue, source_id, b"front")[0] == ERROR_CONNECTION_INVALID
    assert delegate(server.queue, target, source_id, worker.url) == ERROR_CONNECTION_INVALID
    assert respond(worker.queue, moved.RequestId, b"from the worker")[0] == NO_ERROR
    status, _headers, body = c.recv_response()
    assert status.startswith(b"HTTP/1.1 200") and body == b"from the worker"
    # the connection stays usable: the next request is routed to the front again
    c.get("/again")
    again = receive(server.queue)
    assert again.pRawUrl == b"/again"
    assert respond(server.queue, again.RequestId, b"front")[0] == NO_ERROR
    assert c.recv_response()[2] == b"front"


def test_a_delegated_request_waits_for_the_workers_receive(pair: tuple[Server, Worker, int], client) -> None:
    server, worker, target = pair
    c = client(server.port)
    c.send(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world")
    front = receive(server.queue)
    assert delegate(server.queue, target, front.RequestId, None, worker.group) == NO_ERROR
    moved = receive(worker.queue)  # posted after the delegation: the request waited in the worker's queue
    assert moved.pRawUrl == b"/upload" and moved.UrlContext == worker.context
    assert read_all(worker.queue, moved.RequestId) == b"hello world"  # the body went with it, unread
    assert respond(worker.queue, moved.RequestId, b"stored")[0] == NO_ERROR
    assert c.recv_response()[2] == b"stored"


def test_delegation_errors(pair: tuple[Server, Worker, int], client) -> None:
    server, worker, target = pair
    c = client(server.port)
    c.send(b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody")
    front = receive(server.queue)
    rid = front.RequestId
    assert delegate(0xBAD0, target, rid, worker.url) == ERROR_INVALID_HANDLE
    assert delegate(server.queue, 0xBAD0, rid, worker.url) == ERROR_INVALID_HANDLE
    assert delegate(server.queue, target, rid + 1000, worker.url) == ERROR_CONNECTION_INVALID
    assert delegate(server.queue, server.queue, rid, worker.url) == ERROR_INVALID_PARAMETER
    assert delegate(server.queue, target, rid, f"http://localhost:{worker.port}/nowhere/") == (
        ERROR_INVALID_PARAMETER
    )
    assert (
        delegate(server.queue, target, rid, None, server.group) == ERROR_INVALID_PARAMETER
    )  # not bound there
    bad = HTTP_DELEGATE_REQUEST_PROPERTY_INFO(PropertyId=7, PropertyInfoLength=0, PropertyInfo=None)
    assert HttpDelegateRequestEx(server.queue, target, rid, 0, 1, [bad]) == ERROR_INVALID_PARAMETER
    # a request whose body the source has read can no longer move
    assert read_body(server.queue, rid, 2) == (NO_ERROR, b"bo")
    assert delegate(server.queue, target, rid, worker.url) == ERROR_INVALID_PARAMETER
    assert respond(server.queue, rid, b"kept")[0] == NO_ERROR  # still the source's
    assert c.recv_response()[2] == b"kept"


def test_a_request_with_a_response_started_cannot_move(pair: tuple[Server, Worker, int], client) -> None:
    server, worker, target = pair
    c = client(server.port)
    c.get("/partial")
    rid = receive(server.queue).RequestId
    assert respond(server.queue, rid, b"", flags=HTTP_SEND_RESPONSE_FLAG_MORE_DATA)[0] == NO_ERROR
    assert delegate(server.queue, target, rid, worker.url) == ERROR_INVALID_PARAMETER
    c.recv_until(b"\r\n\r\n")


def test_delegation_needs_the_property(server: Server, client) -> None:
    worker = make_worker()
    target = open_for_delegation(worker.name)
    c = client(server.port)
    c.get("/a")
    rid = receive(server.queue).RequestId
    assert delegate(server.queue, target, rid, worker.url) == ERROR_ACCESS_DENIED
    assert set_delegation(server.group, target) == NO_ERROR
    assert set_delegation(server.group, target, present=False) == NO_ERROR  # Present 0 removes that queue
    assert delegate(server.queue, target, rid, worker.url) == ERROR_ACCESS_DENIED
    assert set_delegation(server.group, 0xBAD0) == ERROR_INVALID_PARAMETER
    assert set_delegation(server.group, target) == NO_ERROR
    assert delegate(server.queue, target, rid, worker.url) == NO_ERROR
    moved = receive(worker.queue)
    assert respond(worker.queue, moved.RequestId, b"ok")[0] == NO_ERROR
    assert c.recv_response()[2] == b"ok"


def test_a_second_front_group_cannot_borrow_anothers_delegation(initialized: None, client) -> None:
    first, second = make_server(), make_server()
    worker = make_worker()
    target = open_for_delegation(worker.name)
    assert set_delegation(first.group, target) == NO_ERROR
    c = client(second.port)
    c.get("/b")
    rid = receive(second.queue).RequestId
    assert delegate(second.queue, target, rid, worker.url) == ERROR_ACCESS_DENIED
    assert respond(second.queue, rid, b"second")[0] == NO_ERROR
    assert c.recv_response()[2] == b"second"
