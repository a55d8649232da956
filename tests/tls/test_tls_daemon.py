"""TLS through the shared daemon: the daemon's engine terminates TLS with its binding table and the request's TLS
facts reach the client process over the wire (ARCHITECTURE §8.9 with §8.2). The daemon runs in this process
(on a thread of its own, behind its Unix socket), so the test can put a binding into the table it reads; the
client is a RemoteTransport as in any other process."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from certs import Pki
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
