"""Log formats: HTTP_LOGGING_INFO validation, W3C extended / IIS / NCSA response lines, HTTPERR lines, file names.

Responsibility: turn the driver's facts about one response (and the application's HTTP_LOG_FIELDS_DATA) into the
exact bytes of a log line, write the W3C directives, name log files by rollover type, and check a logging
configuration's values (spec §3.5, reliability §2.4). It must not perform I/O, read the clock or look up the time
zone: times are Unix seconds and the local offset is passed in. Files, the writer thread and directory checks live
in `httpsys._engine.logs`.

Decisions (docs/decisions/0006-cache-and-logging.md):

* W3C field order is IIS's: date time s-sitename s-computername s-ip cs-method cs-uri-stem cs-uri-query s-port
  cs-username c-ip cs-version cs(User-Agent) cs(Cookie) cs(Referer) cs-host sc-status sc-substatus
  sc-win32-status sc-bytes cs-bytes time-taken. The HTTP/2-era bits (STREAM_ID, TRANSPORT_TYPE, ...) and the
  error-log-only bits are ignored in a W3C mask. W3C date/time are UTC whatever the rollover clock (as IIS); IIS
  and NCSA lines use local time.
* Values: a missing or empty value is `-`; spaces, tabs and control characters inside a value become `+`; str
  values are encoded as UTF-8 with USE_UTF8_CONVERSION, else in the "local code page" (we stand in cp1252, '?' for
  what it cannot encode); bytes values (request header values, the app's char* fields) are written as they are.
* Where values come from: the driver's facts, overridden by the application's HTTP_LOG_FIELDS_DATA (a mapping
  with the C field names). A key the mapping has wins even when its value is None (NULL pointer: "not logged",
  `-`); a key it lacks keeps the driver's value. The win32 face converts the whole struct, so every key is present
  and the application alone decides the text fields, as with HTTP.sys; Pythonic faces may pass a partial mapping.
  Only the driver knows date, time, cs-version, sc-bytes, cs-bytes and time-taken. MethodNum names the verb
  when Method is absent or empty. ServerPort 0 is "not given" (no TCP port is 0; the win32 face passes the
  struct's 0 for an application that left it unset): s-port keeps the connection's port (decision 0013). Cached responses (no application) are logged from the driver's facts.
* An "error" for LOG_ERRORS_ONLY / LOG_SUCCESS_ONLY is a status >= 400 or a non-zero Win32 status.
* File names: §3.5's patterns, sequence numbers unpadded from 1 (`extend1.log`), `u_` prefixed with
  USE_UTF8_CONVERSION (IIS 7+ names, [INF]). Week of month: weeks start on Sunday; week 1 is the one holding
  the 1st, so WW runs 01..06. Hourly/daily/weekly/monthly periods follow UTC, or local time with
  LOCAL_TIME_ROLLOVER.
* HTTPERR files (`httperrN.log`) start with the same four directives as W3C files: real HTTPERR files carry
  them although the error-log page says "no column headings"; a parser that skips `#` lines is unaffected.
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from httpsys._core.status import Win32Error
from httpsys._core.verbs import VERB_NAMES

__all__ = [
    "APP_LOG_FIELDS",
    "DEFAULT_SOFTWARE",
    "HTTPERR_FIELDS",
    "HTTP_LIMIT_INFINITE",
    "MIN_ROLLOVER_SIZE",
    "W3C_FIELD_ORDER",
    "LogRecord",
    "LoggingConfig",
    "format_httperr",
    "format_iis",
    "format_ncsa",
    "format_response",
    "format_w3c",
    "httperr_directives",
    "httperr_file_name",
    "is_error",
    "log_file_name",
    "parse_logging_config",
    "passes_filter",
    "record_from_fields",
    "rollover_period",
    "w3c_directives",
    "w3c_field_names",
    "week_of_month",
]

# HTTP_LOGGING_TYPE
LOGGING_TYPE_W3C = 0
LOGGING_TYPE_IIS = 1
LOGGING_TYPE_NCSA = 2
LOGGING_TYPE_RAW = 3

# HTTP_LOGGING_ROLLOVER_TYPE
ROLLOVER_SIZE = 0
ROLLOVER_DAILY = 1
ROLLOVER_WEEKLY = 2
ROLLOVER_MONTHLY = 3
ROLLOVER_HOURLY = 4

# HTTP_LOGGING_FLAG_*
FLAG_LOCAL_TIME_ROLLOVER = 0x1
FLAG_USE_UTF8_CONVERSION = 0x2
FLAG_LOG_ERRORS_ONLY = 0x4
FLAG_LOG_SUCCESS_ONLY = 0x8
FLAGS_VALID = 0xF

HTTP_LIMIT_INFINITE = 0xFFFFFFFF
MIN_ROLLOVER_SIZE = 1024 * 1024  # HTTP_MIN_ALLOWED_LOG_FILE_ROLLOVER_SIZE
MAX_DIRECTORY_BYTES = 424  # DirectoryNameLength, UTF-16 bytes
MAX_SOFTWARE_BYTES = 260  # SoftwareNameLength <= MAX_PATH bytes (UTF-16)

# HTTP_LOG_FIELD_*
FIELD_DATE = 0x1
FIELD_TIME = 0x2
FIELD_CLIENT_IP = 0x4
FIELD_USER_NAME = 0x8
FIELD_SITE_NAME = 0x10
FIELD_COMPUTER_NAME = 0x20
FIELD_SERVER_IP = 0x40
FIELD_METHOD = 0x80
FIELD_URI_STEM = 0x100
FIELD_URI_QUERY = 0x200
FIELD_STATUS = 0x400
FIELD_WIN32_STATUS = 0x800
FIELD_BYTES_SENT = 0x1000
FIELD_BYTES_RECV = 0x2000
FIELD_TIME_TAKEN = 0x4000
FIELD_SERVER_PORT = 0x8000
FIELD_USER_AGENT = 0x10000
FIELD_COOKIE = 0x20000
FIELD_REFERER = 0x40000
FIELD_VERSION = 0x80000
FIELD_HOST = 0x100000
FIELD_SUB_STATUS = 0x200000

W3C_FIELD_ORDER: tuple[tuple[int, str], ...] = (
    (FIELD_DATE, "date"),
    (FIELD_TIME, "time"),
    (FIELD_SITE_NAME, "s-sitename"),
    (FIELD_COMPUTER_NAME, "s-computername"),
    (FIELD_SERVER_IP, "s-ip"),
    (FIELD_METHOD, "cs-method"),
    (FIELD_URI_STEM, "cs-uri-stem"),
    (FIELD_URI_QUERY, "cs-uri-query"),
    (FIELD_SERVER_PORT, "s-port"),
    (FIELD_USER_NAME, "cs-username"),
    (FIELD_CLIENT_IP, "c-ip"),
    (FIELD_VERSION, "cs-version"),
    (FIELD_USER_AGENT, "cs(User-Agent)"),
    (FIELD_COOKIE, "cs(Cookie)"),
    (FIELD_REFERER, "cs(Referer)"),
    (FIELD_HOST, "cs-host"),
    (FIELD_STATUS, "sc-status"),
    (FIELD_SUB_STATUS, "sc-substatus"),
    (FIELD_WIN32_STATUS, "sc-win32-status"),
    (FIELD_BYTES_SENT, "sc-bytes"),
    (FIELD_BYTES_RECV, "cs-bytes"),
    (FIELD_TIME_TAKEN, "time-taken"),
)

IIS_FIELDS = (
    "c-ip, cs-username, date, time, s-sitename, s-computername, s-ip, time-taken, cs-bytes, sc-bytes, "
    "sc-status, sc-win32-status, cs-method, cs-uri-stem, cs-uri-query"
)
HTTPERR_FIELDS = (
    "date time c-ip c-port s-ip s-port cs-version cs-method cs-uri sc-status s-siteid s-reason s-queuename"
)
DEFAULT_SOFTWARE = "Microsoft HTTP API 2.0"
CRLF = b"\r\n"
DASH = b"-"

_MAX_HTTPERR_VERB = 255
_MAX_HTTPERR_URL = 4096
_MONTHS = (b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec")

# Spaces, tabs and control characters inside a field become '+'.
_ESCAPE = bytes.maketrans(bytes([*range(0x21), 0x7F]), b"+" * 0x22)
_ESCAPE_QUOTED = bytes.maketrans(bytes([*range(0x21), 0x7F, 0x22]), b"+" * 0x23)


# =============================================================================================== configuration
@dataclass(frozen=True, slots=True)
class LoggingConfig:
    """A validated HTTP_LOGGING_INFO (the directory is checked on disk by the engine)."""

    log_format: int
    directory: str
    fields: int
    rollover_type: int
    rollover_size: int
    flags: int
    software_name: str

    @property
    def utf8(self) -> bool:
        return bool(self.flags & FLAG_USE_UTF8_CONVERSION)

    @property
    def encoding(self) -> str:
        return "utf-8" if self.flags & FLAG_USE_UTF8_CONVERSION else "cp1252"

    @property
    def local_time(self) -> bool:
        return bool(self.flags & FLAG_LOCAL_TIME_ROLLOVER)

    @property
    def writes_nothing(self) -> bool:
        """W3C with no field selected logs nothing (spec §3.5); Raw (binary) logging is not implemented."""
        return (
            self.log_format == LOGGING_TYPE_W3C and not self.w3c_mask
        ) or self.log_format == LOGGING_TYPE_RAW

    @property
    def w3c_mask(self) -> int:
        return self.fields & _W3C_ALL


_W3C_ALL = sum(bit for bit, _name in W3C_FIELD_ORDER)


def _int_value(config: Mapping[str, Any], key: str, default: int) -> int | None:
    value = config.get(key, default)
    if value is None:
        return default
    if type(value) is not int or value < 0:
        return None
    return value


def parse_logging_config(owner_kind: str, config: Mapping[str, Any]) -> LoggingConfig | Win32Error:
    """Check an HttpServerLoggingProperty value for a "session" or a "group" (everything but the disk).

    ERROR_INVALID_PARAMETER for: an unknown format, IIS/NCSA on a session, Raw on a URL group, an unknown rollover
    type, a Size rollover below 1 MiB (HTTP_LIMIT_INFINITE allowed), unknown flag bits, LOG_ERRORS_ONLY together
    with LOG_SUCCESS_ONLY, a directory that is not an absolute path or longer than 424 UTF-16 bytes, a software
    name longer than MAX_PATH bytes. Raw on a session (centralized binary logging) is accepted, as on Windows,
    but writes nothing yet (`writes_nothing`; a documented gap).
    """
    invalid = Win32Error.ERROR_INVALID_PARAMETER
    log_format = _int_value(config, "format", LOGGING_TYPE_W3C)
    rollover_type = _int_value(config, "rollover_type", ROLLOVER_SIZE)
    rollover_size = _int_value(config, "rollover_size", 0)
    flags = _int_value(config, "flags", 0)
    fields = _int_value(config, "fields", 0)
    if (
        log_format is None
        or rollover_type is None
        or rollover_size is None
        or flags is None
        or fields is None
    ):
        return invalid
    if log_format > LOGGING_TYPE_RAW or rollover_type > ROLLOVER_HOURLY:
        return invalid
    if owner_kind == "session":
        if log_format in (LOGGING_TYPE_IIS, LOGGING_TYPE_NCSA):
            return invalid
    elif log_format == LOGGING_TYPE_RAW:
        return invalid
    if (
        rollover_type == ROLLOVER_SIZE
        and rollover_size != HTTP_LIMIT_INFINITE
        and rollover_size < MIN_ROLLOVER_SIZE
    ):
        return invalid
    if flags & ~FLAGS_VALID:
        return invalid
    if flags & FLAG_LOG_ERRORS_ONLY and flags & FLAG_LOG_SUCCESS_ONLY:
        return invalid
    directory = config.get("directory")
    if not isinstance(directory, str) or not directory.startswith("/") or "\x00" in directory:
        return invalid
    if len(directory.encode("utf-16-le", "surrogatepass")) > MAX_DIRECTORY_BYTES:
        return invalid
    software = config.get("software_name")
    if software is None:
        software = DEFAULT_SOFTWARE
    elif (
        not isinstance(software, str)
        or len(software.encode("utf-16-le", "surrogatepass")) > MAX_SOFTWARE_BYTES
    ):
        return invalid
    return LoggingConfig(
        log_format=log_format,
        directory=directory,
        fields=fields,
        rollover_type=rollover_type,
        rollover_size=rollover_size if rollover_type == ROLLOVER_SIZE else 0,
        flags=flags,
        software_name=software.replace("\r", " ").replace("\n", " "),
    )


# ==================================================================================================== records
@dataclass(slots=True)
class LogRecord:
    """The values of one response log line. Text values are str (encoded per the config) or bytes (as is)."""

    time: float
    client_ip: str | bytes | None = None
    client_port: int | None = None
    server_ip: str | bytes | None = None
    server_port: int | None = None
    user_name: str | bytes | None = None
    site_name: str | bytes | None = None
    computer_name: str | bytes | None = None
    method: str | bytes | None = None
    uri_stem: str | bytes | None = None
    uri_query: str | bytes | None = None
    version: tuple[int, int] | None = None
    user_agent: str | bytes | None = None
    cookie: str | bytes | None = None
    referer: str | bytes | None = None
    host: str | bytes | None = None
    status: int | None = None
    substatus: int | None = 0
    win32_status: int | None = 0
    bytes_sent: int | None = None
    bytes_received: int | None = None
    time_taken_ms: int | None = None


# HTTP_LOG_FIELDS_DATA member -> LogRecord attribute
APP_LOG_FIELDS: tuple[tuple[str, str], ...] = (
    ("UserName", "user_name"),
    ("UriStem", "uri_stem"),
    ("ClientIp", "client_ip"),
    ("ServerName", "computer_name"),
    ("ServiceName", "site_name"),
    ("ServerIp", "server_ip"),
    ("Method", "method"),
    ("UriQuery", "uri_query"),
    ("Host", "host"),
    ("UserAgent", "user_agent"),
    ("Cookie", "cookie"),
    ("Referrer", "referer"),
    ("ServerPort", "server_port"),
    ("ProtocolStatus", "status"),
    ("Win32Status", "win32_status"),
    ("SubStatus", "substatus"),
)
_NUMERIC = frozenset({"server_port", "status", "win32_status", "substatus"})


def _address(value: object) -> tuple[str | None, int | None]:
    if isinstance(value, tuple) and len(value) >= 2:
        host, port = value[0], value[1]
        return (host if isinstance(host, str) else None), (port if isinstance(port, int) else None)
    return None, None


def record_from_fields(fields: Mapping[str, Any], computer_name: str | None = None) -> LogRecord:
    """The driver's fields dict (see Driver._log_response) merged with its `log_data` (HTTP_LOG_FIELDS_DATA)."""
    client_ip, client_port = _address(fields.get("client"))
    server_ip, server_port = _address(fields.get("server"))
    version = fields.get("version")
    record = LogRecord(
        time=float(fields.get("time") or 0.0),
        client_ip=client_ip,
        client_port=client_port,
        server_ip=server_ip,
        server_port=server_port,
        computer_name=computer_name,
        method=fields.get("method"),
        uri_stem=fields.get("uri_stem"),
        uri_query=fields.get("uri_query"),
        version=version if isinstance(version, tuple) else None,
        user_agent=fields.get("user_agent"),
        cookie=fields.get("cookie"),
        referer=fields.get("referer"),
        host=fields.get("host"),
        status=fields.get("status"),
        win32_status=fields.get("win32_status", 0),
        bytes_sent=fields.get("bytes_sent"),
        bytes_received=fields.get("bytes_received"),
        time_taken_ms=fields.get("time_taken_ms"),
    )
    app = fields.get("log_data")
    if isinstance(app, Mapping):
        for key, attr in APP_LOG_FIELDS:
            if key in app:
                value = app[key]
                if key == "ServerPort" and value == 0:
                    continue  # left unset: the connection's port stays (decision 0013)
                if attr in _NUMERIC:
                    value = value if type(value) is int else None
                elif value is not None and not isinstance(value, str | bytes):
                    value = str(value)
                setattr(record, attr, value)
        if not record.method and "MethodNum" in app:
            number = app["MethodNum"]
            if type(number) is int and 3 <= number < 3 + len(VERB_NAMES):
                record.method = VERB_NAMES[number - 3]
    return record


def is_error(record: LogRecord) -> bool:
    """What LOG_ERRORS_ONLY keeps: a status >= 400 or a non-zero Win32 status."""
    return (record.status or 0) >= 400 or bool(record.win32_status)


def passes_filter(flags: int, record: LogRecord) -> bool:
    if flags & FLAG_LOG_ERRORS_ONLY:
        return is_error(record)
    if flags & FLAG_LOG_SUCCESS_ONLY:
        return not is_error(record)
    return True


# ===================================================================================================== values
def _text(value: object, encoding: str, table: bytes = _ESCAPE) -> bytes:
    if value is None:
        return DASH
    if isinstance(value, bytes):
        data = value
    elif isinstance(value, str):
        data = value.encode(encoding, "replace")
    elif isinstance(value, bytearray | memoryview):
        data = bytes(value)
    else:
        data = str(value).encode("ascii", "replace")
    if not data:
        return DASH
    return data.translate(table)


def _number(value: int | None) -> bytes:
    return DASH if value is None else b"%d" % value


def _version(version: tuple[int, int] | None) -> bytes:
    if version is None:
        return DASH
    major, minor = version
    if not (0 <= major < 10 and 0 <= minor < 10):
        return b"HTTP/?.?"
    return b"HTTP/%d.%d" % (major, minor)


def _utc_date_time(when: float) -> tuple[bytes, bytes]:
    t = time.gmtime(when)
    return (
        b"%04d-%02d-%02d" % (t.tm_year, t.tm_mon, t.tm_mday),
        b"%02d:%02d:%02d" % (t.tm_hour, t.tm_min, t.tm_sec),
    )


# ======================================================================================================= W3C
def _w3c_getters(encoding: str) -> dict[int, Callable[[LogRecord], bytes]]:
    return {
        FIELD_SITE_NAME: lambda r: _text(r.site_name, encoding),
        FIELD_COMPUTER_NAME: lambda r: _text(r.computer_name, encoding),
        FIELD_SERVER_IP: lambda r: _text(r.server_ip, encoding),
        FIELD_METHOD: lambda r: _text(r.method, encoding),
        FIELD_URI_STEM: lambda r: _text(r.uri_stem, encoding),
        FIELD_URI_QUERY: lambda r: _text(r.uri_query, encoding),
        FIELD_SERVER_PORT: lambda r: _number(r.server_port),
        FIELD_USER_NAME: lambda r: _text(r.user_name, encoding),
        FIELD_CLIENT_IP: lambda r: _text(r.client_ip, encoding),
        FIELD_VERSION: lambda r: _version(r.version),
        FIELD_USER_AGENT: lambda r: _text(r.user_agent, encoding),
        FIELD_COOKIE: lambda r: _text(r.cookie, encoding),
        FIELD_REFERER: lambda r: _text(r.referer, encoding),
        FIELD_HOST: lambda r: _text(r.host, encoding),
        FIELD_STATUS: lambda r: _number(r.status),
        FIELD_SUB_STATUS: lambda r: _number(r.substatus),
        FIELD_WIN32_STATUS: lambda r: _number(r.win32_status),
        FIELD_BYTES_SENT: lambda r: _number(r.bytes_sent),
        FIELD_BYTES_RECV: lambda r: _number(r.bytes_received),
        FIELD_TIME_TAKEN: lambda r: _number(r.time_taken_ms),
    }


_GETTERS = {"utf-8": _w3c_getters("utf-8"), "cp1252": _w3c_getters("cp1252")}


@lru_cache(maxsize=64)
def w3c_field_names(mask: int) -> tuple[str, ...]:
    """The `#Fields` names selected by an HTTP_LOG_FIELD_* mask, in W3C order."""
    return tuple(name for bit, name in W3C_FIELD_ORDER if mask & bit)


def w3c_directives(software: str, mask: int, when: float) -> bytes:
    """`#Software`, `#Version`, `#Date` (UTC) and `#Fields` lines opening a W3C block."""
    date, clock = _utc_date_time(when)
    return b"".join(
        (
            b"#Software: ",
            software.encode("utf-8", "replace"),
            CRLF,
            b"#Version: 1.0\r\n#Date: ",
            date,
            b" ",
            clock,
            CRLF,
            b"#Fields: ",
            " ".join(w3c_field_names(mask)).encode("ascii"),
            CRLF,
        )
    )


def format_w3c(record: LogRecord, mask: int, encoding: str = "cp1252") -> bytes:
    """One W3C extended line with the fields of `mask` (date and time in UTC), CRLF-terminated."""
    getters = _GETTERS.get(encoding) or _w3c_getters(encoding)
    values: list[bytes] = []
    date = clock = b""
    if mask & (FIELD_DATE | FIELD_TIME):
        date, clock = _utc_date_time(record.time)
    for bit, _name in W3C_FIELD_ORDER:
        if not mask & bit:
            continue
        if bit == FIELD_DATE:
            values.append(date)
        elif bit == FIELD_TIME:
            values.append(clock)
        else:
            values.append(getters[bit](record))
    return b" ".join(values) + CRLF


# ======================================================================================================= IIS
def format_iis(record: LogRecord, tz_offset: int, encoding: str = "cp1252") -> bytes:
    """One Microsoft IIS log format line (local time, comma separated, trailing comma), CRLF-terminated."""
    t = time.gmtime(record.time + tz_offset)
    values = (
        _text(record.client_ip, encoding),
        _text(record.user_name, encoding),
        b"%02d/%02d/%02d" % (t.tm_mon, t.tm_mday, t.tm_year % 100),
        b"%d:%02d:%02d" % (t.tm_hour, t.tm_min, t.tm_sec),
        _text(record.site_name, encoding),
        _text(record.computer_name, encoding),
        _text(record.server_ip, encoding),
        _number(record.time_taken_ms),
        _number(record.bytes_received),
        _number(record.bytes_sent),
        _number(record.status),
        _number(record.win32_status),
        _text(record.method, encoding),
        _text(record.uri_stem, encoding),
        _text(record.uri_query, encoding),
    )
    return b", ".join(values) + b",\r\n"


# ====================================================================================================== NCSA
def _offset_text(tz_offset: int) -> bytes:
    sign = b"+" if tz_offset >= 0 else b"-"
    minutes = abs(tz_offset) // 60
    return sign + b"%02d%02d" % (minutes // 60, minutes % 60)


def format_ncsa(record: LogRecord, tz_offset: int, encoding: str = "cp1252") -> bytes:
    """One NCSA common log format line: `host - user [dd/Mon/yyyy:HH:MM:SS +zzzz] "request" status bytes`."""
    t = time.gmtime(record.time + tz_offset)
    stamp = b"%02d/%s/%04d:%02d:%02d:%02d " % (
        t.tm_mday,
        _MONTHS[t.tm_mon - 1],
        t.tm_year,
        t.tm_hour,
        t.tm_min,
        t.tm_sec,
    )
    target = _text(record.uri_stem, encoding, _ESCAPE_QUOTED)
    query = _text(record.uri_query, encoding, _ESCAPE_QUOTED)
    if query != DASH:
        target += b"?" + query
    request = b" ".join((_text(record.method, encoding, _ESCAPE_QUOTED), target, _version(record.version)))
    return b"".join(
        (
            _text(record.client_ip, encoding),
            b" - ",
            _text(record.user_name, encoding),
            b" [",
            stamp,
            _offset_text(tz_offset),
            b'] "',
            request,
            b'" ',
            _number(record.status),
            b" ",
            _number(record.bytes_sent),
            CRLF,
        )
    )


def format_response(config: LoggingConfig, record: LogRecord, tz_offset: int) -> bytes:
    """The line `config` writes for `record` (W3C, IIS or NCSA)."""
    if config.log_format == LOGGING_TYPE_IIS:
        return format_iis(record, tz_offset, config.encoding)
    if config.log_format == LOGGING_TYPE_NCSA:
        return format_ncsa(record, tz_offset, config.encoding)
    return format_w3c(record, config.w3c_mask, config.encoding)


# =================================================================================================== HTTPERR
def httperr_directives(when: float, software: str = DEFAULT_SOFTWARE) -> bytes:
    date, clock = _utc_date_time(when)
    return b"".join(
        (
            b"#Software: ",
            software.encode("utf-8", "replace"),
            b"\r\n#Version: 1.0\r\n#Date: ",
            date,
            b" ",
            clock,
            b"\r\n#Fields: ",
            HTTPERR_FIELDS.encode("ascii"),
            CRLF,
        )
    )


def format_httperr(fields: Mapping[str, Any]) -> bytes:
    """One HTTPERR line from the driver's error fields (Driver.log_error), CRLF-terminated (reliability §2.4).

    Keys: time, reason, client and server ((ip, port) or None), status (0 or None: `-`), method (bytes), url (the
    raw URL) or cooked_url (preferred: abs path + query), version ((major, minor); >= 10 gives HTTP/?.?),
    queue_name (str); s-siteid is always `-`. Verbs are cut at 255 bytes and URLs at 4,096.
    """
    date, clock = _utc_date_time(float(fields.get("time") or 0.0))
    client_ip, client_port = _address(fields.get("client"))
    server_ip, server_port = _address(fields.get("server"))
    method = fields.get("method")
    if isinstance(method, bytes | str):
        method = (method.encode("latin-1", "replace") if isinstance(method, str) else method)[
            :_MAX_HTTPERR_VERB
        ]
    url = fields.get("cooked_url") or fields.get("url")
    if isinstance(url, bytes | str):
        url = (url.encode("utf-8", "replace") if isinstance(url, str) else url)[:_MAX_HTTPERR_URL]
    status = fields.get("status")
    version = fields.get("version")
    queue_name = fields.get("queue_name")
    values = (
        date,
        clock,
        _text(client_ip, "utf-8"),
        _number(client_port),
        _text(server_ip, "utf-8"),
        _number(server_port),
        _version(version) if isinstance(version, tuple) else DASH,
        _text(method, "utf-8"),
        _text(url, "utf-8"),
        _number(status) if isinstance(status, int) and status else DASH,
        DASH,
        _text(fields.get("reason"), "utf-8"),
        _text(queue_name if isinstance(queue_name, str) else None, "utf-8"),
    )
    return b" ".join(values) + CRLF


def httperr_file_name(sequence: int) -> str:
    return f"httperr{sequence}.log"


# ================================================================================================ file names
_PREFIX = {
    LOGGING_TYPE_W3C: ("extend", "ex"),
    LOGGING_TYPE_IIS: ("inetsv", "in"),
    LOGGING_TYPE_NCSA: ("ncsa", "nc"),
}


def week_of_month(year: int, month: int, day: int) -> int:
    """Week of the month for weekly rollover: weeks start on Sunday, week 1 holds the 1st (1..6)."""
    first_weekday = (calendar.weekday(year, month, 1) + 1) % 7  # Sunday = 0
    return (day - 1 + first_weekday) // 7 + 1


def _rollover_clock(when: float, tz_offset: int, local_time: bool) -> time.struct_time:
    return time.gmtime(when + tz_offset) if local_time else time.gmtime(when)


def rollover_period(
    rollover_type: int, when: float, tz_offset: int = 0, local_time: bool = False
) -> tuple[int, ...]:
    """The period `when` falls in (equal tuples share a file); () for size rollover."""
    if rollover_type == ROLLOVER_SIZE:
        return ()
    t = _rollover_clock(when, tz_offset, local_time)
    if rollover_type == ROLLOVER_HOURLY:
        return (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour)
    if rollover_type == ROLLOVER_DAILY:
        return (t.tm_year, t.tm_mon, t.tm_mday)
    if rollover_type == ROLLOVER_WEEKLY:
        return (t.tm_year, t.tm_mon, week_of_month(t.tm_year, t.tm_mon, t.tm_mday))
    return (t.tm_year, t.tm_mon)


def log_file_name(
    log_format: int,
    rollover_type: int,
    when: float,
    *,
    tz_offset: int = 0,
    local_time: bool = False,
    sequence: int = 1,
    utf8: bool = False,
) -> str:
    """The file a line logged at `when` goes to: extendN / exYYMMDDHH / exYYMMDD / exYYMMWW / exYYMM (W3C),
    inetsvN / in... (IIS), ncsaN / nc... (NCSA), `.log`, `u_` first with USE_UTF8_CONVERSION."""
    sized, dated = _PREFIX.get(log_format, _PREFIX[LOGGING_TYPE_W3C])
    lead = "u_" if utf8 else ""
    if rollover_type == ROLLOVER_SIZE:
        return f"{lead}{sized}{sequence}.log"
    period = rollover_period(rollover_type, when, tz_offset, local_time)
    year, month = period[0] % 100, period[1]
    if rollover_type == ROLLOVER_MONTHLY:
        return f"{lead}{dated}{year:02d}{month:02d}.log"
    if rollover_type == ROLLOVER_HOURLY:
        return f"{lead}{dated}{year:02d}{month:02d}{period[2]:02d}{period[3]:02d}.log"
    return f"{lead}{dated}{year:02d}{month:02d}{period[2]:02d}.log"
