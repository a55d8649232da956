"""HttpQueryRequestProperty(HttpRequestPropertySni) on https requests (issue 18 item 2): the server name the
client's ClientHello carried, with HTTP_REQUEST_PROPERTY_SNI_FLAG_SNI_USED, or none with ..._NO_SNI — on an
HTTP/1.1 connection and on an HTTP/2 stream (the stream answers for its connection)."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from certs import Pki
from tlsserver import TlsServer, client_context

from httpsys._core.status import Win32Error
from httpsys._engine.certstore import CertStores
from httpsys._engine.tls import ssl_bindings

OK = int(Win32Error.NO_ERROR)
SNI = 4  # HttpRequestPropertySni
TCP_INFO_V0 = 1
SNI_USED, NO_SNI = 0x1, 0x2


@pytest.fixture
def server(tmp_path: Path, pki: Pki, config_dir: Path) -> Iterator[TlsServer]:
    table = ssl_bindings().table
    saved = table.entries()
    leaf = pki.server("localhost", kind="ec")
    thumbprint = CertStores().import_pem(pki.chain_pem(leaf), leaf.key_pem())
    tls = TlsServer(tmp_path / "httperr")
    tls.bind(thumbprint)
    try:
        yield tls
    finally:
        tls.close()
        table.load(saved)


def _get(port: int, ctx: ssl.SSLContext, server_name: str | None) -> threading.Thread:
    def run() -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname=server_name) as tls:
                tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                while tls.recv(65536):
                    pass

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_sni_reports_the_name_the_client_sent(server: TlsServer, pki: Pki, tmp_path: Path) -> None:
    client = _get(server.port, client_context(pki.root_file(tmp_path)), "localhost")
    snap = server.receive()
    code, value = server.transport.query_request_property(server.queue, snap.request_id, SNI)
    assert (code, value) == (OK, {"Hostname": "localhost", "Flags": SNI_USED})
    assert server.respond(snap.request_id) == OK
    client.join(10)


def test_a_client_without_sni_gets_the_no_sni_flag(server: TlsServer, pki: Pki, tmp_path: Path) -> None:
    ctx = client_context(pki.root_file(tmp_path), check_hostname=False)
    client = _get(server.port, ctx, None)
    snap = server.receive()
    code, value = server.transport.query_request_property(server.queue, snap.request_id, SNI)
    assert (code, value) == (OK, {"Hostname": "", "Flags": NO_SNI})
    assert server.respond(snap.request_id) == OK
    client.join(10)


def test_an_http2_stream_answers_for_its_tls_connection(server: TlsServer, pki: Pki, tmp_path: Path) -> None:
    root = str(pki.root_file(tmp_path))
    answers: list[httpx.Response] = []

    def run() -> None:
        with httpx.Client(http2=True, verify=ssl.create_default_context(cafile=root)) as client:
            answers.append(client.get(f"https://localhost:{server.port}/"))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    snap = server.receive()
    assert snap.version == (2, 0)
    code, value = server.transport.query_request_property(server.queue, snap.request_id, SNI)
    assert (code, value) == (OK, {"Hostname": "localhost", "Flags": SNI_USED})
    code, info = server.transport.query_request_property(server.queue, snap.request_id, TCP_INFO_V0)
    assert code == OK and isinstance(info, dict) and info["State"] == 4 and info["BytesIn"] > 0
    assert server.respond(snap.request_id) == OK
    thread.join(10)
    assert answers and answers[0].http_version == "HTTP/2"
