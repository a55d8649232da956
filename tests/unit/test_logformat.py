"""Log line formats, file names and HTTP_LOGGING_INFO checks (spec §3.5, §6 M 143-144, reliability §2.4)."""

from __future__ import annotations

import calendar
from typing import Any

import pytest

from httpsys._core import logformat as lf
from httpsys._core.status import Win32Error

# 2026-11-25 01:02:03 UTC, a Wednesday
WHEN = float(calendar.timegm((2026, 11, 25, 1, 2, 3)))
ALL_W3C = sum(bit for bit, _ in lf.W3C_FIELD_ORDER)


def driver_fields(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "time": WHEN,
        "client": ("10.0.0.2", 50123),
        "server": ("10.0.0.1", 8080),
        "method": b"GET",
        "uri_stem": "/hello",
        "uri_query": "a=1&b=2",
        "status": 200,
        "win32_status": 0,
        "bytes_sent": 150,
        "bytes_received": 80,
        "time_taken_ms": 7,
        "version": (1, 1),
        "host": b"example.com:8080",
        "user_agent": b"curl/8.0 (x86_64 linux)",
        "cookie": None,
        "referer": None,
        "cached": False,
        "log_data": None,
    }
    fields.update(overrides)
    return fields


def record(**overrides: Any) -> lf.LogRecord:
    return lf.record_from_fields(driver_fields(**overrides), computer_name="WEB1")


# -------------------------------------------------------------------------------------------------- W3C
def test_w3c_field_order_is_the_iis_order() -> None:
    assert lf.w3c_field_names(ALL_W3C) == (
        "date", "time", "s-sitename", "s-computername", "s-ip", "cs-method", "cs-uri-stem", "cs-uri-query",
        "s-port", "cs-username", "c-ip", "cs-version", "cs(User-Agent)", "cs(Cookie)", "cs(Referer)",
        "cs-host", "sc-status", "sc-substatus", "sc-win32-status", "sc-bytes", "cs-bytes", "time-taken",
    )  # fmt: skip


def test_w3c_mask_selects_fields_in_w3c_order_whatever_the_bit_order() -> None:
    mask = lf.FIELD_TIME_TAKEN | lf.FIELD_DATE | lf.FIELD_STATUS | lf.FIELD_CLIENT_IP
    assert lf.w3c_field_names(mask) == ("date", "c-ip", "sc-status", "time-taken")


def test_error_log_only_and_newer_bits_are_ignored_in_a_w3c_mask() -> None:
    mask = lf.FIELD_STATUS | 0x400000 | 0x800000 | 0x2000000 | 0x8000000
    assert lf.w3c_field_names(mask) == ("sc-status",)
    assert lf.format_w3c(record(), mask) == b"200\r\n"


def test_w3c_directives() -> None:
    block = lf.w3c_directives("My Server 1.0", lf.FIELD_DATE | lf.FIELD_STATUS, WHEN)
    assert block == (
        b"#Software: My Server 1.0\r\n#Version: 1.0\r\n#Date: 2026-11-25 01:02:03\r\n#Fields: date sc-status\r\n"
    )


def test_w3c_full_line() -> None:
    line = lf.format_w3c(record(), ALL_W3C)
    assert line == (
        b"2026-11-25 01:02:03 - WEB1 10.0.0.1 GET /hello a=1&b=2 8080 - 10.0.0.2 HTTP/1.1 "
        b"curl/8.0+(x86_64+linux) - - example.com:8080 200 0 0 150 80 7\r\n"
    )


def test_w3c_values_escape_spaces_and_controls_and_empty_is_dash() -> None:
    line = lf.format_w3c(record(uri_stem="/a b\tc\x01", uri_query=""), lf.FIELD_URI_STEM | lf.FIELD_URI_QUERY)
    assert line == b"/a+b+c+ -\r\n"


def test_w3c_date_and_time_are_utc() -> None:
    # the local offset never reaches a W3C line: format_w3c takes none
    line = lf.format_w3c(record(time=WHEN + 23 * 3600), lf.FIELD_DATE | lf.FIELD_TIME)
    assert line == b"2026-11-26 00:02:03\r\n"


def test_utf8_conversion_flag_chooses_the_encoding_of_text_fields() -> None:
    rec = record(uri_stem="/café/日本")
    assert lf.format_w3c(rec, lf.FIELD_URI_STEM, "utf-8") == "/café/日本".encode() + b"\r\n"
    assert lf.format_w3c(rec, lf.FIELD_URI_STEM, "cp1252") == b"/caf\xe9/??\r\n"


def test_bytes_values_are_written_as_they_are() -> None:
    rec = record(user_agent=b"agent\xff")
    assert lf.format_w3c(rec, lf.FIELD_USER_AGENT, "utf-8") == b"agent\xff\r\n"


def test_version_with_a_two_digit_part_is_unknown() -> None:
    assert lf.format_w3c(record(version=(1, 10)), lf.FIELD_VERSION) == b"HTTP/?.?\r\n"
    assert lf.format_w3c(record(version=None), lf.FIELD_VERSION) == b"-\r\n"


# ------------------------------------------------------------------------------------- application log data
def test_application_log_data_overrides_driver_values() -> None:
    app = {
        "UserName": "bob",
        "ServiceName": "W3SVC1",
        "ProtocolStatus": 404,
        "SubStatus": 2,
        "Win32Status": 2,
    }
    rec = record(log_data=app)
    assert (rec.user_name, rec.site_name, rec.status, rec.substatus, rec.win32_status) == (
        "bob",
        "W3SVC1",
        404,
        2,
        2,
    )
    assert rec.client_ip == "10.0.0.2"  # not in the mapping: the driver's value


def test_null_application_field_is_not_logged() -> None:
    rec = record(log_data={"ClientIp": None, "UriStem": None, "UserAgent": b""})
    line = lf.format_w3c(rec, lf.FIELD_CLIENT_IP | lf.FIELD_URI_STEM | lf.FIELD_USER_AGENT)
    assert line == b"- - -\r\n"


def test_full_struct_conversion_gives_the_application_every_text_field() -> None:
    struct = {key: None for key, _ in lf.APP_LOG_FIELDS}
    struct.update({"ServerPort": 0, "ProtocolStatus": 200, "Win32Status": 0, "SubStatus": 0, "MethodNum": 4})
    rec = record(log_data=struct)
    line = lf.format_w3c(rec, lf.FIELD_METHOD | lf.FIELD_URI_STEM | lf.FIELD_CLIENT_IP | lf.FIELD_STATUS)
    assert line == b"GET - - 200\r\n"  # MethodNum 4 = HttpVerbGET names the verb


def test_server_port_left_zero_keeps_the_connection_port() -> None:
    struct = {key: None for key, _ in lf.APP_LOG_FIELDS}
    struct.update({"ServerPort": 0, "ProtocolStatus": 200, "Win32Status": 0, "SubStatus": 0, "MethodNum": 4})
    assert lf.format_w3c(record(log_data=struct), lf.FIELD_SERVER_PORT) == b"8080\r\n"
    assert lf.format_w3c(record(log_data={"ServerPort": 8443}), lf.FIELD_SERVER_PORT) == b"8443\r\n"


def test_method_num_only_when_method_is_missing() -> None:
    assert record(log_data={"Method": "PUT", "MethodNum": 4}).method == "PUT"
    assert record(log_data={"Method": None, "MethodNum": 6}).method == b"POST"
    assert record(log_data={"Method": None, "MethodNum": 99}).method is None


def test_non_mapping_log_data_is_ignored() -> None:
    assert record(log_data=object()).status == 200


def test_driver_only_fields_cannot_be_overridden() -> None:
    rec = record(log_data={"BytesSent": 1, "TimeTaken": 1})
    assert (rec.bytes_sent, rec.time_taken_ms) == (150, 7)


def test_bad_numeric_application_values_are_not_logged() -> None:
    assert lf.format_w3c(record(log_data={"ServerPort": "80"}), lf.FIELD_SERVER_PORT) == b"-\r\n"


# ---------------------------------------------------------------------------------------------- IIS, NCSA
def test_iis_line_is_local_time_comma_separated_with_trailing_comma() -> None:
    rec = record(log_data={"ServiceName": "W3SVC2", "UserName": "fred"})
    assert lf.format_iis(rec, -8 * 3600) == (
        b"10.0.0.2, fred, 11/24/26, 17:02:03, W3SVC2, WEB1, 10.0.0.1, 7, 80, 150, 200, 0, GET, /hello, a=1&b=2,\r\n"
    )


def test_iis_line_hour_is_not_zero_padded_and_missing_query_is_dash() -> None:
    rec = record(uri_query="", time=WHEN + 6 * 3600)
    assert b", 7:02:03, " in lf.format_iis(rec, 0)
    assert lf.format_iis(rec, 0).endswith(b", /hello, -,\r\n")


def test_ncsa_common_line() -> None:
    assert lf.format_ncsa(record(), -7 * 3600) == (
        b'10.0.0.2 - - [24/Nov/2026:18:02:03 -0700] "GET /hello?a=1&b=2 HTTP/1.1" 200 150\r\n'
    )


def test_ncsa_line_with_user_positive_offset_and_quote_in_path() -> None:
    rec = record(uri_stem='/a"b', uri_query="", log_data={"UserName": "REDMOND\\fred"})
    assert lf.format_ncsa(rec, 5 * 3600 + 30 * 60) == (
        b'10.0.0.2 - REDMOND\\fred [25/Nov/2026:06:32:03 +0530] "GET /a+b HTTP/1.1" 200 150\r\n'
    )


def test_format_response_dispatches_on_the_format() -> None:
    base = dict(
        directory="/x", fields=lf.FIELD_STATUS, rollover_type=1, rollover_size=0, flags=0, software_name="s"
    )
    assert lf.format_response(lf.LoggingConfig(log_format=0, **base), record(), 0) == b"200\r\n"
    assert lf.format_response(lf.LoggingConfig(log_format=1, **base), record(), 0).startswith(b"10.0.0.2, ")
    assert lf.format_response(lf.LoggingConfig(log_format=2, **base), record(), 0).startswith(
        b"10.0.0.2 - - ["
    )


# ------------------------------------------------------------------------------------------------ HTTPERR
def error_fields(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "time": WHEN,
        "reason": "Hostname",
        "client": ("10.0.0.2", 50123),
        "server": ("10.0.0.1", 80),
        "status": 400,
        "method": b"GET",
        "url": b"/ThisIsMyUrl.htm",
        "version": (1, 1),
        "queue": None,
    }
    fields.update(overrides)
    return fields


def test_httperr_line_field_order() -> None:
    assert lf.format_httperr(error_fields()) == (
        b"2026-11-25 01:02:03 10.0.0.2 50123 10.0.0.1 80 HTTP/1.1 GET /ThisIsMyUrl.htm 400 - Hostname -\r\n"
    )


def test_httperr_timer_line_has_dashes_for_every_http_field() -> None:
    line = lf.format_httperr(
        error_fields(reason="Timer_MinBytesPerSecond", status=0, method=None, url=None, version=None)
    )
    assert line == b"2026-11-25 01:02:03 10.0.0.2 50123 10.0.0.1 80 - - - - - Timer_MinBytesPerSecond -\r\n"


def test_httperr_unknown_version_truncation_escaping_and_queue_name() -> None:
    line = lf.format_httperr(
        error_fields(
            version=(2, 10),
            method=b"V" * 300,
            url=b"/a b" + b"x" * 5000,
            reason="Version_N/S",
            status=505,
            queue_name="DefaultAppPool",
        )
    )
    fields = line.rstrip(b"\r\n").split(b" ")
    assert len(fields) == 13
    assert fields[6] == b"HTTP/?.?"
    assert fields[7] == b"V" * 255
    assert len(fields[8]) == 4096 and fields[8].startswith(b"/a+b")
    assert fields[9:] == [b"505", b"-", b"Version_N/S", b"DefaultAppPool"]


def test_httperr_prefers_the_cooked_url() -> None:
    line = lf.format_httperr(error_fields(cooked_url="/caf\u00e9?q=1", url=b"/caf%C3%A9?q=1"))
    assert b" /caf\xc3\xa9?q=1 " in line


def test_httperr_directives() -> None:
    assert lf.httperr_directives(WHEN) == (
        b"#Software: Microsoft HTTP API 2.0\r\n#Version: 1.0\r\n#Date: 2026-11-25 01:02:03\r\n"
        b"#Fields: date time c-ip c-port s-ip s-port cs-version cs-method cs-uri sc-status s-siteid s-reason "
        b"s-queuename\r\n"
    )
    assert lf.httperr_file_name(3) == "httperr3.log"


# -------------------------------------------------------------------------------------------- file names
@pytest.mark.parametrize(
    ("log_format", "rollover", "expected"),
    [
        (0, lf.ROLLOVER_SIZE, "extend7.log"),
        (0, lf.ROLLOVER_HOURLY, "ex26112501.log"),
        (0, lf.ROLLOVER_DAILY, "ex261125.log"),
        (0, lf.ROLLOVER_WEEKLY, "ex261104.log"),
        (0, lf.ROLLOVER_MONTHLY, "ex2611.log"),
        (1, lf.ROLLOVER_SIZE, "inetsv7.log"),
        (1, lf.ROLLOVER_HOURLY, "in26112501.log"),
        (1, lf.ROLLOVER_DAILY, "in261125.log"),
        (1, lf.ROLLOVER_WEEKLY, "in261104.log"),
        (1, lf.ROLLOVER_MONTHLY, "in2611.log"),
        (2, lf.ROLLOVER_SIZE, "ncsa7.log"),
        (2, lf.ROLLOVER_HOURLY, "nc26112501.log"),
        (2, lf.ROLLOVER_DAILY, "nc261125.log"),
        (2, lf.ROLLOVER_WEEKLY, "nc261104.log"),
        (2, lf.ROLLOVER_MONTHLY, "nc2611.log"),
    ],
)
def test_file_names_by_format_and_rollover(log_format: int, rollover: int, expected: str) -> None:
    assert lf.log_file_name(log_format, rollover, WHEN, sequence=7) == expected


def test_utf8_conversion_prefixes_u() -> None:
    assert lf.log_file_name(0, lf.ROLLOVER_DAILY, WHEN, utf8=True) == "u_ex261125.log"
    assert lf.log_file_name(0, lf.ROLLOVER_SIZE, WHEN, utf8=True) == "u_extend1.log"


def test_local_time_rollover_names_files_by_local_time() -> None:
    # 01:02 UTC is still the 24th at UTC-5; without the flag the offset is ignored
    assert (
        lf.log_file_name(0, lf.ROLLOVER_DAILY, WHEN, tz_offset=-5 * 3600, local_time=True) == "ex261124.log"
    )
    assert lf.log_file_name(0, lf.ROLLOVER_DAILY, WHEN, tz_offset=-5 * 3600) == "ex261125.log"
    assert lf.log_file_name(0, lf.ROLLOVER_HOURLY, WHEN, tz_offset=3600, local_time=True) == "ex26112502.log"


@pytest.mark.parametrize(
    ("date", "week"),
    [
        ((2025, 3, 1), 1),  # a Saturday: week 1 is one day long
        ((2025, 3, 2), 2),  # the first Sunday opens week 2
        ((2025, 3, 8), 2),
        ((2025, 3, 9), 3),
        ((2025, 3, 31), 6),  # a month can touch six weeks
        ((2026, 11, 1), 1),  # a Sunday 1st
        ((2026, 11, 7), 1),
        ((2026, 11, 8), 2),
        ((2026, 11, 30), 5),
    ],
)
def test_week_of_month_starts_weeks_on_sunday(date: tuple[int, int, int], week: int) -> None:
    assert lf.week_of_month(*date) == week


def test_weekly_file_changes_on_sunday_and_at_the_month_boundary() -> None:
    saturday = float(calendar.timegm((2026, 11, 28, 23, 0, 0)))
    assert lf.log_file_name(0, lf.ROLLOVER_WEEKLY, saturday) == "ex261104.log"
    assert lf.log_file_name(0, lf.ROLLOVER_WEEKLY, saturday + 3600) == "ex261105.log"
    assert lf.log_file_name(0, lf.ROLLOVER_WEEKLY, saturday + 2 * 86400 + 3600) == "ex261201.log"


def test_rollover_periods() -> None:
    assert lf.rollover_period(lf.ROLLOVER_SIZE, WHEN) == ()
    assert lf.rollover_period(lf.ROLLOVER_HOURLY, WHEN) != lf.rollover_period(lf.ROLLOVER_HOURLY, WHEN + 3600)
    assert lf.rollover_period(lf.ROLLOVER_DAILY, WHEN) == lf.rollover_period(lf.ROLLOVER_DAILY, WHEN + 3600)
    assert lf.rollover_period(lf.ROLLOVER_MONTHLY, WHEN) == (2026, 11)


# ---------------------------------------------------------------------------------------- configuration
def config(**overrides: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "present": True,
        "format": 0,
        "directory": "/var/log/httpsys",
        "fields": lf.FIELD_DATE | lf.FIELD_STATUS,
        "rollover_type": lf.ROLLOVER_DAILY,
        "rollover_size": 0,
        "flags": 0,
        "software_name": None,
    }
    value.update(overrides)
    return value


def test_valid_configuration() -> None:
    parsed = lf.parse_logging_config(
        "group", config(flags=lf.FLAG_USE_UTF8_CONVERSION | lf.FLAG_LOCAL_TIME_ROLLOVER)
    )
    assert isinstance(parsed, lf.LoggingConfig)
    assert parsed.software_name == lf.DEFAULT_SOFTWARE
    assert parsed.encoding == "utf-8" and parsed.local_time and parsed.utf8


@pytest.mark.parametrize(
    ("owner", "overrides", "code"),
    [
        (
            "group",
            {"flags": lf.FLAG_LOG_ERRORS_ONLY | lf.FLAG_LOG_SUCCESS_ONLY},
            Win32Error.ERROR_INVALID_PARAMETER,
        ),
        ("group", {"flags": 0x10}, Win32Error.ERROR_INVALID_PARAMETER),
        ("group", {"rollover_type": 0, "rollover_size": 1024 * 1024 - 1}, Win32Error.ERROR_INVALID_PARAMETER),
        ("group", {"rollover_type": 5}, Win32Error.ERROR_INVALID_PARAMETER),
        ("group", {"format": 3}, Win32Error.ERROR_INVALID_PARAMETER),
        ("group", {"format": 4}, Win32Error.ERROR_INVALID_PARAMETER),
        ("group", {"format": -1}, Win32Error.ERROR_INVALID_PARAMETER),
        ("group", {"fields": "all"}, Win32Error.ERROR_INVALID_PARAMETER),
        ("group", {"directory": "relative/logs"}, Win32Error.ERROR_INVALID_PARAMETER),
        ("group", {"directory": None}, Win32Error.ERROR_INVALID_PARAMETER),
        ("group", {"directory": "/" + "d" * 212}, Win32Error.ERROR_INVALID_PARAMETER),
        ("group", {"software_name": "s" * 131}, Win32Error.ERROR_INVALID_PARAMETER),
        ("session", {"format": 1}, Win32Error.ERROR_INVALID_PARAMETER),
        ("session", {"format": 2}, Win32Error.ERROR_INVALID_PARAMETER),
    ],
)
def test_invalid_configurations(owner: str, overrides: dict[str, Any], code: Win32Error) -> None:
    assert lf.parse_logging_config(owner, config(**overrides)) == code


@pytest.mark.parametrize("size", [1024 * 1024, lf.HTTP_LIMIT_INFINITE])
def test_size_rollover_accepts_one_mebibyte_and_infinite(size: int) -> None:
    parsed = lf.parse_logging_config("group", config(rollover_type=lf.ROLLOVER_SIZE, rollover_size=size))
    assert isinstance(parsed, lf.LoggingConfig) and parsed.rollover_size == size


def test_rollover_size_is_ignored_for_time_rollover() -> None:
    parsed = lf.parse_logging_config("group", config(rollover_type=lf.ROLLOVER_HOURLY, rollover_size=5))
    assert isinstance(parsed, lf.LoggingConfig) and parsed.rollover_size == 0


def test_longest_directory_and_software_name_are_accepted() -> None:
    parsed = lf.parse_logging_config("group", config(directory="/" + "d" * 211, software_name="s" * 130))
    assert isinstance(parsed, lf.LoggingConfig)


def test_raw_is_accepted_on_sessions_but_writes_nothing() -> None:
    parsed = lf.parse_logging_config("session", config(format=lf.LOGGING_TYPE_RAW))
    assert isinstance(parsed, lf.LoggingConfig) and parsed.writes_nothing


def test_w3c_without_fields_writes_nothing() -> None:
    parsed = lf.parse_logging_config("group", config(fields=0))
    assert isinstance(parsed, lf.LoggingConfig) and parsed.writes_nothing
    parsed = lf.parse_logging_config("group", config(format=1, fields=0))
    assert isinstance(parsed, lf.LoggingConfig) and not parsed.writes_nothing


# ------------------------------------------------------------------------------------------------ filters
@pytest.mark.parametrize(
    ("status", "win32", "error"),
    [(200, 0, False), (304, 0, False), (400, 0, True), (503, 0, True), (200, 64, True)],
)
def test_errors_only_and_success_only(status: int, win32: int, error: bool) -> None:
    rec = record(status=status, win32_status=win32)
    assert lf.is_error(rec) is error
    assert lf.passes_filter(lf.FLAG_LOG_ERRORS_ONLY, rec) is error
    assert lf.passes_filter(lf.FLAG_LOG_SUCCESS_ONLY, rec) is not error
    assert lf.passes_filter(0, rec)
