"""The hostile-request corpus: raw requests and what the server must do with each, as data.

Responsibility: the cases only — bytes, the expected outcome and where each case comes from. Built in our own
words from RFC 9112 / RFC 9110, reliability.md §1-§3 (HTTP.sys CVE triggers, smuggling research: CL.TE, TE.CL,
TE.TE obfuscation, CL.0, chunk-line "funky chunks", h2c upgrades) and the kinds of inputs strict parsers test.
It must not send anything: tests/hostile/test_corpus.py runs every case in-process and on the wire, whole and
split byte by byte.

Outcomes (exactly one per case):
* `rejected(status)`: the driver answers with its own (canned) response of that status and closes (FIN); the
  application never completes a request from it. `reason` is the HTTPERR reason logged.
* `accepted(Seen...)`: the application reads exactly these requests, bodies complete, in order, and its answers
  come back; afterwards the connection stays open (checked with a follow-up request) unless `keep_alive=False`.
* `timed_out`: no response; a driver timer (HeaderWait or EntityBody) resets the connection.
A case may combine accepted requests with a final rejection or timeout (`after=`).

The path `/smuggled` is a canary: no case lets a request for it reach the application.
"""

from __future__ import annotations

from dataclasses import dataclass

CRLF = b"\r\n"
HOST = b"Host: a\r\n"
RANGE_ENTITY = bytes(range(100))  # what the range application sends (with PROCESS_RANGES) for /range paths
SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"


@dataclass(frozen=True)
class Seen:
    """A request as the application must see it, and the status its answer carries on the wire."""

    method: bytes
    target: bytes
    body: bytes = b""
    status: int = 200
    content_range: bytes | None = None


@dataclass(frozen=True)
class Case:
    name: str
    raw: bytes
    ref: str
    delivered: tuple[Seen, ...] = ()
    status: int | None = None  # the driver's own response after the delivered ones (then FIN)
    reason: str | None = None  # HTTPERR reason of that response or of the reset
    reset: bool = False  # a timer resets the connection after the delivered ones, with no response
    keep_alive: bool = False  # the connection stays open after the answers

    @property
    def responses(self) -> int:
        """Final responses the client must receive."""
        return len(self.delivered) + (1 if self.status is not None else 0)


def rejected(name: str, status: int, reason: str, raw: bytes, ref: str, after: tuple[Seen, ...] = ()) -> Case:
    return Case(name, raw, ref, delivered=after, status=status, reason=reason)


def accepted(name: str, raw: bytes, *seen: Seen, ref: str, keep_alive: bool = True) -> Case:
    return Case(name, raw, ref, delivered=seen, keep_alive=keep_alive)


def timed_out(name: str, reason: str, raw: bytes, ref: str, after: tuple[Seen, ...] = ()) -> Case:
    return Case(name, raw, ref, delivered=after, reason=reason, reset=True)


def post(headers: bytes, body: bytes = b"", target: bytes = b"/", version: bytes = b"1.1") -> bytes:
    return b"POST " + target + b" HTTP/" + version + CRLF + headers + CRLF + body


def get(headers: bytes = HOST, target: bytes = b"/", version: bytes = b"1.1") -> bytes:
    return b"GET " + target + b" HTTP/" + version + CRLF + headers + CRLF


CHUNKED = HOST + b"Transfer-Encoding: chunked\r\n"
ABC_CHUNKED = b"3\r\nabc\r\n0\r\n\r\n"
GET_ROOT = Seen(b"GET", b"/")
POST_ABC = Seen(b"POST", b"/", b"abc")
POST_EMPTY = Seen(b"POST", b"/")

CASES: list[Case] = [
    # ------------------------------------------------------------------ baseline
    accepted("plain_get", get(), GET_ROOT, ref="RFC 9112 §3"),
    accepted("chunked_post", post(CHUNKED, ABC_CHUNKED), POST_ABC, ref="RFC 9112 §7.1"),
    accepted(
        "content_length_post", post(HOST + b"Content-Length: 3\r\n", b"abc"), POST_ABC, ref="RFC 9112 §6.2"
    ),
    # ------------------------------------------------------------------ Content-Length with Transfer-Encoding
    rejected(
        "cl_te_smuggle",
        400,
        "BadRequest",
        post(HOST + b"Content-Length: 6\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n" + SMUGGLED),
        ref="RFC 9112 §6.1 (reject and close); Kettle 2019 CL.TE",
    ),
    rejected(
        "te_cl_smuggle",
        400,
        "BadRequest",
        post(
            HOST + b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n",
            b"%x\r\n" % len(SMUGGLED) + SMUGGLED + b"\r\n0\r\n\r\n",
        ),
        ref="RFC 9112 §6.1; Kettle 2019 TE.CL",
    ),
    rejected(
        "te_chunked_with_cl_zero",
        400,
        "BadRequest",
        post(HOST + b"Transfer-Encoding: chunked\r\nContent-Length: 0\r\n", ABC_CHUNKED),
        ref="RFC 9112 §6.1",
    ),
    rejected(
        "cl_te_http10",
        400,
        "BadRequest",
        post(b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n", version=b"1.0"),
        ref="RFC 9112 §6.1 (HTTP/1.0 with Transfer-Encoding is faulty framing)",
    ),
    accepted(
        "te_http10_keep_alive_closes",
        post(
            b"Connection: keep-alive\r\nTransfer-Encoding: chunked\r\n",
            ABC_CHUNKED + SMUGGLED,
            version=b"1.0",
        ),
        POST_ABC,
        ref="RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding: close after processing",
        keep_alive=False,
    ),
    accepted(
        "te_underscore_name_is_not_framing",
        post(HOST + b"Transfer_Encoding: chunked\r\nContent-Length: 5\r\n", b"0\r\n\r\n"),
        Seen(b"POST", b"/", b"0\r\n\r\n"),
        ref="reliability §3.2 (underscore/dash collision): only Transfer-Encoding frames",
    ),
    # ------------------------------------------------------------------ duplicate or malformed Content-Length
    rejected(
        "cl_duplicate_identical",
        400,
        "BadRequest",
        post(HOST + b"Content-Length: 3\r\nContent-Length: 3\r\n", b"abc"),
        ref="spec §5.2 (two Content-Length headers => 400)",
    ),
    rejected(
        "cl_duplicate_different",
        400,
        "BadRequest",
        post(HOST + b"Content-Length: 3\r\nContent-Length: 40\r\n", b"abc" + SMUGGLED),
        ref="RFC 9112 §6.3 item 5",
    ),
    rejected(
        "cl_list", 400, "BadRequest", post(HOST + b"Content-Length: 3, 3\r\n", b"abc"), ref="RFC 9110 §8.6"
    ),
    rejected(
        "cl_plus_sign",
        400,
        "BadRequest",
        post(HOST + b"Content-Length: +3\r\n", b"abc"),
        ref="reliability §3.2 int()",
    ),
    rejected(
        "cl_minus_sign", 400, "BadRequest", post(HOST + b"Content-Length: -3\r\n", b"abc"), ref="spec §5.2"
    ),
    rejected(
        "cl_hex",
        400,
        "BadRequest",
        post(HOST + b"Content-Length: 0x3\r\n", b"abc"),
        ref="RFC 9110 §8.6 1*DIGIT",
    ),
    rejected(
        "cl_inner_space",
        400,
        "BadRequest",
        post(HOST + b"Content-Length: 1 2\r\n", b"abc"),
        ref="RFC 9110 §8.6",
    ),
    rejected(
        "cl_underscore",
        400,
        "BadRequest",
        post(HOST + b"Content-Length: 1_0\r\n", b"abc"),
        ref="reliability §3.2 int()",
    ),
    rejected("cl_empty", 400, "BadRequest", post(HOST + b"Content-Length:\r\n", b"abc"), ref="RFC 9110 §8.6"),
    rejected(
        "cl_fullwidth_digit",
        400,
        "BadRequest",
        post(HOST + b"Content-Length: \xef\xbc\x93\r\n", b"abc"),
        ref="reliability §3.2 (non-ASCII digits)",
    ),
    rejected(
        "cl_vertical_tab",
        400,
        "BadRequest",
        post(HOST + b"Content-Length: 3\x0b\r\n", b"abc"),
        ref="RFC 9110 §5.5",
    ),
    rejected(
        "cl_2_pow_64",
        400,
        "BadRequest",
        post(HOST + b"Content-Length: 18446744073709551616\r\n", b"abc"),
        ref="RFC 9110 §8.6 (huge numerals must not overflow)",
    ),
    rejected(
        "cl_4301_digits",
        400,
        "BadRequest",
        post(HOST + b"Content-Length: " + b"9" * 4301 + CRLF, b"abc"),
        ref="reliability §3.2 (int() digit limit)",
    ),
    accepted(
        "cl_leading_zeros",
        post(HOST + b"Content-Length: 0003\r\n", b"abc"),
        POST_ABC,
        ref="RFC 9110 §8.6 1*DIGIT",
    ),
    accepted(
        "cl_trailing_whitespace",
        post(HOST + b"Content-Length: 3 \r\n", b"abc"),
        POST_ABC,
        ref="RFC 9110 §5.5 OWS",
    ),
    accepted(
        "cl_frames_the_body_then_a_pipelined_request",
        post(HOST + b"Content-Length: 3\r\n", b"abcGET /second HTTP/1.1\r\nHost: a\r\n\r\n"),
        POST_ABC,
        Seen(b"GET", b"/second"),
        ref="RFC 9112 §6.3",
    ),
    accepted(
        "get_with_body_cl0_desync",
        b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % len(SMUGGLED) + SMUGGLED,
        Seen(b"GET", b"/", SMUGGLED),
        ref="Kettle 2022 CL.0: a GET body is framed by Content-Length, never parsed as a request",
    ),
    accepted(
        "options_with_chunked_body",
        b"OPTIONS / HTTP/1.1\r\n" + CHUNKED + CRLF + ABC_CHUNKED,
        Seen(b"OPTIONS", b"/", b"abc"),
        ref="reliability §3.1 item 9",
    ),
    timed_out(
        "cl_longer_than_body",
        "Timer_EntityBody",
        post(HOST + b"Content-Length: 10\r\n", b"abc"),
        ref="HTTP.sys EntityBody timer (reliability §2.2)",
    ),
    # ------------------------------------------------------------------ obfuscated Transfer-Encoding (TE.TE)
    rejected(
        "te_space_before_colon",
        400,
        "Header",
        post(HOST + b"Transfer-Encoding : chunked\r\n", ABC_CHUNKED),
        ref="RFC 9112 §5.1 (MUST 400)",
    ),
    rejected(
        "te_tab_before_colon",
        400,
        "Header",
        post(HOST + b"Transfer-Encoding\t: chunked\r\n", ABC_CHUNKED),
        ref="RFC 9112 §5.1",
    ),
    accepted(
        "te_trailing_space",
        post(HOST + b"Transfer-Encoding: chunked \r\n", ABC_CHUNKED),
        POST_ABC,
        ref="RFC 9110 §5.5 (trailing OWS is not part of the value)",
    ),
    rejected(
        "te_trailing_tab",
        501,
        "N/I",
        post(HOST + b"Transfer-Encoding: chunked\t\r\n", ABC_CHUNKED),
        ref="smuggler TE mutations (docs/security.md: llhttp refuses a tab after the coding)",
    ),
    rejected(
        "te_xchunked",
        501,
        "N/I",
        post(HOST + b"Transfer-Encoding: xchunked\r\n", ABC_CHUNKED),
        ref="smuggler",
    ),
    rejected(
        "te_chunked_then_identity",
        501,
        "N/I",
        post(HOST + b"Transfer-Encoding: chunked, identity\r\n", ABC_CHUNKED),
        ref="RFC 9112 §6.1 (chunked must be final)",
    ),
    rejected(
        "te_identity_then_chunked",
        501,
        "N/I",
        post(HOST + b"Transfer-Encoding: identity, chunked\r\n", ABC_CHUNKED),
        ref="spec §5.5 (other codings => 501)",
    ),
    rejected(
        "te_header_folding",
        400,
        "Header",
        post(HOST + b"Transfer-Encoding:\r\n chunked\r\n", ABC_CHUNKED),
        ref="RFC 9112 §5.2 obs-fold",
    ),
    rejected(
        "te_chunked_twice",
        501,
        "N/I",
        post(HOST + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", ABC_CHUNKED),
        ref="spec §5.2",
    ),
    rejected(
        "te_chunked_trailing_comma",
        501,
        "N/I",
        post(HOST + b"Transfer-Encoding: chunked,\r\n", ABC_CHUNKED),
        ref="smuggler",
    ),
    rejected(
        "te_quoted", 501, "N/I", post(HOST + b'Transfer-Encoding: "chunked"\r\n', ABC_CHUNKED), ref="smuggler"
    ),
    rejected(
        "te_nbsp_prefix",
        501,
        "N/I",
        post(HOST + b"Transfer-Encoding: \xa0chunked\r\n", ABC_CHUNKED),
        ref="reliability §3.2 (str.strip and \\xa0)",
    ),
    rejected(
        "te_vertical_tab",
        400,
        "Header",
        post(HOST + b"Transfer-Encoding:\x0bchunked\r\n", ABC_CHUNKED),
        ref="RFC 9110 §5.5",
    ),
    rejected(
        "te_empty", 501, "N/I", post(HOST + b"Transfer-Encoding:\r\n", ABC_CHUNKED), ref="RFC 9112 §6.1"
    ),
    accepted(
        "te_upper_case_value",
        post(HOST + b"Transfer-Encoding: CHUNKED\r\n", ABC_CHUNKED),
        POST_ABC,
        ref="RFC 9112 §7 (coding names are case-insensitive)",
    ),
    accepted(
        "te_lower_case_name",
        post(HOST + b"transfer-encoding: chunked\r\n", ABC_CHUNKED),
        POST_ABC,
        ref="RFC 9110 §5.1",
    ),
    # ------------------------------------------------------------------ bare CR, bare LF
    rejected(
        "bare_cr_ends_request_line",
        400,
        "BadRequest",
        b"GET / HTTP/1.1\rHost: a\r\n\r\n",
        ref="RFC 9112 §2.2",
    ),
    rejected("bare_cr_in_header_value", 400, "BadRequest", get(HOST + b"X-A: a\rb\r\n"), ref="RFC 9112 §2.2"),
    rejected("bare_cr_ends_header_line", 400, "BadRequest", get(HOST + b"X-A: b\r\r\n"), ref="RFC 9112 §2.2"),
    rejected("bare_cr_in_target", 400, "URL", b"GET /\r HTTP/1.1\r\nHost: a\r\n\r\n", ref="RFC 9112 §3.2"),
    accepted(
        "bare_lf_head",
        b"GET / HTTP/1.1\nHost: a\nX-A: 1\n\n",
        GET_ROOT,
        ref="spec §5.5 (HTTP.sys accepts LF)",
    ),
    accepted(
        "bare_lf_mixed_head",
        b"GET / HTTP/1.1\r\nHost: a\nX-A: 1\r\n\n",
        GET_ROOT,
        ref="RFC 9112 §2.2 (MAY accept LF)",
    ),
    rejected(
        "bare_lf_after_chunk_size",
        400,
        "BadRequest",
        post(CHUNKED, b"3\nabc\r\n0\r\n\r\n"),
        ref="Go CVE-2025-22871 (chunk lines need CRLF)",
    ),
    rejected(
        "bare_lf_after_chunk_data",
        400,
        "BadRequest",
        post(CHUNKED, b"3\r\nabc\n0\r\n\r\n"),
        ref="reliability §2.5 (always strict)",
    ),
    rejected(
        "bare_cr_after_chunk_data",
        400,
        "BadRequest",
        post(CHUNKED, b"3\r\nabc\r0\r\n\r\n"),
        ref="funky chunks",
    ),
    rejected(
        "bare_lf_after_last_chunk",
        400,
        "BadRequest",
        post(CHUNKED, b"3\r\nabc\r\n0\n\r\n"),
        ref="funky chunks",
    ),
    rejected(
        "bare_lf_final_line",
        400,
        "BadRequest",
        post(CHUNKED, b"3\r\nabc\r\n0\r\n\n"),
        ref="funky chunks TERM.TRAIL",
    ),
    rejected(
        "lf_in_chunk_extension",
        400,
        "BadRequest",
        post(CHUNKED, b"3;x\nabc\r\n0\r\n\r\n"),
        ref="Kestrel CVE-2025-55315 (TERM.EXT)",
    ),
    rejected(
        "cr_in_chunk_extension",
        400,
        "BadRequest",
        post(CHUNKED, b"3;x\rabc\r\n0\r\n\r\n"),
        ref="funky chunks EXT.TERM",
    ),
    rejected(
        "chunk_data_overread",
        400,
        "BadRequest",
        post(CHUNKED, b"3\r\nabcXX0\r\n\r\n" + SMUGGLED),
        ref="h11 CVE-2025-43859 (two bytes after chunk data must be CRLF)",
    ),
    # ------------------------------------------------------------------ NUL and control bytes
    rejected("nul_in_method", 400, "BadRequest", b"G\x00ET / HTTP/1.1\r\nHost: a\r\n\r\n", ref="spec §5.2"),
    rejected("nul_in_target", 400, "URL", b"GET /\x00 HTTP/1.1\r\nHost: a\r\n\r\n", ref="spec §5.5"),
    rejected(
        "nul_in_header_name", 400, "BadRequest", get(HOST + b"X\x00A: b\r\n"), ref="spec §5.2 (NUL in name)"
    ),
    rejected(
        "nul_in_header_value",
        400,
        "BadRequest",
        get(HOST + b"X-A: b\x00c\r\n"),
        ref="spec §5.2 (NUL in value)",
    ),
    rejected(
        "del_in_header_value",
        400,
        "Header",
        get(HOST + b"X-A: \x7f\r\n"),
        ref="spec §5.5 (control characters)",
    ),
    rejected("escape_in_header_value", 400, "Header", get(HOST + b"X-A: \x1b[31m\r\n"), ref="spec §5.5"),
    rejected(
        "form_feed_in_header_name", 400, "Header", get(HOST + b"\x0cX: b\r\n"), ref="RFC 9110 §5.1 token"
    ),
    rejected("control_in_target", 400, "URL", b"GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n", ref="spec §5.5"),
    rejected("tab_in_target", 400, "URL", b"GET /\ta HTTP/1.1\r\nHost: a\r\n\r\n", ref="RFC 9112 §3.2"),
    rejected("del_in_query", 400, "URL", b"GET /?q=\x7f HTTP/1.1\r\nHost: a\r\n\r\n", ref="spec §5.5"),
    rejected("escaped_nul_in_path", 400, "URL", get(target=b"/%00"), ref="spec §5.5 AllowRestrictedChars=0"),
    rejected("escaped_crlf_in_path", 400, "URL", get(target=b"/a%0d%0aX:"), ref="spec §5.5"),
    accepted(
        "obs_text_in_header_value", get(HOST + b"X-A: \x80\xff\r\n"), GET_ROOT, ref="RFC 9110 §5.5 obs-text"
    ),
    accepted(
        "nul_in_chunk_data",
        post(CHUNKED, b"3\r\na\x00c\r\n0\r\n\r\n"),
        Seen(b"POST", b"/", b"a\x00c"),
        ref="binary bodies",
    ),
    # ------------------------------------------------------------------ obs-fold and whitespace
    rejected("obs_fold_space", 400, "BadRequest", get(HOST + b"X-A: b\r\n  folded\r\n"), ref="RFC 9112 §5.2"),
    rejected("obs_fold_tab", 400, "BadRequest", get(HOST + b"X-A: b\r\n\tfolded\r\n"), ref="RFC 9112 §5.2"),
    rejected("space_before_colon", 400, "Header", get(HOST + b"X-A : b\r\n"), ref="RFC 9112 §5.1"),
    rejected("host_tab_before_colon", 400, "Header", get(HOST + b"Host\t: b\r\n"), ref="RFC 9112 §5.1"),
    rejected("header_without_colon", 400, "BadRequest", get(HOST + b"nocolon\r\n"), ref="spec §5.2"),
    rejected("header_name_empty", 400, "BadRequest", get(HOST + b": v\r\n"), ref="spec §5.2"),
    accepted(
        "whitespace_line_after_request_line",
        b"GET / HTTP/1.1\r\n X-Smuggled: 1\r\nHost: a\r\n\r\n",
        GET_ROOT,
        ref="RFC 9112 §2.2 (discard, never merge); spec §5.5",
    ),
    accepted(
        "empty_lines_before_request", b"\r\n\r\n" + get(), GET_ROOT, ref="RFC 9112 §2.2 (ignore leading CRLF)"
    ),
    rejected(
        "space_before_method", 400, "BadRequest", b" GET / HTTP/1.1\r\nHost: a\r\n\r\n", ref="RFC 9112 §3"
    ),
    rejected("tab_separators", 400, "BadRequest", b"GET\t/\tHTTP/1.1\r\nHost: a\r\n\r\n", ref="RFC 9112 §3"),
    rejected(
        "space_after_version", 400, "BadRequest", b"GET / HTTP/1.1 \r\nHost: a\r\n\r\n", ref="RFC 9112 §3"
    ),
    rejected(
        "space_inside_target", 400, "BadRequest", b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", ref="RFC 9112 §3"
    ),
    # ------------------------------------------------------------------ chunk sizes, extensions, trailers
    rejected(
        "chunk_size_overflow",
        400,
        "BadRequest",
        post(CHUNKED, b"ffffffffffffffffff\r\nabc\r\n0\r\n\r\n"),
        ref="RFC 9112 §7.1 (huge chunk sizes must not overflow)",
    ),
    timed_out(
        "chunk_size_2_pow_64_minus_1",
        "Timer_EntityBody",
        post(CHUNKED, b"ffffffffffffffff\r\nabc"),
        ref="RFC 9112 §7.1 (a huge chunk is only a long wait: EntityBody)",
    ),
    accepted(
        "chunk_size_leading_zeros",
        post(CHUNKED, b"0003\r\nabc\r\n0\r\n\r\n"),
        POST_ABC,
        ref="RFC 9112 §7.1 1*HEXDIG",
    ),
    rejected(
        "chunk_size_plus", 400, "BadRequest", post(CHUNKED, b"+3\r\nabc\r\n0\r\n\r\n"), ref="reliability §3.2"
    ),
    rejected(
        "chunk_size_0x", 400, "BadRequest", post(CHUNKED, b"0x3\r\nabc\r\n0\r\n\r\n"), ref="reliability §3.2"
    ),
    rejected(
        "chunk_size_underscore",
        400,
        "BadRequest",
        post(CHUNKED, b"1_0\r\nabc\r\n0\r\n\r\n"),
        ref="reliability §3.2",
    ),
    rejected(
        "chunk_size_trailing_space",
        400,
        "BadRequest",
        post(CHUNKED, b"3 \r\nabc\r\n0\r\n\r\n"),
        ref="RFC 9112 §7.1",
    ),
    rejected(
        "chunk_size_space_before_extension",
        400,
        "BadRequest",
        post(CHUNKED, b"3 ;a=b\r\nabc\r\n0\r\n\r\n"),
        ref="RFC 9112 §7.1.1 BWS (docs/security.md: refused, strict chunk lines)",
    ),
    accepted(
        "chunk_extension_quoted",
        post(CHUNKED, b'3;a="b;c"\r\nabc\r\n0\r\n\r\n'),
        POST_ABC,
        ref="RFC 9112 §7.1.1 (extensions ignored)",
    ),
    rejected(
        "chunk_extension_quoted_crlf",
        400,
        "BadRequest",
        post(CHUNKED, b'3;a="x\r\ny"\r\nabc\r\n0\r\n\r\n'),
        ref="funky chunks (quoted-string may not hold CR LF)",
    ),
    accepted(
        "chunk_extension_long",
        post(CHUNKED, b"3;" + b"x" * 10000 + b"\r\nabc\r\n0\r\n\r\n"),
        POST_ABC,
        ref="RFC 9112 §7.1.1 (docs/security.md: time-bounded by EntityBody, never buffered)",
    ),
    accepted(
        "trailer_dropped",
        post(CHUNKED, b"3\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\n"),
        POST_ABC,
        ref="RFC 9112 §7.1.2; CVE-2022-21907 area",
    ),
    accepted(
        "trailer_host_never_merged",
        post(CHUNKED, b"3\r\nabc\r\n0\r\nHost: evil\r\nAuthorization: x\r\n\r\n"),
        POST_ABC,
        ref="reliability §1.3 (trailers never change routing or auth)",
    ),
    rejected(
        "trailer_content_length",
        400,
        "BadRequest",
        post(CHUNKED, b"3\r\nabc\r\n0\r\nContent-Length: 5\r\n\r\n"),
        ref="reliability §1.3 (no framing fields in trailers)",
    ),
    rejected(
        "trailer_obs_fold",
        400,
        "BadRequest",
        post(CHUNKED, b"3\r\nabc\r\n0\r\nX: a\r\n b\r\n\r\n"),
        ref="RFC 9112 §5.2",
    ),
    rejected(
        "trailer_too_long",
        400,
        "RequestLength",
        post(
            CHUNKED,
            b"3\r\nabc\r\n0\r\n" + b"".join(b"X-T%d: %s\r\n" % (i, b"t" * 100) for i in range(200)) + CRLF,
        ),
        ref="reliability §2.5 (MaxRequestBytes budget for trailers)",
    ),
    accepted(
        "chunked_then_pipelined_request",
        post(CHUNKED, ABC_CHUNKED + b"GET /second HTTP/1.1\r\nHost: a\r\n\r\n"),
        POST_ABC,
        Seen(b"GET", b"/second"),
        ref="RFC 9112 §9.3 (pipelining)",
    ),
    # ------------------------------------------------------------------ absolute-form and Host
    accepted(
        "absolute_form_overrides_host",
        b"GET http://a/abs HTTP/1.1\r\nHost: other\r\n\r\n",
        Seen(b"GET", b"http://a/abs"),
        ref="RFC 9112 §3.2.2",
    ),
    rejected(
        "absolute_form_ftp", 400, "URL", b"GET ftp://a/x HTTP/1.1\r\nHost: a\r\n\r\n", ref="canonical.py"
    ),
    rejected(
        "absolute_form_userinfo",
        400,
        "URL",
        b"GET http://u@a/x HTTP/1.1\r\nHost: a\r\n\r\n",
        ref="RFC 9110 §4.2.4",
    ),
    rejected("host_missing", 400, "BadRequest", get(b""), ref="RFC 9112 §3.2 (MUST 400)"),
    rejected("host_empty", 400, "BadRequest", get(b"Host:\r\n"), ref="spec §5.2"),
    rejected("host_twice", 400, "BadRequest", get(b"Host: a\r\nHost: b\r\n"), ref="RFC 9112 §3.2"),
    rejected("host_with_space", 400, "Hostname", get(b"Host: a b\r\n"), ref="spec §5.2"),
    rejected("host_with_userinfo", 400, "Hostname", get(b"Host: a@b\r\n"), ref="RFC 9110 §7.2"),
    rejected("host_port_not_numeric", 400, "Hostname", get(b"Host: a:b\r\n"), ref="RFC 9110 §7.2"),
    rejected("host_port_too_large", 400, "Hostname", get(b"Host: a:99999\r\n"), ref="RFC 9110 §7.2"),
    rejected("host_ipv6_unclosed", 400, "Hostname", get(b"Host: [::1\r\n"), ref="RFC 3986 §3.2.2"),
    rejected("host_with_slash", 400, "Hostname", get(b"Host: a/b\r\n"), ref="RFC 9110 §7.2"),
    rejected("host_non_ascii", 400, "Hostname", get(b"Host: \xc3\xa9\r\n"), ref="spec §5.5"),
    accepted(
        "host_trailing_space", get(b"Host: a \r\n"), GET_ROOT, ref="RFC 9110 §5.5; spec §5.5 (values trimmed)"
    ),
    accepted(
        "http10_without_host",
        get(b"", version=b"1.0"),
        GET_ROOT,
        ref="RFC 9112 §9.3 (1.0 closes)",
        keep_alive=False,
    ),
    rejected(
        "connect_authority_form", 400, "URL", b"CONNECT a:80 HTTP/1.1\r\nHost: a\r\n\r\n", ref="canonical.py"
    ),
    accepted(
        "options_asterisk",
        b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
        Seen(b"OPTIONS", b"*"),
        ref="RFC 9112 §3.2.4",
    ),
    # ------------------------------------------------------------------ HTTP/0.9 and versions
    timed_out(
        "http09_request",
        "Timer_HeaderWait",
        b"GET /\r\n",
        ref="HTTP.sys has no HTTP/0.9: no answer, HeaderWait",
    ),
    rejected(
        "http09_request_with_blank_line", 400, "BadRequest", b"GET /\r\n\r\n", ref="decision 0002 item 3"
    ),
    rejected("version_0_9", 400, "BadRequest", get(version=b"0.9"), ref="spec §5.2"),
    rejected("version_lower_case", 400, "BadRequest", b"GET / http/1.1\r\nHost: a\r\n\r\n", ref="spec §5.2"),
    rejected("version_three_parts", 400, "BadRequest", get(version=b"1.1.1"), ref="spec §5.2"),
    rejected("version_two_digit_minor", 400, "BadRequest", get(version=b"1.10"), ref="RFC 9112 §2.3"),
    rejected("version_no_dot", 400, "BadRequest", get(version=b"11"), ref="RFC 9112 §2.3"),
    rejected("version_2_0", 505, "Version_N/S", get(version=b"2.0"), ref="spec §5.2"),
    rejected("version_9_9", 505, "Version_N/S", get(version=b"9.9"), ref="spec §5.2"),
    accepted("version_1_2", get(version=b"1.2"), GET_ROOT, ref="decision 0002 item 3 (served as 1.x)"),
    # ------------------------------------------------------------------ oversized heads
    rejected(
        "head_too_long",
        400,
        "RequestLength",
        get(HOST + b"".join(b"X-%d: %s\r\n" % (i, b"v" * 100) for i in range(200))),
        ref="MaxRequestBytes 16,384 (reliability §2.1)",
    ),
    rejected(
        "header_bomb_tiny_fields",
        400,
        "RequestLength",
        get(HOST + b"X: 1\r\n" * 3000),
        ref="reliability §4.1 header bombs",
    ),
    rejected(
        "field_too_long",
        400,
        "FieldLength",
        get(HOST + b"X-Big: " + b"v" * 16400 + CRLF),
        ref="MaxFieldLength 16,384",
    ),
    rejected("url_too_long", 414, "URL_Length", get(target=b"/" + b"a" * 16400), ref="spec §5.2"),
    rejected(
        "url_segment_too_long", 400, "URL", get(target=b"/" + b"s" * 261), ref="UrlSegmentMaxLength 260"
    ),
    rejected("url_too_many_segments", 400, "URL", get(target=b"/s" * 256), ref="UrlSegmentMaxCount 255"),
    accepted(
        "head_just_under_the_limit",
        get(HOST + b"".join(b"X-%d: %s\r\n" % (i, b"v" * 100) for i in range(140))),
        GET_ROOT,
        ref="MaxRequestBytes 16,384",
    ),
    rejected(
        "verb_too_long",
        400,
        "Verb",
        b"X" * 300 + b" / HTTP/1.1\r\nHost: a\r\n\r\n",
        ref="decision 0002 item 2",
    ),
    # ------------------------------------------------------------------ HTTP.sys CVE triggers
    accepted(
        "ms15_034_probe",
        get(HOST + b"Range: bytes=0-18446744073709551615\r\n", target=b"/range"),
        Seen(b"GET", b"/range", status=206, content_range=b"bytes 0-99/100"),
        ref="MS15-034 / CVE-2015-1635 (reliability §1.1)",
    ),
    accepted(
        "ms15_034_dos_shape_twice",
        get(HOST + b"Range: bytes=18-18446744073709551615\r\n", target=b"/range") * 2,
        Seen(b"GET", b"/range", status=206, content_range=b"bytes 18-99/100"),
        Seen(b"GET", b"/range", status=206, content_range=b"bytes 18-99/100"),
        ref="MS15-034 DoS variant (sent twice)",
    ),
    accepted(
        "ms15_034_huge_first_pos",
        get(HOST + b"Range: bytes=18446744073709551615-\r\n", target=b"/range"),
        Seen(b"GET", b"/range", status=416, content_range=b"bytes */100"),
        ref="RFC 9110 §14.1.2",
    ),
    accepted(
        "range_thousands_of_digits",
        get(HOST + b"Range: bytes=0-" + b"9" * 5000 + CRLF, target=b"/range"),
        Seen(b"GET", b"/range", status=206, content_range=b"bytes 0-99/100"),
        ref="reliability §1.1 (never int() an unbounded digit string)",
    ),
    accepted(
        "range_apache_killer",
        get(
            HOST + b"Range: bytes=0-," + b",".join(b"5-%d" % i for i in range(6, 1306)) + CRLF,
            target=b"/range",
        ),
        Seen(b"GET", b"/range"),
        ref="CVE-2011-3192 (too many ranges: ignored)",
    ),
    accepted(
        "cve_2021_31166_accept_encoding",
        get(HOST + b"Accept-Encoding: doar-e, ftw, imo, ,\r\n"),
        GET_ROOT,
        ref="CVE-2021-31166 public trigger",
    ),
    accepted(
        "accept_encoding_ten_thousand_empty_elements",
        get(HOST + b"Accept-Encoding: " + b"," * 10000 + CRLF),
        GET_ROOT,
        ref="CVE-2021-31166 class (RFC 9110 §5.6.1 empty list elements)",
    ),
    accepted(
        "accept_encoding_star_list",
        get(HOST + b"Accept-Encoding: " + b"AAAAAAAAAAAAAAAAAAAAAAAAAAA, " * 100 + b"*, ,\r\n"),
        GET_ROOT,
        ref="circulating CVE-2022-21907 'PoC' shape",
    ),
    rejected(
        "accept_encoding_over_field_limit",
        400,
        "FieldLength",
        get(HOST + b"Accept-Encoding: " + b"x, " * 6000 + CRLF),
        ref="CVE-2021-31166 class, MaxFieldLength",
    ),
    # ------------------------------------------------------------------ verbs, upgrades, pipelining
    rejected("verb_lower_case", 400, "Verb", b"get / HTTP/1.1\r\nHost: a\r\n\r\n", ref="spec §5.5"),
    rejected("verb_with_separator", 400, "Verb", b"GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", ref="spec §5.2"),
    accepted(
        "verb_unknown_token", b"XYZZY /u HTTP/1.1\r\nHost: a\r\n\r\n", Seen(b"XYZZY", b"/u"), ref="spec §3.1"
    ),
    rejected("post_without_length", 411, "LengthRequired", post(HOST, b"abc"), ref="spec §5.2"),
    accepted(
        "expect_continue_body_sent_at_once",
        post(HOST + b"Expect: 100-continue\r\nContent-Length: 3\r\n", b"abc"),
        POST_ABC,
        ref="spec §5.10",
    ),
    accepted(
        "h2c_upgrade_refused_then_pipelined",
        get(
            HOST
            + b"Upgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n"
        )
        + b"GET /second HTTP/1.1\r\nHost: a\r\n\r\n",
        GET_ROOT,
        Seen(b"GET", b"/second"),
        ref="reliability §3.1 item 12 (h2c smuggling)",
    ),
    accepted(
        "connection_close_stops_the_pipeline",
        get(HOST + b"Connection: close\r\n") + SMUGGLED,
        GET_ROOT,
        ref="reliability §4.5",
        keep_alive=False,
    ),
    rejected(
        "bad_request_stops_the_pipeline",
        400,
        "Header",
        get(HOST + b"X-A: \x01\r\n") + SMUGGLED,
        ref="reliability §4.5",
    ),
    rejected(
        "valid_then_malformed_in_one_read",
        400,
        "Header",
        get() + get(HOST + b"X-A: \x01\r\n") + SMUGGLED,
        ref="reliability §3.1 item 11",
        after=(GET_ROOT,),
    ),
    timed_out("incomplete_head", "Timer_HeaderWait", b"GET / HTTP/1.1\r\nHost: a\r\n", ref="HeaderWait"),
]

BY_NAME = {case.name: case for case in CASES}
assert len(BY_NAME) == len(CASES), "case names must be unique"
