"""HttpSet/Query/Delete/UpdateServiceConfiguration: URL reservations, timeouts, cache, listen list (§2.2, §6 D 49)."""

from __future__ import annotations

import ctypes
import uuid

import pytest

from httpsys.win32 import *

from .harness import free_port


def urlacl(prefix: str, sddl: str = "D:(A;;GX;;;WD)") -> HTTP_SERVICE_CONFIG_URLACL_SET:
    return HTTP_SERVICE_CONFIG_URLACL_SET(
        HTTP_SERVICE_CONFIG_URLACL_KEY(prefix), HTTP_SERVICE_CONFIG_URLACL_PARAM(sddl)
    )


def unique_prefix() -> str:
    return f"http://+:{free_port()}/{uuid.uuid4().hex[:8]}/"


def set_config(config_id: int, info: object, length: int | None = None) -> int:
    return HttpSetServiceConfiguration(
        None, config_id, info, sizeof(info) if length is None else length, None
    )


def delete_config(config_id: int, info: object) -> int:
    return HttpDeleteServiceConfiguration(None, config_id, info, sizeof(info), None)


def query_urlacl(query: HTTP_SERVICE_CONFIG_URLACL_QUERY, size: int = 4096):
    out = HTTP_SERVICE_CONFIG_URLACL_SET()
    returned = ctypes.c_ulong()
    code = HttpQueryServiceConfiguration(
        None, HttpServiceConfigUrlAclInfo, query, sizeof(query), out, size, returned, None
    )
    return code, out, returned.value


def test_url_reservation_set_query_delete(initialized: None) -> None:
    prefix = unique_prefix()
    record = urlacl(prefix)
    assert set_config(HttpServiceConfigUrlAclInfo, record) == NO_ERROR
    assert set_config(HttpServiceConfigUrlAclInfo, record) == ERROR_ALREADY_EXISTS
    query = HTTP_SERVICE_CONFIG_URLACL_QUERY(
        HttpServiceConfigQueryExact, HTTP_SERVICE_CONFIG_URLACL_KEY(prefix)
    )
    code, out, returned = query_urlacl(query)
    assert code == NO_ERROR
    assert out.KeyDesc.pUrlPrefix == prefix and out.ParamDesc.pStringSecurityDescriptor == "D:(A;;GX;;;WD)"
    assert returned == 16 + 2 * (len(prefix) + 1) + 2 * (len("D:(A;;GX;;;WD)") + 1)
    assert delete_config(HttpServiceConfigUrlAclInfo, record) == NO_ERROR
    assert delete_config(HttpServiceConfigUrlAclInfo, record) == ERROR_FILE_NOT_FOUND
    assert query_urlacl(query)[0] == ERROR_FILE_NOT_FOUND


def test_query_with_a_small_buffer_is_insufficient_buffer_with_the_size(initialized: None) -> None:
    prefix = unique_prefix()
    assert set_config(HttpServiceConfigUrlAclInfo, urlacl(prefix)) == NO_ERROR
    query = HTTP_SERVICE_CONFIG_URLACL_QUERY(
        HttpServiceConfigQueryExact, HTTP_SERVICE_CONFIG_URLACL_KEY(prefix)
    )
    code, out, needed = query_urlacl(query, 16)
    assert code == ERROR_INSUFFICIENT_BUFFER and needed > 16 and out.KeyDesc.pUrlPrefix is None
    assert query_urlacl(query, needed)[0] == NO_ERROR
    delete_config(HttpServiceConfigUrlAclInfo, urlacl(prefix))


def test_reservations_enumerate_by_token_until_no_more_items(initialized: None) -> None:
    prefixes = [unique_prefix() for _ in range(3)]
    for prefix in prefixes:
        assert set_config(HttpServiceConfigUrlAclInfo, urlacl(prefix, "D:(A;;GA;;;BU)")) == NO_ERROR
    seen = []
    token = 0
    while True:
        query = HTTP_SERVICE_CONFIG_URLACL_QUERY(HttpServiceConfigQueryNext, dwToken=token)
        code, out, _ = query_urlacl(query)
        if code == ERROR_NO_MORE_ITEMS:
            break
        assert code == NO_ERROR
        seen.append(out.KeyDesc.pUrlPrefix)
        token += 1
    assert set(prefixes) <= set(seen)
    for prefix in prefixes:
        assert delete_config(HttpServiceConfigUrlAclInfo, urlacl(prefix)) == NO_ERROR


@pytest.mark.parametrize(
    "record",
    [
        urlacl("not a prefix"),
        urlacl("http://+:80/", "no dacl"),
        HTTP_SERVICE_CONFIG_URLACL_SET(),
        HTTP_SERVICE_CONFIG_TIMEOUT_SET(IdleConnectionTimeout, 5),
    ],
)
def test_malformed_reservations_are_invalid_parameter(initialized: None, record: object) -> None:
    assert set_config(HttpServiceConfigUrlAclInfo, record) == ERROR_INVALID_PARAMETER


def test_service_handle_must_be_null_and_overlapped_null(initialized: None) -> None:
    record = urlacl(unique_prefix())
    assert (
        HttpSetServiceConfiguration(0x100, HttpServiceConfigUrlAclInfo, record, 16, None)
        == ERROR_INVALID_HANDLE
    )
    assert HttpSetServiceConfiguration(None, HttpServiceConfigUrlAclInfo, record, 16, OVERLAPPED()) == (
        ERROR_INVALID_PARAMETER
    )
    assert (
        HttpSetServiceConfiguration(None, HttpServiceConfigUrlAclInfo, record, 8, None)
        == ERROR_INVALID_PARAMETER
    )
    assert (
        HttpSetServiceConfiguration(None, HttpServiceConfigUrlAclInfo, None, 16, None)
        == ERROR_INVALID_PARAMETER
    )
    assert HttpSetServiceConfiguration(None, 99, record, 16, None) == ERROR_INVALID_PARAMETER


def test_driver_wide_timeouts_set_query_delete(initialized: None) -> None:
    record = HTTP_SERVICE_CONFIG_TIMEOUT_SET(HeaderWaitTimeout, 45)
    HttpDeleteServiceConfiguration(None, HttpServiceConfigTimeout, record, 8, None)  # a clean start
    assert set_config(HttpServiceConfigTimeout, HTTP_SERVICE_CONFIG_TIMEOUT_SET(HeaderWaitTimeout, 0)) == (
        ERROR_INVALID_PARAMETER
    )
    assert set_config(HttpServiceConfigTimeout, record) == NO_ERROR
    assert set_config(HttpServiceConfigTimeout, record) == ERROR_ALREADY_EXISTS
    key = ctypes.c_int(HeaderWaitTimeout)
    value, returned = ctypes.c_ushort(), ctypes.c_ulong()
    assert (
        HttpQueryServiceConfiguration(None, HttpServiceConfigTimeout, key, 4, value, 2, returned, None)
        == NO_ERROR
    )
    assert (value.value, returned.value) == (45, 2)
    assert HttpQueryServiceConfiguration(
        None, HttpServiceConfigTimeout, key, 4, value, 1, returned, None
    ) == (ERROR_INSUFFICIENT_BUFFER)
    assert HttpDeleteServiceConfiguration(None, HttpServiceConfigTimeout, record, 8, None) == NO_ERROR
    assert HttpQueryServiceConfiguration(
        None, HttpServiceConfigTimeout, key, 4, value, 2, returned, None
    ) == (ERROR_FILE_NOT_FOUND)


def test_cache_and_setting_records(initialized: None) -> None:
    record = HTTP_SERVICE_CONFIG_CACHE_SET(MaxCacheResponseSize, 65536)
    HttpDeleteServiceConfiguration(None, HttpServiceConfigCache, record, 8, None)
    assert set_config(HttpServiceConfigCache, record) == NO_ERROR
    value, returned = ctypes.c_uint32(), ctypes.c_ulong()
    key = MaxCacheResponseSize
    assert (
        HttpQueryServiceConfiguration(None, HttpServiceConfigCache, key, 4, value, 4, returned, None)
        == NO_ERROR
    )
    assert value.value == 65536
    assert HttpDeleteServiceConfiguration(None, HttpServiceConfigCache, record, 8, None) == NO_ERROR
    setting = HTTP_SERVICE_CONFIG_SETTING_SET(HttpTlsThrottle, 1)
    HttpDeleteServiceConfiguration(None, HttpServiceConfigSetting, setting, 8, None)
    assert set_config(HttpServiceConfigSetting, setting) == NO_ERROR
    assert HttpDeleteServiceConfiguration(None, HttpServiceConfigSetting, setting, 8, None) == NO_ERROR


def test_ip_listen_list(initialized: None) -> None:
    address = SOCKADDR_IN.from_address(("127.0.0.9", 0))
    param = HTTP_SERVICE_CONFIG_IP_LISTEN_PARAM(sizeof(address), address)
    HttpDeleteServiceConfiguration(None, HttpServiceConfigIPListenList, param, sizeof(param), None)
    assert set_config(HttpServiceConfigIPListenList, param) == NO_ERROR
    assert set_config(HttpServiceConfigIPListenList, param) == ERROR_ALREADY_EXISTS
    out, returned = HTTP_SERVICE_CONFIG_IP_LISTEN_QUERY(), ctypes.c_ulong()
    assert HttpQueryServiceConfiguration(
        None, HttpServiceConfigIPListenList, None, 0, out, 4, returned, None
    ) == (ERROR_INSUFFICIENT_BUFFER)
    size = returned.value
    assert HttpQueryServiceConfiguration(
        None, HttpServiceConfigIPListenList, None, 0, out, size, returned, None
    ) == (NO_ERROR)
    assert address in out.AddrList and out.AddrCount == len(out.AddrList)
    assert delete_config(HttpServiceConfigIPListenList, param) == NO_ERROR
    assert delete_config(HttpServiceConfigIPListenList, param) == ERROR_FILE_NOT_FOUND


def test_extended_ssl_records_are_not_supported_and_update_only_takes_ssl_ids(initialized: None) -> None:
    # the SSL records themselves are served (tests/tls/test_win32_ssl_config.py); the ...Ex ones are not
    record = HTTP_SERVICE_CONFIG_SSL_SET_EX()
    assert set_config(HttpServiceConfigSslCertInfoEx, record) == ERROR_NOT_SUPPORTED
    assert HttpUpdateServiceConfiguration(
        None, HttpServiceConfigSslCertInfoEx, record, sizeof(record), None
    ) == (ERROR_NOT_SUPPORTED)
    assert HttpUpdateServiceConfiguration(None, HttpServiceConfigUrlAclInfo, record, 16, None) == (
        ERROR_INVALID_PARAMETER
    )
