"""What a new TLS connection costs the driver (issue 17 item 8, decision 0021 point 16): the ClientHello already
waiting at accept is read there, without consuming it, so the handshake starts in the same pass; and the contexts
of connections that are never asked for a client certificate carry no trusted issuers (OpenSSL would otherwise
search the system CA directory for the issuer of the server's own chain at every full handshake)."""

from __future__ import annotations

import asyncio
import socket
import ssl
from pathlib import Path

from certs import Pki
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from httpsys._core.clienthello import NOT_A_CLIENT_HELLO, read_client_hello
from httpsys._core.sslbindings import (
    FLAG_DISABLE_TLS13,
    FLAG_NEGOTIATE_CLIENT_CERT,
    FLAG_REJECT,
    BindingKind,
    SslBinding,
)
from httpsys._engine.driver import Driver
from httpsys._engine.tls import BindingTable, SslContexts, Tls, _peek_hello


def _client_hello(server_name: str) -> bytes:
    ctx = ssl.create_default_context()
    ctx.post_handshake_auth = True
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    client = ctx.wrap_bio(incoming, outgoing, server_hostname=server_name)
    try:
        client.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def test_a_client_hello_waiting_at_accept_is_read_there_and_stays_for_openssl() -> None:
    server, client = socket.socketpair()
    with server, client:
        assert _peek_hello(server) is None  # nothing yet: the driver waits for it (without blocking here)
        hello = _client_hello("www.example.com")
        client.sendall(hello[:40])
        assert _peek_hello(server) is None  # a part: still waiting
        client.sendall(hello[40:])
        offer = _peek_hello(server)
        assert offer is not None
        assert (offer.server_name, offer.tls13, offer.post_handshake_auth) == ("www.example.com", True, True)
        assert server.recv(len(hello) + 10) == hello  # peeked, not consumed: OpenSSL reads every byte


def test_a_closed_or_plaintext_connection_at_accept_offers_nothing() -> None:
    server, client = socket.socketpair()
    with server, client:
        client.sendall(b"GET / HTTP/1.1\r\n\r\n")
        assert _peek_hello(server) == NOT_A_CLIENT_HELLO
    server, client = socket.socketpair()
    with server:
        client.close()
        assert _peek_hello(server) == NOT_A_CLIENT_HELLO


def test_only_contexts_that_may_ask_for_a_client_certificate_carry_trusted_issuers(
    pki: Pki, tmp_path: Path
) -> None:
    cert, key = pki.write(tmp_path, pki.server("localhost"), "site")
    ca = pki.root_file(tmp_path)
    binding = SslBinding(BindingKind.IPPORT, 443, address="0.0.0.0", cert_file=str(cert), key_file=str(key))
    with_ca = SslBinding(
        BindingKind.IPPORT, 444, address="0.0.0.0", cert_file=str(cert), key_file=str(key), ca_file=str(ca)
    )
    contexts = SslContexts()
    plain = contexts.for_binding(binding)[0]
    assert plain.cert_store_stats()["x509_ca"] == 0
    assert plain.verify_mode == ssl.CERT_NONE
    # the variant for clients that offered post-handshake authentication can verify what they send later
    later = contexts.for_binding(with_ca, pha=True)[0]
    assert later is not contexts.for_binding(with_ca)[0]
    assert later.cert_store_stats()["x509_ca"] == 1
    # a binding that negotiates client certificates in the handshake verifies them there
    asking = SslBinding(
        BindingKind.IPPORT,
        445,
        address="0.0.0.0",
        cert_file=str(cert),
        key_file=str(key),
        ca_file=str(ca),
        flags=FLAG_NEGOTIATE_CLIENT_CERT,
    )
    negotiating = contexts.for_binding(asking)[0]
    assert negotiating.verify_mode == ssl.CERT_OPTIONAL
    assert negotiating.cert_store_stats()["x509_ca"] == 1
    # the facts of a connection name the certificate of the context it ended its handshake with
    assert contexts.made_for(plain) == contexts.for_binding(binding)[1:]
    assert contexts.made_for(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)) is None


def _tls_room(table: BindingTable) -> Tls:
    """The TLS room of a driver that is never started (a real Driver: the compiled Tls checks its type)."""
    loop = asyncio.new_event_loop()
    try:
        return Tls(Driver(loop), table)
    finally:
        loop.close()


def _handshake(server_ctx: ssl.SSLContext, server_name: str) -> tuple[ssl.SSLObject, ssl.SSLObject]:
    """A TLS 1.3 handshake in memory (no sockets): the server side with `server_ctx`, a client naming `server_name`."""
    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_ctx.check_hostname = False
    client_ctx.verify_mode = ssl.CERT_NONE
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    client = client_ctx.wrap_bio(c_in, c_out, server_hostname=server_name)
    server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
    for _ in range(10):
        for side in (client, server):
            try:
                side.do_handshake()
            except ssl.SSLWantReadError:
                pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
    return client, server


def test_a_client_hello_naming_a_plain_binding_starts_with_its_certificate_and_no_sni_callback(
    pki: Pki, tmp_path: Path
) -> None:
    cert, key = pki.write(tmp_path, pki.server("www.example.com"), "site")
    other_cert, other_key = pki.write(tmp_path, pki.server("ask.example.com"), "other")
    table = BindingTable()
    plain = SslBinding(BindingKind.IPPORT, 443, address="0.0.0.0", cert_file=str(cert), key_file=str(key))
    asking = SslBinding(
        BindingKind.SNI,
        443,
        host="ask.example.com",
        cert_file=str(other_cert),
        key_file=str(other_key),
        flags=FLAG_NEGOTIATE_CLIENT_CERT,
    )
    older = SslBinding(
        BindingKind.SNI,
        443,
        host="tls12.example.com",
        cert_file=str(other_cert),
        key_file=str(other_key),
        flags=FLAG_DISABLE_TLS13,
    )
    refused = SslBinding(
        BindingKind.SNI,
        443,
        host="refused.example.com",
        cert_file=str(cert),
        key_file=str(key),
        flags=FLAG_REJECT,
    )
    for binding in (plain, asking, older, refused):
        table.table.set(binding)
    tls = _tls_room(table)
    offer = read_client_hello(_client_hello("WWW.Example.com"))
    assert offer is not None
    direct = tls.direct_context("127.0.0.1", 443, offer)
    assert direct is not None
    ctx, server_name = direct
    assert server_name == "www.example.com"
    # the binding's own context, ready for a certificate asked for later (the client offered it): no callback
    assert ctx is tls.contexts.for_binding(plain, pha=True)[0]
    assert ctx.sni_callback is None
    assert (ctx.verify_mode, ctx.post_handshake_auth) == (ssl.CERT_OPTIONAL, True)
    client, server = _handshake(ctx, "www.example.com")
    assert server.version() == "TLSv1.3"
    leaf = x509.load_pem_x509_certificates(cert.read_bytes())[0]
    assert client.getpeercert(binary_form=True) == leaf.public_bytes(serialization.Encoding.DER)
    assert server.getpeercert(binary_form=True) is None  # no CertificateRequest in the handshake
    # where the SNI callback may decide otherwise, it still does: a hello the peek could not read, a binding that
    # negotiates client certificates or refuses, other TLS versions than the IP:port binding's, no binding
    assert tls.direct_context("127.0.0.1", 443, NOT_A_CLIENT_HELLO) is None
    for name in ("ask.example.com", "tls12.example.com", "refused.example.com"):
        named = read_client_hello(_client_hello(name))
        assert named is not None
        assert tls.direct_context("127.0.0.1", 443, named) is None, name
    assert tls.direct_context("127.0.0.1", 8443, offer) is None
    # a changed table applies to the next connection: the remembered answers go with the old generation
    table.table.delete(plain.key)
    assert tls.direct_context("127.0.0.1", 443, offer) is None
