"""HTTP.sys's own ("canned") responses, byte-exact with spec §5.2, and the exception that asks for one.

Responsibility: the table of situations in which the driver answers a request itself (status, status-line
reason, HTML title/heading/message, HTTPERR log reason), their precomputed bodies, the wire rendering of such a
response, and the RFC 1123 date text. It must not read the clock (the date is passed in), touch sockets, or
decide *when* a canned response is due: parsers, canonicalization and routing raise `RequestRejected`.

Wire form (spec §5.2): `HTTP/1.1 <code> <reason>`, then Content-Type, Server (left out when the caller passes
`server_header=False`, i.e. registry DisableServerHeader 1 or 2), Date, `Connection: close`, Content-Length, a
blank line and the HTML body. The connection is closed after it.

Decisions where the spec is silent or unsure:

* The status-line reason is the HTML title (`414 Request URL Too Long`, `505 Version Not Supported`).
* 413, 501 and 505 are marked UNSURE in the spec; we use, in the style of the verified ones:
  413 "Request Entity Too Large" / "Request Entity Too Large" / "The request entity is too large.";
  501 "Not Implemented" / "Not Implemented" / "The request transfer encoding type is not supported."
  (the message is the one the spec quotes); 505 "Version Not Supported" / "Version Not Supported" /
  "The request HTTP version is not supported.".
* HTTPERR reason of 404: the documented reason list has none; real HTTPERR logs show `NotFound` for it, so
  NOT_FOUND logs `NotFound`.
* HTTPERR reason of 503 defaults to `QueueFull`; callers pass `httperr_reason=` to `RequestRejected` for
  `Disabled`, `ConnLimit`, `N/A`, `AppOffline` ... (the body is the same for all of them).
"""

from __future__ import annotations

import time
from enum import Enum

__all__ = ["CannedResponse", "RequestRejected", "format_http_date", "render_canned"]

_BODY_TEMPLATE = (
    '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN""http://www.w3.org/TR/html4/strict.dtd">\r\n'
    "<HTML><HEAD><TITLE>{title}</TITLE>\r\n"
    '<META HTTP-EQUIV="Content-Type" Content="text/html; charset=us-ascii"></HEAD>\r\n'
    "<BODY><h2>{heading}</h2>\r\n"
    "<hr><p>HTTP Error {status}. {message}</p>\r\n"
    "</BODY></HTML>\r\n"
)

_SERVER_LINE = b"Server: Microsoft-HTTPAPI/2.0\r\n"


class CannedResponse(Enum):
    """One member per situation in which HTTP.sys answers a request itself (spec §5.2)."""

    # name = (status, title, heading, message, HTTPERR reason)
    BAD_REQUEST = (400, "Bad Request", "Bad Request", "The request is badly formed.", "BadRequest")
    INVALID_VERB = (400, "Bad Request", "Bad Request - Invalid Verb", "The request verb is invalid.", "Verb")
    INVALID_URL = (400, "Bad Request", "Bad Request - Invalid URL", "The request URL is invalid.", "URL")
    INVALID_HOSTNAME = (
        400,
        "Bad Request",
        "Bad Request - Invalid Hostname",
        "The request hostname is invalid.",
        "Hostname",
    )
    INVALID_HEADER = (
        400,
        "Bad Request",
        "Bad Request - Invalid Header",
        "The request has an invalid header name.",
        "Header",
    )
    REQUEST_TOO_LONG = (
        400,
        "Bad Request",
        "Bad Request - Request Too Long",
        "The size of the request headers is too long.",
        "RequestLength",
    )
    HEADER_FIELD_TOO_LONG = (
        400,
        "Bad Request",
        "Bad Request - Header Field Too Long",
        "A request header field is too long.",
        "FieldLength",
    )
    URL_TOO_LONG = (
        414,
        "Request URL Too Long",
        "Request URL Too Long",
        "The request URL is too long.",
        "URL_Length",
    )
    NOT_FOUND = (404, "Not Found", "Not Found", "The requested resource is not found.", "NotFound")
    LENGTH_REQUIRED = (
        411,
        "Length Required",
        "Length Required",
        "The request must be chunked or have a content length.",
        "LengthRequired",
    )
    ENTITY_TOO_LARGE = (
        413,
        "Request Entity Too Large",
        "Request Entity Too Large",
        "The request entity is too large.",
        "EntityTooLarge",
    )
    NOT_IMPLEMENTED = (
        501,
        "Not Implemented",
        "Not Implemented",
        "The request transfer encoding type is not supported.",
        "N/I",
    )
    SERVICE_UNAVAILABLE = (
        503,
        "Service Unavailable",
        "Service Unavailable",
        "The service is unavailable.",
        "QueueFull",
    )
    VERSION_NOT_SUPPORTED = (
        505,
        "Version Not Supported",
        "Version Not Supported",
        "The request HTTP version is not supported.",
        "Version_N/S",
    )

    status: int
    title: str
    heading: str
    message: str
    httperr_reason: str
    reason_phrase: bytes
    body: bytes
    _head_with_server: bytes
    _head_without_server: bytes
    _tail: bytes

    def __init__(self, status: int, title: str, heading: str, message: str, httperr_reason: str) -> None:
        self.status = status
        self.title = title
        self.heading = heading
        self.message = message
        self.httperr_reason = httperr_reason
        self.reason_phrase = title.encode("ascii")
        self.body = _BODY_TEMPLATE.format(
            title=title, heading=heading, status=status, message=message
        ).encode("ascii")
        status_and_type = b"HTTP/1.1 %d %s\r\nContent-Type: text/html; charset=us-ascii\r\n" % (
            status,
            self.reason_phrase,
        )
        self._head_without_server = status_and_type + b"Date: "
        self._head_with_server = status_and_type + _SERVER_LINE + b"Date: "
        self._tail = b"\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(self.body) + self.body


def render_canned(kind: CannedResponse, date: bytes, *, server_header: bool = True) -> bytes:
    """The full wire bytes of `kind` (status line, headers in HTTP.sys order, body).

    `date` is the already formatted RFC 1123 value (see `format_http_date`), without the header name.
    """
    head = kind._head_with_server if server_header else kind._head_without_server
    return b"".join((head, date, kind._tail))


_WEEKDAYS = (b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun")
_MONTHS = (b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec")


def format_http_date(epoch_seconds: float) -> bytes:
    """RFC 1123 date of the given Unix time, e.g. b"Wed, 25 Nov 2026 01:00:00 GMT" (2-digit day, always GMT).

    Pure: formats the passed-in value with English names, independent of the locale; never reads the clock.
    """
    t = time.gmtime(epoch_seconds)
    return b"%s, %02d %s %04d %02d:%02d:%02d GMT" % (
        _WEEKDAYS[t.tm_wday],
        t.tm_mday,
        _MONTHS[t.tm_mon - 1],
        t.tm_year,
        t.tm_hour,
        t.tm_min,
        t.tm_sec,
    )


class RequestRejected(Exception):
    """The driver must answer the request itself with the canned response `kind`, then close the connection.

    `httperr_reason` overrides the HTTPERR log reason of `kind` (e.g. "ConnLimit" for a 503); None keeps the
    default. `detail` is a free-text explanation for debugging and the application log, never sent to the client.
    """

    kind: CannedResponse
    httperr_reason: str | None
    detail: str

    def __init__(self, kind: CannedResponse, httperr_reason: str | None = None, *, detail: str = "") -> None:
        super().__init__(kind, httperr_reason, detail)
        self.kind = kind
        self.httperr_reason = httperr_reason
        self.detail = detail

    @property
    def log_reason(self) -> str:
        """The HTTPERR reason to log: the override when given, else the default of `kind`."""
        return self.httperr_reason if self.httperr_reason is not None else self.kind.httperr_reason

    def __str__(self) -> str:
        text = f"{self.kind.status} {self.kind.heading} ({self.log_reason})"
        return f"{text}: {self.detail}" if self.detail else text
