"""examples/win32/websocket_echo.py, run as its users run it, driven by the `websockets` client and a raw socket.

The example does RFC 6455 itself over an OPAQUE connection of the win32 face (101 with Sec-WebSocket-Accept, masked
client frames, text/binary/ping/pong/close, fragmented messages). `websockets` checks the handshake and the
frames it gets back; the raw-socket tests send what a library would refuse to send (unmasked frames, bad UTF-8,
stray continuations, frames trickled byte by byte).
"""

from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from ports import free_port
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "win32" / "websocket_echo.py"
KEY = b"dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 §1.3: its accept value is s3pPLMBiTxaQ9kYGzzhZRbK+xOo=


def start(*args: str) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    env = dict(os.environ)  # the example imports the httpsys installed in this environment (source or wheel)
    env["PYTHONFAULTHANDLER"] = "1"  # a stop that hangs is ended with SIGABRT: every thread's stack to stderr
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLE), "--url", f"http://+:{port}/", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == f"listening on http://+:{port}/", proc.stderr.read() if proc.stderr else line
    return proc, port


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    """One echo server for the module, stopped with Ctrl-C (SIGINT) at the end."""
    proc, port = start()
    try:
        yield port
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGABRT)
            try:
                _out, stacks = proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                _out, stacks = proc.communicate()
            pytest.fail(f"the example did not stop within 15 s of SIGINT; its threads:\n{stacks}")
        assert proc.returncode == 0, err
        assert "served" in out


def ws(port: int, path: str = "/echo") -> ClientConnection:
    return connect(f"ws://127.0.0.1:{port}{path}", proxy=None, max_size=None, open_timeout=5, close_timeout=5)


# ----- raw frames --------------------------------------------------------------------------------------------------


def client_frame(opcode: int, payload: bytes, fin: bool = True, mask: bool = True) -> bytes:
    first = (0x80 if fin else 0) | opcode
    key = os.urandom(4) if mask else b""
    size = len(payload)
    if size < 126:
        head = struct.pack("!BB", first, (0x80 if mask else 0) | size)
    elif size < 1 << 16:
        head = struct.pack("!BBH", first, (0x80 if mask else 0) | 126, size)
    else:
        head = struct.pack("!BBQ", first, (0x80 if mask else 0) | 127, size)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload)) if mask else payload
    return head + key + masked


class RawWebSocket:
    """A WebSocket client that sends exact bytes (the handshake done by hand)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.sendall(
            b"GET /raw HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: " + KEY + b"\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        self.head, _, self.buf = self.buf.partition(b"\r\n\r\n")

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise EOFError(self.buf)
        self.buf += data

    def _take(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def frame(self) -> tuple[int, int, bytes]:
        """(first byte, opcode, payload) of the next server frame; server frames are never masked."""
        first, second = self._take(2)
        assert not second & 0x80, "server frames must not be masked"
        size = second & 0x7F
        if size == 126:
            size = struct.unpack("!H", self._take(2))[0]
        elif size == 127:
            size = struct.unpack("!Q", self._take(8))[0]
        return first, first & 0x0F, self._take(size)

    def closed(self) -> bool:
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def raw(port: int) -> Iterator[RawWebSocket]:
    client = RawWebSocket(port)
    yield client
    client.close()


# ----- with the websockets library ---------------------------------------------------------------------------------


def test_handshake_is_accepted_by_the_websockets_client(port: int) -> None:
    with ws(port) as conn:
        response = conn.response
        assert response is not None and response.status_code == 101
        assert response.headers["Upgrade"].lower() == "websocket"
        assert response.headers["Server"] == "Microsoft-HTTPAPI/2.0"
        assert "Sec-WebSocket-Extensions" not in response.headers  # permessage-deflate offered, not taken


@pytest.mark.parametrize("text", ["hello", "", "héllo ☃ — 𝄞", "x" * 70_000])
def test_text_messages_are_echoed(port: int, text: str) -> None:
    with ws(port) as conn:
        conn.send(text)
        assert conn.recv(timeout=5) == text


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 1 << 20])
def test_binary_messages_of_every_length_encoding_are_echoed(port: int, size: int) -> None:
    payload = os.urandom(size)
    with ws(port) as conn:
        conn.send(payload)
        assert conn.recv(timeout=10) == payload


def test_fragmented_messages_are_reassembled_before_the_echo(port: int) -> None:
    with ws(port) as conn:
        conn.send(["frag", "men", "ted ✓"])
        assert conn.recv(timeout=5) == "fragmented ✓"
        conn.send([b"\x00\x01", b"", b"\x02" * 70_000])
        assert conn.recv(timeout=5) == b"\x00\x01" + b"\x02" * 70_000


def test_ping_is_answered_with_a_pong_carrying_its_payload(port: int) -> None:
    with ws(port) as conn:
        assert conn.ping(b"are you there").wait(5)  # websockets matches the pong's payload to the ping
        conn.send("still echoing")
        assert conn.recv(timeout=5) == "still echoing"


def test_close_handshake_echoes_the_status_code(port: int) -> None:
    with ws(port) as conn:
        conn.send("last")
        assert conn.recv(timeout=5) == "last"
        conn.close(4000, "bye")
        assert conn.close_code == 4000  # the code the server sent back
        with pytest.raises(ConnectionClosed):
            conn.recv(timeout=1)


def test_several_clients_are_served_at_the_same_time(port: int) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def chat(n: int) -> None:
        try:
            with ws(port, f"/client/{n}") as conn:
                barrier.wait(5)  # all four connections are open at once
                for i in range(20):
                    conn.send(f"{n}:{i}")
                    assert conn.recv(timeout=5) == f"{n}:{i}"
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=chat, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert errors == []


def test_a_plain_http_request_gets_426_upgrade_required(port: int) -> None:
    response = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
    assert response.status_code == 426
    assert response.headers["upgrade"] == "websocket"
    assert response.headers["sec-websocket-version"] == "13"
    assert "Upgrade: websocket is required" in response.text


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({"Sec-WebSocket-Version": "8"}, "Sec-WebSocket-Version: 13"),
        ({"Sec-WebSocket-Key": "c2hvcnQ="}, "Sec-WebSocket-Key"),
        ({"Connection": "keep-alive"}, "Connection: Upgrade"),
    ],
)
def test_a_broken_handshake_is_refused(port: int, headers: dict[str, str], why: str) -> None:
    base = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": KEY.decode(),
        "Sec-WebSocket-Version": "13",
    }
    response = httpx.get(f"http://127.0.0.1:{port}/", headers={**base, **headers}, timeout=5)
    assert response.status_code == 426 and why in response.text


# ----- raw frames --------------------------------------------------------------------------------------------------


def test_sec_websocket_accept_is_the_rfc_6455_value(raw: RawWebSocket) -> None:
    lines = raw.head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 101 Switching Protocols"
    assert b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in lines
    assert b"Upgrade: websocket" in lines and b"Connection: Upgrade" in lines


def test_server_frames_are_unmasked_and_final(raw: RawWebSocket) -> None:
    raw.sock.sendall(client_frame(0x1, b"Hello"))
    assert raw.frame() == (0x81, 0x1, b"Hello")


def test_control_frames_between_fragments_are_answered_at_once(raw: RawWebSocket) -> None:
    raw.sock.sendall(client_frame(0x1, b"first ", fin=False))
    raw.sock.sendall(client_frame(0x9, b"ping!"))
    raw.sock.sendall(client_frame(0xA, b"unsolicited pong"))  # ignored
    raw.sock.sendall(client_frame(0x0, b"second", fin=True))
    assert raw.frame() == (0x8A, 0xA, b"ping!")
    assert raw.frame() == (0x81, 0x1, b"first second")


def test_frames_trickled_byte_by_byte_are_read_whole(raw: RawWebSocket) -> None:
    data = client_frame(0x2, bytes(range(200)))
    raw.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for i in range(len(data)):
        raw.sock.send(data[i : i + 1])
        if i % 50 == 0:
            time.sleep(0.005)
    assert raw.frame() == (0x82, 0x2, bytes(range(200)))


def test_close_frame_is_echoed_and_then_the_server_closes_the_connection(raw: RawWebSocket) -> None:
    raw.sock.sendall(client_frame(0x8, struct.pack("!H", 1000) + b"done"))
    assert raw.frame() == (0x88, 0x8, struct.pack("!H", 1000))
    assert raw.closed()


@pytest.mark.parametrize(
    ("frames", "code"),
    [
        ([client_frame(0x1, b"not masked", mask=False)], 1002),
        ([client_frame(0x1, b"caf\xe9")], 1007),
        ([client_frame(0x0, b"orphan continuation")], 1002),
        ([client_frame(0x1, b"a", fin=False), client_frame(0x1, b"b")], 1002),
        ([client_frame(0x9, b"p", fin=False)], 1002),
        ([client_frame(0x9, b"x" * 126)], 1002),
        ([client_frame(0x3, b"reserved opcode")], 1002),
        ([bytes([0xC1]) + client_frame(0x1, b"rsv1")[1:]], 1002),
        ([client_frame(0x8, b"\x03")], 1002),
        ([client_frame(0x8, struct.pack("!H", 1005))], 1002),
        ([client_frame(0x8, struct.pack("!H", 1000) + b"\xff")], 1007),
    ],
    ids=[
        "unmasked",
        "bad-utf8",
        "orphan-continuation",
        "message-inside-message",
        "fragmented-ping",
        "long-ping",
        "reserved-opcode",
        "rsv1-without-extension",
        "one-byte-close",
        "close-code-1005",
        "close-reason-not-utf8",
    ],
)
def test_protocol_violations_close_the_connection_with_the_right_code(
    raw: RawWebSocket, frames: list[bytes], code: int
) -> None:
    for data in frames:
        raw.sock.sendall(data)
    first, opcode, payload = raw.frame()
    assert (first, opcode, payload) == (0x88, 0x8, struct.pack("!H", code))
    assert raw.closed()


def test_a_client_that_vanishes_does_not_stop_the_server(port: int) -> None:
    vanishing = RawWebSocket(port)
    vanishing.sock.sendall(client_frame(0x1, b"half", fin=False))
    vanishing.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    vanishing.close()  # reset in the middle of a message
    with ws(port) as conn:
        conn.send("still serving")
        assert conn.recv(timeout=5) == "still serving"


def test_the_example_exits_after_count_requests() -> None:
    proc, port = start("--count", "2")
    try:
        with ws(port) as conn:
            conn.send("one")
            assert conn.recv(timeout=5) == "one"
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 426
        out, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err
        assert "served 2 requests" in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
