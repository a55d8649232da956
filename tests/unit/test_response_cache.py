"""The kernel response cache (spec §5.8, §6 K 135-137) with a fake clock: storing rules, hits, expiry, flushing."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from httpsys._core.canned import format_http_date
from httpsys._core.response import (
    HTTP_RESPONSE_FLAG_MULTIPLE_ENCODINGS_AVAILABLE,
    RESPONSE_HEADER_IDS,
    ResponseSpec,
    plan_response,
    render_head,
)
from httpsys._core.response_cache import RememberedRequest, ResponseCache, cache_key, valid_http_date

DATE1 = b"Wed, 25 Nov 2026 01:00:00 GMT"
DATE2 = b"Wed, 25 Nov 2026 01:00:01 GMT"
URL = "http://localhost:8080/hello"
HOST = [(b"Host", b"localhost:8080")]
BODY = b"Hello, World!"
CT = RESPONSE_HEADER_IDS[b"content-type"]
CL = RESPONSE_HEADER_IDS[b"content-length"]
TE = RESPONSE_HEADER_IDS[b"transfer-encoding"]
LM = RESPONSE_HEADER_IDS[b"last-modified"]
ETAG = RESPONSE_HEADER_IDS[b"etag"]
CONNECTION = RESPONSE_HEADER_IDS[b"connection"]
SET_COOKIE = RESPONSE_HEADER_IDS[b"set-cookie"]


def make_spec(
    status: int = 200,
    known: dict[int, list[bytes]] | None = None,
    unknown: list[tuple[bytes, bytes]] | None = None,
    flags: int = 0,
) -> ResponseSpec:
    return ResponseSpec(
        status=status,
        reason=b"OK",
        known=known if known is not None else {CT: [b"text/plain"]},
        unknown=unknown or [],
        flags=flags,
    )


def store(
    cache: ResponseCache,
    url: str = URL,
    *,
    method: bytes = b"GET",
    headers: list[tuple[bytes, bytes]] | None = None,
    version: tuple[int, int] = (1, 1),
    spec: ResponseSpec | None = None,
    body: bytes | None = BODY,
    policy: int = 1,
    seconds: int = 0,
    now: float = 0.0,
    local_port: int | None = None,
) -> bool:
    return cache.store(
        method,
        url,
        HOST + (headers or []),
        version,
        spec or make_spec(),
        body,
        policy,
        seconds,
        now,
        local_port=local_port,
    )


def lookup(
    cache: ResponseCache,
    url: str = URL,
    *,
    method: bytes = b"GET",
    headers: list[tuple[bytes, bytes]] | None = None,
    version: tuple[int, int] = (1, 1),
    keep_alive: bool = True,
    now: float = 1.0,
    date: bytes = DATE1,
    local_port: int | None = None,
) -> tuple[bytes, int, bool] | None:
    return cache.lookup(
        method, url, HOST + (headers or []), version, keep_alive, now, date, local_port=local_port
    )


def driver_bytes(
    spec: ResponseSpec,
    body: bytes,
    date: bytes,
    *,
    keep_alive: bool = True,
    method: bytes = b"GET",
    version: tuple[int, int] = (1, 1),
) -> bytes:
    """What the driver itself sends for this response (the cache must be byte-identical)."""
    plan = plan_response(
        spec,
        request_method=method,
        request_version=version,
        request_keep_alive=keep_alive,
        flags=0,
        final=True,
        entity_length=len(body),
    )
    return render_head(spec, plan, date=date) + (body if method == b"GET" else b"")


def split(wire: bytes) -> tuple[list[bytes], bytes]:
    head, _, body = wire.partition(b"\r\n\r\n")
    return head.split(b"\r\n"), body


@pytest.fixture
def cache() -> ResponseCache:
    return ResponseCache()


# ------------------------------------------------------------------------------------------------------ hits
def test_hit_is_byte_identical_to_the_driver_response_with_the_fresh_date(cache: ResponseCache) -> None:
    assert store(cache)
    hit = lookup(cache, date=DATE2)
    assert hit == (driver_bytes(make_spec(), BODY, DATE2), 200, False)
    assert b"Date: " + DATE2 + b"\r\n" in hit[0]


def test_each_hit_carries_the_date_passed_in(cache: ResponseCache) -> None:
    store(cache)
    first, second = lookup(cache, date=DATE1), lookup(cache, date=DATE2)
    assert first is not None and second is not None
    assert first[0].replace(DATE1, DATE2) == second[0]


def test_head_is_served_from_the_get_entry_without_the_entity(cache: ResponseCache) -> None:
    store(cache)
    hit = lookup(cache, method=b"HEAD")
    assert hit is not None
    lines, body = split(hit[0])
    assert body == b""
    assert b"Content-Length: 13" in lines
    assert hit[0] == driver_bytes(make_spec(), BODY, DATE1, method=b"HEAD")


def test_request_without_keep_alive_gets_connection_close_and_close_flag(cache: ResponseCache) -> None:
    store(cache)
    hit = lookup(cache, keep_alive=False, version=(1, 0))
    assert hit is not None
    assert hit == (driver_bytes(make_spec(), BODY, DATE1, keep_alive=False), 200, True)
    assert b"Connection: close\r\n" in hit[0]


@pytest.mark.parametrize("method", [b"GET", b"HEAD"])
def test_http10_keep_alive_hit_says_connection_keep_alive_and_stays_open(
    cache: ResponseCache, method: bytes
) -> None:
    store(cache, version=(1, 0))
    hit = lookup(cache, method=method, version=(1, 0), keep_alive=True)
    expected = driver_bytes(make_spec(), BODY, DATE1, method=method, version=(1, 0))
    assert hit == (expected, 200, False)
    lines, _body = split(hit[0])
    assert lines[-3:] == [b"Date: " + DATE1, b"Connection: keep-alive", b"Content-Length: 13"]


def test_http11_keep_alive_hit_after_a_http10_one_has_no_connection_header(cache: ResponseCache) -> None:
    store(cache)
    assert lookup(cache, version=(1, 0)) is not None
    hit = lookup(cache, version=(1, 1))
    assert hit is not None and b"Connection" not in hit[0] and hit[2] is False


def test_http10_keep_alive_range_hit_says_keep_alive(cache: ResponseCache) -> None:
    store(cache)
    hit = lookup(cache, version=(1, 0), headers=[(b"Range", b"bytes=0-4")])
    assert hit is not None and hit[1] == 206 and hit[2] is False
    assert b"Connection: keep-alive\r\n" in hit[0]
    eleven = lookup(cache, headers=[(b"Range", b"bytes=0-4")])
    assert eleven is not None and b"Connection" not in eleven[0]


def test_http10_hit_of_a_response_with_a_foreign_connection_header_closes(cache: ResponseCache) -> None:
    store(cache, spec=make_spec(known={CT: [b"text/plain"], CONNECTION: [b"x-hop"]}))
    ten = lookup(cache, version=(1, 0))
    assert ten is not None and ten[2] is True and ten[0].count(b"Connection:") == 1
    eleven = lookup(cache)
    assert eleven is not None and eleven[2] is False


def test_unknown_server_header_of_a_cached_response_is_sent_once(cache: ResponseCache) -> None:
    store(cache, spec=make_spec(unknown=[(b"server", b"MyApp")]))
    for version in ((1, 1), (1, 0)):
        hit = lookup(cache, version=version)
        assert hit is not None
        assert hit[0].count(b"Server:") == 1 and b"Server: MyApp Microsoft-HTTPAPI/2.0\r\n" in hit[0]


def test_app_connection_close_makes_every_hit_close(cache: ResponseCache) -> None:
    store(cache, spec=make_spec(known={CT: [b"text/plain"], CONNECTION: [b"close"]}))
    hit = lookup(cache)
    assert hit is not None and hit[2] is True


def test_app_content_length_equal_to_the_entity_is_kept(cache: ResponseCache) -> None:
    spec = make_spec(known={CT: [b"text/plain"], CL: [b"13"]})
    assert store(cache, spec=spec)
    hit = lookup(cache)
    assert hit is not None and hit[0].count(b"Content-Length") == 1


def test_server_mode_is_applied_to_the_stored_head() -> None:
    cache = ResponseCache(server_mode=2)
    store(cache)
    hit = lookup(cache)
    assert hit is not None and b"Server:" not in hit[0]


def test_set_cookie_responses_are_cached_as_http_sys_does(cache: ResponseCache) -> None:
    assert store(cache, spec=make_spec(known={SET_COOKIE: [b"a=b"]}))
    hit = lookup(cache)
    assert hit is not None and b"Set-Cookie: a=b" in hit[0]


def test_conditional_headers_are_not_evaluated(cache: ResponseCache) -> None:
    store(cache, spec=make_spec(known={ETAG: [b'"v1"']}))
    hit = lookup(cache, headers=[(b"If-None-Match", b'"v1"')])
    assert hit is not None and hit[1] == 200 and hit[0].endswith(BODY)


def test_overwrite_replaces_the_entry_and_its_byte_count(cache: ResponseCache) -> None:
    store(cache, body=b"old")
    bytes_before = cache.stats()["cache_bytes"]
    assert store(cache, body=b"newer body")
    hit = lookup(cache)
    assert hit is not None and hit[0].endswith(b"newer body")
    assert len(cache) == 1
    assert cache.stats()["cache_bytes"] == bytes_before + len(b"newer body") - len(b"old") + 1  # "10" vs "3"


# ------------------------------------------------------------------------------------------------- keys
def test_scheme_and_host_are_case_folded_but_the_path_is_not(cache: ResponseCache) -> None:
    store(cache, "HTTP://LocalHost:8080/hello")
    assert lookup(cache, "http://localhost:8080/hello") is not None
    assert lookup(cache, "http://LOCALHOST:8080/hello") is not None
    assert lookup(cache, "http://localhost:8080/HELLO") is None


def test_missing_port_uses_the_local_port_or_the_scheme_default() -> None:
    assert cache_key("http://Example.COM./a") == "http://example.com:80/a"
    assert cache_key("https://example.com/a") == "https://example.com:443/a"
    assert cache_key("http://example.com/a", 8080) == "http://example.com:8080/a"
    assert cache_key("http://[::1]:81/a") == "http://[::1]:81/a"
    assert cache_key("http://[::1]/a", 82) == "http://[::1]:82/a"


def test_host_without_port_meets_host_with_the_same_local_port(cache: ResponseCache) -> None:
    store(cache, "http://localhost/hello", local_port=8080)
    assert lookup(cache, "http://localhost:8080/hello") is not None
    assert lookup(cache, "http://localhost/hello", local_port=9090) is None


# ----------------------------------------------------------------------------------------- storing rules
@pytest.mark.parametrize(
    ("headers", "cached"),
    [
        ([], True),
        ([(b"Authorization", b"Basic Zm9vOmJhcg==")], False),
        ([(b"Range", b"bytes=0-1")], False),
        ([(b"If-Range", b'"v1"')], False),
        ([(b"Translate", b"f")], False),
        ([(b"Translate", b"t")], True),
        ([(b"Expect", b"100-continue")], True),
        ([(b"Expect", b"something-else")], False),
        ([(b"Content-Length", b"5")], False),
        ([(b"Content-Length", b"0")], True),
        ([(b"Transfer-Encoding", b"chunked")], False),
    ],
)
def test_request_headers_decide_whether_a_response_is_stored(
    cache: ResponseCache, headers: list[tuple[bytes, bytes]], cached: bool
) -> None:
    assert store(cache, headers=headers) is cached
    assert len(cache) == (1 if cached else 0)


@pytest.mark.parametrize("method", [b"HEAD", b"POST", b"PUT", b"get", b"OPTIONS"])
def test_only_get_responses_are_stored(cache: ResponseCache, method: bytes) -> None:
    assert not store(cache, method=method)


@pytest.mark.parametrize(
    ("version", "cached"), [((1, 0), True), ((1, 1), True), ((0, 9), False), ((2, 0), True), ((3, 0), False)]
)
def test_http_version_must_be_1_0_1_1_or_2_0(
    cache: ResponseCache, version: tuple[int, int], cached: bool
) -> None:
    assert store(cache, version=version) is cached


@pytest.mark.parametrize("status", [201, 204, 206, 301, 304, 404, 500])
def test_only_200_responses_are_stored(cache: ResponseCache, status: int) -> None:
    assert not store(cache, spec=make_spec(status=status))


@pytest.mark.parametrize(
    ("policy", "seconds", "cached"), [(0, 0, False), (1, 0, True), (2, 5, True), (2, 0, False), (3, 5, False)]
)
def test_cache_policy_types(cache: ResponseCache, policy: int, seconds: int, cached: bool) -> None:
    assert store(cache, policy=policy, seconds=seconds) is cached


def test_query_string_requests_are_not_stored(cache: ResponseCache) -> None:
    assert not store(cache, URL + "?a=1")
    assert store(cache)
    assert lookup(cache, URL + "?a=1") is None


def test_response_over_uri_max_uri_bytes_is_not_stored() -> None:
    probe = ResponseCache()
    assert store(probe, body=b"x" * 100)
    size = probe.stats()["cache_bytes"]
    assert store(ResponseCache(max_uri_bytes=size), body=b"x" * 100)
    assert not store(ResponseCache(max_uri_bytes=size - 1), body=b"x" * 100)


def test_full_cache_refuses_new_entries() -> None:
    probe = ResponseCache()
    store(probe)
    size = probe.stats()["cache_bytes"]
    small = ResponseCache(max_cache_bytes=size)
    assert store(small, URL)
    assert not store(small, URL + "2")
    assert store(small, URL, body=b"Hello, World?")  # replacing the one entry fits


def admits(
    cache: ResponseCache, length: int, url: str = URL, method: bytes = b"GET", status: int = 200
) -> bool:
    return cache.admits(method, url, HOST, (1, 1), make_spec(status), 2, 60, length)


def test_admits_answers_before_the_entity_exists_and_counts_a_refusal() -> None:
    cache = ResponseCache(max_uri_bytes=1000)
    assert admits(cache, 1000)
    assert not admits(cache, 1001)  # the entity alone exceeds UriMaxUriBytes
    assert not admits(cache, 10, method=b"HEAD")
    assert not admits(cache, 10, status=404)
    assert not admits(cache, 10, url=URL + "?q=1")
    assert cache.stats()["cache_rejected"] == 4
    assert cache.stats()["cache_stores"] == 0  # asking stores nothing


def test_admits_counts_the_room_an_entry_for_the_same_url_would_free() -> None:
    probe = ResponseCache()
    store(probe)
    size = probe.stats()["cache_bytes"]
    small = ResponseCache(max_cache_bytes=size)
    assert store(small, URL)
    assert admits(small, len(BODY))  # replacing the one entry fits
    assert not admits(small, len(BODY), url=URL + "2")


def test_store_without_an_entity_is_a_refusal(cache: ResponseCache) -> None:
    assert not store(cache, body=None)
    assert cache.stats()["cache_rejected"] == 1 and len(cache) == 0


def test_disabled_cache_stores_nothing() -> None:
    cache = ResponseCache(enabled=False)
    assert not store(cache)
    assert len(cache) == 0


@pytest.mark.parametrize(
    "known",
    [
        {TE: [b"chunked"]},
        {CL: [b"12"]},
        {CL: [b"abc"]},
        {LM: [b"yesterday"]},
        {LM: [b"Wed, 31 Nov 2026 01:00:00 GMT"]},
    ],
)
def test_responses_that_cannot_be_replayed_are_not_stored(
    cache: ResponseCache, known: dict[int, list[bytes]]
) -> None:
    assert not store(cache, spec=make_spec(known=known))


def test_unknown_transfer_encoding_header_prevents_caching(cache: ResponseCache) -> None:
    assert not store(cache, spec=make_spec(unknown=[(b"transfer-encoding", b"chunked")]))


def test_multiple_encodings_available_flag_prevents_caching(cache: ResponseCache) -> None:
    assert not store(cache, spec=make_spec(flags=HTTP_RESPONSE_FLAG_MULTIPLE_ENCODINGS_AVAILABLE))


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        (b"Sun, 06 Nov 1994 08:49:37 GMT", True),
        (b"Sunday, 06-Nov-94 08:49:37 GMT", True),
        (b"Sun Nov  6 08:49:37 1994", True),
        (b"Sun, 06 Nov 1994 08:49:37 UTC", False),
        (b"Sun, 06 Nov 1994 24:00:00 GMT", False),
        (b"Sun, 31 Apr 1994 08:49:37 GMT", False),
        (b"1994-11-06T08:49:37Z", False),
        (b"", False),
    ],
)
def test_last_modified_syntax(value: bytes, valid: bool) -> None:
    assert valid_http_date(value) is valid


def test_valid_last_modified_is_cached(cache: ResponseCache) -> None:
    assert store(cache, spec=make_spec(known={LM: [b"Sun, 06 Nov 1994 08:49:37 GMT"]}))


# ------------------------------------------------------------------------------------------ lookup rules
@pytest.mark.parametrize(
    "headers",
    [
        [(b"Authorization", b"Basic Zm9vOmJhcg==")],
        [(b"Translate", b"f")],
        [(b"Expect", b"nope")],
    ],
)
def test_requests_the_cache_must_not_answer_go_to_the_application(
    cache: ResponseCache, headers: list[tuple[bytes, bytes]]
) -> None:
    store(cache)
    assert lookup(cache, headers=headers) is None


@pytest.mark.parametrize("version", [(0, 9), (3, 0)])
def test_lookup_requires_http_1_or_2(cache: ResponseCache, version: tuple[int, int]) -> None:
    store(cache)
    assert lookup(cache, version=version) is None


def test_lookup_for_http2_gets_the_http11_rendering_its_stream_frames(cache: ResponseCache) -> None:
    store(cache)
    hit = lookup(cache, version=(2, 0))
    assert hit is not None and hit[0].startswith(b"HTTP/1.1 200 OK\r\n") and hit[0].endswith(b"Hello, World!")


def test_other_verbs_miss(cache: ResponseCache) -> None:
    store(cache)
    assert lookup(cache, method=b"POST") is None


# ------------------------------------------------------------------------------------------------- ranges
def test_single_range_is_cut_from_the_entry(cache: ResponseCache) -> None:
    store(cache)
    hit = lookup(cache, headers=[(b"Range", b"bytes=0-4")])
    assert hit is not None
    lines, body = split(hit[0])
    assert lines[0] == b"HTTP/1.1 206 Partial Content"
    assert b"Content-Range: bytes 0-4/13" in lines
    assert b"Content-Length: 5" in lines
    assert body == b"Hello"
    assert hit[1] == 206 and hit[2] is False


def test_multiple_ranges_give_multipart_byteranges(cache: ResponseCache) -> None:
    store(cache)
    hit = lookup(cache, headers=[(b"Range", b"bytes=0-1, 7-11")])
    assert hit is not None and hit[1] == 206
    lines, body = split(hit[0])
    content_type = next(line for line in lines if line.startswith(b"Content-Type: multipart/byteranges"))
    boundary = content_type.split(b"boundary=")[1]
    assert boundary not in BODY
    parts = body.split(b"--" + boundary)
    assert parts[-1] == b"--\r\n"
    payloads = [part.split(b"\r\n\r\n", 1)[1].removesuffix(b"\r\n") for part in parts[1:-1]]
    assert payloads == [b"He", b"World"]
    length = int(next(line for line in lines if line.startswith(b"Content-Length: ")).split(b": ")[1])
    assert length == len(body)


def test_unsatisfiable_range_gives_416(cache: ResponseCache) -> None:
    store(cache)
    hit = lookup(cache, headers=[(b"Range", b"bytes=100-")])
    assert hit is not None and hit[1] == 416
    lines, body = split(hit[0])
    assert b"Content-Range: bytes */13" in lines and body == b""


def test_if_range_mismatch_gives_the_full_entity(cache: ResponseCache) -> None:
    store(cache, spec=make_spec(known={ETAG: [b'"v2"']}))
    hit = lookup(cache, headers=[(b"Range", b"bytes=0-4"), (b"If-Range", b'"v1"')])
    assert hit is not None and hit[1] == 200 and hit[0].endswith(BODY)
    hit = lookup(cache, headers=[(b"Range", b"bytes=0-4"), (b"If-Range", b'"v2"')])
    assert hit is not None and hit[1] == 206


def test_head_with_range_gets_the_plain_head(cache: ResponseCache) -> None:
    store(cache)
    hit = lookup(cache, method=b"HEAD", headers=[(b"Range", b"bytes=0-4")])
    assert hit is not None and hit[1] == 200 and hit[0].endswith(b"\r\n\r\n")


def test_range_on_a_closing_request_closes(cache: ResponseCache) -> None:
    store(cache)
    hit = lookup(cache, headers=[(b"Range", b"bytes=0-4")], keep_alive=False)
    assert hit is not None and hit[2] is True and b"Connection: close" in hit[0]


# ------------------------------------------------------------------------------------------------- expiry
def test_time_to_live_expires_the_entry(cache: ResponseCache) -> None:
    store(cache, policy=2, seconds=10, now=100.0)
    assert lookup(cache, now=109.9) is not None
    assert lookup(cache, now=110.0) is None
    assert len(cache) == 0
    assert cache.stats()["cache_expired"] == 1


def test_user_invalidates_lives_until_flushed(cache: ResponseCache) -> None:
    store(cache, policy=1, now=0.0)
    assert lookup(cache, now=1e9) is not None
    assert cache.flush("http://localhost:8080/hello", False) == 1
    assert lookup(cache, now=1e9 + 1) is None


def test_scavenger_evicts_entries_not_hit_for_the_period() -> None:
    cache = ResponseCache(scavenger_period=120)
    store(cache, URL + "/idle", now=0.0)
    store(cache, URL + "/busy", now=0.0)
    assert lookup(cache, URL + "/busy", now=100.0) is not None
    assert cache.scavenge(119.0) == 0
    assert cache.scavenge(130.0) == 1
    assert cache.entry(URL + "/idle") is None
    assert cache.entry(URL + "/busy") is not None
    assert cache.scavenge(221.0) == 1
    assert len(cache) == 0
    assert cache.stats()["cache_scavenged"] == 2


def test_scavenger_removes_expired_ttl_entries(cache: ResponseCache) -> None:
    store(cache, policy=2, seconds=5, now=0.0)
    assert cache.scavenge(5.0) == 1
    assert cache.stats()["cache_bytes"] == 0


# -------------------------------------------------------------------------------------------------- flush
def fill(cache: ResponseCache) -> None:
    for path in ("/a", "/a/", "/a/b", "/a/b/c", "/ab", "/A/d", "/other"):
        assert store(cache, "http://localhost:8080" + path)


def remaining(cache: ResponseCache) -> set[str]:
    paths = ("/a", "/a/", "/a/b", "/a/b/c", "/ab", "/A/d", "/other")
    return {p for p in paths if cache.entry("http://localhost:8080" + p) is not None}


def test_flush_without_recursive_removes_only_the_named_url(cache: ResponseCache) -> None:
    fill(cache)
    assert cache.flush("http://localhost:8080/a", False) == 2  # "/a" and "/a/"
    assert remaining(cache) == {"/a/b", "/a/b/c", "/ab", "/A/d", "/other"}


def test_flush_recursive_removes_descendants_only(cache: ResponseCache) -> None:
    fill(cache)
    assert cache.flush("http://localhost:8080/a/", True) == 5
    assert remaining(cache) == {"/ab", "/other"}


def test_flush_matches_wildcard_hosts_and_requires_the_port(cache: ResponseCache) -> None:
    fill(cache)
    assert cache.flush("http://+:9090/", True) == 0
    assert cache.flush("http://otherhost:8080/", True) == 0
    assert cache.flush("http://*:8080/other", False) == 1
    assert cache.flush("http://+:8080/", True) == 6
    assert len(cache) == 0 and cache.stats()["cache_bytes"] == 0


def test_flush_prefix_is_percent_decoded(cache: ResponseCache) -> None:
    store(cache, "http://localhost:8080/a b")
    assert cache.flush("http://LOCALHOST:8080/a%20B", False) == 1


def test_clear_removes_everything(cache: ResponseCache) -> None:
    fill(cache)
    assert cache.clear() == 7
    assert len(cache) == 0 and cache.stats()["cache_bytes"] == 0


# -------------------------------------------------------------------------------------------------- stats
def test_stats_count_hits_misses_entries_and_bytes(cache: ResponseCache) -> None:
    store(cache)
    lookup(cache)
    lookup(cache, method=b"HEAD")
    lookup(cache, URL + "/nothing")
    stats = cache.stats()
    assert stats["cache_hits"] == 2
    assert stats["cache_misses"] == 1
    assert stats["cache_entries"] == 1
    entry = cache.entry(URL)
    assert entry is not None and entry.hits == 2
    wire = lookup(cache)
    assert wire is not None and stats["cache_bytes"] == len(wire[0])
    assert stats["cache_stores"] == 1
    store(cache, method=b"POST")
    assert cache.stats()["cache_rejected"] == 1


def test_hit_uses_pre_rendered_pieces(cache: ResponseCache) -> None:
    store(cache)
    entry = cache.entry(URL)
    assert entry is not None
    assert entry.keep_before.endswith(b"Date: ")
    assert entry.keep_tail == entry.keep_after + BODY
    assert re.fullmatch(rb"\r\n(Content-Length: 13\r\n)?\r\n" + re.escape(BODY), entry.keep_tail)


# ------------------------------------------------------------------------------------- remembered requests
RAW = b"GET /hello HTTP/1.1\r\nHost: localhost:8080\r\n\r\n"
LOCAL = ("127.0.0.1", 8080)
WALL1 = 1795568400.25  # the Unix time of DATE1 (Wed, 25 Nov 2026 01:00:00 GMT), a quarter second in
WALL2 = WALL1 + 1.0  # DATE2


def remember(
    cache: ResponseCache,
    route: object,
    raw: bytes = RAW,
    local: tuple[str, int] = LOCAL,
    *,
    method: bytes = b"GET",
    headers: list[tuple[bytes, bytes]] | None = None,
    version: tuple[int, int] = (1, 1),
    scheme: str = "http",
) -> RememberedRequest | None:
    return cache.remember(
        local, raw, route, method, URL, HOST + (headers or []), version, scheme=scheme, idle_seconds=7.0
    )


def test_wall_times_name_the_test_dates() -> None:
    assert format_http_date(WALL1) == DATE1 and format_http_date(WALL2) == DATE2


def test_remembered_request_bytes_are_answered_like_lookup(cache: ResponseCache) -> None:
    route = object()
    store(cache)
    memo = remember(cache, route)
    assert memo is not None and memo.idle_seconds == 7.0 and memo.route is route
    assert cache.lookup_raw(LOCAL, RAW, route, 1.0, WALL2) == lookup(cache, date=DATE2)
    assert cache.lookup_raw(LOCAL, RAW, route, 1.0, WALL2) == (
        driver_bytes(make_spec(), BODY, DATE2),
        200,
        False,
    )


def test_remembered_request_needs_the_same_bytes_address_scheme_and_route(cache: ResponseCache) -> None:
    route = object()
    store(cache)
    remember(cache, route)
    assert cache.lookup_raw(LOCAL, RAW + b"x", route, 1.0, WALL1) is None
    assert cache.lookup_raw(("127.0.0.2", 8080), RAW, route, 1.0, WALL1) is None
    assert cache.lookup_raw(LOCAL, RAW, route, 1.0, WALL1, scheme="https") is None
    assert cache.lookup_raw(LOCAL, RAW, object(), 1.0, WALL1) is None
    assert cache.lookup_raw(LOCAL, RAW, route, 1.0, WALL1) is not None


def test_requests_on_is_a_live_table_emptied_in_place(cache: ResponseCache) -> None:
    table = cache.requests_on(LOCAL, "http")
    assert table == {} and cache.requests_on(LOCAL, "http") is table
    store(cache)
    memo = remember(cache, object())
    assert table == {RAW: memo} and cache.stats()["cache_remembered"] == 1
    cache.forget_requests()
    assert table == {} and cache.stats()["cache_remembered"] == 0


@pytest.mark.parametrize(
    "leave",
    [
        lambda c: c.flush(URL, False),
        lambda c: c.clear(),
        lambda c: c.scavenge(10_000.0),
        lambda c: store(c, body=b"replacement"),
    ],
    ids=["flush", "clear", "scavenge", "replace"],
)
def test_any_entry_leaving_the_cache_forgets_every_remembered_request(
    cache: ResponseCache, leave: Callable[[ResponseCache], object]
) -> None:
    route = object()
    store(cache)
    store(cache, URL + "/other")
    remember(cache, route)
    leave(cache)
    assert cache.stats()["cache_remembered"] == 0
    assert cache.lookup_raw(LOCAL, RAW, route, 1.0, WALL1) is None
    store(cache)  # stored again: the bytes go through the normal path until remembered again
    assert cache.lookup_raw(LOCAL, RAW, route, 1.0, WALL1) is None


def test_storing_another_url_keeps_remembered_requests(cache: ResponseCache) -> None:
    route = object()
    store(cache)
    remember(cache, route)
    store(cache, URL + "/other")
    assert cache.lookup_raw(LOCAL, RAW, route, 1.0, WALL1) is not None


def test_expired_entry_is_not_answered_and_the_normal_lookup_counts_it(cache: ResponseCache) -> None:
    route = object()
    store(cache, policy=2, seconds=5, now=0.0)
    memo = remember(cache, route)
    assert memo is not None
    assert memo.answer(4.9, WALL1) is not None
    before = cache.stats()
    assert memo.answer(5.0, WALL1) is None
    after = cache.stats()
    assert (after["cache_hits"], after["cache_misses"], after["cache_expired"]) == (
        before["cache_hits"],
        before["cache_misses"],
        before["cache_expired"],
    )
    assert lookup(cache, now=5.0) is None  # the normal path removes and counts it
    after = cache.stats()
    assert after["cache_expired"] == 1 and after["cache_misses"] == 1 and after["cache_remembered"] == 0


def test_fast_answers_count_as_hits_of_the_entry(cache: ResponseCache) -> None:
    route = object()
    store(cache)
    lookup(cache)
    memo = remember(cache, route)
    assert memo is not None
    for _ in range(3):
        memo.answer(2.0, WALL1)
    stats = cache.stats()
    assert stats["cache_hits"] == 4 and stats["cache_fast_hits"] == 3
    entry = cache.entry(URL)
    assert entry is not None and entry.hits == 4 and entry.last_used == 2.0
    memo.answer(3.0, WALL1)
    cache.forget_requests()  # forgetting keeps what was counted
    assert cache.stats()["cache_hits"] == 5 and cache.stats()["cache_fast_hits"] == 4


def test_fast_answer_is_reused_within_a_second_and_renewed_in_the_next(cache: ResponseCache) -> None:
    store(cache)
    memo = remember(cache, object())
    assert memo is not None
    first = memo.answer(1.0, WALL1)
    again = memo.answer(1.1, WALL1 + 0.5)
    later = memo.answer(1.2, WALL2)
    assert first is again
    assert first == driver_bytes(make_spec(), BODY, DATE1)
    assert later == driver_bytes(make_spec(), BODY, DATE2)


def test_remembered_head_gets_the_head_only(cache: ResponseCache) -> None:
    store(cache)
    raw = RAW.replace(b"GET", b"HEAD")
    memo = remember(cache, object(), raw, method=b"HEAD", headers=[(b"Range", b"bytes=0-1")])
    assert memo is not None and memo.range is None
    assert memo.answer(1.0, WALL1) == driver_bytes(make_spec(), BODY, DATE1, method=b"HEAD")
    assert memo.answer(1.0, WALL1) == lookup(cache, method=b"HEAD")[0]  # type: ignore[index]


def test_remembered_range_is_cut_again_on_every_answer(cache: ResponseCache) -> None:
    store(cache)
    headers = [(b"Range", b"bytes=7-11")]
    memo = remember(cache, object(), RAW + b"r", headers=headers)
    assert memo is not None and memo.status == 206
    wire = cache.lookup_raw(LOCAL, RAW + b"r", memo.route, 1.0, WALL2)
    assert wire is not None and wire[1] == 206
    assert wire == lookup(cache, headers=headers, date=DATE2)
    assert wire[0].endswith(b"\r\n\r\nWorld")


def test_remembered_unsatisfiable_range_answers_416(cache: ResponseCache) -> None:
    store(cache)
    headers = [(b"Range", b"bytes=500-")]
    memo = remember(cache, object(), RAW + b"r", headers=headers)
    assert memo is not None and memo.status == 416
    assert memo.answer(1.0, WALL1) == lookup(cache, headers=headers)[0]  # type: ignore[index]


@pytest.mark.parametrize(
    ("method", "headers", "version"),
    [
        (b"POST", [], (1, 1)),
        (b"GET", [(b"Authorization", b"Basic eA==")], (1, 1)),
        (b"GET", [(b"Translate", b"f")], (1, 1)),
        (b"GET", [(b"Expect", b"something")], (1, 1)),
        (b"GET", [], (2, 0)),
    ],
)
def test_requests_the_cache_would_not_answer_are_not_remembered(
    cache: ResponseCache, method: bytes, headers: list[tuple[bytes, bytes]], version: tuple[int, int]
) -> None:
    store(cache)
    assert remember(cache, object(), method=method, headers=headers, version=version) is None
    assert cache.stats()["cache_remembered"] == 0


def test_answers_that_close_the_connection_are_not_remembered(cache: ResponseCache) -> None:
    store(cache, spec=make_spec(known={CT: [b"text/plain"], CONNECTION: [b"close"]}))
    assert remember(cache, object()) is None


def test_nothing_is_remembered_without_an_entry_or_with_the_cache_disabled(cache: ResponseCache) -> None:
    assert remember(cache, object()) is None
    store(cache)
    cache.enabled = False
    assert remember(cache, object()) is None


def test_remembered_requests_are_bounded(cache: ResponseCache) -> None:
    route = object()
    store(cache)
    assert remember(cache, route, raw=b"x" * 9000) is None  # too long to remember
    for i in range(4097):
        remember(cache, route, raw=RAW + b"%d" % i)
    assert cache.lookup_raw(LOCAL, RAW + b"0", route, 1.0, WALL1) is None  # forgotten when the table filled
    assert cache.lookup_raw(LOCAL, RAW + b"4096", route, 1.0, WALL1) is not None
    assert cache.stats()["cache_remembered"] == 1


def test_remembering_the_same_bytes_again_keeps_one_record_and_its_hits(cache: ResponseCache) -> None:
    route = object()
    store(cache)
    memo = remember(cache, route)
    assert memo is not None
    memo.answer(1.0, WALL1)
    remember(cache, route)
    stats = cache.stats()
    assert stats["cache_remembered"] == 1 and stats["cache_fast_hits"] == 1


def test_entry_keeps_its_own_copy_of_the_response_record(cache: ResponseCache) -> None:
    spec = make_spec(known={CT: [b"text/plain"]})
    store(cache, spec=spec)
    spec.known[CT][0] = b"application/evil"
    spec.unknown.append((b"X-Later", b"1"))
    hit = lookup(cache, headers=[(b"Range", b"bytes=0-0")])  # ranges re-render from the stored record
    assert hit is not None and b"text/plain" in hit[0] and b"X-Later" not in hit[0]
