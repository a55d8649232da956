"""The persistent configuration store: one SQLite file under the configuration directory.

Responsibility: open `config.db` in the configuration directory (HTTPSYS_CONFIG_DIR, the daemon's --config-dir,
else /etc/httpsys for root and $XDG_CONFIG_HOME/httpsys otherwise) in WAL mode with synchronous=FULL, recognise it
(application_id), migrate its schema (user_version) forward, refuse a corrupt, foreign or newer file with a
`ConfigStoreError` naming it (never a silent reset), and change it one record at a time: validate, commit, then
tell the listeners (who apply the change), so the stored state is always one that loads. Answers are Win32 codes
(ERROR_ALREADY_EXISTS, ERROR_FILE_NOT_FOUND, ERROR_INVALID_PARAMETER). It must not apply anything to a driver
itself, nor parse Win32 structs.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import threading
import urllib.parse
from collections.abc import Callable
from typing import Final

from httpsys._config.records import (
    KINDS,
    Configuration,
    InvalidRecord,
    Key,
    Value,
    folded_key,
    validate_record,
)
from httpsys._core.status import Win32Error

__all__ = [
    "APPLICATION_ID",
    "CONFIG_DIR_ENV",
    "ERROR_BADDB",
    "FILE_NAME",
    "SCHEMA_VERSION",
    "ConfigStore",
    "ConfigStoreError",
    "config_directory",
]

log = logging.getLogger("httpsys.config")

CONFIG_DIR_ENV: Final = "HTTPSYS_CONFIG_DIR"
FILE_NAME: Final = "config.db"
APPLICATION_ID: Final = 0x48535953  # "HSYS": tells our file from any other SQLite database
SCHEMA_VERSION: Final = 1
ERROR_BADDB: Final = 1009  # "The configuration registry database is corrupt."
_SQLITE_MAGIC: Final = b"SQLite format 3\x00"

_OK: Final = int(Win32Error.NO_ERROR)
_EXISTS: Final = int(Win32Error.ERROR_ALREADY_EXISTS)
_MISSING: Final = int(Win32Error.ERROR_FILE_NOT_FOUND)
_INVALID: Final = int(Win32Error.ERROR_INVALID_PARAMETER)
_ACCESS_DENIED: Final = int(Win32Error.ERROR_ACCESS_DENIED)

# MIGRATIONS[n] takes a file at user_version n to n + 1, inside the transaction that sets the new version.
_MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    (
        """CREATE TABLE record (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL,
            folded TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            UNIQUE (kind, folded)
        )""",
    ),
)

Listener = Callable[[Configuration], None]


class ConfigStoreError(Exception):
    """The store cannot be used: the message names the file and says why (corrupt, foreign, newer, unreadable)."""

    def __init__(self, path: str, why: str, winerror: int = ERROR_BADDB) -> None:
        super().__init__(f"configuration store {path}: {why}")
        self.path = path
        self.winerror = winerror  # ERROR_BADDB, or ERROR_ACCESS_DENIED when the file or directory is not ours


def config_directory(explicit: str | None = None) -> str:
    """ARCHITECTURE §8.5: `explicit` (the daemon's --config-dir), else HTTPSYS_CONFIG_DIR, else /etc/httpsys for
    root and $XDG_CONFIG_HOME/httpsys (~/.config/httpsys) otherwise."""
    if explicit:
        return explicit
    env = os.environ.get(CONFIG_DIR_ENV)
    if env:
        return env
    if os.geteuid() == 0:
        return "/etc/httpsys"
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "httpsys")


def _encode(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


class ConfigStore:
    """The store in `directory`. Reading a store that does not exist yet gives an empty configuration without
    creating anything; the first change creates the directory (0755) and the file (0644: it holds no secrets,
    only SDDL, addresses and certificate thumbprints, and embedded processes of other users read it)."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.path = os.path.join(directory, FILE_NAME)
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        self.listeners: list[Listener] = []

    # ----- opening ------------------------------------------------------------------------------------------
    def _connection(self, create: bool) -> sqlite3.Connection | None:
        if self._db is not None:
            return self._db
        path = self.path
        try:
            os.stat(path)
            exists = True
        except FileNotFoundError:
            exists = False
        except (
            OSError
        ) as exc:  # not a missing file: a directory this user may not enter is not an empty store
            raise ConfigStoreError(path, f"cannot read: {exc.strerror or exc}", _denied(exc)) from None
        if not exists:
            if not create:
                return None
            try:
                os.makedirs(self.directory, mode=0o755, exist_ok=True)
            except OSError as exc:
                raise ConfigStoreError(
                    path, f"cannot create its directory: {exc.strerror or exc}", _denied(exc)
                )
        else:
            self._check_header(path)
            if not os.access(path, os.W_OK):
                return self._read_only(path)
        try:
            db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=5.0)
        except sqlite3.Error as exc:
            raise ConfigStoreError(path, f"cannot open: {exc}", _ACCESS_DENIED) from None
        try:
            self._prepare(db, path)
        except BaseException:
            db.close()
            raise
        with contextlib.suppress(OSError):
            os.chmod(path, 0o644)
        self._db = db
        return db

    def _read_only(self, path: str) -> sqlite3.Connection:
        """A store this user may read but not write (an embedded process of another user than the daemon's):
        opened read-only; without the writer's -wal file it is complete, and opened as immutable (SQLite cannot
        create the shared-memory file in a directory that is not ours). Changes fail with ERROR_ACCESS_DENIED."""
        uri = "file:" + urllib.parse.quote(path) + "?mode=ro"
        if not os.path.exists(path + "-wal"):
            uri += "&immutable=1"
        try:
            db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False, timeout=5.0)
            app_id = db.execute("PRAGMA application_id").fetchone()[0]
            version = db.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.Error as exc:
            raise ConfigStoreError(path, f"cannot read: {exc}", _ACCESS_DENIED) from None
        if app_id != APPLICATION_ID or version != SCHEMA_VERSION:
            db.close()
            raise ConfigStoreError(
                path,
                f"application_id {app_id:#x}, schema version {version}: not a store this httpsys can read",
            )
        self._db = db
        return db

    @staticmethod
    def _check_header(path: str) -> None:
        try:
            with open(path, "rb") as f:
                head = f.read(len(_SQLITE_MAGIC))
        except OSError as exc:
            raise ConfigStoreError(path, f"cannot read: {exc.strerror or exc}", _denied(exc)) from None
        if head and head != _SQLITE_MAGIC:
            raise ConfigStoreError(path, "not an SQLite database (corrupt or another program's file)")

    def _prepare(self, db: sqlite3.Connection, path: str) -> None:
        try:
            db.execute("PRAGMA busy_timeout=5000")
            app_id = db.execute("PRAGMA application_id").fetchone()[0]
            version = db.execute("PRAGMA user_version").fetchone()[0]
            tables = db.execute("SELECT count(*) FROM sqlite_master WHERE type='table'").fetchone()[0]
            if app_id == 0 and version == 0 and tables == 0:
                pass  # a new, empty file: ours from now on
            elif app_id != APPLICATION_ID:
                raise ConfigStoreError(path, "an SQLite database of another program (application_id differs)")
            if version > SCHEMA_VERSION:
                raise ConfigStoreError(
                    path, f"schema version {version} is newer than this httpsys knows ({SCHEMA_VERSION})"
                )
            check = db.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise ConfigStoreError(path, f"corrupt ({check})")
            mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                log.warning("%s: journal_mode is %s, not WAL", path, mode)
            db.execute("PRAGMA synchronous=FULL")
            if version < SCHEMA_VERSION:
                self._migrate(db, version)
        except sqlite3.DatabaseError as exc:
            raise ConfigStoreError(path, f"corrupt or unreadable ({exc})") from None

    @staticmethod
    def _migrate(db: sqlite3.Connection, version: int) -> None:
        db.execute("BEGIN IMMEDIATE")
        try:
            current = db.execute("PRAGMA user_version").fetchone()[0]  # another process may have migrated
            for step in range(current, SCHEMA_VERSION):
                for statement in _MIGRATIONS[step]:
                    db.execute(statement)
            db.execute(f"PRAGMA application_id={APPLICATION_ID}")
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        with self._lock:
            db, self._db = self._db, None
            if db is not None:
                db.close()

    # ----- reading ------------------------------------------------------------------------------------------
    def load(self) -> Configuration:
        """Every record as committed now (empty when there is no store yet)."""
        with self._lock:
            db = self._connection(create=False)
            if db is None:
                return Configuration({})
            try:
                rows = db.execute("SELECT kind, key, value FROM record ORDER BY seq").fetchall()
            except sqlite3.DatabaseError as exc:
                raise ConfigStoreError(self.path, f"corrupt or unreadable ({exc})") from None
        records: dict[str, list[tuple[Key, Value]]] = {kind: [] for kind in KINDS}
        for kind, key_text, value_text in rows:
            if kind not in records:
                raise ConfigStoreError(self.path, f"unknown record kind {kind!r}")
            try:
                key, value = validate_record(kind, json.loads(key_text), json.loads(value_text))
            except (ValueError, InvalidRecord) as exc:
                raise ConfigStoreError(self.path, f"bad {kind} record {key_text}: {exc}") from None
            records[kind].append((key, value))
        return Configuration({kind: tuple(rows_) for kind, rows_ in records.items()})

    # ----- changing: validate, commit, apply -----------------------------------------------------------------
    def set(self, kind: str, key: object, value: object, *, update: bool = False) -> int:
        """Store a new record (ERROR_ALREADY_EXISTS if its key is stored) or, with `update`, replace an existing
        one (ERROR_FILE_NOT_FOUND if none); ERROR_INVALID_PARAMETER for a record that does not validate."""
        try:
            key, value = validate_record(kind, key, value)
        except InvalidRecord as exc:
            log.info("refused %s record %r: %s", kind, key, exc)
            return _INVALID
        folded = folded_key(kind, key)
        with self._lock:
            db = self._connection(create=True)
            assert db is not None
            code = self._write(db, kind, folded, key, value, update)
        if code == _OK:
            self._applied()
        return code

    def _write(
        self, db: sqlite3.Connection, kind: str, folded: str, key: Key, value: Value, update: bool
    ) -> int:
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute(
                    "SELECT seq FROM record WHERE kind=? AND folded=?", (kind, folded)
                ).fetchone()
                if update:
                    if row is None:
                        db.execute("ROLLBACK")
                        return _MISSING
                    db.execute(
                        "UPDATE record SET key=?, value=? WHERE seq=?", (_encode(key), _encode(value), row[0])
                    )
                else:
                    if row is not None:
                        db.execute("ROLLBACK")
                        return _EXISTS
                    db.execute(
                        "INSERT INTO record (kind, folded, key, value) VALUES (?, ?, ?, ?)",
                        (kind, folded, _encode(key), _encode(value)),
                    )
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        except sqlite3.DatabaseError as exc:
            raise _write_failed(self.path, exc) from None
        return _OK

    def delete(self, kind: str, key: object) -> int:
        """Remove a record (ERROR_FILE_NOT_FOUND if it is not stored)."""
        if kind not in KINDS or key is None:
            return _INVALID
        try:
            key = validate_record(kind, key, _placeholder(kind))[0]
        except InvalidRecord:
            return _INVALID
        folded = folded_key(kind, key)
        with self._lock:
            db = self._connection(create=False)
            if db is None:
                return _MISSING
            try:
                cursor = db.execute("DELETE FROM record WHERE kind=? AND folded=?", (kind, folded))
            except sqlite3.DatabaseError as exc:
                raise _write_failed(self.path, exc) from None
            if cursor.rowcount == 0:
                return _MISSING
        self._applied()
        return _OK

    def replace_all(self, configuration: Configuration) -> None:
        """Make the store hold exactly `configuration` (one transaction: `config import`). Every record is
        validated first; InvalidRecord leaves the store untouched."""
        rows = []
        for kind in KINDS:
            for key, value in configuration.of(kind):
                key, value = validate_record(kind, key, value)
                rows.append((kind, folded_key(kind, key), _encode(key), _encode(value)))
        with self._lock:
            db = self._connection(create=True)
            assert db is not None
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    db.execute("DELETE FROM record")
                    db.executemany("INSERT INTO record (kind, folded, key, value) VALUES (?, ?, ?, ?)", rows)
                    db.execute("COMMIT")
                except BaseException:
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                    raise
            except sqlite3.IntegrityError as exc:
                raise InvalidRecord(f"duplicate record ({exc})") from None
            except sqlite3.DatabaseError as exc:
                raise _write_failed(self.path, exc) from None
        self._applied()

    def _applied(self) -> None:
        """After a commit: hand the committed configuration to each listener (a listener's failure is logged;
        the committed state stays and loads next time)."""
        if not self.listeners:
            return
        configuration = self.load()
        for listener in list(self.listeners):
            try:
                listener(configuration)
            except Exception:
                log.exception("applying the configuration of %s failed", self.path)


def _denied(exc: OSError) -> int:
    return _ACCESS_DENIED if isinstance(exc, PermissionError) else ERROR_BADDB


def _write_failed(path: str, exc: sqlite3.DatabaseError) -> ConfigStoreError:
    """A write the file refused: ERROR_ACCESS_DENIED when it is read-only to this user, else ERROR_BADDB."""
    text = str(exc)
    denied = "readonly" in text or "unable to open" in text or "permission" in text.lower()
    return ConfigStoreError(path, f"write failed ({text})", _ACCESS_DENIED if denied else ERROR_BADDB)


def _placeholder(kind: str) -> object:
    """A value that validates for `kind`, so a key alone can be normalized."""
    return {
        "urlacl": "D:",
        "iplisten": None,
        "sslcert": {"certhash": "00"},
        "timeout": 1,
        "cache": 0,
        "setting": 0,
    }[kind]
