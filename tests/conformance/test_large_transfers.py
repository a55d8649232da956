"""Large responses arrive byte-exact while the server's memory stays flat (issue 4, item 8; spec §2.2, §3.4).

Two shapes: an entity streamed in 1 MiB HttpSendResponseEntityBody calls with MORE_DATA, and one FromFileHandle
chunk of the whole file (HTTP_BYTE_RANGE_TO_EOF) that the driver writes with os.sendfile. A client thread in this
process reads the response with its head checked by h11 and hashes the body; the sender hashes what it sends.
The driver runs in this process (embedded transport), so its memory is this process's memory: the resident set
(VmRSS, sampled every few milliseconds during the transfer) must not grow with the size of the entity, and VmHWM
before and after is printed too.

The default runs move 64 MiB each; the 1 GiB runs are marked `soak` and run with `pytest -m soak` (or with
HTTPSYS_SOAK=1).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import h11
import pytest

from httpsys.win32 import *

from .harness import EMBEDDED, Server, make_response, memory_chunk, receive

MiB = 1024 * 1024
BLOCK = MiB
DEFAULT_SIZE = 64 * MiB
SOAK_SIZE = 1024 * MiB
# Peak VmRSS growth allowed during one transfer, 64 MiB or 1 GiB alike. Measured for issue 13 item 8 (64 MiB: 8
# runs pure Python and 7 with the native build, alone, after other conformance files and at load average 9;
# 1 GiB: one run of each build): MORE_DATA stream +1.0 to +2.3 MiB (the 1 MiB block in flight and the reader's
# 1 MiB buffer), FromFileHandle chunk +0.0 to +0.2 MiB (sendfile copies nothing into the process). Each bound is
# that maximum plus about 3 MiB of allocator slack; keeping an eighth of the 64 MiB entity would fail it.
MORE_DATA_BOUND = 6 * MiB
FILE_CHUNK_BOUND = 3 * MiB


def soak_selected(config: pytest.Config) -> bool:
    return "soak" in (config.getoption("markexpr") or "") or os.environ.get("HTTPSYS_SOAK") == "1"


@pytest.fixture
def soak(request: pytest.FixtureRequest) -> None:
    if not soak_selected(request.config):
        pytest.skip("1 GiB soak run: select it with `pytest -m soak` (or HTTPSYS_SOAK=1)")


def memory_kib() -> dict[str, int]:
    """VmRSS and VmHWM of this process, in KiB (from /proc/self/status)."""
    out: dict[str, int] = {}
    with open("/proc/self/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                out[name] = int(value.split()[0])
    return out


class RssSampler:
    """Samples VmRSS on a thread while a transfer runs; keeps the peak."""

    def __init__(self, period: float = 0.005) -> None:
        self.period = period
        self.before = memory_kib()
        self.peak_kib = self.before["VmRSS"]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_kib = max(self.peak_kib, memory_kib()["VmRSS"])
            self._stop.wait(self.period)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.after = memory_kib()
        self.peak_kib = max(self.peak_kib, self.after["VmRSS"])

    @property
    def growth(self) -> int:
        """Peak resident bytes above the resident set when the transfer started."""
        return (self.peak_kib - self.before["VmRSS"]) * 1024

    def report(self, what: str, size: int, seconds: float) -> str:
        return (
            f"{what}: {size // MiB} MiB in {seconds:.2f} s ({size / MiB / max(seconds, 1e-9):.0f} MiB/s); "
            f"VmRSS before {self.before['VmRSS'] // 1024} MiB, peak {self.peak_kib // 1024} MiB "
            f"(+{self.growth / MiB:.1f} MiB), after {self.after['VmRSS'] // 1024} MiB; "
            f"VmHWM before {self.before['VmHWM'] // 1024} MiB, after {self.after['VmHWM'] // 1024} MiB"
        )


@dataclass
class Received:
    status: int = 0
    headers: dict[bytes, bytes] = field(default_factory=dict)
    length: int = 0
    digest: str = ""
    error: BaseException | None = None


def read_response(sock: socket.socket, expected: int, out: Received) -> None:
    """h11 parses the head; the body is hashed straight from the socket (1 MiB reads into one buffer)."""
    try:
        conn = h11.Connection(h11.CLIENT)
        conn.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))
        conn.send(h11.EndOfMessage())
        digest = hashlib.sha256()
        buffer = bytearray(BLOCK)
        view = memoryview(buffer)
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(sock.recv(65536))
                continue
            if isinstance(event, h11.Response):
                out.status = event.status_code
                out.headers = {bytes(k): bytes(v) for k, v in event.headers}
                continue
            if isinstance(event, h11.Data):  # body bytes that came with the head
                digest.update(event.data)
                out.length += len(event.data)
                continue
            break
        while out.length < expected:
            count = sock.recv_into(buffer)
            if not count:
                break
            digest.update(view[:count])
            out.length += count
        out.digest = digest.hexdigest()
    except BaseException as exc:  # reported by the test thread
        out.error = exc


@pytest.fixture
def connection(server: Server) -> Iterator[tuple[socket.socket, int]]:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=60)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    request_id = receive(server.queue).RequestId
    yield sock, request_id
    sock.close()


def stream_in_more_data_calls(server: Server, sock: socket.socket, request_id: int, size: int) -> str:
    """`size` bytes in 1 MiB HttpSendResponseEntityBody calls (MORE_DATA on all but the last)."""
    got = Received()
    reader = threading.Thread(target=read_response, args=(sock, size, got))
    reader.start()
    # each call sends an 8-byte counter chunk, then the same 1 MiB - 8 bytes
    block = memoryview(os.urandom(BLOCK))[8:]
    sent_digest = hashlib.sha256()
    started = time.monotonic()
    with RssSampler() as rss:
        response = make_response(known={HttpHeaderContentLength: b"%d" % size})
        head_sent = ctypes.c_ulong()
        code = HttpSendHttpResponse(
            server.queue,
            request_id,
            HTTP_SEND_RESPONSE_FLAG_MORE_DATA,
            response,
            None,
            head_sent,
            None,
            0,
            None,
            None,
        )
        assert code == NO_ERROR
        sent = ctypes.c_ulong()
        total = 0
        calls = size // BLOCK
        for i in range(calls):
            counter = i.to_bytes(8, "little")
            chunks = [memory_chunk(counter), memory_chunk(block)]  # type: ignore[arg-type]
            sent_digest.update(counter)
            sent_digest.update(block)
            flags = HTTP_SEND_RESPONSE_FLAG_MORE_DATA if i < calls - 1 else 0
            code = HttpSendResponseEntityBody(
                server.queue, request_id, flags, 2, chunks, sent, None, 0, None, None
            )
            assert code == NO_ERROR, (i, code)
            assert sent.value == BLOCK
            total += sent.value
        reader.join(120)
    seconds = time.monotonic() - started
    assert not reader.is_alive() and got.error is None, got.error
    assert got.status == 200 and got.headers[b"content-length"] == b"%d" % size
    assert total == size and got.length == size
    assert got.digest == sent_digest.hexdigest()
    report = rss.report("MORE_DATA stream", size, seconds)
    print(report)
    assert rss.growth < MORE_DATA_BOUND, report
    return report


def send_one_file_chunk(
    server: Server, sock: socket.socket, request_id: int, size: int, monkeypatch: Any
) -> str:
    """A `size`-byte file sent as one FromFileHandle chunk with HTTP_BYTE_RANGE_TO_EOF."""
    through_sendfile = [0]
    if EMBEDDED:
        real = os.sendfile

        def counting(out_fd: int, in_fd: int, offset: int | None, count: int) -> int:
            done = real(out_fd, in_fd, offset, count)
            through_sendfile[0] += done
            return done

        monkeypatch.setattr(os, "sendfile", counting)
    with tempfile.TemporaryFile(dir=os.environ.get("HTTPSYS_SOAK_DIR")) as f:
        file_digest = hashlib.sha256()
        block = os.urandom(BLOCK)
        for i in range(size // BLOCK):
            piece = i.to_bytes(8, "little") + block[8:]
            file_digest.update(piece)
            f.write(piece)
        f.flush()
        got = Received()
        reader = threading.Thread(target=read_response, args=(sock, size, got))
        reader.start()
        started = time.monotonic()
        with RssSampler() as rss:
            response = HTTP_RESPONSE_V2(StatusCode=200, pReason=b"OK")
            response.pEntityChunks = [
                HTTP_DATA_CHUNK(
                    DataChunkType=HttpDataChunkFromFileHandle,
                    FromFileHandle=HTTP_DATA_CHUNK_FROM_FILE_HANDLE(
                        HTTP_BYTE_RANGE(0, HTTP_BYTE_RANGE_TO_EOF), f
                    ),
                )
            ]
            sent = ctypes.c_ulong()
            code = HttpSendHttpResponse(
                server.queue, request_id, 0, response, None, sent, None, 0, None, None
            )
            assert code == NO_ERROR
            reader.join(120)
        seconds = time.monotonic() - started
    assert not reader.is_alive() and got.error is None, got.error
    assert got.status == 200 and got.headers[b"content-length"] == b"%d" % size  # automatic Content-Length
    assert got.length == size and sent.value > size
    assert got.digest == file_digest.hexdigest()
    if EMBEDDED:
        assert through_sendfile[0] == size  # zero copy: every byte of the file went through os.sendfile
    report = rss.report("FromFileHandle chunk", size, seconds)
    print(report)
    assert rss.growth < FILE_CHUNK_BOUND, report
    return report


def test_64_mib_streamed_in_more_data_calls_arrives_byte_exact_with_flat_memory(
    server: Server, connection
) -> None:
    stream_in_more_data_calls(server, *connection, DEFAULT_SIZE)


def test_64_mib_file_chunk_arrives_byte_exact_through_sendfile_with_flat_memory(
    server: Server, connection, monkeypatch
) -> None:
    send_one_file_chunk(server, *connection, DEFAULT_SIZE, monkeypatch)


@pytest.mark.soak
def test_1_gib_streamed_in_more_data_calls_arrives_byte_exact_with_flat_memory(
    soak: None, server: Server, connection
) -> None:
    stream_in_more_data_calls(server, *connection, SOAK_SIZE)


@pytest.mark.soak
def test_1_gib_file_chunk_arrives_byte_exact_through_sendfile_with_flat_memory(
    soak: None, server: Server, connection, monkeypatch
) -> None:
    send_one_file_chunk(server, *connection, SOAK_SIZE, monkeypatch)
