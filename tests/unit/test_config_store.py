"""httpsys._config: the SQLite configuration store — records, codes, persistence, refusal of foreign files,
schema migration, validation, and a fuzz test with crashes between commit and apply."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from httpsys._config import (
    IPLISTEN,
    SSLCERT,
    TIMEOUT,
    URLACL,
    ConfigStore,
    ConfigStoreError,
    Configuration,
    InvalidRecord,
    ssl_bindings,
)
from httpsys._config.apply import settings_with
from httpsys._config.store import APPLICATION_ID, FILE_NAME, SCHEMA_VERSION
from httpsys._core.settings import DriverSettings
from httpsys._core.status import Win32Error

OK = int(Win32Error.NO_ERROR)
EXISTS = int(Win32Error.ERROR_ALREADY_EXISTS)
MISSING = int(Win32Error.ERROR_FILE_NOT_FOUND)
INVALID = int(Win32Error.ERROR_INVALID_PARAMETER)

SSL_VALUE = {"certhash": "AB" * 20, "appid": "{4dc3e181-e14b-4a21-b022-59fc669b0914}"}


def test_a_store_that_does_not_exist_reads_empty_and_creates_nothing(tmp_path: Path) -> None:
    store = ConfigStore(str(tmp_path / "none"))
    assert store.load().of(URLACL) == ()
    assert store.delete(URLACL, "http://+:80/x/") == MISSING
    assert not (tmp_path / "none").exists()


def test_records_survive_reopening_the_file(tmp_path: Path) -> None:
    store = ConfigStore(str(tmp_path))
    assert store.set(URLACL, "http://+:8080/app/", "D:(A;;GX;;;WD)") == OK
    assert store.set(IPLISTEN, "127.0.0.1", None) == OK
    assert store.set(TIMEOUT, 1, 45) == OK
    assert store.set(SSLCERT, "ipport=0.0.0.0:443", SSL_VALUE) == OK
    store.close()
    again = ConfigStore(str(tmp_path)).load()
    assert again.url_reservations == (("http://+:8080/app/", "D:(A;;GX;;;WD)"),)
    assert again.ip_listen_list == ("127.0.0.1",)
    assert again.timeout(1) == 45
    (binding,) = again.ssl_bindings()
    assert (binding.kind, binding.host, binding.port, binding.cert_hash) == (
        "ipport",
        "0.0.0.0",
        443,
        "ab" * 20,
    )
    assert binding.store_name == "MY" and binding.key == "ipport=0.0.0.0:443"


def test_the_file_is_wal_with_our_application_id_and_schema_version(tmp_path: Path) -> None:
    ConfigStore(str(tmp_path)).set(TIMEOUT, 0, 30)
    db = sqlite3.connect(tmp_path / FILE_NAME)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        db.close()


def test_set_of_an_existing_key_is_already_exists_and_update_of_a_missing_one_file_not_found(
    tmp_path: Path,
) -> None:
    store = ConfigStore(str(tmp_path))
    assert store.set(URLACL, "http://+:80/A/", "D:(A;;GX;;;WD)") == OK
    assert (
        store.set(URLACL, "http://+:80/a/", "D:(A;;GA;;;WD)") == EXISTS
    )  # prefixes compare case-insensitively
    assert store.set(SSLCERT, "ccs=443", SSL_VALUE, update=True) == MISSING
    assert store.set(URLACL, "http://+:80/a/", "D:(A;;GA;;;WD)", update=True) == OK
    assert store.load().url_reservations == (("http://+:80/a/", "D:(A;;GA;;;WD)"),)
    assert store.delete(URLACL, "http://+:80/A/") == OK
    assert store.delete(URLACL, "http://+:80/A/") == MISSING


@pytest.mark.parametrize(
    ("kind", "key", "value"),
    [
        (URLACL, "not a url", "D:(A;;GX;;;WD)"),
        (URLACL, "http://+:80/", "D:(A;;GX;;;NOBODY)"),
        (URLACL, "http://+:80/", "O:BA"),
        (IPLISTEN, "999.1.1.1", None),
        (IPLISTEN, "localhost", None),
        (SSLCERT, "ipport=1.2.3.4", SSL_VALUE),
        (SSLCERT, "ipport=1.2.3.4:443", {"certhash": "xyz"}),
        (SSLCERT, "ipport=1.2.3.4:443", {**SSL_VALUE, "appid": "not-a-guid"}),
        (SSLCERT, "ipport=1.2.3.4:443", {**SSL_VALUE, "privatekey": "----"}),
        (TIMEOUT, 0, 0),
        (TIMEOUT, 2, 10),
        (TIMEOUT, 1, 70000),
        ("registry", "x", 1),
    ],
)
def test_malformed_records_are_invalid_parameter_and_leave_the_store_unchanged(
    tmp_path: Path, kind: str, key: object, value: object
) -> None:
    store = ConfigStore(str(tmp_path))
    assert store.set(kind, key, value) == INVALID
    assert not any(store.load().records.values())


def test_a_file_that_is_not_sqlite_is_refused_with_its_name(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_bytes(b"this is not a database at all" * 10)
    with pytest.raises(ConfigStoreError) as caught:
        ConfigStore(str(tmp_path)).load()
    assert str(tmp_path / FILE_NAME) in str(caught.value) and "not an SQLite database" in str(caught.value)
    assert (tmp_path / FILE_NAME).read_bytes().startswith(b"this is not")  # never reset


def test_another_programs_sqlite_file_is_refused(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / FILE_NAME)
    db.execute("CREATE TABLE customers (name TEXT)")
    db.commit()
    db.close()
    with pytest.raises(ConfigStoreError, match="another program"):
        ConfigStore(str(tmp_path)).set(TIMEOUT, 0, 5)


def test_a_damaged_store_is_refused(tmp_path: Path) -> None:
    store = ConfigStore(str(tmp_path))
    for port in range(1000, 1200):
        store.set(URLACL, f"http://+:{port}/{'x' * 200}/", "D:(A;;GX;;;WD)")
    store.close()
    for suffix in ("-wal", "-shm"):
        with __import__("contextlib").suppress(FileNotFoundError):
            os.unlink(str(tmp_path / FILE_NAME) + suffix)
    data = bytearray((tmp_path / FILE_NAME).read_bytes())
    data[4096 : 4096 * 6] = b"\xff" * (4096 * 5)  # overwrite pages past the header
    (tmp_path / FILE_NAME).write_bytes(bytes(data))
    with pytest.raises(ConfigStoreError, match="corrupt"):
        ConfigStore(str(tmp_path)).load()


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    ConfigStore(str(tmp_path)).set(TIMEOUT, 0, 5)
    db = sqlite3.connect(tmp_path / FILE_NAME)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(ConfigStoreError, match="newer"):
        ConfigStore(str(tmp_path)).load()


def test_an_empty_file_becomes_a_store(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_bytes(b"")
    store = ConfigStore(str(tmp_path))
    assert store.set(TIMEOUT, 0, 5) == OK
    assert store.load().timeout(0) == 5


def test_listeners_see_each_committed_change_and_a_failing_listener_does_not_undo_it(tmp_path: Path) -> None:
    store = ConfigStore(str(tmp_path))
    seen: list[Configuration] = []

    def broken(configuration: Configuration) -> None:
        raise RuntimeError("apply failed")

    store.listeners += [broken, seen.append]
    assert store.set(IPLISTEN, "::1", None) == OK
    assert seen[-1].ip_listen_list == ("::1",)
    assert ConfigStore(str(tmp_path)).load().ip_listen_list == ("::1",)


def test_export_and_import_round_trip_and_bad_imports_name_the_record(tmp_path: Path) -> None:
    source = ConfigStore(str(tmp_path / "a"))
    source.set(URLACL, "http://+:80/x/", "D:(A;;GX;;;S-1-22-1-1000)")
    source.set(SSLCERT, "hostnameport=Example.COM:443", SSL_VALUE)
    source.set(TIMEOUT, 0, 9)
    text = source.load().to_json()
    target = ConfigStore(str(tmp_path / "b"))
    target.set(IPLISTEN, "10.0.0.1", None)
    target.replace_all(Configuration.from_json(text))
    assert target.load() == source.load()
    with pytest.raises(InvalidRecord, match="timeout"):
        Configuration.from_json(
            text.replace('"timeout": [\n    [\n      0,\n      9', '"timeout": [\n [0, 0')
        )
    with pytest.raises(InvalidRecord, match="not an httpsys configuration"):
        Configuration.from_json("{}")


def test_stored_listen_list_and_timeouts_fill_driver_settings_left_at_their_defaults() -> None:
    configuration = Configuration({IPLISTEN: (("127.0.0.1:80", None),), TIMEOUT: ((0, 7), (1, 8))})
    merged = settings_with(configuration, None)
    assert (merged.ip_listen_list, merged.idle_connection_timeout, merged.header_wait_timeout) == (
        ("127.0.0.1",),
        7,
        8,
    )
    chosen = settings_with(configuration, DriverSettings(ip_listen_list=("::1",), header_wait_timeout=3))
    assert (chosen.ip_listen_list, chosen.idle_connection_timeout, chosen.header_wait_timeout) == (
        ("::1",),
        7,
        3,
    )


def test_ssl_bindings_reads_the_store_of_a_directory(tmp_path: Path) -> None:
    ConfigStore(str(tmp_path)).set(SSLCERT, "ipport=[::]:8443", {**SSL_VALUE, "certstorename": "WebHosting"})
    (binding,) = ssl_bindings(str(tmp_path))
    assert (binding.host, binding.port, binding.store_name) == ("::", 8443, "WebHosting")


# ----- fuzz: random record sequences with crashes between commit and apply ------------------------------------

_prefixes = st.sampled_from([f"http://+:{p}/{s}/" for p in (80, 8080) for s in ("a", "A", "b")])
_addresses = st.sampled_from(["127.0.0.1", "::1", "10.1.2.3:80", "[fe80::1]:81"])
_ops = st.one_of(
    st.tuples(
        st.just("set"),
        st.just(URLACL),
        _prefixes,
        st.sampled_from(["D:(A;;GX;;;WD)", "D:(A;;GA;;;BU)", "bad"]),
    ),
    st.tuples(st.just("set"), st.just(IPLISTEN), _addresses, st.none()),
    st.tuples(st.just("set"), st.just(TIMEOUT), st.integers(0, 2), st.integers(0, 70000)),
    st.tuples(st.just("update"), st.just(URLACL), _prefixes, st.just("D:(A;;GW;;;WD)")),
    st.tuples(st.just("delete"), st.just(URLACL), _prefixes, st.none()),
    st.tuples(st.just("delete"), st.just(IPLISTEN), _addresses, st.none()),
    st.tuples(st.just("delete"), st.just(TIMEOUT), st.integers(0, 1), st.none()),
)


class _Crash(BaseException):
    """What a process killed after the commit and before the apply looks like to the code that called set()."""


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(st.tuples(_ops, st.booleans()), max_size=25))
def test_random_changes_with_crashes_after_commit_always_reload_as_committed(
    tmp_path_factory: pytest.TempPathFactory, ops: list[tuple[tuple[str, str, object, object], bool]]
) -> None:
    directory = str(tmp_path_factory.mktemp("fuzz"))
    model: dict[str, dict[str, tuple[object, object]]] = {URLACL: {}, IPLISTEN: {}, TIMEOUT: {}}
    store = ConfigStore(directory)
    for (action, kind, key, value), crash in ops:
        crashing = [False]

        def apply(configuration: Configuration, crashing: list[bool] = crashing) -> None:
            if crashing[0]:
                raise _Crash

        store.listeners[:] = [apply]
        crashing[0] = crash
        try:
            if action == "delete":
                code = store.delete(kind, key)
            else:
                code = store.set(kind, key, value, update=action == "update")
        except _Crash:
            code = OK  # committed, never applied; the process "died": start over from the file
            store.close()
            store = ConfigStore(directory)
        folded = str(key).lower() if kind == URLACL else str(key)
        table = model[kind]
        valid = _valid(kind, key, value) if action != "delete" else _valid_key(kind, key)
        if not valid:
            assert code == INVALID
        elif action == "set":
            assert code == (EXISTS if folded in table else OK)
            table.setdefault(folded, (key, value))
        elif action == "update":
            assert code == (OK if folded in table else MISSING)
            if folded in table:
                table[folded] = (key, value)
        else:
            assert code == (OK if table.pop(folded, None) is not None else MISSING)
        loaded = ConfigStore(directory).load()
        for kind_ in model:
            got = {(str(k).lower() if kind_ == URLACL else str(k)): v for k, v in loaded.of(kind_)}
            assert got == {f: v for f, (_, v) in model[kind_].items()}
    store.close()


def _valid_key(kind: str, key: object) -> bool:
    return not (kind == TIMEOUT and not 0 <= int(key) <= 1)  # type: ignore[call-overload]


def _valid(kind: str, key: object, value: object) -> bool:
    if kind == URLACL:
        return value != "bad"
    if kind == TIMEOUT:
        return _valid_key(kind, key) and 1 <= int(value) <= 0xFFFF  # type: ignore[call-overload]
    return True


def test_a_process_killed_between_commit_and_apply_leaves_a_store_that_loads_as_committed(
    tmp_path: Path,
) -> None:
    import signal
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        f"""
        import os, signal
        from httpsys._config import ConfigStore, TIMEOUT, URLACL
        store = ConfigStore({str(tmp_path)!r})
        assert store.set(URLACL, "http://+:80/before/", "D:(A;;GX;;;WD)") == 0
        store.listeners.append(lambda configuration: os.kill(os.getpid(), signal.SIGKILL))
        store.set(TIMEOUT, 1, 33)  # committed, then killed before anything is applied
        print("not reached")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == -signal.SIGKILL and "not reached" not in done.stdout, done.stderr
    loaded = ConfigStore(str(tmp_path)).load()
    assert loaded.url_reservations == (("http://+:80/before/", "D:(A;;GX;;;WD)"),)
    assert loaded.timeout(1) == 33


@pytest.mark.parametrize("writer_open", [False, True])
def test_another_user_reads_the_store_and_its_changes_are_access_denied(
    tmp_path: Path, writer_open: bool
) -> None:
    if os.geteuid() != 0:
        pytest.skip("reading as another user needs root to become one")
    import shutil
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="httpsys-store-"))  # pytest's tmp_path is 0700 below /tmp
    base.chmod(0o755)
    tmp_path = base
    writer = ConfigStore(str(tmp_path / "cfg"))
    assert writer.set(TIMEOUT, 1, 9) == OK
    if not writer_open:
        writer.close()  # no -wal file: the reader opens it immutable
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        result = "?"
        try:
            os.setgroups([])
            os.setresgid(65534, 65534, 65534)
            os.setresuid(65534, 65534, 65534)
            store = ConfigStore(str(tmp_path / "cfg"))
            seen = store.load().timeout(1)
            try:
                store.set(TIMEOUT, 0, 5)
                refused = "written"
            except ConfigStoreError as exc:
                refused = str(exc.winerror)
            result = f"{seen} {refused}"
        finally:
            os.write(write_end, result.encode())
            os._exit(0)
    os.close(write_end)
    answer = os.read(read_end, 1000).decode()
    os.close(read_end)
    os.waitpid(pid, 0)
    writer.close()
    try:
        assert answer == "9 5"  # read as stored; a change is ERROR_ACCESS_DENIED
        assert ConfigStore(str(tmp_path / "cfg")).load().timeout(0) is None
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_a_store_in_a_directory_this_user_may_not_enter_is_access_denied_not_empty(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to become another user")
    assert ConfigStore(str(tmp_path / "cfg")).set(TIMEOUT, 1, 9) == OK
    tmp_path.chmod(0o700)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        result = "?"
        try:
            os.setgroups([])
            os.setresgid(65534, 65534, 65534)
            os.setresuid(65534, 65534, 65534)
            try:
                ConfigStore(str(tmp_path / "cfg")).load()
                result = "loaded"
            except ConfigStoreError as exc:
                result = str(exc.winerror)
        finally:
            os.write(write_end, result.encode())
            os._exit(0)
    os.close(write_end)
    answer = os.read(read_end, 1000).decode()
    os.close(read_end)
    os.waitpid(pid, 0)
    assert answer == "5"
