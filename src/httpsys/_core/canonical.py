"""URL canonicalization: the raw request-target and Host header become HTTP_COOKED_URL (spec §5.5, §3.2).

Responsibility: validate the request-target and the host, decode and normalize the path the way HTTP.sys does,
and return a new `CookedUrl` plus the host name to route on. The raw URL is never modified. It must not route,
look at registrations, read headers other than Host, or do I/O. Every refusal is a `RequestRejected` carrying
the canned response HTTP.sys would send.

Rules (with the decisions taken where the spec is silent):

* Raw URL longer than `max_url_length` bytes (MaxFieldLength) => 414 URL_TOO_LONG; so is a cooked URL whose
  UTF-16 form would not fit HTTP_COOKED_URL's USHORT byte length (65,535).
* Request-target forms. origin-form `/p?q`: host from the Host header; a missing or empty Host (HTTP/1.0) gives
  the local address `ip:port` (`[ip]:port` for IPv6) - rejecting a missing Host on HTTP/1.1 is the parser's job.
  absolute-form `http://host[:port]/p?q` (scheme case-insensitive): the Host header is ignored entirely; a
  scheme other than http/https, an empty or malformed authority, or userinfo => 400 INVALID_URL; an empty path
  becomes `/`. The cooked URL's scheme is always the connection's `scheme`, never the one in the target.
  asterisk-form `*`: cooked with abs_path `*` and full_url `scheme://host*` (abs_path still follows host); it
  matches no URL prefix unless the router maps it, and the caller must refuse `*` for verbs other than OPTIONS.
  authority-form (CONNECT) and anything else => 400 INVALID_URL.
* Host syntax: `name[:port]` or `[IPv6][:port]`; a name is dot-separated labels of ASCII letters, digits, '-'
  and '_' (each 1-63 chars, 255 in all, one trailing dot allowed); port 1-5 digits, 1..65535. Anything else
  (spaces, '@', '%', empty labels, non-ASCII, zone ids, port 0) => 400 INVALID_HOSTNAME. The cooked host is the
  text as sent (case and port kept: `Host: LocalHost:50001` => `http://LocalHost:50001/...`); no port in Host
  means no port in full_url. The route name is lower-cased, without port, brackets or trailing dot, and an
  IPv6 literal is rewritten by `ipaddress` (compressed form), as `urlprefix` does for registrations.
* Path: raw bytes 0x00-0x20, 0x7F and '#' (a fragment is not part of a request-target) => INVALID_URL. Every
  `%XX` is decoded, including %2F (=> '/', the HTTP.sys quirk) and %25 (no double decoding); `%uNNNN`/`%UNNNN`
  is decoded when `percent_u_allowed`, else INVALID_URL; a %u surrogate must be a high+low pair, a lone one =>
  INVALID_URL. Bad escapes (`%zz`, `%4`, `%u12`) => INVALID_URL. The decoded octets (escaped or raw) are UTF-8;
  when they are not valid UTF-8 (overlong forms and encoded surrogates included) and `enable_non_utf8`, the
  ANSI code page is used instead: we stand in code page 1252, its five undefined bytes mapping to U+0081...
  as Windows does (i.e. cp1252 with a latin-1 fallback). With `favor_utf8` False the ANSI decoding is tried
  first, and since cp1252 decodes every byte it always wins. The charset is chosen once for the whole path.
* Decoded characters U+0000-U+001F and U+007F-U+009F => INVALID_URL unless `allow_restricted_chars`.
* Backslash (raw or %5C) is treated as '/', as HTTP.sys does. `.` and `..` segments are removed after decoding
  (so `%2e%2e` counts); a `..` that would climb above the root => 400 INVALID_URL (the spec allows 400 or 404).
  Nothing else is collapsed: `//` stays.
* Segment limits are checked on the cooked path: the number of segments is the number of '/' in it, a segment's
  length counts UTF-16 code units. Too many or too long => 400 INVALID_URL (reason `URL`, as reliability §2.1
  documents it); 414 is kept for the raw URL length.
* Query: kept as sent, not decoded; raw 0x00-0x20, 0x7F and '#' => INVALID_URL; non-ASCII bytes are taken as
  latin-1 so every byte survives.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass

from httpsys._core.canned import CannedResponse, RequestRejected

__all__ = ["CookedUrl", "UrlSettings", "cook_url"]

_MAX_COOKED_BYTES = 0xFFFF  # HTTP_COOKED_URL lengths are USHORT byte counts


@dataclass(frozen=True, slots=True)
class UrlSettings:
    """The registry values of spec §5.6 that shape canonicalization (defaults = HTTP.sys defaults)."""

    percent_u_allowed: bool = True  # PercentUAllowed
    allow_restricted_chars: bool = False  # AllowRestrictedChars
    enable_non_utf8: bool = True  # EnableNonUTF8
    favor_utf8: bool = True  # FavorUTF8
    url_segment_max_length: int = 260  # UrlSegmentMaxLength, 0 = unlimited
    url_segment_max_count: int = 255  # UrlSegmentMaxCount, 0 = unlimited
    max_url_length: int = 16384  # MaxFieldLength bound on the raw URL, 0 = unlimited


def _utf16_units(text: str) -> int:
    if text.isascii():
        return len(text)
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


@dataclass(frozen=True, slots=True)
class CookedUrl:
    """HTTP_COOKED_URL: `full_url` == scheme + "://" + `host` + `abs_path` + `query`.

    `query` is "" when absent, else starts with '?'. The *_length properties are the USHORT byte counts of the
    UTF-16 form (2 bytes per UTF-16 code unit; a non-BMP character is 4 bytes).
    """

    full_url: str
    host: str
    abs_path: str
    query: str

    @property
    def full_url_length(self) -> int:
        return 2 * _utf16_units(self.full_url)

    @property
    def host_length(self) -> int:
        return 2 * _utf16_units(self.host)

    @property
    def abs_path_length(self) -> int:
        return 2 * _utf16_units(self.abs_path)

    @property
    def query_string_length(self) -> int:
        return 2 * _utf16_units(self.query)


def _reject(kind: CannedResponse, detail: str) -> RequestRejected:
    return RequestRejected(kind, detail=detail)


# ---------------------------------------------------------------------------------------------------------------
# host

_HOST_RE = re.compile(rb"(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9_.-]+))(?::([0-9]{1,5}))?")
_LABEL_RE = re.compile(rb"[A-Za-z0-9_-]{1,63}")


@functools.lru_cache(maxsize=512)
def _parse_host(value: bytes) -> tuple[str, str]:
    """(cooked host text as sent, route name) of a `host[:port]` value; raises INVALID_HOSTNAME."""
    m = _HOST_RE.fullmatch(value)
    if m is None:
        raise _reject(CannedResponse.INVALID_HOSTNAME, "malformed host")
    ipv6, name, port = m.groups()
    if port is not None and not 0 < int(port) <= 0xFFFF:
        raise _reject(CannedResponse.INVALID_HOSTNAME, "port out of range")
    if ipv6 is not None:
        try:
            route_name = ipaddress.IPv6Address(ipv6.decode("ascii")).compressed
        except ValueError:
            raise _reject(CannedResponse.INVALID_HOSTNAME, "malformed IPv6 literal")
    else:
        assert name is not None
        if len(name) > 255:
            raise _reject(CannedResponse.INVALID_HOSTNAME, "host name too long")
        bare = name[:-1] if name.endswith(b".") else name
        for label in bare.split(b"."):
            if _LABEL_RE.fullmatch(label) is None:
                raise _reject(CannedResponse.INVALID_HOSTNAME, "empty or malformed host label")
        route_name = bare.lower().decode("ascii")
    return value.decode("ascii"), route_name


def _local_host(local_ip: str, local_port: int) -> tuple[str, str]:
    if ":" in local_ip:
        return f"[{local_ip}]:{local_port}", local_ip.lower()
    return f"{local_ip}:{local_port}", local_ip.lower()


def _host_from_header(host_header: bytes | None, local_ip: str, local_port: int) -> tuple[str, str]:
    if not host_header:
        return _local_host(local_ip, local_port)
    return _parse_host(host_header)


# ---------------------------------------------------------------------------------------------------------------
# path and query

# An origin-form path that needs none of the general algorithm: printable ASCII without '%', '\', '#', and with
# no segment starting with '.'.
_PATH_NEEDS_WORK = re.compile(rb"[^\x21-\x7e]|[%\\#]|/\.")
_RAW_FORBIDDEN = re.compile(rb"[\x00-\x20\x7f#]")
_RESTRICTED = re.compile("[\x00-\x1f\x7f-\x9f]")

_HEX_VALUE: dict[int, int] = {c: int(chr(c), 16) for c in b"0123456789abcdefABCDEF"}


def _hex(data: bytes, start: int, count: int) -> int:
    """Value of `count` hex digits at `start`, or -1 when they are missing or not hex digits."""
    if start + count > len(data):
        return -1
    value = 0
    for i in range(start, start + count):
        digit = _HEX_VALUE.get(data[i])
        if digit is None:
            return -1
        value = (value << 4) | digit
    return value


def _cp1252_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for byte in range(0x80, 0xA0):
        try:
            table[byte] = bytes([byte]).decode("cp1252")
        except UnicodeDecodeError:
            pass  # undefined in cp1252: Windows maps it to the same-valued C1 control, as latin-1 does
    return table


_CP1252_OVER_LATIN1 = _cp1252_table()


def _decode_ansi(data: bytes) -> str:
    return data.decode("latin-1").translate(_CP1252_OVER_LATIN1)


def _percent_decode(raw: bytes, settings: UrlSettings) -> list[bytes | str]:
    """Runs of decoded octets (bytes) and of %u characters (str), in order."""
    pieces: list[bytes | str] = []
    octets = bytearray()
    i = 0
    n = len(raw)
    while True:
        j = raw.find(b"%", i)
        if j < 0:
            octets += raw[i:]
            break
        octets += raw[i:j]
        if j + 1 < n and raw[j + 1] in b"uU":
            if not settings.percent_u_allowed:
                raise _reject(CannedResponse.INVALID_URL, "%u escape not allowed")
            unit = _hex(raw, j + 2, 4)
            i = j + 6
            if unit < 0:
                raise _reject(CannedResponse.INVALID_URL, "malformed %u escape")
            if 0xD800 <= unit <= 0xDBFF:
                low = _hex(raw, i + 2, 4) if raw[i : i + 2] in (b"%u", b"%U") else -1
                if not 0xDC00 <= low <= 0xDFFF:
                    raise _reject(CannedResponse.INVALID_URL, "unpaired %u surrogate")
                unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                i += 6
            elif 0xDC00 <= unit <= 0xDFFF:
                raise _reject(CannedResponse.INVALID_URL, "unpaired %u surrogate")
            if octets:
                pieces.append(bytes(octets))
                octets.clear()
            pieces.append(chr(unit))
        else:
            value = _hex(raw, j + 1, 2)
            if value < 0:
                raise _reject(CannedResponse.INVALID_URL, "malformed percent escape")
            octets.append(value)
            i = j + 3
    if octets:
        pieces.append(bytes(octets))
    return pieces


def _decode_pieces(pieces: list[bytes | str], settings: UrlSettings) -> str:
    if all(isinstance(p, str) or p.isascii() for p in pieces):
        return "".join(p if isinstance(p, str) else p.decode("ascii") for p in pieces)
    if settings.enable_non_utf8 and not settings.favor_utf8:
        return "".join(p if isinstance(p, str) else _decode_ansi(p) for p in pieces)
    try:
        return "".join(p if isinstance(p, str) else p.decode("utf-8") for p in pieces)
    except UnicodeDecodeError:
        if not settings.enable_non_utf8:
            raise _reject(CannedResponse.INVALID_URL, "URL is not UTF-8")
    return "".join(p if isinstance(p, str) else _decode_ansi(p) for p in pieces)


def _remove_dot_segments(path: str) -> str:
    """Drop `.` and resolve `..` segments of an absolute path; climbing above the root is INVALID_URL."""
    if "/." not in path:
        return path
    segments = path.split("/")
    last = len(segments) - 1
    out: list[str] = []
    for index in range(1, len(segments)):
        segment = segments[index]
        if segment == ".":
            if index == last:
                out.append("")
        elif segment == "..":
            if not out:
                raise _reject(CannedResponse.INVALID_URL, "path climbs above the root")
            out.pop()
            if index == last:
                out.append("")
        else:
            out.append(segment)
    return "/" + "/".join(out)


def _check_segments(path: str, settings: UrlSettings) -> None:
    max_count = settings.url_segment_max_count
    if max_count and path.count("/") > max_count:
        raise _reject(CannedResponse.INVALID_URL, "too many URL segments")
    max_length = settings.url_segment_max_length
    # A segment is shorter than the whole path, so short paths need no split.
    if max_length and _utf16_units(path) > max_length:
        for segment in path.split("/"):
            if _utf16_units(segment) > max_length:
                raise _reject(CannedResponse.INVALID_URL, "URL segment too long")


def _cook_path(raw: bytes, settings: UrlSettings) -> str:
    """The cooked abs_path of a raw path that starts with '/'."""
    if _PATH_NEEDS_WORK.search(raw) is None:
        path = raw.decode("ascii")
    else:
        if _RAW_FORBIDDEN.search(raw) is not None:
            raise _reject(CannedResponse.INVALID_URL, "forbidden raw character in path")
        path = _decode_pieces(_percent_decode(raw, settings), settings)
        if not settings.allow_restricted_chars and _RESTRICTED.search(path) is not None:
            raise _reject(CannedResponse.INVALID_URL, "restricted character in path")
        path = _remove_dot_segments(path.replace("\\", "/"))
    _check_segments(path, settings)
    return path


def _cook_query(raw: bytes) -> str:
    if _RAW_FORBIDDEN.search(raw) is not None:
        raise _reject(CannedResponse.INVALID_URL, "forbidden raw character in query")
    return raw.decode("latin-1")


def _split_target(raw: bytes) -> tuple[bytes, bytes]:
    q = raw.find(b"?")
    if q < 0:
        return raw, b""
    return raw[:q], raw[q:]


# ---------------------------------------------------------------------------------------------------------------
# request-target

_SCHEME_PREFIX = {"http": "http://", "https": "https://"}
_ABSOLUTE_RE = re.compile(rb"([A-Za-z][A-Za-z0-9+.-]*)://([^/?#]*)")


def cook_url(
    raw_url: bytes,
    host_header: bytes | None,
    *,
    scheme: str,
    local_port: int,
    local_ip: str,
    settings: UrlSettings,
) -> tuple[CookedUrl, str]:
    """Cook a request-target: (HTTP_COOKED_URL, host name to route on). Raises `RequestRejected` only.

    `host_header` is the (trimmed) Host value or None; `scheme` is the connection's, "http" or "https"
    (anything else is a programming error: ValueError); `local_ip`/`local_port` is where the connection arrived.
    """
    prefix = _SCHEME_PREFIX.get(scheme)
    if prefix is None:
        raise ValueError(f"scheme must be 'http' or 'https', not {scheme!r}")
    max_length = settings.max_url_length
    if max_length and len(raw_url) > max_length:
        raise _reject(CannedResponse.URL_TOO_LONG, "URL longer than MaxFieldLength")

    if raw_url[:1] == b"/":
        host, route_name = _host_from_header(host_header, local_ip, local_port)
        raw_path, raw_query = _split_target(raw_url)
    elif raw_url == b"*":
        host, route_name = _host_from_header(host_header, local_ip, local_port)
        return CookedUrl(prefix + host + "*", host, "*", ""), route_name
    else:
        m = _ABSOLUTE_RE.match(raw_url)
        if m is None:
            raise _reject(CannedResponse.INVALID_URL, "request-target is neither origin- nor absolute-form")
        if m.group(1).lower() not in (b"http", b"https"):
            raise _reject(CannedResponse.INVALID_URL, "absolute-form scheme is not http or https")
        try:
            host, route_name = _parse_host(m.group(2))
        except RequestRejected as exc:
            raise _reject(CannedResponse.INVALID_URL, f"absolute-form authority: {exc.detail}")
        raw_path, raw_query = _split_target(raw_url[m.end() :])
        if raw_path[:1] != b"/":
            if raw_path:  # only '#...' can be left here
                raise _reject(CannedResponse.INVALID_URL, "fragment in request-target")
            raw_path = b"/"

    abs_path = _cook_path(raw_path, settings)
    query = _cook_query(raw_query) if raw_query else ""
    full_url = prefix + host + abs_path + query
    if len(full_url) > _MAX_COOKED_BYTES // 2 and 2 * _utf16_units(full_url) > _MAX_COOKED_BYTES:
        raise _reject(CannedResponse.URL_TOO_LONG, "cooked URL does not fit HTTP_COOKED_URL")
    return CookedUrl(full_url, host, abs_path, query), route_name
