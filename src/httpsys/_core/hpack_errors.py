"""The exceptions of the HPACK codec (`_core/hpack.py`), which re-exports them.

Responsibility: the classes alone, in an interpreted module, because the native build compiles `_core/hpack.py`
and mypyc cannot compile a class derived from a built-in exception (decision 0009). It must not hold behaviour.
"""

from __future__ import annotations


class HpackError(Exception):
    """Any failure of the HPACK codec."""


class HpackDecodingError(HpackError):
    """A malformed header block (RFC 7541): the connection answers COMPRESSION_ERROR (RFC 9113 §4.3), since the
    decoder's dynamic table may no longer match the peer's encoder."""


class HpackHeaderListTooLarge(HpackDecodingError):
    """The decoded header list is larger than the decoder's `max_header_list_size` (RFC 9113 §6.5.2 counting).

    Raised after the whole block was read and the dynamic table updated, so the decoder stays usable: the
    connection may answer the stream with 431 instead of closing."""


class HpackTableSizeError(HpackDecodingError):
    """A dynamic table size update above the size the decoder allows (`max_allowed_table_size`), or a missing one
    after that size was lowered (RFC 7541 §4.2, §6.3)."""
