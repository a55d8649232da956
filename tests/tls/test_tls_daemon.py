"""TLS through the shared daemon: the daemon's engine terminates TLS with its binding table and the request's TLS
facts reach the client process over the wire (ARCHITECTURE §8.9 with §8.2). The daemon runs in this process
(on a thread of its own, behind its Unix socket), so the test can put a binding into the table it reads; the
client is a RemoteTransport as in any other process."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from certs import Pki
from cryptography.hazmat.primitives import serialization
from tlsserver import Waiter, client_context, free_port, https_get

from httpsys._core.records import MemoryChunk
from httpsys._core.response import ResponseSpec
from httpsys._core.sslbindings import BindingKind, SslBinding
from httpsys._daemon.server import DaemonServer
from httpsys._engine.certstore import CertStores
from httpsys._engine.tls import ssl_bindings
from httpsys._transport.embedded import new_event_loop
from httpsys._transport.remote import RemoteTransport


@pytest.fixture
def daemon_path(tmp_path: Path, config_dir: Path) -> Iterator[str]:
    table = ssl_bindings().table
    saved = table.entries()
    loop = new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    path = str(tmp_path / "httpsys.sock")
    server: list[DaemonServer] = []
    started = threading.Event()

    def start() -> None:
        made = DaemonServer(path, loop)
        made.start()  # listening once this returns, as `httpsys daemon` is ready when PATH accepts
        server.append(made)
        started.set()

    loop.call_soon_threadsafe(start)
    assert started.wait(10)
    try:
        yield path
    finally:
        done = threading.Event()

        def stop() -> None:
            server[0].close()
            done.set()

        loop.call_soon_threadsafe(stop)
        done.wait(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
        table.load(saved)


def test_tls_terminates_in_the_daemon_and_the_facts_cross_the_wire(
    daemon_path: str, pki: Pki, tmp_path: Path
) -> None:
    leaf = pki.server("localhost")
    thumbprint = CertStores().import_pem(pki.chain_pem(leaf), leaf.key_pem())
    port = free_port()
    ssl_bindings().table.set(SslBinding(BindingKind.IPPORT, port, address="0.0.0.0", cert_hash=thumbprint))
    transport = RemoteTransport(daemon_path)
    try:
        code, session = transport.create_server_session((2, 0))
        code, group = transport.create_url_group(session)
        code, queue = transport.create_request_queue(None, 0, False)
        assert transport.set_group_property(group, 7, queue) == 0
        assert transport.add_url(group, f"https://127.0.0.1:{port}/", 5) == 0
        result: list[Any] = []
        client = threading.Thread(
            target=lambda: result.append(https_get(port, client_context(pki.root_file(tmp_path)))),
            daemon=True,
        )
        client.start()
        waiter = Waiter()
        transport.receive_request(queue, 0, 0, None, True, 1, waiter)
        code, snap, _n = waiter.wait(15)
        assert code == 0 and snap.full_url.startswith("https://")
        tls = snap.extra["tls"]
        assert tls["protocol"] == 0x1000 and tls["server_cert_subject"] == "O=httpsys tests, CN=localhost"
        sent = Waiter()
        spec = ResponseSpec(status=200, reason=b"OK", known={}, unknown=[])
        transport.send_response(
            queue, snap.request_id, 0, spec, [MemoryChunk(b"via daemon")], None, None, sent
        )
        assert sent.wait(10)[0] == 0
        client.join(15)
        response, _facts = result[0]
        assert response.startswith(b"HTTP/1.1 200") and response.endswith(b"via daemon")
    finally:
        transport.close()


def test_a_client_certificate_asked_for_on_demand_through_the_daemon(
    daemon_path: str, pki: Pki, tmp_path: Path
) -> None:
    """receive_client_certificate crosses the wire (RECEIVE_CLIENT_CERTIFICATE / CLIENT_CERT_DONE): the daemon,
    which terminates TLS, sends the post-handshake CertificateRequest and returns the certificate."""
    leaf = pki.server("localhost")
    stores = CertStores()
    thumbprint = stores.import_pem(pki.chain_pem(leaf), leaf.key_pem())
    stores.import_pem(pki.root.cert_pem(), None, "ClientIssuers")
    port = free_port()
    ssl_bindings().table.set(
        SslBinding(
            BindingKind.IPPORT, port, address="0.0.0.0", cert_hash=thumbprint, ctl_store="ClientIssuers"
        )
    )
    alice = pki.client("alice")
    cert_path, key_path = pki.write(tmp_path, alice, "alice")
    ctx = client_context(pki.root_file(tmp_path), post_handshake_auth=True)
    ctx.load_cert_chain(str(cert_path), str(key_path))
    transport = RemoteTransport(daemon_path)
    received: list[bytes] = []

    def client() -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=15) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                while chunk := tls.recv(4096):  # reading answers the CertificateRequest
                    received.append(chunk)

    try:
        code, session = transport.create_server_session((2, 0))
        code, group = transport.create_url_group(session)
        code, queue = transport.create_request_queue(None, 0, False)
        assert transport.set_group_property(group, 7, queue) == 0
        assert transport.add_url(group, f"https://127.0.0.1:{port}/", 5) == 0
        thread = threading.Thread(target=client, daemon=True)
        thread.start()
        waiter = Waiter()
        transport.receive_request(queue, 0, 0, None, True, 1, waiter)
        code, snap, _n = waiter.wait(15)
        assert code == 0 and snap.extra["tls"]["client_cert"] == b""
        asked = Waiter()
        transport.receive_client_certificate(queue, snap.connection_id, 2, asked)
        code, der, cert_flags = asked.wait(15)
        assert (code, der, cert_flags) == (0, alice.cert.public_bytes(serialization.Encoding.DER), 0)
        sent = Waiter()
        spec = ResponseSpec(status=200, reason=b"OK", known={}, unknown=[])
        transport.send_response(queue, snap.request_id, 0, spec, [MemoryChunk(b"hi alice")], None, None, sent)
        assert sent.wait(10)[0] == 0
        thread.join(15)
        assert b"".join(received).endswith(b"hi alice")
    finally:
        transport.close()
