"""Fragment cache, client certificates, HttpPrepareUrl, feature probe, and the ERROR_NOT_SUPPORTED functions."""

from __future__ import annotations

import ctypes

import pytest

from httpsys.win32 import *

from .harness import Server, memory_chunk


def add_fragment(server: Server, name: str, data: bytes) -> int:
    policy = HTTP_CACHE_POLICY(HttpCachePolicyUserInvalidates, 0)
    return HttpAddFragmentToCache(server.queue, name, memory_chunk(data), policy, None)


def read_fragment(server: Server, name: str, size: int, byte_range: object = None) -> tuple[int, bytes, int]:
    buffer = bytearray(max(size, 1))
    got = ctypes.c_ulong()
    code = HttpReadFragmentFromCache(server.queue, name, byte_range, buffer, size, got, None)
    return code, bytes(buffer[: got.value]) if code == NO_ERROR else b"", got.value


def test_fragments_are_added_read_whole_or_by_range_and_overwritten(server: Server) -> None:
    name = f"http://+:{server.port}/frag/a"
    assert add_fragment(server, name, b"0123456789") == NO_ERROR
    assert read_fragment(server, name, 64) == (NO_ERROR, b"0123456789", 10)
    assert read_fragment(server, name, 64, HTTP_BYTE_RANGE(3, 4)) == (NO_ERROR, b"3456", 4)
    assert read_fragment(server, name, 64, HTTP_BYTE_RANGE(8, HTTP_BYTE_RANGE_TO_EOF)) == (NO_ERROR, b"89", 2)
    assert add_fragment(server, name, b"new") == NO_ERROR
    assert read_fragment(server, name, 64)[1] == b"new"


def test_reading_a_fragment_into_a_small_buffer_is_more_data_with_the_size(server: Server) -> None:
    name = f"http://+:{server.port}/frag/b"
    assert add_fragment(server, name, b"x" * 100) == NO_ERROR
    assert read_fragment(server, name, 10) == (ERROR_MORE_DATA, b"", 100)
    ov = OVERLAPPED()
    code = HttpReadFragmentFromCache(server.queue, name, None, bytearray(10), 10, None, ov)
    assert code == ERROR_MORE_DATA and ov.InternalHigh == 100  # a warning: the completion carries the size


def test_a_missing_fragment_cannot_be_read(server: Server) -> None:
    assert read_fragment(server, f"http://+:{server.port}/frag/none", 10)[0] in (
        ERROR_PATH_NOT_FOUND,
        ERROR_FILE_NOT_FOUND,
    )


def test_fragment_names_must_lie_under_a_prefix_of_the_queue(server: Server) -> None:
    assert add_fragment(server, "http://+:1/elsewhere", b"x") == ERROR_INVALID_PARAMETER
    policy = HTTP_CACHE_POLICY(HttpCachePolicyUserInvalidates)
    name = f"http://+:{server.port}/frag/c"
    assert (
        HttpAddFragmentToCache(server.queue, name, memory_chunk(b"x"), None, None) == ERROR_INVALID_PARAMETER
    )
    assert (
        HttpAddFragmentToCache(server.queue, None, memory_chunk(b"x"), policy, None)
        == ERROR_INVALID_PARAMETER
    )
    assert HttpAddFragmentToCache(server.queue, name, "chunk", policy, None) == ERROR_INVALID_PARAMETER


def test_flush_removes_a_fragment_and_recursive_removes_descendants(server: Server) -> None:
    base = f"http://+:{server.port}/tree/"
    for leaf in ("a", "b/c"):
        assert add_fragment(server, base + leaf, b"leaf") == NO_ERROR
    assert HttpFlushResponseCache(server.queue, base + "a", 0, None) == NO_ERROR
    assert read_fragment(server, base + "a", 10)[0] != NO_ERROR
    assert read_fragment(server, base + "b/c", 10)[0] == NO_ERROR
    assert HttpFlushResponseCache(server.queue, base, HTTP_FLUSH_RESPONSE_FLAG_RECURSIVE, None) == NO_ERROR
    assert read_fragment(server, base + "b/c", 10)[0] != NO_ERROR
    assert HttpFlushResponseCache(server.queue, base, 0x80, None) == ERROR_INVALID_PARAMETER


def test_client_certificate_on_a_plain_connection_is_not_found(server: Server, client) -> None:
    c = client(server.port)
    c.get("/", server.port)
    request = server.receive()
    info = HTTP_SSL_CLIENT_CERT_INFO()
    got = ctypes.c_ulong(5)
    size = sizeof(info)
    assert HttpReceiveClientCertificate(server.queue, request.ConnectionId, 0, info, size, got, None) == (
        ERROR_NOT_FOUND
    )
    assert got.value == 0
    assert HttpReceiveClientCertificate(server.queue, request.ConnectionId, 0, info, 8, got, None) == (
        ERROR_INSUFFICIENT_BUFFER
    )
    status = HTTP_REQUEST_CHANNEL_BIND_STATUS()
    assert (
        HttpReceiveClientCertificate(
            server.queue,
            request.ConnectionId,
            HTTP_RECEIVE_SECURE_CHANNEL_TOKEN,
            status,
            sizeof(status),
            got,
            None,
        )
        == ERROR_NOT_FOUND
    )
    assert HttpReceiveClientCertificate(server.queue, request.ConnectionId, 0x10, info, size, got, None) == (
        ERROR_INVALID_PARAMETER
    )
    assert HttpReceiveClientCertificate(server.queue, request.ConnectionId, 0, info, size, None, None) == (
        ERROR_INVALID_PARAMETER
    )
    assert HttpReceiveClientCertificate(
        server.queue, request.ConnectionId, 0, info, size, None, OVERLAPPED()
    ) == (ERROR_NOT_FOUND)


@pytest.mark.parametrize(
    ("url", "prepared"),
    [
        ("HTTP://LocalHost:8080/Path/", "http://localhost:8080/Path/"),
        ("http://+:80/", "http://+:80/"),
        ("https://[::1]:443/x", "https://[::1]:443/x"),
        ("http://xn--bcher-kva.example:81/", "http://bücher.example:81/"),
        ("http://BÜCHER.example:81/", "http://bücher.example:81/"),
    ],
)
def test_prepare_url_normalizes_scheme_host_and_idn(url: str, prepared: str) -> None:
    out = ctypes.c_wchar_p()
    assert HttpPrepareUrl(None, 0, url, out) == NO_ERROR
    assert out.value == prepared


def test_prepare_url_argument_rules() -> None:
    out = ctypes.c_wchar_p()
    assert HttpPrepareUrl(b"x", 0, "http://a:1/", out) == ERROR_INVALID_PARAMETER
    assert HttpPrepareUrl(None, 1, "http://a:1/", out) == ERROR_INVALID_PARAMETER
    assert HttpPrepareUrl(None, 0, None, out) == ERROR_INVALID_PARAMETER
    assert HttpPrepareUrl(None, 0, "http://a:1/", None) == ERROR_INVALID_PARAMETER
    assert HttpPrepareUrl(None, 0, "mailto:x", out) == ERROR_INVALID_PARAMETER
    assert HttpPrepareUrl(None, 0, "http://a:b/", out) == ERROR_INVALID_PARAMETER
    holder = ctypes.c_wchar_p()
    assert (
        HttpPrepareUrl(None, 0, "http://A:1/", ctypes.byref(holder)) == NO_ERROR
        and holder.value == "http://a:1/"
    )


def test_feature_probe_reports_what_is_implemented(initialized: None) -> None:
    assert HttpIsFeatureSupported(HttpFeatureResponseTrailers) is True
    assert HttpIsFeatureSupported(HttpFeatureAutomaticChunkedEncoding) is True
    assert HttpIsFeatureSupported(HttpFeatureHttp3) is False
    assert HttpIsFeatureSupported(HttpFeatureDelegateEx) is True
    assert HttpIsFeatureSupported(HttpFeatureUnknown) is False
    assert HttpIsFeatureSupported("trailers") is False


def test_functions_without_driver_support_return_not_supported(server: Server) -> None:
    q = server.queue
    headers = HTTP_REQUEST_HEADERS()
    assert HttpDeclarePush(q, 1, HttpVerbGET, "/style.css", None, headers) == ERROR_NOT_SUPPORTED
    assert HttpDeclarePush(q, 1, HttpVerbPOST, "/x", None, None) == ERROR_INVALID_PARAMETER
    assert HttpDeclarePush(q, 1, HttpVerbGET, "/x", "?q", None) == ERROR_INVALID_PARAMETER
    error = HTTP_REQUEST_PROPERTY_STREAM_ERROR(1)
    # HttpSetRequestProperty works since issue 18 (HTTP/2 stream error): an unknown RequestId is the usual error
    assert HttpSetRequestProperty(q, 1, HttpRequestPropertyStreamError, error, 4, None) == ERROR_CONNECTION_INVALID
    out, got = bytearray(64), ctypes.c_ulong()
    # HttpQueryRequestProperty works since issue 18 item 2 (test_request_properties.py): the usual error here too
    assert (
        HttpQueryRequestProperty(q, 1, HttpRequestPropertySni, None, 0, out, 64, got, None)
        == ERROR_CONNECTION_INVALID
    )
    assert HttpGetExtension(HTTPAPI_VERSION_2, 0, bytearray(8), 8) == ERROR_NOT_SUPPORTED
    assert HttpSetRequestProperty(0xBAD0, 1, 5, error, 4, None) == ERROR_INVALID_HANDLE
