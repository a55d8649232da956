"""Laws of routing (spec §1.4) checked on random tables against a brute-force oracle."""

from __future__ import annotations

import ipaddress
from urllib.parse import unquote

from hypothesis import given, settings
from hypothesis import strategies as st

from httpsys._core.routing import PrefixConflict, RouteMatch, RouteMiss, RouteResult, RoutingTable
from httpsys._core.urlprefix import HostKind, UrlPrefix, parse_url_prefix

PORTS = (80, 81)
PREFIX_HOSTS = ("+", "*", "h1", "H1", "h2", "h1.", "10.0.0.1", "10.0.0.2", "[::1]", "[::ffff:10.0.0.2]")
REQUEST_HOSTS = (None, "", "h1", "H1", "h1.", "h2", "h3", "[::1]")
LOCAL_IPS = ("10.0.0.1", "::ffff:10.0.0.1", "10.0.0.2", "::1", "0:0::1", "10.0.0.9")
SEGMENTS = ("a", "b", "A", "ab", "%61", "c%2Fd")

segments = st.lists(st.sampled_from(SEGMENTS), max_size=4)


@st.composite
def prefix_texts(draw: st.DrawFn, hosts: tuple[str, ...] = PREFIX_HOSTS) -> str:
    host = draw(st.sampled_from(hosts))
    port = draw(st.sampled_from(PORTS))
    segs = draw(segments)
    trailing = draw(st.booleans())
    slash = "/" if segs and trailing else ""
    return f"http://{host}:{port}/" + "/".join(segs) + slash


@st.composite
def requests(draw: st.DrawFn) -> tuple[int, str | None, str, str]:
    segs = [unquote(s) for s in draw(segments)]
    path = "/" + "/".join(segs) + ("/" if draw(st.booleans()) else "")
    return (
        draw(st.sampled_from(PORTS)),
        draw(st.sampled_from(REQUEST_HOSTS)),
        path,
        draw(st.sampled_from(LOCAL_IPS)),
    )


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    address = ipaddress.ip_address(text)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def oracle(
    entries: list[tuple[UrlPrefix, str]], port: int, host: str | None, path: str, local_ip: str
) -> str | RouteMiss:
    """The spec's routing decision, written as plainly as possible."""
    request = path.lower() if path.endswith("/") else path.lower() + "/"
    request_host = (host or "").lower().removesuffix(".")
    host_matched = False
    for kind in sorted(HostKind):
        bucket = []
        for prefix, tgt in entries:
            if prefix.port != port or prefix.kind != kind:
                continue
            if kind is HostKind.EXPLICIT and (not request_host or prefix.host != request_host):
                continue
            if kind is HostKind.IP and _ip(prefix.host) != _ip(local_ip):
                continue
            bucket.append((prefix, tgt))
        host_matched = host_matched or bool(bucket)
        matching = [
            (unquote(p.path).lower(), tgt) for p, tgt in bucket if request.startswith(unquote(p.path).lower())
        ]
        if matching:
            return max(matching, key=lambda pair: len(pair[0]))[1]  # max keeps the earliest of equals
    return RouteMiss.NOT_FOUND if host_matched else RouteMiss.INVALID_HOSTNAME


def target(result: RouteResult[str]) -> str | RouteMiss:
    return result.target if isinstance(result, RouteMatch) else result


def build(texts: list[str]) -> RoutingTable[str]:
    t: RoutingTable[str] = RoutingTable()
    for text in texts:
        try:
            t.add(parse_url_prefix(text), text)
        except PrefixConflict:
            pass
    return t


@settings(max_examples=200, deadline=None)
@given(
    ops=st.lists(st.tuples(st.booleans(), prefix_texts()), max_size=25),
    probes=st.lists(requests(), min_size=1, max_size=10),
)
def test_route_equals_brute_force_oracle_after_any_adds_and_removes(
    ops: list[tuple[bool, str]], probes: list[tuple[int, str | None, str, str]]
) -> None:
    t: RoutingTable[str] = RoutingTable()
    keys: dict[tuple[object, ...], str] = {}
    for is_add, text in ops:
        if is_add:
            prefix = parse_url_prefix(text)
            try:
                t.add(prefix, text)
            except PrefixConflict:
                assert prefix.key in keys  # conflicts exactly when the key is taken
            else:
                assert prefix.key not in keys
                keys[prefix.key] = text
        else:
            registered = text in keys.values()
            try:
                t.remove(text)
            except KeyError:
                assert not registered  # removal needs the identical string
            else:
                assert registered
                keys = {k: v for k, v in keys.items() if v != text}
        # interleave routing with mutation so stale cache entries would be caught
        for port, host, path, local_ip in probes:
            assert target(t.route(port, host, path, local_ip)) == oracle(
                t.entries(), port, host, path, local_ip
            )
    assert len(t) == len(keys)


@given(texts=st.lists(prefix_texts(hosts=("*",)), min_size=1, max_size=12), extra=segments)
def test_registered_path_routes_to_itself_and_owns_its_subtree(texts: list[str], extra: list[str]) -> None:
    t = build(texts)
    for prefix, tgt in t.entries():
        assert tgt == prefix.original
        local_path = unquote(prefix.path)
        result = t.route(prefix.port, "any", local_path, "10.0.0.1")
        assert isinstance(result, RouteMatch)
        # itself, or an earlier registration spelling the same path differently (/a/ and /%61/)
        assert result.target == tgt or unquote(result.prefix.path).lower() == local_path.lower()
        below = t.route(prefix.port, "any", local_path + "/".join(unquote(s) for s in extra), "10.0.0.1")
        assert isinstance(below, RouteMatch)
        assert unquote(below.prefix.path).lower().startswith(unquote(prefix.path).lower())


@given(
    texts=st.lists(prefix_texts(), max_size=15), probe=requests(), upper=st.booleans(), slash=st.booleans()
)
def test_route_ignores_case_and_trailing_slash_of_request_path(
    texts: list[str], probe: tuple[int, str | None, str, str], upper: bool, slash: bool
) -> None:
    t = build(texts)
    port, host, path, local_ip = probe
    variant = path.upper() if upper else path.lower()
    variant = variant.rstrip("/") + "/" if slash else variant.rstrip("/") or "/"
    assert target(t.route(port, host, path, local_ip)) == target(t.route(port, host, variant, local_ip))


@given(
    texts=st.lists(prefix_texts(), max_size=15), new=prefix_texts(), probes=st.lists(requests(), max_size=15)
)
def test_adding_a_prefix_only_changes_requests_it_now_receives(
    texts: list[str], new: str, probes: list[tuple[int, str | None, str, str]]
) -> None:
    t = build(texts)
    before = [target(t.route(*probe)) for probe in probes]
    try:
        t.add(parse_url_prefix(new), new)
    except PrefixConflict:
        return
    after = [target(t.route(*probe)) for probe in probes]
    for old, now in zip(before, after, strict=True):
        # a match is only ever taken over by the new prefix; a miss may only get better (400 -> 404 -> match)
        assert now in (old, new) or (old is RouteMiss.INVALID_HOSTNAME and now is RouteMiss.NOT_FOUND)


@given(texts=st.lists(prefix_texts(), max_size=15), probes=st.lists(requests(), max_size=15))
def test_strong_root_on_a_port_receives_every_request_on_that_port(
    texts: list[str], probes: list[tuple[int, str | None, str, str]]
) -> None:
    t = build(texts)
    try:
        t.add(parse_url_prefix("http://+:80/"), "strong-root")
    except PrefixConflict:
        pass
    for port, host, path, local_ip in probes:
        result = t.route(port, host, path, local_ip)
        if port == 80:
            assert isinstance(result, RouteMatch) and result.prefix.kind is HostKind.STRONG
        else:
            assert target(result) == oracle(t.entries(), port, host, path, local_ip)
