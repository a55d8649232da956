"""Fuzzing of the daemon wire decoder (httpsys._wire.decoder.Decoder), pure, no sockets.

Random bytes, valid streams mutated (bytes flipped, inserted, deleted, duplicated, header fields set to hostile
values), truncations and file descriptors delivered at random points: the decoder returns messages, waits for more
bytes, or raises ProtocolError — nothing else — and every fd it was given ends up either inside a message it
returned (still open, still the file it was) or closed by it. Then one test per hostile input class.
"""

from __future__ import annotations

import os
import struct
import tempfile
from collections.abc import Iterator

import msgpack
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from httpsys._core.records import FileChunk, MemoryChunk, RequestSnapshot, ResponseSpec
from httpsys._wire.decoder import Decoder
from httpsys._wire.encoder import Encoder
from httpsys._wire.frames import FLAG_MORE, HEADER, HEADER_SIZE, Limits, ProtocolError, T
from httpsys._wire.messages import (
    CALLS,
    COMPLETIONS,
    BytesDone,
    GoingAway,
    Hello,
    Message,
    Refuse,
    RequestDone,
    SendBody,
    SendResponse,
    Side,
    Unsupported,
    Welcome,
)

EXAMPLES = int(os.environ.get("HTTPSYS_FUZZ_EXAMPLES", "300"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize="HTTPSYS_FUZZ_EXAMPLES" not in os.environ,
    suppress_health_check=[HealthCheck.too_slow],
)
LIMITS = Limits(
    max_frame=64 << 10, max_meta=16 << 10, max_message=256 << 10, max_fds_per_frame=4, max_fds_held=8
)


@pytest.fixture(scope="module")
def base_fd() -> Iterator[int]:
    """An open temporary file; the fuzzer passes dups of it."""
    with tempfile.TemporaryFile() as handle:
        handle.write(b"fuzz")
        handle.flush()
        yield handle.fileno()


def open_fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def frame(
    type_code: int,
    op: int,
    meta: object,
    tail: bytes = b"",
    *,
    flags: int = 0,
    nfds: int = 0,
    tail_len: int | None = None,
    total: int | None = None,
    meta_len: int | None = None,
    raw_meta: bool = False,
) -> bytes:
    packed = meta if raw_meta else msgpack.packb(meta, use_bin_type=True)
    assert isinstance(packed, bytes)
    size = len(packed) + len(tail) if total is None else total
    head = HEADER.pack(
        size, len(packed) if meta_len is None else meta_len, type_code, flags, nfds,
        len(tail) if tail_len is None else tail_len, op,
    )  # fmt: skip
    return head + packed + tail


# ----- valid streams to mutate (fd numbers inside are placeholders: the receiver only sees nfds) -------------
def _stream(side: Side, messages: list[Message]) -> bytes:
    encoder = Encoder(side, LIMITS)
    for message in messages:
        encoder.write(message)
    return b"".join(bytes(b) for batch in encoder.take() for b in batch.buffers)


_FILES = [FileChunk(0, 0, 4), FileChunk(1, 2, 2)]
_SPEC = ResponseSpec(200, b"OK", {12: [b"text/plain"]}, [(b"X-Test", b"1")])
UNKNOWN_FRAME = frame(0x7777, 99, ["from", "a", "newer", "client"], b"tail", nfds=1)  # a type this code lacks
CLIENT_STREAM = (
    _stream(
        Side.CLIENT,
        [
            Hello(pid=1),
            SendResponse(
                op=90, handle_id=1, request_id=2, spec=_SPEC, chunks=[MemoryChunk(b"hello"), *_FILES]
            ),
        ],
    )
    + UNKNOWN_FRAME
    + _stream(
        Side.CLIENT,
        [
            SendBody(
                op=91, handle_id=1, request_id=2, chunks=[MemoryChunk(bytes(70_000)), _FILES[0]]
            ),  # continued
            *(cls(op=index + 1) for index, cls in enumerate(CALLS)),
        ],
    )
)
_SNAPSHOT = RequestSnapshot(
    5, 6, 7, 0, (1, 1), b"GET", b"/a?b", "http://h:80/a?b", "h", "/a", "?b", ("127.0.0.1", 5), ("127.0.0.1", 80),
    False, [(b"Host", b"h")], 40, b"body",
)  # fmt: skip
DAEMON_STREAM = _stream(
    Side.DAEMON,
    [
        Welcome(client_id=3),
        *(cls(op=index + 1) for index, cls in enumerate(COMPLETIONS)),
        RequestDone(op=80, code=0, snapshot=_SNAPSHOT, length=900),
        BytesDone(op=81, data=bytes(100_000)),  # continued
        GoingAway(seconds=1.5, reason="reload"),
    ],
)
STREAMS = {Side.DAEMON: CLIENT_STREAM, Side.CLIENT: DAEMON_STREAM}  # keyed by the decoding side
FDS_NEEDED = {Side.DAEMON: 4, Side.CLIENT: 0}  # what a sender passes with the first byte of each stream


# ----- mutations --------------------------------------------------------------------------------------------------
HOSTILE_U32 = st.sampled_from(
    [0, 1, 2, 23, 24, 4, 5, 8, 255, 0xFFFF, LIMITS.max_frame, LIMITS.max_frame + 1, 2**31, 2**32 - 1]
)
HEADER_FIELDS = {  # name -> (struct offset, format)
    "total_len": (0, "<I"),
    "meta_len": (4, "<I"),
    "type": (8, "<H"),
    "flags": (10, "<B"),
    "nfds": (11, "<B"),
    "tail_len": (12, "<I"),
    "op": (16, "<Q"),
}


def frame_starts(data: bytes) -> list[int]:
    """Offsets of the frame headers of a valid stream."""
    starts, at = [], 0
    while at + HEADER_SIZE <= len(data):
        starts.append(at)
        at += HEADER_SIZE + struct.unpack_from("<I", data, at)[0]
    return starts


# A mutation: (kind, frame index, offset from that frame's header, argument). Positions are taken relative to
# frame starts so that mutations land on headers and metas as often as inside the large zero-filled tails.
positions = st.tuples(st.integers(0, 1000), st.integers(0, 300))


def message_ends(data: bytes) -> list[int]:
    """Offsets where the messages of a valid stream end (after their last continuation frame)."""
    ends = []
    for start in frame_starts(data):
        total, _, _, flags, *_ = HEADER.unpack_from(data, start)
        if not flags & FLAG_MORE:
            ends.append(start + HEADER_SIZE + total)
    return ends


mutation = st.one_of(
    st.tuples(st.just("flip"), positions, st.integers(1, 255)),
    st.tuples(st.just("insert"), positions, st.binary(min_size=1, max_size=32)),
    st.tuples(st.just("delete"), positions, st.integers(1, 64)),
    st.tuples(st.just("duplicate"), positions, st.integers(1, 200)),
    st.tuples(st.just("truncate"), positions, st.just(0)),
    st.tuples(st.just("header"), positions, st.tuples(st.sampled_from(sorted(HEADER_FIELDS)), HOSTILE_U32)),
)


def mutate(data: bytes, mutations: list[tuple[str, tuple[int, int], object]]) -> bytes:
    out = bytearray(data)
    for kind, (frame_index, offset), argument in mutations:
        starts = frame_starts(bytes(out)) or [0]
        start = starts[frame_index % len(starts)]
        if not out:
            break
        at = min(start + offset, len(out) - 1)
        if kind == "flip":
            assert isinstance(argument, int)
            out[at] ^= argument
        elif kind == "insert":
            assert isinstance(argument, bytes)
            out[at:at] = argument
        elif kind == "delete":
            assert isinstance(argument, int)
            del out[at : at + argument]
        elif kind == "duplicate":
            assert isinstance(argument, int)
            out[at:at] = out[at : at + argument]
        elif kind == "truncate":
            del out[at:]
        elif start + HEADER_SIZE <= len(out):
            assert isinstance(argument, tuple)
            name, value = argument
            field_offset, fmt = HEADER_FIELDS[name]
            struct.pack_into(fmt, out, start + field_offset, value & ((1 << (8 * struct.calcsize(fmt))) - 1))
    return bytes(out)


@st.composite
def cases(draw: st.DrawFn) -> tuple[Side, bytes, list[tuple[int, int]]]:
    """(decoding side, bytes, fd arrivals as (offset, count))."""
    side = draw(st.sampled_from([Side.DAEMON, Side.DAEMON, Side.CLIENT]))  # the daemon is the side at risk
    base = draw(st.sampled_from(["random", "valid", "valid-then-random"]))
    if base == "random":
        data = draw(st.binary(max_size=600))
    else:
        data = STREAMS[side]
        if base == "valid-then-random":
            first = frame_starts(data)[1]
            data = data[:first] + draw(st.binary(max_size=600))
        data = mutate(data, draw(st.lists(mutation, max_size=4)))
    if FDS_NEEDED[side] and draw(st.integers(0, 3)):  # as a sender would: all of them with the first byte
        fd_points = [(0, FDS_NEEDED[side] + draw(st.integers(-1, 1)))]
    else:
        fd_points = draw(st.lists(st.tuples(st.integers(0, 2**20), st.integers(1, 3)), max_size=4))
    return side, data, fd_points


def run_decoder(
    side: Side, data: bytes, cuts: list[int], fd_points: list[tuple[int, int]], base_fd: int
) -> tuple[Decoder, list[Message], list[int], bool]:
    """Feed `data` cut at `cuts`, with fds arriving with the pieces that start at `fd_points`.
    Every fd is created before the first byte is fed, so no number is reused while the decoder runs."""
    points = sorted(
        {c % (len(data) + 1) for c in cuts} | {0, len(data)} | {p % (len(data) + 1) for p, _ in fd_points}
    )
    arrivals: dict[int, list[int]] = {}
    given: list[int] = []
    for point, count in fd_points:
        fds = [os.dup(base_fd) for _ in range(count)]
        arrivals.setdefault(point % (len(data) + 1), []).extend(fds)
        given += fds
    decoder = Decoder(side, LIMITS)
    delivered: list[Message] = []
    failed = False
    for index, start in enumerate(points):
        end = points[index + 1] if index + 1 < len(points) else len(data)
        fds = arrivals.pop(start, [])
        if start == end and not fds:
            continue
        try:
            decoder.feed(data[start:end], fds)
            delivered.extend(decoder.drain())
        except ProtocolError:
            failed = True
            for rest in arrivals.values():  # what a closed connection never reads, the kernel closes
                for fd in rest:
                    os.close(fd)
            break
    return decoder, delivered, given, failed


def check_fd_hygiene(
    decoder: Decoder, delivered: list[Message], given: list[int], failed: bool, base_fd: int
) -> None:
    base = os.fstat(base_fd)
    owned = [fd for message in delivered for fd in message.fds]
    assert len(owned) == len(set(owned)), "one fd handed over twice"
    assert set(owned) <= set(given), "a message names an fd the decoder was never given"
    for fd in owned:
        stat = os.fstat(fd)  # still open, and still the file that was passed
        assert (stat.st_dev, stat.st_ino) == (base.st_dev, base.st_ino)
    for message in delivered:
        if isinstance(message, SendResponse | SendBody):
            assert {c.fd for c in message.chunks if isinstance(c, FileChunk)} == set(message.fds)
        else:
            assert message.fds == []
    if failed:
        assert decoder.broken and decoder.held_fds == 0
        for fd in set(given) - set(owned):
            assert not is_open(fd), f"fd {fd} leaked after a ProtocolError"
    decoder.close()
    for fd in set(given) - set(owned):
        assert not is_open(fd), f"fd {fd} leaked after close()"
    for fd in owned:
        os.close(fd)


# ----- the fuzz tests ---------------------------------------------------------------------------------------------
@FUZZ
@given(cases(), st.lists(st.integers(0, 2**20), max_size=8))
def test_any_input_gives_messages_or_protocol_error_and_never_leaks_an_fd(
    base_fd: int, case: tuple[Side, bytes, list[tuple[int, int]]], cuts: list[int]
) -> None:
    side, data, fd_points = case
    before = open_fd_count()
    decoder, delivered, given, failed = run_decoder(side, data, cuts, fd_points, base_fd)
    event("ProtocolError" if failed else "no error")  # shown by --hypothesis-show-statistics
    event(f"messages returned: {min(len(delivered), 3)}{'+' if len(delivered) >= 3 else ''}")
    if any(m.fds for m in delivered):
        event("fds handed over in a message")
    if any(isinstance(m, Unsupported) for m in delivered):
        event("unknown type reported")
    check_fd_hygiene(decoder, delivered, given, failed, base_fd)
    assert open_fd_count() == before


@FUZZ
@given(
    st.sampled_from([Side.DAEMON, Side.CLIENT]),
    st.integers(0, 2**20),
    st.lists(st.integers(0, 2**20), max_size=4),
)
def test_a_truncated_valid_stream_only_waits_for_more_bytes(
    base_fd: int, side: Side, cut: int, cuts: list[int]
) -> None:
    data = STREAMS[side]
    prefix = data[: cut % (len(data) + 1)]
    needed = FDS_NEEDED[side]  # all the fds the stream's frames take, sent with its first byte
    decoder, delivered, given, failed = run_decoder(
        side, prefix, cuts, [(0, needed)] if needed else [], base_fd
    )
    assert not failed  # a cut stream is incomplete, not malformed
    assert len(delivered) == sum(
        end <= len(prefix) for end in message_ends(data)
    )  # every complete one, no more
    check_fd_hygiene(decoder, delivered, given, failed, base_fd)


# ----- hostile inputs, one class each -----------------------------------------------------------------------------
HELLO = _stream(Side.CLIENT, [Hello()])
NESTED_VALUE: list[object] = [0]
for _ in range(12):
    NESTED_VALUE = [0, NESTED_VALUE]  # tagged lists inside tagged lists
WELCOME = _stream(Side.DAEMON, [Welcome()])


def dups(base_fd: int, count: int) -> list[int]:
    return [os.dup(base_fd) for _ in range(count)]


def expect_protocol_error(base_fd: int, side: Side, data: bytes, fd_count: int = 0) -> Decoder:
    """Feeding `data` (with fd_count fds on its first byte) raises ProtocolError and leaves every fd closed."""
    fds = dups(base_fd, fd_count)
    decoder = Decoder(side, LIMITS)
    with pytest.raises(ProtocolError):
        decoder.feed(data, fds)
        decoder.drain()
    assert decoder.broken and all(not is_open(fd) for fd in fds)
    return decoder


def test_a_frame_longer_than_the_limit_is_refused_before_its_bytes_arrive(base_fd: int) -> None:
    head = HEADER.pack(LIMITS.max_frame + 1, 0, T.STATISTICS, 0, 0, 0, 1)
    expect_protocol_error(base_fd, Side.DAEMON, HELLO + head, 2)  # 24 bytes of header: no waiting for 64 KiB


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(frame(T.STATISTICS, 1, [], meta_len=50), id="meta longer than the frame"),
        pytest.param(
            frame(T.STATISTICS, 1, [], tail_len=9), id="tail length that does not match a single frame"
        ),
        pytest.param(frame(T.STATISTICS, 1, [], flags=0x80), id="unknown flag"),
        pytest.param(
            frame(T.STATISTICS, 1, [], flags=FLAG_MORE, tail_len=LIMITS.max_message + 1),
            id="continued beyond the message limit",
        ),
        pytest.param(frame(T.STATISTICS, 0, []), id="a call without an op"),
        pytest.param(frame(T.HELLO, 0, [], raw_meta=False), id="a second HELLO"),
        pytest.param(frame(T.CODE_DONE, 1, [0]), id="a completion sent to the daemon"),
        pytest.param(frame(T.STATISTICS, 1, b"\xc1", raw_meta=True), id="msgpack's never-used byte"),
        pytest.param(
            frame(T.STATISTICS, 1, b"\x91" * 10_000 + b"\xc0", raw_meta=True), id="nested 10,000 deep"
        ),
        pytest.param(
            frame(T.SET_SESSION_PROPERTY, 1, [1, 2, NESTED_VALUE]), id="a property value nested 12 deep"
        ),
        pytest.param(frame(T.SET_SESSION_PROPERTY, 1, [1, 2, msgpack.ExtType(5, b"x")]), id="an ext type"),
        pytest.param(
            frame(T.ADD_URL, 1, b"\x93\x01\xa1\xff\x00", raw_meta=True), id="invalid UTF-8 in a str"
        ),
        pytest.param(frame(T.ADD_URL, 1, [1, "http://+:80/", -1]), id="a negative id"),
        pytest.param(frame(T.ADD_URL, 1, [1, "http://+:80/"]), id="a field missing"),
        pytest.param(frame(T.ADD_URL, 1, [1, "http://+:80/", 0, 0]), id="a field too many"),
        pytest.param(
            frame(T.SEND_BODY, 1, [1, 2, 0, [[0, 5]], None], b"abc"), id="a memory chunk longer than the tail"
        ),
        pytest.param(frame(T.SEND_BODY, 1, [1, 2, 0, [[0, 1]], None], b"abc"), id="tail bytes left over"),
        pytest.param(frame(T.SEND_BODY, 1, [1, 2, 0, [[9, 1]], None]), id="unknown chunk tag"),
        pytest.param(frame(T.SEND_BODY, 1, [1, 2, 0, [[1, 0, 0, 1]], None]), id="a file chunk without an fd"),
        pytest.param(
            frame(T.SEND_RESPONSE, 1, [1, 2, 0, [200, b"OK", [[1, []], [1, []]], [], 0], [], None, None]),
            id="a known header id twice",
        ),
    ],
)
def test_malformed_frames_raise_protocol_error_only(base_fd: int, bad: bytes) -> None:
    expect_protocol_error(base_fd, Side.DAEMON, HELLO + bad, 3)


def test_the_first_message_must_be_the_handshake(base_fd: int) -> None:
    expect_protocol_error(base_fd, Side.DAEMON, frame(T.STATISTICS, 1, []), 1)
    expect_protocol_error(base_fd, Side.CLIENT, frame(T.CODE_DONE, 1, [0]))
    expect_protocol_error(
        base_fd, Side.DAEMON, frame(T.HELLO, 0, ["not-httpsys", 1, 1, 0, [], list(LIMITS.as_list())])
    )
    bad_limits = [*LIMITS.as_list()]
    bad_limits[0] = 10  # max_frame below the minimum
    expect_protocol_error(base_fd, Side.DAEMON, frame(T.HELLO, 0, ["httpsys-wire", 1, 1, 0, [], bad_limits]))


def test_nothing_may_follow_refuse(base_fd: int) -> None:
    refuse = _stream(Side.DAEMON, [Refuse(code=1306, reason="version")])
    decoder = Decoder(Side.CLIENT, LIMITS)
    decoder.feed(refuse)
    assert isinstance(decoder.next_message(), Refuse)
    with pytest.raises(ProtocolError):
        decoder.feed(frame(T.CODE_DONE, 1, [0]))
        decoder.drain()


def test_fds_for_a_message_that_takes_none_are_closed(base_fd: int) -> None:
    expect_protocol_error(base_fd, Side.DAEMON, HELLO + frame(T.STATISTICS, 1, [], nfds=1), 1)


def test_a_frame_taking_fds_that_never_arrived_is_refused(base_fd: int) -> None:
    body = frame(T.SEND_BODY, 1, [1, 2, 0, [[1, 0, 0, 1], [1, 1, 0, 1]], None], nfds=2)
    expect_protocol_error(base_fd, Side.DAEMON, HELLO + body, 1)


def test_more_fds_per_frame_or_held_than_the_limits_are_refused(base_fd: int) -> None:
    many = [[1, i, 0, 1] for i in range(LIMITS.max_fds_per_frame + 1)]
    body = frame(T.SEND_BODY, 1, [1, 2, 0, many, None], nfds=LIMITS.max_fds_per_frame + 1)
    expect_protocol_error(base_fd, Side.DAEMON, HELLO + body, LIMITS.max_fds_per_frame + 1)
    expect_protocol_error(
        base_fd, Side.DAEMON, HELLO, LIMITS.max_fds_held + 1
    )  # a flood with no frame at all


def test_an_fd_no_chunk_uses_is_refused_and_closed(base_fd: int) -> None:
    body = frame(T.SEND_BODY, 1, [1, 2, 0, [[1, 0, 0, 1]], None], nfds=2)
    expect_protocol_error(base_fd, Side.DAEMON, HELLO + body, 2)


def test_a_continued_message_interrupted_by_another_is_refused_with_its_fds_closed(base_fd: int) -> None:
    first = frame(
        T.SEND_BODY,
        1,
        [1, 2, 0, [[0, 10], [1, 0, 0, 1]], None],
        b"12345",
        flags=FLAG_MORE,
        nfds=1,
        tail_len=10,
    )
    other = frame(T.STATISTICS, 2, [])
    expect_protocol_error(base_fd, Side.DAEMON, HELLO + first + other, 1)
    wrong_op = HEADER.pack(5, 0, T.SEND_BODY, 0, 0, 0, 9) + b"67890"
    expect_protocol_error(base_fd, Side.DAEMON, HELLO + first + wrong_op, 1)
    too_long = HEADER.pack(6, 0, T.SEND_BODY, 0, 0, 0, 1) + b"678901"
    expect_protocol_error(base_fd, Side.DAEMON, HELLO + first + too_long, 1)


def test_an_unknown_type_is_reported_as_unsupported_with_its_fds_closed(base_fd: int) -> None:
    fds = dups(base_fd, 2)
    decoder = Decoder(Side.DAEMON, LIMITS)
    decoder.feed(HELLO + frame(0x7777, 12, ["from", "a", "newer", "client"], b"tail", nfds=2), fds)
    _, unknown = decoder.drain()
    assert isinstance(unknown, Unsupported) and (unknown.type_code, unknown.op) == (0x7777, 12)
    assert unknown.fds == [] and not any(is_open(fd) for fd in fds)
    assert not decoder.broken


def test_a_broken_decoder_closes_whatever_it_is_given_later(base_fd: int) -> None:
    decoder = expect_protocol_error(base_fd, Side.DAEMON, b"\xff" * 24)
    later = dups(base_fd, 3)
    with pytest.raises(ProtocolError):
        decoder.feed(HELLO, later)
    assert not any(is_open(fd) for fd in later)
    more = dups(base_fd, 1)
    with pytest.raises(ProtocolError):
        decoder.buffer_updated(0, more)
    assert not is_open(more[0])


def test_close_releases_fds_of_an_unfinished_frame(base_fd: int) -> None:
    body = frame(T.SEND_BODY, 1, [1, 2, 0, [[1, 0, 0, 1]], None], nfds=1)
    fds = dups(base_fd, 1)
    decoder = Decoder(Side.DAEMON, LIMITS)
    decoder.feed(HELLO + body[:-3], fds)  # the connection ends three bytes short
    assert [type(m) for m in decoder.drain()] == [Hello] and decoder.held_fds == 1
    decoder.close()
    assert not is_open(fds[0])
