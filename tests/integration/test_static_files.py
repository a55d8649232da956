"""The static file responder over real sockets: exact bytes, ranges cut by the driver, validators and 304,
HEAD, directories, and every way out of the served directory refused.

A driver runs on its own event loop thread with `StaticFiles` answering a request queue (the same wiring
as `httpsys serve`, without the subprocess); clients are plain sockets.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pytest
from conftest import DAEMON_MODE, counted_since, free_port

from httpsys._transport.embedded import new_event_loop
from httpsys.aio import Headers, ServerSession
from httpsys.cli.hosting import RequestDispatcher
from httpsys.cli.static_files import (
    StaticFiles,
    content_type,
    evaluate_preconditions,
    make_etag,
    segments_below,
)

BIG = bytes((i * 7 + i // 251) & 0xFF for i in range(300_000))


# ----------------------------------------------------------------------------------------------- the server
class Site:
    """StaticFiles on a request queue, on a driver hosted by a loop in a background thread."""

    def __init__(self, root: Path, prefix_path: str = "/", **options: Any) -> None:
        self.port = free_port()
        self.loop = new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.files = StaticFiles(root, **options)
        depth = len([part for part in prefix_path.split("/") if part])
        self.session: ServerSession | None = None
        self.handled = 0  # requests that reached StaticFiles (not answered by the driver's cache)

        async def start() -> None:
            session = self.session = ServerSession()
            # in daemon mode the counts are the daemon's since this test began (tests/integration/conftest.py)
            self.baseline = session.transport.statistics() if DAEMON_MODE else {}
            queue = session.request_queue()
            group = session.url_group()
            group.add_url(f"http://127.0.0.1:{self.port}{prefix_path}")
            group.bind(queue)

            async def handle(request: Any) -> None:
                self.handled += 1
                await self.files.respond(request, segments_below(request.path, depth))

            RequestDispatcher(queue, handle).start()

        asyncio.run_coroutine_threadsafe(start(), self.loop).result(5)

    def stats(self) -> dict[str, int]:
        assert self.session is not None
        return counted_since(self.baseline, self.session.transport.statistics())

    def advance_clock(self, seconds: float) -> None:
        """Move the driver's monotonic clock forward (the cache's TimeToLive is measured on it)."""
        assert self.session is not None
        driver = self.session.transport.driver  # type: ignore[attr-defined]

        async def shift() -> None:
            real = driver.clock
            driver.clock = lambda: real() + seconds

        asyncio.run_coroutine_threadsafe(shift(), self.loop).result(5)

    def close(self) -> None:
        async def stop() -> None:
            assert self.session is not None
            transport = self.session.transport
            self.session.close()
            transport.close()  # type: ignore[attr-defined]

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


class Response:
    def __init__(self, status_line: bytes, headers: dict[str, str], body: bytes) -> None:
        self.status_line = status_line
        self.status = int(status_line.split()[1])
        self.headers = headers
        self.body = body


class Client:
    """One keep-alive connection; `get` sends a request and reads one response (HEAD-aware)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buf = b""

    def _fill(self) -> None:
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise EOFError(self.buf)
        self.buf += chunk

    def get(
        self, target: str | bytes, headers: dict[str, str] | None = None, method: str = "GET"
    ) -> Response:
        raw_target = target if isinstance(target, bytes) else target.encode()
        lines = [method.encode() + b" " + raw_target + b" HTTP/1.1", b"Host: 127.0.0.1"]
        lines += [f"{k}: {v}".encode() for k, v in (headers or {}).items()]
        self.sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n")
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        status_line, *fields = head.split(b"\r\n")
        parsed = {}
        for field in fields:
            name, _, value = field.partition(b":")
            parsed[name.decode().lower()] = value.strip().decode("latin-1")
        status = int(status_line.split()[1])
        length = 0 if method == "HEAD" or status in (204, 304) else int(parsed.get("content-length", "0"))
        while len(self.buf) < length:
            self._fill()
        body, self.buf = self.buf[:length], self.buf[length:]
        return Response(status_line, parsed, body)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "www"
    (root / "docs").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / "hello.txt").write_bytes(b"Hello from httpsys\n")
    (root / "big.bin").write_bytes(BIG)
    (root / "docs" / "index.html").write_bytes(b"<h1>docs</h1>\n")
    (root / ".secret").write_bytes(b"password\n")
    (root / "<b>&amp;.txt").write_bytes(b"x")
    (tmp_path / "outside.txt").write_bytes(b"root:x:0:0:outside\n")
    (root / "leak.txt").symlink_to(tmp_path / "outside.txt")
    (root / "leakdir").symlink_to(tmp_path)
    (root / "alias.txt").symlink_to(root / "hello.txt")
    os.mkfifo(root / "pipe")
    return root


@pytest.fixture
def site_factory(tree: Path) -> Iterator[Callable[..., Site]]:
    made: list[Site] = []

    def make(prefix_path: str = "/", **options: Any) -> Site:
        site = Site(tree, prefix_path, **options)
        made.append(site)
        return site

    yield make
    for site in made:
        site.close()


@pytest.fixture
def client(site_factory: Callable[..., Site]) -> Iterator[Client]:
    c = Client(site_factory().port)
    yield c
    c.close()


# ----------------------------------------------------------------------------------------------- plain GET
def test_file_is_served_with_exact_bytes_type_and_validators(client: Client, tree: Path) -> None:
    r = client.get("/hello.txt")
    st = (tree / "hello.txt").stat()
    assert r.status == 200
    assert r.body == b"Hello from httpsys\n"
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert r.headers["content-length"] == "19"
    assert r.headers["etag"] == f'"{st.st_size:x}-{st.st_mtime_ns:x}"'
    assert r.headers["last-modified"] == formatdate(int(st.st_mtime), usegmt=True)
    assert r.headers["accept-ranges"] == "bytes"
    assert "cache-control" not in r.headers


def test_large_binary_file_arrives_byte_for_byte(client: Client) -> None:
    r = client.get("/big.bin")
    assert r.status == 200
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.body == BIG


def test_missing_file_is_404(client: Client) -> None:
    assert client.get("/nope.txt").status == 404
    assert client.get("/docs/nope/deeper").status == 404


def test_file_requested_as_a_directory_is_404(client: Client) -> None:
    assert client.get("/hello.txt/").status == 404


def test_other_methods_get_405_with_allow(client: Client) -> None:
    r = client.get("/hello.txt", {"Content-Length": "0"}, method="DELETE")
    assert r.status == 405
    assert r.headers["allow"] == "GET, HEAD"


def test_cache_ttl_sends_cache_control(site_factory: Callable[..., Site]) -> None:
    c = Client(site_factory(cache_ttl=300).port)
    try:
        assert c.get("/hello.txt").headers["cache-control"] == "max-age=300"
    finally:
        c.close()


# ----------------------------------------------------------------------------------------------- driver cache
def test_cache_ttl_files_are_answered_by_the_driver_after_the_first_get(
    site_factory: Callable[..., Site],
) -> None:
    site = site_factory(cache_ttl=300)
    c = Client(site.port)
    try:
        first = c.get("/hello.txt")
        again = [c.get("/hello.txt") for _ in range(3)]
        head = c.get("/hello.txt", method="HEAD")
    finally:
        c.close()
    assert first.body == b"Hello from httpsys\n" and first.headers["cache-control"] == "max-age=300"
    for r in again:
        assert (r.status, r.body) == (200, first.body)
        assert {k: v for k, v in r.headers.items() if k != "date"} == {
            k: v for k, v in first.headers.items() if k != "date"
        }
    assert head.status == 200 and head.headers["content-length"] == "19" and head.body == b""
    assert site.handled == 1
    stats = site.stats()
    assert stats["cache_stores"] == 1 and stats["cache_hits"] == 4


@pytest.mark.embedded_only("inside")
def test_cache_ttl_bounds_how_long_a_changed_file_is_served_stale(
    site_factory: Callable[..., Site], tree: Path
) -> None:
    site = site_factory(cache_ttl=60)
    c = Client(site.port)
    try:
        old = c.get("/hello.txt")
        (tree / "hello.txt").write_bytes(b"Changed on disk!!!\n")
        assert c.get("/hello.txt").body == b"Hello from httpsys\n"  # the driver's copy, until the TTL ends
        site.advance_clock(61.0)
        new = c.get("/hello.txt")
    finally:
        c.close()
    assert new.body == b"Changed on disk!!!\n" and new.headers["etag"] != old.headers["etag"]
    assert site.handled == 2 and site.stats()["cache_expired"] == 1


def test_cache_ttl_ranges_follow_the_cache_rules(site_factory: Callable[..., Site]) -> None:
    site = site_factory(cache_ttl=300)
    c = Client(site.port)
    try:
        ranged = c.get("/hello.txt", {"Range": "bytes=0-4"})  # not stored: Range requests never are
        assert (ranged.status, ranged.body, site.handled) == (206, b"Hello", 1)
        assert site.stats()["cache_stores"] == 0
        c.get("/hello.txt")
        assert site.handled == 2
        cut = c.get("/hello.txt", {"Range": "bytes=6-9"})  # cut from the cached entry by the driver
        unsatisfiable = c.get("/hello.txt", {"Range": "bytes=500-"})
    finally:
        c.close()
    assert (cut.status, cut.body, cut.headers["content-range"]) == (206, b"from", "bytes 6-9/19")
    assert unsatisfiable.status == 416
    assert site.handled == 2


def test_cache_ttl_conditional_get_of_a_cached_file_gets_the_full_200(
    site_factory: Callable[..., Site],
) -> None:
    site = site_factory(cache_ttl=300)
    c = Client(site.port)
    try:
        etag = c.get("/hello.txt").headers["etag"]
        r = c.get("/hello.txt", {"If-None-Match": etag})
    finally:
        c.close()
    # The cache does not evaluate validators (HTTP.sys does not either): a full 200 is always a correct answer.
    assert (r.status, r.body) == (200, b"Hello from httpsys\n")
    assert site.handled == 1


def test_cache_ttl_keeps_what_http_sys_may_cache_and_nothing_else(site_factory: Callable[..., Site]) -> None:
    site = site_factory(cache_ttl=300, listing=True)
    c = Client(site.port)
    try:
        for _ in range(2):
            assert c.get("/hello.txt", method="HEAD").status == 200  # HEAD does not store
            assert len(c.get("/big.bin").body) == len(BIG)  # above UriMaxUriBytes (256 KiB)
            assert c.get("/missing.txt").status == 404  # not a 200
            assert c.get("/empty/").status == 200  # a listing: generated, sent without a policy
            assert c.get("/hello.txt?v=1").status == 200  # a query string
        assert c.get("/docs/").body == b"<h1>docs</h1>\n"  # index.html: stored under the directory URL
        assert c.get("/docs/").body == b"<h1>docs</h1>\n"
    finally:
        c.close()
    assert site.handled == 11
    assert site.stats()["cache_stores"] == 1


def test_cache_ttl_zero_sends_max_age_zero_and_caches_nothing(site_factory: Callable[..., Site]) -> None:
    site = site_factory(cache_ttl=0)
    c = Client(site.port)
    try:
        assert [c.get("/hello.txt").headers["cache-control"] for _ in range(2)] == ["max-age=0"] * 2
    finally:
        c.close()
    assert site.handled == 2 and site.stats()["cache_stores"] == 0


# ----------------------------------------------------------------------------------------------- HEAD
def test_head_gives_headers_and_file_length_without_body(client: Client) -> None:
    r = client.get("/big.bin", method="HEAD")
    assert r.status == 200
    assert r.headers["content-length"] == str(len(BIG))
    assert "etag" in r.headers
    # No body followed: the next response on the connection parses cleanly.
    assert client.get("/hello.txt").body == b"Hello from httpsys\n"


# ----------------------------------------------------------------------------------------------- ranges
def test_range_gives_206_with_the_exact_slice(client: Client) -> None:
    r = client.get("/big.bin", {"Range": "bytes=1000-70999"})
    assert r.status == 206
    assert r.headers["content-range"] == f"bytes 1000-70999/{len(BIG)}"
    assert r.body == BIG[1000:71000]


def test_suffix_range_gives_the_last_bytes(client: Client) -> None:
    r = client.get("/big.bin", {"Range": "bytes=-500"})
    assert r.status == 206
    assert r.body == BIG[-500:]


def test_multi_range_gives_multipart_byteranges_with_each_slice(client: Client) -> None:
    r = client.get("/big.bin", {"Range": "bytes=0-9,200000-200099"})
    assert r.status == 206
    m = re.fullmatch(r"multipart/byteranges; boundary=(\S+)", r.headers["content-type"])
    assert m is not None
    boundary = m.group(1).encode()
    parts = r.body.split(b"--" + boundary)
    assert parts[-1].strip() == b"--"
    bodies = []
    for part in parts[1:-1]:
        head, _, data = part.partition(b"\r\n\r\n")
        assert b"Content-Range: bytes" in head
        bodies.append(data[:-2])  # CRLF before the next delimiter
    assert bodies == [BIG[0:10], BIG[200000:200100]]


def test_unsatisfiable_range_gives_416(client: Client) -> None:
    r = client.get("/hello.txt", {"Range": "bytes=500-"})
    assert r.status == 416
    assert r.headers["content-range"] == "bytes */19"


def test_if_range_with_current_etag_gives_206_and_stale_gives_200(client: Client) -> None:
    etag = client.get("/hello.txt", method="HEAD").headers["etag"]
    assert client.get("/hello.txt", {"Range": "bytes=0-4", "If-Range": etag}).body == b"Hello"
    stale = client.get("/hello.txt", {"Range": "bytes=0-4", "If-Range": '"0-0"'})
    assert stale.status == 200
    assert stale.body == b"Hello from httpsys\n"


# ----------------------------------------------------------------------------------------------- 304 / 412
def test_if_none_match_gives_304_without_body(client: Client) -> None:
    etag = client.get("/hello.txt").headers["etag"]
    r = client.get("/hello.txt", {"If-None-Match": f'"other", {etag}'})
    assert r.status == 304
    assert r.headers["etag"] == etag
    assert "content-length" not in r.headers
    weak = client.get("/hello.txt", {"If-None-Match": "W/" + etag})
    assert weak.status == 304  # If-None-Match uses the weak comparison
    assert client.get("/hello.txt", {"If-None-Match": '"nope"'}).status == 200


def test_if_modified_since_gives_304_unless_modified_later(client: Client, tree: Path) -> None:
    mtime = int((tree / "hello.txt").stat().st_mtime)
    assert client.get("/hello.txt", {"If-Modified-Since": formatdate(mtime, usegmt=True)}).status == 304
    earlier = client.get("/hello.txt", {"If-Modified-Since": formatdate(mtime - 60, usegmt=True)})
    assert earlier.status == 200
    assert earlier.body == b"Hello from httpsys\n"
    assert client.get("/hello.txt", {"If-Modified-Since": "not a date"}).status == 200


def test_if_none_match_takes_precedence_over_if_modified_since(client: Client, tree: Path) -> None:
    mtime = int((tree / "hello.txt").stat().st_mtime)
    r = client.get(
        "/hello.txt", {"If-None-Match": '"nope"', "If-Modified-Since": formatdate(mtime, usegmt=True)}
    )
    assert r.status == 200


def test_if_match_mismatch_gives_412(client: Client) -> None:
    assert client.get("/hello.txt", {"If-Match": '"nope"'}).status == 412
    etag = client.get("/hello.txt", method="HEAD").headers["etag"]
    assert client.get("/hello.txt", {"If-Match": etag}).status == 200


def test_weak_etags_when_asked(site_factory: Callable[..., Site]) -> None:
    c = Client(site_factory(etag="weak").port)
    try:
        etag = c.get("/hello.txt").headers["etag"]
        assert etag.startswith('W/"')
        assert c.get("/hello.txt", {"If-None-Match": etag}).status == 304
        # If-Range needs a strong validator: the driver sends the whole file.
        assert c.get("/hello.txt", {"Range": "bytes=0-4", "If-Range": etag}).status == 200
    finally:
        c.close()


# ----------------------------------------------------------------------------------------------- escapes
@pytest.mark.parametrize(
    "target",
    [
        b"/..%2f..%2fetc/passwd",
        b"/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        b"/docs/../../../etc/passwd",
        b"/..%5c..%5c..%5cetc%5cpasswd",
        b"//etc/passwd",
        b"/%2fetc%2fpasswd",
        b"/leakdir/outside.txt",
        b"/leak.txt",
        b"/docs/%2e%2e/%2e%2e/outside.txt",
    ],
)
def test_paths_leaving_the_directory_are_refused(client: Client, target: bytes) -> None:
    r = client.get(target)
    assert r.status in (400, 404)
    assert b"root:" not in r.body


def test_symlink_inside_the_directory_is_followed(client: Client) -> None:
    assert client.get("/alias.txt").body == b"Hello from httpsys\n"


def test_hidden_files_are_not_served(client: Client) -> None:
    assert client.get("/.secret").status == 404


def test_fifo_is_404_and_does_not_block(client: Client) -> None:
    started = time.monotonic()
    assert client.get("/pipe").status == 404
    assert time.monotonic() - started < 2


# ----------------------------------------------------------------------------------------------- directories
def test_directory_without_slash_redirects_with_query_kept(client: Client) -> None:
    r = client.get("/docs?x=1")
    assert r.status == 301
    assert r.headers["location"] == "/docs/?x=1"


def test_directory_serves_its_index_html(client: Client) -> None:
    r = client.get("/docs/")
    assert r.status == 200
    assert r.body == b"<h1>docs</h1>\n"
    assert r.headers["content-type"] == "text/html; charset=utf-8"


def test_listing_is_off_by_default(client: Client) -> None:
    assert client.get("/").status == 404
    assert client.get("/empty/").status == 404


def test_listing_when_enabled_escapes_names_and_hides_escapes(site_factory: Callable[..., Site]) -> None:
    c = Client(site_factory(listing=True).port)
    try:
        r = c.get("/")
        assert r.status == 200
        assert r.headers["content-type"] == "text/html; charset=utf-8"
        page = r.body.decode()
        assert '<a href="hello.txt">hello.txt</a>' in page
        assert '<a href="docs/">docs/</a>' in page
        assert '<a href="%3Cb%3E&amp;amp;.txt">&lt;b&gt;&amp;amp;.txt</a>' in page
        assert "<b>" not in page
        assert ".secret" not in page and "leak" not in page and "pipe" not in page
        assert "alias.txt" in page
        sub = c.get("/empty/")
        assert sub.status == 200 and '<a href="../">' in sub.body.decode()
    finally:
        c.close()


def test_url_prefix_below_the_root_maps_to_the_directory(site_factory: Callable[..., Site]) -> None:
    c = Client(site_factory("/static/").port)
    try:
        assert c.get("/static/hello.txt").body == b"Hello from httpsys\n"
        assert c.get("/STATIC/docs/").body == b"<h1>docs</h1>\n"
        assert c.get("/static").headers["location"] == "/static/"
    finally:
        c.close()


# ----------------------------------------------------------------------------------------------- pure parts
def _headers(**fields: str) -> Headers:
    return Headers([(k.replace("_", "-").encode(), v.encode()) for k, v in fields.items()])


def test_preconditions_follow_rfc_9110_order() -> None:
    etag = '"13-abc"'
    assert evaluate_preconditions("GET", _headers(), etag, 1000) == 200
    assert evaluate_preconditions("GET", _headers(if_match="*"), etag, 1000) == 200
    assert evaluate_preconditions("GET", _headers(if_match='W/"13-abc"'), etag, 1000) == 412
    old = formatdate(900, usegmt=True)
    assert evaluate_preconditions("GET", _headers(if_unmodified_since=old), etag, 1000) == 412
    assert evaluate_preconditions("PUT", _headers(if_none_match="*"), etag, 1000) == 412
    assert evaluate_preconditions("HEAD", _headers(if_none_match='"x", "13-abc"'), etag, 1000) == 304
    later = formatdate(1000, usegmt=True)
    assert evaluate_preconditions("POST", _headers(if_modified_since=later), etag, 1000) == 200


def test_etag_and_content_type_helpers(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 255)
    os.utime(path, ns=(0, 0x1234))
    st = path.stat()
    assert make_etag(st) == '"ff-1234"'
    assert make_etag(st, weak=True) == 'W/"ff-1234"'
    assert content_type("x/APP.JS") == "text/javascript; charset=utf-8"
    assert content_type("logo.svg") == "image/svg+xml"
    assert content_type("noext") == "application/octet-stream"
    assert segments_below("/a/b/", 1) == ["b", ""]
