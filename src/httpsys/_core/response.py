"""Response head generation: an HTTP_RESPONSE record turned into HTTP/1.1 head bytes exactly as HTTP.sys does.

Responsibility: the response known-header table, validation of an application's response record, the framing
decision for one send call (keep-alive or close, automatic Content-Length, app chunking) and the byte-exact head
(spec §3.3, §5.3, §5.4). Also the HTTP/1.1 chunk framing pieces the driver needs for trailers. It must not
perform I/O, read the clock (the Date value is passed in) or own connection state: the caller feeds in the request
facts and applies the returned plan.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from httpsys._core.records import ResponseSpec
from httpsys._core.status import Win32Error

__all__ = [
    "CHUNK_END",
    "HTTP_RESPONSE_FLAG_MORE_ENTITY_BODY_EXISTS",
    "HTTP_RESPONSE_FLAG_MULTIPLE_ENCODINGS_AVAILABLE",
    "HTTP_SEND_RESPONSE_FLAG_AUTOMATIC_CHUNKING",
    "HTTP_SEND_RESPONSE_FLAG_BUFFER_DATA",
    "HTTP_SEND_RESPONSE_FLAG_DISCONNECT",
    "HTTP_SEND_RESPONSE_FLAG_ENABLE_NAGLING",
    "HTTP_SEND_RESPONSE_FLAG_GOAWAY",
    "HTTP_SEND_RESPONSE_FLAG_MORE_DATA",
    "HTTP_SEND_RESPONSE_FLAG_OPAQUE",
    "HTTP_SEND_RESPONSE_FLAG_PROCESS_RANGES",
    "HTTP_SEND_RESPONSE_FLAGS_VALID",
    "HeadPlan",
    "LAST_CHUNK",
    "RESPONSE_HEADER_IDS",
    "RESPONSE_HEADER_NAMES",
    "ResponseSpec",
    "SERVER_SUFFIX",
    "chunk_frame",
    "plan_response",
    "render_head",
    "render_trailers",
    "validate_response",
    "validate_send_flags",
    "validate_trailers",
]

# --- constants -------------------------------------------------------------------------------------------------

HTTP_SEND_RESPONSE_FLAG_DISCONNECT = 0x00000001
HTTP_SEND_RESPONSE_FLAG_MORE_DATA = 0x00000002
HTTP_SEND_RESPONSE_FLAG_BUFFER_DATA = 0x00000004
HTTP_SEND_RESPONSE_FLAG_ENABLE_NAGLING = 0x00000008
HTTP_SEND_RESPONSE_FLAG_PROCESS_RANGES = 0x00000020
HTTP_SEND_RESPONSE_FLAG_OPAQUE = 0x00000040
HTTP_SEND_RESPONSE_FLAG_GOAWAY = 0x00000100
HTTP_SEND_RESPONSE_FLAG_AUTOMATIC_CHUNKING = 0x00000200
HTTP_SEND_RESPONSE_FLAGS_VALID = (
    HTTP_SEND_RESPONSE_FLAG_DISCONNECT
    | HTTP_SEND_RESPONSE_FLAG_MORE_DATA
    | HTTP_SEND_RESPONSE_FLAG_BUFFER_DATA
    | HTTP_SEND_RESPONSE_FLAG_ENABLE_NAGLING
    | HTTP_SEND_RESPONSE_FLAG_PROCESS_RANGES
    | HTTP_SEND_RESPONSE_FLAG_OPAQUE
    | HTTP_SEND_RESPONSE_FLAG_GOAWAY
    | HTTP_SEND_RESPONSE_FLAG_AUTOMATIC_CHUNKING
)

HTTP_RESPONSE_FLAG_MULTIPLE_ENCODINGS_AVAILABLE = 0x00000001
HTTP_RESPONSE_FLAG_MORE_ENTITY_BODY_EXISTS = 0x00000002

RESPONSE_HEADER_NAMES: tuple[bytes, ...] = (
    b"Cache-Control",  # 0
    b"Connection",  # 1
    b"Date",  # 2
    b"Keep-Alive",  # 3
    b"Pragma",  # 4
    b"Trailer",  # 5
    b"Transfer-Encoding",  # 6
    b"Upgrade",  # 7
    b"Via",  # 8
    b"Warning",  # 9
    b"Allow",  # 10
    b"Content-Length",  # 11
    b"Content-Type",  # 12
    b"Content-Encoding",  # 13
    b"Content-Language",  # 14
    b"Content-Location",  # 15
    b"Content-MD5",  # 16
    b"Content-Range",  # 17
    b"Expires",  # 18
    b"Last-Modified",  # 19
    b"Accept-Ranges",  # 20
    b"Age",  # 21
    b"ETag",  # 22
    b"Location",  # 23
    b"Proxy-Authenticate",  # 24
    b"Retry-After",  # 25
    b"Server",  # 26
    b"Set-Cookie",  # 27
    b"Vary",  # 28
    b"WWW-Authenticate",  # 29
)
RESPONSE_HEADER_IDS: dict[bytes, int] = {name.lower(): i for i, name in enumerate(RESPONSE_HEADER_NAMES)}
HTTP_HEADER_RESPONSE_MAXIMUM = len(RESPONSE_HEADER_NAMES)  # 30

_ID_CONNECTION = 1
_ID_DATE = 2
_ID_TRANSFER_ENCODING = 6
_ID_CONTENT_LENGTH = 11
_ID_SERVER = 26

SERVER_SUFFIX = b"Microsoft-HTTPAPI/2.0"
_SERVER_APPEND = b" " + SERVER_SUFFIX
_DEFAULT_SERVER_LINE = b"Server: " + SERVER_SUFFIX + b"\r\n"

CRLF = b"\r\n"
CHUNK_END = b"\r\n"  # after each chunk's data
LAST_CHUNK = b"0\r\n\r\n"  # last-chunk with an empty trailer section

# Precomputed pieces of the head (hot path: one list index instead of formatting).
_KNOWN_PREFIX: tuple[bytes, ...] = tuple(name + b": " for name in RESPONSE_HEADER_NAMES)
_STATUS_PREFIX: tuple[bytes, ...] = tuple(b"HTTP/1.1 %d " % code for code in range(1000))
_STATUS_LINES: dict[tuple[int, bytes], bytes] = {
    (code, reason): b"HTTP/1.1 %d %s\r\n" % (code, reason)
    for code, reason in (
        (100, b"Continue"),
        (101, b"Switching Protocols"),
        (200, b"OK"),
        (201, b"Created"),
        (202, b"Accepted"),
        (204, b"No Content"),
        (206, b"Partial Content"),
        (301, b"Moved Permanently"),
        (302, b"Found"),
        (303, b"See Other"),
        (304, b"Not Modified"),
        (307, b"Temporary Redirect"),
        (308, b"Permanent Redirect"),
        (400, b"Bad Request"),
        (401, b"Unauthorized"),
        (403, b"Forbidden"),
        (404, b"Not Found"),
        (405, b"Method Not Allowed"),
        (416, b"Requested Range Not Satisfiable"),
        (500, b"Internal Server Error"),
        (502, b"Bad Gateway"),
        (503, b"Service Unavailable"),
    )
}
_DATE_PREFIX = b"Date: "
_CONNECTION_CLOSE_LINE = b"Connection: close\r\n"
_CONNECTION_KEEP_ALIVE_LINE = b"Connection: keep-alive\r\n"

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(rb"[\r\n\x00]")
_BAD_REASON = re.compile(rb"[^\x20-\x7e]")
_OWS = b" \t"
_MAX_LENGTH_DIGITS = 19  # 10**19 - 1 exceeds any real body; never int() an unbounded string

# Fields that must never appear in a trailer section (framing, routing, auth, control; RFC 9110 §6.5.1).
_FORBIDDEN_TRAILERS = frozenset(
    {
        b"content-length",
        b"transfer-encoding",
        b"trailer",
        b"connection",
        b"keep-alive",
        b"upgrade",
        b"te",
        b"host",
        b"authorization",
        b"proxy-authorization",
        b"www-authenticate",
        b"proxy-authenticate",
        b"set-cookie",
        b"content-type",
        b"content-encoding",
        b"content-range",
        b"cache-control",
        b"expect",
        b"max-forwards",
        b"date",
        b"location",
        b"retry-after",
        b"vary",
        b"age",
        b"expires",
        b"pragma",
    }
)


# --- the response record ----------------------------------------------------------------------------------------


# ResponseSpec, the record itself, is in records.py (built by the faces, it stays interpreted; decision 0009).


def validate_response(spec: ResponseSpec) -> int:
    """Check a response record as HttpSendHttpResponse does; NO_ERROR or ERROR_INVALID_PARAMETER (memoized)."""
    memo = spec.memo
    if memo is not None:
        cached = memo.get("valid")
        if cached is not None:
            code: int = cached  # no cast(): a call per request on the hot path
            return code
    try:
        code = _validate_response(spec)
    except TypeError:  # a field of the wrong type, as the native build reads it (it checks annotated types)
        code = Win32Error.ERROR_INVALID_PARAMETER
    if memo is None:
        spec.memo = {"valid": code}
    else:
        memo["valid"] = code
    return code


def _validate_response(spec: ResponseSpec) -> int:
    """Check a response record as HttpSendHttpResponse does; NO_ERROR or ERROR_INVALID_PARAMETER.

    Rejected: status outside 100..999, a reason byte outside 0x20..0x7E, a known id outside 0..29, an unknown
    header name that is not an RFC 9110 token, a value (known or unknown) containing CR, LF or NUL, and any
    field of the wrong type (records may arrive deserialized from another process).
    """
    invalid = Win32Error.ERROR_INVALID_PARAMETER
    status = spec.status
    if type(status) is not int or not 100 <= status <= 999:
        return invalid
    reason = spec.reason
    if not isinstance(reason, bytes) or _BAD_REASON.search(reason) is not None:
        return invalid
    if type(spec.flags) is not int or spec.flags < 0:
        return invalid
    known = spec.known
    if not isinstance(known, dict):
        return invalid
    for header_id, values in known.items():
        if type(header_id) is not int or not 0 <= header_id < HTTP_HEADER_RESPONSE_MAXIMUM:
            return invalid
        if not isinstance(values, list):
            return invalid
        for value in values:
            if not isinstance(value, bytes) or _BAD_VALUE.search(value) is not None:
                return invalid
    unknown = spec.unknown
    if not isinstance(unknown, list):
        return invalid
    for item in unknown:
        if not isinstance(item, tuple) or len(item) != 2:
            return invalid
        name, value = item
        if not isinstance(name, bytes) or _TOKEN.fullmatch(name) is None:
            return invalid
        if not isinstance(value, bytes) or _BAD_VALUE.search(value) is not None:
            return invalid
    return Win32Error.NO_ERROR


def validate_send_flags(status: int, flags: int) -> int:
    """Check HTTP_SEND_RESPONSE_FLAG_* for one send call; NO_ERROR or ERROR_INVALID_PARAMETER.

    Rejected: bits outside the defined set, OPAQUE with a status other than 101 (spec §2.2), GOAWAY without
    DISCONNECT. DISCONNECT|MORE_DATA is "undefined" in the docs and accepted here (DISCONNECT then applies to
    the end of the response).
    """
    if type(flags) is not int or flags < 0 or flags & ~HTTP_SEND_RESPONSE_FLAGS_VALID:
        return Win32Error.ERROR_INVALID_PARAMETER
    if flags & HTTP_SEND_RESPONSE_FLAG_OPAQUE and status != 101:
        return Win32Error.ERROR_INVALID_PARAMETER
    if flags & HTTP_SEND_RESPONSE_FLAG_GOAWAY and not flags & HTTP_SEND_RESPONSE_FLAG_DISCONNECT:
        return Win32Error.ERROR_INVALID_PARAMETER
    return Win32Error.NO_ERROR


# --- the framing decision ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HeadPlan:
    """What one send call means for framing and the connection.

    close: the connection closes after this response.
    auto_content_length: the Content-Length HTTP.sys appends, or None.
    chunked: the app declared Transfer-Encoding ending in chunked; it frames its own chunks (the driver must not).
    app_content_length: the app's Content-Length when it is a valid decimal (all values agree), else None.
    opaque: OPAQUE was passed (the connection becomes a byte pipe after this 101).
    body_allowed: False for HEAD requests and 1xx/204/304; informative, bytes the app sends are still sent.
    app_connection: the app sent a Connection header (so the driver adds no Connection header of its own).
    keep_alive_header: the driver adds `Connection: keep-alive` (an HTTP/1.0 connection that stays open: the
    client has no other way to know; docs/decisions/0013).
    """

    close: bool
    auto_content_length: int | None
    chunked: bool
    app_content_length: int | None
    opaque: bool
    body_allowed: bool
    app_connection: bool = False
    keep_alive_header: bool = False


def _parse_content_length(value: bytes) -> int | None:
    value = value.strip(_OWS)
    if not value or not value.isdigit():
        return None
    stripped = value.lstrip(b"0")
    if len(stripped) > _MAX_LENGTH_DIGITS:
        return None
    return int(stripped) if stripped else 0


_NONE: list[bytes] = []  # shared empty result; never mutated


def _present(values: list[bytes] | None) -> list[bytes]:
    if not values:
        return _NONE
    if all(values):
        return values
    return [value for value in values if value]


def plan_response(
    spec: ResponseSpec,
    *,
    request_method: bytes,
    request_version: tuple[int, int],
    request_keep_alive: bool,
    flags: int,
    final: bool,
    entity_length: int | None,
) -> HeadPlan:
    """Decide framing and connection fate for HttpSendHttpResponse (spec §5.3, §5.4).

    request_keep_alive: the caller's §5.4 verdict on the request alone (HTTP/1.1 without `Connection: close`,
    or HTTP/1.0 with `Connection: Keep-Alive`). entity_length: the sum of this call's chunk lengths when final.

    Rules:
    * Framing headers count whether the app passed them as known or as unknown headers (an unknown
      `Content-Length` suppresses the automatic one, so the wire never carries two).
    * Automatic Content-Length = entity_length (0 when None) when final, the app gave neither Content-Length nor
      Transfer-Encoding, and the status is not 1xx/204/304 (RFC 9110 §8.6 forbids it on 1xx/204; on 304 it would
      describe the selected representation, which HTTP.sys cannot know). HEAD responses get it like any other:
      HTTP.sys just sums the chunks it was given.
    * Close when: DISCONNECT or GOAWAY; the request did not ask for keep-alive; the app sent
      `Connection: close`; the body is close-delimited (body allowed, no app Content-Length, not chunked, and
      either MORE_DATA or a Transfer-Encoding whose last coding is not chunked); an HTTP/1.0 peer whose response
      is not length-delimited (chunked framing means nothing to it); an HTTP/1.0 peer when the app sent a
      Connection header without the `keep-alive` token (the driver never adds a second Connection header, and
      without the token the peer would wait for a close).
    * An HTTP/1.0 response that keeps the connection open says so: `Connection: keep-alive`, added by the driver
      unless the app's own Connection header carries the token (docs/decisions/0013).
    """
    status = spec.status
    body_allowed_status = status >= 200 and status != 204 and status != 304
    body_allowed = body_allowed_status and request_method != b"HEAD"
    memo = spec.memo
    cached = memo.get("facts") if memo is not None else None
    facts: _Facts
    if cached is None:
        facts = _framing_facts(spec)
        if memo is None:
            spec.memo = {"facts": facts}
        else:
            memo["facts"] = facts
    else:
        facts = cached
    (
        has_content_length,
        app_content_length,
        has_transfer_encoding,
        chunked,
        app_connection,
        app_close,
        app_keep_alive,
    ) = facts

    auto_content_length: int | None = None
    if final and not has_content_length and not has_transfer_encoding and body_allowed_status:
        auto_content_length = entity_length if entity_length is not None else 0

    opaque = bool(flags & HTTP_SEND_RESPONSE_FLAG_OPAQUE)
    close_delimited = (
        body_allowed and not has_content_length and not chunked and (not final or has_transfer_encoding)
    )
    close = (
        bool(flags & (HTTP_SEND_RESPONSE_FLAG_DISCONNECT | HTTP_SEND_RESPONSE_FLAG_GOAWAY))
        or not request_keep_alive
        or app_close
        or close_delimited
    )
    keep_alive_header = False
    if not close and request_version < (1, 1):
        if body_allowed:
            # HTTP/1.0 keep-alive survives only a length-delimited response (spec §5.4).
            close = not has_content_length and auto_content_length is None
        if app_connection and not app_keep_alive:
            close = True  # the app's Connection header does not tell the peer to stay (decision 0013)
        keep_alive_header = not close and not app_connection

    return HeadPlan(
        close=close,
        auto_content_length=auto_content_length,
        chunked=chunked,
        app_content_length=app_content_length,
        opaque=opaque,
        body_allowed=body_allowed,
        app_connection=app_connection,
        keep_alive_header=keep_alive_header,
    )


_Facts = tuple[bool, int | None, bool, bool, bool, bool, bool]


def _framing_facts(spec: ResponseSpec) -> _Facts:
    """(has Content-Length, its value, has Transfer-Encoding, chunked, has Connection, Connection: close,
    Connection: keep-alive)."""
    known = spec.known
    # Known values of length 0 are absent; unknown framing fields count even when empty (they are sent).
    content_lengths = _present(known.get(_ID_CONTENT_LENGTH)) if known else _NONE
    transfer_codings = _present(known.get(_ID_TRANSFER_ENCODING)) if known else _NONE
    connection_values = _present(known.get(_ID_CONNECTION)) if known else _NONE
    for name, value in spec.unknown:
        # Only names of framing fields matter; cheap length test before lower-casing.
        length = len(name)
        if length == 14 or length == 17 or length == 10:
            lowered = name.lower()
            if lowered == b"content-length":
                content_lengths = [*content_lengths, value]
            elif lowered == b"transfer-encoding":
                transfer_codings = [*transfer_codings, value]
            elif lowered == b"connection":
                connection_values = [*connection_values, value]

    has_content_length = False
    app_content_length: int | None = None
    if content_lengths:
        has_content_length = True
        parsed = {_parse_content_length(value) for value in content_lengths}
        if len(parsed) == 1:
            app_content_length = parsed.pop()

    has_transfer_encoding = bool(transfer_codings)
    chunked = False
    if has_transfer_encoding:
        codings = [c.strip(_OWS) for c in b",".join(transfer_codings).split(b",")]
        codings = [c for c in codings if c]
        chunked = bool(codings) and codings[-1].lower() == b"chunked"

    app_connection = bool(connection_values)
    app_close = app_keep_alive = False
    if app_connection:
        for value in connection_values:
            for token in value.split(b","):
                option = token.strip(_OWS).lower()
                if option == b"close":
                    app_close = True
                elif option == b"keep-alive":
                    app_keep_alive = True
    return (
        has_content_length,
        app_content_length,
        has_transfer_encoding,
        chunked,
        app_connection,
        app_close,
        app_keep_alive,
    )


# --- the head bytes ---------------------------------------------------------------------------------------------


def render_head(spec: ResponseSpec, plan: HeadPlan, *, date: bytes, server_mode: int = 0) -> bytes:
    """The HTTP/1.1 response head, byte-exact as HTTP.sys writes it (spec §5.3).

    Order: status line (always HTTP/1.1; an empty reason leaves the trailing space), known headers in id order
    (empty values skipped, the app's Date dropped, Server at id 26), unknown headers in the given order (empty
    values sent; an unknown `Date` is dropped too, Date is always generated), `Date: <date>`,
    `Connection: close` when plan.close and the app sent no Connection header (`Connection: keep-alive` when
    plan.keep_alive_header: an HTTP/1.0 connection that stays open), `Content-Length: N` when HTTP.sys computed
    it, and the empty line.

    server_mode is the DisableServerHeader registry value: 0 and 1 give app value + " Microsoft-HTTPAPI/2.0" or
    just "Microsoft-HTTPAPI/2.0" (1 only affects driver-generated responses); 2 sends the app's value only.
    The head carries at most one Server line: several Server values (known, or given as unknown headers) are
    joined with a space, the suffix after the last (docs/decisions/0013). The spec is assumed validated.
    """
    memo = spec.memo
    key = ("prefix", server_mode)
    cached = memo.get(key) if memo is not None else None
    prefix: bytes
    if cached is None:
        prefix = _render_prefix(spec, server_mode)
        if memo is None:
            spec.memo = {key: prefix}
        else:
            memo[key] = prefix
    else:
        prefix = cached
    tail = _DATE_PREFIX + date + CRLF
    if plan.close:
        if not plan.app_connection:
            tail += _CONNECTION_CLOSE_LINE
    elif plan.keep_alive_header:
        tail += _CONNECTION_KEEP_ALIVE_LINE
    if plan.auto_content_length is not None:
        return prefix + tail + b"Content-Length: %d\r\n\r\n" % plan.auto_content_length
    return prefix + tail + CRLF


_HEAD_MEMO_LIMIT = 40  # memo entries per record (a few per distinct request shape); beyond that, no memo


def plan_and_render(
    spec: ResponseSpec,
    *,
    request_method: bytes,
    request_version: tuple[int, int],
    request_keep_alive: bool,
    flags: int,
    final: bool,
    entity_length: int | None,
    date: bytes,
    server_mode: int = 0,
) -> tuple[bytes, bool, bool]:
    """`plan_response` and `render_head` in one step: (head bytes, plan.close, plan.chunked).

    The plan depends on the request only through HEAD-or-not, HTTP/1.0-or-1.1, keep-alive, the flags and
    `final` (the entity length only sets the automatic Content-Length value), so the head around the Date and
    the Content-Length value is memoized per record for each such combination.
    """
    key = (request_method == b"HEAD", request_version < (1, 1), request_keep_alive, flags, final, server_mode)
    memo = spec.memo
    hit = memo.get(key) if memo is not None else None
    if hit is None:
        plan = plan_response(
            spec,
            request_method=request_method,
            request_version=request_version,
            request_keep_alive=request_keep_alive,
            flags=flags,
            final=final,
            entity_length=entity_length,
        )
        head = render_head(spec, plan, date=_DATE_MARK, server_mode=server_mode)
        before, _mark, after = head.partition(_DATE_MARK)
        auto = plan.auto_content_length is not None
        if auto:
            after = after[: after.rindex(b"Content-Length: ")]
        hit = (before, after, auto, plan.close, plan.chunked)
        memo = spec.memo
        if memo is not None and len(memo) < _HEAD_MEMO_LIMIT:
            memo[key] = hit
    before, after, auto, close, chunked = hit
    if auto:
        return b"%s%s%sContent-Length: %d\r\n\r\n" % (before, date, after, entity_length or 0), close, chunked
    return before + date + after, close, chunked


_DATE_MARK = b"\x00date\x00"  # never a valid header byte, so it cannot occur elsewhere in a head


def _render_prefix(spec: ResponseSpec, server_mode: int) -> bytes:
    """Status line, known headers and unknown headers: everything of the head before `Date`."""
    known = spec.known
    unknown = spec.unknown
    for name, _value in unknown:
        if len(name) == 6 and name.lower() == b"server":
            known, unknown = _server_as_known(known, unknown)
            break
    status = spec.status
    reason = spec.reason
    line = _STATUS_LINES.get((status, reason))
    if line is None:
        prefix = _STATUS_PREFIX[status] if 0 <= status < 1000 else b"HTTP/1.1 %d " % status
        line = prefix + reason + CRLF
    parts = [line]
    append = parts.append
    server_pending = server_mode != 2
    if known:
        items = sorted(known.items()) if len(known) > 1 else known.items()
        for header_id, values in items:
            if header_id == _ID_DATE:
                continue
            if header_id >= _ID_SERVER:
                if header_id == _ID_SERVER:
                    # one Server line, whatever the number of values (decision 0013)
                    present = [v for v in values if v]
                    if present:
                        value = b" ".join(present)
                        append(b"Server: " + value + (_SERVER_APPEND if server_pending else b"") + CRLF)
                    elif server_pending:
                        append(_DEFAULT_SERVER_LINE)
                    server_pending = False
                    continue
                if server_pending:
                    append(_DEFAULT_SERVER_LINE)
                    server_pending = False
            name_prefix = _KNOWN_PREFIX[header_id]
            for value in values:
                if value:
                    append(name_prefix + value + CRLF)
    if server_pending:
        append(_DEFAULT_SERVER_LINE)
    for name, value in unknown:
        if len(name) == 4 and name.lower() == b"date":
            continue
        append(name + b": " + value + CRLF)
    return b"".join(parts)


def _server_as_known(
    known: dict[int, list[bytes]], unknown: list[tuple[bytes, bytes]]
) -> tuple[dict[int, list[bytes]], list[tuple[bytes, bytes]]]:
    """An application's `Server` given as an unknown header is its Server header (names are case-insensitive,
    spec §3.1): its values join the known Server values, after them, and follow their rules (empty values are
    absent; one line, the suffix after the last value; no default beside them), so the wire never carries a
    second Server line (docs/decisions/0013). Returns new containers; the record is not changed."""
    servers = list(known.get(_ID_SERVER, ()))
    rest: list[tuple[bytes, bytes]] = []
    for name, value in unknown:
        if len(name) == 6 and name.lower() == b"server":
            servers.append(value)
        else:
            rest.append((name, value))
    merged = dict(known)
    merged[_ID_SERVER] = servers
    return merged, rest


# --- chunked framing and trailers -------------------------------------------------------------------------------


def chunk_frame(data_len: int) -> bytes:
    """The chunk-size line that precedes `data_len` bytes of chunk data (follow the data with CHUNK_END)."""
    return b"%x\r\n" % data_len


def validate_trailers(trailers: list[tuple[bytes, bytes]]) -> int:
    """Check an HttpDataChunkTrailers chunk; NO_ERROR or ERROR_INVALID_PARAMETER.

    Names must be tokens, values free of CR/LF/NUL, and no field may be one that controls framing, routing,
    authentication or caching (Content-Length, Transfer-Encoding, Trailer, Host, Authorization, Set-Cookie, ...;
    RFC 9110 §6.5.1) — such a trailer is rejected rather than silently dropped so the app learns of it.
    """
    if not isinstance(trailers, list):
        return Win32Error.ERROR_INVALID_PARAMETER
    for item in trailers:
        if not isinstance(item, tuple) or len(item) != 2:
            return Win32Error.ERROR_INVALID_PARAMETER
        name, value = item
        if not isinstance(name, bytes) or _TOKEN.fullmatch(name) is None:
            return Win32Error.ERROR_INVALID_PARAMETER
        if name.lower() in _FORBIDDEN_TRAILERS:
            return Win32Error.ERROR_INVALID_PARAMETER
        if not isinstance(value, bytes) or _BAD_VALUE.search(value) is not None:
            return Win32Error.ERROR_INVALID_PARAMETER
    return Win32Error.NO_ERROR


def render_trailers(trailers: list[tuple[bytes, bytes]]) -> bytes:
    """The last-chunk with a trailer section: `0\\r\\nName: value\\r\\n...\\r\\n`.

    Used when the app ends a chunked HTTP/1.1 response with a Trailers data chunk (it must be the last chunk of
    the final send): the Trailers chunk then takes the place of the `0\\r\\n\\r\\n` the app would otherwise write
    itself. Decision: on a HTTP/1.1 response that is not chunked (Content-Length or close-delimited) a trailer
    section cannot be expressed, and the driver drops the Trailers chunk silently (NO_ERROR) rather than failing
    the send: HTTP.sys documents response trailers for HTTP/2 only, and apps written for it (ASP.NET's
    SupportsTrailers) may not check the protocol first [INF]. Validate with validate_trailers before rendering.
    """
    if not trailers:
        return LAST_CHUNK
    parts = [b"0\r\n"]
    for name, value in trailers:
        parts.append(name + b": " + value + CRLF)
    parts.append(CRLF)
    return b"".join(parts)
