"""Hypothesis fuzzing of the request body buffer (httpsys._engine.request.Request), pure, no I/O.

Any interleaving of arriving body pieces, reads of any size (plain or FILL_BUFFER), COPY_BODY takes, the end of
the body and a lost connection: the application gets exactly the body bytes, in order, each read at most its
size, a fill read only when full or at the end, EOF only after everything, and every read completes exactly once.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from httpsys._core.status import Win32Error
from httpsys._engine.request import BodyRead, Request

OK = int(Win32Error.NO_ERROR)
EOF = int(Win32Error.ERROR_HANDLE_EOF)
GONE = int(Win32Error.ERROR_CONNECTION_INVALID)
EXAMPLES = int(os.environ.get("HTTPSYS_FUZZ_EXAMPLES", "300"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize="HTTPSYS_FUZZ_EXAMPLES" not in os.environ,
    suppress_health_check=[HealthCheck.too_slow],
)


class Channel:
    connection_id = 1
    closed = False

    def __init__(self) -> None:
        self.wanted = 0
        self.consumed = 0

    def body_wanted(self, request: Request) -> None:
        self.wanted += 1

    def body_consumed(self, request: Request) -> None:
        self.consumed += 1


step = st.one_of(
    st.tuples(st.just("data"), st.binary(min_size=1, max_size=20)),
    st.tuples(st.just("read"), st.integers(1, 40), st.booleans()),
    st.tuples(st.just("take"), st.integers(0, 40)),
)


@FUZZ
@given(st.lists(step, max_size=40), st.sampled_from(["end", "lost", "open"]))
def test_the_body_buffer_hands_over_exactly_the_body_in_order(
    steps: list[tuple[object, ...]], finish: str
) -> None:
    request = Request(Channel(), b"POST", b"/", (1, 1), [])  # type: ignore[arg-type]
    request.body_expected = True
    request.body_complete = False
    sent = bytearray()
    got = bytearray()
    completions: list[tuple[int, int, bool, int, bytes]] = []  # (read id, max_len, fill, code, data)
    issued = 0

    def read(max_len: int, fill: bool) -> None:
        nonlocal issued
        issued += 1
        rid = issued

        def done(code: int, data: bytes) -> None:
            completions.append((rid, max_len, fill, code, data))
            if code == OK:
                got.extend(data)

        request.read_body(BodyRead(max_len, fill, done))

    for item in steps:
        if item[0] == "data":
            data = item[1]
            assert isinstance(data, bytes)
            sent += data
            request.body_data(data)
        elif item[0] == "read":
            max_len, fill = item[1], item[2]
            assert isinstance(max_len, int) and isinstance(fill, bool)
            read(max_len, fill)
        else:
            size = item[1]
            assert isinstance(size, int)
            taken = request.take_available(size)
            assert len(taken) <= size
            got.extend(taken)
    if finish == "end":
        request.body_end()
        while request.more_body:
            read(64, False)
        read(64, False)
    elif finish == "lost":
        request.fail_body()

    ids = [c[0] for c in completions]
    assert len(ids) == len(set(ids)), "a read completed twice"
    for _rid, max_len, fill, code, data in completions:
        assert code in (OK, EOF, GONE)
        assert len(data) <= max_len
        if code == OK:
            assert data, "an OK read with no data"
            if fill and not (request.body_complete and len(data) < max_len):
                assert len(data) == max_len or request.body_complete, (
                    "a fill read returned before it was full"
                )
        else:
            assert data == b""
    assert bytes(got) == bytes(sent[: len(got)]), "bytes out of order or invented"
    if finish == "end":
        assert bytes(got) == bytes(sent), "bytes lost"
        assert completions[-1][3] == EOF
        assert issued == len(completions), "a read never completed"
    if finish == "lost":
        assert issued == len(completions), "a read never completed after the connection was lost"
    assert request.body_buffered == len(sent) - len(got) or finish == "lost"
