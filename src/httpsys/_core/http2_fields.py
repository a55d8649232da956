"""HTTP/2 field sections (RFC 9113 §8.2-§8.3): what a request's decoded field block must satisfy, and the
encoding of the server's own field blocks.

Responsibility: validating a request's (or trailers') field list as RFC 9113 requires — lower-case names without
illegal characters, values without NUL/CR/LF or surrounding whitespace, no connection-specific fields, `te` only
`trailers`, the request pseudo-header fields (known, not repeated, before the regular ones, the required ones
present, `:path` not empty, `:authority`/`Host` present and alike) — and reading from it what the adapter needs
(`RequestHead`); encoding response and trailer fields as an HPACK block that uses the static table only (no
dynamic table: the same list always gives the same bytes, so a block can be cached); and the connection's HPACK
decoder with its memory of repeated blocks. It must not keep connection state, decide responses or touch sockets.
"""

from __future__ import annotations

import re
from typing import Final

from httpsys._core.hpack import HpackDecoder, HpackError, HpackHeaderListTooLarge
from httpsys._core.hpack_tables import STATIC_FIELD_INDEX, STATIC_NAME_INDEX

# RFC 9113 §8.2.1: a regular field name has no character 0x00-0x20, A-Z, 0x7f-0xff or ":"; a value no
# NUL, LF or CR and no leading or trailing SP/HTAB
_BAD_NAME: Final = re.compile(rb"[\x00-\x20A-Z\x7f-\xff:]")
_BAD_VALUE: Final = re.compile(rb"[\x00\r\n]|^[ \t]|[ \t]$")
# RFC 9113 §8.2.2
CONNECTION_SPECIFIC: Final = frozenset(
    (b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"upgrade")
)


def _integer(value: int, prefix_bits: int, first: int) -> bytes:
    """An HPACK integer (RFC 7541 §5.1) whose first byte carries the bits of `first` above the prefix."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes((first | value,))
    out = bytearray((first | limit,))
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def encode_fields(fields: list[tuple[bytes, bytes]]) -> bytes:
    """A field block for `fields` with the static table only: an indexed field where name and value are in it, a
    literal without indexing otherwise (the name indexed where the table has it), no Huffman coding."""
    out: list[bytes] = []
    for name, value in fields:
        index = STATIC_FIELD_INDEX.get((name, value), 0)
        if index:
            out.append(_integer(index, 7, 0x80))
            continue
        index = STATIC_NAME_INDEX.get(name, 0)
        if index:
            out.append(_integer(index, 4, 0x00))
        else:
            out.append(b"\x00")
            out.append(_integer(len(name), 7, 0x00))
            out.append(name)
        out.append(_integer(len(value), 7, 0x00))
        out.append(value)
    return b"".join(out)


class RequestHead:
    """What a valid request field block says: the pseudo-header fields and the regular fields in order (`host`
    removed, `cookie` crumbs joined into one field at the end, RFC 9113 §8.2.3)."""

    def __init__(self) -> None:
        self.method = b""
        self.scheme = b""
        self.path = b""
        self.authority = b""
        self.host: bytes | None = None
        self.fields: list[tuple[bytes, bytes]] = []
        self.content_length = -1
        self.expect_continue = False
        self.size = 0  # sum of name + value + 4 over every field (pseudo-header fields included)
        self.longest = 0  # the largest name + value + 4 of a regular field

    def copy(self) -> RequestHead:
        """The same head with a list of its own (the adapter adds `host` to the list it is handed)."""
        head = RequestHead()
        head.method = self.method
        head.scheme = self.scheme
        head.path = self.path
        head.authority = self.authority
        head.host = self.host
        head.fields = list(self.fields)
        head.content_length = self.content_length
        head.expect_continue = self.expect_continue
        head.size = self.size
        head.longest = self.longest
        return head


def parse_request(fields: list[tuple[bytes, bytes]]) -> RequestHead | None:
    """The request head of a decoded field block, or None when RFC 9113 makes it malformed (§8.1.1: a stream
    error of type PROTOCOL_ERROR)."""
    head = RequestHead()
    regular = head.fields
    cookies: list[bytes] = []
    seen_regular = False
    has_method = has_scheme = has_path = has_authority = False
    size = 0
    longest = 0
    bad_name = _BAD_NAME.search
    bad_value = _BAD_VALUE.search
    for name, value in fields:
        if not name:
            return None
        field = len(name) + len(value) + 4
        size += field
        if value and bad_value(value) is not None:
            return None
        if name[0] == 0x3A:  # ':'
            if seen_regular:
                return None
            if name == b":method":
                if has_method:
                    return None
                has_method = True
                head.method = value
            elif name == b":path":
                if has_path or not value:
                    return None
                has_path = True
                head.path = value
            elif name == b":scheme":
                if has_scheme:
                    return None
                has_scheme = True
                head.scheme = value
            elif name == b":authority":
                if has_authority:
                    return None
                has_authority = True
                head.authority = value
            else:
                return None  # :status, :protocol (extended CONNECT is not offered) or an unknown one
            continue
        seen_regular = True
        if bad_name(name) is not None:
            return None
        if field > longest:
            longest = field
        if name == b"cookie":
            cookies.append(value)
            continue
        if name == b"host":
            if head.host is not None:
                return None
            head.host = value
            continue
        if name in CONNECTION_SPECIFIC:
            return None
        if name == b"te":
            if value.lower() != b"trailers":
                return None
        elif name == b"content-length":
            if not value.isdigit() or (head.content_length >= 0 and int(value) != head.content_length):
                return None
            head.content_length = int(value)
        elif name == b"expect" and value.lower() == b"100-continue":
            head.expect_continue = True
        regular.append((name, value))
    if not has_method:
        return None
    if head.method == b"CONNECT":
        if has_scheme or has_path:
            return None
    elif not has_scheme or not has_path:
        return None
    if not has_authority and head.host is None:
        return None
    if has_authority and head.host is not None and head.host != head.authority:
        return None
    if cookies:
        regular.append((b"cookie", b"; ".join(cookies)))
    head.size = size
    head.longest = longest
    return head


def valid_trailers(fields: list[tuple[bytes, bytes]]) -> bool:
    """A trailer section has no pseudo-header field and follows the field rules of §8.2."""
    for name, value in fields:
        if not name or name[0] == 0x3A or _BAD_NAME.search(name) is not None:
            return False
        if value and _BAD_VALUE.search(value) is not None:
            return False
        if name in CONNECTION_SPECIFIC:
            return False
    return True


# ----------------------------------------------------------------------------------------------- the HPACK decoder
class DecoderFailure(Exception):
    """A field block that does not decode; `too_large`: it decodes past the header list bound (HPACK bomb)."""

    def __init__(self, too_large: bool) -> None:
        super().__init__("header list too large" if too_large else "field block does not decode")
        self.too_large = too_large


# a field block made only of one-byte indexed field representations (indexes 1 to 126): it neither adds to nor
# resizes the dynamic table, so while no other block changes the table it always decodes to the same list
_ALL_INDEXED: Final = re.compile(rb"[\x81-\xfe]+")
_KNOWN_BLOCKS = 32
_KNOWN_BLOCK_SIZE = 128


class FieldDecoder:
    """The connection's HPACK decoder (RFC 7541; `_core/hpack.py`, decision 0029); failures become DecoderFailure.
    A client that repeats its requests (after the first, every field comes from the dynamic table) sends the same
    short all-indexed block again and again: its decoded list is remembered until a block that may change the
    table arrives."""

    def __init__(self, max_header_list_size: int) -> None:
        self._known: dict[bytes, list[tuple[bytes, bytes]]] = {}
        self._decoder = HpackDecoder(max_header_list_size=max_header_list_size)
        # the last decode returned a remembered list: the same object for the same block until `known` is cleared,
        # so what was read from it before (a RequestHead) still holds
        self.remembered = False

    def decode(self, block: bytes) -> list[tuple[bytes, bytes]]:
        known = self._known
        self.remembered = False
        if len(block) <= _KNOWN_BLOCK_SIZE and _ALL_INDEXED.fullmatch(block) is not None:
            fields = known.get(block)
            if fields is None:
                fields = self._decode(block)
                if len(known) < _KNOWN_BLOCKS:
                    known[block] = fields
                    self.remembered = True
            else:
                self.remembered = True
            return fields
        if known:
            known.clear()  # this block may add to the dynamic table or resize it
        return self._decode(block)

    def _decode(self, block: bytes) -> list[tuple[bytes, bytes]]:
        try:
            return self._decoder.decode(block)
        except HpackHeaderListTooLarge:
            raise DecoderFailure(True) from None
        except HpackError:
            raise DecoderFailure(False) from None
