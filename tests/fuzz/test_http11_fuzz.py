"""Hypothesis fuzzing of the HTTP/1.1 adapter in-process (fake transport, stub driver, no sockets).

Inputs are arbitrary bytes and structured requests built from the pieces hostile inputs are made of (odd verbs,
targets and versions, CR/LF/bare CR line ends, duplicated and obfuscated framing headers, chunked bodies with
odd sizes, extensions and trailers, pipelined messages), then mutated byte by byte. For every input and every way
of cutting it into reads: no exception escapes, every delivered request is well-formed, the bytes written are the
application's answers and at most one canned response, nothing dangles once the timers ran out, and the outcome
does not depend on the read boundaries. `make test` runs a bounded number of examples (HTTPSYS_FUZZ_EXAMPLES,
default 300, derandomized); `make fuzz` runs many more with fresh randomness.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz.invariants import check_adapter, outcome
from hostile.inprocess import byte_pieces
from httpsys._core.settings import DriverSettings

EXAMPLES = int(os.environ.get("HTTPSYS_FUZZ_EXAMPLES", "300"))
FUZZING = "HTTPSYS_FUZZ_EXAMPLES" in os.environ
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not FUZZING,
    database=None if not FUZZING else settings.default.database,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

METHODS = [
    b"GET",
    b"POST",
    b"PUT",
    b"HEAD",
    b"OPTIONS",
    b"DELETE",
    b"CONNECT",
    b"XYZZY",
    b"get",
    b"G\x00T",
    b"GE(T",
]
TARGETS = [
    b"/",
    b"/a?b=c",
    b"*",
    b"http://a/x",
    b"/%2e%2e/x",
    b"/a/../b",
    b"/a%00",
    b"/\xc3\xa9",
    b"//",
    b"/a b",
    b"a:1",
]
VERSIONS = [b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"HTTP/0.9", b"http/1.1", b"HTTP/1.1.1", b"HTTP/1.2", b""]
EOLS = [b"\r\n", b"\r\n", b"\r\n", b"\n", b"\r", b"\r\r\n", b" \r\n"]
NAMES = [
    b"Host",
    b"Content-Length",
    b"Transfer-Encoding",
    b"Expect",
    b"Connection",
    b"Upgrade",
    b"X-A",
    b"Trailer",
    b"Transfer-Encoding ",
    b"Transfer_Encoding",
    b"",
    b"X\x00",
    b" X",
]
VALUES = [
    b"a",
    b"a:1",
    b"0",
    b"3",
    b"5",
    b"chunked",
    b"chunked ",
    b"CHUNKED",
    b"gzip, chunked",
    b"chunked, identity",
    b"100-continue",
    b"close",
    b"keep-alive",
    b"h2c",
    b"-1",
    b"+3",
    b"\x01",
    b"a\rb",
    b"",
    b"18446744073709551616",
    b"\x80\xff",
]
SEPARATORS = [b": ", b":", b" : ", b":\t", b": \t "]


@st.composite
def chunked_body(draw: st.DrawFn) -> bytes:
    out = b""
    for _ in range(draw(st.integers(0, 3))):
        data = draw(st.binary(max_size=8))
        size = draw(st.sampled_from([b"%x", b"%X", b"00%x", b"%x ", b"+%x", b"0x%x"])) % len(data)
        if draw(st.booleans()):
            size = b"%x" % draw(st.integers(0, 20))  # a size that may not match the data
        ext = draw(st.sampled_from([b"", b";a", b";a=b", b';a="b;c"', b";" + b"e" * 40, b";a\n", b" ;a"]))
        out += size + ext + draw(st.sampled_from(EOLS)) + data + draw(st.sampled_from(EOLS))
    out += b"0" + draw(st.sampled_from(EOLS))
    for _ in range(draw(st.integers(0, 2))):
        out += (
            draw(st.sampled_from(NAMES)) + draw(st.sampled_from(SEPARATORS)) + draw(st.sampled_from(VALUES))
        )
        out += draw(st.sampled_from(EOLS))
    return out + draw(st.sampled_from(EOLS))


@st.composite
def message(draw: st.DrawFn) -> bytes:
    line = b" ".join(
        [draw(st.sampled_from(METHODS)), draw(st.sampled_from(TARGETS)), draw(st.sampled_from(VERSIONS))]
    )
    out = line + draw(st.sampled_from(EOLS))
    if draw(st.integers(0, 3)):
        out += b"Host: a\r\n"
    for _ in range(draw(st.integers(0, 4))):
        out += (
            draw(st.sampled_from(NAMES)) + draw(st.sampled_from(SEPARATORS)) + draw(st.sampled_from(VALUES))
        )
        out += draw(st.sampled_from(EOLS))
    out += draw(st.sampled_from(EOLS))
    body = draw(st.one_of(st.just(b""), st.binary(max_size=12), chunked_body()))
    return out + body


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[bytes]) -> bytes:
    data = bytearray(draw(base))
    for _ in range(draw(st.integers(0, 3))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        op = draw(st.integers(0, 2))
        byte = draw(st.sampled_from([0, 9, 10, 13, 32, 0x3A, 0x7F, 0x80, 0xFF, draw(st.integers(0, 255))]))
        if op == 0:
            data[at] = byte
        elif op == 1:
            data.insert(at, byte)
        else:
            del data[at]
    return bytes(data)


requests = mutated(st.lists(message(), min_size=1, max_size=3).map(b"".join))


@st.composite
def cuts(draw: st.DrawFn, data: bytes) -> list[bytes]:
    """`data` cut into reads: byte by byte, or at random points."""
    if draw(st.booleans()):
        return byte_pieces(data)
    pieces: list[bytes] = []
    at = 0
    while at < len(data):
        step = draw(st.integers(1, 16))
        pieces.append(data[at : at + step])
        at += step
    return pieces


def same_outcome(data: bytes, pieces: list[bytes], **options: object) -> None:
    whole = check_adapter([data], settle=False, **options)
    split = check_adapter(pieces, settle=False, **options)
    assert outcome(whole) == outcome(split), "the answer depends on how the bytes were split into reads"
    check_adapter([data], **options)
    check_adapter(pieces, **options)


@FUZZ
@given(st.data())
def test_structured_hostile_requests_keep_every_invariant_whatever_the_reads(data: st.DataObject) -> None:
    raw = data.draw(requests)
    same_outcome(raw, data.draw(cuts(raw)))


@FUZZ
@given(st.data())
def test_arbitrary_bytes_keep_every_invariant_whatever_the_reads(data: st.DataObject) -> None:
    raw = data.draw(st.binary(max_size=300))
    same_outcome(raw, data.draw(cuts(raw)))


@FUZZ
@given(st.data())
def test_an_application_answering_before_reading_the_body_keeps_every_invariant(data: st.DataObject) -> None:
    raw = data.draw(requests)
    check_adapter([raw], early_answer=True)
    check_adapter(data.draw(cuts(raw)), early_answer=True)


@FUZZ
@given(st.data())
def test_a_client_half_closing_after_its_bytes_keeps_every_invariant(data: st.DataObject) -> None:
    raw = data.draw(requests)
    check_adapter([raw], client_eof=True)
    check_adapter(data.draw(cuts(raw)), client_eof=True)


TIGHT = DriverSettings(max_field_length=64, max_request_bytes=256, pipeline_depth=1, body_buffer=4)


@FUZZ
@given(st.data())
def test_tight_limits_and_backpressure_keep_every_invariant(data: st.DataObject) -> None:
    raw = data.draw(requests)
    check_adapter([raw], settings=TIGHT)
    check_adapter(data.draw(cuts(raw)), settings=TIGHT)
