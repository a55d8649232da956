"""HttpQueryRequestProperty's answers, read from the connection a request arrived on.

Responsibility: map what Linux knows about a request's connection onto the properties HTTP.sys defines
(spec §2 item 40, §6 item 148): the kernel's TCP_INFO onto TCP_INFO_v0 and TCP_INFO_v1, the ideal send backlog
(`HttpRequestPropertyIsb`), the TLS server name (`HttpRequestPropertySni`); every other property, and these where
they have no meaning (no socket, plaintext SNI), answer ERROR_INVALID_FUNCTION ("not supported for this request").
Values are plain dicts and ints (they cross the daemon's wire as property values; the win32 face fills the
caller's struct). It must not change the connection or the request: a query only reads.
"""

from __future__ import annotations

import socket
import struct
from typing import Any

from httpsys._core.status import Win32Error as E

# HTTP_REQUEST_PROPERTY values (spec §3.8)
PROPERTY_ISB = 0
PROPERTY_TCP_INFO_V0 = 1
PROPERTY_TCP_INFO_V1 = 3
PROPERTY_SNI = 4
SNI_FLAG_SNI_USED = 0x1  # HTTP_REQUEST_PROPERTY_SNI_FLAG_SNI_USED
SNI_FLAG_NO_SNI = 0x2  # HTTP_REQUEST_PROPERTY_SNI_FLAG_NO_SNI

_OK = int(E.NO_ERROR)
_UNSUPPORTED = int(E.ERROR_INVALID_FUNCTION)

# struct tcp_info (linux/tcp.h) as far as this module reads it, by byte offset; a field past what the running
# kernel returns reads as 0
_LINUX_FIELDS: tuple[tuple[str, int, str], ...] = (
    ("state", 0, "B"),
    ("options", 5, "B"),
    ("snd_mss", 16, "I"),
    ("unacked", 24, "I"),
    ("rtt", 68, "I"),
    ("snd_cwnd", 80, "I"),
    ("bytes_acked", 120, "Q"),
    ("bytes_received", 128, "Q"),
    ("min_rtt", 148, "I"),
    ("busy_time", 168, "Q"),
    ("rwnd_limited", 176, "Q"),
    ("sndbuf_limited", 184, "Q"),
    ("bytes_sent", 200, "Q"),
    ("bytes_retrans", 208, "Q"),
    ("snd_wnd", 228, "I"),
    ("rcv_wnd", 232, "I"),
    ("total_rto", 240, "H"),
)
_TCP_INFO_BYTES = 256
_TCPI_OPT_TIMESTAMPS = 1
# Linux tcp_states.h -> Windows TCPSTATE (mstcpip.h): CLOSED 0, LISTEN 1, SYN_SENT 2, SYN_RCVD 3, ESTABLISHED 4,
# FIN_WAIT_1 5, FIN_WAIT_2 6, CLOSE_WAIT 7, CLOSING 8, LAST_ACK 9, TIME_WAIT 10
_TCPSTATE = {1: 4, 2: 2, 3: 3, 4: 5, 5: 6, 6: 10, 7: 0, 8: 7, 9: 9, 10: 1, 11: 8}


def query_request_property(channel: Any, prop: int) -> tuple[int, object]:
    """(code, value) of HttpQueryRequestProperty for the request whose channel (its HTTP/1.x connection or its
    HTTP/2 stream) is `channel`."""
    conn = getattr(channel, "conn", channel)  # an Http2Stream's connection, or the HTTP/1.x connection itself
    if prop == PROPERTY_SNI:
        tls = getattr(conn, "tls", None)
        if tls is None:
            return _UNSUPPORTED, None  # no TLS on this connection: nothing to report
        name = str(tls.server_name or "")
        return _OK, {"Hostname": name, "Flags": SNI_FLAG_SNI_USED if name else SNI_FLAG_NO_SNI}
    if prop not in (PROPERTY_ISB, PROPERTY_TCP_INFO_V0, PROPERTY_TCP_INFO_V1):
        return _UNSUPPORTED, None
    transport = getattr(conn, "transport", None)
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is None or getattr(conn, "closed", False):
        return int(E.ERROR_CONNECTION_INVALID), None
    try:
        raw = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO_BYTES)
        rcvbuf = int(sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF))
    except OSError:
        return int(E.ERROR_CONNECTION_INVALID), None
    linux = _linux_tcp_info(raw)
    if prop == PROPERTY_ISB:
        return _OK, ideal_send_backlog(linux)
    info = tcp_info_v0(linux, rcvbuf)
    if prop == PROPERTY_TCP_INFO_V1:
        info.update(tcp_info_v1_extra(linux))
    return _OK, info


def _linux_tcp_info(raw: bytes) -> dict[str, int]:
    out: dict[str, int] = {}
    for name, offset, code in _LINUX_FIELDS:
        size = struct.calcsize(code)
        out[name] = struct.unpack_from("=" + code, raw, offset)[0] if offset + size <= len(raw) else 0
    return out


def ideal_send_backlog(linux: dict[str, int]) -> int:
    """HttpRequestPropertyIsb: what HTTP.sys asks the transport for (SIO_IDEAL_SEND_BACKLOG_QUERY), here the
    bytes the congestion window lets the connection have in flight (snd_cwnd * snd_mss)."""
    return linux["snd_cwnd"] * linux["snd_mss"]


def tcp_info_v0(linux: dict[str, int], rcvbuf: int) -> dict[str, int]:
    """TCP_INFO_v0's fields from Linux's tcp_info (docs/http2.md lists the mapping; fields Linux does not count
    are 0)."""
    mss = linux["snd_mss"]
    return {
        "State": _TCPSTATE.get(linux["state"], 0),
        "Mss": mss,
        "ConnectionTimeMs": 0,  # not kept by the kernel
        "TimestampsEnabled": 1 if linux["options"] & _TCPI_OPT_TIMESTAMPS else 0,
        "RttUs": linux["rtt"],
        "MinRttUs": linux["min_rtt"],
        "BytesInFlight": linux["unacked"] * mss,
        "Cwnd": linux["snd_cwnd"] * mss,
        "SndWnd": linux["snd_wnd"],
        "RcvWnd": linux["rcv_wnd"],
        "RcvBuf": rcvbuf,
        "BytesOut": linux["bytes_sent"],
        "BytesIn": linux["bytes_received"],
        "BytesReordered": 0,
        "BytesRetrans": linux["bytes_retrans"],
        "FastRetrans": 0,
        "DupAcksIn": 0,
        "TimeoutEpisodes": linux["total_rto"],
        "SynRetrans": 0,
    }


def tcp_info_v1_extra(linux: dict[str, int]) -> dict[str, int]:
    """TCP_INFO_v1's send-limit times (ms) from Linux's busy, receive-window-limited and send-buffer-limited
    times (µs); the transition counts and byte counts have no Linux counterpart (0)."""
    rwnd = linux["rwnd_limited"]
    sndbuf = linux["sndbuf_limited"]
    cwnd = max(0, linux["busy_time"] - rwnd - sndbuf)
    return {
        "SndLimTransRwin": 0,
        "SndLimTimeRwin": min(rwnd // 1000, 0xFFFFFFFF),
        "SndLimBytesRwin": 0,
        "SndLimTransCwnd": 0,
        "SndLimTimeCwnd": min(cwnd // 1000, 0xFFFFFFFF),
        "SndLimBytesCwnd": 0,
        "SndLimTransSnd": 0,
        "SndLimTimeSnd": min(sndbuf // 1000, 0xFFFFFFFF),
        "SndLimBytesSnd": 0,
    }
