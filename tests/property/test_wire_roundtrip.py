"""Round trips of the daemon wire protocol (httpsys._wire): every message type, any byte split, batches, real fds.

Encoder → bytes + fds → Decoder gives back equal messages, whatever the cut points of the byte stream, for single
messages and for batches of many, with continuation frames when a tail exceeds a frame, and with file descriptors
from real temporary files (passed by dup() in the sans-I/O tests, by SCM_RIGHTS over a socketpair in the last).
"""

from __future__ import annotations

import array
import fcntl
import os
import random
import select
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator
from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from httpsys._core.records import (
    CachePolicy,
    FileChunk,
    FragmentChunk,
    MemoryChunk,
    RequestSnapshot,
    ResponseSpec,
    TrailersChunk,
)
from httpsys._core.timers import TimeoutLimits
from httpsys._wire import fields as F
from httpsys._wire import messages as messages_module
from httpsys._wire.decoder import RECEIVE_CHUNK, Decoder
from httpsys._wire.encoder import Batch, Encoder
from httpsys._wire.frames import (
    DEFAULT_LIMITS,
    HARD_LIMITS,
    MAGIC,
    MIN_LIMITS,
    Limits,
    ProtocolError,
    WireEncodeError,
)
from httpsys._wire.messages import (
    MESSAGE_TYPES,
    Hello,
    Message,
    Refuse,
    SendBody,
    SendResponse,
    Side,
    TakeoverDone,
    Welcome,
)

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
U64 = 2**64 - 1

# ----- a pool of real file descriptors: distinct temporary files, told apart by inode --------------------------
_POOL: list[int] = []


@pytest.fixture(scope="module", autouse=True)
def fd_pool() -> Iterator[list[int]]:
    for index in range(4):
        with tempfile.TemporaryFile() as handle:
            handle.write(b"file %d " % index * 100)
            handle.flush()
            _POOL.append(os.dup(handle.fileno()))
    yield _POOL
    for fd in _POOL:
        os.close(fd)
    _POOL.clear()


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


# ----- strategies, one per field kind ----------------------------------------------------------------------------
uints = st.integers(0, U64)
ints = st.integers(-(2**63), U64)
text = st.text(alphabet=st.characters(blacklist_categories=()), max_size=12)  # lone surrogates included
small_bytes = st.binary(max_size=40)
pairs = st.lists(st.tuples(small_bytes, small_bytes), max_size=4)
timeouts = st.builds(TimeoutLimits, *[ints] * 6)
scalars = st.one_of(st.none(), st.booleans(), ints, st.floats(allow_nan=False), text, small_bytes)


def value_strategy(depth: int) -> st.SearchStrategy[object]:
    if depth == 0:
        return scalars
    inner = value_strategy(depth - 1)
    return st.one_of(
        scalars,
        timeouts,
        st.lists(inner, max_size=3),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(text, inner, max_size=3),
    )


values = value_strategy(3)


@st.composite
def limit_sets(draw: st.DrawFn) -> Limits:
    frame = draw(st.integers(MIN_LIMITS.max_frame, HARD_LIMITS.max_frame))
    per_frame = draw(st.integers(1, 253))
    return Limits(
        max_frame=frame,
        max_meta=draw(st.integers(MIN_LIMITS.max_meta, frame)),
        max_message=draw(st.integers(MIN_LIMITS.max_message, HARD_LIMITS.max_message)),
        max_fds_per_frame=per_frame,
        max_fds_held=draw(st.integers(2 * per_frame, HARD_LIMITS.max_fds_held)),
    ).check()


response_specs = st.builds(
    ResponseSpec,
    ints,
    small_bytes,
    st.dictionaries(ints, st.lists(small_bytes, max_size=3), max_size=4),
    pairs,
    ints,
)


@st.composite
def chunk_lists(draw: st.DrawFn) -> list[object]:
    chunks: list[object] = []
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(["memory", "bytearray", "view", "file", "fragment", "trailers"]))
        if kind == "memory":
            chunks.append(MemoryChunk(draw(small_bytes)))
        elif kind == "bytearray":
            chunks.append(MemoryChunk(bytearray(draw(small_bytes))))
        elif kind == "view":
            chunks.append(MemoryChunk(memoryview(draw(small_bytes))))
        elif kind == "file":
            chunks.append(FileChunk(draw(st.sampled_from(_POOL)), draw(uints), draw(uints)))
        elif kind == "fragment":
            chunks.append(FragmentChunk(draw(text), draw(uints), draw(uints)))
        else:
            chunks.append(TrailersChunk(tuple(draw(pairs))))
    return chunks


@st.composite
def listener_lists(draw: st.DrawFn) -> list[tuple[int, str, int]]:
    """Takeover listeners: (port, scheme, fd) with fds from the pool (drawn late: the pool fills per module)."""
    count = draw(st.integers(0, 3))
    return [(draw(uints), draw(text), draw(st.sampled_from(_POOL))) for _ in range(count)]


log_data = st.one_of(
    st.none(),
    st.dictionaries(text, st.one_of(st.none(), st.booleans(), ints, text, small_bytes), max_size=4),
)
addresses = st.tuples(text, uints)
snapshots = st.one_of(
    st.none(),
    st.builds(
        RequestSnapshot,
        uints,
        uints,
        uints,
        uints,
        st.tuples(uints, uints),
        small_bytes,
        small_bytes,
        text,
        text,
        text,
        text,
        addresses,
        addresses,
        st.booleans(),
        pairs,
        uints,
        small_bytes,
        st.one_of(st.none(), uints),
        st.booleans(),
        uints,
        st.one_of(st.none(), st.dictionaries(text, values, max_size=3)),
    ),
)

KIND_STRATEGIES: dict[F.Kind, st.SearchStrategy[object]] = {
    F.UINT: uints,
    F.OPT_UINT: st.one_of(st.none(), uints),
    F.INT: ints,
    F.BOOL: st.booleans(),
    F.FLOAT: st.floats(allow_nan=False),
    F.STR: text,
    F.OPT_STR: st.one_of(st.none(), text),
    F.BYTES: small_bytes,
    F.STR_LIST: st.lists(text, max_size=3),
    F.VERSION: st.tuples(uints, uints),
    F.LIMITS: limit_sets(),
    F.VALUE: values,
    F.STATS: st.dictionaries(text, ints, max_size=4),
    F.CACHE_POLICY: st.builds(CachePolicy, ints, ints),
    F.OPT_CACHE_POLICY: st.one_of(st.none(), st.builds(CachePolicy, ints, ints)),
    F.LOG_DATA: log_data,
    F.RESPONSE_SPEC: response_specs,
    F.CHUNKS: chunk_lists(),
    F.TAIL_BYTES: small_bytes,
    F.SNAPSHOT: snapshots,
    F.LISTENERS: listener_lists(),
}


def message_strategy(cls: type[Message]) -> st.SearchStrategy[Message]:
    strategies = {
        name: st.just(MAGIC) if name == "magic" else KIND_STRATEGIES[kind] for name, kind in cls.FIELDS
    }
    ops = st.just(0) if cls.CONTROL else st.integers(1, U64)
    return st.builds(lambda op, kw: cls(op=op, **kw), ops, st.fixed_dictionaries(strategies))


CONTROL_FIRST = {Side.DAEMON: Hello(), Side.CLIENT: Welcome()}
FIRST_TYPES = (Hello, Welcome, Refuse)  # each may open a stream


def reader_of(cls: type[Message]) -> Side:
    return Side.DAEMON if cls.TO_DAEMON else Side.CLIENT


def writer_of(cls: type[Message]) -> Side:
    return Side.CLIENT if cls.TO_DAEMON else Side.DAEMON


any_call = st.sampled_from([c for c in MESSAGE_TYPES.values() if c.TO_DAEMON and not c.CONTROL]).flatmap(
    message_strategy
)


# ----- transmission without sockets: bytes as sent, fds dup()ed as the kernel would install them ----------------
def transmit(batches: list[Batch]) -> list[tuple[bytes, list[int]]]:
    """Each batch as the receiver gets it: its bytes, and new fds (dups) arriving with its first byte."""
    return [
        (b"".join(bytes(b) for b in batch.buffers), [os.dup(fd) for fd in batch.fds]) for batch in batches
    ]


def _replaced(message: Message, **changes: object) -> Message:
    """A copy of `message` (a new instance of its class) with `changes` to its attributes."""
    values: dict[str, Any] = {name: getattr(message, name) for name in message.ATTRS}
    values.update(changes)
    return type(message)(op=message.op, **values)


def normalised(message: Message) -> Message:
    """The message with file chunks naming their file (device, inode) instead of an fd number, memory as bytes."""
    if isinstance(message, TakeoverDone):
        inodes = [(port, scheme, os.fstat(fd).st_ino) for port, scheme, fd in message.listeners]
        return _replaced(message, listeners=inodes)
    if not isinstance(message, SendResponse | SendBody):
        return message
    chunks: list[object] = []
    for chunk in message.chunks:
        if isinstance(chunk, FileChunk):
            stat = os.fstat(chunk.fd)
            chunks.append(("file", stat.st_dev, stat.st_ino, chunk.offset, chunk.length))
        elif isinstance(chunk, MemoryChunk):
            chunks.append(("memory", bytes(chunk.data)))
        else:
            chunks.append(chunk)
    return _replaced(message, chunks=chunks)


def check_delivered(sent: list[Message], got: list[Message]) -> None:
    assert [normalised(m) for m in got] == [normalised(m) for m in sent]
    for message in got:
        if isinstance(message, SendResponse | SendBody):
            used = {c.fd for c in message.chunks if isinstance(c, FileChunk)}
            assert used == set(message.fds) and len(message.fds) == len(used)
        elif isinstance(message, TakeoverDone):
            used = {fd for _port, _scheme, fd in message.listeners}
            assert used == set(message.fds) and len(message.fds) == len(used)
        else:
            assert message.fds == []


def close_delivered(got: list[Message]) -> None:
    for message in got:
        for fd in message.fds:
            os.close(fd)


def feed_pieces(
    decoder: Decoder, pieces: list[tuple[bytes, list[int]]], cuts: list[int] | None
) -> list[Message]:
    """Feed each transmitted batch, cut at `cuts` (offsets into the batch; None: one byte at a time)."""
    out: list[Message] = []
    for data, fds in pieces:
        points = sorted({c % (len(data) + 1) for c in cuts}) if cuts is not None else list(range(len(data)))
        start, first = 0, True
        for point in [*points, len(data)]:
            if point < start:
                continue
            decoder.feed(data[start:point], fds if first else ())
            first = False
            start = point
            out.extend(decoder.drain())
    return out


# ----- the tests --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", list(MESSAGE_TYPES.values()), ids=lambda c: c.__name__)
@SETTINGS
@given(data=st.data())
def test_every_message_type_round_trips_fed_one_byte_at_a_time(
    cls: type[Message], data: st.DataObject
) -> None:
    message = data.draw(message_strategy(cls))
    encoder = Encoder(writer_of(cls))
    decoder = Decoder(reader_of(cls))
    sent = [message] if cls in FIRST_TYPES else [CONTROL_FIRST[reader_of(cls)], message]
    for item in sent:
        encoder.write(item)
    before = open_fds()
    got = feed_pieces(decoder, transmit(encoder.take()), None)
    try:
        check_delivered(sent, got)
        assert decoder.held_fds == 0 and decoder.next_message() is None
    finally:
        close_delivered(got)
    assert open_fds() == before


def _travels(message: Message, limits: Limits) -> bool:
    """Whether an encoder with the peer's `limits` takes `message` (it refuses one naming too many files)."""
    try:
        Encoder(Side.CLIENT, limits).write(message)
    except WireEncodeError:
        return False
    return True


@SETTINGS
@given(st.lists(any_call, min_size=1, max_size=30), st.lists(st.integers(0, 10**6), max_size=8), limit_sets())
def test_a_batch_of_many_calls_round_trips_whatever_the_cut_points(
    calls: list[Message], cuts: list[int], limits: Limits
) -> None:
    # a call naming more distinct files than the peer takes per frame cannot travel (WireEncodeError, tested
    # below); the batch is made of the ones that can
    calls = [call for call in calls if _travels(call, limits)]
    encoder = Encoder(Side.CLIENT, limits)
    sent = [Hello(), *calls]
    for message in sent:
        encoder.write(message)
    batches = encoder.take()
    for batch in batches:  # the fd rule: no sendmsg carries more fds than the peer takes per frame
        assert len(batch.fds) <= limits.max_fds_per_frame
    decoder = Decoder(Side.DAEMON, limits)
    got = feed_pieces(decoder, transmit(batches), cuts)
    try:
        check_delivered(sent, got)
    finally:
        close_delivered(got)


@SETTINGS
@given(
    st.integers(0, 3 * MIN_LIMITS.max_frame),
    st.integers(0, 2**32),
    st.lists(st.integers(0, 10**6), max_size=6),
)
def test_tails_larger_than_a_frame_travel_in_continuation_frames(
    size: int, seed: int, cuts: list[int]
) -> None:
    limits = Limits(max_frame=MIN_LIMITS.max_frame, max_meta=MIN_LIMITS.max_meta, max_message=1 << 20)
    body = random.Random(seed).randbytes(size)
    split = size // 3
    response = SendResponse(
        op=7,
        handle_id=1,
        request_id=2,
        spec=ResponseSpec(200, b"OK", {}, []),
        chunks=[MemoryChunk(body[:split]), FileChunk(_POOL[0], 0, 10), MemoryChunk(memoryview(body)[split:])],
    )
    encoder = Encoder(Side.CLIENT, limits)
    encoder.write(Hello())
    encoder.write(response)
    encoder.write(SendBody(op=8, handle_id=1, request_id=2, chunks=[MemoryChunk(b"end")]))
    decoder = Decoder(Side.DAEMON, limits)
    got = feed_pieces(decoder, transmit(encoder.take()), cuts)
    try:
        check_delivered(
            [Hello(), response, SendBody(op=8, handle_id=1, request_id=2, chunks=[MemoryChunk(b"end")])], got
        )
    finally:
        close_delivered(got)


def test_a_batch_passes_its_fds_with_the_first_byte_and_only_once() -> None:
    encoder = Encoder(Side.CLIENT, Limits(max_fds_per_frame=2, max_fds_held=4))
    for op in (1, 2, 3):
        encoder.write(
            SendBody(op=op, handle_id=1, request_id=1, chunks=[FileChunk(_POOL[0]), FileChunk(_POOL[op])])
        )
    batches = encoder.take()
    assert [batch.fds for batch in batches] == [
        [_POOL[0], _POOL[1]],
        [_POOL[0], _POOL[2]],
        [_POOL[0], _POOL[3]],
    ]
    batch = batches[0]
    total = batch.nbytes
    assert not batch.consume(0) and batch.fds  # nothing went: the fds are still to be sent
    assert not batch.consume(5) and batch.fds == [] and batch.nbytes == total - 5
    assert batch.consume(total - 5) and batch.buffers == []


def test_a_large_memory_chunk_is_referenced_not_copied() -> None:
    body = bytearray(b"x" * 100_000)
    encoder = Encoder(Side.CLIENT)
    encoder.write(SendBody(op=1, handle_id=1, request_id=1, chunks=[MemoryChunk(body)]))
    (batch,) = encoder.take()
    body[50_000] = ord("y")  # the batch sees the caller's buffer (HTTP.sys: valid until the send completes)
    assert b"y" in b"".join(bytes(b) for b in batch.buffers)


def test_received_bodies_are_views_of_the_receive_buffer_and_a_large_buffer_is_not_kept_by_small_ones() -> (
    None
):
    encoder = Encoder(Side.CLIENT)
    encoder.write(Hello())
    encoder.write(SendBody(op=1, chunks=[MemoryChunk(b"a" * 300_000)]))  # one frame, larger than a buffer
    first = b"".join(bytes(b) for batch in encoder.take() for b in batch.buffers)
    encoder.write(SendBody(op=2, chunks=[MemoryChunk(b"b" * 20_000), MemoryChunk(b"c" * 100)]))
    second = b"".join(bytes(b) for batch in encoder.take() for b in batch.buffers)
    decoder = Decoder(Side.DAEMON)

    def receive(data: bytes) -> None:  # as a socket owner does: into the decoder's buffer, in pieces
        at = 0
        while at < len(data):
            room = decoder.get_buffer()
            count = min(len(room), len(data) - at, 50_000)
            room[:count] = data[at : at + count]
            decoder.buffer_updated(count)
            at += count

    receive(first)  # not decoded until all of it is in: the buffer grows past the large frame
    _, large = decoder.drain()
    receive(second)
    small = decoder.next_message()
    assert isinstance(large, SendBody) and isinstance(small, SendBody)
    big_view, (medium_view, tiny) = large.chunks[0].data, [c.data for c in small.chunks]  # type: ignore[union-attr]
    assert isinstance(big_view, memoryview) and big_view.readonly and bytes(big_view) == b"a" * 300_000
    assert isinstance(medium_view, memoryview) and bytes(medium_view) == b"b" * 20_000
    assert isinstance(tiny, bytes) and tiny == b"c" * 100  # small pieces are copied out
    assert len(big_view.obj) > 300_000  # type: ignore[arg-type]
    assert len(medium_view.obj) <= RECEIVE_CHUNK  # type: ignore[arg-type]  # not the large buffer


def test_a_value_that_cannot_travel_is_refused_and_nothing_is_written() -> None:
    encoder = Encoder(Side.CLIENT)
    for message in (
        SendBody(op=1, chunks=[object()]),  # type: ignore[list-item]
        SendBody(op=1, chunks=[FileChunk(-1)]),
        SendResponse(op=1, spec=ResponseSpec(200, "OK", {}, [])),  # type: ignore[arg-type]
        SendResponse(op=1, spec=ResponseSpec(2**64, b"OK", {}, [])),
        Hello(op=1),  # control messages have op 0
        SendBody(op=0),  # calls do not
        Welcome(),  # a client does not send WELCOME
    ):
        with pytest.raises(WireEncodeError):
            encoder.write(message)
    too_many = [FileChunk(fd) for fd in range(3, 4 + DEFAULT_LIMITS.max_fds_per_frame)]
    with pytest.raises(WireEncodeError):
        encoder.write(SendBody(op=1, chunks=too_many))  # type: ignore[arg-type]
    with pytest.raises(WireEncodeError):
        encoder.write(SendBody(op=1, chunks=[MemoryChunk(bytes(17 << 20))]))
    assert encoder.pending_bytes == 0 and encoder.take() == []


def test_a_frame_of_the_other_direction_or_with_the_wrong_op_breaks_the_connection() -> None:
    """The decoder's per-type-code table (decision 0026 §8) checks direction and op as the class attributes did:
    a completion sent to the daemon, a call sent to a client, and a call with op 0 are each a ProtocolError."""
    from httpsys._wire.frames import HEADER, T

    def frame(type_code: int, op: int, meta: object) -> bytes:
        packed = msgpack.packb(meta, use_bin_type=True)
        return HEADER.pack(len(packed), len(packed), type_code, 0, 0, 0, op) + packed

    def greeted(side: Side) -> Decoder:
        encoder = Encoder(Side.CLIENT if side is Side.DAEMON else Side.DAEMON)
        encoder.write(Hello() if side is Side.DAEMON else Welcome())
        decoder = Decoder(side)
        for data, fds in transmit(encoder.take()):
            decoder.feed(data, fds)
        assert len(decoder.drain()) == 1
        return decoder

    cases = [
        (Side.DAEMON, frame(T.SENT_DONE, 5, [0, 13])),  # a completion travelling to the daemon
        (Side.DAEMON, frame(T.RECEIVE_REQUEST, 0, [1, 0, 0, None, True])),  # a call with op 0
        (Side.CLIENT, frame(T.RECEIVE_REQUEST, 5, [1, 0, 0, None, True])),  # a call travelling to a client
    ]
    for side, bad in cases:
        decoder = greeted(side)
        with pytest.raises(ProtocolError):
            decoder.feed(bad)
            decoder.drain()
        assert decoder.broken
    good = greeted(Side.CLIENT)
    good.feed(frame(T.SENT_DONE, 5, [0, 13]))
    (done,) = good.drain()
    assert done.op == 5 and getattr(done, "bytes_sent", None) == 13


def test_log_data_reaches_the_driver_as_the_driver_would_read_it() -> None:
    encoder = Encoder(Side.CLIENT)
    encoder.write(Hello())
    encoder.write(SendBody(op=1, log_data={"UserName": 5.5, 7: "dropped", "Win32Status": 3, "Cookie": b"c"}))
    encoder.write(SendBody(op=2, log_data="not a mapping"))
    decoder = Decoder(Side.DAEMON)
    for data, fds in transmit(encoder.take()):
        decoder.feed(data, fds)
    _, first, second = decoder.drain()
    assert isinstance(first, SendBody) and first.log_data == {
        "UserName": "5.5",
        "Win32Status": 3,
        "Cookie": b"c",
    }
    assert isinstance(second, SendBody) and second.log_data == {}  # still logged, with no application fields


def test_batches_over_a_real_socketpair_carry_fds_by_scm_rights_with_cloexec() -> None:
    """The kernel's rules, not a simulation: partial non-blocking sendmsg calls, fds with the first byte of each
    batch, recvmsg_into straight into the decoder's buffer with MSG_CMSG_CLOEXEC."""
    limits = Limits(max_fds_per_frame=3, max_fds_held=6)
    sender, receiver = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    sender.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    sender.setblocking(False)
    body = random.Random(1).randbytes(300_000)
    sent: list[Message] = [Hello()]
    for op in range(1, 41):
        chunks: list[object] = [MemoryChunk(body[: op * 5000]), FileChunk(_POOL[op % 4], op, 3)]
        if op % 3 == 0:
            chunks.append(FileChunk(_POOL[(op + 1) % 4]))
        sent.append(SendResponse(op=op, handle_id=1, request_id=op, chunks=chunks))  # type: ignore[arg-type]
    encoder = Encoder(Side.CLIENT, limits)
    for message in sent:
        encoder.write(message)
    batches = encoder.take()
    assert len(batches) > 1
    errors: list[BaseException] = []

    def send_all() -> None:
        try:
            for batch in batches:
                while True:
                    ancillary = (
                        [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", batch.fds))]
                        if batch.fds
                        else []
                    )
                    try:
                        sent_bytes = sender.sendmsg(batch.buffers, ancillary)
                    except BlockingIOError:
                        select.select([], [sender], [], 5)
                        continue
                    if batch.consume(sent_bytes):
                        break
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    thread = threading.Thread(target=send_all)
    thread.start()
    decoder = Decoder(Side.DAEMON, limits)
    got: list[Message] = []
    ancillary_size = socket.CMSG_SPACE(limits.max_fds_per_frame * 4)
    try:
        receiver.settimeout(10)
        while len(got) < len(sent):
            size, ancillary, flags, _ = receiver.recvmsg_into(
                [decoder.get_buffer()], ancillary_size, socket.MSG_CMSG_CLOEXEC
            )
            assert size and not flags & socket.MSG_CTRUNC
            fds: list[int] = []
            for level, kind, payload in ancillary:
                assert (level, kind) == (socket.SOL_SOCKET, socket.SCM_RIGHTS)
                fds.extend(array.array("i", payload[: len(payload) - len(payload) % 4]))
            for fd in fds:
                assert fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC
            decoder.buffer_updated(size, fds)
            got.extend(decoder.drain())
        thread.join(10)
        assert not errors
        check_delivered(sent, got)
        assert decoder.held_fds == 0
    finally:
        close_delivered(got)
        decoder.close()
        sender.close()
        receiver.close()


# ----- the hot messages' direct codecs against the FIELDS walk every message has ------------------------------------
HOT_TYPES = [
    cls for cls in MESSAGE_TYPES.values() if "encode_meta" in vars(cls) or "decode_meta" in vars(cls)
]


def test_the_receives_sends_and_their_completions_have_direct_codecs() -> None:
    names = {cls.__name__ for cls in HOT_TYPES}
    assert {"ReceiveRequest", "SendResponse", "RequestDone", "SentDone", "SendBody", "BytesDone"} <= names


def _generic_meta(message: Message) -> tuple[list[object], list[bytes], list[int]]:
    out = F.Outgoing()
    meta = messages_module._encode_generic(message, out)
    return meta, [bytes(piece) for piece in out.tail], out.fds


def _direct_meta(message: Message) -> tuple[list[object], list[bytes], list[int]]:
    out = F.Outgoing()
    meta = message.encode_meta(out)
    return meta, [bytes(piece) for piece in out.tail], out.fds


def _outcome(decode: Callable[[], Message]) -> object:
    try:
        return normalised(decode())
    except ProtocolError:
        return ProtocolError


@pytest.mark.parametrize("cls", HOT_TYPES, ids=lambda c: c.__name__)
@SETTINGS
@given(data=st.data())
def test_a_direct_codec_writes_and_reads_exactly_what_the_field_walk_does(
    cls: type[Message], data: st.DataObject
) -> None:
    """Same meta, tail and fds on the way out; on the way in, from the same meta (valid, or with one field
    replaced by a hostile value), the same message or the same ProtocolError."""
    message = data.draw(message_strategy(cls))
    assert _direct_meta(message) == _generic_meta(message)
    meta, tail, fds = _generic_meta(message)
    raw = msgpack.unpackb(
        msgpack.packb(meta, use_bin_type=True, unicode_errors="surrogatepass"),
        use_list=False,
        raw=False,
        unicode_errors="surrogatepass",
    )
    if data.draw(st.booleans()) and raw:
        hostile = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.binary(max_size=3), st.tuples())
        index = data.draw(st.integers(0, len(raw) - 1))
        raw = (*raw[:index], data.draw(hostile), *raw[index + 1 :])
    view = memoryview(b"".join(tail))
    direct = _outcome(lambda: cls.decode_meta(message.op, raw, view, list(fds)))
    generic = _outcome(lambda: messages_module._decode_generic(cls, message.op, raw, view, list(fds)))
    assert direct == generic


@pytest.mark.parametrize("cls", HOT_TYPES, ids=lambda c: c.__name__)
def test_a_direct_codec_refuses_what_the_field_walk_refuses(cls: type[Message]) -> None:
    """A value of the wrong type in an id field: WireEncodeError from both, nothing written."""
    name = cls.FIELDS[0][0]
    bad = cls(op=1, **{name: -1})
    with pytest.raises(WireEncodeError):
        bad.encode_meta(F.Outgoing())
    with pytest.raises(WireEncodeError):
        messages_module._encode_generic(bad, F.Outgoing())
    encoder = Encoder(writer_of(cls))
    with pytest.raises(WireEncodeError):
        encoder.write(bad)
    assert encoder.pending_bytes == 0


def test_a_response_head_sent_again_decodes_to_the_record_of_the_first_and_a_lookalike_does_not() -> None:
    """The daemon keeps the ResponseSpec of a head it decoded (the engine memoizes its rendering on the record):
    the same meta form again gives that record; a form equal in Python but not on the wire (True for 1, 1.0 for
    an int) gets the field walk's own answer, never the kept record; a form with a map where an array belongs is
    refused as before; a head of more than 2 KiB is decoded anew each time."""
    spec = ResponseSpec(200, b"OK", {1: [b"no-store"], 12: [b"text/plain"]}, [(b"X-Id", b"1")])
    meta, _, _ = _generic_meta(SendResponse(op=1, handle_id=3, request_id=5, spec=spec, chunks=[]))
    raw_spec = msgpack.unpackb(msgpack.packb(meta, use_bin_type=True), use_list=False, raw=False)[3]
    first = F.decode_response_spec_shared(raw_spec)
    again = F.decode_response_spec_shared(
        msgpack.unpackb(msgpack.packb(raw_spec, use_bin_type=True), use_list=False)
    )
    assert first == spec and again is first
    known = raw_spec[2]
    for lookalike in (
        (200.0, *raw_spec[1:]),
        (*raw_spec[:4], False),
        (*raw_spec[:2], ((True, known[0][1]), known[1]), *raw_spec[3:]),
        (*raw_spec[:2], (known[0], (12.0, known[1][1])), *raw_spec[3:]),
    ):
        assert lookalike == raw_spec
        with pytest.raises(ProtocolError):
            F.decode_response_spec_shared(lookalike)
    with pytest.raises(ProtocolError):
        F.decode_response_spec_shared((200, b"OK", {12: (b"text/plain",)}, (), 0))
    big = (200, b"OK", ((12, (b"x" * 3000,)),), (), 0)
    assert F.decode_response_spec_shared(big) is not F.decode_response_spec_shared(big)
