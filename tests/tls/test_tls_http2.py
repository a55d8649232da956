"""HTTP/2 over TLS (ARCHITECTURE §8.10, decision 0022): ALPN offers `h2` then `http/1.1` on https ports, on by
default as in HTTP.sys; the connection ALPN selects serves the requests (HTTP_REQUEST_FLAG_HTTP2, Version 2.0),
with the connection's TLS facts; a binding with DISABLE_HTTP2, or the driver's http2_tls setting off, offers
http/1.1 only."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from certs import Pki
from tlsserver import TlsServer, client_context, https_get

from httpsys._core.settings import DriverSettings
from httpsys._core.sslbindings import FLAG_DISABLE_HTTP2
from httpsys._engine.certstore import CertStores
from httpsys._engine.tls import ssl_bindings

HTTP_REQUEST_FLAG_HTTP2 = 0x4


@pytest.fixture
def saved_bindings(config_dir: Path) -> Iterator[None]:
    table = ssl_bindings().table
    saved = table.entries()
    try:
        yield
    finally:
        table.load(saved)


def _server(tmp_path: Path, pki: Pki, settings: DriverSettings | None = None, flags: int = 0) -> TlsServer:
    leaf = pki.server("localhost", kind="ec")
    thumbprint = CertStores().import_pem(pki.chain_pem(leaf), leaf.key_pem())
    server = TlsServer(tmp_path / "httperr", settings)
    server.bind(thumbprint, flags=flags)
    return server


def test_alpn_h2_serves_the_request_as_http2_with_the_tls_facts(
    tmp_path: Path, pki: Pki, saved_bindings: None
) -> None:
    server = _server(tmp_path, pki)
    try:
        worker = server.serve(count=2, body=b"over h2")
        root = pki.root_file(tmp_path)
        with httpx.Client(http2=True, verify=str(root)) as client:
            for _ in range(2):  # two streams on one connection
                response = client.get(f"https://localhost:{server.port}/")
                assert response.http_version == "HTTP/2"
                assert response.status_code == 200 and response.content == b"over h2"
        worker.join(10)
        for snap in server.seen:
            assert snap.version == (2, 0)
            assert snap.flags & HTTP_REQUEST_FLAG_HTTP2
            assert snap.full_url.startswith("https://localhost")
            assert snap.extra is not None and snap.extra["tls"]["alpn"] == "h2"  # type: ignore[index]
        assert server.transport.statistics()["tls_handshakes"] == 1
    finally:
        server.close()


def test_curl_http2_over_tls_negotiates_h2(tmp_path: Path, pki: Pki, saved_bindings: None) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    server = _server(tmp_path, pki)
    try:
        worker = server.serve(body=b"curl h2")
        root = pki.root_file(tmp_path)
        out = subprocess.run(
            ["curl", "-sS", "--http2", "--cacert", str(root), "-w", "\\n%{http_version}",
             "--resolve", f"localhost:{server.port}:127.0.0.1", f"https://localhost:{server.port}/"],
            capture_output=True, text=True, timeout=30, check=True,
        )  # fmt: skip
        worker.join(10)
        assert out.stdout == "curl h2\n2"
    finally:
        server.close()


@pytest.mark.parametrize("how", ["binding flag", "driver setting"])
def test_http2_can_be_switched_off_per_binding_or_driver_wide(
    tmp_path: Path, pki: Pki, saved_bindings: None, how: str
) -> None:
    if how == "binding flag":
        server = _server(tmp_path, pki, flags=FLAG_DISABLE_HTTP2)
    else:
        server = _server(tmp_path, pki, DriverSettings(http2_tls=False))
    try:
        worker = server.serve()
        ctx = client_context(pki.root_file(tmp_path))
        ctx.set_alpn_protocols(["h2", "http/1.1"])
        response, facts = https_get(server.port, ctx)
        worker.join(10)
        assert facts["alpn"] == "http/1.1"
        assert response.startswith(b"HTTP/1.1 200 OK\r\n")
        assert server.seen[0].version == (1, 1)
    finally:
        server.close()


def test_a_client_offering_only_http11_gets_http11(tmp_path: Path, pki: Pki, saved_bindings: None) -> None:
    server = _server(tmp_path, pki)
    try:
        worker = server.serve()
        ctx: ssl.SSLContext = client_context(pki.root_file(tmp_path))
        ctx.set_alpn_protocols(["http/1.1"])
        response, facts = https_get(server.port, ctx)
        worker.join(10)
        assert facts["alpn"] == "http/1.1" and response.startswith(b"HTTP/1.1 200 OK\r\n")
    finally:
        server.close()
