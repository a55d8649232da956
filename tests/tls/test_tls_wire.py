"""TLS on the wire: https ports served with the SSL binding HTTP.sys would choose (ARCHITECTURE §8.9)."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from certs import Pki
from tlsserver import TlsServer, client_context, https_get

from httpsys._core.sslbindings import BindingKind, SslBinding
from httpsys._engine.certstore import CertStores
from httpsys._engine.tls import ssl_bindings


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


def _wait_for_failures(server: TlsServer, count: int) -> None:
    """The HTTPERR line is written when the driver's handshake task resumes, just after the client saw the end."""
    deadline = time.monotonic() + 5
    while len(server.transport.driver.tls.failures) < count and time.monotonic() < deadline:
        time.sleep(0.01)


def _import(pki: Pki, tmp_path: Path, *names: str, kind: str = "ec") -> str:
    leaf = pki.server(*names, kind=kind)
    return CertStores().import_pem(pki.chain_pem(leaf), leaf.key_pem())


def test_an_ipport_binding_serves_the_stored_certificate_with_its_chain(
    server: TlsServer, pki: Pki, tmp_path: Path
) -> None:
    thumbprint = _import(pki, tmp_path, "localhost")
    server.bind(thumbprint)
    worker = server.serve()
    # the client trusts only the root: the handshake succeeds only if the intermediate is sent too
    response, _tls = https_get(server.port, client_context(pki.root_file(tmp_path)))
    worker.join(10)
    assert response.startswith(b"HTTP/1.1 200 OK\r\n") and response.endswith(b"\r\n\r\nhello")
    [snap] = server.seen
    assert snap.full_url.startswith("https://localhost")  # the cooked URL says https
    assert server.transport.statistics()["tls_handshakes"] == 1


@pytest.mark.parametrize("server_name", ["localhost", None])
def test_no_binding_refuses_the_handshake_and_logs_httperr(
    server: TlsServer, tmp_path: Path, server_name: str | None
) -> None:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
        with pytest.raises(ssl.SSLError) as refused:
            ctx.wrap_socket(raw, server_hostname=server_name)
    # the client reads a fatal alert, not a bare end of the connection: unrecognized_name for a name no
    # binding covers, handshake_failure without SNI
    expected_alert = "TLSV1_UNRECOGNIZED_NAME" if server_name else "SSLV3_ALERT_HANDSHAKE_FAILURE"
    assert refused.value.reason == expected_alert, refused.value
    _wait_for_failures(server, 1)
    rows = server.httperr_rows()
    assert [row["s-reason"] for row in rows] == ["SSL_No_Binding"]
    assert rows[0]["s-port"] == str(server.port) and rows[0]["sc-status"] == "-"
    [(_client, _local, detail)] = server.transport.driver.tls.failures
    expected = f"localhost:{server.port}" if server_name else f"127.0.0.1:{server.port} (no SNI)"
    assert detail == f"SSL_No_Binding {expected}"
    stats = server.transport.statistics()
    assert stats["tls_handshake_failures"] == 1 and stats["connections"] == 0


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl (the command) is not installed")
def test_openssl_s_client_sees_the_unrecognized_name_alert_of_a_refused_handshake(server: TlsServer) -> None:
    out = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{server.port}", "-servername", "nobody.example"],
        input=b"",
        capture_output=True,
        timeout=20,
    )
    assert out.returncode != 0
    assert "SSL alert number 112" in out.stderr.decode()  # unrecognized_name (RFC 6066)
    _wait_for_failures(server, 1)
    assert [row["s-reason"] for row in server.httperr_rows()] == ["SSL_No_Binding"]


def test_plaintext_on_an_https_port_gets_no_http_answer(server: TlsServer, pki: Pki, tmp_path: Path) -> None:
    server.bind(_import(pki, tmp_path, "localhost"))
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
        raw.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        received = b""
        try:
            while chunk := raw.recv(65536):
                received += chunk
        except ConnectionError:
            pass
    assert b"HTTP/" not in received  # at most a TLS alert record, never an HTTP response
    _wait_for_failures(server, 1)
    assert server.httperr_rows()[0]["s-reason"] == "SSL_Handshake_Failed"


def test_sni_binding_first_then_exact_ipport_then_wildcard_and_changes_apply_at_once(
    server: TlsServer, pki: Pki, tmp_path: Path
) -> None:
    wildcard = _import(pki, tmp_path, "wildcard.test")
    exact = _import(pki, tmp_path, "exact.test")
    named = _import(pki, tmp_path, "www.example.test")
    root = pki.root_file(tmp_path)
    server.bind(wildcard)

    def subject_seen(server_name: str) -> str:
        ctx = client_context(root, check_hostname=False)
        server.serve()
        _response, tls = https_get(server.port, ctx, server_name=server_name)
        return str(tls["peercert"]["subject"][-1][0][1])

    assert subject_seen("anything.test") == "wildcard.test"
    server.bind(exact, address="127.0.0.1")
    assert subject_seen("anything.test") == "exact.test"  # the next connection, no restart
    server.bind(named, kind=BindingKind.SNI, host="www.example.test", address="")
    assert subject_seen("WWW.Example.Test") == "www.example.test"
    assert subject_seen("other.test") == "exact.test"
    server.bind(wildcard, address="127.0.0.1", update=True)
    assert subject_seen("other.test") == "wildcard.test"


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated")
def test_only_tls12_and_tls13_are_spoken(server: TlsServer, pki: Pki, tmp_path: Path) -> None:
    server.bind(_import(pki, tmp_path, "localhost"))
    root = pki.root_file(tmp_path)
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        server.serve()
        ctx = client_context(root, minimum_version=version, maximum_version=version)
        response, tls = https_get(server.port, ctx)
        assert response.startswith(b"HTTP/1.1 200"), version
        assert tls["version"] == version.name.replace("TLSv1_", "TLSv1.")
        assert tls["compression"] is None and tls["alpn"] is None  # (the client offered no ALPN)
    ctx = client_context(root)
    ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    ctx.set_ciphers("ALL:@SECLEVEL=0")
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
        with pytest.raises((ssl.SSLError, ConnectionError)):
            ctx.wrap_socket(raw, server_hostname="localhost")


def test_the_handshake_is_under_the_header_wait_timer(tmp_path: Path, config_dir: Path) -> None:
    from httpsys._core.settings import DriverSettings

    made = TlsServer(tmp_path / "httperr", settings=DriverSettings(header_wait_timeout=1))
    try:
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", made.port), timeout=10) as raw:
            try:
                assert raw.recv(1) == b""
            except ConnectionResetError:
                pass
        assert 0.5 < time.monotonic() - started < 5
        _wait_for_failures(made, 1)
        assert [row["s-reason"] for row in made.httperr_rows()] == ["Timer_HeaderWait"]
    finally:
        made.close()


OPENSSL = shutil.which("openssl")


@pytest.mark.skipif(OPENSSL is None, reason="the openssl command is not installed")
def test_openssl_s_client_sees_no_renegotiation_no_legacy_protocol_and_no_cbc_suites(
    server: TlsServer, pki: Pki, tmp_path: Path
) -> None:
    assert OPENSSL is not None
    server.bind(_import(pki, tmp_path, "localhost"))

    def s_client(*args: str, send: bytes = b"") -> str:
        done = subprocess.run(
            [OPENSSL, "s_client", "-connect", f"127.0.0.1:{server.port}", "-servername", "localhost", *args],
            input=send,
            capture_output=True,
            timeout=20,
        )
        return (done.stdout + done.stderr).decode(errors="replace")

    out = s_client("-tls1_2", send=b"R\n")  # "R": ask for a renegotiation
    assert "Cipher is ECDHE-ECDSA-AES256-GCM-SHA384" in out and "Compression: NONE" in out
    assert "RENEGOTIATING" in out and "no renegotiation" in out  # the server refuses it
    s_client("-tls1_1")
    s_client("-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA")  # CBC with a SHA-1 MAC
    _wait_for_failures(server, 2)
    details = [detail for _client, _local, detail in server.transport.driver.tls.failures]
    assert details == ["SSL_Handshake_Failed UNSUPPORTED_PROTOCOL", "SSL_Handshake_Failed NO_SHARED_CIPHER"]


def test_a_central_store_binding_picks_the_certificate_whose_name_covers_the_sni_name(
    server: TlsServer, pki: Pki, tmp_path: Path
) -> None:
    stores = CertStores()
    for names in (("a.test",), ("*.wild.test",)):
        leaf = pki.server(*names)
        stores.import_pem(pki.chain_pem(leaf), leaf.key_pem(), "Central")
    assert ssl_bindings().table.set(SslBinding(BindingKind.CCS, server.port, store="Central")) == 0
    root = pki.root_file(tmp_path)
    for name in ("a.test", "x.wild.test"):
        server.serve()
        _response, seen = https_get(server.port, client_context(root), server_name=name)  # the name verifies
        assert seen["peercert"]["subject"][-1][0][1] in (name, "*.wild.test")
    ctx = client_context(root)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
        with pytest.raises(ssl.SSLError):
            ctx.wrap_socket(raw, server_hostname="deep.x.wild.test")  # a wildcard covers one label only
    _wait_for_failures(server, 1)
    [(_client, _local, detail)] = server.transport.driver.tls.failures
    assert detail == f"SSL_No_Binding deep.x.wild.test:{server.port} (central store)"


def test_file_chunks_over_tls_go_through_the_bounded_buffer_and_statistics_say_so(
    server: TlsServer, pki: Pki, tmp_path: Path
) -> None:
    from httpsys._core.records import FileChunk

    server.bind(_import(pki, tmp_path, "localhost"))
    payload = bytes(range(256)) * 1024 * 3  # 768 KiB: several 64 KiB pieces
    path = tmp_path / "payload.bin"
    path.write_bytes(payload)
    result: list[bytes] = []
    client = threading.Thread(
        target=lambda: result.append(https_get(server.port, client_context(pki.root_file(tmp_path)))[0]),
        daemon=True,
    )
    client.start()
    snap = server.receive()
    with open(path, "rb") as fh:
        assert server.respond(snap.request_id, chunks=[FileChunk(fh.fileno())]) == 0
    client.join(20)
    assert result and result[0].endswith(b"\r\n\r\n" + payload)
    stats = server.transport.statistics()
    assert stats["tls_file_path_ktls"] == 0 and stats["tls_file_bytes_copied"] == len(payload)
