"""The ClientHello reader (`_core/clienthello.py`), without sockets: real ClientHellos made by OpenSSL through memory
BIOs, cut short, split and spoiled."""

from __future__ import annotations

import ssl

import pytest

from httpsys._core.clienthello import NOT_A_CLIENT_HELLO, ClientHelloOffer, read_client_hello


def _hello(server_name: str | None = "www.example.com", **settings: object) -> bytes:
    """The first flight of a Python client: its ClientHello record(s)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    for name, value in settings.items():
        setattr(ctx, name, value)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    client = ctx.wrap_bio(incoming, outgoing, server_hostname=server_name)
    with pytest.raises(ssl.SSLWantReadError):
        client.do_handshake()
    return outgoing.read()


def test_a_tls13_client_offering_post_handshake_auth_with_its_sni_name() -> None:
    offer = read_client_hello(_hello("WWW.Example.com", post_handshake_auth=True))
    assert offer == ClientHelloOffer(tls13=True, post_handshake_auth=True, server_name="www.example.com")


def test_a_client_without_post_handshake_auth_or_sni() -> None:
    assert read_client_hello(_hello(None)) == ClientHelloOffer(tls13=True, post_handshake_auth=False)


def test_a_tls12_only_client_offers_no_tls13() -> None:
    offer = read_client_hello(_hello(post_handshake_auth=True, maximum_version=ssl.TLSVersion.TLSv1_2))
    assert offer is not None and not offer.tls13 and offer.server_name == "www.example.com"


def test_an_incomplete_first_record_asks_for_more_bytes() -> None:
    hello = _hello(post_handshake_auth=True)
    for cut in (0, 1, 4, 5, 40, len(hello) - 1):
        assert read_client_hello(hello[:cut]) is None, cut
    assert read_client_hello(hello + b"\x17\x03\x03") is not None  # what follows the record is not read


def test_garbage_plaintext_and_a_spoiled_hello_offer_nothing() -> None:
    hello = bytearray(_hello(post_handshake_auth=True))
    assert read_client_hello(b"GET / HTTP/1.1\r\n\r\n") is NOT_A_CLIENT_HELLO
    assert read_client_hello(b"\x16\x03\x01\x00\x05\x02\x00\x00\x01\x00") is NOT_A_CLIENT_HELLO  # ServerHello
    assert read_client_hello(b"\x16\x03\x01\x00\x01\x01") is NOT_A_CLIENT_HELLO  # too short for its header
    spoiled = bytearray(hello)
    spoiled[6:9] = (0xFF, 0xFF, 0xFF)  # a handshake length past the record: split over records
    assert read_client_hello(bytes(spoiled)) is NOT_A_CLIENT_HELLO
    truncated = bytearray(hello[:60])
    truncated[3:5] = (0, 55)  # a record that ends inside the session id / cipher suites
    truncated[6:9] = (0, 0, 51)
    assert read_client_hello(bytes(truncated)) is NOT_A_CLIENT_HELLO
    assert read_client_hello(b"\x16\x03\x01\xff\xff") is NOT_A_CLIENT_HELLO  # longer than any record


def test_every_spoiled_byte_gives_an_offer_or_asks_for_more_never_an_error() -> None:
    hello = _hello(post_handshake_auth=True)
    for at in range(len(hello)):
        for value in (0x00, 0x2B, 0x7F, 0xFF):  # 0x2B: an extension type turned into supported_versions
            spoiled = bytearray(hello)
            spoiled[at] = value
            offer = read_client_hello(bytes(spoiled))
            assert offer is None or isinstance(offer, ClientHelloOffer), (at, value)


def test_an_extension_longer_than_the_hello_offers_nothing() -> None:
    hello = bytearray(_hello("www.example.com", post_handshake_auth=True))
    at = hello.index(b"www.example.com") - 9  # the server_name extension: type 0, then its length
    assert hello[at : at + 2] == b"\x00\x00"
    hello[at + 2 : at + 4] = (0x40, 0x00)
    assert read_client_hello(bytes(hello)) is NOT_A_CLIENT_HELLO
