"""Log files on real sockets (spec §3.5, §6 M 143-144, reliability §2.4): what reaches the disk, parsed back.

The driver gets a `LogManager` directly (the lead wires it into Driver.__init__). W3C files are parsed with the
`#Fields` directive driving the parser and compared with the requests that were made.
"""

from __future__ import annotations

import calendar
import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import RawClient, Server, Waiter, make_server

from httpsys._core import logformat as lf
from httpsys._core.records import CachePolicy, MemoryChunk
from httpsys._core.response import ResponseSpec
from httpsys._core.response_cache import ResponseCache
from httpsys._core.status import Win32Error
from httpsys._core.timers import TimerKind
from httpsys._engine.logs import LogManager
from httpsys._transport.embedded import EmbeddedTransport

# daemon mode: it installs a LogManager into the in-process driver or tests one alone (tests/conftest.py)
pytestmark = pytest.mark.embedded_only("inside")

OK = int(Win32Error.NO_ERROR)
PROP_LOGGING = 1
ALL_W3C = sum(bit for bit, _ in lf.W3C_FIELD_ORDER)


# ------------------------------------------------------------------------------------------------ helpers
def logging_info(directory: Path, **overrides: Any) -> dict[str, Any]:
    info: dict[str, Any] = {
        "present": True,
        "format": lf.LOGGING_TYPE_W3C,
        "directory": str(directory),
        "fields": ALL_W3C,
        "rollover_type": lf.ROLLOVER_DAILY,
        "rollover_size": 0,
        "flags": lf.FLAG_USE_UTF8_CONVERSION,
        "software_name": "httpsys tests",
    }
    info.update(overrides)
    return info


def install(
    transport: EmbeddedTransport, logs: LogManager | None, cache: ResponseCache | None = None
) -> None:
    def run() -> None:
        transport.driver.logs = logs
        if cache is not None:
            transport.driver.response_cache = cache

    transport._call(run)


def respond(
    server: Server,
    request_id: int,
    body: bytes,
    *,
    status: int = 200,
    log_data: dict[str, Any] | None = None,
    cache_policy: CachePolicy | None = None,
) -> None:
    spec = ResponseSpec(status=status, reason=b"OK" if status == 200 else b"Not Found", known={}, unknown=[])
    waiter = Waiter()
    server.transport.send_response(
        server.queue, request_id, 0, spec, [MemoryChunk(body)], cache_policy, log_data, waiter
    )
    code, _n = waiter.wait()
    assert code == OK


def parse_w3c(directory: Path) -> tuple[list[dict[str, str]], dict[str, list[str]]]:
    """Every W3C line under `directory` as a dict keyed by its `#Fields` names; also the directives per file."""
    rows: list[dict[str, str]] = []
    directives: dict[str, list[str]] = {}
    for path in sorted(directory.iterdir()):
        names: list[str] | None = None
        for raw in path.read_bytes().split(b"\r\n"):
            if not raw:
                continue
            line = raw.decode("utf-8")
            if line.startswith("#"):
                directives.setdefault(path.name, []).append(line)
                if line.startswith("#Fields: "):
                    names = line[len("#Fields: ") :].split(" ")
                continue
            assert names is not None, f"{path.name}: data line before #Fields"
            values = line.split(" ")
            assert len(values) == len(names), line
            rows.append(dict(zip(names, values, strict=True)))
    return rows, directives


@pytest.fixture
def logged(tmp_path: Path) -> Iterator[tuple[Server, LogManager, Path]]:
    transport, server = make_server()
    logs = LogManager(None)
    install(transport, logs)
    directory = tmp_path / "w3c"
    directory.mkdir()
    try:
        yield server, logs, directory
    finally:
        transport.close()
        logs.close()


def get(port: int, path: str, extra: str = "") -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: log test/1.0\r\n{extra}\r\n".encode()
    )


def one_request(server: Server, path: str, **respond_args: Any) -> None:
    client = RawClient(server.port)
    client.send(get(server.port, path))
    request = server.receive()
    respond(server, request.request_id, b"body", **respond_args)
    client.recv_response()
    client.close()


# ------------------------------------------------------------------------------------ 10,000 requests
def test_ten_thousand_requests_then_clean_shutdown_every_line_present(tmp_path: Path) -> None:
    total, connections, batch, app_threads = 10_000, 8, 25, 4
    transport, server = make_server()
    logs = LogManager(None)
    install(transport, logs)
    directory = tmp_path / "load"
    directory.mkdir()
    info = logging_info(directory, rollover_type=lf.ROLLOVER_SIZE, rollover_size=lf.MIN_ROLLOVER_SIZE)
    assert transport.set_group_property(server.group, PROP_LOGGING, info) == OK
    errors: list[BaseException] = []
    answered = [0]
    lock = threading.Lock()

    def application() -> None:
        try:
            while True:
                with lock:
                    if answered[0] >= total:
                        return
                    answered[0] += 1
                request = server.receive(timeout=30)
                n = int(request.query[3:])
                status = 404 if n % 7 == 0 else 200
                respond(
                    server,
                    request.request_id,
                    b"item %d" % n,
                    status=status,
                    log_data={"UserName": f"user{n % 5}", "ProtocolStatus": status},
                )
        except BaseException as exc:
            errors.append(exc)

    def client(first: int) -> None:
        try:
            conn = RawClient(server.port, timeout=30)
            numbers = list(range(first, total, connections))
            for start in range(0, len(numbers), batch):
                chunk = numbers[start : start + batch]
                conn.send(b"".join(get(server.port, f"/item/{n}?n={n}") for n in chunk))
                for n in chunk:
                    _status, _headers, body = conn.recv_response(timeout=30)
                    assert body == b"item %d" % n
            conn.close()
        except BaseException as exc:
            errors.append(exc)

    started = time.monotonic()
    workers = [threading.Thread(target=application) for _ in range(app_threads)]
    workers += [threading.Thread(target=client, args=(i,)) for i in range(connections)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(60)
    assert not errors, errors[:3]
    transport.close()
    logs.close()  # what Driver.close_all does once wired
    elapsed = time.monotonic() - started

    rows, directives = parse_w3c(directory)
    assert len(rows) == total
    by_number = {int(row["cs-uri-query"][2:]): row for row in rows}
    assert sorted(by_number) == list(range(total))
    for n, row in by_number.items():
        assert row["cs-method"] == "GET"
        assert row["cs-uri-stem"] == f"/item/{n}"
        assert row["sc-status"] == ("404" if n % 7 == 0 else "200")
        assert row["cs-username"] == f"user{n % 5}"
        assert row["c-ip"] == "127.0.0.1" and row["s-port"] == str(server.port)
        assert row["cs-version"] == "HTTP/1.1"
        assert row["cs(User-Agent)"] == "log+test/1.0"
        assert row["cs-host"] == f"127.0.0.1:{server.port}"
        assert int(row["sc-bytes"]) > len(b"item %d" % n) and int(row["cs-bytes"]) > 0
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", row["date"]) and re.fullmatch(
            r"\d{2}:\d{2}:\d{2}", row["time"]
        )
    # size rollover at 1 MiB: u_extend1.log, u_extend2.log, ... each within the limit, each with its directives
    names = sorted(os.listdir(directory))
    assert names[0] == "u_extend1.log" and len(names) >= 2
    assert all(re.fullmatch(r"u_extend\d+\.log", name) for name in names)
    assert all((directory / name).stat().st_size <= lf.MIN_ROLLOVER_SIZE for name in names)
    assert all(directives[name][0] == "#Software: httpsys tests" for name in names)
    assert logs.stats()["log_lines_written"] == total
    assert elapsed < 30  # the target is ~15 s on a slow machine; usually far less


# --------------------------------------------------------------------------------------- what is logged
def test_response_is_logged_only_with_log_data(logged: tuple[Server, LogManager, Path]) -> None:
    server, logs, directory = logged
    assert server.transport.set_group_property(server.group, PROP_LOGGING, logging_info(directory)) == OK
    one_request(server, "/silent")
    one_request(server, "/logged", log_data={})
    assert logs.flush()
    rows, directives = parse_w3c(directory)
    assert [row["cs-uri-stem"] for row in rows] == ["/logged"]
    (name,) = directives
    year, month, day = rows[0]["date"].split("-")
    assert name == f"u_ex{year[2:]}{month}{day}.log"  # named by the UTC date of the line
    assert directives[name][:2] == ["#Software: httpsys tests", "#Version: 1.0"]
    assert directives[name][3] == "#Fields: " + " ".join(lf.w3c_field_names(ALL_W3C))


def test_application_values_replace_the_drivers(logged: tuple[Server, LogManager, Path]) -> None:
    server, logs, directory = logged
    info = logging_info(
        directory, fields=lf.FIELD_URI_STEM | lf.FIELD_USER_NAME | lf.FIELD_SITE_NAME | lf.FIELD_CLIENT_IP
    )
    assert server.transport.set_group_property(server.group, PROP_LOGGING, info) == OK
    one_request(
        server,
        "/x",
        log_data={"UriStem": "/rewritten", "UserName": "alice", "ServiceName": "W3SVC7", "ClientIp": None},
    )
    assert logs.flush()
    rows, _ = parse_w3c(directory)
    assert rows == [
        {"s-sitename": "W3SVC7", "cs-uri-stem": "/rewritten", "cs-username": "alice", "c-ip": "-"}
    ]


def test_cached_responses_are_logged_by_the_driver(tmp_path: Path) -> None:
    transport, server = make_server()
    logs = LogManager(None)
    install(transport, logs, ResponseCache())
    try:
        info = logging_info(
            tmp_path, fields=lf.FIELD_METHOD | lf.FIELD_URI_STEM | lf.FIELD_STATUS | lf.FIELD_BYTES_SENT
        )
        assert transport.set_group_property(server.group, PROP_LOGGING, info) == OK
        one_request(server, "/cached", cache_policy=CachePolicy(1, 0))  # stored, not logged (no log data)
        client = RawClient(server.port)
        client.send(get(server.port, "/cached") * 3 + get(server.port, "/cached").replace(b"GET", b"HEAD", 1))
        for _ in range(3):
            assert client.recv_response()[2] == b"body"
        client.recv_until(b"\r\n\r\n")
        assert logs.flush()
        rows, _ = parse_w3c(tmp_path)
        assert [(r["cs-method"], r["cs-uri-stem"], r["sc-status"]) for r in rows] == [
            ("GET", "/cached", "200")
        ] * 3 + [("HEAD", "/cached", "200")]
        assert int(rows[0]["sc-bytes"]) > int(rows[3]["sc-bytes"]) > 0
        assert len(server.seen) == 1
    finally:
        transport.close()
        logs.close()


def test_errors_only_flag_skips_successes(logged: tuple[Server, LogManager, Path]) -> None:
    server, logs, directory = logged
    info = logging_info(directory, fields=lf.FIELD_URI_STEM | lf.FIELD_STATUS, flags=lf.FLAG_LOG_ERRORS_ONLY)
    assert server.transport.set_group_property(server.group, PROP_LOGGING, info) == OK
    one_request(server, "/ok", log_data={})
    one_request(server, "/missing", status=404, log_data={})
    assert logs.flush()
    rows, _ = parse_w3c(directory)
    assert rows == [{"cs-uri-stem": "/missing", "sc-status": "404"}]
    assert logs.stats()["log_lines_filtered"] == 1


def test_success_only_flag_skips_errors(logged: tuple[Server, LogManager, Path]) -> None:
    server, logs, directory = logged
    info = logging_info(directory, fields=lf.FIELD_URI_STEM, flags=lf.FLAG_LOG_SUCCESS_ONLY)
    assert server.transport.set_group_property(server.group, PROP_LOGGING, info) == OK
    one_request(server, "/ok", log_data={})
    one_request(server, "/missing", status=404, log_data={})
    assert logs.flush()
    assert parse_w3c(directory)[0] == [{"cs-uri-stem": "/ok"}]


def test_session_logging_applies_when_the_group_has_none(logged: tuple[Server, LogManager, Path]) -> None:
    server, logs, directory = logged
    info = logging_info(directory, fields=lf.FIELD_URI_STEM, flags=0)
    assert server.transport.set_session_property(server.session, PROP_LOGGING, info) == OK
    one_request(server, "/central", log_data={})
    assert logs.flush()
    rows, directives = parse_w3c(directory)
    assert rows == [{"cs-uri-stem": "/central"}]
    (name,) = directives
    assert re.fullmatch(r"ex\d{6}\.log", name)


def test_iis_and_ncsa_files(tmp_path: Path) -> None:
    transport, server = make_server()
    logs = LogManager(None)
    install(transport, logs)
    try:
        (tmp_path / "iis").mkdir()
        (tmp_path / "ncsa").mkdir()
        iis = logging_info(
            tmp_path / "iis", format=lf.LOGGING_TYPE_IIS, rollover_type=lf.ROLLOVER_MONTHLY, flags=0
        )
        assert transport.set_group_property(server.group, PROP_LOGGING, iis) == OK
        one_request(server, "/iis", log_data={"UserName": "fred"})
        assert logs.flush()
        ncsa = logging_info(
            tmp_path / "ncsa", format=lf.LOGGING_TYPE_NCSA, rollover_type=lf.ROLLOVER_HOURLY, flags=0
        )
        assert transport.set_group_property(server.group, PROP_LOGGING, ncsa) == OK
        one_request(server, "/ncsa", log_data={"UserName": "fred"})
        assert logs.flush()
        (iis_file,) = (tmp_path / "iis").iterdir()
        assert re.fullmatch(r"in\d{4}\.log", iis_file.name)
        fields = iis_file.read_bytes().decode().removesuffix(",\r\n").split(", ")
        assert len(fields) == 15
        assert (fields[0], fields[1], fields[10], fields[12], fields[13]) == (
            "127.0.0.1",
            "fred",
            "200",
            "GET",
            "/iis",
        )
        (ncsa_file,) = (tmp_path / "ncsa").iterdir()
        assert re.fullmatch(r"nc\d{8}\.log", ncsa_file.name)
        assert re.fullmatch(
            rb'127\.0\.0\.1 - fred \[\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] "GET /ncsa HTTP/1\.1" 200 \d+\r\n',
            ncsa_file.read_bytes(),
        )
    finally:
        transport.close()
        logs.close()


# ------------------------------------------------------------------------------------------ configuration
def test_missing_directory_is_refused_when_the_property_is_set(
    logged: tuple[Server, LogManager, Path],
) -> None:
    server, _logs, directory = logged
    code = server.transport.set_group_property(server.group, PROP_LOGGING, logging_info(directory / "nope"))
    assert code == int(Win32Error.ERROR_PATH_NOT_FOUND)
    (directory / "file").write_text("x")
    code = server.transport.set_group_property(server.group, PROP_LOGGING, logging_info(directory / "file"))
    assert code == int(Win32Error.ERROR_PATH_NOT_FOUND)


def test_unwritable_directory_is_refused_when_the_property_is_set(
    logged: tuple[Server, LogManager, Path],
) -> None:
    server, _logs, directory = logged
    if os.geteuid() == 0:
        target = Path("/sys/kernel")  # root writes through permission bits; sysfs refuses new files
        if not target.is_dir() or _can_create(target):
            pytest.skip("no unwritable directory available")
    else:
        target = directory / "ro"
        target.mkdir(mode=0o500)
    code = server.transport.set_group_property(server.group, PROP_LOGGING, logging_info(target))
    assert code == int(Win32Error.ERROR_ACCESS_DENIED)


def _can_create(directory: Path) -> bool:
    try:
        (directory / ".probe").touch()
    except OSError:
        return False
    (directory / ".probe").unlink()
    return True


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"flags": lf.FLAG_LOG_ERRORS_ONLY | lf.FLAG_LOG_SUCCESS_ONLY}, Win32Error.ERROR_INVALID_PARAMETER),
        ({"rollover_type": lf.ROLLOVER_SIZE, "rollover_size": 4096}, Win32Error.ERROR_INVALID_PARAMETER),
        ({"format": lf.LOGGING_TYPE_RAW}, Win32Error.ERROR_INVALID_PARAMETER),
    ],
)
def test_invalid_group_configuration_codes(
    logged: tuple[Server, LogManager, Path], overrides: dict[str, Any], code: Win32Error
) -> None:
    server, _logs, directory = logged
    assert (
        server.transport.set_group_property(server.group, PROP_LOGGING, logging_info(directory, **overrides))
        == code
    )


def test_directory_shared_with_another_owner_in_the_same_format_is_refused(
    logged: tuple[Server, LogManager, Path],
) -> None:
    server, _logs, directory = logged
    transport = server.transport
    assert transport.set_group_property(server.group, PROP_LOGGING, logging_info(directory)) == OK
    assert transport.set_group_property(server.group, PROP_LOGGING, logging_info(directory, fields=1)) == OK
    code = transport.set_session_property(server.session, PROP_LOGGING, logging_info(directory))
    assert code == int(Win32Error.ERROR_ALREADY_EXISTS)  # both would write exYYMMDD.log there
    ncsa = logging_info(directory, format=lf.LOGGING_TYPE_NCSA)
    assert transport.set_group_property(server.group, PROP_LOGGING, ncsa) == OK
    assert transport.set_session_property(server.session, PROP_LOGGING, logging_info(directory)) == OK


def test_not_present_turns_logging_off(logged: tuple[Server, LogManager, Path]) -> None:
    server, logs, directory = logged
    transport = server.transport
    assert transport.set_group_property(server.group, PROP_LOGGING, logging_info(directory)) == OK
    assert transport.set_group_property(server.group, PROP_LOGGING, {"present": False}) == OK
    one_request(server, "/off", log_data={})
    assert logs.flush()
    assert list(directory.iterdir()) == []  # files are created lazily, on the first line


def test_directory_removed_after_configuration_does_not_crash(
    logged: tuple[Server, LogManager, Path],
) -> None:
    server, logs, directory = logged
    target = directory / "gone"
    target.mkdir()
    assert server.transport.set_group_property(server.group, PROP_LOGGING, logging_info(target)) == OK
    target.rmdir()
    one_request(server, "/lost", log_data={})
    assert logs.flush()
    assert logs.stats()["log_write_errors"] == 1
    one_request(server, "/still-serving")  # the driver is unaffected


# ------------------------------------------------------------------------------------------------ HTTPERR
def parse_httperr(directory: Path) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    (path,) = directory.iterdir()
    assert path.name == "httperr1.log"
    names: list[str] = []
    for line in path.read_bytes().decode().split("\r\n"):
        if line.startswith("#Fields: "):
            names = line[9:].split(" ")
        elif line and not line.startswith("#"):
            rows.append(dict(zip(names, line.split(" "), strict=True)))
    return rows


def test_httperr_lines_for_a_canned_400_and_a_timer_expiry(tmp_path: Path) -> None:
    transport, server = make_server()
    logs = LogManager(str(tmp_path / "httperr"))
    install(transport, logs)
    try:
        bad = RawClient(server.port)
        bad.send(b"GET /a%00b HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert bad.recv_all().startswith(b"HTTP/1.1 400 Bad Request\r\n")
        slow = RawClient(server.port)
        slow.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # the head never ends
        driver = transport.driver
        deadline = time.monotonic() + 5
        while not transport._call(
            lambda: any(c._timer_kind is TimerKind.HEADER_WAIT for c in driver.connections.values())
        ):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        real_clock = driver.clock

        def expire() -> None:
            driver.clock = lambda: real_clock() + 1000.0
            driver.check_timers()

        transport._call(expire)
        assert slow.closed_by_peer(5) in ("reset", "eof")
        assert logs.flush()
        rows = parse_httperr(tmp_path / "httperr")
        assert rows[0] == {
            "date": rows[0]["date"],
            "time": rows[0]["time"],
            "c-ip": "127.0.0.1",
            "c-port": str(bad.sock.getsockname()[1]),
            "s-ip": "127.0.0.1",
            "s-port": str(server.port),
            "cs-version": "HTTP/1.1",
            "cs-method": "GET",
            "cs-uri": "/a%00b",
            "sc-status": "400",
            "s-siteid": "-",
            "s-reason": "URL",
            "s-queuename": "-",
        }
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", rows[0]["date"]) and re.fullmatch(
            r"\d{2}:\d{2}:\d{2}", rows[0]["time"]
        )
        timer = rows[1]
        assert timer["c-port"] == str(slow.sock.getsockname()[1])
        assert [timer[k] for k in ("cs-version", "cs-method", "cs-uri", "sc-status", "s-siteid")] == ["-"] * 5
        assert timer["s-reason"] == "Timer_HeaderWait"
        assert len(rows) == 2
    finally:
        transport.close()
        logs.close()


def test_bad_error_log_directory_is_an_error_at_startup(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="HTTPERR log directory"):
        LogManager(str(tmp_path / "file" / "sub"))


def test_log_data_is_captured_when_the_response_is_sent(logged: tuple[Server, LogManager, Path]) -> None:
    server, logs, directory = logged
    info = logging_info(directory, fields=lf.FIELD_USER_NAME)
    assert server.transport.set_group_property(server.group, PROP_LOGGING, info) == OK
    app_data: dict[str, Any] = {"UserName": "first"}
    one_request(server, "/a", log_data=app_data)
    app_data["UserName"] = "second"  # the application reuses its mapping
    one_request(server, "/b", log_data=app_data)
    assert logs.flush()
    assert parse_w3c(directory)[0] == [{"cs-username": "first"}, {"cs-username": "second"}]


# ------------------------------------------------------------------------- the LogManager, without sockets
def fields_at(when: float, path: str = "/x", status: int = 200) -> dict[str, Any]:
    return {
        "time": when,
        "client": ("10.0.0.2", 5000),
        "server": ("10.0.0.1", 80),
        "method": b"GET",
        "uri_stem": path,
        "uri_query": "",
        "status": status,
        "win32_status": 0,
        "bytes_sent": 100,
        "bytes_received": 50,
        "time_taken_ms": 1,
        "version": (1, 1),
        "log_data": {},
    }


GROUP = ("group", 1)
SESSION = ("session", 2)
T0 = float(calendar.timegm((2026, 11, 28, 22, 30, 0)))  # Saturday 22:30 UTC


@pytest.mark.parametrize(
    ("rollover", "names"),
    [
        (lf.ROLLOVER_HOURLY, ["ex26112822.log", "ex26112823.log", "ex26112900.log", "ex26113000.log"]),
        (lf.ROLLOVER_DAILY, ["ex261128.log", "ex261129.log", "ex261130.log"]),
        (lf.ROLLOVER_WEEKLY, ["ex261104.log", "ex261105.log"]),
        (lf.ROLLOVER_MONTHLY, ["ex2611.log"]),
    ],
)
def test_time_rollover_file_names(tmp_path: Path, rollover: int, names: list[str]) -> None:
    logs = LogManager(None)
    assert (
        logs.configure(GROUP, logging_info(tmp_path, rollover_type=rollover, flags=0, fields=lf.FIELD_TIME))
        == OK
    )
    for offset in (0, 3600, 7200, 86400 + 7200):  # 22:30 Sat, 23:30 Sat, 00:30 Sun, 00:30 Mon
        logs.response([GROUP], fields_at(T0 + offset))
    logs.close()
    assert sorted(os.listdir(tmp_path)) == names
    rows, _ = parse_w3c(tmp_path)
    assert [row["time"] for row in rows] == ["22:30:00", "23:30:00", "00:30:00", "00:30:00"]


def test_local_time_rollover_uses_the_local_clock_for_names_not_for_w3c_times(tmp_path: Path) -> None:
    logs = LogManager(None, local_offset=lambda _when: 2 * 3600)  # UTC+2: 22:30 UTC is 00:30 Sunday
    info = logging_info(tmp_path, flags=lf.FLAG_LOCAL_TIME_ROLLOVER, fields=lf.FIELD_DATE | lf.FIELD_TIME)
    assert logs.configure(GROUP, info) == OK
    logs.response([GROUP], fields_at(T0))
    logs.close()
    assert os.listdir(tmp_path) == ["ex261129.log"]
    assert parse_w3c(tmp_path)[0] == [{"date": "2026-11-28", "time": "22:30:00"}]


def test_size_rollover_resumes_the_highest_sequence_with_room(tmp_path: Path) -> None:
    (tmp_path / "extend1.log").write_bytes(b"x" * 10)
    (tmp_path / "extend3.log").write_bytes(b"#old\r\n")
    (tmp_path / "extend12.txt").write_bytes(b"not a log")
    logs = LogManager(None)
    info = logging_info(
        tmp_path, rollover_type=lf.ROLLOVER_SIZE, rollover_size=lf.HTTP_LIMIT_INFINITE, flags=0
    )
    assert logs.configure(GROUP, info) == OK
    logs.response([GROUP], fields_at(T0))
    logs.close()
    assert (tmp_path / "extend3.log").read_bytes().startswith(b"#old\r\n#Software: httpsys tests\r\n")
    assert (tmp_path / "extend1.log").read_bytes() == b"x" * 10


def test_size_rollover_starts_the_next_file_when_full(tmp_path: Path) -> None:
    (tmp_path / "extend2.log").write_bytes(b"#" * (lf.MIN_ROLLOVER_SIZE - 10))
    logs = LogManager(None)
    info = logging_info(tmp_path, rollover_type=lf.ROLLOVER_SIZE, rollover_size=lf.MIN_ROLLOVER_SIZE, flags=0)
    assert logs.configure(GROUP, info) == OK
    logs.response([GROUP], fields_at(T0))
    logs.close()
    assert sorted(os.listdir(tmp_path)) == ["extend2.log", "extend3.log"]
    assert len(parse_w3c(tmp_path)[0]) == 1


def test_changed_fields_write_a_new_directive_block(tmp_path: Path) -> None:
    logs = LogManager(None)
    assert logs.configure(GROUP, logging_info(tmp_path, flags=0, fields=lf.FIELD_URI_STEM)) == OK
    logs.response([GROUP], fields_at(T0, "/one"))
    assert (
        logs.configure(GROUP, logging_info(tmp_path, flags=0, fields=lf.FIELD_URI_STEM | lf.FIELD_STATUS))
        == OK
    )
    logs.response([GROUP], fields_at(T0, "/two"))
    logs.close()
    rows, directives = parse_w3c(tmp_path)
    assert rows == [{"cs-uri-stem": "/one"}, {"cs-uri-stem": "/two", "sc-status": "200"}]
    assert [d for d in directives["ex261128.log"] if d.startswith("#Fields")] == [
        "#Fields: cs-uri-stem",
        "#Fields: cs-uri-stem sc-status",
    ]


def test_group_configuration_wins_over_the_session(tmp_path: Path) -> None:
    (tmp_path / "g").mkdir()
    (tmp_path / "s").mkdir()
    logs = LogManager(None)
    assert logs.configure(SESSION, logging_info(tmp_path / "s", flags=0)) == OK
    logs.response([GROUP, SESSION], fields_at(T0, "/central"))
    assert logs.configure(GROUP, logging_info(tmp_path / "g", flags=0)) == OK
    logs.response([GROUP, SESSION], fields_at(T0, "/site"))
    logs.close()
    assert [r["cs-uri-stem"] for r in parse_w3c(tmp_path / "s")[0]] == ["/central"]
    assert [r["cs-uri-stem"] for r in parse_w3c(tmp_path / "g")[0]] == ["/site"]


def test_w3c_without_fields_creates_no_file(tmp_path: Path) -> None:
    logs = LogManager(None)
    assert logs.configure(GROUP, logging_info(tmp_path, fields=0)) == OK
    assert not logs.configured(GROUP)
    logs.response([GROUP], fields_at(T0))
    logs.close()
    assert list(tmp_path.iterdir()) == []


def test_lines_after_close_and_beyond_the_backlog_are_dropped_and_counted(tmp_path: Path) -> None:
    logs = LogManager(None, max_backlog=0)
    assert logs.configure(GROUP, logging_info(tmp_path, flags=0)) == OK
    logs.response([GROUP], fields_at(T0))  # starts the writer
    logs.response([GROUP], fields_at(T0))  # backlog 0: dropped unless the writer already took the first
    logs.close()
    logs.response([GROUP], fields_at(T0))
    stats = logs.stats()
    assert stats["log_lines_written"] + stats["log_lines_dropped"] == 3
    assert stats["log_lines_dropped"] >= 1


def test_httperr_size_rollover(tmp_path: Path) -> None:
    logs = LogManager(str(tmp_path), error_log_truncate_size=lf.MIN_ROLLOVER_SIZE)
    (tmp_path / "httperr1.log").write_bytes(b"#" * (lf.MIN_ROLLOVER_SIZE - 5))
    logs.error(
        {"time": T0, "reason": "Timer_ConnectionIdle", "client": ("1.2.3.4", 1), "server": ("5.6.7.8", 80)}
    )
    logs.close()
    assert sorted(os.listdir(tmp_path)) == ["httperr1.log", "httperr2.log"]
    assert (
        (tmp_path / "httperr2.log")
        .read_bytes()
        .endswith(b"1.2.3.4 1 5.6.7.8 80 - - - - - Timer_ConnectionIdle -\r\n")
    )
