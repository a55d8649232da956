"""HPACK's fixed tables (RFC 7541): the static table (Appendix A) and the Huffman code (Appendix B).

Responsibility: the two tables as data, and the lookup tables derived from them once at import — the static
table by field and by name for the encoder, the Huffman code per byte for the encoder, and the Huffman decoder's
4-bit state transition table. It must not encode or decode header blocks (`hpack.py` does) and holds no state
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

# The decoder: a state is an internal node of the code's tree (0 is the root; 256 nodes for 257 symbols). The entry
# for (state << 4) | nibble packs what reading those four bits does:
HUFFMAN_NEXT_MASK: Final = 0xFF0  # the next state, shifted left by 4 (OR the next nibble in to index again)
HUFFMAN_EMIT: Final = 0x1000  # a symbol completed (at most one can in 4 bits: the shortest code has 5)
HUFFMAN_FAIL: Final = 0x2000  # EOS completed: a decoding error inside a string (RFC 7541 §5.2)
HUFFMAN_ACCEPT: Final = 0x4000  # the bits since the last symbol are 0-7 ones: a string may end here
HUFFMAN_SYMBOL_SHIFT: Final = 16  # the completed symbol, in bits 16-23


def _decode_table(lengths: tuple[int, ...], codes: list[int]) -> list[int]:
    """The 4-bit transition table of the code's tree, built from its codes."""
    # children[node * 2 + bit]: another internal node (>= 0) or a symbol (-1 - symbol)
    children = [0] * 512
    nodes = 1
    for symbol in range(len(lengths)):
        node = 0
        length = lengths[symbol]
        for depth in range(length - 1, -1, -1):
            bit = (codes[symbol] >> depth) & 1
            slot = node * 2 + bit
            if depth == 0:
                children[slot] = -1 - symbol
            else:
                if children[slot] == 0:
                    children[slot] = nodes
                    nodes += 1
                node = children[slot]
    # the nodes a valid padding can end at: the all-ones path from the root, at most 7 bits deep (RFC 7541 §5.2)
    accepting = {0}
    node = 0
    for _ in range(7):
        node = children[node * 2 + 1]
        accepting.add(node)
    table = [0] * (nodes * 16)
    for state in range(nodes):
        for nibble in range(16):
            node = state
            entry = 0
            for shift in (3, 2, 1, 0):
                child = children[node * 2 + ((nibble >> shift) & 1)]
                if child < 0:
                    symbol = -1 - child
                    if symbol == HUFFMAN_EOS:
                        entry |= HUFFMAN_FAIL
                    else:
                        entry |= HUFFMAN_EMIT | (symbol << HUFFMAN_SYMBOL_SHIFT)
                    node = 0
                else:
                    node = child
            if node in accepting:
                entry |= HUFFMAN_ACCEPT
            table[state * 16 + nibble] = entry | (node << 4)
    return table


HUFFMAN_DECODE: Final[list[int]] = _decode_table(HUFFMAN_CODE_LENGTHS, HUFFMAN_CODES)
