"""The HTTP/1.1 request parser's refusals: HTTP.sys's answer to a message llhttp refuses, or the re-parse where
HTTP.sys is more lenient than llhttp.

Responsibility: the error paths of `Http11Connection`'s parsing — classifying an llhttp error as the canned
response HTTP.sys sends for that situation (whatever the read boundaries), queueing that rejection in the
pipeline, finding where the failing message started, bounding head lines split across reads, and recovering
what llhttp refuses but HTTP.sys takes (any token as a verb, a bare LF after the request line, whitespace-led
lines after it) by re-parsing the message with a fresh parser. Plain functions taking the connection (decision
0033): the normal parse never calls into this module, so it costs the per-request path nothing. It must not write
to the socket, route or answer: a rejection waits its turn in the pipeline, where the connection hands it to the
driver.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import httptools
from httptools.parser.errors import (
    HttpParserCallbackError,
    HttpParserError,
    HttpParserInvalidMethodError,
    HttpParserInvalidURLError,
    HttpParserUpgrade,
)

from httpsys._core.canned import CannedResponse, RequestRejected
from httpsys._engine.request import Request

if TYPE_CHECKING:
    from httpsys._engine.http11 import Http11Connection

_TCHAR = frozenset(b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
# Verbs HTTP.sys knows (HTTP_VERB); a lower-case spelling of one is "Invalid Verb", any other token is unknown.
_KNOWN_VERBS = frozenset(
    b"OPTIONS GET HEAD POST PUT DELETE TRACE CONNECT TRACK MOVE COPY PROPFIND PROPPATCH MKCOL LOCK UNLOCK "
    b"SEARCH".split()
)
_MAX_VERB = 255
_BARE_LF_ERROR = "Expected CRLF after version"  # llhttp's text for `HTTP/1.1\n` (and for `HTTP/1.1.1`)
_LWS_ERROR = "Unexpected space after start line"
_LINE_SLACK = 512  # a partial head line may exceed MaxFieldLength by this much before the line guard fires


class Rejection:
    """A message the driver answers itself (canned response), waiting its turn in the pipeline."""

    __slots__ = ("kind", "reason")

    def __init__(self, kind: CannedResponse, reason: str | None) -> None:
        self.kind = kind
        self.reason = reason


def _classify_parser_error(exc: HttpParserError, data: bytes) -> CannedResponse:
    """Map an llhttp error to the canned response HTTP.sys sends for that situation (`data`: the failing message
    from its start, so the answer does not depend on how the bytes were split into reads)."""
    if isinstance(exc, HttpParserInvalidURLError):
        return CannedResponse.INVALID_URL
    if isinstance(exc, HttpParserInvalidMethodError):
        return CannedResponse.INVALID_VERB
    text = str(exc).lower()
    if "transfer-encoding" in text and "content-length" not in text:
        return CannedResponse.NOT_IMPLEMENTED
    if "header value char" in text or "header token" in text or "header field" in text:
        if b"\x00" in data:
            return CannedResponse.BAD_REQUEST  # NUL in a header name or value is a generic parse error (§5.2)
        if "header value char" in text:
            return CannedResponse.INVALID_HEADER  # other control characters in a value
        return _bad_header_name(data)
    return CannedResponse.BAD_REQUEST


def _bad_header_name(data: bytes) -> CannedResponse:
    """The answer for the first header line of `data` whose name is not `token ":"` (error path only).

    Only the bytes up to the first byte that ends the name are looked at, so a message cut short right after
    that byte (a client sending byte by byte) gets the same answer as the whole message: a line without a colon,
    with only a colon, or with a CR in its name is a generic parse error; whitespace or a separator in the name is
    "Invalid Header" (spec §5.2).
    """
    for line in data.lstrip(b"\r\n").split(b"\n")[1:]:  # after the request line (whatever its form)
        if not line or line == b"\r":
            continue
        end = 0
        size = len(line)
        while end < size and line[end] in _TCHAR:
            end += 1
        if end == size:
            return CannedResponse.BAD_REQUEST  # the line (so far) has no colon
        stop = line[end]
        if stop == 0x3A:  # ':'
            if end == 0:
                return CannedResponse.BAD_REQUEST  # an empty name
            continue
        if stop == 0x0D:
            return CannedResponse.BAD_REQUEST  # end of line without a colon, or a bare CR
        return CannedResponse.INVALID_HEADER
    return CannedResponse.BAD_REQUEST


def new_parser(protocol: object) -> httptools.HttpRequestParser:
    """An llhttp request parser with HTTP.sys's leniencies: bare LF ends head lines, any d.d version parses
    (HTTP/2.0 and up are answered 505 after the head, not 400)."""
    parser = httptools.HttpRequestParser(protocol)
    parser.set_dangerous_leniencies(lenient_optional_cr_before_lf=True, lenient_version=True)
    return parser


class _BoundaryCounter:
    """Scratch parser protocol that only counts finished messages (used to find a message's start offset)."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0

    def on_message_complete(self) -> None:
        self.count += 1


def _parse_fails(data: bytes) -> bool:
    try:
        new_parser(_BoundaryCounter()).feed_data(data)
    except HttpParserError:
        return True
    except HttpParserUpgrade:
        return False
    return False


def _error_prefix(message: bytes) -> bytes:
    """The shortest prefix of `message` (bytes from a message start) that a fresh parser refuses, or all of it
    when a fresh parser does not refuse it (binary search; error path only)."""
    if not _parse_fails(message):
        return message
    return message[: _smallest_prefix(len(message), lambda size: _parse_fails(message[:size]))]


def _smallest_prefix(size: int, holds: Callable[[int], bool]) -> int:
    """The smallest length in 0..size for which `holds` is true (`holds` is monotonic and true at `size`):
    a galloping search from the start, so the cost follows the answer, not `size` (error paths only)."""
    low, step = 0, 64
    high = min(step, size)
    while high < size and not holds(high):
        low = high + 1
        step *= 2
        high = min(high + step, size)
    while low < high:
        mid = (low + high) // 2
        if holds(mid):
            high = mid
        else:
            low = mid + 1
    return low


CLOSED_PARSER = httptools.HttpRequestParser(_BoundaryCounter())  # stands in for a closed connection's parser


def _completions(data: bytes) -> int:
    counter = _BoundaryCounter()
    parser = new_parser(counter)
    try:
        parser.feed_data(data)
    except (HttpParserError, HttpParserUpgrade):
        pass
    return counter.count


def parse_failed(conn: Http11Connection, exc: HttpParserError | HttpParserUpgrade, data: bytes) -> None:
    """llhttp refused `data` (or one of our callbacks did): upgrade, recover, repair or reject."""
    conn._idle_read = None  # not a plain parse: never remembered for the fast path
    if isinstance(exc, HttpParserUpgrade):
        offset = int(exc.args[0]) if exc.args else len(data)
        conn._hold = [data[offset:]] if offset < len(data) else []
        conn._after_feed()
        return
    if isinstance(exc, HttpParserCallbackError):
        ctx = exc.__context__
        if isinstance(ctx, RequestRejected):
            reject(conn, ctx.kind, ctx.httperr_reason)
        else:
            reject(conn, CannedResponse.BAD_REQUEST, None)
        conn._after_feed()
        return
    if isinstance(exc, HttpParserInvalidMethodError):
        _on_invalid_method(conn, data)
        return
    assert isinstance(exc, HttpParserError)
    text = str(exc)
    if (_BARE_LF_ERROR in text or _LWS_ERROR in text) and _repair_start_line(conn, data):
        return
    reject(conn, _classify_parser_error(exc, _failing_message(conn, data)), None)
    conn._after_feed()


def reject(conn: Http11Connection, kind: CannedResponse, reason: str | None) -> None:
    """Stop parsing; the driver answers this message itself once earlier requests are answered."""
    conn._parse_stopped = True
    conn._in_head = False
    parsing = conn._parsing
    conn._parsing = None
    rejection = Rejection(kind, reason)
    if isinstance(parsing, Request):
        # the failing message had a parsed head (its body was malformed)
        if parsing is conn._draining:  # already answered: nothing more to send, never parse past it
            conn._draining = None
            conn.close_when_flushed()
            return
        if parsing.delivered or parsing.response_started or parsing is conn._dispatched:
            parsing.fail_body()
            if parsing.response_started:
                conn._close_after = True
                return
            # it leaves the pipeline: the driver must forget it now; the driver itself ends this connection
            # (with the canned response), so it is not a client's Connection_Dropped
            conn.reset_by_driver = True
            conn.driver.request_lost(parsing)
            if parsing is conn._dispatched:
                conn._dispatched = None
        try:
            index = conn.pipeline.index(parsing)
        except ValueError:
            conn.pipeline.append(rejection)
        else:
            conn.pipeline[index] = rejection
    else:
        conn.pipeline.append(rejection)


def _message_start(conn: Http11Connection, data: bytes) -> tuple[bytes, int] | None:
    """The bytes kept since the last message boundary plus `data`, and where the failing message starts."""
    kept = conn._since_boundary
    if kept is None:
        return None
    buf = b"".join(kept) + data if kept else data
    target = conn._completed_since
    offset = _smallest_prefix(len(buf), lambda size: _completions(buf[:size]) >= target) if target else 0
    return buf, offset


def _failing_message(conn: Http11Connection, data: bytes) -> bytes:
    """The bytes of the message that failed to parse, from its start to the byte llhttp stopped at (error
    path only): what follows it must not change the answer, since a client sending byte by byte never
    gets to send it."""
    found = _message_start(conn, data)
    if found is None:
        return data
    buf, offset = found
    return _error_prefix(buf[offset:])


def partial_line_too_long(conn: Http11Connection, data: bytes) -> bool:
    """A head or trailer line is still incomplete after this read: httptools keeps it in memory until it ends,
    so bound it. The guard sits `_LINE_SLACK` above MaxFieldLength so it only fires for a line that would
    be refused as too long once complete, whatever the read boundaries (runs only for split heads)."""
    nl = data.rfind(b"\n")
    partial = len(data) - nl - 1 if nl >= 0 else conn._line_partial + len(data)
    limit = conn.settings.max_field_length + _LINE_SLACK
    if partial > limit and conn._began:
        # the message began in this read: do not count the bytes of the messages before it
        found = _message_start(conn, data)
        if found is None:
            partial = 0  # cannot tell where it began: count from the next read on
        else:
            buf, offset = found
            nl = buf.rfind(b"\n", offset)
            partial = len(buf) - max(nl + 1, offset)
    conn._line_partial = partial
    return partial > limit


def _on_invalid_method(conn: Http11Connection, data: bytes) -> None:
    """llhttp knows a fixed verb list; HTTP.sys takes any token. Find the message start and re-parse it."""
    found = _message_start(conn, data)
    if found is None:
        reject(conn, CannedResponse.INVALID_VERB, None)
        conn._after_feed()
        return
    recover_verb(conn, *found)


def recover_verb(conn: Http11Connection, buf: bytes, offset: int) -> None:
    while offset < len(buf) and buf[offset] in (13, 10):
        offset += 1
    rest = buf[offset:]
    space = rest.find(b" ", 0, _MAX_VERB + 1)
    verb = rest[:space] if space >= 0 else rest[: _MAX_VERB + 1]
    kind: CannedResponse | None = None
    # the first byte that is not a token character decides, so the answer does not depend on whether the
    # bytes after it were already received: control or non-ASCII => not a request line; a separator =>
    # "Invalid Verb"
    bad = next((b for b in verb if b not in _TCHAR), None)
    if space == 0 and rest:
        kind = CannedResponse.BAD_REQUEST  # an empty verb
    elif bad is not None:
        kind = CannedResponse.BAD_REQUEST if bad < 0x21 or bad > 0x7E else CannedResponse.INVALID_VERB
    elif space > 0 and verb.upper() in _KNOWN_VERBS:
        kind = CannedResponse.INVALID_VERB  # a lower-case spelling of a verb HTTP.sys numbers
    elif space < 0:
        if len(rest) > _MAX_VERB:
            kind = CannedResponse.INVALID_VERB
        else:  # a token so far: wait for the rest of the verb
            conn._verb_pending = rest
            conn._in_message = True
            conn._in_head = True
            conn._after_feed()
            return
    if kind is not None:
        reject(conn, kind, None)
        conn._after_feed()
        return
    _refeed(conn, b"GET" + rest[space:], verb)


def _repair_start_line(conn: Http11Connection, data: bytes) -> bool:
    """HTTP.sys accepts a bare LF after the request line and whitespace-led lines right after it (spec §5.5);
    llhttp does not. Re-feed the failing message with CRLF and without those lines (error path only)."""
    found = _message_start(conn, data)
    if found is None:
        return False
    return repair(conn, *found)


def repair(conn: Http11Connection, buf: bytes, offset: int) -> bool:
    """`_repair_start_line` for the message starting at `offset` of `buf`."""
    while offset < len(buf) and buf[offset] in (13, 10):
        offset += 1
    end = buf.find(b"\n", offset)
    if end < 0:
        return False
    line = buf[offset:end]
    if line.endswith(b"\r"):
        line = line[:-1]
    if b"\r" in line:
        return False  # a bare CR inside the start line: not the LF leniency
    version = line[-9:]
    if (
        len(version) != 9
        or version[:6] != b" HTTP/"
        or version[7] != 0x2E
        or not (0x30 <= version[6] <= 0x39 and 0x30 <= version[8] <= 0x39)
    ):
        return False  # the version token itself is malformed (e.g. HTTP/1.1.1)
    rest = buf[end + 1 :]
    while rest[:1] in (b" ", b"\t"):  # discard whitespace-led lines (RFC 9112 §2.2), never merge them
        nl = rest.find(b"\n")
        if nl < 0:
            if len(buf) - offset > conn.settings.max_request_bytes + conn.settings.max_field_length:
                return False
            conn._start_pending = buf[offset:]  # the line is not complete yet: wait for its end
            conn._after_feed()
            return True
        rest = rest[nl + 1 :]
    _refeed(conn, line + b"\r\n" + rest, conn._verb_override)
    return True


def _refeed(conn: Http11Connection, data: bytes, verb: bytes | None) -> None:
    """Parse `data` (starting at a message start) with a fresh parser."""
    conn._idle_read = None
    conn._parser = new_parser(conn)
    conn._in_message = False
    conn._in_head = False
    conn._since_boundary = []
    conn._since_len = 0
    conn._completed_since = 0
    conn._verb_override = verb
    conn._refeed_data = data  # parsed by _feed once the current step returned: no stack depth per message
