"""Delegation across processes through a real `httpsys daemon` (spec §6 item 149, decision 0024 §1): a front
process receives every request and hands each to the per-tenant worker process that owns the tenant's queue.

Every test starts its own daemon on a temporary socket, binds 127.0.0.1 only, and stops every process it started.
"""

from __future__ import annotations

import ctypes
import os
import socket
import subprocess
import sys
import textwrap
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.daemon_process import DaemonProcess
from conformance.harness import bind, create_group, create_queue, create_session, free_port, receive, respond
from httpsys.win32 import *
from httpsys.win32 import api as win32_api
from httpsys.win32.kernel32 import lookup_handle
from httpsys.win32.queue_handle import RequestQueueHandle

TESTS_DIR = str(Path(__file__).resolve().parents[1])
ALL_INIT = HTTP_INITIALIZE_SERVER | HTTP_INITIALIZE_CONFIG


@pytest.fixture
def use_daemon(monkeypatch: pytest.MonkeyPatch) -> Iterator[DaemonProcess]:
    daemon = DaemonProcess()
    monkeypatch.setenv("HTTPSYS_DAEMON_SOCKET", daemon.path)
    win32_api.set_transport_factory(None)
    try:
        assert HttpInitialize(HTTPAPI_VERSION_2, ALL_INIT, None) == NO_ERROR
        try:
            yield daemon
        finally:
            assert HttpTerminate(ALL_INIT, None) == NO_ERROR
    finally:
        assert daemon.stop() == 0


def tenant_worker(daemon: DaemonProcess, tenant: str, name: str, port: int) -> subprocess.Popen[str]:
    """A worker process that creates the tenant's named queue and registers http://127.0.0.1:PORT/TENANT/ on it,
    then answers every request it receives with its tenant, pid and the raw URL."""
    script = textwrap.dedent(
        f"""
        import os
        from httpsys.win32 import *
        from conformance.harness import bind, create_group, create_queue, create_session, receive, respond
        assert HttpInitialize(HTTPAPI_VERSION_2, HTTP_INITIALIZE_SERVER, None) == NO_ERROR
        group = create_group(create_session())
        queue = create_queue({name!r})
        assert bind(group, queue) == NO_ERROR
        assert HttpAddUrlToUrlGroup(group, "http://127.0.0.1:{port}/{tenant}/", 5, 0) == NO_ERROR
        from httpsys.win32.kernel32 import lookup_handle
        from httpsys.win32.queue_handle import RequestQueueHandle
        print("ready", lookup_handle(queue, RequestQueueHandle).handle_id, flush=True)
        while True:
            request = receive(queue, timeout=60)
            body = b"%s pid %d url %s context %d" % (
                {tenant.encode()!r}, os.getpid(), request.pRawUrl, request.UrlContext
            )
            assert respond(queue, request.RequestId, body)[0] == NO_ERROR
        """
    )
    env = dict(os.environ, HTTPSYS_DAEMON_SOCKET=daemon.path, PYTHONPATH=TESTS_DIR)
    process = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("ready "):
        process.kill()
        raise AssertionError(
            f"worker did not start: {line!r} {process.stderr.read() if process.stderr else ''}"
        )
    process.engine_handle = int(line.split()[1])  # type: ignore[attr-defined]
    return process


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.kill()
    process.wait(10)
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()


def get(port: int, path: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        return data


def open_for_delegation(name: str) -> int:
    holder = ctypes.c_void_p()
    flags = HTTP_CREATE_REQUEST_QUEUE_FLAG_OPEN_EXISTING | HTTP_CREATE_REQUEST_QUEUE_FLAG_DELEGATION
    assert HttpCreateRequestQueue(HTTPAPI_VERSION_2, name, None, flags, holder) == NO_ERROR
    return int(holder.value or 0)


def test_a_front_process_hands_each_request_to_its_tenants_worker_process(use_daemon: DaemonProcess) -> None:
    group = create_group(create_session())
    front = create_queue()
    assert bind(group, front) == NO_ERROR
    port, tenant_port = free_port(), free_port()
    assert HttpAddUrlToUrlGroup(group, f"http://127.0.0.1:{port}/", 1, 0) == NO_ERROR
    workers: dict[str, subprocess.Popen[str]] = {}
    targets: dict[str, int] = {}
    try:
        for tenant in ("alpha", "beta"):
            name = f"tenant-{tenant}-{uuid.uuid4().hex[:8]}"
            workers[tenant] = tenant_worker(use_daemon, tenant, name, tenant_port)
            targets[tenant] = open_for_delegation(name)
            info = HTTP_BINDING_INFO(HTTP_PROPERTY_FLAGS(1), targets[tenant])
            assert (
                HttpSetUrlGroupProperty(group, HttpServerDelegationProperty, info, sizeof(info)) == NO_ERROR
            )
        # the destination groups belong to the worker processes; the front finds them by URL
        for tenant, target in targets.items():
            holder = ctypes.c_ulonglong()
            url = f"http://127.0.0.1:{tenant_port}/{tenant}/"
            assert HttpFindUrlGroupId(url, target, holder) == NO_ERROR and holder.value

        paths = [f"/{tenant}/item{i}" for i in range(4) for tenant in ("alpha", "beta")]
        answers: dict[str, bytes] = {}

        def fetch(path: str) -> None:
            answers[path] = get(port, path)

        threads = [threading.Thread(target=fetch, args=(p,)) for p in paths]
        for t in threads:
            t.start()
        for _ in paths:
            request = receive(front)
            tenant = request.pRawUrl.decode().split("/")[1]
            url = f"http://127.0.0.1:{tenant_port}/{tenant}/"
            prop = HTTP_DELEGATE_REQUEST_PROPERTY_INFO(
                PropertyId=DelegateRequestDelegateUrlProperty,
                PropertyInfoLength=len(url.encode("utf-16-le")),
                PropertyInfo=url,
            )
            assert HttpDelegateRequestEx(front, targets[tenant], request.RequestId, 0, 1, [prop]) == NO_ERROR
            # the request is no longer the front's
            assert respond(front, request.RequestId, b"front")[0] == ERROR_CONNECTION_INVALID
        for t in threads:
            t.join(20)
        for path in paths:
            tenant = path.split("/")[1]
            pid = workers[tenant].pid
            response = answers[path]
            assert response.startswith(b"HTTP/1.1 200"), response
            assert response.endswith(f"{tenant} pid {pid} url {path} context 5".encode()), response
    finally:
        for process in workers.values():
            stop(process)


def test_a_process_cannot_delegate_with_a_queue_handle_it_did_not_open(use_daemon: DaemonProcess) -> None:
    """Handles belong to their process: a worker's own queue handle id means nothing in the front's calls."""
    group = create_group(create_session())
    front = create_queue()
    assert bind(group, front) == NO_ERROR
    port, tenant_port = free_port(), free_port()
    assert HttpAddUrlToUrlGroup(group, f"http://127.0.0.1:{port}/", 1, 0) == NO_ERROR
    name = f"tenant-gamma-{uuid.uuid4().hex[:8]}"
    worker = tenant_worker(use_daemon, "gamma", name, tenant_port)
    try:
        mine = open_for_delegation(name)
        info = HTTP_BINDING_INFO(HTTP_PROPERTY_FLAGS(1), mine)
        assert HttpSetUrlGroupProperty(group, HttpServerDelegationProperty, info, sizeof(info)) == NO_ERROR
        result: list[bytes] = []

        t = threading.Thread(target=lambda: result.append(get(port, "/gamma/x")))
        t.start()
        request = receive(front)
        # the worker's own handle of its queue (a valid engine id) means nothing in the front's calls: the daemon
        # passes only handles the calling process created or opened
        transport = win32_api._state.transport
        assert transport is not None
        front_id = lookup_handle(front, RequestQueueHandle).handle_id
        theirs = worker.engine_handle  # type: ignore[attr-defined]
        assert (
            transport.delegate_request(front_id, theirs, request.RequestId, 0, None) == ERROR_INVALID_HANDLE
        )
        assert transport.find_url_group_id(f"http://127.0.0.1:{tenant_port}/gamma/", theirs)[0] == (
            ERROR_INVALID_HANDLE
        )
        ours = lookup_handle(mine, RequestQueueHandle).handle_id
        assert transport.find_url_group_id(f"http://127.0.0.1:{tenant_port}/gamma/", ours)[0] == NO_ERROR
        assert respond(front, request.RequestId, b"front kept it")[0] == NO_ERROR
        t.join(20)
        assert result and result[0].endswith(b"front kept it")
    finally:
        stop(worker)


def test_the_gw_right_hook_is_asked_before_each_delegation(tmp_path: Path) -> None:
    """DaemonServer.delegation_check (the URL ACL GW right, connected to the store's ACLs after merge): asked with
    the caller's SO_PEERCRED credentials and the destination URL; False answers ERROR_ACCESS_DENIED."""
    import asyncio

    from httpsys._daemon.server import DaemonServer
    from httpsys._transport.remote import RemoteTransport

    path = str(tmp_path / "d.sock")
    asked: list[tuple[int, int, str | None]] = []

    def check(peer: object, url: str | None) -> bool:
        asked.append((peer.pid, peer.uid, url))  # type: ignore[attr-defined]
        return url is not None and "/allowed/" in url

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = DaemonServer(path, loop)
        server.delegation_check = check
        server.start()

        def scenario() -> None:
            t = RemoteTransport(path)
            try:
                _, sid = t.create_server_session((2, 0))
                _, front_group = t.create_url_group(sid)
                _, front = t.create_request_queue(None, 0, False)
                assert t.set_group_property(front_group, 7, front) == 0
                port, other = free_port(), free_port()
                assert t.add_url(front_group, f"http://127.0.0.1:{port}/", 1) == 0
                name = "gw-" + uuid.uuid4().hex[:8]
                _, worker_group = t.create_url_group(sid)
                _, worker = t.create_request_queue(name, 0, False)
                assert t.set_group_property(worker_group, 7, worker) == 0
                assert t.add_url(worker_group, f"http://127.0.0.1:{other}/allowed/", 2) == 0
                _, target = t.create_request_queue(name, HTTP_CREATE_REQUEST_QUEUE_FLAG_OPEN_EXISTING, False)
                assert t.set_group_property(front_group, 16, (True, target)) == 0
                got: list[object] = []
                ready = threading.Event()
                t.receive_request(front, 0, 0, None, True, 1, lambda c, s, n: (got.append(s), ready.set()))
                client = socket.create_connection(("127.0.0.1", port), timeout=10)
                client.sendall(b"GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                assert ready.wait(10)
                rid = got[0].request_id  # type: ignore[attr-defined]
                denied = f"http://127.0.0.1:{other}/denied/"
                assert t.delegate_request(front, target, rid, 0, denied) == ERROR_ACCESS_DENIED
                allowed = f"http://127.0.0.1:{other}/allowed/"
                assert t.delegate_request(front, target, rid, 0, allowed) == NO_ERROR
                client.close()
            finally:
                t.close()

        try:
            await loop.run_in_executor(None, scenario)
        finally:
            server.close()

    asyncio.run(asyncio.wait_for(main(), 30))
    me = (os.getpid(), os.getuid())
    assert [(pid, uid) for pid, uid, _ in asked] == [me, me]
    assert "/denied/" in str(asked[0][2]) and "/allowed/" in str(asked[1][2])
