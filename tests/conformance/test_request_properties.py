"""HttpQueryRequestProperty (spec §2 item 40, §6 item 148) on a real request over a loopback connection: TCP info
v0/v1 and the ideal send backlog from the kernel's TCP_INFO, the documented codes for what has no meaning here,
ERROR_MORE_DATA with the size for a short buffer, and an OVERLAPPED call that completes at once."""

from __future__ import annotations

import ctypes

from httpsys.win32 import *

from .harness import RawClient, Server, respond, wait

ESTABLISHED = 4  # TCPSTATE_ESTABLISHED (mstcpip.h)


def _request(server: Server, body: bytes = b"") -> tuple[RawClient, int, int]:
    """A request that has arrived: (its client, its RequestId, the bytes the client sent)."""
    client = RawClient(server.port)
    raw = b"POST /props HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    client.send(raw)
    request = server.receive()
    return client, int(request.RequestId), len(raw)


def test_tcp_info_v0_and_v1_describe_the_requests_connection(server: Server) -> None:
    client, request_id, sent = _request(server, b"x" * 5000)
    try:
        info, got = TCP_INFO_v0(), ctypes.c_ulong()
        code = HttpQueryRequestProperty(
            server.queue, request_id, HttpRequestPropertyTcpInfoV0, None, 0, info, sizeof(info), got, None
        )
        assert code == NO_ERROR and got.value == sizeof(TCP_INFO_v0) == 88
        assert info.State == ESTABLISHED
        assert info.BytesIn >= sent  # the kernel counted the request's bytes on this connection
        assert 0 < info.Mss <= 65535 and info.Cwnd >= info.Mss and info.RcvBuf > 0
        assert info.RttUs > 0 and info.MinRttUs > 0
        qualifier = HTTP_QUERY_REQUEST_QUALIFIER_TCP(Freshness=0)
        v1 = TCP_INFO_v1()
        code = HttpQueryRequestProperty(
            server.queue, request_id, HttpRequestPropertyTcpInfoV1, qualifier, sizeof(qualifier), v1, 136, got
        )
        assert code == NO_ERROR and got.value == 136
        assert v1.State == ESTABLISHED and v1.BytesIn >= sent and v1.Mss == info.Mss
        # after the response, the connection has sent more
        assert respond(server.queue, request_id, b"y" * 20000)[0] == NO_ERROR
        client.recv_response()
    finally:
        client.close()


def test_ideal_send_backlog_is_the_congestion_windows_bytes(server: Server) -> None:
    client, request_id, _ = _request(server)
    try:
        isb, got = ctypes.c_ulonglong(), ctypes.c_ulong()
        code = HttpQueryRequestProperty(
            server.queue, request_id, HttpRequestPropertyIsb, None, 0, isb, 8, got
        )
        assert code == NO_ERROR and got.value == 8
        info = TCP_INFO_v0()
        HttpQueryRequestProperty(
            server.queue, request_id, HttpRequestPropertyTcpInfoV0, None, 0, info, 88, None
        )
        assert isb.value == info.Cwnd > 0
    finally:
        client.close()


def test_a_short_output_buffer_gets_more_data_and_the_size(server: Server) -> None:
    client, request_id, _ = _request(server)
    try:
        got = ctypes.c_ulong()
        code = HttpQueryRequestProperty(
            server.queue, request_id, HttpRequestPropertyTcpInfoV1, None, 0, None, 0, got, None
        )
        assert code == ERROR_MORE_DATA and got.value == 136
        code = HttpQueryRequestProperty(
            server.queue, request_id, HttpRequestPropertyTcpInfoV0, None, 0, TCP_INFO_v0(), 40, got
        )
        assert code == ERROR_MORE_DATA and got.value == 88
        # the right size but the wrong struct, or a qualifier that is not HTTP_QUERY_REQUEST_QUALIFIER_TCP
        wrong = HttpQueryRequestProperty(
            server.queue, request_id, HttpRequestPropertyTcpInfoV0, None, 0, TCP_INFO_v1(), 136, got
        )
        assert wrong == ERROR_INVALID_PARAMETER
        bad_qualifier = HttpQueryRequestProperty(
            server.queue, request_id, HttpRequestPropertyTcpInfoV0, bytearray(8), 8, TCP_INFO_v0(), 88, got
        )
        assert bad_qualifier == ERROR_INVALID_PARAMETER
    finally:
        client.close()


def test_properties_without_meaning_here_are_invalid_function(server: Server) -> None:
    client, request_id, _ = _request(server)
    try:
        sni = HTTP_REQUEST_PROPERTY_SNI()
        out = bytearray(1024)
        # SNI on a plaintext request; no QUIC; timings need EnableExtendedEvents; TLS details not kept; the
        # settable properties and TCP info v2 cannot be queried
        assert (
            HttpQueryRequestProperty(
                server.queue, request_id, HttpRequestPropertySni, None, 0, sni, sizeof(sni), None
            )
            == ERROR_INVALID_FUNCTION
        )
        for prop in (
            HttpRequestPropertyQuicStats, HttpRequestPropertyStreamError, HttpRequestPropertyWskApiTimings,
            HttpRequestPropertyQuicApiTimings, HttpRequestPropertyQuicStatsV2, HttpRequestPropertyQuicStreamStats,
            HttpRequestPropertyTcpInfoV2, HttpRequestPropertyTlsClientHello,
            HttpRequestPropertyTransportIdleConnectionTimeout, HttpRequestPropertyDscpTag,
            HttpRequestPropertyTlsCipherInfo, 0x7777,
        ):  # fmt: skip
            code = HttpQueryRequestProperty(server.queue, request_id, prop, None, 0, out, len(out), None)
            assert code == ERROR_INVALID_FUNCTION, prop
    finally:
        client.close()


def test_unknown_request_and_handle_get_the_usual_codes(server: Server) -> None:
    info = TCP_INFO_v0()
    code = HttpQueryRequestProperty(
        server.queue, 12345, HttpRequestPropertyTcpInfoV0, None, 0, info, 88, None
    )
    assert code == ERROR_CONNECTION_INVALID
    code = HttpQueryRequestProperty(0xBAD0, 1, HttpRequestPropertyTcpInfoV0, None, 0, info, 88, None)
    assert code == ERROR_INVALID_HANDLE


def test_an_overlapped_query_completes_at_once(server: Server) -> None:
    client, request_id, sent = _request(server)
    try:
        info, ov = TCP_INFO_v0(), OVERLAPPED()
        code = HttpQueryRequestProperty(
            server.queue, request_id, HttpRequestPropertyTcpInfoV0, None, 0, info, 88, None, ov
        )
        assert code in (NO_ERROR, ERROR_IO_PENDING)
        ok, error, nbytes = wait(server.queue, ov)
        assert ok and error == 0 and nbytes == 88
        assert info.State == ESTABLISHED and info.BytesIn >= sent
    finally:
        client.close()
