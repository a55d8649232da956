"""URL prefix registration and validation, listening, and routing by host bucket and path (§6 D 37-48, E 51-60)."""

from __future__ import annotations

import ctypes
import os
import socket

import pytest

from httpsys.win32 import *

from .harness import (
    RawClient,
    bind,
    create_group,
    create_queue,
    create_session,
    free_port,
    receive,
    respond,
)


def v1_queue() -> int:
    handle = ctypes.c_void_p()
    assert HttpCreateHttpHandle(handle, 0) == NO_ERROR
    return int(handle.value or 0)


BAD_PREFIXES = [
    "http://localhost:{port}",  # no path
    "localhost:{port}/",  # no scheme
    "http://localhost/",  # no port
    "http://localhost:/",  # empty port
    "http://localhost:0/",  # port 0
    "http://localhost:{port}/?a=b",  # a query
    "http://localhost:{port}/path?x",
    "ftp://localhost:{port}/",
    "HTTP://localhost:{port}/",  # only lower-case schemes
]


@pytest.mark.parametrize("template", BAD_PREFIXES)
def test_malformed_prefixes_are_invalid_parameter(initialized: None, template: str) -> None:
    url = template.format(port=free_port())
    group = create_group(create_session())
    assert HttpAddUrlToUrlGroup(group, url, 0, 0) == ERROR_INVALID_PARAMETER
    assert HttpAddUrl(v1_queue(), url, None) == ERROR_INVALID_PARAMETER


def test_add_url_reserved_must_be_null(initialized: None) -> None:
    assert HttpAddUrl(v1_queue(), f"http://localhost:{free_port()}/", 1) == ERROR_INVALID_PARAMETER


def test_add_url_on_a_v2_queue_is_invalid_parameter(initialized: None) -> None:
    assert HttpAddUrl(create_queue(), f"http://localhost:{free_port()}/", None) == ERROR_INVALID_PARAMETER


def test_registering_a_prefix_twice_anywhere_is_already_exists(initialized: None) -> None:
    port = free_port()
    url = f"http://localhost:{port}/dup/"
    first, second = v1_queue(), v1_queue()
    assert HttpAddUrl(first, url, None) == NO_ERROR
    assert HttpAddUrl(first, url, None) == ERROR_ALREADY_EXISTS
    assert HttpAddUrl(second, url, None) == ERROR_ALREADY_EXISTS
    group = create_group(create_session())
    assert HttpAddUrlToUrlGroup(group, url, 0, 0) == ERROR_ALREADY_EXISTS


def test_a_prefix_with_and_without_trailing_slash_is_the_same_prefix(initialized: None) -> None:
    port = free_port()
    queue = v1_queue()
    assert HttpAddUrl(queue, f"http://localhost:{port}/barfoo", None) == NO_ERROR
    assert HttpAddUrl(queue, f"http://localhost:{port}/barfoo/", None) == ERROR_ALREADY_EXISTS


def test_the_same_path_in_different_host_categories_coexists(initialized: None) -> None:
    port = free_port()
    group = create_group(create_session())
    for host in ("+", "localhost", "127.0.0.1", "*"):
        assert HttpAddUrlToUrlGroup(group, f"http://{host}:{port}/vroot/", 0, 0) == NO_ERROR


def test_a_port_held_by_a_foreign_socket_is_a_sharing_violation(initialized: None) -> None:
    with socket.socket() as foreign:
        foreign.bind(("0.0.0.0", 0))
        foreign.listen()
        port = foreign.getsockname()[1]
        group = create_group(create_session())
        assert HttpAddUrlToUrlGroup(group, f"http://+:{port}/", 0, 0) == ERROR_SHARING_VIOLATION
        assert HttpAddUrl(v1_queue(), f"http://+:{port}/", None) == ERROR_SHARING_VIOLATION


@pytest.mark.skipif(os.geteuid() == 0, reason="root may bind privileged ports")
def test_a_privileged_port_without_rights_is_access_denied(initialized: None) -> None:
    group = create_group(create_session())
    assert HttpAddUrlToUrlGroup(group, "http://+:81/", 0, 0) == ERROR_ACCESS_DENIED


def test_remove_needs_the_exact_registered_string(initialized: None) -> None:
    port = free_port()
    queue = v1_queue()
    url = f"http://localhost:{port}/exact/"
    assert HttpAddUrl(queue, url, None) == NO_ERROR
    assert HttpRemoveUrl(queue, f"http://LOCALHOST:{port}/exact/") == ERROR_FILE_NOT_FOUND
    assert HttpRemoveUrl(queue, url) == NO_ERROR
    assert HttpRemoveUrl(queue, url) == ERROR_FILE_NOT_FOUND
    assert HttpRemoveUrl(queue, None) == ERROR_INVALID_PARAMETER


def connects(port: int, host: str = "127.0.0.1") -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as s:
        s.settimeout(1)
        return s.connect_ex((host, port)) == 0


def test_listening_starts_with_the_first_registration_and_stops_with_the_last(initialized: None) -> None:
    port = free_port()
    queue = v1_queue()
    assert not connects(port)
    assert HttpAddUrl(queue, f"http://+:{port}/a/", None) == NO_ERROR
    assert HttpAddUrl(queue, f"http://+:{port}/b/", None) == NO_ERROR
    assert connects(port)
    assert HttpRemoveUrl(queue, f"http://+:{port}/a/") == NO_ERROR
    assert connects(port)
    assert HttpRemoveUrl(queue, f"http://+:{port}/b/") == NO_ERROR
    assert not connects(port)


def test_listening_covers_ipv4_and_ipv6_loopback(initialized: None) -> None:
    port = free_port()
    assert HttpAddUrl(v1_queue(), f"http://+:{port}/", None) == NO_ERROR
    assert connects(port, "127.0.0.1")
    if socket.has_ipv6 and connects_any_ipv6():
        assert connects(port, "::1")


def connects_any_ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def test_http_and_https_cannot_share_a_port(initialized: None) -> None:
    port = free_port()
    group = create_group(create_session())
    assert HttpAddUrlToUrlGroup(group, f"http://+:{port}/", 0, 0) == NO_ERROR
    assert HttpAddUrlToUrlGroup(group, f"https://+:{port}/secure/", 0, 0) != NO_ERROR


# ----- routing ---------------------------------------------------------------------------------------------------


class Router:
    """One queue, one group, one port; each registration's UrlContext tells which prefix matched."""

    def __init__(self) -> None:
        self.port = free_port()
        self.group = create_group(create_session())
        self.queue = create_queue()
        assert bind(self.group, self.queue) == NO_ERROR
        self.clients: list[RawClient] = []

    def add(self, host: str, path: str, context: int) -> None:
        assert HttpAddUrlToUrlGroup(self.group, f"http://{host}:{self.port}{path}", context, 0) == NO_ERROR

    def route(self, path: str, host: str | None = None, target: str | None = None) -> int:
        c = RawClient(self.port)
        self.clients.append(c)
        host_value = host if host is not None else f"localhost:{self.port}"
        c.send(f"GET {target or path} HTTP/1.1\r\nHost: {host_value}\r\n\r\n".encode())
        request = receive(self.queue)
        respond(self.queue, request.RequestId)
        return request.UrlContext

    def status(self, path: str, host: str, timeout: float = 5.0) -> bytes:
        c = RawClient(self.port)
        self.clients.append(c)
        c.send(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        return c.recv_response(timeout)[0]

    def close(self) -> None:
        for c in self.clients:
            c.close()


@pytest.fixture
def router(initialized: None):
    r = Router()
    yield r
    r.close()


def test_strong_wildcard_beats_explicit_host_beats_ip_beats_weak_wildcard(router: Router) -> None:
    router.add("*", "/", 4)
    assert router.route("/") == 4
    router.add("127.0.0.1", "/", 3)
    assert router.route("/") == 3
    router.add("localhost", "/", 2)
    assert router.route("/") == 2
    router.add("+", "/", 1)
    assert router.route("/") == 1


def test_a_bucket_with_a_match_hides_longer_matches_in_lower_buckets(router: Router) -> None:
    router.add("+", "/", 1)
    router.add("localhost", "/deep/longer/", 2)
    assert router.route("/deep/longer/x") == 1


def test_a_bucket_without_a_match_falls_through_to_the_next(router: Router) -> None:
    router.add("+", "/only/", 1)
    router.add("localhost", "/", 2)
    assert router.route("/other") == 2
    assert router.route("/only/x") == 1


def test_longest_path_prefix_wins_on_whole_segments(router: Router) -> None:
    router.add("+", "/dir/", 1)
    router.add("+", "/dir/sna/", 2)
    assert router.route("/dir/sna/x") == 2
    assert router.route("/dir/snap") == 1
    assert router.route("/dir/app.htm") == 1


def test_trailing_slash_and_query_do_not_affect_matching(router: Router) -> None:
    router.add("+", "/", 1)
    router.add("+", "/a/b/", 2)
    assert router.route("/a/b") == 2
    assert router.route("/a/b?x=1") == 2
    assert router.route("/a/b/c") == 2
    assert router.route("/a/bc") == 1


def test_explicit_hosts_compare_case_insensitively(router: Router) -> None:
    router.add("localhost", "/", 2)
    router.add("*", "/", 4)
    assert router.route("/", host=f"LOCALHOST:{router.port}") == 2
    assert router.route("/", host="otherhost") == 4


def test_an_explicit_host_must_match_the_host_header_port_too(router: Router) -> None:
    router.add("localhost", "/", 2)
    router.add("*", "/", 4)
    assert router.route("/", host="localhost:1") == 4


def test_absolute_form_target_supplies_the_host(router: Router) -> None:
    router.add("localhost", "/", 2)
    router.add("*", "/", 4)
    assert router.route("/", host="ignored", target=f"http://localhost:{router.port}/") == 2


def test_unknown_host_is_400_invalid_hostname_and_unmatched_path_is_404(router: Router) -> None:
    router.add("localhost", "/app/", 2)
    assert router.status("/", "otherhost") == b"HTTP/1.1 400 Bad Request"
    assert router.status("/nope", f"localhost:{router.port}") == b"HTTP/1.1 404 Not Found"


def test_a_reservation_without_registration_as_best_match_is_400(router: Router) -> None:
    router.add("+", "/", 1)
    prefix = f"http://+:{router.port}/reserved/"
    record = HTTP_SERVICE_CONFIG_URLACL_SET(
        HTTP_SERVICE_CONFIG_URLACL_KEY(prefix), HTTP_SERVICE_CONFIG_URLACL_PARAM("D:(A;;GX;;;WD)")
    )
    assert (
        HttpSetServiceConfiguration(None, HttpServiceConfigUrlAclInfo, record, sizeof(record), None)
        == NO_ERROR
    )
    try:
        assert router.status("/reserved/x", f"localhost:{router.port}", 0.5) == b"HTTP/1.1 400 Bad Request"
        assert router.route("/other", host=f"localhost:{router.port}") == 1  # outside the reservation
        router.add("+", "/reserved/", 2)  # registering the reserved prefix itself: it routes
        assert router.route("/reserved/x", host=f"localhost:{router.port}") == 2
    finally:
        assert (
            HttpDeleteServiceConfiguration(None, HttpServiceConfigUrlAclInfo, record, sizeof(record), None)
            == NO_ERROR
        )


def test_different_paths_on_one_port_go_to_different_queues(initialized: None) -> None:
    port = free_port()
    session = create_session()
    queues = []
    for path in ("/left/", "/right/"):
        group = create_group(session)
        queue = create_queue()
        assert bind(group, queue) == NO_ERROR
        assert HttpAddUrlToUrlGroup(group, f"http://+:{port}{path}", 0, 0) == NO_ERROR
        queues.append(queue)
    for path, queue in (("/right/x", queues[1]), ("/left/y", queues[0])):
        c = RawClient(port)
        c.get(path, port)
        request = receive(queue)
        assert request.pRawUrl == path.encode()
        respond(queue, request.RequestId)
        assert c.recv_response()[0] == b"HTTP/1.1 200 OK"
        c.close()
