"""SSL bindings from the configuration store (`httpsys netsh http add sslcert`, decision 0020) are the ones the
driver serves (decision 0021): loaded at start and after each change, beside the bindings the process set itself."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from certs import Pki
from tlsserver import TlsServer, client_context, https_get

from httpsys._config.records import Configuration
from httpsys._engine.certstore import CertStores
from httpsys._engine.tls import ssl_bindings
from httpsys._transport.embedded import stored_configuration
from httpsys.cli import main

APP_ID = "{4dc3e181-e14b-4a21-b022-59fc669b0914}"


@pytest.fixture
def server(tmp_path: Path, config_dir: Path) -> Iterator[TlsServer]:
    table = ssl_bindings().table
    saved = table.entries()
    made = TlsServer(tmp_path / "httperr")
    try:
        yield made
    finally:
        made.close()
        table.load(saved)


def apply_store(server: TlsServer) -> None:
    # what reapply_stored_configuration does for the shared driver after a change (an empty store: no records)
    server.transport.apply_configuration(stored_configuration() or Configuration({}))


def test_a_netsh_sslcert_binding_is_served_and_its_deletion_applies_to_new_connections(
    server: TlsServer, pki: Pki, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leaf = pki.server("localhost", kind="ec")
    thumbprint = CertStores().import_pem(pki.chain_pem(leaf), leaf.key_pem())
    ipport = f"ipport=0.0.0.0:{server.port}"
    assert main(["netsh", "http", "add", "sslcert", ipport, f"certhash={thumbprint}", f"appid={APP_ID}"]) == 0
    apply_store(server)
    [binding] = ssl_bindings().table.entries()
    assert binding.stored and binding.cert_hash == thumbprint.upper()
    worker = server.serve()
    response, _tls = https_get(server.port, client_context(pki.root_file(tmp_path)))
    worker.join(10)
    assert response.startswith(b"HTTP/1.1 200 OK\r\n") and response.endswith(b"\r\n\r\nhello")

    assert main(["netsh", "http", "delete", "sslcert", ipport]) == 0
    apply_store(server)
    assert ssl_bindings().table.entries() == []
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        https_get(server.port, client_context(pki.root_file(tmp_path)))
    capsys.readouterr()


def test_a_binding_the_process_set_stays_and_wins_over_a_stored_one_with_the_same_key(
    server: TlsServer, pki: Pki, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stored_leaf = pki.server("localhost", kind="ec")
    own_leaf = pki.server("localhost", kind="rsa")
    stores = CertStores()
    stored = stores.import_pem(pki.chain_pem(stored_leaf), stored_leaf.key_pem())
    own = stores.import_pem(pki.chain_pem(own_leaf), own_leaf.key_pem())
    server.bind(own)  # HttpSetServiceConfiguration in this process (embedded mode)
    ipport = f"ipport=0.0.0.0:{server.port}"
    assert main(["netsh", "http", "add", "sslcert", ipport, f"certhash={stored}", f"appid={APP_ID}"]) == 0
    apply_store(server)
    [binding] = ssl_bindings().table.entries()
    assert not binding.stored and binding.cert_hash == own.upper()
    apply_store(server)  # a reload replaces only what the store gave
    assert [b.cert_hash for b in ssl_bindings().table.entries()] == [own.upper()]
    capsys.readouterr()
