"""SSL bindings: the records that say which certificate a TLS endpoint presents, and HTTP.sys's choice rule.

Responsibility: the binding record (`SslBinding`: an IP:port, a host name:port (SNI) or a port of the central
certificate store (CCS), with the certificate's thumbprint and store, the AppId and the DefaultFlags), the table
of them with the documented Set/Update/Delete/Query outcomes (ERROR_ALREADY_EXISTS, ERROR_FILE_NOT_FOUND), and
`choose`: SNI host name:port first, then the exact IP:port, then the wildcard 0.0.0.0:PORT / [::]:PORT, then a
CCS binding of the port (ARCHITECTURE §8.9). It must not load certificates or touch sockets; writers replace
whole dictionaries (copy on write), so a reader on another thread always sees one consistent table.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import IntEnum

from httpsys._core.status import Win32Error

_OK = int(Win32Error.NO_ERROR)
_EXISTS = int(Win32Error.ERROR_ALREADY_EXISTS)
_MISSING = int(Win32Error.ERROR_FILE_NOT_FOUND)

# HTTP_SERVICE_CONFIG_SSL_PARAM.DefaultFlags (http.h)
FLAG_USE_DS_MAPPER = 0x1
FLAG_NEGOTIATE_CLIENT_CERT = 0x2
FLAG_NO_RAW_FILTER = 0x4
FLAG_REJECT = 0x8
FLAG_DISABLE_HTTP2 = 0x10
FLAG_DISABLE_TLS13 = 0x40
FLAG_DISABLE_LEGACY_TLS = 0x400
FLAG_DISABLE_TLS12 = 0x1000
# DefaultCertCheckMode: 1 = no revocation check (the only mode we can honour without network fetches)
CERT_CHECK_NO_REVOCATION = 1


class BindingKind(IntEnum):
    """Which HttpServiceConfig* record a binding is (the ConfigId of its Set call)."""

    IPPORT = 1  # HttpServiceConfigSSLCertInfo
    SNI = 5  # HttpServiceConfigSslSniCertInfo
    CCS = 6  # HttpServiceConfigSslCcsCertInfo


WILDCARD_V4 = "0.0.0.0"
WILDCARD_V6 = "::"


@dataclass(frozen=True)
class SslBinding:
    """One SSL binding. `address` is the IP of an IPPORT binding (0.0.0.0 / :: = every address of that family);
    `host` the lower-cased name of an SNI binding. The certificate is `cert_hash` (upper-case SHA-1 hex) in the
    certificate store `store` - or, for bindings the command makes from files (`--ssl-certfile`), `cert_file` and
    `key_file` with the client CA file `ca_file`."""

    kind: BindingKind
    port: int
    address: str = ""
    host: str = ""
    cert_hash: str = ""
    store: str = "MY"
    app_id: str = "{00000000-0000-0000-0000-000000000000}"
    flags: int = 0
    cert_check_mode: int = 0
    revocation_freshness_time: int = 0
    revocation_url_retrieval_timeout: int = 0
    ctl_identifier: str = ""
    ctl_store: str = ""  # the store whose certificates are the trusted issuers of client certificates
    cert_file: str = ""
    key_file: str = ""
    ca_file: str = ""
    require_client_cert: bool = False  # --ssl-cert-reqs 2 (CERT_REQUIRED); store bindings only negotiate
    stored: bool = False  # loaded from the configuration store (replaced by its next load_stored)

    @property
    def key(self) -> tuple[int, str, int]:
        """The record's identity in its table: (kind, address or host, port)."""
        return (int(self.kind), self.host if self.kind is BindingKind.SNI else self.address, self.port)

    def describe(self) -> str:
        """`ipport=1.2.3.4:443`, `hostnameport=www.example.com:443`, `ccs=443` - as netsh names the key."""
        if self.kind is BindingKind.SNI:
            return f"hostnameport={self.host}:{self.port}"
        if self.kind is BindingKind.CCS:
            return f"ccs={self.port}"
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"ipport={host}:{self.port}"


class InvalidBinding(ValueError):
    """A binding record with a malformed key or certificate reference (ERROR_INVALID_PARAMETER)."""


def normalize_address(address: str) -> str:
    """The canonical text of an IP address (IPv4-mapped IPv6 as IPv4); InvalidBinding if it is not one."""
    try:
        ip = ipaddress.ip_address(address.strip("[]").split("%")[0])
    except ValueError:
        raise InvalidBinding(f"{address!r} is not an IP address") from None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


def normalize_host(host: str) -> str:
    name = host.strip().rstrip(".").lower()
    if not name or len(name) > 255 or any(c in name for c in " /\\:@[]?#%"):
        raise InvalidBinding(f"{host!r} is not a host name")
    return name


def checked(binding: SslBinding) -> SslBinding:
    """The binding with its key normalized; InvalidBinding when a field cannot be right."""
    if not 0 < binding.port <= 0xFFFF:
        raise InvalidBinding(f"port {binding.port} is out of range")
    if binding.kind is BindingKind.IPPORT:
        binding = replace(binding, address=normalize_address(binding.address), host="")
    elif binding.kind is BindingKind.SNI:
        binding = replace(binding, host=normalize_host(binding.host), address="")
    else:
        binding = replace(binding, host="", address="")
    if not binding.cert_file:
        digits = binding.cert_hash.replace(" ", "").upper()
        malformed = len(digits) != 40 or any(c not in "0123456789ABCDEF" for c in digits)
        if malformed and binding.kind is not BindingKind.CCS:  # a CCS binding finds certificates by name
            raise InvalidBinding("the certificate hash must be 20 bytes (the SHA-1 thumbprint)")
        binding = replace(binding, cert_hash=digits)
    return binding


class SslBindingTable:
    """The SSL bindings of one machine (or one test), by kind and key; `generation` counts changes."""

    def __init__(self, records: Iterable[SslBinding] = ()) -> None:
        self._records: dict[tuple[int, str, int], SslBinding] = {}
        self._ports: frozenset[int] = frozenset()
        self.generation = 0
        self.load(records)

    # ----- changes (each replaces the dictionaries: readers never see a half-made change) --------------------
    def load(self, records: Iterable[SslBinding]) -> None:
        """Replace every record (the configuration store's records, read at start or on SIGHUP)."""
        table = {}
        for record in records:
            record = checked(record)
            table[record.key] = record
        self._install(table)

    def load_stored(self, records: Iterable[SslBinding]) -> int:
        """Replace the records the configuration store gave last time with `records` (at start, after each
        committed change, on SIGHUP); records this process set itself (HttpSetServiceConfiguration in embedded
        mode, `--ssl-certfile`) stay and win over a stored record with the same key. The number of stored records
        that could not be used (a damaged store: validated when it was written)."""
        table = {key: r for key, r in self._records.items() if not r.stored}
        unusable = 0
        for record in records:
            try:
                record = replace(checked(record), stored=True)
            except InvalidBinding:
                unusable += 1
                continue
            table.setdefault(record.key, record)
        self._install(table)
        return unusable

    def set(self, binding: SslBinding) -> int:
        """HttpSetServiceConfiguration: ERROR_ALREADY_EXISTS when the key has a record."""
        binding = checked(binding)
        if binding.key in self._records:
            return _EXISTS
        self._install({**self._records, binding.key: binding})
        return _OK

    def update(self, binding: SslBinding) -> int:
        """HttpUpdateServiceConfiguration: ERROR_FILE_NOT_FOUND when the key has no record."""
        binding = checked(binding)
        if binding.key not in self._records:
            return _MISSING
        self._install({**self._records, binding.key: binding})
        return _OK

    def delete(self, key: tuple[int, str, int]) -> int:
        if key not in self._records:
            return _MISSING
        table = dict(self._records)
        del table[key]
        self._install(table)
        return _OK

    def _install(self, table: dict[tuple[int, str, int], SslBinding]) -> None:
        self._records = table
        self._ports = frozenset(record.port for record in table.values())
        self.generation += 1

    # ----- reading ------------------------------------------------------------------------------------------
    def get(self, key: tuple[int, str, int]) -> SslBinding | None:
        return self._records.get(key)

    def entries(self, kind: BindingKind | None = None) -> list[SslBinding]:
        """The records (of one kind), in the order they were made - the order QueryNext enumerates."""
        return [r for r in self._records.values() if kind is None or r.kind is kind]

    def has_port(self, port: int) -> bool:
        return port in self._ports

    def choose(self, server_name: str | None, local_address: str, port: int) -> SslBinding | None:
        """The binding HTTP.sys would use for a ClientHello naming `server_name` (None: no SNI) that reached
        `local_address:port`: SNI host name:port, then exact IP:port, then the wildcard of the address's
        family, then the port's CCS binding; None when there is none."""
        records = self._records
        if server_name:
            found = records.get((int(BindingKind.SNI), server_name.rstrip(".").lower(), port))
            if found is not None:
                return found
        found = records.get((int(BindingKind.IPPORT), local_address, port))
        if found is not None:
            return found
        wildcard = WILDCARD_V6 if ":" in local_address else WILDCARD_V4
        found = records.get((int(BindingKind.IPPORT), wildcard, port))
        if found is not None:
            return found
        return records.get((int(BindingKind.CCS), "", port))
