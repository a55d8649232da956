"""What must hold after any bytes went through the HTTP/1.1 adapter, and after any URL went through cook_url.

Responsibility: the invariant checks shared by the hypothesis fuzzers (tests/fuzz/test_*.py) and the atheris
harness (tests/fuzz/atheris_harness.py). It must not generate inputs; each check raises AssertionError with a
message naming the broken invariant.
"""

from __future__ import annotations

from hostile.inprocess import CANNED_BYTES, CONTINUE, AdapterRun, app_response, run_adapter
from httpsys._core.canned import RequestRejected
from httpsys._core.canonical import CookedUrl, UrlSettings, cook_url
from httpsys._engine.request import Request

_TCHAR = frozenset(b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_CANNED = frozenset(CANNED_BYTES.values())
_FORBIDDEN_IN_TARGET = frozenset(range(0x21)) | {0x7F}
_FORBIDDEN_IN_VALUE = frozenset(range(0x20)) - {0x09} | {0x7F}


def check_request(request: Request) -> None:
    """A request the adapter handed to the driver is well-formed HTTP/1.x."""
    method = request.method
    assert method and all(b in _TCHAR for b in method), f"method not a token: {method!r}"
    target = request.raw_url
    assert target and not any(b in _FORBIDDEN_IN_TARGET for b in target), f"bad target: {target!r}"
    assert request.version[0] == 1 and 0 <= request.version[1] <= 9, request.version
    hosts = 0
    lengths = 0
    codings = 0
    for name, value in request.headers:
        assert name and all(b in _TCHAR for b in name), f"header name not a token: {name!r}"
        assert not any(b in _FORBIDDEN_IN_VALUE for b in value), f"control byte in value: {value!r}"
        assert value == value.strip(b" \t"), f"untrimmed value: {value!r}"
        lname = name.lower()
        if lname == b"host":
            hosts += 1
        elif lname == b"content-length":
            lengths += 1
            assert value.isdigit(), f"Content-Length {value!r}"
        elif lname == b"transfer-encoding":
            codings += 1
            assert value.lower() == b"chunked", f"Transfer-Encoding {value!r}"
    if request.version >= (1, 1):
        assert hosts == 1 and request.host_header, "HTTP/1.1 without exactly one non-empty Host"
    assert hosts <= 1
    assert not (lengths and codings), "Content-Length together with Transfer-Encoding"
    assert lengths <= 1 and codings <= 1
    assert request.chunked == bool(codings)


def check_written(run: AdapterRun) -> None:
    """The bytes written are, in order, the application's answers (each maybe after a 100 Continue) and at most
    one canned response, after which the connection closes; never anything else."""
    data = run.written
    at = 0
    answered = [d for d in run.driver.delivered if d.outcome == "answered"]
    for index, entry in enumerate(answered):
        if data.startswith(CONTINUE, at):
            at += len(CONTINUE)
        expected = app_response(entry.index, not entry.request.keep_alive)
        assert data.startswith(expected, at), f"answer {index} missing at {at}: {data[at : at + 80]!r}"
        at += len(expected)
        del index
    if data.startswith(CONTINUE, at):
        at += len(CONTINUE)  # a 100 Continue for a request whose body then broke off
    rest = data[at:]
    if rest:
        assert rest in _CANNED, f"unexpected bytes: {rest[:120]!r}"
        assert run.transport.closing, "a canned response without closing"
    assert run.transport.writes_after_close == 0, "write after close"
    assert len(run.canned) <= 1, "more than one canned response"


def check_lifecycle(run: AdapterRun) -> None:
    """After the timers ran out every connection is gone and every dispatched request was answered or
    reported lost to the driver (no request left dangling in the driver's tables)."""
    run.settle(100_000.0)
    assert run.conn.closed, "the connection outlived every timer"
    assert run.driver.live_connections == 0
    lost = {id(r) for r in run.driver.lost}
    for entry in run.driver.delivered:
        if entry.outcome != "answered":
            assert id(entry.request) in lost, "a delivered, unanswered request was never reported lost"


def outcome(run: AdapterRun) -> tuple[object, ...]:
    """What the client and the application observe, comparable across segmentations."""
    return (
        tuple(run.answered),
        tuple(kind for kind in run.canned),
        run.transport.closing,
        run.transport.aborted,
    )


def check_adapter(pieces: list[bytes], settle: bool = True, **options: object) -> AdapterRun:
    """Run `pieces` through the adapter and check every invariant; returns the run."""
    run = run_adapter(pieces, **options)  # type: ignore[arg-type]
    for entry in run.driver.delivered:
        check_request(entry.request)
    check_written(run)
    if settle:
        check_lifecycle(run)
        check_written(run)
    return run


# ================================================================================================ cook_url
def check_cooked(raw: bytes, host: bytes | None, settings: UrlSettings) -> CookedUrl | None:
    """cook_url only ever returns a consistent CookedUrl or raises RequestRejected; a cooked path is a fixpoint."""
    try:
        cooked, route = cook_url(
            raw, host, scheme="http", local_port=80, local_ip="127.0.0.1", settings=settings
        )
    except RequestRejected:
        return None
    assert cooked.full_url == "http://" + cooked.host + cooked.abs_path + cooked.query
    assert cooked.query == "" or cooked.query.startswith("?")
    assert route == route.lower() and cooked.host.isascii()
    if cooked.abs_path == "*":
        return cooked
    path = cooked.abs_path
    assert path.startswith("/"), path
    assert "\\" not in path
    segments = path.split("/")[1:]
    assert "." not in segments and ".." not in segments, f"dot segment left: {path!r}"
    if not settings.allow_restricted_chars:
        assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in path), repr(path)
    if settings.url_segment_max_count:
        assert path.count("/") <= settings.url_segment_max_count
    requoted = _requote(path)
    if (settings.favor_utf8 or not settings.enable_non_utf8) and len(requoted) <= settings.max_url_length:
        again = cook_url(
            requoted, None, scheme="http", local_port=80, local_ip="127.0.0.1", settings=settings
        )[0]
        assert again.abs_path == path, f"not a fixpoint: {path!r} -> {again.abs_path!r}"
    return cooked


def _requote(path: str) -> bytes:
    """`path` as a raw target again: UTF-8, with everything but unreserved ASCII and '/' percent-encoded."""
    out = bytearray()
    for byte in path.encode("utf-8", "surrogatepass"):
        if (
            byte == 0x2F
            or (0x30 <= byte <= 0x39)
            or (0x41 <= byte <= 0x5A)
            or (0x61 <= byte <= 0x7A)
            or byte in b"-_~"
        ):
            out.append(byte)
        else:
            out += b"%%%02X" % byte
    return bytes(out)
