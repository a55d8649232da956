"""What applications see of TLS: the snapshot's facts, pSslInfo and the SslProtocol request info (win32), the
asyncio request's `tls`, ASGI's scheme and TLS extension, WSGI's url_scheme (issue 17 item 3)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from certs import Pki
from tlsserver import TlsServer, client_context, free_port, https_get

from httpsys._engine.certstore import CertStores
from httpsys._engine.tls import ssl_bindings, tls_request_info_bytes
from httpsys.asgi import ASGIServer
from httpsys.win32 import (
    HTTP_REQUEST_INFO,
    HTTP_REQUEST_V2,
    HTTP_SSL_INFO,
    HTTP_SSL_PROTOCOL_INFO,
    HttpRequestInfoTypeSslProtocol,
    sizeof,
)
from httpsys.win32.marshal import fill_request


@pytest.fixture
def bindings(config_dir: Path) -> Iterator[None]:
    table = ssl_bindings().table
    saved = table.entries()
    try:
        yield
    finally:
        table.load(saved)


@pytest.fixture
def server(tmp_path: Path, bindings: None) -> Iterator[TlsServer]:
    made = TlsServer(tmp_path / "httperr")
    try:
        yield made
    finally:
        made.close()


def _bind(server: TlsServer, pki: Pki, kind: str = "ec") -> None:
    leaf = pki.server("localhost", kind=kind)
    server.bind(CertStores().import_pem(pki.chain_pem(leaf), leaf.key_pem()))


def test_a_tls13_request_carries_its_facts_with_windows_constants(
    server: TlsServer, pki: Pki, tmp_path: Path
) -> None:
    _bind(server, pki)
    server.serve()
    ctx = client_context(pki.root_file(tmp_path))
    ctx.set_alpn_protocols(["http/1.1"])
    response, seen = https_get(server.port, ctx)
    assert response.startswith(b"HTTP/1.1 200")
    [snap] = server.seen
    assert snap.extra is not None
    tls: dict[str, Any] = snap.extra["tls"]  # type: ignore[assignment]
    assert tls["protocol_name"] == "TLSv1.3" and tls["protocol"] == 0x1000  # SP_PROT_TLS1_3_SERVER
    assert tls["tls_version"] == 0x0304
    assert tls["cipher_name"] == seen["cipher"][0]
    assert tls["cipher_suite"] in (0x1301, 0x1302, 0x1303)
    assert tls["cipher_type"] in (0x660E, 0x6610, 0)  # CALG_AES_128 / CALG_AES_256 / ChaCha20 (no ALG_ID)
    assert tls["cipher_strength"] == seen["cipher"][2]
    assert tls["key_exchange_type"] == 0xAE06  # CALG_ECDH_EPHEM
    assert tls["server_cert_key_size"] == 256  # ECDSA P-256
    assert tls["server_cert_subject"] == "O=httpsys tests, CN=localhost"
    assert tls["server_cert_issuer"] == "O=httpsys tests, CN=httpsys test intermediate"
    assert tls["alpn"] == "http/1.1" and tls["client_cert_negotiated"] is False
    assert snap.raw_connection_id == snap.connection_id

    request = HTTP_REQUEST_V2()
    fill_request(request, snap)
    info = request.pSslInfo
    assert info is not None and info.ServerCertKeySize == 256
    assert info.pServerCertSubject == b"O=httpsys tests, CN=localhost"
    assert info.ServerCertSubjectSize == len(info.pServerCertSubject)
    assert info.SslClientCertNegotiated == 0 and info.pClientCertInfo is None
    assert request.RequestInfoCount == 1
    [item] = request.pRequestInfo
    assert item.InfoType == HttpRequestInfoTypeSslProtocol and item.InfoLength == sizeof(
        HTTP_SSL_PROTOCOL_INFO
    )
    assert isinstance(item.pInfo, HTTP_SSL_PROTOCOL_INFO) and item.pInfo.Protocol == 0x1000
    assert request.CookedUrl.pFullUrl.startswith("https://")
    # the buffer a receive needs grows by what pSslInfo and the request info point to (x64 sizes)
    strings = len(info.pServerCertIssuer) + 1 + len(info.pServerCertSubject) + 1
    v1_extra = sizeof(HTTP_SSL_INFO) + strings
    assert tls_request_info_bytes(snap.extra, False) == v1_extra
    v2_extra = (v1_extra + 7) // 8 * 8 + sizeof(HTTP_REQUEST_INFO) + sizeof(HTTP_SSL_PROTOCOL_INFO)
    assert tls_request_info_bytes(snap.extra, True) == v2_extra
    assert tls_request_info_bytes(None, True) == 0


def test_an_rsa_tls12_connection_reports_rsa_key_size_and_tls12(
    server: TlsServer, pki: Pki, tmp_path: Path
) -> None:
    _bind(server, pki, kind="rsa")
    server.serve()
    ctx = client_context(pki.root_file(tmp_path), maximum_version=ssl.TLSVersion.TLSv1_2)
    https_get(server.port, ctx)
    tls: dict[str, Any] = server.seen[0].extra["tls"]  # type: ignore[index, assignment]
    assert (tls["protocol"], tls["tls_version"], tls["server_cert_key_size"]) == (0x400, 0x0303, 2048)
    assert tls["cipher_name"].startswith("ECDHE-RSA-") and tls["cipher_suite"] in (0xC02F, 0xC030, 0xCCA8)


def test_asgi_sees_https_and_the_tls_extension(bindings: None, pki: Pki, tmp_path: Path) -> None:
    leaf = pki.server("localhost")
    thumbprint = CertStores().import_pem(pki.chain_pem(leaf), leaf.key_pem())
    scopes: list[dict[str, Any]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scopes.append(scope)
            await send({"type": "http.response.start", "status": 200})
            await send({"type": "http.response.body", "body": b"secure"})

    async def main(port: int) -> str:
        from httpsys._core.sslbindings import BindingKind, SslBinding
        from httpsys.aio.objects import driver_for_loop

        ssl_bindings().table.set(
            SslBinding(BindingKind.IPPORT, port, address="0.0.0.0", cert_hash=thumbprint)
        )
        try:
            async with ASGIServer(app, [f"https://+:{port}/"], lifespan="off"):
                async with httpx.AsyncClient(verify=client_context(pki.root_file(tmp_path))) as client:
                    response = await client.get(f"https://localhost:{port}/")
            return response.text
        finally:
            driver_for_loop().close()

    assert asyncio.run(main(free_port())) == "secure"
    [scope] = scopes
    assert scope["scheme"] == "https"
    tls = scope["extensions"]["tls"]
    assert tls["tls_version"] == 0x0304 and tls["cipher_suite"] in (0x1301, 0x1302, 0x1303)
    assert tls["client_cert_chain"] == [] and tls["client_cert_name"] is None
    assert "http.response.trailers" in scope["extensions"]  # the server's other extensions stay


def test_asgi_tls_extension_is_made_once_per_connection_not_per_request(
    bindings: None, pki: Pki, tmp_path: Path
) -> None:
    leaf = pki.server("localhost")
    thumbprint = CertStores().import_pem(pki.chain_pem(leaf), leaf.key_pem())
    scopes: list[dict[str, Any]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scopes.append(scope)
            await send({"type": "http.response.start", "status": 200})
            await send({"type": "http.response.body", "body": b"ok"})

    async def main(port: int) -> None:
        from httpsys._core.sslbindings import BindingKind, SslBinding
        from httpsys.aio.objects import driver_for_loop

        ssl_bindings().table.set(
            SslBinding(BindingKind.IPPORT, port, address="0.0.0.0", cert_hash=thumbprint)
        )
        verify = client_context(pki.root_file(tmp_path))
        try:
            async with ASGIServer(app, [f"https://+:{port}/"], lifespan="off"):
                async with httpx.AsyncClient(verify=verify) as client:  # one keep-alive connection
                    for _ in range(2):
                        assert (await client.get(f"https://localhost:{port}/")).text == "ok"
                async with httpx.AsyncClient(verify=verify) as client:  # a second connection
                    assert (await client.get(f"https://localhost:{port}/")).text == "ok"
        finally:
            driver_for_loop().close()

    asyncio.run(main(free_port()))
    first, again, other = (scope["extensions"] for scope in scopes)
    assert first is again  # the connection's second request reuses what its first made
    assert other is not first and other["tls"] == first["tls"]  # a new connection makes its own, alike
    assert first["tls"]["tls_version"] == 0x0304 and "http.response.trailers" in first
