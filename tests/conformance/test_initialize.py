"""HttpInitialize / HttpTerminate and queue handles (spec §2.2, §6 A 1-4, 6)."""

from __future__ import annotations

import ctypes
import ctypes.wintypes as wintypes
from collections.abc import Iterator

import pytest

from httpsys.win32 import *

from .harness import ALL_INIT, configure_transport, create_queue


@pytest.fixture(autouse=True)
def clean_state() -> Iterator[None]:
    configure_transport()
    yield
    # Undo whatever a failing test left initialized.
    while HttpTerminate(HTTP_INITIALIZE_SERVER, None) == NO_ERROR:
        pass
    while HttpTerminate(HTTP_INITIALIZE_CONFIG, None) == NO_ERROR:
        pass


def session_call() -> int:
    return HttpCreateServerSession(HTTPAPI_VERSION_2, ctypes.c_ulonglong(), 0)


@pytest.mark.parametrize("version", [HTTPAPI_VERSION_1, HTTPAPI_VERSION_2])
@pytest.mark.parametrize("flags", [HTTP_INITIALIZE_SERVER, HTTP_INITIALIZE_CONFIG, ALL_INIT])
def test_initialize_accepts_versions_one_and_two_with_server_and_config(version: object, flags: int) -> None:
    assert HttpInitialize(version, flags, None) == NO_ERROR
    assert HttpTerminate(flags, None) == NO_ERROR


@pytest.mark.parametrize("flags", [0, 0x8, 0x100, HTTP_INITIALIZE_SERVER | 0x80, HTTP_DEMAND_CBT])
def test_initialize_with_unknown_or_missing_flags_is_invalid_parameter(flags: int) -> None:
    assert HttpInitialize(HTTPAPI_VERSION_2, flags, None) == ERROR_INVALID_PARAMETER
    assert session_call() == ERROR_DLL_INIT_FAILED


def test_demand_cbt_is_accepted_with_server() -> None:
    assert HttpInitialize(HTTPAPI_VERSION_2, HTTP_INITIALIZE_SERVER | HTTP_DEMAND_CBT, None) == NO_ERROR
    assert HttpTerminate(HTTP_INITIALIZE_SERVER | HTTP_DEMAND_CBT, None) == NO_ERROR


def test_initialize_reserved_pointer_must_be_null() -> None:
    assert HttpInitialize(HTTPAPI_VERSION_2, HTTP_INITIALIZE_SERVER, b"x") == ERROR_INVALID_PARAMETER
    assert HttpTerminate(HTTP_INITIALIZE_SERVER, object()) == ERROR_INVALID_PARAMETER


@pytest.mark.parametrize("version", [HTTPAPI_VERSION(1, 1), HTTPAPI_VERSION(3, 0), HTTPAPI_VERSION(0, 0)])
def test_initialize_with_other_api_versions_is_revision_mismatch(version: HTTPAPI_VERSION) -> None:
    assert HttpInitialize(version, HTTP_INITIALIZE_SERVER, None) == ERROR_REVISION_MISMATCH


def test_server_calls_before_initialize_are_dll_init_failed() -> None:
    handle = wintypes.HANDLE()
    assert session_call() == ERROR_DLL_INIT_FAILED
    assert HttpCreateHttpHandle(handle, 0) == ERROR_DLL_INIT_FAILED
    assert HttpCreateRequestQueue(HTTPAPI_VERSION_2, None, None, 0, handle) == ERROR_DLL_INIT_FAILED
    assert HttpCreateUrlGroup(1, ctypes.c_ulonglong(), 0) == ERROR_DLL_INIT_FAILED
    assert HttpReceiveHttpRequest(0x100, 0, 0, HTTP_REQUEST_V2(), 864, ctypes.c_ulong(), None) == (
        ERROR_DLL_INIT_FAILED
    )


def test_config_calls_need_config_initialization() -> None:
    record = HTTP_SERVICE_CONFIG_TIMEOUT_SET(IdleConnectionTimeout, 60)
    assert (
        HttpSetServiceConfiguration(None, HttpServiceConfigTimeout, record, 8, None) == ERROR_DLL_INIT_FAILED
    )
    assert HttpInitialize(HTTPAPI_VERSION_2, HTTP_INITIALIZE_SERVER, None) == NO_ERROR
    assert HttpDeleteServiceConfiguration(None, HttpServiceConfigTimeout, record, 8, None) == (
        ERROR_DLL_INIT_FAILED
    )
    assert HttpIsFeatureSupported(HttpFeatureResponseTrailers) is False
    assert HttpInitialize(HTTPAPI_VERSION_2, HTTP_INITIALIZE_CONFIG, None) == NO_ERROR
    assert HttpIsFeatureSupported(HttpFeatureResponseTrailers) is True
    assert HttpTerminate(ALL_INIT, None) == NO_ERROR


def test_config_only_initialization_does_not_enable_server_calls() -> None:
    assert HttpInitialize(HTTPAPI_VERSION_2, HTTP_INITIALIZE_CONFIG, None) == NO_ERROR
    assert session_call() == ERROR_DLL_INIT_FAILED
    assert HttpTerminate(HTTP_INITIALIZE_CONFIG, None) == NO_ERROR


def test_initialization_is_reference_counted_per_flag() -> None:
    assert HttpInitialize(HTTPAPI_VERSION_2, HTTP_INITIALIZE_SERVER, None) == NO_ERROR
    assert HttpInitialize(HTTPAPI_VERSION_2, HTTP_INITIALIZE_SERVER, None) == NO_ERROR
    assert HttpTerminate(HTTP_INITIALIZE_SERVER, None) == NO_ERROR
    assert session_call() == NO_ERROR  # one reference left
    assert HttpTerminate(HTTP_INITIALIZE_SERVER, None) == NO_ERROR
    assert session_call() == ERROR_DLL_INIT_FAILED


def test_one_terminate_with_both_flags_undoes_two_separate_initializations() -> None:
    assert HttpInitialize(HTTPAPI_VERSION_2, HTTP_INITIALIZE_SERVER, None) == NO_ERROR
    assert HttpInitialize(HTTPAPI_VERSION_2, HTTP_INITIALIZE_CONFIG, None) == NO_ERROR
    assert HttpTerminate(ALL_INIT, None) == NO_ERROR
    assert session_call() == ERROR_DLL_INIT_FAILED
    assert HttpTerminate(HTTP_INITIALIZE_CONFIG, None) == ERROR_INVALID_PARAMETER


def test_terminate_without_initialize_or_with_bad_flags_is_invalid_parameter() -> None:
    assert HttpTerminate(HTTP_INITIALIZE_SERVER, None) == ERROR_INVALID_PARAMETER
    assert HttpInitialize(HTTPAPI_VERSION_2, HTTP_INITIALIZE_SERVER, None) == NO_ERROR
    assert HttpTerminate(0, None) == ERROR_INVALID_PARAMETER
    assert HttpTerminate(0x40, None) == ERROR_INVALID_PARAMETER
    assert HttpTerminate(HTTP_INITIALIZE_SERVER, None) == NO_ERROR


def test_last_terminate_closes_the_handles_the_process_opened() -> None:
    assert HttpInitialize(HTTPAPI_VERSION_2, HTTP_INITIALIZE_SERVER, None) == NO_ERROR
    queue = create_queue()
    assert HttpShutdownRequestQueue(queue) == NO_ERROR
    assert HttpTerminate(HTTP_INITIALIZE_SERVER, None) == NO_ERROR
    assert HttpInitialize(HTTPAPI_VERSION_2, HTTP_INITIALIZE_SERVER, None) == NO_ERROR
    assert HttpShutdownRequestQueue(queue) == ERROR_INVALID_HANDLE
    assert CloseHandle(queue) is False
    assert HttpTerminate(HTTP_INITIALIZE_SERVER, None) == NO_ERROR


def test_create_http_handle_needs_an_out_holder_and_returns_distinct_handles() -> None:
    assert HttpInitialize(HTTPAPI_VERSION_1, HTTP_INITIALIZE_SERVER, None) == NO_ERROR
    assert HttpCreateHttpHandle(None, 0) == ERROR_INVALID_PARAMETER
    assert HttpCreateHttpHandle("not a holder", 0) == ERROR_INVALID_PARAMETER
    first, second = wintypes.HANDLE(), wintypes.HANDLE()
    assert HttpCreateHttpHandle(first, 0) == NO_ERROR
    assert HttpCreateHttpHandle(ctypes.byref(second), 0) == NO_ERROR
    assert first.value and second.value and first.value != second.value
    assert HttpCreateHttpHandle(wintypes.HANDLE(), 1) == ERROR_INVALID_PARAMETER
    assert CloseHandle(first.value) is True
    assert CloseHandle(second.value) is True
    assert HttpTerminate(HTTP_INITIALIZE_SERVER, None) == NO_ERROR


@pytest.mark.parametrize("bad", [None, 0, 0xBAD0, "queue", 3.5])
def test_operations_on_a_null_unknown_or_foreign_handle_are_invalid_handle(bad: object) -> None:
    assert HttpInitialize(HTTPAPI_VERSION_2, HTTP_INITIALIZE_SERVER, None) == NO_ERROR
    request = HTTP_REQUEST_V2()
    got = ctypes.c_ulong()
    assert HttpReceiveHttpRequest(bad, 0, 0, request, 4096, got, None) == ERROR_INVALID_HANDLE
    assert HttpReceiveRequestEntityBody(bad, 1, 0, bytearray(8), 8, got, None) == ERROR_INVALID_HANDLE
    assert HttpAddUrl(bad, "http://localhost:50000/", None) == ERROR_INVALID_HANDLE
    assert HttpShutdownRequestQueue(bad) == ERROR_INVALID_HANDLE
    assert HttpCloseRequestQueue(bad) == ERROR_INVALID_HANDLE
    event = CreateEvent(None, True, False, None)
    assert (
        HttpReceiveHttpRequest(event, 0, 0, request, 4096, got, None) == ERROR_INVALID_HANDLE
    )  # not a queue
    CloseHandle(event)
    assert HttpTerminate(HTTP_INITIALIZE_SERVER, None) == NO_ERROR


def test_operations_on_a_closed_handle_are_invalid_handle() -> None:
    assert HttpInitialize(HTTPAPI_VERSION_2, HTTP_INITIALIZE_SERVER, None) == NO_ERROR
    queue = create_queue()
    assert HttpCloseRequestQueue(queue) == NO_ERROR
    assert HttpCloseRequestQueue(queue) == ERROR_INVALID_HANDLE
    got = ctypes.c_ulong()
    assert HttpReceiveHttpRequest(queue, 0, 0, HTTP_REQUEST_V2(), 4096, got, None) == ERROR_INVALID_HANDLE
    v1 = wintypes.HANDLE()
    assert HttpCreateHttpHandle(v1, 0) == NO_ERROR
    assert CloseHandle(v1.value) is True
    assert HttpAddUrl(v1.value, "http://localhost:50000/", None) == ERROR_INVALID_HANDLE
    assert HttpTerminate(HTTP_INITIALIZE_SERVER, None) == NO_ERROR


def test_remove_url_with_a_null_queue_is_invalid_parameter() -> None:
    assert HttpInitialize(HTTPAPI_VERSION_1, HTTP_INITIALIZE_SERVER, None) == NO_ERROR
    assert HttpRemoveUrl(None, "http://localhost:50000/") == ERROR_INVALID_PARAMETER
    assert HttpRemoveUrl(0xBAD0, "http://localhost:50000/") == ERROR_INVALID_HANDLE
    assert HttpTerminate(HTTP_INITIALIZE_SERVER, None) == NO_ERROR


def test_queue_handles_are_ints_in_the_kernel32_handle_table() -> None:
    assert HttpInitialize(HTTPAPI_VERSION_2, HTTP_INITIALIZE_SERVER, None) == NO_ERROR
    queue = create_queue()
    assert isinstance(queue, int) and queue % 4 == 0
    port = CreateIoCompletionPort(queue, None, 7, 0)
    assert port
    assert CloseHandle(queue) is True  # CloseHandle works on v2 queues too
    assert HttpCloseRequestQueue(queue) == ERROR_INVALID_HANDLE
    assert CloseHandle(port) is True
    assert HttpTerminate(HTTP_INITIALIZE_SERVER, None) == NO_ERROR
