"""The records of the persistent service configuration, as plain data, and their validation.

Responsibility: the record kinds HttpSetServiceConfiguration keeps (URL ACLs, IP listen list, SSL bindings,
timeouts, cache and setting records), each record's key and value in plain form (str/int/dict), the one function
that validates and normalizes a record before it is stored, the immutable `Configuration` (every record of every
kind, in the order they were set), `SslBinding` (what the TLS side loads) and the JSON form of `config export`.
It must not open files or talk to a driver.
"""

from __future__ import annotations

import ipaddress
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Final

from httpsys._core.sddl import InvalidSddl, parse_sddl
from httpsys._core.urlprefix import InvalidUrlPrefix, parse_url_prefix

__all__ = [
    "CACHE",
    "EXPORT_FORMAT",
    "IPLISTEN",
    "KINDS",
    "SETTING",
    "SSLCERT",
    "TIMEOUT",
    "URLACL",
    "Configuration",
    "InvalidRecord",
    "Key",
    "SslBinding",
    "Value",
    "folded_key",
    "format_ip_port",
    "parse_ip_port",
    "validate_record",
]

URLACL: Final = "urlacl"  # key: URL prefix (str); value: SDDL (str)
IPLISTEN: Final = "iplisten"  # key: "ADDRESS" or "ADDRESS:PORT" / "[V6]:PORT" (str); value: None
SSLCERT: Final = "sslcert"  # key: "ipport=IP:PORT" | "hostnameport=HOST:PORT" | "ccs=PORT"; value: dict
TIMEOUT: Final = "timeout"  # key: 0 IdleConnectionTimeout | 1 HeaderWaitTimeout; value: seconds 1..65535
CACHE: Final = "cache"  # key: 0 MaxCacheResponseSize | 1 CacheRangeChunkSize; value: ULONG
SETTING: Final = "setting"  # key: 0 HttpNone | 1 HttpTlsThrottle; value: ULONG
KINDS: Final = (URLACL, IPLISTEN, SSLCERT, TIMEOUT, CACHE, SETTING)
EXPORT_FORMAT: Final = "httpsys-config"

Key = str | int
Value = object

_ULONG_MAX: Final = 0xFFFFFFFF
_HOST_RE: Final = re.compile(r"[A-Za-z0-9*]([A-Za-z0-9.*-]{0,252})\Z")
_SSL_KINDS: Final = ("ipport", "hostnameport", "ccs")
_SSL_OPTIONS: Final = frozenset(
    {
        "revocationfreshnesstime",
        "urlretrievaltimeout",
        "sslctlidentifier",
        "sslctlstorename",
        "dsmapperusage",
        "clientcertnegotiation",
        "verifyclientcertrevocation",
        "verifyrevocationwithcachedclientcertonly",
        "usagecheck",
        "revocationfreshnesstimeenabled",
        "certcheckmode",
        "disablehttp2",
        "disablelegacytls",
        "disabletls12",
        "disabletls13",
        "disableocspstapling",
        "enablesessionticket",
    }
)


class InvalidRecord(ValueError):
    """A record that must not be stored (the API answers ERROR_INVALID_PARAMETER, the CLI exits non-zero)."""


@dataclass(frozen=True)
class SslBinding:
    """One SSL certificate binding (HTTP_SERVICE_CONFIG_SSL_SET / _SNI_SET / _CCS_SET): how the driver picks a
    certificate for a TLS connection. `kind` is ipport, hostnameport or ccs; `host` is the IP (ipport), the host
    name (hostnameport) or "" (ccs). `cert_hash` is the certificate's SHA-1 thumbprint in lower-case hex, never
    key material; `flags` is DefaultFlags (HTTP_SERVICE_CONFIG_SSL_FLAG_*); `options` the other SSL_PARAM fields."""

    kind: str
    host: str
    port: int
    cert_hash: str
    store_name: str = "MY"
    app_id: str = "{00000000-0000-0000-0000-000000000000}"
    flags: int = 0
    options: dict[str, object] = field(default_factory=dict, compare=True, hash=False)

    @property
    def key(self) -> str:
        if self.kind == "ccs":
            return f"ccs={self.port}"
        host = f"[{self.host}]" if self.kind == "ipport" and ":" in self.host else self.host
        return f"{self.kind}={host}:{self.port}"


def parse_ip_port(text: str, *, port_required: bool) -> tuple[str, int]:
    """("ADDRESS", PORT) from "1.2.3.4:80", "[::1]:80" (or a bare address when `port_required` is false)."""
    text = text.strip()
    host, port_text = text, ""
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise InvalidRecord(f"bad address {text!r}")
        host, rest = text[1:end], text[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise InvalidRecord(f"bad address {text!r}")
            port_text = rest[1:]
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise InvalidRecord(f"not an IP address: {text!r}") from None
    if not port_text:
        if port_required:
            raise InvalidRecord(f"no port in {text!r}")
        return address.compressed, 0
    if not port_text.isdigit() or not 0 < int(port_text) <= 65535:
        raise InvalidRecord(f"bad port in {text!r}")
    return address.compressed, int(port_text)


def format_ip_port(address: str, port: int) -> str:
    host = f"[{address}]" if ":" in address and port else address
    return f"{host}:{port}" if port else address


def folded_key(kind: str, key: Key) -> str:
    """The identity of a record within its kind (URL prefixes and host names compare case-insensitively)."""
    text = str(key)
    return text.lower() if kind in (URLACL, SSLCERT) else text


def _uint(value: object, what: str, *, low: int = 0, high: int = _ULONG_MAX) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidRecord(f"{what} must be an integer {low}..{high}")
    return value


def _ssl_key(key: object) -> tuple[str, str, int]:
    if not isinstance(key, str) or "=" not in key:
        raise InvalidRecord("an SSL binding key is ipport=IP:PORT, hostnameport=HOST:PORT or ccs=PORT")
    kind, _, endpoint = key.partition("=")
    kind = kind.strip().lower()
    if kind == "ipport":
        host, port = parse_ip_port(endpoint, port_required=True)
        return kind, host, port
    if kind == "hostnameport":
        host, sep, port_text = endpoint.strip().rpartition(":")
        if not sep or not _HOST_RE.match(host) or not port_text.isdigit() or not 0 < int(port_text) <= 65535:
            raise InvalidRecord(f"bad hostnameport {endpoint!r}")
        return kind, host.lower(), int(port_text)
    if kind == "ccs":
        port_text = endpoint.strip()
        if not port_text.isdigit() or not 0 < int(port_text) <= 65535:
            raise InvalidRecord(f"bad ccs port {endpoint!r}")
        return kind, "", int(port_text)
    raise InvalidRecord(f"unknown SSL binding kind {kind!r}")


def _ssl_value(value: object) -> dict[str, object]:
    if not isinstance(value, dict):
        raise InvalidRecord("an SSL binding value is a mapping")
    cert_hash = value.get("certhash")
    if (
        not isinstance(cert_hash, str)
        or not re.fullmatch(r"[0-9A-Fa-f]{2,128}", cert_hash)
        or len(cert_hash) % 2
    ):
        raise InvalidRecord("certhash must be the certificate's thumbprint in hex")
    store = value.get("certstorename", "MY")
    if not isinstance(store, str) or not store or not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", store):
        raise InvalidRecord("certstorename must be a store name (letters, digits, _ . -)")
    app_id = value.get("appid", "{00000000-0000-0000-0000-000000000000}")
    try:
        app_uuid = uuid.UUID(str(app_id))
    except ValueError:
        raise InvalidRecord(f"appid must be a GUID, not {app_id!r}") from None
    flags = _uint(value.get("flags", 0), "flags")
    options = value.get("options", {})
    if not isinstance(options, dict) or not all(
        isinstance(k, str) and k in _SSL_OPTIONS and isinstance(v, str | int) and not isinstance(v, bool)
        for k, v in options.items()
    ):
        raise InvalidRecord(f"options must map known names ({', '.join(sorted(_SSL_OPTIONS))}) to str or int")
    unknown = set(value) - {"certhash", "certstorename", "appid", "flags", "options"}
    if unknown:
        raise InvalidRecord(f"unknown SSL binding fields: {', '.join(sorted(unknown))}")
    return {
        "certhash": cert_hash.lower(),
        "certstorename": store,
        "appid": "{" + str(app_uuid) + "}",
        "flags": flags,
        "options": dict(sorted(options.items())),
    }


def validate_record(kind: str, key: object, value: object) -> tuple[Key, Value]:
    """The record in its stored form, or InvalidRecord saying why it cannot be stored."""
    if kind == URLACL:
        if not isinstance(key, str) or not isinstance(value, str):
            raise InvalidRecord("a URL reservation is a URL prefix and an SDDL string")
        try:
            parse_url_prefix(key)
        except InvalidUrlPrefix as exc:
            raise InvalidRecord(f"bad URL prefix {key!r}: {exc}") from None
        if not value.startswith("D:"):
            raise InvalidRecord("a URL reservation's SDDL is a DACL (D:...)")
        try:
            parse_sddl(value)
        except InvalidSddl as exc:
            raise InvalidRecord(f"bad SDDL {value!r}: {exc}") from None
        return key, value
    if kind == IPLISTEN:
        if not isinstance(key, str) or value is not None:
            raise InvalidRecord("an IP listen entry is an address")
        address, port = parse_ip_port(key, port_required=False)
        return format_ip_port(address, port), None
    if kind == SSLCERT:
        ssl_kind, host, port = _ssl_key(key)
        binding = SslBinding(ssl_kind, host, port, "00")
        return binding.key, _ssl_value(value)
    if kind == TIMEOUT:
        return _uint(key, "timeout key", high=1), _uint(value, "timeout seconds", low=1, high=0xFFFF)
    if kind in (CACHE, SETTING):
        return _uint(key, f"{kind} key", high=1), _uint(value, f"{kind} value")
    raise InvalidRecord(f"unknown record kind {kind!r}")


@dataclass(frozen=True)
class Configuration:
    """Every stored record, by kind, each kind in the order its records were set."""

    records: dict[str, tuple[tuple[Key, Value], ...]] = field(default_factory=dict)

    def of(self, kind: str) -> tuple[tuple[Key, Value], ...]:
        return self.records.get(kind, ())

    def get(self, kind: str, key: Key) -> tuple[Key, Value] | None:
        folded = folded_key(kind, key)
        for record in self.of(kind):
            if folded_key(kind, record[0]) == folded:
                return record
        return None

    @property
    def url_reservations(self) -> tuple[tuple[str, str], ...]:
        return tuple((str(k), str(v)) for k, v in self.of(URLACL))

    @property
    def ip_listen_list(self) -> tuple[str, ...]:
        """The addresses listeners bind (ports in the records are ignored, as HTTP.sys ignores them)."""
        out: list[str] = []
        for key, _ in self.of(IPLISTEN):
            address = parse_ip_port(str(key), port_required=False)[0]
            if address not in out:
                out.append(address)
        return tuple(out)

    def timeout(self, key: int) -> int | None:
        record = self.get(TIMEOUT, key)
        return None if record is None else int(record[1])  # type: ignore[call-overload]

    def ssl_bindings(self) -> tuple[SslBinding, ...]:
        out = []
        for key, value in self.of(SSLCERT):
            kind, host, port = _ssl_key(key)
            fields: dict[str, Any] = value  # type: ignore[assignment]
            out.append(
                SslBinding(
                    kind,
                    host,
                    port,
                    fields["certhash"],
                    fields["certstorename"],
                    fields["appid"],
                    fields["flags"],
                    dict(fields["options"]),
                )
            )
        return tuple(out)

    def to_json(self) -> str:
        body: dict[str, object] = {"format": EXPORT_FORMAT, "version": 1}
        for kind in KINDS:
            body[kind] = [[k, v] for k, v in self.of(kind)]
        return json.dumps(body, indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Configuration:
        """A configuration from `config export` output; InvalidRecord naming the first bad record."""
        try:
            body = json.loads(text)
        except ValueError as exc:
            raise InvalidRecord(f"not JSON: {exc}") from None
        if not isinstance(body, dict) or body.get("format") != EXPORT_FORMAT:
            raise InvalidRecord(f'not an httpsys configuration export (no "format": "{EXPORT_FORMAT}")')
        if body.get("version") != 1:
            raise InvalidRecord(f"unsupported export version {body.get('version')!r}")
        records: dict[str, tuple[tuple[Key, Value], ...]] = {}
        for kind in KINDS:
            entries = body.get(kind, [])
            if not isinstance(entries, list):
                raise InvalidRecord(f"{kind}: a list of [key, value] pairs")
            seen: set[str] = set()
            out: list[tuple[Key, Value]] = []
            for entry in entries:
                if not isinstance(entry, list) or len(entry) != 2:
                    raise InvalidRecord(f"{kind}: each record is a [key, value] pair")
                key, value = validate_record(kind, entry[0], entry[1])
                folded = folded_key(kind, key)
                if folded in seen:
                    raise InvalidRecord(f"{kind}: {key!r} appears twice")
                seen.add(folded)
                out.append((key, value))
            records[kind] = tuple(out)
        return cls(records)
