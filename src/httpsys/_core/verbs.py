"""HTTP_VERB: the verbs HTTP.sys knows by number; every other token is HttpVerbUnknown.

Responsibility: mapping a verb as sent to its HTTP_VERB value (case-sensitive, as HTTP.sys matches verbs). It must
not validate verb syntax: the HTTP adapter rejects invalid verbs before a request exists.
"""

from __future__ import annotations

VERB_UNPARSED = 0
VERB_UNKNOWN = 1
VERB_INVALID = 2

VERB_NAMES: tuple[bytes, ...] = (
    b"OPTIONS", b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"TRACE", b"CONNECT", b"TRACK", b"MOVE",
    b"COPY", b"PROPFIND", b"PROPPATCH", b"MKCOL", b"LOCK", b"UNLOCK", b"SEARCH",
)  # fmt: skip

VERB_IDS: dict[bytes, int] = {name: i + 3 for i, name in enumerate(VERB_NAMES)}  # OPTIONS = 3 ... SEARCH = 19
VERB_MAXIMUM = 20


def verb_id(method: bytes) -> int:
    """The HTTP_VERB value of `method` (HttpVerbUnknown for any verb HTTP.sys does not number)."""
    return VERB_IDS.get(method, VERB_UNKNOWN)
