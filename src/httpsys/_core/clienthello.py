"""What a TLS ClientHello offers, read from the first bytes a client sent (sans-I/O).

Responsibility: from the first TLS record of a connection, tell whether it holds a whole ClientHello and, if so,
the SNI host name, whether TLS 1.3 is offered (supported_versions) and whether the client accepts TLS 1.3
post-handshake authentication (the post_handshake_auth extension, RFC 8446 §4.2.6). The TLS room uses this to
choose a connection's first context before OpenSSL reads the hello (decision 0021). It must not do I/O, validate
the handshake (OpenSSL does) or raise on garbage: anything it cannot read is "not a ClientHello".
"""

from __future__ import annotations

from typing import Final

# Final: the compiled build inlines these (a plain module constant is a dict lookup at every use)
RECORD_HANDSHAKE: Final = 22
HANDSHAKE_CLIENT_HELLO: Final = 1
EXT_SERVER_NAME: Final = 0
EXT_SUPPORTED_VERSIONS: Final = 43
EXT_POST_HANDSHAKE_AUTH: Final = 49
TLS13: Final = 0x0304
# the largest TLS record body: a peek of this many bytes and the header holds any first record
MAX_RECORD: Final = 16384 + 5


class ClientHelloOffer:
    """What a whole ClientHello offered: `tls13` (0x0304 in supported_versions), `post_handshake_auth`, `server_name`
    (the SNI host name, lower case, "" when absent). Not changed once made. A plain class, not a dataclass: the
    compiled build makes it without the interpreted `__init__` a dataclass generates (decision 0021 point 18)."""

    def __init__(self, tls13: bool = False, post_handshake_auth: bool = False, server_name: str = "") -> None:
        self.tls13 = tls13
        self.post_handshake_auth = post_handshake_auth
        self.server_name = server_name

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ClientHelloOffer):
            return NotImplemented
        return (self.tls13, self.post_handshake_auth, self.server_name) == (
            other.tls13,
            other.post_handshake_auth,
            other.server_name,
        )

    def __hash__(self) -> int:
        return hash((self.tls13, self.post_handshake_auth, self.server_name))

    def __repr__(self) -> str:
        return (
            f"ClientHelloOffer(tls13={self.tls13!r}, post_handshake_auth={self.post_handshake_auth!r}, "
            f"server_name={self.server_name!r})"
        )


NOT_A_CLIENT_HELLO = ClientHelloOffer()


def read_client_hello(data: bytes) -> ClientHelloOffer | None:
    """The offer of the ClientHello at the start of `data`; None while its first record is incomplete (more bytes
    may come); NOT_A_CLIENT_HELLO for anything else (garbage, plaintext, a hello split over records)."""
    if not data:
        return None
    if data[0] != RECORD_HANDSHAKE:
        return NOT_A_CLIENT_HELLO
    if len(data) < 5:
        return None
    length = data[3] << 8 | data[4]
    if len(data) < 5 + length:
        return None if length <= MAX_RECORD - 5 else NOT_A_CLIENT_HELLO
    body = data[5 : 5 + length]
    if len(body) < 4 or body[0] != HANDSHAKE_CLIENT_HELLO:
        return NOT_A_CLIENT_HELLO
    hello_length = body[1] << 16 | body[2] << 8 | body[3]
    if hello_length > len(body) - 4:
        return NOT_A_CLIENT_HELLO  # split over records: OpenSSL reads it; this offers nothing
    try:
        return _extensions(body[4 : 4 + hello_length])
    except IndexError:
        return NOT_A_CLIENT_HELLO


def _extensions(hello: bytes) -> ClientHelloOffer:
    """The offer of a ClientHello body. Lengths are read byte by byte (`hello[i] << 8 | hello[i + 1]`) and only
    the SNI name is sliced out: this runs once per TLS connection, and slices and `int.from_bytes` per extension
    were most of its cost. An index past the end raises IndexError (the caller's "not a ClientHello")."""
    at = 2 + 32  # legacy_version, random
    at += 1 + hello[at]  # legacy_session_id
    at += 2 + (hello[at] << 8 | hello[at + 1])  # cipher_suites
    at += 1 + hello[at]  # legacy_compression_methods
    if at + 2 > len(hello):
        return NOT_A_CLIENT_HELLO
    end = at + 2 + (hello[at] << 8 | hello[at + 1])
    if end > len(hello):
        return NOT_A_CLIENT_HELLO
    at += 2
    tls13 = pha = False
    server_name = ""
    while at + 4 <= end:
        kind = hello[at] << 8 | hello[at + 1]
        size = hello[at + 2] << 8 | hello[at + 3]
        first = at + 4  # the extension's data: hello[first : first + size]
        at = first + size
        if at > len(hello):
            return NOT_A_CLIENT_HELLO
        if kind == EXT_SUPPORTED_VERSIONS and size:
            stop = first + 1 + min(hello[first], size - 1)  # the versions list, within the extension
            i = first + 1
            tls13 = False  # the last such extension counts (a duplicate is OpenSSL's to refuse)
            while i + 1 < stop:
                if (hello[i] << 8 | hello[i + 1]) == TLS13:
                    tls13 = True
                    break
                i += 2
        elif kind == EXT_POST_HANDSHAKE_AUTH:
            pha = True
        elif kind == EXT_SERVER_NAME and size >= 5 and hello[first + 2] == 0:  # server_name_list, host_name
            name_length = hello[first + 3] << 8 | hello[first + 4]
            name_end = min(first + 5 + name_length, at)
            server_name = hello[first + 5 : name_end].decode("ascii", "replace").lower()
    return ClientHelloOffer(tls13, pha, server_name)
