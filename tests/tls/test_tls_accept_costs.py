"""What a new TLS connection costs the driver (issue 17 item 8, decision 0021 point 16): the ClientHello already
waiting at accept is read there, without consuming it, so the handshake starts in the same pass; and the contexts
of connections that are never asked for a client certificate carry no trusted issuers (OpenSSL would otherwise
search the system CA directory for the issuer of the server's own chain at every full handshake)."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

from certs import Pki

from httpsys._core.clienthello import NOT_A_CLIENT_HELLO
from httpsys._core.sslbindings import FLAG_NEGOTIATE_CLIENT_CERT, BindingKind, SslBinding
from httpsys._engine.tls import SslContexts, _peek_hello


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
