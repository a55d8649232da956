"""URL canonicalization (spec §5.5) and HTTP_COOKED_URL construction (spec §3.2)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from httpsys._core.canned import CannedResponse, RequestRejected
from httpsys._core.canonical import CookedUrl, UrlSettings, cook_url

DEFAULTS = UrlSettings()


def cook(
    raw: bytes,
    host: bytes | None = b"localhost:50001",
    *,
    scheme: str = "http",
    local_ip: str = "127.0.0.1",
    local_port: int = 50001,
    **overrides: Any,
) -> tuple[CookedUrl, str]:
    url_settings = UrlSettings(**overrides) if overrides else DEFAULTS
    return cook_url(raw, host, scheme=scheme, local_port=local_port, local_ip=local_ip, settings=url_settings)


def path_of(raw: bytes, **overrides: Any) -> str:
    return cook(raw, **overrides)[0].abs_path


def rejection(raw: bytes, host: bytes | None = b"localhost:50001", **overrides: Any) -> CannedResponse:
    with pytest.raises(RequestRejected) as info:
        cook(raw, host, **overrides)
    return info.value.kind


# --- cooked URL shape ------------------------------------------------------------------------------------------


def test_spec_example_origin_form_with_host_port() -> None:
    cooked, name = cook(b"/foobar?a=b", b"localhost:50001")
    assert cooked == CookedUrl("http://localhost:50001/foobar?a=b", "localhost:50001", "/foobar", "?a=b")
    assert (cooked.full_url_length, cooked.host_length) == (66, 30)
    assert (cooked.abs_path_length, cooked.query_string_length) == (14, 8)
    assert name == "localhost"


def test_host_without_port_gives_full_url_without_port() -> None:
    cooked, name = cook(b"/", b"localhost")
    assert cooked.full_url == "http://localhost/"
    assert cooked.host == "localhost"
    assert name == "localhost"


def test_https_connection_gives_https_full_url() -> None:
    cooked, _ = cook(b"/x", b"example.com", scheme="https")
    assert cooked.full_url == "https://example.com/x"


def test_host_case_and_port_are_kept_but_route_name_is_lower_case() -> None:
    cooked, name = cook(b"/", b"LocalHost:8080")
    assert cooked.host == "LocalHost:8080"
    assert name == "localhost"


def test_trailing_dot_is_kept_in_cooked_host_and_dropped_from_route_name() -> None:
    cooked, name = cook(b"/", b"example.com.")
    assert cooked.host == "example.com."
    assert name == "example.com"


def test_absent_query_is_empty_with_zero_length() -> None:
    cooked, _ = cook(b"/a/b")
    assert cooked.query == ""
    assert cooked.query_string_length == 0


def test_lone_question_mark_is_a_query_of_length_two() -> None:
    cooked, _ = cook(b"/a?")
    assert cooked.query == "?"
    assert cooked.query_string_length == 2


def test_utf16_lengths_count_non_bmp_characters_as_two_units() -> None:
    cooked, _ = cook(b"/%F0%9F%98%80", b"h")
    assert cooked.abs_path == "/\U0001f600"
    assert cooked.abs_path_length == 2 * 3
    assert cooked.full_url_length == 2 * (len("http://h/") + 2)


# --- host ------------------------------------------------------------------------------------------------------


def test_ipv6_host_keeps_brackets_and_route_name_drops_them() -> None:
    cooked, name = cook(b"/", b"[::1]:8080")
    assert cooked.full_url == "http://[::1]:8080/"
    assert cooked.host == "[::1]:8080"
    assert name == "::1"


def test_ipv6_route_name_is_the_compressed_address() -> None:
    _, name = cook(b"/", b"[0:0:0:0:0:0:0:1]")
    assert name == "::1"
    _, name = cook(b"/", b"[FE80::ABCD]")
    assert name == "fe80::abcd"


def test_missing_host_uses_the_local_ipv4_address_and_port() -> None:
    cooked, name = cook(b"/a", None, local_ip="10.0.0.5", local_port=8080)
    assert cooked.full_url == "http://10.0.0.5:8080/a"
    assert cooked.host == "10.0.0.5:8080"
    assert name == "10.0.0.5"


def test_empty_host_uses_the_local_ipv6_address_in_brackets() -> None:
    cooked, name = cook(b"/a", b"", local_ip="::1", local_port=8080)
    assert cooked.full_url == "http://[::1]:8080/a"
    assert name == "::1"


@pytest.mark.parametrize(
    "host",
    [
        b"local host",
        b" localhost",
        b"user@localhost",
        b"localhost:",
        b"localhost:0",
        b"localhost:65536",
        b"localhost:123456",
        b"localhost:8o",
        b"localhost:80:80",
        b"a..b",
        b".a",
        b".",
        b"a/b",
        b"a%62",
        b"caf\xc3\xa9",
        b"[::1",
        b"::1",
        b"[zz::1]",
        b"[::1%25eth0]",
        b"[::1]x",
        b":80",
        b"x" * 64 + b".com",
        b"a\x00b",
    ],
)
def test_malformed_host_is_invalid_hostname(host: bytes) -> None:
    assert rejection(b"/", host) is CannedResponse.INVALID_HOSTNAME


def test_underscore_and_hyphen_are_accepted_in_host_labels() -> None:
    _, name = cook(b"/", b"my_service-1.internal:80")
    assert name == "my_service-1.internal"


# --- request-target forms --------------------------------------------------------------------------------------


def test_absolute_form_overrides_the_host_header() -> None:
    cooked, name = cook(b"http://Example.com:8080/p?q=1", b"ignored")
    assert cooked.full_url == "http://Example.com:8080/p?q=1"
    assert cooked.host == "Example.com:8080"
    assert name == "example.com"


def test_absolute_form_ignores_even_a_malformed_host_header() -> None:
    cooked, _ = cook(b"http://a/", b"bad host@")
    assert cooked.host == "a"


def test_absolute_form_scheme_is_case_insensitive_and_cooked_with_the_connection_scheme() -> None:
    cooked, _ = cook(b"HTTPS://a/x", b"h")
    assert cooked.full_url == "http://a/x"


@pytest.mark.parametrize(("raw", "path", "query"), [(b"http://a", "/", ""), (b"http://a?x=1", "/", "?x=1")])
def test_absolute_form_without_path_gets_root(raw: bytes, path: str, query: str) -> None:
    cooked, _ = cook(raw)
    assert (cooked.abs_path, cooked.query) == (path, query)
    assert cooked.full_url == "http://a" + path + query


@pytest.mark.parametrize(
    "raw",
    [
        b"ftp://a/",
        b"http:/a/",
        b"http:///x",
        b"http://user@a/",
        b"http://a:99999/",
        b"http://a b/",
        b"http://a#frag",
        b"example.com:443",
        b"a/b",
        b"",
        b"**",
    ],
)
def test_malformed_or_unsupported_target_is_invalid_url(raw: bytes) -> None:
    assert rejection(raw) is CannedResponse.INVALID_URL


def test_asterisk_form_cooks_to_a_star_path() -> None:
    cooked, name = cook(b"*", b"localhost:80")
    assert cooked == CookedUrl("http://localhost:80*", "localhost:80", "*", "")
    assert name == "localhost"


# --- percent decoding ------------------------------------------------------------------------------------------


def test_encoded_slash_is_decoded_to_a_slash() -> None:
    assert path_of(b"/a%2Fb%2fc") == "/a/b/c"


def test_escapes_are_decoded_once_only() -> None:
    assert path_of(b"/a%2541") == "/a%41"


def test_encoded_question_mark_stays_in_the_path() -> None:
    cooked, _ = cook(b"/a%3Fb?c")
    assert (cooked.abs_path, cooked.query) == ("/a?b", "?c")


def test_percent_u_is_decoded_by_default() -> None:
    assert path_of(b"/%u0041%U00e9") == "/A\u00e9"


def test_percent_u_is_invalid_when_not_allowed() -> None:
    assert rejection(b"/%u0041", percent_u_allowed=False) is CannedResponse.INVALID_URL


def test_percent_u_surrogate_pair_becomes_one_character() -> None:
    assert path_of(b"/%uD83D%uDE00") == "/\U0001f600"


@pytest.mark.parametrize("raw", [b"/%uD83D", b"/%uD83Dx", b"/%uDE00", b"/%uD83D%u0041"])
def test_unpaired_percent_u_surrogate_is_invalid_url(raw: bytes) -> None:
    assert rejection(raw) is CannedResponse.INVALID_URL


@pytest.mark.parametrize("raw", [b"/%zz", b"/%4", b"/a%", b"/%g0", b"/%u12", b"/%u12zz", b"/%u", b"/%+1"])
def test_malformed_escape_is_invalid_url(raw: bytes) -> None:
    assert rejection(raw) is CannedResponse.INVALID_URL


def test_escaped_utf8_is_decoded() -> None:
    assert path_of(b"/caf%C3%A9/%E2%82%AC") == "/caf\u00e9/\u20ac"


def test_raw_utf8_bytes_are_decoded() -> None:
    assert path_of("/café".encode()) == "/café"


def test_non_utf8_falls_back_to_the_ansi_code_page() -> None:
    assert path_of(b"/caf%E9/%80") == "/caf\u00e9/\u20ac"


def test_charset_is_chosen_for_the_whole_path() -> None:
    # one invalid UTF-8 byte makes the valid UTF-8 sequence elsewhere decode as cp1252 too
    assert path_of(b"/%C3%A9/%E9") == "/\u00c3\u00a9/\u00e9"


def test_overlong_utf8_slash_is_not_a_slash() -> None:
    assert path_of(b"/a%C0%AFb") == "/a\u00c0\u00afb"


def test_non_utf8_is_invalid_when_non_utf8_is_disabled() -> None:
    assert rejection(b"/caf%E9", enable_non_utf8=False) is CannedResponse.INVALID_URL
    assert path_of(b"/caf%C3%A9", enable_non_utf8=False) == "/caf\u00e9"


def test_ansi_wins_when_utf8_is_not_favoured() -> None:
    assert path_of(b"/caf%C3%A9", favor_utf8=False) == "/caf\u00c3\u00a9"


def test_favor_utf8_off_has_no_effect_without_non_utf8() -> None:
    assert path_of(b"/caf%C3%A9", favor_utf8=False, enable_non_utf8=False) == "/caf\u00e9"


def test_cp1252_undefined_byte_decodes_to_c1_control_and_is_restricted() -> None:
    assert rejection(b"/%81") is CannedResponse.INVALID_URL
    assert path_of(b"/%81", allow_restricted_chars=True) == "/\x81"


# --- restricted and forbidden characters -----------------------------------------------------------------------


@pytest.mark.parametrize("escape", [b"%00", b"%0a", b"%0D", b"%1f", b"%7F", b"%C2%80", b"%C2%9F", b"%u0001"])
def test_escaped_restricted_character_is_invalid_url(escape: bytes) -> None:
    assert rejection(b"/a" + escape) is CannedResponse.INVALID_URL


@pytest.mark.parametrize(
    ("escape", "char"), [(b"%00", "\x00"), (b"%0a", "\n"), (b"%7f", "\x7f"), (b"%C2%9F", "\x9f")]
)
def test_restricted_character_is_accepted_when_allowed(escape: bytes, char: str) -> None:
    assert path_of(b"/a" + escape, allow_restricted_chars=True) == "/a" + char


def test_neighbours_of_the_restricted_ranges_are_accepted() -> None:
    assert path_of(b"/%20%7E%C2%A0") == "/ ~\u00a0"


@pytest.mark.parametrize("raw", [b"/a\x00b", b"/a\tb", b"/a b", b"/a\x7fb", b"/a#frag", b"/a\x01"])
def test_raw_control_space_or_fragment_in_path_is_invalid_even_when_restricted_chars_allowed(
    raw: bytes,
) -> None:
    assert rejection(raw, allow_restricted_chars=True) is CannedResponse.INVALID_URL


# --- path compression ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        (b"/a/./b/../c", "/a/c"),
        (b"/a/b/..", "/a/"),
        (b"/a/b/.", "/a/b/"),
        (b"/a/..", "/"),
        (b"/.", "/"),
        (b"/./", "/"),
        (b"/a/%2e%2E/b", "/b"),
        (b"/a/.%2e/b", "/b"),
        (b"/a/%u002e%u002e/b", "/b"),
        (b"/a%2F..%2Fb", "/b"),
        (b"/a/.b/..c/...", "/a/.b/..c/..."),
        (b"/a//b", "/a//b"),
        (b"//a/..", "//"),
    ],
)
def test_dot_segments_are_removed_after_decoding(raw: bytes, path: str) -> None:
    assert path_of(raw) == path


@pytest.mark.parametrize(("raw", "path"), [(b"/a\\b", "/a/b"), (b"/a%5Cb", "/a/b"), (b"/a\\..\\b", "/b")])
def test_backslash_is_a_slash(raw: bytes, path: str) -> None:
    assert path_of(raw) == path


@pytest.mark.parametrize("raw", [b"/..", b"/../a", b"/a/../..", b"/%2e%2e/", b"/a/..%2F..", b"/..\\x"])
def test_climbing_above_the_root_is_invalid_url(raw: bytes) -> None:
    assert rejection(raw) is CannedResponse.INVALID_URL


def test_raw_url_is_not_modified() -> None:
    raw = b"/a/%2e%2e/b%2Fc?x=%2e"
    copy = bytes(raw)
    cooked, _ = cook(raw)
    assert raw == copy
    assert cooked.abs_path == "/b/c"


# --- limits ----------------------------------------------------------------------------------------------------


def test_segment_count_at_the_limit_is_accepted_and_above_is_invalid_url() -> None:
    assert path_of(b"/a/b/c", url_segment_max_count=3) == "/a/b/c"
    assert rejection(b"/a/b/c/d", url_segment_max_count=3) is CannedResponse.INVALID_URL


def test_segment_count_is_taken_after_dot_removal() -> None:
    assert path_of(b"/a/b/../c", url_segment_max_count=2) == "/a/c"


def test_segment_length_at_the_limit_is_accepted_and_above_is_invalid_url() -> None:
    assert path_of(b"/abcd/x", url_segment_max_length=4) == "/abcd/x"
    assert rejection(b"/abcde/x", url_segment_max_length=4) is CannedResponse.INVALID_URL


def test_segment_length_counts_decoded_characters() -> None:
    assert path_of(b"/%41%42%43%44", url_segment_max_length=4) == "/ABCD"
    assert rejection(b"/%F0%9F%98%80%F0%9F%98%80%41", url_segment_max_length=4) is CannedResponse.INVALID_URL


def test_zero_segment_limits_mean_unlimited() -> None:
    raw = b"/" + b"/".join([b"x" * 10] * 300 + [b"y" * 1000])
    assert len(path_of(raw, url_segment_max_length=0, url_segment_max_count=0)) == len(raw)


def test_default_segment_limits_reject_a_261_character_segment() -> None:
    assert path_of(b"/" + b"a" * 260) == "/" + "a" * 260
    assert rejection(b"/" + b"a" * 261) is CannedResponse.INVALID_URL


def test_query_does_not_count_towards_segment_limits() -> None:
    assert path_of(b"/a?" + b"/x" * 20 + b"y" * 50, url_segment_max_count=2, url_segment_max_length=4) == "/a"


def test_raw_url_longer_than_max_field_length_is_url_too_long() -> None:
    assert path_of(b"/" + b"a" * 15, max_url_length=16) == "/" + "a" * 15
    assert rejection(b"/" + b"a" * 16, max_url_length=16) is CannedResponse.URL_TOO_LONG


def test_cooked_url_that_overflows_ushort_lengths_is_url_too_long() -> None:
    raw = b"/" + b"/".join([b"a" * 200] * 170)  # 34,170 UTF-16 units > 32,767
    assert rejection(raw, max_url_length=65534) is CannedResponse.URL_TOO_LONG


# --- query -----------------------------------------------------------------------------------------------------


def test_query_is_kept_verbatim() -> None:
    cooked, _ = cook(b"/p?a=%2e%2E&b=/../c&d=%zz&e=\\")
    assert cooked.query == "?a=%2e%2E&b=/../c&d=%zz&e=\\"
    assert cooked.abs_path == "/p"


def test_non_ascii_query_bytes_are_kept_as_latin1() -> None:
    cooked, _ = cook(b"/p?q=\xc3\xa9")
    assert cooked.query == "?q=\u00c3\u00a9"


@pytest.mark.parametrize("query", [b"?a b", b"?a\x00", b"?a\x7f", b"?a#b", b"?\r"])
def test_raw_control_space_or_fragment_in_query_is_invalid_url(query: bytes) -> None:
    assert rejection(b"/p" + query) is CannedResponse.INVALID_URL


# --- fast path agrees with the general algorithm ---------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"/a/b", b"/a/b/", b"/", b"/x.y/z", b"/a-b_c~d!$&'()*+,;=:@"])
def test_fast_path_agrees_with_the_escaped_form(raw: bytes) -> None:
    escaped = b"".join(b"%%%02X" % c if c not in b"/" else bytes([c]) for c in raw)
    assert path_of(raw) == path_of(escaped) == raw.decode()


# --- properties ------------------------------------------------------------------------------------------------

_PIECES = st.sampled_from(
    [
        b"/",
        b".",
        b"..",
        b"%2e",
        b"%2F",
        b"%5c",
        b"\\",
        b"a",
        b"%u002e",
        b"%C3%A9",
        b"%E9",
        b"%",
        b"%0a",
        b"?",
        b"%u",
    ]
)


def _check_invariants(cooked: CookedUrl, scheme: str) -> None:
    assert cooked.full_url == f"{scheme}://" + cooked.host + cooked.abs_path + cooked.query
    assert cooked.query == "" or cooked.query.startswith("?")
    if cooked.abs_path != "*":
        assert cooked.abs_path.startswith("/")
        segments = cooked.abs_path.split("/")
        assert "." not in segments and ".." not in segments
        assert "\\" not in cooked.abs_path
        assert not any(0x00 <= ord(c) <= 0x1F or 0x7F <= ord(c) <= 0x9F for c in cooked.abs_path)
    assert cooked.full_url_length == len(cooked.full_url.encode("utf-16-le"))


@settings(max_examples=400, deadline=None)
@given(raw=st.binary(max_size=80), host=st.one_of(st.none(), st.binary(max_size=30)))
def test_arbitrary_bytes_only_ever_raise_request_rejected(raw: bytes, host: bytes | None) -> None:
    try:
        cooked, name = cook(raw, host)
    except RequestRejected:
        return
    _check_invariants(cooked, "http")
    assert name == name.lower()


@settings(max_examples=400, deadline=None)
@given(pieces=st.lists(_PIECES, max_size=12), absolute=st.booleans())
def test_structured_paths_cook_to_canonical_paths_or_are_rejected(
    pieces: list[bytes], absolute: bool
) -> None:
    raw = (b"http://h:1" if absolute else b"") + b"/" + b"".join(pieces)
    try:
        cooked, _ = cook(raw, b"h:1", scheme="https")
    except RequestRejected as exc:
        assert exc.kind is CannedResponse.INVALID_URL
        return
    _check_invariants(cooked, "https")
    assert cooked.host == "h:1"
