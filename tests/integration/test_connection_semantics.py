"""Connection semantics on the wire (issue 13; docs/decisions/0013-connection-semantics.md).

* HTTP/1.0 keep-alive (spec §5.4): a connection kept open says `Connection: keep-alive` on every response, from
  the application and from the response cache - checked with a strict HTTP/1.0 client (it reads exactly
  Content-Length bytes and never waits for a close, so a missing header fails it) and with ApacheBench `ab -k`
  (installed by scripts/install-test-tools.sh; without it these tests skip, except where
  HTTPSYS_REQUIRE_TEST_TOOLS is set, as on CI, where they fail). HTTP/1.0 without keep-alive closes.
* https without an SSL binding: the registration is accepted as HTTP.sys accepts it, but the port never answers
  in plaintext: the handshake fails and an HTTPERR line says why (decision 0021; TLS itself: tests/tls/).
* The application's Server header reaches the wire once, through the asyncio face and the ASGI adapter (the win32
  face's unknown headers: tests/conformance/test_connection_semantics.py).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import RawClient, Server, Waiter
from ports import free_port

import httpsys
from httpsys._core.records import CachePolicy, MemoryChunk, RequestSnapshot
from httpsys._core.response import ResponseSpec
from httpsys._core.settings import DriverSettings
from httpsys._core.status import Win32Error
from httpsys._transport.embedded import EmbeddedTransport
from httpsys.asgi import ASGIServer

OK = int(Win32Error.NO_ERROR)
MORE_DATA = 0x2
CONTENT_LENGTH = 11
PROP_BINDING = 7
AB = shutil.which("ab")
REQUIRE_TOOLS = os.environ.get("HTTPSYS_REQUIRE_TEST_TOOLS") == "1"


# ----------------------------------------------------------------------------------- the strict HTTP/1.0 client
class Http10Client:
    """A strict HTTP/1.0 keep-alive client on one raw socket.

    Every request says `Connection: keep-alive`. A response is its head plus exactly Content-Length bytes: the
    client never reads until a close, and it fails (AssertionError) when a response does not say
    `Connection: keep-alive` (an HTTP/1.0 client has no other way to know the connection stays open), has no
    Content-Length, or when bytes it was promised do not come within the timeout.
    """

    def __init__(self, port: int, timeout: float = 5.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.timeout = timeout
        self.buf = b""

    def request(self, path: bytes = b"/", method: bytes = b"GET") -> tuple[bytes, dict[bytes, bytes], bytes]:
        """(status line, headers with lower-case names, body) of one exchange on the kept-open connection."""
        self.sock.sendall(
            method + b" " + path + b" HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n"
        )
        head = self._until(b"\r\n\r\n")
        status, *lines = head[:-4].split(b"\r\n")
        headers: dict[bytes, bytes] = {}
        for line in lines:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            headers[name] = headers[name] + b", " + value.strip() if name in headers else value.strip()
        tokens = [t.strip().lower() for t in headers.get(b"connection", b"").split(b",")]
        assert b"keep-alive" in tokens, (
            f"no `Connection: keep-alive`: an HTTP/1.0 client waits for a close\n{head!r}"
        )
        assert b"content-length" in headers, (
            f"a kept-open HTTP/1.0 response must be length-delimited\n{head!r}"
        )
        length = 0 if method == b"HEAD" else int(headers[b"content-length"])
        return status, headers, self._exact(length)

    def _fill(self, deadline: float) -> None:
        self.sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = self.sock.recv(65536)
        except TimeoutError:
            raise AssertionError(f"the server stopped sending mid-response (have {self.buf!r})") from None
        assert chunk, f"the server closed a connection it said it kept open (have {self.buf!r})"
        self.buf += chunk

    def _until(self, marker: bytes) -> bytes:
        deadline = time.monotonic() + self.timeout
        while marker not in self.buf:
            self._fill(deadline)
        end = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:end], self.buf[end:]
        return out

    def _exact(self, size: int) -> bytes:
        deadline = time.monotonic() + self.timeout
        while len(self.buf) < size:
            self._fill(deadline)
        out, self.buf = self.buf[:size], self.buf[size:]
        return out

    def close(self) -> None:
        self.sock.close()


def canned_server(response: bytes) -> tuple[socket.socket, threading.Thread]:
    """A one-connection socket server that answers each request head with `response` and keeps the connection."""
    listener = socket.create_server(("127.0.0.1", 0))

    def run() -> None:
        conn, _addr = listener.accept()
        with conn:
            data = b""
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
                while b"\r\n\r\n" in data:
                    _head, _, data = data.partition(b"\r\n\r\n")
                    conn.sendall(response)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return listener, thread


@pytest.mark.parametrize(
    "response",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",  # the bug this file is about
        b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n\r\nok",  # close-delimited
        b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 5\r\n\r\nok",  # promised bytes missing
    ],
)
def test_the_strict_http10_client_fails_a_server_that_does_not_keep_its_word(response: bytes) -> None:
    listener, thread = canned_server(response)
    client = Http10Client(listener.getsockname()[1], timeout=0.5)
    try:
        with pytest.raises(AssertionError):
            client.request()
    finally:
        client.close()
        listener.close()
        thread.join(5)


# ---------------------------------------------------------------------------------- HTTP/1.0 from the application
def answer(server: Server, count: int, body: bytes = b"hello") -> threading.Thread:
    return server.serve_in_thread(lambda srv, snap: srv.respond(snap.request_id, body=body), count)


def test_http10_keep_alive_responses_say_keep_alive_and_the_connection_serves_the_next(
    server: Server,
) -> None:
    thread = answer(server, 3)
    client = Http10Client(server.port)
    try:
        for _ in range(3):
            status, headers, body = client.request()
            assert (status, body, headers[b"connection"]) == (b"HTTP/1.1 200 OK", b"hello", b"keep-alive")
    finally:
        client.close()
    thread.join(5)
    assert len({snap.connection_id for snap in server.seen}) == 1
    assert [snap.version for snap in server.seen] == [(1, 0)] * 3


class Exchange(threading.Thread):
    """One `Http10Client.request` on a thread of its own, while the test answers it through the transport."""

    def __init__(self, client: Http10Client, path: bytes, method: bytes = b"GET") -> None:
        super().__init__(daemon=True)
        self.client, self.path, self.method = client, path, method
        self.reply: tuple[bytes, dict[bytes, bytes], bytes] | None = None
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            self.reply = self.client.request(self.path, self.method)
        except BaseException as exc:  # handed to the test thread by result()
            self.error = exc

    def result(self) -> tuple[bytes, dict[bytes, bytes], bytes]:
        self.join(10)
        if self.error is not None:
            raise self.error
        assert self.reply is not None
        return self.reply


def test_http10_keep_alive_head_and_streamed_length_delimited_responses_stay_open(server: Server) -> None:
    client = Http10Client(server.port)
    try:
        head = Exchange(client, b"/", b"HEAD")
        snap = server.receive()
        assert server.respond(snap.request_id, headers={CONTENT_LENGTH: [b"7"]})[0] == OK
        _status, headers, _body = head.result()
        assert (headers[b"connection"], headers[b"content-length"]) == (b"keep-alive", b"7")
        # a response streamed in three sends, delimited by the application's Content-Length
        streamed = Exchange(client, b"/stream")
        snap = server.receive()
        assert server.respond(snap.request_id, headers={CONTENT_LENGTH: [b"10"]}, flags=MORE_DATA)[0] == OK
        assert server.send_body(snap.request_id, b"01234", flags=MORE_DATA)[0] == OK
        assert server.send_body(snap.request_id, b"56789")[0] == OK
        assert streamed.result()[2] == b"0123456789"
        assert server.seen[0].connection_id == server.seen[1].connection_id
    finally:
        client.close()


def test_http10_without_keep_alive_closes_after_the_response(server: Server) -> None:
    client = RawClient(server.port)
    client.send(b"GET / HTTP/1.0\r\n\r\n")
    snap = server.receive()
    server.respond(snap.request_id, body=b"bye")
    status, headers, body = client.recv_response()
    assert (status, body, headers[b"connection"]) == (b"HTTP/1.1 200 OK", b"bye", b"close")
    assert client.closed_by_peer(2.0) == "eof"
    client.close()


def test_http10_keep_alive_without_a_length_closes_and_never_says_keep_alive(server: Server) -> None:
    client = RawClient(server.port)
    client.send(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    snap = server.receive()
    assert server.respond(snap.request_id, flags=MORE_DATA)[0] == OK
    assert server.send_body(snap.request_id, b"until the close")[0] == OK
    data = client.recv_all()
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"\r\nConnection: close" in head and b"keep-alive" not in head and body == b"until the close"
    client.close()


# ------------------------------------------------------------------------------ HTTP/1.0 from the response cache
def store_cached(server: Server, path: bytes, body: bytes) -> None:
    """One HTTP/1.1 request answered by the application with a UserInvalidates cache policy."""
    client = RawClient(server.port)
    client.send(b"GET " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    snap = server.receive()
    waiter = Waiter()
    spec = ResponseSpec(status=200, reason=b"OK", known={}, unknown=[])
    server.transport.send_response(
        server.queue, snap.request_id, 0, spec, [MemoryChunk(body)], CachePolicy(1, 0), None, waiter
    )
    assert waiter.wait()[0] == OK
    assert client.recv_response()[2] == body
    client.close()


def test_cached_response_says_keep_alive_to_http10_and_nothing_to_http11(server: Server) -> None:
    store_cached(server, b"/cached", b"from the cache")
    hits = server.transport.statistics()["cache_hits"]
    ten = Http10Client(server.port)
    try:
        for _ in range(3):
            status, headers, body = ten.request(b"/cached")
            assert (status, body, headers[b"connection"]) == (
                b"HTTP/1.1 200 OK",
                b"from the cache",
                b"keep-alive",
            )
        assert ten.request(b"/cached", b"HEAD")[1][b"content-length"] == b"14"
    finally:
        ten.close()
    eleven = RawClient(server.port)
    for _ in range(3):  # the second and third are answered by the fast path (decision 0008)
        eleven.send(b"GET /cached HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        status, headers, body = eleven.recv_response()
        assert (status, body) == (b"HTTP/1.1 200 OK", b"from the cache") and b"connection" not in headers
    eleven.close()
    stats = server.transport.statistics()
    assert stats["cache_hits"] == hits + 7 and len(server.seen) == 1  # the application saw only the first
    assert stats["cache_fast_hits"] >= 1


# --------------------------------------------------------------------------------------------- ab (ApacheBench)
needs_ab = pytest.mark.skipif(
    AB is None and not REQUIRE_TOOLS,
    reason="ab is not installed: run scripts/install-test-tools.sh ab (make test does, with root or sudo)",
)


def run_ab(port: int, path: str, count: int, *extra: str) -> dict[str, str]:
    """`ab` against 127.0.0.1 (5 s socket timeout); its summary as {label: value}. Fails on a non-zero exit."""
    assert AB is not None, (
        "ab is required here (HTTPSYS_REQUIRE_TEST_TOOLS): scripts/install-test-tools.sh ab"
    )
    done = subprocess.run(
        [AB, "-q", "-n", str(count), "-c", "8", "-s", "5", *extra, f"http://127.0.0.1:{port}{path}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return {
        m.group(1): m.group(2) for m in re.finditer(r"^([A-Za-z -]+):\s+(\S+)", done.stdout, re.MULTILINE)
    }


@needs_ab
def test_ab_keep_alive_completes_against_the_application(server: Server) -> None:
    thread = answer(server, 2000)
    summary = run_ab(server.port, "/", 2000, "-k")
    thread.join(10)
    assert summary["Complete requests"] == "2000"
    assert summary["Failed requests"] == "0"
    assert summary["Keep-Alive requests"] == "2000"
    assert len({snap.connection_id for snap in server.seen}) <= 8  # -c 8: every connection was kept


@needs_ab
def test_ab_keep_alive_completes_against_the_response_cache(server: Server) -> None:
    store_cached(server, b"/hello", b"Hello, World!")
    summary = run_ab(server.port, "/hello", 5000, "-k")
    assert (summary["Complete requests"], summary["Failed requests"]) == ("5000", "0")
    assert summary["Keep-Alive requests"] == "5000"
    assert len(server.seen) == 1


@needs_ab
def test_ab_without_keep_alive_gets_one_connection_per_request(server: Server) -> None:
    thread = answer(server, 200)
    summary = run_ab(server.port, "/", 200)
    thread.join(10)
    assert (summary["Complete requests"], summary["Failed requests"]) == ("200", "0")
    assert summary.get("Keep-Alive requests", "0") == "0"
    assert len({snap.connection_id for snap in server.seen}) == 200


# ------------------------------------------------------------------------------------------- https without TLS
def bound_group(transport: EmbeddedTransport) -> tuple[int, int]:
    """(group, queue) of a new server session, the group bound to the queue."""
    code, session = transport.create_server_session((2, 0))
    assert code == OK
    code, group = transport.create_url_group(session)
    assert code == OK
    code, queue = transport.create_request_queue(None, 0, False)
    assert code == OK
    assert transport.set_group_property(group, PROP_BINDING, queue) == OK
    return group, queue


class Https:
    """A driver with an HTTPERR directory and `https://127.0.0.1:PORT/` registered in a bound URL group."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.transport = EmbeddedTransport(settings=DriverSettings(error_log_dir=str(directory)))
        self.group, self.queue = bound_group(self.transport)
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}/"
        assert self.transport.add_url(self.group, self.url, 1) == OK  # accepted, as HTTP.sys accepts it

    def httperr_rows(self) -> list[dict[str, str]]:
        logs: Any = self.transport.driver.logs
        assert logs.flush()
        rows: list[dict[str, str]] = []
        names: list[str] = []
        for path in sorted(self.directory.iterdir()):
            for line in path.read_bytes().decode().split("\r\n"):
                if line.startswith("#Fields: "):
                    names = line[9:].split(" ")
                elif line and not line.startswith("#"):
                    rows.append(dict(zip(names, line.split(" "), strict=True)))
        return rows


@pytest.fixture
def https(tmp_path: Path) -> Iterator[Https]:
    directory = tmp_path / "httperr"
    directory.mkdir()
    made = Https(directory)
    try:
        yield made
    finally:
        made.transport.close()


def plaintext_attempt(port: int) -> tuple[bytes, int]:
    """(every byte received, the client's port) for a plaintext request; the reset may come at any step."""
    received = b""
    with socket.socket() as sock:
        sock.settimeout(5)
        sock.bind(("127.0.0.1", 0))
        client_port = int(sock.getsockname()[1])
        try:
            sock.connect(("127.0.0.1", port))
            sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionError:
            pass
    return received, client_port


def test_https_port_never_answers_in_plaintext_and_logs_httperr(https: Https) -> None:
    port = https.port
    received, client_port = plaintext_attempt(port)
    assert received == b""  # reset: not one byte of plaintext
    deadline = time.monotonic() + 5  # the line is written when the driver's handshake task resumes
    while not https.transport.driver.tls.failures and time.monotonic() < deadline:
        time.sleep(0.01)
    rows = https.httperr_rows()
    assert len(rows) == 1
    row = rows[0]
    assert (row["c-ip"], row["c-port"], row["s-ip"], row["s-port"]) == (
        "127.0.0.1",
        str(client_port),
        "127.0.0.1",
        str(port),
    )
    assert [row[k] for k in ("cs-version", "cs-method", "cs-uri", "sc-status")] == ["-"] * 4
    assert row["s-reason"] == "SSL_Handshake_Failed"  # a plaintext request is no ClientHello
    stats = https.transport.statistics()
    assert stats["tls_handshake_failures"] == 1 and stats["connections"] == 0


def test_tls_handshake_on_an_https_port_fails(https: Https) -> None:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with pytest.raises((ssl.SSLError, ConnectionError)):
        with socket.create_connection(("127.0.0.1", https.port), timeout=5) as raw:
            with context.wrap_socket(raw, server_hostname="localhost"):
                pass
    deadline = time.monotonic() + 5
    while not https.transport.driver.tls.failures and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [row["s-reason"] for row in https.httperr_rows()] == ["SSL_No_Binding"]


def test_http_and_https_cannot_share_a_port(https: Https) -> None:
    transport, port, group = https.transport, https.port, https.group
    exists = int(Win32Error.ERROR_ALREADY_EXISTS)
    assert transport.add_url(group, f"http://127.0.0.1:{port}/other/", 2) == exists
    assert transport.add_url(group, f"http://+:{port}/", 3) == exists
    assert transport.add_url(group, f"https://+:{port}/more/", 4) == OK  # the same scheme may add prefixes
    other = free_port()
    assert transport.add_url(group, f"http://+:{other}/", 5) == OK
    assert transport.add_url(group, f"https://+:{other}/tls/", 6) == exists


def test_port_of_a_removed_https_registration_serves_http_once_registered_so(https: Https) -> None:
    transport, port, group = https.transport, https.port, https.group
    assert transport.remove_url(group, https.url, False) == OK
    assert transport.add_url(group, f"http://127.0.0.1:{port}/", 7) == OK
    client = RawClient(port)
    client.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    waiter = Waiter()
    transport.receive_request(https.queue, 0, 0, None, True, 0, waiter)
    code, snap, _n = waiter.wait()
    assert code == OK and isinstance(snap, RequestSnapshot) and snap.url_context == 7
    client.close()


def test_asyncio_face_accepts_an_https_registration_whose_port_stays_silent() -> None:
    port = free_port()

    async def main() -> bytes:
        async with httpsys.ServerSession() as session, session.request_queue() as queue:
            group = session.url_group()
            group.add_url(f"https://127.0.0.1:{port}/")  # accepted, as HttpAddUrlToUrlGroup accepts it
            group.bind(queue)
            try:  # the reset may come at any step
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                try:
                    writer.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                    return await asyncio.wait_for(reader.read(), 5)
                finally:
                    writer.close()
            except ConnectionError:
                return b""

    assert asyncio.run(main()) == b""


# ------------------------------------------------------------------------------------ the Server header, once
async def exchange(port: int, request: bytes) -> bytes:
    """The head of the response to `request` (retried while the server is still starting)."""
    for _ in range(100):
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            break
        except OSError:
            await asyncio.sleep(0.05)
    else:
        raise AssertionError("the server did not start")
    try:
        writer.write(request)
        return await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    finally:
        writer.close()


def server_lines(head: bytes) -> list[bytes]:
    return [line for line in head.split(b"\r\n") if line.lower().startswith(b"server:")]


@pytest.mark.parametrize(
    "headers",
    [{"Server": "MyApp/1.0"}, [("server", "MyApp/1.0")], [(b"SERVER", b"MyApp/1.0"), (b"X-Other", b"1")]],
)
def test_asyncio_face_server_header_is_sent_once(headers: Any) -> None:
    port = free_port()

    async def main() -> bytes:
        async with httpsys.ServerSession() as session, session.request_queue() as queue:
            group = session.url_group()
            group.add_url(f"http://127.0.0.1:{port}/")
            group.bind(queue)

            async def serve() -> None:
                request = await queue.receive()
                await request.respond(200, headers, b"ok")

            task = asyncio.ensure_future(serve())
            head = await exchange(port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            await task
            return head

    assert server_lines(asyncio.run(main())) == [b"Server: MyApp/1.0 Microsoft-HTTPAPI/2.0"]


def test_asgi_server_header_is_sent_once() -> None:
    port = free_port()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        headers = [(b"content-type", b"text/plain"), (b"server", b"uvicorn-compatible")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"ok"})

    async def main() -> bytes:
        server = asyncio.ensure_future(ASGIServer(app, [f"http://127.0.0.1:{port}/"], lifespan="off").run())
        try:
            return await exchange(port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        finally:
            server.cancel()
            await asyncio.gather(server, return_exceptions=True)

    assert server_lines(asyncio.run(main())) == [b"Server: uvicorn-compatible Microsoft-HTTPAPI/2.0"]


@pytest.mark.parametrize(
    ("mode", "line"),
    [
        (0, b"Server: Mine Microsoft-HTTPAPI/2.0"),
        (1, b"Server: Mine Microsoft-HTTPAPI/2.0"),
        (2, b"Server: Mine"),
    ],
)
def test_unknown_server_header_through_the_transport_is_sent_once(make: Any, mode: int, line: bytes) -> None:
    server: Server = make(DriverSettings(disable_server_header=mode))
    client = RawClient(server.port)
    client.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    snap = server.receive()
    server.respond(snap.request_id, body=b"x", unknown=[(b"server", b"Mine")])
    assert server_lines(client.recv_until(b"\r\n\r\n")) == [line]
    client.close()
