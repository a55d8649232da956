"""Per-client quotas of the daemon (issue 14 item 6) and hostile clients: handles, outstanding operations, bytes
queued for a client that does not read its socket, descriptors that do not belong to a frame.

Each test starts a daemon with small quotas (`httpsys daemon --client-...`) so that a few calls reach them.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.daemon_process import DaemonProcess
from conformance.harness import free_port
from daemon_mode.forkserver import _Channel
from daemon_mode.test_crash import Load, open_fds, rss, settle
from daemon_mode.test_cross_process import io, site
from daemon_mode.test_daemon import get
from httpsys._daemon.server import DaemonServer
from httpsys._transport.remote import RemoteTransport
from httpsys._wire import Encoder, Side
from httpsys._wire import messages as M
from httpsys._wire.frames import HEADER, T
from httpsys.win32 import ERROR_NOT_ENOUGH_QUOTA, ERROR_OPERATION_ABORTED, NO_ERROR

OPEN_EXISTING = 1


@pytest.fixture
def transports() -> Iterator[list[RemoteTransport]]:
    opened: list[RemoteTransport] = []
    try:
        yield opened
    finally:
        for transport in reversed(opened):
            transport.close()


def wait_for(predicate: object, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.05)
    return bool(predicate())  # type: ignore[operator]


def test_handles_and_outstanding_operations_are_bounded_per_client(transports: list[RemoteTransport]) -> None:
    """Over --client-max-handles a create answers ERROR_NOT_ENOUGH_QUOTA (1816) until a handle is closed; over
    --client-max-operations an I/O call completes at once with 1816 until one completes. Another client has its
    own quotas."""
    daemon = DaemonProcess(None, "--client-max-handles", "4", "--client-max-operations", "3")
    try:
        a = RemoteTransport(daemon.path)
        b = RemoteTransport(daemon.path)
        transports.extend([a, b])
        code, session = a.create_server_session((2, 0))
        assert code == NO_ERROR
        assert a.create_url_group(session)[0] == NO_ERROR
        code, queue = a.create_request_queue(None, 0, False)
        assert code == NO_ERROR
        code, spare = a.create_request_queue(None, 0, False)
        assert code == NO_ERROR
        assert a.create_server_session((2, 0)) == (ERROR_NOT_ENOUGH_QUOTA, 0)
        assert a.create_url_group(session) == (ERROR_NOT_ENOUGH_QUOTA, 0)
        assert a.create_request_queue(None, 0, False) == (ERROR_NOT_ENOUGH_QUOTA, 0)
        for _ in range(4):  # the other client is not charged for a's handles
            assert b.create_server_session((2, 0))[0] == NO_ERROR
        assert a.close_request_queue(spare) == NO_ERROR
        assert a.create_server_session((2, 0))[0] == NO_ERROR  # room again
        finished: list[int] = []
        for token in (1, 2, 3):  # parked: no request comes
            a.receive_request(queue, 0, 0, None, True, token, lambda code, *_: finished.append(code))
        assert finished == []
        assert io(lambda done: a.receive_request(queue, 0, 0, None, True, 4, done)) == (
            ERROR_NOT_ENOUGH_QUOTA,
            None,
            0,
        )
        assert io(lambda done: a.wait_disconnect(queue, 1, 5, done)) == (ERROR_NOT_ENOUGH_QUOTA,)
        assert a.cancel_io(queue, 2)
        assert wait_for(lambda: finished == [ERROR_OPERATION_ABORTED])
        a.receive_request(queue, 0, 0, None, True, 6, lambda code, *_: finished.append(code))  # room for one
        time.sleep(0.2)
        assert finished == [ERROR_OPERATION_ABORTED]  # accepted and parked, not refused
        assert "Traceback" not in daemon.stderr()
    finally:
        for transport in transports:
            transport.close()
        transports.clear()
        assert daemon.stop() == 0


def flood_bytes(calls: int) -> bytes:
    """`calls` STATISTICS calls, ops 1000 and up, as the bytes a client writes (every frame the same size)."""
    encoder = Encoder(Side.CLIENT)
    for op in range(1000, 1000 + calls):
        encoder.write(M.Statistics(op=op))
    return b"".join(bytes(b) for batch in encoder.take() for b in batch.buffers)


def flood(sock: socket.socket, calls: int = 200_000) -> tuple[int, int]:
    """Write STATISTICS calls without ever reading the answers, until the daemon stops taking them (its socket
    buffer stays full for a second) or `calls` are out; the bytes written, and the bytes of all the calls."""
    data = flood_bytes(calls)
    sock.setblocking(False)
    view = memoryview(data)
    written = 0
    idle_since = time.monotonic()
    while written < len(data) and time.monotonic() - idle_since < 1.0:
        try:
            written += sock.send(view[written : written + 65536])
            idle_since = time.monotonic()
        except BlockingIOError:
            time.sleep(0.01)
    return written, len(data)


def test_a_client_that_stops_reading_gets_no_requests_and_cannot_grow_the_daemon() -> None:
    """A client posts 50 receives on a named queue (before the serving process posts its own, so they are the
    oldest), then floods calls and never reads an answer. Past --client-max-unsent (1 MiB here) the daemon stops
    reading it and takes its receives back: its RSS stays within a few MiB of the baseline (the flood would
    otherwise queue tens of MiB of answers), every HTTP request goes to the other opener, and after
    --client-stall-timeout (3 s here) the client is disconnected."""
    with tempfile.TemporaryDirectory() as directory:
        daemon = DaemonProcess(directory, "--client-max-unsent", str(1 << 20), "--client-stall-timeout", "3")
        owner = RemoteTransport(daemon.path)
        hostile: _Channel | None = None
        load: Load | None = None
        try:
            name = f"unread-{os.getpid()}-{time.monotonic_ns()}"
            port = free_port()
            code, queue = owner.create_request_queue(name, 0, False)
            assert code == NO_ERROR
            site(owner, queue, port)
            hostile = _Channel(daemon.path)
            opened = hostile.call(M.CreateRequestQueue(name=name, flags=OPEN_EXISTING, v1=False))
            assert isinstance(opened, M.HandleDone) and opened.code == NO_ERROR
            for _ in range(50):
                hostile.send(
                    M.ReceiveRequest(
                        handle_id=opened.object_id, request_id=0, flags=0, buffer_length=None, v2=True
                    )
                )
            hostile.call(M.QuerySessionProperty(session_id=0, prop=0))  # all 50 are parked now
            load = Load(owner, queue, port, clients=0)  # the serving process's receives come after them
            pid = daemon.process.pid
            baseline = rss(pid)
            written, total = flood(hostile.sock)
            assert wait_for(lambda: "is not reading its socket" in daemon.stderr())
            assert written < total  # the daemon stopped taking calls before the flood was out
            grown = rss(pid) - baseline
            assert grown < 6 << 20, grown  # bounded by the quota, not by the flood
            for i in range(
                20
            ):  # none of these goes to the 50 older receives of the client that does not read
                answer = get(port, f"/served/{i}", timeout=10)
                assert answer.startswith(b"HTTP/1.1 200 OK") and answer.endswith(b"load ok"), answer
            assert wait_for(lambda: "not reading its socket for 3 s" in daemon.stderr(), timeout=10)
            hostile.sock.setblocking(True)
            hostile.sock.settimeout(10)
            with contextlib.suppress(ConnectionResetError):  # closed with calls it never read: a reset
                while hostile.sock.recv(1 << 20):  # what was queued, then the end: the daemon closed it
                    pass
            assert rss(pid) - baseline < 6 << 20
            assert get(port, "/after", timeout=10).endswith(b"load ok")
            assert "Traceback" not in daemon.stderr()
        finally:
            if load is not None:
                load.stop()
            if hostile is not None:
                hostile.sock.close()
            owner.close()
            assert daemon.stop() == 0


def test_descriptors_a_frame_does_not_account_for_drop_only_that_client_and_are_closed(
    transports: list[RemoteTransport],
) -> None:
    """Three hostile uses of SCM_RIGHTS, each from its own client: a frame that says it carries a descriptor and
    does not; 40 descriptors in one message (the daemon takes 32: the kernel truncates, MSG_CTRUNC); descriptors
    no frame claims, sent again and again (more than the 64 a client may have held). Each closes only that
    client's connection; the daemon holds none of the descriptors afterwards and serves the other client on."""
    daemon = DaemonProcess()
    try:
        good = RemoteTransport(daemon.path)
        transports.append(good)
        pid = daemon.process.pid
        baseline = open_fds(pid)
        hello = Encoder(Side.CLIENT)
        hello.write(M.Hello(pid=os.getpid()))
        greeting = b"".join(bytes(b) for batch in hello.take() for b in batch.buffers)
        claims_fd = HEADER.pack(0, 0, T.STATISTICS, 0, 1, 0, 7)  # nfds=1, none sent
        stats = Encoder(Side.CLIENT)
        stats.write(M.Statistics(op=7))
        plain = b"".join(bytes(b) for batch in stats.take() for b in batch.buffers)
        with open(__file__, "rb") as carried:

            def rights(count: int) -> list[tuple[int, int, array.array[int]]]:
                return [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [carried.fileno()] * count))]

            cases = {
                "claims a descriptor it does not carry": [(claims_fd, [])],
                "more descriptors than the daemon takes": [(plain, rights(40))],
                "descriptors no frame claims": [(plain, rights(30))] * 4,
            }
            for case, sends in cases.items():
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as bad:
                    bad.settimeout(10)
                    bad.connect(daemon.path)
                    bad.sendall(greeting)
                    assert bad.recv(65536), case  # WELCOME
                    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                        for frame, ancillary in sends:
                            bad.sendmsg([frame], ancillary)
                    with contextlib.suppress(ConnectionResetError):  # a reset is an end too
                        while bad.recv(65536):  # answers to the calls it could take, then the end
                            pass
        assert settle(pid, baseline) == baseline  # no descriptor kept
        assert "requests_in_flight" in good.statistics()  # the other client is served on
        stderr = daemon.stderr()
        assert stderr.count("protocol error") >= 3, stderr
        assert "Traceback" not in stderr
    finally:
        for transport in transports:
            transport.close()
        transports.clear()
        assert daemon.stop() == 0


def test_a_client_dying_mid_frame_under_a_flood_of_calls_loses_only_its_connection(
    transports: list[RemoteTransport],
) -> None:
    """A client writes thousands of calls and half of one more, then exits (its socket closes): the daemon
    drops that connection, keeps no descriptor for it, and another client's calls are answered meanwhile."""
    daemon = DaemonProcess()
    try:
        good = RemoteTransport(daemon.path)
        transports.append(good)
        pid = daemon.process.pid
        baseline = open_fds(pid)
        stop = threading.Event()
        answered: list[int] = []

        def steady() -> None:
            while not stop.is_set():
                answered.append(len(good.statistics()))

        worker = threading.Thread(target=steady)
        worker.start()
        try:
            channel = _Channel(daemon.path)
            encoder = Encoder(Side.CLIENT)
            for op in range(1, 5001):
                encoder.write(M.Statistics(op=op))
            data = b"".join(bytes(b) for batch in encoder.take() for b in batch.buffers)
            channel.sock.sendall(data + data[: len(data) // 5000 // 2])  # 5,000 calls and half of one more
            channel.sock.close()
            assert settle(pid, baseline) == baseline
        finally:
            stop.set()
            worker.join(10)
        assert answered and all(answered)
        assert wait_for(lambda: "gone (" in daemon.stderr())
        assert "Traceback" not in daemon.stderr()
    finally:
        for transport in transports:
            transport.close()
        transports.clear()
        assert daemon.stop() == 0


def test_a_throttled_client_that_reads_again_gets_its_receives_back() -> None:
    """The only receiver of a queue stops reading and is throttled: a request that arrives meanwhile waits on the
    queue (its receives were taken back). Once the client has read its backlog, the daemon reads its calls
    again, posts its receives again and the waiting request is delivered to it; it answers as usual."""
    with tempfile.TemporaryDirectory() as directory:
        daemon = DaemonProcess(directory, "--client-max-unsent", str(1 << 20), "--client-stall-timeout", "30")
        owner = RemoteTransport(daemon.path)
        client: _Channel | None = None
        try:
            name = f"release-{os.getpid()}-{time.monotonic_ns()}"
            port = free_port()
            code, queue = owner.create_request_queue(name, 0, False)
            assert code == NO_ERROR
            site(owner, queue, port)
            client = _Channel(daemon.path)
            opened = client.call(M.CreateRequestQueue(name=name, flags=OPEN_EXISTING, v1=False))
            assert isinstance(opened, M.HandleDone) and opened.code == NO_ERROR
            receive_op = client.send(
                M.ReceiveRequest(
                    handle_id=opened.object_id, request_id=0, flags=0, buffer_length=None, v2=True
                )
            )
            client.call(M.QuerySessionProperty(session_id=0, prop=0))  # parked
            calls = 100_000
            written, total = flood(client.sock, calls=calls)
            assert wait_for(lambda: "is not reading its socket" in daemon.stderr())
            result: list[bytes] = []
            caller = threading.Thread(target=lambda: result.append(get(port, "/waited", timeout=30)))
            caller.start()
            time.sleep(0.5)
            assert not result  # nobody receives it while its only receiver is throttled
            # read again: answers to the calls the daemon took, and the request once its receive is posted again
            client.sock.setblocking(True)
            client.sock.settimeout(20)
            delivered: M.RequestDone | None = None
            answered = 0
            while delivered is None:
                message = client.next()
                if message.op == receive_op:
                    assert isinstance(message, M.RequestDone)
                    delivered = message
                else:
                    assert isinstance(message, M.StatsDone)
                    answered += 1
            assert delivered.code == NO_ERROR and delivered.snapshot is not None
            assert delivered.snapshot.raw_url == b"/waited"
            assert answered > 1000  # it had been throttled with answers queued
            # keep reading (the rest of the flood is answered too) while finishing the cut call and answering
            arrived: dict[int, M.Message] = {}

            def reader() -> None:
                with contextlib.suppress(OSError, RuntimeError):
                    while True:
                        message = client.next()
                        arrived[message.op] = message

            draining = threading.Thread(target=reader, daemon=True)
            draining.start()
            frame = total // calls
            rest = flood_bytes(calls)[written : written + (-written % frame)]
            client.sock.sendall(rest)  # the rest of the call the flood had cut in two
            from httpsys._core.records import MemoryChunk, ResponseSpec

            response_op = client.send(
                M.SendResponse(
                    handle_id=opened.object_id,
                    request_id=delivered.snapshot.request_id,
                    flags=0,
                    spec=ResponseSpec(200, b"OK", {}, []),
                    chunks=[MemoryChunk(b"answered after reading again")],
                    cache_policy=None,
                    log_data=None,
                )
            )
            assert wait_for(lambda: response_op in arrived, timeout=20)
            sent = arrived[response_op]
            assert isinstance(sent, M.SentDone) and sent.code == NO_ERROR
            caller.join(20)
            assert result and result[0].endswith(b"answered after reading again")
            assert "not reading its socket for" not in daemon.stderr()  # released, never disconnected
            assert "Traceback" not in daemon.stderr()
        finally:
            if client is not None:
                client.sock.close()
            owner.close()
            assert daemon.stop() == 0


def test_receives_withheld_from_a_throttled_client_are_aborted_by_its_cancel_and_close(
    tmp_path: Path,
) -> None:
    """In-process daemon: a client is throttled by hand (as when its backlog passes the quota) with two receives
    posted; the daemon holds them, not the engine. A CANCEL naming one and the close of the queue handle (calls
    that were already read in the same pass as the throttle) complete them ERROR_OPERATION_ABORTED, as the engine
    does for parked receives; nothing of them is left pending or posted again on release."""
    from httpsys._daemon import dispatch as daemon_dispatch

    path = str(tmp_path / "d.sock")

    async def main() -> list[M.Message]:
        loop = asyncio.get_running_loop()
        server = DaemonServer(path, loop)
        server.start()
        try:
            client = await loop.run_in_executor(None, _Channel, path)
            opened = await loop.run_in_executor(
                None, client.call, M.CreateRequestQueue(name=None, flags=0, v1=False)
            )
            assert isinstance(opened, M.HandleDone) and opened.code == NO_ERROR
            handle = opened.object_id
            ops = [
                client.send(
                    M.ReceiveRequest(handle_id=handle, request_id=0, flags=0, buffer_length=None, v2=True)
                )
                for _ in range(2)
            ]
            await loop.run_in_executor(None, client.call, M.QuerySessionProperty(session_id=0, prop=0))
            (inside,) = server.clients.values()
            inside.throttle(0)
            assert [m.op for m in inside.withheld] == ops and not inside.receives
            daemon_dispatch._cancel(inside, M.Cancel(op=9001, handle_id=handle, target_op=ops[0]))
            daemon_dispatch._close_request_queue(inside, M.CloseRequestQueue(op=9002, handle_id=handle))
            assert not inside.withheld and not inside.pending
            inside.release()
            answers = [await loop.run_in_executor(None, client.next) for _ in range(4)]
            client.sock.close()
            return answers
        finally:
            server.close()

    answers = asyncio.run(asyncio.wait_for(main(), 20))
    by_op = {m.op: m for m in answers}
    first, second = sorted(op for op in by_op if op < 9000)
    assert isinstance(by_op[first], M.RequestDone) and by_op[first].code == ERROR_OPERATION_ABORTED
    assert isinstance(by_op[9001], M.CancelDone) and by_op[9001].cancelled
    assert isinstance(by_op[second], M.RequestDone) and by_op[second].code == ERROR_OPERATION_ABORTED
    assert isinstance(by_op[9002], M.CodeDone) and by_op[9002].code == NO_ERROR


def test_a_client_whose_connection_resets_is_dropped_and_its_parked_receives_get_no_request() -> None:
    """A process that dies with answers it never read resets its connection: the daemon's receive fails with
    ECONNRESET instead of reading an end. It is dropped all the same: its parked receives (the oldest on the
    queue) go with it, and every request after goes to the other opener, none reset. (Compiled, the daemon's
    reader once raised TypeError there and kept the dead client: requests went to its receives, then were reset,
    decision 0026 §7.)"""
    daemon = DaemonProcess()
    owner = RemoteTransport(daemon.path)
    dying: _Channel | None = None
    load: Load | None = None
    try:
        name = f"reset-{os.getpid()}-{time.monotonic_ns()}"
        port = free_port()
        code, queue = owner.create_request_queue(name, 0, False)
        assert code == NO_ERROR
        site(owner, queue, port)
        dying = _Channel(daemon.path)
        opened = dying.call(M.CreateRequestQueue(name=name, flags=OPEN_EXISTING, v1=False))
        assert isinstance(opened, M.HandleDone) and opened.code == NO_ERROR
        for _ in range(4):
            dying.send(
                M.ReceiveRequest(
                    handle_id=opened.object_id, request_id=0, flags=0, buffer_length=None, v2=True
                )
            )
        dying.call(M.QuerySessionProperty(session_id=0, prop=0))  # the four receives are parked now
        dying.send(M.Statistics())  # its answer is never read
        assert wait_for(lambda: dying is not None and len(dying.sock.recv(1, socket.MSG_PEEK)) == 1)
        dying.sock.close()  # unread data in its socket: the daemon's end sees ECONNRESET
        assert wait_for(lambda: "gone (receive failed" in daemon.stderr()), daemon.stderr()
        load = Load(owner, queue, port, clients=0)
        for i in range(8):  # as many requests as the dead client had receives, and more
            answer = get(port, f"/served/{i}", timeout=10)
            assert answer.startswith(b"HTTP/1.1 200 OK") and answer.endswith(b"load ok"), answer
        assert load.errors == []
        assert "Traceback" not in daemon.stderr()
    finally:
        if load is not None:
            load.stop()
        if dying is not None:
            dying.sock.close()
        owner.close()
        assert daemon.stop() == 0
