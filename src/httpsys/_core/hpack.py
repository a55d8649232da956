"""HPACK (RFC 7541), the header compression of HTTP/2: a header block decoder and encoder, one pair per connection.

Responsibility: turning header blocks into header lists and back, with each side's dynamic table, the dynamic
table size updates, the Huffman code and the bound on a decoded header list (RFC 9113 §6.5.2). It must not
validate header names or values (lower case, pseudo-header fields, connection-specific fields: the connection's
job), frame anything, or do I/O; it holds no clock, socket or thread. Compiled by the native build (decision
0009); the design and its measurements are decision 0029.
"""

from __future__ import annotations

from typing import Final

from httpsys._core.hpack_errors import (
    HpackDecodingError,
    HpackError,
    HpackHeaderListTooLarge,
    HpackTableSizeError,
)
from httpsys._core.hpack_tables import (
    HUFFMAN_ACCEPT,
    HUFFMAN_CODE_LENGTHS,
    HUFFMAN_CODES,
    HUFFMAN_FIRST,
    HUFFMAN_FLAGS,
    HUFFMAN_NEXT,
    HUFFMAN_SECOND,
    STATIC_FIELD_INDEX,
    STATIC_NAME_INDEX,
    STATIC_TABLE,
    STATIC_TABLE_LENGTH,
)

__all__ = [
    "DEFAULT_HEADER_TABLE_SIZE",
    "ENCODER_TABLE_SIZE_LIMIT",
    "HpackDecoder",
    "HpackDecodingError",
    "HpackEncoder",
    "HpackError",
    "HpackHeaderListTooLarge",
    "HpackTableSizeError",
    "huffman_decode",
    "huffman_encode",
]

DEFAULT_HEADER_TABLE_SIZE: Final = 4096  # SETTINGS_HEADER_TABLE_SIZE's initial value (RFC 9113 §6.5.2)
# An entry's size is name + value + 32 octets (RFC 7541 §4.1); so is a field's in a header list (RFC 9113 §6.5.2).
ENTRY_OVERHEAD: Final = 32
# The encoder uses at most this much of the table the peer allows: a response's repeated fields fit many times over,
# and a connection's memory stays bounded whatever the peer advertises.
ENCODER_TABLE_SIZE_LIMIT: Final = 4096
# An integer may take at most this many continuation octets after its prefix (values up to 2**28 more than the
# prefix holds, far beyond any valid index, length or table size): a longer encoding is a decoding error.
MAX_INTEGER_CONTINUATIONS: Final = 4
# Memoized strings (Huffman-decoded strings per decoder, encoded literals per encoder): at most this many, each at
# most MEMO_STRING_LIMIT octets long; the memo is emptied when full.
MEMO_ENTRIES: Final = 128
MEMO_STRING_LIMIT: Final = 256

# Names the encoder sends as "never indexed" literals (RFC 7541 §7.1.3): secrets an intermediary must not put in a
# table either.
NEVER_INDEXED_NAMES: Final[frozenset[bytes]] = frozenset(
    (b"authorization", b"proxy-authorization", b"cookie", b"set-cookie")
)
# Names the encoder sends as literals without indexing: values that rarely repeat on a connection, so an entry
# would only push useful ones out.
UNINDEXED_NAMES: Final[frozenset[bytes]] = frozenset(
    (
        b":path",
        b"age",
        b"content-length",
        b"content-range",
        b"etag",
        b"if-modified-since",
        b"if-none-match",
        b"last-modified",
        b"location",
    )
)


def _decode_integer(block: bytes, pos: int, value: int) -> tuple[int, int]:
    """The integer whose prefix was all ones (`value`), continued at `block[pos]`; and the position after it."""
    end = len(block)
    shift = 0
    for _ in range(MAX_INTEGER_CONTINUATIONS):
        if pos >= end:
            raise HpackDecodingError("truncated integer")
        octet = block[pos]
        pos += 1
        value += (octet & 0x7F) << shift
        if octet < 0x80:
            return value, pos
        shift += 7
    raise HpackDecodingError("integer encoding too long")


def huffman_decode(data: bytes) -> bytes:
    """The string Huffman-coded in `data` (RFC 7541 §5.2), read an octet at a time through transition tables.

    Raises HpackDecodingError for EOS inside the string, or padding that is longer than 7 bits or not all ones."""
    following = HUFFMAN_NEXT
    flags = HUFFMAN_FLAGS
    first = HUFFMAN_FIRST
    second = HUFFMAN_SECOND
    out: list[int] = []
    state = 0
    for position in range(len(data)):
        index = (state << 8) | data[position]
        flag = flags[index]
        if flag:
            if flag > 2:
                raise HpackDecodingError("EOS inside a Huffman-coded string")
            out.append(first[index])
            if flag == 2:
                out.append(second[index])
        state = following[index]
    if not HUFFMAN_ACCEPT[state]:
        raise HpackDecodingError("invalid Huffman padding")
    return bytes(out)


def huffman_encode(data: bytes) -> bytes:
    """`data` in the Huffman code (RFC 7541 §5.2), padded with the most significant bits of EOS (ones)."""
    lengths = HUFFMAN_CODE_LENGTHS
    codes = HUFFMAN_CODES
    out: list[int] = []
    accumulator = 0
    bits = 0
    for position in range(len(data)):
        octet = data[position]
        length = lengths[octet]
        accumulator = (accumulator << length) | codes[octet]
        bits += length
        while bits >= 8:
            bits -= 8
            out.append((accumulator >> bits) & 0xFF)
        accumulator &= (1 << bits) - 1
    if bits:
        out.append(((accumulator << (8 - bits)) | (0xFF >> bits)) & 0xFF)
    return bytes(out)


_OCTETS: Final[list[bytes]] = [bytes((octet,)) for octet in range(256)]


def _encode_integer(out: list[bytes], flags: int, prefix_bits: int, value: int) -> None:
    """Append `value` with an N-bit prefix (RFC 7541 §5.1), the first octet's other bits being `flags`."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        out.append(_OCTETS[flags | value])
        return
    octets = [flags | limit]
    value -= limit
    while value >= 0x80:
        octets.append((value & 0x7F) | 0x80)
        value >>= 7
    octets.append(value)
    out.append(bytes(octets))


def encode_string(data: bytes, huffman: bool = True) -> bytes:
    """A string literal (RFC 7541 §5.2): Huffman-coded when `huffman` and that is shorter, else as is."""
    out: list[bytes] = []
    coded = huffman_encode(data) if huffman else data
    if len(coded) < len(data):
        _encode_integer(out, 0x80, 7, len(coded))
        out.append(coded)
    else:
        _encode_integer(out, 0, 7, len(data))
        out.append(data)
    return b"".join(out)


class HpackDecoder:
    """The decoding side of a connection's HPACK context: header blocks from the peer to header lists.

    `max_header_list_size` bounds a decoded list by RFC 9113 §6.5.2 counting (name + value + 32 octets per field).
    A block over the bound raises HpackHeaderListTooLarge only after the whole block was read and every entry it
    adds was put in the dynamic table, so the table stays consistent with the peer's encoder and the connection
    may refuse just that stream (431) and go on. The list stops growing at the bound: the rest of the block costs
    one pass over its bytes and no memory, so no block is treated as pathological (an HPACK bomb of repeated
    indexed fields never builds its list). `max_allowed_table_size` is our SETTINGS_HEADER_TABLE_SIZE once the
    peer acknowledged it; `header_table_size` is the maximum size the peer's last dynamic table size update chose
    (initially 4096), `table_bytes` the size of the entries in the table now.
    """

    def __init__(self, max_header_list_size: int = 65536) -> None:
        self.max_header_list_size = max_header_list_size
        self._max_allowed = DEFAULT_HEADER_TABLE_SIZE
        self._table_max = DEFAULT_HEADER_TABLE_SIZE
        self._table_bytes = 0
        self._entries: list[tuple[bytes, bytes]] = []  # oldest first: dynamic index 1 is the last
        self._huffman_memo: dict[bytes, bytes] = {}

    @property
    def max_allowed_table_size(self) -> int:
        """The largest dynamic table size update the peer may send (our acknowledged SETTINGS_HEADER_TABLE_SIZE).

        Lowering it below the size in use obliges the peer to start its next block with an update (RFC 7541 §4.2);
        a block without one raises HpackTableSizeError."""
        return self._max_allowed

    @max_allowed_table_size.setter
    def max_allowed_table_size(self, value: int) -> None:
        self._max_allowed = value

    @property
    def header_table_size(self) -> int:
        """The dynamic table's maximum size, as the peer's last dynamic table size update set it."""
        return self._table_max

    @property
    def table_bytes(self) -> int:
        """The size of the dynamic table's entries now (RFC 7541 §4.1); never above `header_table_size`."""
        return self._table_bytes

    @property
    def dynamic_table(self) -> list[tuple[bytes, bytes]]:
        """A copy of the dynamic table's entries, newest (index 62) first."""
        return self._entries[::-1]

    def decode(self, block: bytes) -> list[tuple[bytes, bytes]]:
        """The header list of a complete header block (HEADERS plus its CONTINUATION frames' fragments): raw names
        and values, names exactly as sent. Raises an HpackDecodingError (or subclass) and nothing else."""
        end = len(block)
        pos = 0
        while pos < end and block[pos] & 0xE0 == 0x20:
            size = block[pos] & 0x1F
            pos += 1
            if size == 0x1F:
                size, pos = _decode_integer(block, pos, 0x1F)
            if size > self._max_allowed:
                raise HpackTableSizeError("dynamic table size update above SETTINGS_HEADER_TABLE_SIZE")
            self._resize(size)
        if self._table_max > self._max_allowed:
            raise HpackTableSizeError("dynamic table size update required after SETTINGS_HEADER_TABLE_SIZE")
        headers: list[tuple[bytes, bytes]] = []
        entries = self._entries
        static = STATIC_TABLE
        bound = self.max_header_list_size
        list_size = 0
        while pos < end:
            octet = block[pos]
            pos += 1
            if octet & 0x80:  # indexed header field (§6.1)
                index = octet & 0x7F
                if index == 0x7F:
                    index, pos = _decode_integer(block, pos, 0x7F)
                if index <= STATIC_TABLE_LENGTH:
                    if index == 0:
                        raise HpackDecodingError("index 0")
                    field = static[index]
                else:
                    slot = len(entries) + STATIC_TABLE_LENGTH - index
                    if slot < 0:
                        raise HpackDecodingError("index beyond the dynamic table")
                    field = entries[slot]
            else:
                if octet & 0x40:  # literal with incremental indexing (§6.2.1)
                    index = octet & 0x3F
                    if index == 0x3F:
                        index, pos = _decode_integer(block, pos, 0x3F)
                elif octet & 0x20:
                    raise HpackDecodingError("dynamic table size update after a header field")
                else:  # literal without indexing (§6.2.2) or never indexed (§6.2.3)
                    index = octet & 0x0F
                    if index == 0x0F:
                        index, pos = _decode_integer(block, pos, 0x0F)
                if index == 0:
                    name, pos = self._string(block, pos)
                elif index <= STATIC_TABLE_LENGTH:
                    name = static[index][0]
                else:
                    slot = len(entries) + STATIC_TABLE_LENGTH - index
                    if slot < 0:
                        raise HpackDecodingError("index beyond the dynamic table")
                    name = entries[slot][0]
                value, pos = self._string(block, pos)
                field = (name, value)
                if octet & 0x40:
                    self._add(field)
            if list_size <= bound:
                list_size += len(field[0]) + len(field[1]) + ENTRY_OVERHEAD
                if list_size <= bound:
                    headers.append(field)
        if list_size > bound:
            raise HpackHeaderListTooLarge(f"header list larger than {bound} octets")
        return headers

    def _string(self, block: bytes, pos: int) -> tuple[bytes, int]:
        """The string literal at `block[pos]` (RFC 7541 §5.2) and the position after it."""
        if pos >= len(block):
            raise HpackDecodingError("truncated string literal")
        octet = block[pos]
        pos += 1
        length = octet & 0x7F
        if length == 0x7F:
            length, pos = _decode_integer(block, pos, 0x7F)
        stop = pos + length
        if stop > len(block):
            raise HpackDecodingError("truncated string literal")
        raw = block[pos:stop]
        if not octet & 0x80:
            return raw, stop
        memo = self._huffman_memo
        decoded = memo.get(raw)
        if decoded is None:
            decoded = huffman_decode(raw)
            if length <= MEMO_STRING_LIMIT:
                if len(memo) >= MEMO_ENTRIES:
                    memo.clear()
                memo[raw] = decoded
        return decoded, stop

    def _add(self, field: tuple[bytes, bytes]) -> None:
        """Insert a field at the front of the dynamic table, evicting from the end to fit (RFC 7541 §4.4)."""
        size = len(field[0]) + len(field[1]) + ENTRY_OVERHEAD
        entries = self._entries
        if size > self._table_max:
            entries.clear()
            self._table_bytes = 0
            return
        self._table_bytes += size
        while self._table_bytes > self._table_max:
            old = entries.pop(0)
            self._table_bytes -= len(old[0]) + len(old[1]) + ENTRY_OVERHEAD
        entries.append(field)

    def _resize(self, size: int) -> None:
        """Apply a dynamic table size update (RFC 7541 §4.3)."""
        self._table_max = size
        entries = self._entries
        while self._table_bytes > size:
            old = entries.pop(0)
            self._table_bytes -= len(old[0]) + len(old[1]) + ENTRY_OVERHEAD


class HpackEncoder:
    """The encoding side of a connection's HPACK context: header lists to header blocks for the peer.

    Per field: a field of the static table or the dynamic table is one index; names in NEVER_INDEXED_NAMES are
    "never indexed" literals, names in UNINDEXED_NAMES and entries over half the table are literals without
    indexing, every other field is a literal with incremental indexing (its name by index where a table has it).
    String literals are Huffman-coded where that is shorter (never with `huffman=False`). Encoded literals are memoized, and so is the last
    block while the dynamic table has not changed since it was made (a response head that repeats costs one list
    comparison).
    """

    def __init__(self, huffman: bool = True) -> None:
        self._huffman = huffman
        self._table_max = DEFAULT_HEADER_TABLE_SIZE
        self._table_bytes = 0
        self._entries: list[tuple[bytes, bytes]] = []  # oldest first
        self._inserted = 0  # entries ever inserted: the serial of the next one
        self._evicted = 0  # entries ever evicted: the serial of self._entries[0]
        self._fields: dict[tuple[bytes, bytes], int] = {}  # field -> serial of its newest copy in the table
        self._names: dict[bytes, int] = {}  # name -> serial of its newest entry in the table
        self._update_min = -1  # the smallest size since the last block (-1: no size update pending)
        self._generation = 0  # changes whenever the dynamic table does
        self._last_headers: list[tuple[bytes, bytes]] = []
        self._last_block = b""
        self._last_generation = -1
        self._literals: dict[bytes, bytes] = {}

    @property
    def header_table_size(self) -> int:
        """The dynamic table's maximum size in use: the peer's SETTINGS_HEADER_TABLE_SIZE up to
        ENCODER_TABLE_SIZE_LIMIT. Set it to the peer's setting; a change is signalled at the start of the next
        block (RFC 7541 §4.2: the smallest size since the last block, then the final one)."""
        return self._table_max

    @header_table_size.setter
    def header_table_size(self, value: int) -> None:
        size = min(value, ENCODER_TABLE_SIZE_LIMIT)
        if size == self._table_max:
            return
        self._table_max = size
        if self._update_min < 0 or size < self._update_min:
            self._update_min = size
        self._evict_to(size)
        self._generation += 1

    @property
    def dynamic_table(self) -> list[tuple[bytes, bytes]]:
        """A copy of the dynamic table's entries, newest (index 62) first."""
        return self._entries[::-1]

    @property
    def table_bytes(self) -> int:
        """The size of the dynamic table's entries now (RFC 7541 §4.1)."""
        return self._table_bytes

    def encode(self, headers: list[tuple[bytes, bytes]]) -> bytes:
        """The header block for `headers` (names as given: the connection lower-cases them)."""
        generation = self._generation
        if generation == self._last_generation and headers == self._last_headers:
            return self._last_block
        out: list[bytes] = []
        if self._update_min >= 0:
            if self._update_min < self._table_max:
                _encode_integer(out, 0x20, 5, self._update_min)
            _encode_integer(out, 0x20, 5, self._table_max)
            self._update_min = -1
            generation = -1  # a block with a size update is not one to repeat
        static_fields = STATIC_FIELD_INDEX
        fields = self._fields
        for field in headers:
            index = static_fields.get(field, 0)
            if index:
                _encode_integer(out, 0x80, 7, index)
                continue
            serial = fields.get(field, -1)
            if serial >= 0:
                _encode_integer(out, 0x80, 7, STATIC_TABLE_LENGTH + self._inserted - serial)
                continue
            name = field[0]
            value = field[1]
            name_index = STATIC_NAME_INDEX.get(name, 0)
            if not name_index:
                serial = self._names.get(name, -1)
                if serial >= 0:
                    name_index = STATIC_TABLE_LENGTH + self._inserted - serial
            if name in NEVER_INDEXED_NAMES:
                _encode_integer(out, 0x10, 4, name_index)
            elif name in UNINDEXED_NAMES or (len(name) + len(value) + ENTRY_OVERHEAD) * 2 > self._table_max:
                _encode_integer(out, 0, 4, name_index)
            else:
                _encode_integer(out, 0x40, 6, name_index)
                self._add(field)
            if not name_index:
                out.append(self._literal(name))
            out.append(self._literal(value))
        block = b"".join(out)
        if self._generation == generation:
            self._last_headers = list(headers)
            self._last_block = block
            self._last_generation = generation
        else:
            self._last_generation = -1
        return block

    def _literal(self, data: bytes) -> bytes:
        """The string literal for `data`, memoized for short strings."""
        memo = self._literals
        literal = memo.get(data)
        if literal is None:
            literal = encode_string(data, self._huffman)
            if len(data) <= MEMO_STRING_LIMIT:
                if len(memo) >= MEMO_ENTRIES:
                    memo.clear()
                memo[data] = literal
        return literal

    def _add(self, field: tuple[bytes, bytes]) -> None:
        """Insert a field at the front of the dynamic table, evicting to fit, as the peer's decoder will."""
        self._generation += 1
        size = len(field[0]) + len(field[1]) + ENTRY_OVERHEAD
        self._evict_to(self._table_max - size)
        serial = self._inserted
        self._inserted = serial + 1
        self._entries.append(field)
        self._table_bytes += size
        self._fields[field] = serial
        self._names[field[0]] = serial

    def _evict_to(self, size: int) -> None:
        """Evict the oldest entries until the table holds at most `size` octets."""
        entries = self._entries
        while entries and self._table_bytes > size:
            old = entries.pop(0)
            serial = self._evicted
            self._evicted = serial + 1
            self._table_bytes -= len(old[0]) + len(old[1]) + ENTRY_OVERHEAD
            if self._fields.get(old, -1) == serial:
                del self._fields[old]
            if self._names.get(old[0], -1) == serial:
                del self._names[old[0]]
