"""UrlPrefix strings: parse and validate `scheme://host:port/relativeURI` as HttpAddUrl does (spec §1.3).

Responsibility: turn a registration string into a normalized, immutable `UrlPrefix` or refuse it with
`InvalidUrlPrefix` (ERROR_INVALID_PARAMETER). It must not decide conflicts or route requests (see `routing`),
and it must not consult URL reservations or permissions.

Normalization: the host is lower-cased (one trailing dot of a host name is dropped, IP literals are rewritten by
`ipaddress`, IPv6 without brackets); the path is lower-cased and always ends with '/', so `/a` and `/a/` are the
same prefix. Empty ('//') and dot-segments are refused. Percent-escapes stay as written (their hex digits
are lower-cased with the rest of the path).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar
from urllib.parse import unquote

from httpsys._core.status import Win32Error

__all__ = [
    "MAX_URL_PREFIX_LENGTH",
    "HostKind",
    "InvalidUrlPrefix",
    "UrlPrefix",
    "parse_url_prefix",
]

#: Longest registration string accepted (characters). HTTP.sys documents no number; this is our bound.
MAX_URL_PREFIX_LENGTH = 2048

_MAX_HOST_NAME_LENGTH = 255
_MAX_LABEL_LENGTH = 63
_HOST_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-._")
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_SCHEMES = ("http", "https")


class HostKind(IntEnum):
    """Host-specifier category of a prefix; the integer order is the routing bucket order (§1.4)."""

    STRONG = 1  # '+'
    EXPLICIT = 2  # a host name
    IP = 3  # an IPv4 literal or a bracketed IPv6 literal (IP-bound weak wildcard)
    WEAK = 4  # '*'


class InvalidUrlPrefix(ValueError):
    """The string is not a well-formed UrlPrefix (HttpAddUrl fails with ERROR_INVALID_PARAMETER)."""

    win32_error: ClassVar[Win32Error] = Win32Error.ERROR_INVALID_PARAMETER


@dataclass(frozen=True, slots=True)
class UrlPrefix:
    """One parsed registration string.

    `original` is the string exactly as registered (removal must repeat it exactly). `host` is '+' or '*' for
    the wildcards, the lower-cased name for EXPLICIT, the `ipaddress` text for IP. `path` is lower-cased and
    starts and ends with '/'.
    """

    original: str
    scheme: str
    kind: HostKind
    host: str
    port: int
    path: str

    @property
    def key(self) -> tuple[str, int, HostKind, str, str]:
        """Identity for conflict detection: two registrations with the same key conflict."""
        return (self.scheme, self.port, self.kind, self.host, self.path)


def _fail(text: str, why: str) -> InvalidUrlPrefix:
    return InvalidUrlPrefix(f"invalid URL prefix {text!r}: {why}")


def _is_forbidden_char(ch: str) -> bool:
    code = ord(ch)
    return code <= 0x20 or 0x7F <= code <= 0x9F or ch.isspace() or ch in "?#"


def _parse_port(text: str, port_text: str) -> int:
    if not port_text:
        raise _fail(text, "empty port")
    if port_text == "*":
        raise _fail(text, "wildcard port")
    if not (port_text.isascii() and port_text.isdigit()):
        raise _fail(text, "port is not decimal")
    if port_text[0] == "0":
        raise _fail(text, "port 0 or port with a leading zero")
    if len(port_text) > 5 or int(port_text) > 65535:
        raise _fail(text, "port above 65535")
    return int(port_text)


def _parse_host_name(text: str, host: str) -> str:
    name = host.lower()
    if name.endswith("."):
        name = name[:-1]
    if not name:
        raise _fail(text, "empty host")
    if len(name) > _MAX_HOST_NAME_LENGTH:
        raise _fail(text, "host name too long")
    if not set(name) <= _HOST_NAME_CHARS:
        raise _fail(text, "bad character in host")
    labels = name.split(".")
    if any(not label or len(label) > _MAX_LABEL_LENGTH for label in labels):
        raise _fail(text, "empty or over-long host label")
    if all(label.isdigit() for label in labels):
        # Looks like an IPv4 literal but ipaddress refused it (octet > 255, leading zero, too few parts).
        raise _fail(text, "malformed IPv4 literal")
    return name


def _parse_host(text: str, host: str) -> tuple[HostKind, str]:
    if not host:
        raise _fail(text, "empty host")
    if host == "+":
        return HostKind.STRONG, "+"
    if host == "*":
        return HostKind.WEAK, "*"
    if host.startswith("["):
        inner = host[1:-1]
        if not inner:
            raise _fail(text, "empty host")
        if "%" in inner:
            raise _fail(text, "IPv6 zone identifiers are not accepted")
        try:
            return HostKind.IP, ipaddress.IPv6Address(inner).compressed
        except ValueError:
            raise _fail(text, "malformed IPv6 literal")
    try:
        return HostKind.IP, str(ipaddress.IPv4Address(host))
    except ValueError:
        pass
    return HostKind.EXPLICIT, _parse_host_name(text, host)


def _split_authority(text: str, authority: str) -> tuple[str, str]:
    """Split `host:port` (host possibly `[v6]`); returns (host, port_text)."""
    if authority.startswith("["):
        close = authority.find("]")
        if close < 0:
            raise _fail(text, "unterminated IPv6 literal")
        host, rest = authority[: close + 1], authority[close + 1 :]
        if not rest:
            raise _fail(text, "missing port")
        if rest[0] != ":":
            raise _fail(text, "garbage after IPv6 literal")
        return host, rest[1:]
    colons = authority.count(":")
    if colons == 0:
        raise _fail(text, "missing port")
    if colons > 1:
        raise _fail(text, "IPv6 literal must be in brackets")
    host, _, port_text = authority.partition(":")
    return host, port_text


def _parse_path(text: str, path: str) -> str:
    index = path.find("%")
    while index >= 0:
        escape = path[index + 1 : index + 3]
        if len(escape) != 2 or not set(escape) <= _HEX_DIGITS:
            raise _fail(text, "malformed percent-escape in path")
        index = path.find("%", index + 3)
    try:
        unquote(path, errors="strict")
    except UnicodeDecodeError:
        raise _fail(text, "percent-escapes in path are not UTF-8")
    segments = path.split("/")[1:]
    if segments[-1] == "":
        segments.pop()  # the trailing slash
    if any(segment in ("", ".", "..") for segment in segments):
        raise _fail(text, "empty or dot-segment in path")
    lowered = path.lower()
    return lowered if lowered.endswith("/") else lowered + "/"


def parse_url_prefix(text: str) -> UrlPrefix:
    """Parse and validate a registration string; raises InvalidUrlPrefix for every malformed form."""
    if not isinstance(text, str):
        raise InvalidUrlPrefix(f"URL prefix must be a str, not {type(text).__name__}")
    if not text:
        raise _fail(text, "empty string")
    if len(text) > MAX_URL_PREFIX_LENGTH:
        raise InvalidUrlPrefix(f"URL prefix longer than {MAX_URL_PREFIX_LENGTH} characters")
    for ch in text:
        if _is_forbidden_char(ch):
            raise _fail(text, f"forbidden character {ch!r} (whitespace, control, query or fragment)")
    scheme, sep, rest = text.partition("://")
    if not sep:
        raise _fail(text, "missing '://'")
    if scheme not in _SCHEMES:
        raise _fail(text, "scheme must be lowercase 'http' or 'https'")
    slash = rest.find("/")
    if slash == 0 or not rest:
        raise _fail(text, "empty host")
    if slash < 0:
        raise _fail(text, "missing path (at least '/')")
    authority, path = rest[:slash], rest[slash:]
    host_text, port_text = _split_authority(text, authority)
    kind, host = _parse_host(text, host_text)
    port = _parse_port(text, port_text)
    return UrlPrefix(
        original=text, scheme=scheme, kind=kind, host=host, port=port, path=_parse_path(text, path)
    )
