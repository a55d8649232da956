"""A client certificate asked for on demand: HttpReceiveClientCertificate on a connection whose binding did not
negotiate one sends a TLS 1.3 post-handshake CertificateRequest (spec §6 item 146, decision 0021) — real clients
(Python's ssl, `openssl s_client`), through the win32 face, synchronous and overlapped; TLS 1.2 clients and
clients that did not offer post_handshake_auth never see a request and get ERROR_NOT_FOUND."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.wintypes
import shutil
import socket
import ssl
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvloop
from certs import Issued, Pki, issue
from cryptography.hazmat.primitives import serialization
from tlsserver import TlsServer, free_port, https_get

from httpsys._core.sslbindings import FLAG_NEGOTIATE_CLIENT_CERT, BindingKind, SslBinding
from httpsys._engine.certstore import CertStores
from httpsys._engine.tls import ssl_bindings
from httpsys.aio import Request, ServerSession
from httpsys.aio.objects import driver_for_loop
from httpsys.win32 import *
from httpsys.win32.kernel32 import CreateEvent, GetOverlappedResult

REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"


@pytest.fixture
def win32(config_dir: Path) -> Iterator[None]:
    table = ssl_bindings().table
    saved = table.entries()
    flags = HTTP_INITIALIZE_SERVER | HTTP_INITIALIZE_CONFIG
    assert HttpInitialize(HTTPAPI_VERSION_2, flags, None) == NO_ERROR
    try:
        yield
    finally:
        assert HttpTerminate(flags, None) == NO_ERROR
        table.load(saved)


class Site:
    """https://127.0.0.1:PORT/ served through one queue; the IP:port binding does not negotiate client
    certificates, its trusted issuers are the store ClientIssuers (the PKI's root)."""

    def __init__(self, pki: Pki, tmp_path: Path, flags: int = 0) -> None:
        leaf = pki.server("localhost")
        stores = CertStores()
        self.thumbprint = stores.import_pem(pki.chain_pem(leaf), leaf.key_pem())
        stores.import_pem(pki.root.cert_pem(), None, "ClientIssuers")
        self.port = free_port()
        session, group, queue = ctypes.c_ulonglong(), ctypes.c_ulonglong(), ctypes.wintypes.HANDLE()
        assert HttpCreateServerSession(HTTPAPI_VERSION_2, session, 0) == NO_ERROR
        assert HttpCreateUrlGroup(session.value, group, 0) == NO_ERROR
        assert HttpCreateRequestQueue(HTTPAPI_VERSION_2, None, None, 0, queue) == NO_ERROR
        binding = HTTP_BINDING_INFO(Flags=HTTP_PROPERTY_FLAGS(Present=1), RequestQueueHandle=queue.value)
        assert (
            HttpSetUrlGroupProperty(group.value, HttpServerBindingProperty, binding, sizeof(binding))
            == NO_ERROR
        )
        assert HttpAddUrlToUrlGroup(group.value, f"https://127.0.0.1:{self.port}/", 0, 0) == NO_ERROR
        self.queue = int(queue.value)
        record = HTTP_SERVICE_CONFIG_SSL_SET(
            KeyDesc=HTTP_SERVICE_CONFIG_SSL_KEY(pIpPort=SOCKADDR_IN.from_address(("0.0.0.0", self.port))),
            ParamDesc=HTTP_SERVICE_CONFIG_SSL_PARAM(
                SslHashLength=20,
                pSslHash=bytes.fromhex(self.thumbprint),
                AppId=uuid.uuid4(),
                pDefaultSslCtlStoreName="ClientIssuers",
                DefaultFlags=flags,
            ),
        )
        assert (
            HttpSetServiceConfiguration(None, HttpServiceConfigSSLCertInfo, record, sizeof(record), None)
            == NO_ERROR
        )

    def receive(self) -> HTTP_REQUEST_V2:
        request = HTTP_REQUEST_V2()
        returned = ctypes.c_ulong()
        assert HttpReceiveHttpRequest(self.queue, HTTP_NULL_ID, 0, request, 16384, returned, None) == NO_ERROR
        return request

    def respond(self, request: HTTP_REQUEST_V2, body: bytes = b"hello") -> None:
        response = HTTP_RESPONSE_V2(StatusCode=200, pReason=b"OK")
        response.pEntityChunks = [
            HTTP_DATA_CHUNK(
                DataChunkType=HttpDataChunkFromMemory, FromMemory=HTTP_DATA_CHUNK_FROM_MEMORY(pBuffer=body)
            )
        ]
        response.EntityChunkCount = 1
        sent = ctypes.c_ulong()
        code = HttpSendHttpResponse(
            self.queue, request.RequestId, 0, response, None, sent, None, 0, None, None
        )
        assert code == NO_ERROR


class Client:
    """A TLS client on its own thread: sends requests, and reads (which answers a post-handshake
    CertificateRequest) until each response has come."""

    def __init__(self, port: int, ctx: ssl.SSLContext, requests: int = 1) -> None:
        self.responses: list[bytes] = []
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(port, ctx, requests), daemon=True)
        self.thread.start()

    def _run(self, port: int, ctx: ssl.SSLContext, requests: int) -> None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=15) as raw:
                with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                    for _ in range(requests):
                        tls.sendall(REQUEST)
                        data = b""
                        while not data.endswith(b"hello"):
                            chunk = tls.recv(4096)
                            if not chunk:
                                raise ConnectionError(f"closed after {data!r}")
                            data += chunk
                        self.responses.append(data)
        except BaseException as exc:  # the test reads it
            self.error = exc

    def join(self) -> None:
        self.thread.join(15)
        assert not self.thread.is_alive()


_CLIENTS: dict[str, Issued] = {}


def _client_cert(pki: Pki, name: str) -> Issued:
    if name not in _CLIENTS:
        _CLIENTS[name] = pki.client(name)
    return _CLIENTS[name]


def _client_context(pki: Pki, tmp_path: Path, cert: str | None = "alice", **kw: object) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(pki.root_file(tmp_path)))
    if cert is not None:
        cert_path, key_path = pki.write(tmp_path, _client_cert(pki, cert), cert)
        ctx.load_cert_chain(str(cert_path), str(key_path))
    for name, value in kw.items():
        setattr(ctx, name, value)
    return ctx


def _der(pki: Pki, name: str) -> bytes:
    return _client_cert(pki, name).cert.public_bytes(serialization.Encoding.DER)


def test_tls13_client_certificate_on_demand_with_more_data_sizing_then_in_later_requests(
    win32: None, pki: Pki, tmp_path: Path
) -> None:
    site = Site(pki, tmp_path)
    client = Client(site.port, _client_context(pki, tmp_path, post_handshake_auth=True), requests=2)
    request = site.receive()
    assert (
        request.pSslInfo is not None and request.pSslInfo.SslClientCertNegotiated == 0
    )  # none in the handshake
    der = _der(pki, "alice")

    small, returned = HTTP_SSL_CLIENT_CERT_INFO(), ctypes.c_ulong()
    code = HttpReceiveClientCertificate(
        site.queue, request.ConnectionId, 0, small, sizeof(small), returned, None
    )
    assert code == ERROR_MORE_DATA and small.CertEncodedSize == len(der)  # asked, answered, sized
    assert returned.value == sizeof(HTTP_SSL_CLIENT_CERT_INFO) + len(der)
    full = HTTP_SSL_CLIENT_CERT_INFO()
    code = HttpReceiveClientCertificate(
        site.queue, request.ConnectionId, 0, full, returned.value, returned, None
    )
    assert code == NO_ERROR and full.pCertEncoded == der and full.CertFlags == 0
    site.respond(request)

    later = site.receive()  # the connection's next request carries the certificate in pSslInfo
    assert later.ConnectionId == request.ConnectionId
    assert later.pSslInfo is not None and later.pSslInfo.SslClientCertNegotiated == 1
    assert later.pSslInfo.pClientCertInfo is not None and later.pSslInfo.pClientCertInfo.pCertEncoded == der
    site.respond(later)
    client.join()
    assert client.error is None and len(client.responses) == 2


def test_on_demand_overlapped_is_pending_until_the_client_answers(
    win32: None, pki: Pki, tmp_path: Path
) -> None:
    site = Site(pki, tmp_path)
    client = Client(site.port, _client_context(pki, tmp_path, post_handshake_auth=True))
    request = site.receive()
    info = HTTP_SSL_CLIENT_CERT_INFO()
    ov = OVERLAPPED(hEvent=CreateEvent(None, True, False, None))
    code = HttpReceiveClientCertificate(site.queue, request.ConnectionId, 0, info, 4096, None, ov)
    assert code in (ERROR_IO_PENDING, NO_ERROR)
    nbytes = ctypes.wintypes.DWORD()
    assert GetOverlappedResult(site.queue, ov, nbytes, True) is True
    assert info.pCertEncoded == _der(pki, "alice")
    assert nbytes.value == sizeof(HTTP_SSL_CLIENT_CERT_INFO) + len(info.pCertEncoded)
    site.respond(request)
    client.join()
    assert client.error is None


@pytest.mark.parametrize(
    "how",
    ["tls12", "tls13-without-post-handshake-auth", "tls13-without-a-certificate"],
)
def test_clients_that_cannot_or_do_not_answer_get_not_found(
    win32: None, pki: Pki, tmp_path: Path, how: str
) -> None:
    site = Site(pki, tmp_path)
    if how == "tls12":  # a certificate ready, but TLS 1.2: no renegotiation, and no request in the handshake
        ctx = _client_context(pki, tmp_path, post_handshake_auth=True, maximum_version=ssl.TLSVersion.TLSv1_2)
    elif how == "tls13-without-post-handshake-auth":
        ctx = _client_context(pki, tmp_path)
    else:
        ctx = _client_context(pki, tmp_path, cert=None, post_handshake_auth=True)
    client = Client(site.port, ctx)
    request = site.receive()
    assert request.pSslInfo is not None and request.pSslInfo.SslClientCertNegotiated == 0
    started = time.monotonic()
    info, returned = HTTP_SSL_CLIENT_CERT_INFO(), ctypes.c_ulong()
    code = HttpReceiveClientCertificate(site.queue, request.ConnectionId, 0, info, 4096, returned, None)
    assert code == ERROR_NOT_FOUND
    assert time.monotonic() - started < 5  # an empty answer is seen when it comes, not after a timeout
    site.respond(request)
    client.join()
    assert client.error is None and client.responses[0].startswith(b"HTTP/1.1 200")


def test_a_certificate_from_an_untrusted_issuer_closes_the_connection(
    win32: None, pki: Pki, tmp_path: Path
) -> None:
    site = Site(pki, tmp_path)
    stranger = issue("mallory", client=True)  # self-signed: not from the binding's trusted issuers
    cert_path, key_path = tmp_path / "mallory.pem", tmp_path / "mallory.key"
    cert_path.write_bytes(stranger.cert_pem())
    key_path.write_bytes(stranger.key_pem())
    ctx = ssl.create_default_context(cafile=str(pki.root_file(tmp_path)))
    ctx.load_cert_chain(str(cert_path), str(key_path))
    ctx.post_handshake_auth = True
    client = Client(site.port, ctx)
    request = site.receive()
    info, returned = HTTP_SSL_CLIENT_CERT_INFO(), ctypes.c_ulong()
    code = HttpReceiveClientCertificate(site.queue, request.ConnectionId, 0, info, 4096, returned, None)
    assert code == ERROR_CONNECTION_INVALID
    client.join()
    assert isinstance(client.error, (ssl.SSLError, ConnectionError, OSError))


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl (the command) is not installed")
def test_openssl_s_client_tls12_sees_no_certificate_request_and_tls13_pha_answers_one(
    win32: None, pki: Pki, tmp_path: Path
) -> None:
    site = Site(pki, tmp_path)
    cert_path, key_path = pki.write(tmp_path, pki.client("carol"), "carol")
    base = ["openssl", "s_client", "-connect", f"127.0.0.1:{site.port}", "-servername", "localhost", "-msg"]
    base += ["-cert", str(cert_path), "-cert_chain", str(cert_path), "-key", str(key_path), "-ign_eof"]
    outputs: dict[str, str] = {}

    def run(name: str, *extra: str) -> None:
        proc = subprocess.Popen(
            [*base, *extra], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        assert proc.stdin is not None
        proc.stdin.write(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        proc.stdin.flush()
        out, _ = proc.communicate(timeout=20)
        outputs[name] = out.decode(errors="replace")

    for name, extra, expected in (
        ("tls12", ("-tls1_2",), ERROR_NOT_FOUND),
        ("pha", ("-enable_pha",), NO_ERROR),
    ):
        thread = threading.Thread(target=run, args=(name, *extra), daemon=True)
        thread.start()
        request = site.receive()
        info, returned = HTTP_SSL_CLIENT_CERT_INFO(), ctypes.c_ulong()
        code = HttpReceiveClientCertificate(site.queue, request.ConnectionId, 0, info, 4096, returned, None)
        assert code == expected, name
        site.respond(request)
        thread.join(20)
    assert "CertificateRequest" not in outputs["tls12"]  # never asked in the TLS 1.2 handshake
    assert "<<< TLS 1.3, Handshake" in outputs["pha"] and "CertificateRequest" in outputs["pha"]
    assert ">>> TLS 1.3, Handshake" in outputs["pha"]
    assert "hello" in outputs["tls12"] and "hello" in outputs["pha"]


def test_an_sni_binding_that_negotiates_asks_in_the_handshake_for_its_name_only(
    config_dir: Path, pki: Pki, tmp_path: Path
) -> None:
    """The binding for the ClientHello's SNI name decides whether the handshake asks (the driver reads the name
    before OpenSSL does): an SNI binding with NEGOTIATE_CLIENT_CERT on a port whose IP:port binding lacks it."""
    table = ssl_bindings().table
    saved = table.entries()
    server = TlsServer(tmp_path / "httperr")
    try:
        stores = CertStores()
        leaf = pki.server("localhost", "other.test")
        thumbprint = stores.import_pem(pki.chain_pem(leaf), leaf.key_pem())
        stores.import_pem(pki.root.cert_pem(), None, "ClientIssuers")
        server.bind(thumbprint)
        server.bind(
            thumbprint,
            kind=BindingKind.SNI,
            address="",
            host="localhost",
            flags=FLAG_NEGOTIATE_CLIENT_CERT,
            ctl_store="ClientIssuers",
        )
        ctx = _client_context(pki, tmp_path)  # a certificate ready, no post-handshake authentication
        negotiated = []
        for name in ("localhost", "other.test"):
            worker = server.serve()
            response, _facts = https_get(server.port, ctx, server_name=name)
            worker.join(10)
            assert response.startswith(b"HTTP/1.1 200")
            extra = server.seen[0].extra
            assert extra is not None
            tls = extra["tls"]
            assert isinstance(tls, dict)
            negotiated.append(tls["client_cert"])
        assert negotiated == [_der(pki, "alice"), b""]
    finally:
        server.close()
        table.load(saved)


def test_the_asyncio_face_asks_for_a_client_certificate_on_demand(
    config_dir: Path, pki: Pki, tmp_path: Path
) -> None:
    table = ssl_bindings().table
    saved = table.entries()
    stores = CertStores()
    leaf = pki.server("localhost")
    thumbprint = stores.import_pem(pki.chain_pem(leaf), leaf.key_pem())
    stores.import_pem(pki.root.cert_pem(), None, "ClientIssuers")
    port = free_port()
    assert (
        table.set(
            SslBinding(
                BindingKind.IPPORT, port, address="0.0.0.0", cert_hash=thumbprint, ctl_store="ClientIssuers"
            )
        )
        == NO_ERROR
    )
    seen: list[tuple[bytes | None, bytes | None]] = []

    async def scenario() -> None:
        session = ServerSession().open()
        queue = session.request_queue()
        group = session.url_group()
        group.add_url(f"https://127.0.0.1:{port}/")
        group.bind(queue)
        try:
            for ctx in (
                _client_context(pki, tmp_path, post_handshake_auth=True),
                _client_context(pki, tmp_path, maximum_version=ssl.TLSVersion.TLSv1_2),
            ):
                client = Client(port, ctx)
                request: Request = await asyncio.wait_for(queue.receive(), 10)
                tls = request.tls
                before = tls["client_cert"] if tls is not None else None
                seen.append((before, await asyncio.wait_for(request.client_certificate(), 10)))
                await request.respond(200, {"Content-Length": "5"}, b"hello")
                await asyncio.get_running_loop().run_in_executor(None, client.join)
                assert client.error is None
        finally:
            session.close()
            driver_for_loop().close()

    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(scenario())
    finally:
        table.load(saved)
    assert seen == [(b"", _der(pki, "alice")), (b"", None)]


def _pump(sock: socket.socket, out: ssl.MemoryBIO, incoming: ssl.MemoryBIO, step: Any) -> Any:
    """Run one step of a memory-BIO TLS client over `sock`: send what it wrote, feed it what came, until done."""
    while True:
        try:
            result = step()
        except ssl.SSLWantReadError:
            if pending := out.read():
                sock.sendall(pending)
            data = sock.recv(65536)
            if not data:
                raise ConnectionError("closed") from None
            incoming.write(data)
            continue
        if pending := out.read():
            sock.sendall(pending)
        return result


def test_a_client_hello_that_arrives_in_two_parts_is_still_read_for_post_handshake_auth(
    win32: None, pki: Pki, tmp_path: Path
) -> None:
    site = Site(pki, tmp_path)
    ctx = _client_context(pki, tmp_path, post_handshake_auth=True)
    answers: list[bytes] = []

    def client() -> None:
        with socket.create_connection(("127.0.0.1", site.port), timeout=15) as sock:
            incoming, out = ssl.MemoryBIO(), ssl.MemoryBIO()
            tls = ctx.wrap_bio(incoming, out, server_hostname="localhost")
            with pytest.raises(ssl.SSLWantReadError):
                tls.do_handshake()
            hello = out.read()
            sock.sendall(hello[:60])  # the record header and a part of the hello
            time.sleep(0.03)
            sock.sendall(hello[60:])
            _pump(sock, out, incoming, tls.do_handshake)
            tls.write(REQUEST)
            _pump(sock, out, incoming, lambda: None)
            data = b""
            while not data.endswith(b"hello"):
                data += _pump(sock, out, incoming, lambda: tls.read(4096))
            answers.append(data)

    thread = threading.Thread(target=client, daemon=True)
    thread.start()
    request = site.receive()
    info, returned = HTTP_SSL_CLIENT_CERT_INFO(), ctypes.c_ulong()
    code = HttpReceiveClientCertificate(site.queue, request.ConnectionId, 0, info, 4096, returned, None)
    assert code == NO_ERROR and info.pCertEncoded == _der(pki, "alice")
    site.respond(request)
    thread.join(15)
    assert answers and answers[0].startswith(b"HTTP/1.1 200")
