"""SSL binding records of HttpSet/Update/Query/DeleteServiceConfiguration (SSLCertInfo, SslSniCertInfo, SslCcsCertInfo).

Responsibility: turn the caller's HTTP_SERVICE_CONFIG_SSL_SET / _SNI_SET / _CCS_SET (and _QUERY) structs into the
binding records the driver serves (`httpsys._engine.tls.ssl_bindings()`), and back, with the documented codes:
ERROR_ALREADY_EXISTS (Set of an existing key; Update replaces), ERROR_FILE_NOT_FOUND (missing record),
ERROR_NO_SUCH_LOGON_SESSION (the certificate hash is not in the named store), ERROR_INSUFFICIENT_BUFFER with the
size needed, enumeration by dwToken until ERROR_NO_MORE_ITEMS. A change applies to the next connection. The
extended (…Ex) records stay ERROR_NOT_SUPPORTED. It must not hold records itself or load certificates' keys.
"""

from __future__ import annotations

import uuid
from typing import Any, Final

from httpsys._core.sslbindings import BindingKind, InvalidBinding, SslBinding, checked
from httpsys._core.status import Win32Error
from httpsys._engine.certstore import CertStoreError, CertStores
from httpsys._engine.tls import ssl_bindings

from .constants import (
    HttpServiceConfigQueryExact,
    HttpServiceConfigQueryNext,
    HttpServiceConfigSslCcsCertInfo,
    HttpServiceConfigSSLCertInfo,
    HttpServiceConfigSslSniCertInfo,
)
from .kernel32 import store_out_param
from .marshal import as_uint, pcwstr
from .structs import (
    HTTP_SERVICE_CONFIG_SSL_CCS_KEY,
    HTTP_SERVICE_CONFIG_SSL_CCS_QUERY,
    HTTP_SERVICE_CONFIG_SSL_CCS_SET,
    HTTP_SERVICE_CONFIG_SSL_KEY,
    HTTP_SERVICE_CONFIG_SSL_PARAM,
    HTTP_SERVICE_CONFIG_SSL_QUERY,
    HTTP_SERVICE_CONFIG_SSL_SET,
    HTTP_SERVICE_CONFIG_SSL_SNI_KEY,
    HTTP_SERVICE_CONFIG_SSL_SNI_QUERY,
    HTTP_SERVICE_CONFIG_SSL_SNI_SET,
    SOCKADDR_IN,
    SOCKADDR_IN6,
    sizeof,
)

__all__ = ["SSL_IDS", "ssl_delete", "ssl_query", "ssl_set"]

SSL_IDS: Final = frozenset(
    {HttpServiceConfigSSLCertInfo, HttpServiceConfigSslSniCertInfo, HttpServiceConfigSslCcsCertInfo}
)

_OK: Final = int(Win32Error.NO_ERROR)
_INVALID: Final = int(Win32Error.ERROR_INVALID_PARAMETER)
_SMALL: Final = int(Win32Error.ERROR_INSUFFICIENT_BUFFER)
_NO_MORE: Final = int(Win32Error.ERROR_NO_MORE_ITEMS)
_MISSING: Final = int(Win32Error.ERROR_FILE_NOT_FOUND)
_BAD_CERT: Final = int(Win32Error.ERROR_NO_SUCH_LOGON_SESSION)

_SET_TYPES: Final[dict[int, type[Any]]] = {
    HttpServiceConfigSSLCertInfo: HTTP_SERVICE_CONFIG_SSL_SET,
    HttpServiceConfigSslSniCertInfo: HTTP_SERVICE_CONFIG_SSL_SNI_SET,
    HttpServiceConfigSslCcsCertInfo: HTTP_SERVICE_CONFIG_SSL_CCS_SET,
}
_QUERY_TYPES: Final[dict[int, type[Any]]] = {
    HttpServiceConfigSSLCertInfo: HTTP_SERVICE_CONFIG_SSL_QUERY,
    HttpServiceConfigSslSniCertInfo: HTTP_SERVICE_CONFIG_SSL_SNI_QUERY,
    HttpServiceConfigSslCcsCertInfo: HTTP_SERVICE_CONFIG_SSL_CCS_QUERY,
}
_KINDS: Final = {
    HttpServiceConfigSSLCertInfo: BindingKind.IPPORT,
    HttpServiceConfigSslSniCertInfo: BindingKind.SNI,
    HttpServiceConfigSslCcsCertInfo: BindingKind.CCS,
}


def _address(value: object) -> tuple[str, int] | None:
    if isinstance(value, SOCKADDR_IN | SOCKADDR_IN6):
        host, port = value.to_address()[:2]
        return str(host), int(port)
    return None


def _key(config_id: int, key: object) -> tuple[BindingKind, str, str, int] | None:
    """(kind, address, host, port) of a KeyDesc, None when it is malformed."""
    kind = _KINDS[config_id]
    if kind is BindingKind.IPPORT:
        if not isinstance(key, HTTP_SERVICE_CONFIG_SSL_KEY):
            return None
        found = _address(key.pIpPort)
        return None if found is None else (kind, found[0], "", found[1])
    if kind is BindingKind.SNI:
        if not isinstance(key, HTTP_SERVICE_CONFIG_SSL_SNI_KEY):
            return None
        found = _address(key.IpPort)
        host = pcwstr(key.Host, 0, "Host")
        return None if found is None or not host else (kind, "", host, found[1])
    if not isinstance(key, HTTP_SERVICE_CONFIG_SSL_CCS_KEY):
        return None
    found = _address(key.LocalAddress)
    return None if found is None else (kind, "", "", found[1])


def _binding(config_id: int, info: Any, length: int) -> SslBinding | int:
    expected = _SET_TYPES[config_id]
    if type(info) is not expected or length < sizeof(expected):
        return _INVALID
    key = _key(config_id, info.KeyDesc)
    param = info.ParamDesc
    if key is None or not isinstance(param, HTTP_SERVICE_CONFIG_SSL_PARAM):
        return _INVALID
    kind, address, host, port = key
    digest = param.pSslHash
    if isinstance(digest, bytearray | memoryview):
        digest = bytes(digest)
    hash_length = as_uint(param.SslHashLength, 32, "SslHashLength")
    if digest is None:
        if kind is not BindingKind.CCS:
            return _INVALID
        digest = b""
    if not isinstance(digest, bytes) or (hash_length and hash_length != len(digest)):
        return _INVALID
    if kind is not BindingKind.CCS and len(digest) != 20:
        return _INVALID
    app_id = param.AppId if isinstance(param.AppId, uuid.UUID) else uuid.UUID(int=0)
    try:
        binding = SslBinding(
            kind,
            port,
            address=address,
            host=host,
            cert_hash=digest.hex().upper(),
            store=pcwstr(param.pSslCertStoreName, 0, "pSslCertStoreName") or "MY",
            app_id="{" + str(app_id) + "}",
            flags=as_uint(param.DefaultFlags, 32, "DefaultFlags"),
            cert_check_mode=as_uint(param.DefaultCertCheckMode, 32, "DefaultCertCheckMode"),
            revocation_freshness_time=as_uint(param.DefaultRevocationFreshnessTime, 32, "FreshnessTime"),
            revocation_url_retrieval_timeout=as_uint(
                param.DefaultRevocationUrlRetrievalTimeout, 32, "Timeout"
            ),
            ctl_identifier=pcwstr(param.pDefaultSslCtlIdentifier, 0, "pDefaultSslCtlIdentifier") or "",
            ctl_store=pcwstr(param.pDefaultSslCtlStoreName, 0, "pDefaultSslCtlStoreName") or "",
        )
        binding = checked(binding)
    except InvalidBinding:
        return _INVALID
    if kind is not BindingKind.CCS:
        try:
            CertStores().paths(binding.store, binding.cert_hash)
        except CertStoreError:
            return _BAD_CERT  # the documented code for a certificate the store does not hold
    return binding


def ssl_set(config_id: int, info: object, length: int, *, update: bool = False) -> int:
    """HttpSetServiceConfiguration (or, with `update`, HttpUpdateServiceConfiguration) of an SSL record."""
    binding = _binding(config_id, info, length)
    if isinstance(binding, int):
        return binding
    bindings = ssl_bindings()
    with bindings.lock:
        return bindings.table.update(binding) if update else bindings.table.set(binding)


def ssl_delete(config_id: int, info: Any, length: int) -> int:
    expected = _SET_TYPES[config_id]
    if type(info) is not expected or length < sizeof(expected):
        return _INVALID
    key = _key(config_id, info.KeyDesc)
    if key is None:
        return _INVALID
    found = _lookup(key)
    if found is None:
        return _MISSING
    bindings = ssl_bindings()
    with bindings.lock:
        return bindings.table.delete(found.key)


def _lookup(key: tuple[BindingKind, str, str, int]) -> SslBinding | None:
    kind, address, host, port = key
    try:
        probe = SslBinding(kind, port, address=address, host=host, cert_hash="0" * 40)
        probe = checked(probe)
    except InvalidBinding:
        return None
    return ssl_bindings().table.get(probe.key)


def ssl_query(
    config_id: int,
    query: Any,
    query_length: int,
    output: object,
    output_length: int,
    return_length: object,
) -> int:
    expected = _QUERY_TYPES[config_id]
    if type(query) is not expected or query_length < sizeof(expected):
        return _INVALID
    how = as_uint(query.QueryDesc, 32, "QueryDesc")
    if how == HttpServiceConfigQueryExact:
        key = _key(config_id, query.KeyDesc)
        if key is None:
            return _INVALID
        record = _lookup(key)
        if record is None:
            return _MISSING
    elif how == HttpServiceConfigQueryNext:
        token = as_uint(query.dwToken, 32, "dwToken")
        records = ssl_bindings().table.entries(_KINDS[config_id])
        if token >= len(records):
            return _NO_MORE
        record = records[token]
    else:
        return _INVALID
    result_type = _SET_TYPES[config_id]
    needed = _needed(result_type, record)
    if output_length < needed:
        store_out_param(return_length, needed)
        return _SMALL
    if type(output) is not result_type:
        return _INVALID
    _fill(output, record)
    store_out_param(return_length, needed)
    return _OK


def _wide(text: str) -> int:
    return (len(text.encode("utf-16-le")) + 2) if text else 0


def _needed(result_type: type[Any], record: SslBinding) -> int:
    address = 28 if ":" in record.address else 16
    return (
        sizeof(result_type)
        + (address if record.kind is BindingKind.IPPORT else 0)
        + (20 if record.cert_hash else 0)
        + _wide(record.store)
        + _wide(record.host)
        + _wide(record.ctl_identifier)
        + _wide(record.ctl_store)
    )


def _sockaddr(address: str, port: int) -> SOCKADDR_IN | SOCKADDR_IN6:
    if ":" in address:
        return SOCKADDR_IN6.from_address((address, port))
    return SOCKADDR_IN.from_address((address or "0.0.0.0", port))


def _fill(output: Any, record: SslBinding) -> None:
    if record.kind is BindingKind.IPPORT:
        output.KeyDesc = HTTP_SERVICE_CONFIG_SSL_KEY(pIpPort=_sockaddr(record.address, record.port))
    elif record.kind is BindingKind.SNI:
        output.KeyDesc = HTTP_SERVICE_CONFIG_SSL_SNI_KEY(
            IpPort=_sockaddr("0.0.0.0", record.port), Host=record.host
        )
    else:
        output.KeyDesc = HTTP_SERVICE_CONFIG_SSL_CCS_KEY(LocalAddress=_sockaddr("0.0.0.0", record.port))
    digest = bytes.fromhex(record.cert_hash) if record.cert_hash else None
    output.ParamDesc = HTTP_SERVICE_CONFIG_SSL_PARAM(
        SslHashLength=len(digest) if digest else 0,
        pSslHash=digest,
        AppId=uuid.UUID(record.app_id.strip("{}")),
        pSslCertStoreName=record.store,
        DefaultCertCheckMode=record.cert_check_mode,
        DefaultRevocationFreshnessTime=record.revocation_freshness_time,
        DefaultRevocationUrlRetrievalTimeout=record.revocation_url_retrieval_timeout,
        pDefaultSslCtlIdentifier=record.ctl_identifier or None,
        pDefaultSslCtlStoreName=record.ctl_store or None,
        DefaultFlags=record.flags,
    )
