"""HPACK's fixed tables (RFC 7541): the static table (Appendix A) and the Huffman code (Appendix B).

Responsibility: the two tables as data, and the lookup tables derived from them once at import — the static
table by field and by name for the encoder, the Huffman code per byte for the encoder, and the Huffman decoder's
octet-at-a-time state transition tables (composed from 4-bit ones). It must not encode or decode header blocks (`hpack.py` does) and holds no state
that changes after import.
"""

from __future__ import annotations

from typing import Final

# RFC 7541 Appendix A. Index 0 is not a field (an index of 0 is a decoding error); it keeps the indices as in the RFC.
STATIC_TABLE: Final[tuple[tuple[bytes, bytes], ...]] = (
    (b"", b""),
    (b":authority", b""),
    (b":method", b"GET"),
    (b":method", b"POST"),
    (b":path", b"/"),
    (b":path", b"/index.html"),
    (b":scheme", b"http"),
    (b":scheme", b"https"),
    (b":status", b"200"),
    (b":status", b"204"),
    (b":status", b"206"),
    (b":status", b"304"),
    (b":status", b"400"),
    (b":status", b"404"),
    (b":status", b"500"),
    (b"accept-charset", b""),
    (b"accept-encoding", b"gzip, deflate"),
    (b"accept-language", b""),
    (b"accept-ranges", b""),
    (b"accept", b""),
    (b"access-control-allow-origin", b""),
    (b"age", b""),
    (b"allow", b""),
    (b"authorization", b""),
    (b"cache-control", b""),
    (b"content-disposition", b""),
    (b"content-encoding", b""),
    (b"content-language", b""),
    (b"content-length", b""),
    (b"content-location", b""),
    (b"content-range", b""),
    (b"content-type", b""),
    (b"cookie", b""),
    (b"date", b""),
    (b"etag", b""),
    (b"expect", b""),
    (b"expires", b""),
    (b"from", b""),
    (b"host", b""),
    (b"if-match", b""),
    (b"if-modified-since", b""),
    (b"if-none-match", b""),
    (b"if-range", b""),
    (b"if-unmodified-since", b""),
    (b"last-modified", b""),
    (b"link", b""),
    (b"location", b""),
    (b"max-forwards", b""),
    (b"proxy-authenticate", b""),
    (b"proxy-authorization", b""),
    (b"range", b""),
    (b"referer", b""),
    (b"refresh", b""),
    (b"retry-after", b""),
    (b"server", b""),
    (b"set-cookie", b""),
    (b"strict-transport-security", b""),
    (b"transfer-encoding", b""),
    (b"user-agent", b""),
    (b"vary", b""),
    (b"via", b""),
    (b"www-authenticate", b""),
)
STATIC_TABLE_LENGTH: Final = 61

# The encoder's lookups: a whole field to its index, a name to its lowest index.
STATIC_FIELD_INDEX: Final[dict[tuple[bytes, bytes], int]] = {
    STATIC_TABLE[i]: i for i in range(STATIC_TABLE_LENGTH, 0, -1) if STATIC_TABLE[i][1]
}
STATIC_NAME_INDEX: Final[dict[bytes, int]] = {
    STATIC_TABLE[i][0]: i for i in range(STATIC_TABLE_LENGTH, 0, -1)
}

# RFC 7541 Appendix B: the code length in bits of each symbol, bytes 0-255 then EOS (256). The code is canonical
# (codes of one length are consecutive in symbol order, shorter lengths first), so the lengths define it.
HUFFMAN_CODE_LENGTHS: Final[tuple[int, ...]] = (
    13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
    6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
    13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
    15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
    20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
    22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
    26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
    20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
    30,
)  # fmt: skip
HUFFMAN_EOS: Final = 256


def _canonical_codes(lengths: tuple[int, ...]) -> list[int]:
    """The canonical Huffman code for `lengths`: by length, then by symbol, each code one more than the last."""
    codes = [0] * len(lengths)
    code = 0
    previous = 0
    for symbol in sorted(range(len(lengths)), key=lambda s: (lengths[s], s)):
        code <<= lengths[symbol] - previous
        previous = lengths[symbol]
        codes[symbol] = code
        code += 1
    return codes


HUFFMAN_CODES: Final[list[int]] = _canonical_codes(HUFFMAN_CODE_LENGTHS)

# The decoder: a state is an internal node of the code's tree (0 is the root; 256 nodes for 257 symbols). First a
# 4-bit transition table, whose entry for (state << 4) | nibble packs what reading those four bits does:
_NEXT_MASK: Final = 0xFF0  # the next state, shifted left by 4 (OR the next nibble in to index again)
_EMIT: Final = 0x1000  # a symbol completed (at most one can in 4 bits: the shortest code has 5)
_FAIL: Final = 0x2000  # EOS completed: a decoding error inside a string (RFC 7541 §5.2)
_SYMBOL_SHIFT: Final = 16  # the completed symbol, in bits 16-23


def _tree(lengths: tuple[int, ...], codes: list[int]) -> list[int]:
    """The code's tree: children[node * 2 + bit] is another internal node (> 0) or a symbol (-1 - symbol)."""
    children = [0] * 512
    nodes = 1
    for symbol in range(len(lengths)):
        node = 0
        length = lengths[symbol]
        for depth in range(length - 1, -1, -1):
            slot = node * 2 + ((codes[symbol] >> depth) & 1)
            if depth == 0:
                children[slot] = -1 - symbol
            else:
                if children[slot] == 0:
                    children[slot] = nodes
                    nodes += 1
                node = children[slot]
    return children


def _nibble_table(children: list[int]) -> list[int]:
    """The 4-bit transition table of the tree."""
    table = [0] * (256 * 16)
    for state in range(256):
        for nibble in range(16):
            node = state
            entry = 0
            for shift in (3, 2, 1, 0):
                child = children[node * 2 + ((nibble >> shift) & 1)]
                if child < 0:
                    symbol = -1 - child
                    entry |= _FAIL if symbol == HUFFMAN_EOS else _EMIT | (symbol << _SYMBOL_SHIFT)
                    node = 0
                else:
                    node = child
            table[state * 16 + nibble] = entry | (node << 4)
    return table


def _accepting(children: list[int]) -> bytes:
    """Per state, 1 where a string may end (RFC 7541 §5.2): the bits since the last symbol are at most 7 ones,
    i.e. the state is on the all-ones path from the root, at most 7 bits deep."""
    accept = bytearray(256)
    accept[0] = 1
    node = 0
    for _ in range(7):
        node = children[node * 2 + 1]
        accept[node] = 1
    return bytes(accept)


def _octet_tables(nibbles: list[int]) -> tuple[bytes, bytes, bytes, bytes]:
    """The 8-bit decoder, indexed by (state << 8) | octet, composed from two 4-bit steps: the next state, the flags
    (the number of symbols completed, 0-2, or HUFFMAN_FAILED), the first and the second symbol completed. Built
    16 entries at a time: the second nibble's row depends only on the state the first one reached."""
    next_rows: list[bytes] = []
    flag_rows: list[bytes] = []
    symbol_rows: list[bytes] = []
    for state in range(256):
        row = nibbles[state * 16 : state * 16 + 16]
        next_rows.append(bytes((entry & _NEXT_MASK) >> 4 for entry in row))
        flag_rows.append(
            bytes(HUFFMAN_FAILED if entry & _FAIL else 1 if entry & _EMIT else 0 for entry in row)
        )
        symbol_rows.append(bytes((entry >> _SYMBOL_SHIFT) & 0xFF for entry in row))
    add_one = bytes((i + 1) & 0xFF for i in range(256))
    failed = bytes([HUFFMAN_FAILED]) * 16
    nothing = bytes(16)
    next_parts: list[bytes] = []
    flag_parts: list[bytes] = []
    first_parts: list[bytes] = []
    second_parts: list[bytes] = []
    for state in range(256):
        for high in range(16):
            entry = nibbles[state * 16 + high]
            reached = (entry & _NEXT_MASK) >> 4
            next_parts.append(next_rows[reached])
            if entry & _FAIL:
                flag_parts.append(failed)
                first_parts.append(nothing)
                second_parts.append(nothing)
            elif entry & _EMIT:
                flag_parts.append(flag_rows[reached].translate(add_one))
                first_parts.append(bytes([(entry >> _SYMBOL_SHIFT) & 0xFF]) * 16)
                second_parts.append(symbol_rows[reached])
            else:
                flag_parts.append(flag_rows[reached])
                first_parts.append(symbol_rows[reached])
                second_parts.append(nothing)
    return b"".join(next_parts), b"".join(flag_parts), b"".join(first_parts), b"".join(second_parts)


HUFFMAN_FAILED: Final = 4  # a flags value: EOS completed inside the string (RFC 7541 §5.2); with a symbol, 5
_TREE = _tree(HUFFMAN_CODE_LENGTHS, HUFFMAN_CODES)
HUFFMAN_ACCEPT: Final[bytes] = _accepting(_TREE)
HUFFMAN_NEXT, HUFFMAN_FLAGS, HUFFMAN_FIRST, HUFFMAN_SECOND = _octet_tables(_nibble_table(_TREE))
