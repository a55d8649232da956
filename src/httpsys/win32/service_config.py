"""HttpSet/Query/Delete/UpdateServiceConfiguration: Win32 structs to and from the persistent configuration store.

Responsibility: check and translate the records the win32 face accepts — URL reservations (UrlAclInfo), driver-wide
timeouts (Timeout), cache settings (Cache), the setting records (Setting) and the IP listen list (IPListenList) —
into the store's plain records and back, with the documented codes: ERROR_ALREADY_EXISTS on Set of an existing
record, ERROR_FILE_NOT_FOUND for a missing one, ERROR_INSUFFICIENT_BUFFER with the needed size, enumeration by
``dwToken`` until ERROR_NO_MORE_ITEMS. SSL binding records (and HttpUpdateServiceConfiguration, which only updates
them) go to the driver's binding table through `ssl_config` (decision 0021; the store's records, from
`httpsys netsh http add sslcert`, are loaded into it too); the extended (...Ex) SSL records are ERROR_NOT_SUPPORTED.

Where the records live (decision 0020): embedded, in the configuration store this process opens (SQLite under
HTTPSYS_CONFIG_DIR; ERROR_BADDB when that file is corrupt or foreign); with HTTPSYS_DAEMON_SOCKET, in the daemon's
store through the daemon (it is the only writer while it runs, and it decides who may change it). It must not
keep records of its own.
"""

from __future__ import annotations

import logging
from typing import Final, Protocol

from httpsys._config.records import (
    CACHE,
    IPLISTEN,
    SETTING,
    TIMEOUT,
    URLACL,
    InvalidRecord,
    Key,
    Value,
    folded_key,
    format_ip_port,
    parse_ip_port,
)
from httpsys._core.status import Win32Error
from httpsys._core.urlprefix import InvalidUrlPrefix, parse_url_prefix

from .constants import (
    CacheRangeChunkSize,
    HeaderWaitTimeout,
    HttpServiceConfigCache,
    HttpServiceConfigIPListenList,
    HttpServiceConfigMax,
    HttpServiceConfigQueryExact,
    HttpServiceConfigQueryNext,
    HttpServiceConfigSetting,
    HttpServiceConfigTimeout,
    HttpServiceConfigUrlAclInfo,
    HttpTlsThrottle,
)
from .kernel32 import out_param_present, out_param_valid, store_out_param
from .marshal import as_uint, pcwstr, scalar_input
from .ssl_config import SSL_IDS, ssl_delete, ssl_query, ssl_set
from .structs import (
    HTTP_SERVICE_CONFIG_CACHE_SET,
    HTTP_SERVICE_CONFIG_IP_LISTEN_PARAM,
    HTTP_SERVICE_CONFIG_IP_LISTEN_QUERY,
    HTTP_SERVICE_CONFIG_SETTING_SET,
    HTTP_SERVICE_CONFIG_TIMEOUT_SET,
    HTTP_SERVICE_CONFIG_URLACL_KEY,
    HTTP_SERVICE_CONFIG_URLACL_PARAM,
    HTTP_SERVICE_CONFIG_URLACL_QUERY,
    HTTP_SERVICE_CONFIG_URLACL_SET,
    SOCKADDR_IN,
    SOCKADDR_IN6,
    offsetof,
    sizeof,
)

__all__ = ["ConfigBackend", "DaemonBackend", "LocalBackend", "ServiceConfigStore", "service_config_store"]

_OK: Final = int(Win32Error.NO_ERROR)
_INVALID: Final = int(Win32Error.ERROR_INVALID_PARAMETER)
_EXISTS: Final = int(Win32Error.ERROR_ALREADY_EXISTS)
_MISSING: Final = int(Win32Error.ERROR_FILE_NOT_FOUND)
_SMALL: Final = int(Win32Error.ERROR_INSUFFICIENT_BUFFER)
_NO_MORE: Final = int(Win32Error.ERROR_NO_MORE_ITEMS)
_NOT_SUPPORTED: Final = int(Win32Error.ERROR_NOT_SUPPORTED)

_STORED_IDS: Final = frozenset(
    {
        HttpServiceConfigIPListenList,
        HttpServiceConfigUrlAclInfo,
        HttpServiceConfigTimeout,
        HttpServiceConfigCache,
        HttpServiceConfigSetting,
    }
)
_SOCKADDR_STORAGE_SIZE: Final = 128
_BADDB: Final = 1009  # ERROR_BADDB: the configuration store file is corrupt or not ours

log = logging.getLogger("httpsys.config")


class ConfigBackend(Protocol):
    """Where records are kept: the process's store (embedded) or the daemon's (HTTPSYS_DAEMON_SOCKET)."""

    def set(self, kind: str, key: Key, value: Value, update: bool) -> int: ...
    def delete(self, kind: str, key: Key) -> int: ...
    def records(self, kind: str) -> tuple[int, list[tuple[Key, Value]]]: ...


class LocalBackend:
    """The configuration store this process opens (embedded mode); a committed change is applied to the
    process's shared embedded driver when it runs."""

    def set(self, kind: str, key: Key, value: Value, update: bool) -> int:
        from httpsys._config import ConfigStoreError, process_store

        try:
            code = process_store().set(kind, key, value, update=update)
        except ConfigStoreError as exc:
            log.error("%s", exc)
            return exc.winerror
        if code == _OK:
            _reapply()
        return code

    def delete(self, kind: str, key: Key) -> int:
        from httpsys._config import ConfigStoreError, process_store

        try:
            code = process_store().delete(kind, key)
        except ConfigStoreError as exc:
            log.error("%s", exc)
            return exc.winerror
        if code == _OK:
            _reapply()
        return code

    def records(self, kind: str) -> tuple[int, list[tuple[Key, Value]]]:
        from httpsys._config import ConfigStoreError, process_store

        try:
            return _OK, list(process_store().load().of(kind))
        except ConfigStoreError as exc:
            log.error("%s", exc)
            return exc.winerror, []


def _reapply() -> None:
    from httpsys._transport.embedded import reapply_stored_configuration

    reapply_stored_configuration()


class DaemonBackend:
    """The daemon's store, through the daemon at HTTPSYS_DAEMON_SOCKET (ERROR_SERVICE_NOT_ACTIVE without one)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def _call(self, method: str, *args: object) -> object:
        from httpsys._transport.remote import release_remote_transport, remote_transport
        from httpsys.errors import HttpSysError

        try:
            transport = remote_transport(self.path)
        except HttpSysError as exc:
            return exc.winerror
        try:
            return getattr(transport, method)(*args)
        finally:
            release_remote_transport(transport)

    def set(self, kind: str, key: Key, value: Value, update: bool) -> int:
        result = self._call("service_config_set", kind, key, value, update)
        return result if isinstance(result, int) else _INVALID

    def delete(self, kind: str, key: Key) -> int:
        result = self._call("service_config_delete", kind, key)
        return result if isinstance(result, int) else _INVALID

    def records(self, kind: str) -> tuple[int, list[tuple[Key, Value]]]:
        result = self._call("service_config_query", kind)
        if isinstance(result, int):
            return result, []
        answer: tuple[int, list[tuple[Key, Value]]] = result  # type: ignore[assignment]
        return answer[0], list(answer[1])


def _backend() -> ConfigBackend:
    from httpsys._transport import daemon_socket

    path = daemon_socket()
    return LocalBackend() if path is None else DaemonBackend(path)


def _wide_size(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) + 2


def _address_key(address: SOCKADDR_IN | SOCKADDR_IN6) -> str:
    host, port = address.to_address()[:2]
    return format_ip_port(host, port)


def _sockaddr(key: Key) -> SOCKADDR_IN | SOCKADDR_IN6:
    host, port = parse_ip_port(str(key), port_required=False)
    if ":" in host:
        return SOCKADDR_IN6.from_address((host, port))
    return SOCKADDR_IN.from_address((host, port))


_TABLES: Final = {
    HttpServiceConfigTimeout: TIMEOUT,
    HttpServiceConfigCache: CACHE,
    HttpServiceConfigSetting: SETTING,
}


class ServiceConfigStore:
    """The Win32 face of the configuration records (any thread may call; the store serialises changes)."""

    def __init__(self, backend: ConfigBackend | None = None) -> None:
        self._fixed = backend

    @property
    def backend(self) -> ConfigBackend:
        return self._fixed if self._fixed is not None else _backend()

    # ----- Set / Delete ---------------------------------------------------------------------------------------
    def set(self, config_id: int, info: object, length: int) -> int:
        if config_id in SSL_IDS:
            return ssl_set(config_id, info, length)  # the driver's binding table (decision 0021)
        if config_id not in _STORED_IDS:
            return _INVALID if config_id >= HttpServiceConfigMax else _NOT_SUPPORTED
        if config_id == HttpServiceConfigUrlAclInfo:
            return self._set_urlacl(info, length)
        if config_id == HttpServiceConfigIPListenList:
            address = self._listen_address(info, length)
            if address is None:
                return _INVALID
            return self.backend.set(IPLISTEN, _address_key(address), None, False)
        record = self._scalar_record(config_id, info, length)
        if record is None:
            return _INVALID
        key, value = record
        if config_id == HttpServiceConfigTimeout and value == 0:
            return _INVALID  # a driver-wide timeout of 0 is not allowed
        return self.backend.set(_TABLES[config_id], key, value, False)

    def update(self, config_id: int, info: object, length: int) -> int:
        """HttpUpdateServiceConfiguration: SSL records only (the caller checked the id)."""
        return ssl_set(config_id, info, length, update=True) if config_id in SSL_IDS else _NOT_SUPPORTED

    def delete(self, config_id: int, info: object, length: int) -> int:
        if config_id in SSL_IDS:
            return ssl_delete(config_id, info, length)
        if config_id not in _STORED_IDS:
            return _INVALID if config_id >= HttpServiceConfigMax else _NOT_SUPPORTED
        if config_id == HttpServiceConfigUrlAclInfo:
            if not isinstance(info, HTTP_SERVICE_CONFIG_URLACL_SET) or length < sizeof(info):
                return _INVALID
            prefix = self._urlacl_prefix(info.KeyDesc)
            if prefix is None:
                return _INVALID
            return self.backend.delete(URLACL, prefix)
        if config_id == HttpServiceConfigIPListenList:
            address = self._listen_address(info, length)
            if address is None:
                return _INVALID
            return self.backend.delete(IPLISTEN, _address_key(address))
        record = self._scalar_record(config_id, info, length, key_only=True)
        if record is None:
            return _INVALID
        return self.backend.delete(_TABLES[config_id], record[0])

    # ----- Query ---------------------------------------------------------------------------------------------
    def query(
        self,
        config_id: int,
        query: object,
        query_length: int,
        output: object,
        output_length: int,
        return_length: object,
    ) -> int:
        if not out_param_valid(return_length):
            return _INVALID
        if config_id in SSL_IDS:
            return ssl_query(config_id, query, query_length, output, output_length, return_length)
        if config_id not in _STORED_IDS:
            return _INVALID if config_id >= HttpServiceConfigMax else _NOT_SUPPORTED
        if config_id == HttpServiceConfigUrlAclInfo:
            return self._query_urlacl(query, query_length, output, output_length, return_length)
        if config_id == HttpServiceConfigIPListenList:
            return self._query_listen(output, output_length, return_length)
        if query is None or query_length < 4:
            return _INVALID
        key = scalar_input(query, "pInput")
        if not self._valid_key(config_id, key):
            return _INVALID
        code, rows = self.backend.records(_TABLES[config_id])
        if code != _OK:
            return code
        value = dict(rows).get(key)
        if not isinstance(value, int):
            return _MISSING
        size = 2 if config_id == HttpServiceConfigTimeout else 4
        if output_length < size:
            store_out_param(return_length, size)
            return _SMALL
        if output_length not in (size, 8) or output is None or not out_param_present(output):
            return _INVALID
        if not store_out_param(output, value):
            return _INVALID
        store_out_param(return_length, size)
        return _OK

    # ----- helpers -------------------------------------------------------------------------------------------
    @staticmethod
    def _valid_key(config_id: int, key: int) -> bool:
        if config_id == HttpServiceConfigTimeout:
            return key <= HeaderWaitTimeout
        if config_id == HttpServiceConfigCache:
            return key <= CacheRangeChunkSize
        return key <= HttpTlsThrottle

    def _scalar_record(
        self, config_id: int, info: object, length: int, *, key_only: bool = False
    ) -> tuple[int, int] | None:
        expected: type[object] = {
            HttpServiceConfigTimeout: HTTP_SERVICE_CONFIG_TIMEOUT_SET,
            HttpServiceConfigCache: HTTP_SERVICE_CONFIG_CACHE_SET,
            HttpServiceConfigSetting: HTTP_SERVICE_CONFIG_SETTING_SET,
        }[config_id]
        if (
            not isinstance(
                info,
                HTTP_SERVICE_CONFIG_TIMEOUT_SET
                | HTTP_SERVICE_CONFIG_CACHE_SET
                | HTTP_SERVICE_CONFIG_SETTING_SET,
            )
            or type(info) is not expected
        ):
            return None
        if length < sizeof(info):
            return None
        key = as_uint(info.KeyDesc, 32, "KeyDesc")
        if not self._valid_key(config_id, key):
            return None
        if key_only:
            return key, 0
        bits = 16 if config_id == HttpServiceConfigTimeout else 32
        return key, as_uint(info.ParamDesc, bits, "ParamDesc")

    @staticmethod
    def _urlacl_prefix(key: object) -> str | None:
        if not isinstance(key, HTTP_SERVICE_CONFIG_URLACL_KEY):
            return None
        prefix = pcwstr(key.pUrlPrefix, 0, "pUrlPrefix")
        if not prefix:
            return None
        try:
            parse_url_prefix(prefix)
        except InvalidUrlPrefix:
            return None
        return prefix

    def _set_urlacl(self, info: object, length: int) -> int:
        if not isinstance(info, HTTP_SERVICE_CONFIG_URLACL_SET) or length < sizeof(info):
            return _INVALID
        prefix = self._urlacl_prefix(info.KeyDesc)
        param = info.ParamDesc
        if prefix is None or not isinstance(param, HTTP_SERVICE_CONFIG_URLACL_PARAM):
            return _INVALID
        sddl = pcwstr(param.pStringSecurityDescriptor, 0, "pStringSecurityDescriptor")
        if not sddl or not sddl.startswith("D:"):
            return _INVALID  # a URL ACL is a DACL-only SDDL string
        return self.backend.set(URLACL, prefix, sddl, False)

    def _query_urlacl(
        self, query: object, query_length: int, output: object, output_length: int, return_length: object
    ) -> int:
        if not isinstance(query, HTTP_SERVICE_CONFIG_URLACL_QUERY) or query_length < sizeof(query):
            return _INVALID
        kind = as_uint(query.QueryDesc, 32, "QueryDesc")
        if kind == HttpServiceConfigQueryExact:
            prefix = self._urlacl_prefix(query.KeyDesc)
            if prefix is None:
                return _INVALID
            code, rows = self.backend.records(URLACL)
            if code != _OK:
                return code
            wanted = folded_key(URLACL, prefix)
            found = [row for row in rows if folded_key(URLACL, row[0]) == wanted]
            if not found:
                return _MISSING
            record = found[0]
        elif kind == HttpServiceConfigQueryNext:
            token = as_uint(query.dwToken, 32, "dwToken")
            code, rows = self.backend.records(URLACL)
            if code != _OK:
                return code
            if token >= len(rows):
                return _NO_MORE
            record = rows[token]
        else:
            return _INVALID
        prefix, sddl = str(record[0]), str(record[1])
        needed = sizeof(HTTP_SERVICE_CONFIG_URLACL_SET) + _wide_size(prefix) + _wide_size(sddl)
        if output_length < needed:
            store_out_param(return_length, needed)
            return _SMALL
        if not isinstance(output, HTTP_SERVICE_CONFIG_URLACL_SET):
            return _INVALID
        output.KeyDesc = HTTP_SERVICE_CONFIG_URLACL_KEY(prefix)
        output.ParamDesc = HTTP_SERVICE_CONFIG_URLACL_PARAM(sddl)
        store_out_param(return_length, needed)
        return _OK

    @staticmethod
    def _listen_address(info: object, length: int) -> SOCKADDR_IN | SOCKADDR_IN6 | None:
        if not isinstance(info, HTTP_SERVICE_CONFIG_IP_LISTEN_PARAM) or length < sizeof(info):
            return None
        address = info.pAddress
        if not isinstance(address, SOCKADDR_IN | SOCKADDR_IN6):
            return None
        given = as_uint(info.AddrLength, 16, "AddrLength")
        if given and given != sizeof(address):
            return None
        return address

    def _query_listen(self, output: object, output_length: int, return_length: object) -> int:
        code, rows = self.backend.records(IPLISTEN)
        if code != _OK:
            return code
        try:
            addresses = [_sockaddr(key) for key, _ in rows]
        except InvalidRecord:
            return _BADDB
        offset = offsetof(HTTP_SERVICE_CONFIG_IP_LISTEN_QUERY, "AddrList")
        needed = max(
            sizeof(HTTP_SERVICE_CONFIG_IP_LISTEN_QUERY), offset + _SOCKADDR_STORAGE_SIZE * len(addresses)
        )
        if output_length < needed:
            store_out_param(return_length, needed)
            return _SMALL
        if not isinstance(output, HTTP_SERVICE_CONFIG_IP_LISTEN_QUERY):
            return _INVALID
        output.AddrCount = len(addresses)
        output.AddrList = addresses
        store_out_param(return_length, needed)
        return _OK


_STORE: Final = ServiceConfigStore()


def service_config_store() -> ServiceConfigStore:
    """The process's configuration store."""
    return _STORE
