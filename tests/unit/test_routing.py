"""Routing table: conflicts, removal and request routing (spec §1.4, §6 items 40-42, 45, 46, 48, 51-58, 60)."""

from __future__ import annotations

import pytest

from httpsys._core.routing import (
    NO_HOST,
    NO_PATH,
    ROUTE_CACHE_SIZE,
    PrefixConflict,
    RouteMatch,
    RouteMiss,
    RouteResult,
    RoutingTable,
    SchemeConflict,
)
from httpsys._core.status import Win32Error
from httpsys._core.urlprefix import parse_url_prefix

LOCAL = "127.0.0.1"


def table(*urls: str) -> RoutingTable[str]:
    """A table whose target for each registration is its own string."""
    t: RoutingTable[str] = RoutingTable()
    for url in urls:
        t.add(parse_url_prefix(url), url)
    return t


def target(result: RouteResult[str]) -> str | RouteMiss:
    return result.target if isinstance(result, RouteMatch) else result


def route(
    t: RoutingTable[str], path: str, host: str | None = "localhost", port: int = 80, ip: str = LOCAL
) -> str | RouteMiss:
    return target(t.route(port, host, path, ip))


# --- conflicts ---------------------------------------------------------------------------------------------------


def test_same_prefix_twice_is_already_exists() -> None:
    t = table("http://+:80/a/")
    with pytest.raises(PrefixConflict):
        t.add(parse_url_prefix("http://+:80/a/"), "again")
    assert len(t) == 1


def test_path_without_trailing_slash_conflicts_with_path_with_it() -> None:
    t = table("http://localhost:80/barfoo/")
    with pytest.raises(PrefixConflict):
        t.add(parse_url_prefix("http://localhost:80/barfoo"), "other")


def test_prefixes_differing_only_in_case_conflict() -> None:
    t = table("http://LOCALHOST:80/Foo/")
    with pytest.raises(PrefixConflict):
        t.add(parse_url_prefix("http://localhost:80/foo/"), "other")


def test_same_path_in_every_host_kind_coexists() -> None:
    urls = [
        "http://+:80/vroot/",
        "http://www.adatum.com:80/vroot/",
        "http://10.0.0.1:80/vroot/",
        "http://*:80/vroot/",
    ]
    t = table(*urls)
    assert len(t) == 4
    assert sorted(target for _, target in t.entries()) == sorted(urls)


def test_same_path_on_different_ports_coexists() -> None:
    t = table("http://+:80/a/", "http://+:81/a/")
    assert t.ports() == {80, 81}


def test_conflict_maps_to_error_already_exists() -> None:
    assert PrefixConflict.win32_error is Win32Error.ERROR_ALREADY_EXISTS


def test_http_and_https_cannot_share_a_port() -> None:
    t = table("http://+:8443/a/")
    with pytest.raises(SchemeConflict):
        t.add(parse_url_prefix("https://+:8443/b/"), "tls")
    assert issubclass(SchemeConflict, PrefixConflict)
    assert len(t) == 1


def test_port_can_change_scheme_after_its_last_registration_is_removed() -> None:
    t = table("http://+:8443/a/")
    t.remove("http://+:8443/a/")
    t.add(parse_url_prefix("https://+:8443/a/"), "tls")
    assert route(t, "/a/", port=8443) == "tls"


# --- removal -----------------------------------------------------------------------------------------------------


def test_remove_with_identical_string_returns_prefix_and_target() -> None:
    t = table("http://+:80/a/")
    prefix, tgt = t.remove("http://+:80/a/")
    assert (prefix.original, tgt) == ("http://+:80/a/", "http://+:80/a/")
    assert len(t) == 0


def test_remove_with_different_case_is_not_found() -> None:
    t = table("http://localhost:80/Foo/")
    with pytest.raises(KeyError):
        t.remove("http://localhost:80/foo/")
    assert len(t) == 1


def test_remove_without_trailing_slash_is_not_found() -> None:
    t = table("http://localhost:80/a/")
    with pytest.raises(KeyError):
        t.remove("http://localhost:80/a")


def test_remove_with_other_ipv6_spelling_is_not_found() -> None:
    t = table("http://[::1]:80/")
    with pytest.raises(KeyError):
        t.remove("http://[0:0::1]:80/")


def test_second_removal_is_not_found() -> None:
    t = table("http://+:80/a/")
    t.remove("http://+:80/a/")
    with pytest.raises(KeyError):
        t.remove("http://+:80/a/")


def test_removed_prefix_stops_routing() -> None:
    t = table("http://+:80/", "http://+:80/a/")
    assert route(t, "/a/x") == "http://+:80/a/"
    t.remove("http://+:80/a/")
    assert route(t, "/a/x") == "http://+:80/"


def test_remove_where_drops_every_matching_target_and_reports_them() -> None:
    t: RoutingTable[int] = RoutingTable()
    for i, url in enumerate(["http://+:80/a/", "http://+:80/b/", "http://+:81/c/"]):
        t.add(parse_url_prefix(url), i % 2)
    removed = t.remove_where(lambda group: group == 0)
    assert sorted(p.original for p in removed) == ["http://+:80/a/", "http://+:81/c/"]
    assert [p.original for p, _ in t.entries()] == ["http://+:80/b/"]
    assert t.ports() == {80}


def test_ports_follow_first_and_last_registration() -> None:
    t = table()
    assert t.ports() == set()
    t.add(parse_url_prefix("http://+:80/a/"), "a")
    t.add(parse_url_prefix("http://localhost:80/b/"), "b")
    assert (t.ports(), t.count_on_port(80), t.count_on_port(81)) == ({80}, 2, 0)
    t.remove("http://+:80/a/")
    assert t.count_on_port(80) == 1
    t.remove("http://localhost:80/b/")
    assert (t.ports(), t.count_on_port(80), len(t)) == (set(), 0, 0)


def test_entries_are_in_registration_order() -> None:
    urls = ["http://*:80/z/", "http://+:80/a/", "http://h:80/m/"]
    assert [target for _, target in table(*urls).entries()] == urls


# --- bucket order ------------------------------------------------------------------------------------------------


ALL_KINDS = ("http://+:80/app/", "http://localhost:80/app/", "http://127.0.0.1:80/app/", "http://*:80/app/")


def test_strong_wildcard_beats_every_other_bucket() -> None:
    assert route(table(*ALL_KINDS), "/app/x") == "http://+:80/app/"


def test_explicit_host_beats_ip_bound_and_weak() -> None:
    assert route(table(*ALL_KINDS[1:]), "/app/x") == "http://localhost:80/app/"


def test_ip_bound_beats_weak_wildcard() -> None:
    assert route(table(*ALL_KINDS[2:]), "/app/x", host="other") == "http://127.0.0.1:80/app/"


def test_weak_wildcard_takes_what_nothing_else_matched() -> None:
    t = table(*ALL_KINDS[1:])
    assert route(t, "/app/x", host="other", ip="10.1.2.3") == "http://*:80/app/"


def test_higher_bucket_match_hides_longer_match_in_lower_bucket() -> None:
    t = table("http://+:80/", "http://localhost:80/a/b/", "http://*:80/a/b/c/")
    assert route(t, "/a/b/c/d") == "http://+:80/"


def test_explicit_match_hides_longer_weak_match() -> None:
    t = table("http://localhost:80/", "http://*:80/deep/deeper/")
    assert route(t, "/deep/deeper/x") == "http://localhost:80/"
    assert route(t, "/deep/deeper/x", host="elsewhere") == "http://*:80/deep/deeper/"


def test_bucket_with_host_but_no_path_match_falls_through_to_next_bucket() -> None:
    t = table("http://+:80/api/", "http://*:80/")
    assert route(t, "/api/v1") == "http://+:80/api/"
    assert route(t, "/other") == "http://*:80/"


# --- misses: 400 vs 404 -----------------------------------------------------------------------------------------


def test_unknown_host_is_invalid_hostname_400() -> None:
    t = table("http://localhost:80/")
    assert route(t, "/", host="example.com") is NO_HOST
    assert NO_HOST is RouteMiss.INVALID_HOSTNAME and NO_HOST.status_code == 400


def test_known_host_with_unmatched_path_is_not_found_404() -> None:
    t = table("http://localhost:80/app/")
    assert route(t, "/other/") is NO_PATH
    assert NO_PATH is RouteMiss.NOT_FOUND and NO_PATH.status_code == 404


def test_missing_host_reaches_only_wildcards_and_ip_bound() -> None:
    assert route(table("http://localhost:80/"), "/", host=None) is NO_HOST
    assert route(table("http://localhost:80/"), "/", host="") is NO_HOST
    assert route(table("http://+:80/"), "/", host=None) == "http://+:80/"
    assert route(table("http://127.0.0.1:80/"), "/", host=None) == "http://127.0.0.1:80/"
    assert route(table("http://*:80/"), "/", host="") == "http://*:80/"


def test_port_without_registrations_is_invalid_hostname() -> None:
    assert route(table("http://+:80/"), "/", port=81) is NO_HOST


def test_prefix_on_other_port_does_not_take_part() -> None:
    t = table("http://localhost:80/", "http://*:81/")
    assert route(t, "/", host="elsewhere", port=80) is NO_HOST


def test_ip_bound_prefix_needs_the_connection_local_address() -> None:
    t = table("http://10.0.0.1:80/")
    assert route(t, "/", ip="10.0.0.2") is NO_HOST
    assert route(t, "/", host="anything", ip="10.0.0.1") == "http://10.0.0.1:80/"


def test_ipv4_mapped_local_address_matches_ipv4_prefix() -> None:
    t = table("http://127.0.0.1:80/")
    assert route(t, "/", ip="::ffff:127.0.0.1") == "http://127.0.0.1:80/"


def test_ipv6_prefix_matches_ipv6_local_address_in_any_spelling() -> None:
    t = table("http://[::1]:80/")
    assert route(t, "/", ip="0:0:0:0:0:0:0:1") == "http://[::1]:80/"
    assert route(t, "/", ip="::1") == "http://[::1]:80/"
    assert route(t, "/", ip="127.0.0.1") is NO_HOST


# --- path matching -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/foobar/foo", "/foobar/foo/", "/foobar/foo/bar", "/FooBar/FOO/bar/baz"])
def test_request_paths_in_prefix_subtree_match(path: str) -> None:
    t = table("http://localhost:80/foobar/foo/", "http://localhost:80/")
    assert route(t, path) == "http://localhost:80/foobar/foo/"


def test_request_path_sharing_only_characters_not_segment_does_not_match() -> None:
    t = table("http://localhost:80/foobar/foo/", "http://localhost:80/")
    assert route(t, "/foobar/foobar") == "http://localhost:80/"


def test_file_in_parent_directory_falls_back_to_root() -> None:
    t = table("http://localhost:80/dir/sna/", "http://localhost:80/")
    assert route(t, "/dir/app.htm") == "http://localhost:80/"


def test_longest_segment_prefix_wins() -> None:
    t = table("http://+:80/", "http://+:80/a/", "http://+:80/a/b/", "http://+:80/a/b/c/d/")
    assert route(t, "/a/b/c") == "http://+:80/a/b/"
    assert route(t, "/a/b/c/d/e") == "http://+:80/a/b/c/d/"
    assert route(t, "/a") == "http://+:80/a/"
    assert route(t, "/") == "http://+:80/"


def test_different_paths_on_one_port_go_to_different_targets() -> None:
    t: RoutingTable[str] = RoutingTable()
    t.add(parse_url_prefix("http://localhost:80/one/"), "queue-1")
    t.add(parse_url_prefix("http://localhost:80/two/"), "queue-2")
    assert (route(t, "/one/x"), route(t, "/two/x")) == ("queue-1", "queue-2")


def test_host_comparison_is_case_insensitive() -> None:
    t = table("http://WWW.Adatum.com:80/")
    assert route(t, "/", host="www.ADATUM.COM") == "http://WWW.Adatum.com:80/"


def test_host_with_trailing_dot_matches() -> None:
    t = table("http://example.com:80/")
    assert route(t, "/", host="Example.com.") == "http://example.com:80/"


def test_path_comparison_is_case_insensitive() -> None:
    t = table("http://localhost:80/MixedCase/")
    assert route(t, "/mixedcase/x") == "http://localhost:80/MixedCase/"
    assert route(t, "/MIXEDCASE") == "http://localhost:80/MixedCase/"


def test_percent_escaped_prefix_matches_cooked_request_path() -> None:
    t = table("http://localhost:80/caf%C3%A9/", "http://localhost:80/")
    assert route(t, "/Caf\u00e9/menu") == "http://localhost:80/caf%C3%A9/"


def test_request_path_without_leading_slash_is_treated_as_rooted() -> None:
    assert route(table("http://+:80/a/"), "a/b") == "http://+:80/a/"


def test_route_match_carries_prefix_and_target() -> None:
    t = table("http://+:80/a/")
    result = t.route(80, "h", "/a/", LOCAL)
    assert isinstance(result, RouteMatch)
    assert result.prefix == parse_url_prefix("http://+:80/a/")
    assert result.target == "http://+:80/a/"


# --- cache -------------------------------------------------------------------------------------------------------


def test_add_invalidates_cached_route() -> None:
    t = table("http://+:80/")
    assert route(t, "/a/b") == "http://+:80/"
    t.add(parse_url_prefix("http://+:80/a/"), "http://+:80/a/")
    assert route(t, "/a/b") == "http://+:80/a/"


def test_cached_miss_is_invalidated_by_add() -> None:
    t = table("http://localhost:80/")
    assert route(t, "/", host="other") is NO_HOST
    t.add(parse_url_prefix("http://other:80/"), "http://other:80/")
    assert route(t, "/", host="other") == "http://other:80/"


def test_cache_key_includes_local_address() -> None:
    t = table("http://10.0.0.1:80/", "http://*:80/")
    assert route(t, "/", ip="10.0.0.1") == "http://10.0.0.1:80/"
    assert route(t, "/", ip="10.0.0.2") == "http://*:80/"


def test_cache_stays_bounded_and_correct_after_eviction() -> None:
    t = table("http://+:80/", "http://+:80/keep/")
    for i in range(ROUTE_CACHE_SIZE + 50):
        assert route(t, f"/p{i}") == "http://+:80/"
    assert len(t._cache) <= ROUTE_CACHE_SIZE
    assert route(t, "/keep/x") == "http://+:80/keep/"


def test_long_request_path_routes_without_caching() -> None:
    t = table("http://+:80/a/")
    path = "/a/" + "x" * 5000
    assert route(t, path) == "http://+:80/a/"
    assert all(key[2] != path for key in t._cache)
