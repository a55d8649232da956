"""The HTTP configuration store behind HttpSet/Query/Delete/UpdateServiceConfiguration (in this process).

Responsibility: keep the configuration records the win32 face accepts — URL reservations (UrlAclInfo), driver-wide
timeouts (Timeout), cache settings (Cache), the setting records (Setting) and the IP listen list (IPListenList) —
and answer Set/Query/Delete with the documented codes: ERROR_ALREADY_EXISTS on Set of an existing record,
ERROR_FILE_NOT_FOUND for a missing one, ERROR_INSUFFICIENT_BUFFER with the needed size, enumeration by ``dwToken``
until ERROR_NO_MORE_ITEMS. SSL binding records (and HttpUpdateServiceConfiguration) go to the driver's binding
table through `ssl_config` (decision 0021); the extended (...Ex) SSL records are ERROR_NOT_SUPPORTED.

Decision 0003: the store lives in the process (it survives HttpTerminate, not the process) and the driver does
not consult it yet (reservations do not take part in routing, stored timeouts do not change the driver's). It must
not talk to the transport.
"""

from __future__ import annotations

import threading
from typing import Final

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

__all__ = ["ServiceConfigStore", "service_config_store"]

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


def _wide_size(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) + 2


def _address_key(address: SOCKADDR_IN | SOCKADDR_IN6) -> tuple[object, ...]:
    return (type(address).__name__, *address.to_address())


class ServiceConfigStore:
    """The configuration records, guarded by one lock (any thread may call)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._urlacl: dict[str, tuple[str, str]] = {}  # lower-cased prefix -> (prefix as set, SDDL)
        self._timeouts: dict[int, int] = {}
        self._cache: dict[int, int] = {}
        self._settings: dict[int, int] = {}
        self._listen: dict[tuple[object, ...], SOCKADDR_IN | SOCKADDR_IN6] = {}

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
            with self._lock:
                address_key = _address_key(address)
                if address_key in self._listen:
                    return _EXISTS
                self._listen[address_key] = address
            return _OK
        record = self._scalar_record(config_id, info, length)
        if record is None:
            return _INVALID
        key, value = record
        if config_id == HttpServiceConfigTimeout and value == 0:
            return _INVALID  # a driver-wide timeout of 0 is not allowed
        table = self._table(config_id)
        with self._lock:
            if key in table:
                return _EXISTS
            table[key] = value
        return _OK

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
            with self._lock:
                return _OK if self._urlacl.pop(prefix.lower(), None) is not None else _MISSING
        if config_id == HttpServiceConfigIPListenList:
            address = self._listen_address(info, length)
            if address is None:
                return _INVALID
            with self._lock:
                return _OK if self._listen.pop(_address_key(address), None) is not None else _MISSING
        record = self._scalar_record(config_id, info, length, key_only=True)
        if record is None:
            return _INVALID
        table = self._table(config_id)
        with self._lock:
            return _OK if table.pop(record[0], None) is not None else _MISSING

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
        with self._lock:
            value = self._table(config_id).get(key)
        if value is None:
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
    def _table(self, config_id: int) -> dict[int, int]:
        if config_id == HttpServiceConfigTimeout:
            return self._timeouts
        if config_id == HttpServiceConfigCache:
            return self._cache
        return self._settings

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
        with self._lock:
            if prefix.lower() in self._urlacl:
                return _EXISTS
            self._urlacl[prefix.lower()] = (prefix, sddl)
        return _OK

    def _query_urlacl(
        self, query: object, query_length: int, output: object, output_length: int, return_length: object
    ) -> int:
        if not isinstance(query, HTTP_SERVICE_CONFIG_URLACL_QUERY) or query_length < sizeof(query):
            return _INVALID
        kind = as_uint(query.QueryDesc, 32, "QueryDesc")
        with self._lock:
            if kind == HttpServiceConfigQueryExact:
                prefix = self._urlacl_prefix(query.KeyDesc)
                if prefix is None:
                    return _INVALID
                record = self._urlacl.get(prefix.lower())
                if record is None:
                    return _MISSING
            elif kind == HttpServiceConfigQueryNext:
                token = as_uint(query.dwToken, 32, "dwToken")
                records = list(self._urlacl.values())
                if token >= len(records):
                    return _NO_MORE
                record = records[token]
            else:
                return _INVALID
        prefix, sddl = record
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
        with self._lock:
            addresses = list(self._listen.values())
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
