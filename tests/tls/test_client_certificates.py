"""Client certificates through the win32 face: a binding with HTTP_SERVICE_CONFIG_SSL_FLAG_NEGOTIATE_CLIENT_CERT
asks for one in the handshake; pSslInfo says it was negotiated and HttpReceiveClientCertificate returns it
(ERROR_MORE_DATA sizing, ERROR_NOT_FOUND without one) - spec §6 item 146."""

from __future__ import annotations

import ctypes
import ctypes.wintypes
import socket
import ssl
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from certs import Pki
from cryptography.hazmat.primitives import serialization
from tlsserver import free_port

from httpsys._engine.certstore import CertStores
from httpsys._engine.tls import ssl_bindings
from httpsys.win32 import *


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


def _serve_https(port: int) -> int:
    session, group, queue = ctypes.c_ulonglong(), ctypes.c_ulonglong(), ctypes.wintypes.HANDLE()
    assert HttpCreateServerSession(HTTPAPI_VERSION_2, session, 0) == NO_ERROR
    assert HttpCreateUrlGroup(session.value, group, 0) == NO_ERROR
    assert HttpCreateRequestQueue(HTTPAPI_VERSION_2, None, None, 0, queue) == NO_ERROR
    binding = HTTP_BINDING_INFO(Flags=HTTP_PROPERTY_FLAGS(Present=1), RequestQueueHandle=queue.value)
    assert (
        HttpSetUrlGroupProperty(group.value, HttpServerBindingProperty, binding, sizeof(binding)) == NO_ERROR
    )
    assert HttpAddUrlToUrlGroup(group.value, f"https://127.0.0.1:{port}/", 0, 0) == NO_ERROR
    return int(queue.value)


def _bind(port: int, thumbprint: str, flags: int, ctl_store: str | None) -> None:
    digest = bytes.fromhex(thumbprint)
    record = HTTP_SERVICE_CONFIG_SSL_SET(
        KeyDesc=HTTP_SERVICE_CONFIG_SSL_KEY(pIpPort=SOCKADDR_IN.from_address(("0.0.0.0", port))),
        ParamDesc=HTTP_SERVICE_CONFIG_SSL_PARAM(
            SslHashLength=20,
            pSslHash=digest,
            AppId=uuid.uuid4(),
            pDefaultSslCtlStoreName=ctl_store,
            DefaultFlags=flags,
        ),
    )
    assert (
        HttpSetServiceConfiguration(None, HttpServiceConfigSSLCertInfo, record, sizeof(record), None)
        == NO_ERROR
    )


def _client(port: int, ctx: ssl.SSLContext, answer: threading.Event) -> threading.Thread:
    def run() -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
                answer.wait(10)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _receive(queue: int) -> HTTP_REQUEST_V2:
    request = HTTP_REQUEST_V2()
    returned = ctypes.c_ulong()
    assert HttpReceiveHttpRequest(queue, HTTP_NULL_ID, 0, request, 16384, returned, None) == NO_ERROR
    return request


def test_negotiated_client_certificate_reaches_pssl_info_and_receive_client_certificate(
    win32: None, pki: Pki, tmp_path: Path
) -> None:
    leaf = pki.server("localhost")
    stores = CertStores()
    thumbprint = stores.import_pem(pki.chain_pem(leaf), leaf.key_pem())
    stores.import_pem(
        pki.root.cert_pem(), None, "ClientIssuers"
    )  # the clients' trusted issuer, without its key
    port = free_port()
    queue = _serve_https(port)
    _bind(port, thumbprint, HTTP_SERVICE_CONFIG_SSL_FLAG_NEGOTIATE_CLIENT_CERT, "ClientIssuers")

    alice = pki.client("alice")
    cert_path, key_path = pki.write(tmp_path, alice, "alice")
    with_cert = ssl.create_default_context(cafile=str(pki.root_file(tmp_path)))
    with_cert.load_cert_chain(str(cert_path), str(key_path))
    done = threading.Event()
    client = _client(port, with_cert, done)
    request = _receive(queue)
    info = request.pSslInfo
    assert info is not None and info.SslClientCertNegotiated == 1
    der = alice.cert.public_bytes(serialization.Encoding.DER)
    assert info.pClientCertInfo is not None and info.pClientCertInfo.pCertEncoded == der

    small, returned = HTTP_SSL_CLIENT_CERT_INFO(), ctypes.c_ulong()
    code = HttpReceiveClientCertificate(queue, request.ConnectionId, 0, small, sizeof(small), returned, None)
    assert code == ERROR_MORE_DATA and small.CertEncodedSize == len(der)
    assert returned.value == sizeof(HTTP_SSL_CLIENT_CERT_INFO) + len(der)
    full = HTTP_SSL_CLIENT_CERT_INFO()
    code = HttpReceiveClientCertificate(queue, request.ConnectionId, 0, full, returned.value, returned, None)
    assert code == NO_ERROR and full.pCertEncoded == der and full.CertFlags == 0
    assert HttpReceiveClientCertificate(queue, request.ConnectionId, 0, full, 8, returned, None) == (
        ERROR_INSUFFICIENT_BUFFER
    )
    done.set()
    client.join(10)

    # a client without a certificate is still served (the binding negotiates, it does not require)
    without = ssl.create_default_context(cafile=str(pki.root_file(tmp_path)))
    done2 = threading.Event()
    client = _client(port, without, done2)
    request = _receive(queue)
    assert request.pSslInfo is not None and request.pSslInfo.SslClientCertNegotiated == 0
    code = HttpReceiveClientCertificate(queue, request.ConnectionId, 0, full, 4096, returned, None)
    assert code == ERROR_NOT_FOUND
    done2.set()
    client.join(10)
