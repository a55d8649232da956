"""UrlPrefix parsing and validation (spec §1.3, §6 items 37-42)."""

from __future__ import annotations

from typing import Any

import pytest

from httpsys._core.status import Win32Error
from httpsys._core.urlprefix import (
    MAX_URL_PREFIX_LENGTH,
    HostKind,
    InvalidUrlPrefix,
    UrlPrefix,
    parse_url_prefix,
)


def rejected(text: Any) -> None:
    with pytest.raises(InvalidUrlPrefix):
        parse_url_prefix(text)


# --- item 37: missing path / scheme / port, empty port, port 0 -------------------------------------------------


def test_prefix_without_trailing_path_is_invalid_parameter() -> None:
    rejected("http://localhost:50000")


def test_prefix_without_scheme_is_invalid_parameter() -> None:
    rejected("localhost:50000/")


def test_prefix_with_scheme_separator_but_no_scheme_is_invalid_parameter() -> None:
    rejected("://localhost:50000/")


def test_prefix_without_port_is_invalid_parameter() -> None:
    rejected("http://localhost/")


def test_prefix_with_empty_port_is_invalid_parameter() -> None:
    rejected("http://localhost:/")


def test_prefix_with_port_zero_is_invalid_parameter() -> None:
    rejected("http://localhost:0/")


# --- item 38: query / fragment ----------------------------------------------------------------------------------


def test_prefix_with_query_is_invalid_parameter() -> None:
    rejected("http://localhost:50000/foo?a=b")


def test_prefix_with_bare_question_mark_is_invalid_parameter() -> None:
    rejected("http://localhost:50000/?")


def test_prefix_with_fragment_is_invalid_parameter() -> None:
    rejected("http://localhost:50000/foo#top")


# --- item 39: only lowercase http/https -------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["HTTP", "Http", "HTTPS", "hTTps"])
def test_uppercase_scheme_is_invalid_parameter(scheme: str) -> None:
    rejected(f"{scheme}://localhost:80/")


@pytest.mark.parametrize("scheme", ["ftp", "ws", "wss", "file", "httpx", " http"])
def test_scheme_other_than_http_or_https_is_invalid_parameter(scheme: str) -> None:
    rejected(f"{scheme}://localhost:80/")


def test_scheme_with_single_slash_separator_is_invalid_parameter() -> None:
    rejected("http:/localhost:80/")


def test_scheme_with_colon_only_is_invalid_parameter() -> None:
    rejected("http:localhost:80/")


# --- host forms -------------------------------------------------------------------------------------------------


def test_empty_host_is_invalid_parameter() -> None:
    rejected("http://:80/")


def test_empty_authority_is_invalid_parameter() -> None:
    rejected("http:///")


@pytest.mark.parametrize(
    "host", ["ex ample", "ex!ample", "user@host", "a/b", "ex%41mple", "+a", "**", "a..b", ".a"]
)
def test_bad_host_characters_are_invalid_parameter(host: str) -> None:
    rejected(f"http://{host}:80/")


def test_unbracketed_ipv6_is_invalid_parameter() -> None:
    rejected("http://::1:80/")


def test_unbracketed_full_ipv6_is_invalid_parameter() -> None:
    rejected("http://fe80::1:80/")


def test_unterminated_ipv6_bracket_is_invalid_parameter() -> None:
    rejected("http://[::1:80/")


def test_empty_ipv6_brackets_are_invalid_parameter() -> None:
    rejected("http://[]:80/")


def test_malformed_ipv6_literal_is_invalid_parameter() -> None:
    rejected("http://[::g]:80/")


def test_ipv4_inside_brackets_is_invalid_parameter() -> None:
    rejected("http://[127.0.0.1]:80/")


def test_ipv6_zone_identifier_is_invalid_parameter() -> None:
    rejected("http://[fe80::1%25eth0]:80/")


def test_ipv6_without_port_is_invalid_parameter() -> None:
    rejected("http://[::1]/")


def test_garbage_between_ipv6_and_port_is_invalid_parameter() -> None:
    rejected("http://[::1]x:80/")


def test_out_of_range_ipv4_octet_is_invalid_parameter() -> None:
    rejected("http://256.1.1.1:80/")


def test_ipv4_with_leading_zero_octet_is_invalid_parameter() -> None:
    rejected("http://127.0.0.01:80/")


def test_overlong_host_label_is_invalid_parameter() -> None:
    rejected(f"http://{'a' * 64}.com:80/")


# --- port forms -------------------------------------------------------------------------------------------------


def test_port_above_65535_is_invalid_parameter() -> None:
    rejected("http://localhost:65536/")


def test_very_large_port_is_invalid_parameter() -> None:
    rejected("http://localhost:99999999999999999999/")


def test_port_with_leading_zero_is_invalid_parameter() -> None:
    rejected("http://localhost:080/")


def test_non_decimal_port_is_invalid_parameter() -> None:
    rejected("http://localhost:0x50/")


def test_negative_port_is_invalid_parameter() -> None:
    rejected("http://localhost:-80/")


def test_non_ascii_digit_port_is_invalid_parameter() -> None:
    rejected("http://localhost:\u0668\u0660/")


def test_wildcard_port_is_invalid_parameter() -> None:
    rejected("http://+:*/")


def test_two_ports_are_invalid_parameter() -> None:
    rejected("http://localhost:80:81/")


# --- whitespace, control characters, type, length, path escapes ------------------------------------------------


@pytest.mark.parametrize("bad", [" ", "\t", "\r", "\n", "\x00", "\x7f", "\x85", "\u3000"])
def test_whitespace_or_control_character_is_invalid_parameter(bad: str) -> None:
    rejected(f"http://localhost:80/a{bad}b/")


def test_leading_whitespace_is_invalid_parameter() -> None:
    rejected(" http://localhost:80/")


@pytest.mark.parametrize("value", [None, b"http://localhost:80/", 80, ["http://localhost:80/"]])
def test_non_str_input_is_invalid_parameter(value: Any) -> None:
    rejected(value)


def test_empty_string_is_invalid_parameter() -> None:
    rejected("")


def test_prefix_longer_than_bound_is_invalid_parameter() -> None:
    base = "http://localhost:80/"
    rejected(base + "a" * (MAX_URL_PREFIX_LENGTH - len(base) + 1))


def test_prefix_exactly_at_length_bound_is_accepted() -> None:
    base = "http://localhost:80/"
    text = base + "a" * (MAX_URL_PREFIX_LENGTH - len(base))
    assert parse_url_prefix(text).original == text


@pytest.mark.parametrize("path", ["/%", "/%4", "/%zz/", "/a%g1/"])
def test_malformed_percent_escape_is_invalid_parameter(path: str) -> None:
    rejected(f"http://localhost:80{path}")


def test_percent_escape_that_is_not_utf8_is_invalid_parameter() -> None:
    rejected("http://localhost:80/%ff/")


@pytest.mark.parametrize("path", ["/./", "/../", "/a/../b/", "/a/.", "/a/.."])
def test_dot_segment_in_path_is_invalid_parameter(path: str) -> None:
    rejected(f"http://localhost:80{path}")


@pytest.mark.parametrize("path", ["//", "/a//", "//a/", "/a//b"])
def test_empty_path_segment_is_invalid_parameter(path: str) -> None:
    rejected(f"http://localhost:80{path}")


def test_invalid_url_prefix_maps_to_error_invalid_parameter() -> None:
    assert InvalidUrlPrefix.win32_error is Win32Error.ERROR_INVALID_PARAMETER
    assert issubclass(InvalidUrlPrefix, ValueError)


# --- valid forms ------------------------------------------------------------------------------------------------


def test_strong_wildcard_prefix_parses() -> None:
    p = parse_url_prefix("http://+:80/")
    assert p == UrlPrefix("http://+:80/", "http", HostKind.STRONG, "+", 80, "/")


def test_weak_wildcard_prefix_parses() -> None:
    p = parse_url_prefix("http://*:8080/app/")
    assert (p.kind, p.host, p.port, p.path) == (HostKind.WEAK, "*", 8080, "/app/")


def test_explicit_host_prefix_parses() -> None:
    p = parse_url_prefix("http://www.adatum.com:80/vroot/")
    assert (p.kind, p.host, p.path) == (HostKind.EXPLICIT, "www.adatum.com", "/vroot/")


def test_explicit_host_may_contain_hyphen_and_underscore() -> None:
    assert parse_url_prefix("http://my-host_1:80/").host == "my-host_1"


def test_ipv4_literal_is_ip_bound_kind() -> None:
    p = parse_url_prefix("http://127.0.0.1:50000/")
    assert (p.kind, p.host) == (HostKind.IP, "127.0.0.1")


def test_bracketed_ipv6_literal_is_ip_bound_kind_without_brackets() -> None:
    p = parse_url_prefix("http://[::1]:50000/")
    assert (p.kind, p.host, p.port) == (HostKind.IP, "::1", 50000)


def test_ipv6_literal_is_normalized() -> None:
    p = parse_url_prefix("http://[FE80:0000:0000::0001]:80/")
    assert p.host == "fe80::1"
    assert p.original == "http://[FE80:0000:0000::0001]:80/"


def test_uppercase_host_and_path_are_normalized_to_lowercase() -> None:
    p = parse_url_prefix("http://LocalHost:80/Foo/BAR/")
    assert (p.host, p.path, p.original) == ("localhost", "/foo/bar/", "http://LocalHost:80/Foo/BAR/")


def test_trailing_dot_of_host_name_is_dropped() -> None:
    assert parse_url_prefix("http://example.com.:80/").host == "example.com"


def test_https_prefix_parses() -> None:
    p = parse_url_prefix("https://+:443/")
    assert (p.scheme, p.port) == ("https", 443)


def test_port_65535_and_port_1_are_accepted() -> None:
    assert parse_url_prefix("http://localhost:65535/").port == 65535
    assert parse_url_prefix("http://localhost:1/").port == 1


def test_path_without_trailing_slash_gets_one() -> None:
    assert parse_url_prefix("http://localhost:80/barfoo").path == "/barfoo/"


def test_path_with_and_without_trailing_slash_have_the_same_key() -> None:
    a = parse_url_prefix("http://localhost:80/barfoo")
    b = parse_url_prefix("http://localhost:80/barfoo/")
    assert a.key == b.key
    assert a.original != b.original


def test_key_distinguishes_host_kinds() -> None:
    keys = {parse_url_prefix(f"http://{h}:80/vroot/").key for h in ("+", "*", "www.adatum.com", "10.0.0.1")}
    assert len(keys) == 4


def test_key_is_scheme_port_kind_host_path() -> None:
    p = parse_url_prefix("https://Example.com:8443/A/")
    assert p.key == ("https", 8443, HostKind.EXPLICIT, "example.com", "/a/")


def test_percent_escapes_in_path_are_kept_and_lowercased() -> None:
    assert parse_url_prefix("http://localhost:80/a%2Fb%C3%A9/").path == "/a%2fb%c3%a9/"


def test_non_ascii_path_is_accepted_and_lowercased() -> None:
    assert parse_url_prefix("http://localhost:80/Caf\u00c9/").path == "/caf\u00e9/"


def test_host_kind_order_is_routing_bucket_order() -> None:
    assert HostKind.STRONG < HostKind.EXPLICIT < HostKind.IP < HostKind.WEAK
    assert [int(k) for k in HostKind] == [1, 2, 3, 4]


def test_url_prefix_is_immutable() -> None:
    p = parse_url_prefix("http://+:80/")
    with pytest.raises(AttributeError):
        p.port = 81  # type: ignore[misc]
