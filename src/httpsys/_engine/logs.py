"""Log files: HttpServerLoggingProperty per server session and URL group, the HTTPERR log, one writer thread.

Responsibility: validate a logging configuration when it is set (values through `_core.logformat`, the directory on
disk: it must exist and accept a new file), then carry every response line and HTTPERR line to a single writer
thread through a queue, which formats it, opens files lazily on their first line, rolls them over (size, hourly,
daily, weekly, monthly; UTC or local time) and writes the W3C directives. It implements the driver's `LogHook`.
It must not block the event loop: the loop thread only looks up the owner's configuration and enqueues (the one
exception is `configure`, which probes the directory once, at the moment the property is set); it must never
raise into the driver because of a disk problem after configuration (failures are counted in `stats()`).

Decisions (docs/decisions/0006-cache-and-logging.md): a directory another owner already logs to in the same format
(so with the same file names) is ERROR_ALREADY_EXISTS (spec §3.5: "must be unique per config"); missing or not a directory is
ERROR_PATH_NOT_FOUND; a directory where a file cannot be created is ERROR_ACCESS_DENIED; Raw (centralized binary)
logging is accepted on a session, as on Windows, but not written yet (a documented gap). Each file this process opens gets a fresh W3C
directive block, as IIS writes one on every start, and another whenever the owner's fields or software name
change. Size rollover resumes at the highest existing sequence number if that file still has room. More than
`max_backlog` lines waiting for the disk are dropped and counted rather than letting memory grow without bound.
"""

from __future__ import annotations

import errno
import itertools
import os
import queue
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, BinaryIO

from httpsys._core.logformat import (
    HTTP_LIMIT_INFINITE,
    LOGGING_TYPE_W3C,
    MIN_ROLLOVER_SIZE,
    ROLLOVER_SIZE,
    LoggingConfig,
    format_httperr,
    format_response,
    httperr_directives,
    httperr_file_name,
    log_file_name,
    parse_logging_config,
    passes_filter,
    record_from_fields,
    w3c_directives,
)
from httpsys._core.status import Win32Error

__all__ = ["LogManager", "local_offset"]

OK = int(Win32Error.NO_ERROR)
DEFAULT_ERROR_LOG_TRUNCATE_SIZE = 1024 * 1024  # ErrorLogFileTruncateSize
DEFAULT_MAX_BACKLOG = 1 << 18
_BATCH = 4096
_JOIN_SECONDS = 30.0

_RESPONSE = 0
_ERROR = 1
_FLUSH = 2

_probe_ids = itertools.count(1)
LOG_FILE_MODE = 0o640  # log files (request lines, HTTPERR): owner and group only, never world-readable


def local_offset(when: float) -> int:
    """Seconds east of UTC of the local time zone at `when`."""
    return time.localtime(when).tm_gmtoff


def check_directory(directory: str) -> int:
    """NO_ERROR when `directory` exists and a file can be created in it; else the Win32 code to report."""
    try:
        if not os.path.isdir(directory):
            return int(Win32Error.ERROR_PATH_NOT_FOUND)
        probe = os.path.join(directory, f".httpsys-log-probe-{os.getpid()}-{next(_probe_ids)}")
        fd = os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return int(Win32Error.ERROR_PATH_NOT_FOUND)
        return int(Win32Error.ERROR_ACCESS_DENIED)
    os.close(fd)
    try:
        os.unlink(probe)
    except OSError:
        pass
    return OK


@dataclass(slots=True)
class _OpenFile:
    handle: BinaryIO
    size: int
    header: object = None  # what the last directive block this process wrote here described


@dataclass(slots=True)
class _Stream:
    """Where one configuration (or the HTTPERR log) writes: the current file name and size-rollover sequence."""

    directory: str
    name: str | None = None
    sequence: int = 0  # 0: not resumed from the directory yet


@dataclass(slots=True)
class _Counts:
    written: int = 0
    errors_written: int = 0
    filtered: int = 0
    dropped: int = 0
    write_errors: int = 0
    files_opened: int = 0


class LogManager:
    """Response logs per owner ("session" | "group", id) and the HTTPERR log in `error_log_dir` (None: off)."""

    def __init__(
        self,
        error_log_dir: str | None = None,
        *,
        error_log_truncate_size: int = DEFAULT_ERROR_LOG_TRUNCATE_SIZE,
        computer_name: str | None = None,
        max_backlog: int = DEFAULT_MAX_BACKLOG,
        local_offset: Callable[[float], int] = local_offset,
    ) -> None:
        """Raises ValueError when `error_log_dir` cannot be created or written (an operator error at startup)."""
        if error_log_dir is not None:
            error_log_dir = os.path.realpath(error_log_dir)
            try:
                os.makedirs(error_log_dir, exist_ok=True)
            except OSError as exc:
                raise ValueError(f"HTTPERR log directory {error_log_dir!r}: {exc.strerror}") from None
            if check_directory(error_log_dir) != OK:
                raise ValueError(f"HTTPERR log directory {error_log_dir!r} is not writable")
        self.error_log_dir = error_log_dir
        self.error_log_truncate_size = max(error_log_truncate_size, MIN_ROLLOVER_SIZE)
        self.computer_name = computer_name if computer_name is not None else _host_name()
        self.max_backlog = max_backlog
        self._local_offset = local_offset
        self._configs: dict[tuple[str, int], LoggingConfig] = {}
        self._queue: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._counts = _Counts()
        # writer-thread state
        self._files: dict[str, _OpenFile] = {}
        self._streams: dict[tuple[object, ...], _Stream] = {}

    # ================================================================ the LogHook protocol (event loop thread)
    def configure(self, owner: tuple[str, int], config: object | None) -> int:
        """HttpServerLoggingProperty on a server session or URL group: NO_ERROR or the Win32 code to return."""
        if config is None:
            self._configs.pop(owner, None)
            return OK
        if not isinstance(config, Mapping):
            return int(Win32Error.ERROR_INVALID_PARAMETER)
        if not config.get("present", True):
            self._configs.pop(owner, None)
            return OK
        parsed = parse_logging_config(owner[0], config)
        if isinstance(parsed, Win32Error):
            return int(parsed)
        code = check_directory(parsed.directory)
        if code != OK:
            return code
        directory = os.path.realpath(parsed.directory)
        for other, other_config in self._configs.items():
            if (
                other != owner
                and other_config.directory == directory
                and other_config.log_format == parsed.log_format
            ):
                return int(Win32Error.ERROR_ALREADY_EXISTS)
        self._configs[owner] = replace(parsed, directory=directory)
        return OK

    def configured(self, owner: tuple[str, int]) -> bool:
        config = self._configs.get(owner)
        return config is not None and not config.writes_nothing

    def response(self, owners: list[tuple[str, int]], fields: dict[str, Any]) -> None:
        """Queue one response line for the first owner with a configuration (group before session).

        The application's log data is copied here, on the caller's thread, so an application that reuses its
        mapping for the next response cannot change a line that is still waiting for the writer."""
        configs = self._configs
        for owner in owners:
            config = configs.get(owner)
            if config is not None:
                if not config.writes_nothing:
                    app = fields.get("log_data")
                    if isinstance(app, Mapping):
                        fields["log_data"] = dict(app)
                    self._put((_RESPONSE, config, fields))
                return

    def error(self, fields: dict[str, Any]) -> None:
        """Queue one HTTPERR line (nothing when there is no error log directory)."""
        if self.error_log_dir is not None:
            self._put((_ERROR, fields))

    def close(self) -> None:
        """Write every queued line, close the files and stop the writer thread. Later lines are dropped."""
        if self._closed:
            return
        self._closed = True
        thread = self._thread
        if thread is not None:
            self._queue.put(None)
            thread.join(_JOIN_SECONDS)

    # ================================================================ extras
    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every line queued so far is written and flushed (tests and orderly shutdown; it blocks)."""
        thread = self._thread
        if thread is None or not thread.is_alive():
            return True
        done = threading.Event()
        self._queue.put((_FLUSH, done))
        return done.wait(timeout)

    def stats(self) -> dict[str, int]:
        counts = self._counts
        return {
            "log_lines_written": counts.written,
            "log_errors_written": counts.errors_written,
            "log_lines_filtered": counts.filtered,
            "log_lines_dropped": counts.dropped,
            "log_write_errors": counts.write_errors,
            "log_files_opened": counts.files_opened,
            "log_backlog": self._queue.qsize(),
        }

    def _put(self, item: tuple[Any, ...]) -> None:
        if self._closed:
            self._counts.dropped += 1
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="httpsys-log-writer", daemon=True)
            self._thread.start()
        elif self._queue.qsize() >= self.max_backlog:
            self._counts.dropped += 1
            return
        self._queue.put(item)

    # ================================================================ the writer thread
    def _run(self) -> None:
        q = self._queue
        stop = False
        while not stop:
            batch = [q.get()]
            while len(batch) < _BATCH:
                try:
                    batch.append(q.get_nowait())
                except queue.Empty:
                    break
            waiters: list[threading.Event] = []
            for item in batch:
                if item is None:
                    stop = True
                    continue
                kind = item[0]
                try:
                    if kind == _RESPONSE:
                        self._write_response(item[1], item[2])
                    elif kind == _ERROR:
                        self._write_error(item[1])
                    else:
                        waiters.append(item[1])
                except Exception:  # a bad value must not stop the writer
                    self._counts.write_errors += 1
            self._flush_files()
            for waiter in waiters:
                waiter.set()
        for open_file in self._files.values():
            _close_quietly(open_file.handle)
        self._files.clear()

    def _write_response(self, config: LoggingConfig, fields: Mapping[str, Any]) -> None:
        record = record_from_fields(fields, self.computer_name)
        if not passes_filter(config.flags, record):
            self._counts.filtered += 1
            return
        when = record.time
        needs_offset = config.local_time or config.log_format != LOGGING_TYPE_W3C
        tz_offset = self._local_offset(when) if needs_offset else 0
        line = format_response(config, record, tz_offset)
        key = (config.directory, config.log_format, config.rollover_type, config.utf8, config.local_time)
        stream = self._streams.get(key)
        if stream is None:
            stream = self._streams[key] = _Stream(config.directory)
        header: tuple[str, int] | None = None
        if config.log_format == LOGGING_TYPE_W3C:
            header = (config.software_name, config.w3c_mask)
        if config.rollover_type == ROLLOVER_SIZE:
            limit = config.rollover_size
            if limit == HTTP_LIMIT_INFINITE:
                limit = 0

            def name_of(sequence: int) -> str:
                return log_file_name(
                    config.log_format, ROLLOVER_SIZE, when, sequence=sequence, utf8=config.utf8
                )

            name = self._sized_name(stream, limit, len(line), name_of)
        else:
            name = log_file_name(
                config.log_format,
                config.rollover_type,
                when,
                tz_offset=tz_offset,
                local_time=config.local_time,
                utf8=config.utf8,
            )
        if stream.name is not None and stream.name != name:
            self._close_file(stream.directory, stream.name)
        stream.name = name
        directives = (
            w3c_directives(config.software_name, config.w3c_mask, when) if header is not None else None
        )
        if self._append(stream.directory, name, line, header, directives):
            self._counts.written += 1

    def _write_error(self, fields: Mapping[str, Any]) -> None:
        directory = self.error_log_dir
        assert directory is not None
        line = format_httperr(fields)
        stream = self._streams.get(("httperr",))
        if stream is None:
            stream = self._streams[("httperr",)] = _Stream(directory)
        name = self._sized_name(stream, self.error_log_truncate_size, len(line), httperr_file_name)
        if stream.name is not None and stream.name != name:
            self._close_file(directory, stream.name)
        stream.name = name
        when = float(fields.get("time") or 0.0)
        if self._append(directory, name, line, "httperr", httperr_directives(when)):
            self._counts.errors_written += 1

    def _sized_name(self, stream: _Stream, limit: int, incoming: int, name_of: Callable[[int], str]) -> str:
        """The size-rollover file for a line of `incoming` bytes (limit 0: never roll over)."""
        if stream.sequence == 0:
            stream.sequence = _highest_sequence(stream.directory, name_of) or 1
        name = name_of(stream.sequence)
        if limit:
            current = self._current_size(stream.directory, name)
            if current > 0 and current + incoming > limit:
                self._close_file(stream.directory, name)
                stream.sequence += 1
                name = name_of(stream.sequence)
        return name

    def _current_size(self, directory: str, name: str) -> int:
        open_file = self._files.get(os.path.join(directory, name))
        if open_file is not None:
            return open_file.size
        try:
            return os.stat(os.path.join(directory, name)).st_size
        except OSError:
            return 0

    def _append(
        self, directory: str, name: str, line: bytes, header: object, directives: bytes | None
    ) -> bool:
        path = os.path.join(directory, name)
        open_file = self._files.get(path)
        try:
            if open_file is None:
                # request data: never world-readable, whatever the umask (decision 0024 §2)
                fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, LOG_FILE_MODE)
                handle: BinaryIO = open(fd, "ab", buffering=1 << 16)  # noqa: SIM115 - kept open across lines
                open_file = _OpenFile(handle, os.fstat(handle.fileno()).st_size)
                self._files[path] = open_file
                self._counts.files_opened += 1
            if directives is not None and open_file.header != header:
                open_file.handle.write(directives)
                open_file.size += len(directives)
                open_file.header = header
            open_file.handle.write(line)
            open_file.size += len(line)
        except OSError:
            self._counts.write_errors += 1
            if open_file is not None:
                self._close_file(directory, name)
            return False
        return True

    def _close_file(self, directory: str, name: str) -> None:
        open_file = self._files.pop(os.path.join(directory, name), None)
        if open_file is not None:
            _close_quietly(open_file.handle)

    def _flush_files(self) -> None:
        broken: list[str] = []
        for path, open_file in self._files.items():
            try:
                open_file.handle.flush()
            except OSError:
                self._counts.write_errors += 1
                broken.append(path)
        for path in broken:
            open_file = self._files.pop(path)
            _close_quietly(open_file.handle)


def _close_quietly(handle: BinaryIO) -> None:
    try:
        handle.close()
    except OSError:
        pass


def _highest_sequence(directory: str, name_of: Callable[[int], str]) -> int:
    """The highest N for which name_of(N) exists in `directory`, or 0."""
    sample = name_of(987654321)
    head, _, tail = sample.partition("987654321")
    pattern = re.compile(re.escape(head) + r"([1-9]\d{0,8})" + re.escape(tail))
    best = 0
    try:
        names = os.listdir(directory)
    except OSError:
        return 0
    for entry in names:
        m = pattern.fullmatch(entry)
        if m is not None:
            best = max(best, int(m.group(1)))
    return best


def _host_name() -> str:
    try:
        return os.uname().nodename or "-"
    except OSError:  # pragma: no cover - uname does not fail on Linux
        return "-"
