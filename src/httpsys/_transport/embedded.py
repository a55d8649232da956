"""The embedded transport: the driver runs inside this process, on its own thread or on a given event loop.

Responsibility: start and stop the in-process driver and carry every call onto the driver's thread — directly when
the caller is already there (an asyncio application hosting the driver), by `call_soon_threadsafe` otherwise. A
private loop (`EmbeddedTransport()`) runs on its own thread, which never gives it away (decision 0023). It must not
add behaviour: each method forwards to the driver.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from httpsys._config.apply import apply_configuration, settings_with
from httpsys._config.records import Configuration
from httpsys._core.records import CachePolicy, DataChunk
from httpsys._core.response import ResponseSpec
from httpsys._core.settings import DriverSettings
from httpsys._engine.driver import Driver
from httpsys._transport.interface import BodyDone, CertDone, CodeDone, DriverIo, ReceiveDone, SendDone

T = TypeVar("T")


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop when importable, asyncio's default loop otherwise."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


class EmbeddedTransport:
    """A driver in this process. `EmbeddedTransport()` starts one on a private thread;
    `EmbeddedTransport(loop=...)` hosts it on an existing loop (no thread hop for that loop's coroutines)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop | None = None,
        settings: DriverSettings | None = None,
        configuration: Configuration | None = None,
    ) -> None:
        # The stored service configuration (listen list, driver-wide timeouts) over `settings`: decision 0020.
        self.base_settings = settings
        if configuration is not None:
            settings = settings_with(configuration, settings)
        self._thread: threading.Thread | None = None
        self._owns_loop = loop is None
        if loop is None:
            loop = new_event_loop()
            ready = threading.Event()

            def run() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                loop.run_forever()

            self._thread = threading.Thread(target=run, name="httpsys-driver", daemon=True)
            self._thread.start()
            ready.wait()
            self._loop_thread_id = self._thread.ident
        else:
            self._loop_thread_id = None
        self.loop = loop
        self.driver = self._call(lambda: Driver(loop, settings)) if self._thread else Driver(loop, settings)
        self.closed = False
        if configuration is not None:
            stored = configuration
            if self._thread:
                self.apply_configuration(stored)
            else:  # a hosted loop may not run yet: the driver is still this thread's alone
                apply_configuration(self.driver, stored, self.base_settings)

    # ----- thread hops -----------------------------------------------------------------------------------
    def on_driver_thread(self) -> bool:
        ident = threading.get_ident()
        if self._loop_thread_id is not None:
            return ident == self._loop_thread_id
        try:
            running = asyncio.get_running_loop() is self.loop
        except RuntimeError:
            return False
        if running:
            self._loop_thread_id = ident  # a hosted loop runs on one thread; remember it
        return running

    def _call(self, fn: Callable[[], T]) -> T:
        if self.on_driver_thread():
            return fn()
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(fn())
            except BaseException as exc:  # handed to the calling thread
                future.set_exception(exc)

        self.loop.call_soon_threadsafe(run)
        return future.result()

    def local_io(self) -> DriverIo | None:
        """The driver itself when the caller runs on the driver's thread (its I/O calls then need no hop)."""
        return self.driver if self.on_driver_thread() else None

    def _accept(self, fn: Callable[..., None], *args: Any) -> None:
        """Run an I/O call on the driver thread and return once the driver has completed or parked it.

        So a face knows on return whether `done` already ran (an immediate completion or error) or the
        operation is pending, as Win32 overlapped calls report ERROR_IO_PENDING only for parked operations.
        """
        if threading.get_ident() == self._loop_thread_id or self.on_driver_thread():
            fn(*args)
        else:
            self._call(lambda: fn(*args))

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._call(self.driver.close_all)
        if self._thread is not None:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=5)
            if not self.loop.is_running():
                self.loop.close()

    def apply_configuration(self, configuration: Configuration) -> None:
        """Apply a (re-read) stored configuration to the running driver: new connections and ports use it,
        open connections are untouched (SIGHUP, the admin reload call, each committed change)."""
        self._call(lambda: apply_configuration(self.driver, configuration, self.base_settings))

    # ----- object model ----------------------------------------------------------------------------------
    def create_server_session(self, version: tuple[int, int]) -> tuple[int, int]:
        return self._call(lambda: self.driver.create_server_session(version))

    def close_server_session(self, session_id: int) -> int:
        return self._call(lambda: self.driver.close_server_session(session_id))

    def drain_server_session(self, session_id: int) -> tuple[int, int]:
        return self._call(lambda: self.driver.drain_server_session(session_id))

    def set_session_property(self, session_id: int, prop: int, value: object) -> int:
        return self._call(lambda: self.driver.set_session_property(session_id, prop, value))

    def query_session_property(self, session_id: int, prop: int) -> tuple[int, object]:
        return self._call(lambda: self.driver.query_session_property(session_id, prop))

    def create_url_group(self, session_id: int) -> tuple[int, int]:
        return self._call(lambda: self.driver.create_url_group(session_id))

    def close_url_group(self, group_id: int) -> int:
        return self._call(lambda: self.driver.close_url_group(group_id))

    def add_url(self, group_id: int, url: str, context: int) -> int:
        return self._call(lambda: self.driver.add_url(group_id, url, context))

    def remove_url(self, group_id: int, url: str | None, remove_all: bool) -> int:
        return self._call(lambda: self.driver.remove_url(group_id, url, remove_all))

    def set_group_property(self, group_id: int, prop: int, value: object) -> int:
        return self._call(lambda: self.driver.set_group_property(group_id, prop, value))

    def query_group_property(self, group_id: int, prop: int) -> tuple[int, object]:
        return self._call(lambda: self.driver.query_group_property(group_id, prop))

    def create_request_queue(
        self, name: str | None, flags: int, v1: bool, security: str | None = None
    ) -> tuple[int, int]:
        # `security` (the queue's SDDL) matters only where several processes share the driver: the daemon checks
        # it at OPEN_EXISTING; one process has one identity (decision 0020).
        return self._call(lambda: self.driver.create_request_queue(name, flags, v1))

    def close_request_queue(self, handle_id: int) -> int:
        return self._call(lambda: self.driver.close_request_queue(handle_id))

    def set_queue_property(self, handle_id: int, prop: int, value: object) -> int:
        return self._call(lambda: self.driver.set_queue_property(handle_id, prop, value))

    def query_queue_property(self, handle_id: int, prop: int) -> tuple[int, object]:
        return self._call(lambda: self.driver.query_queue_property(handle_id, prop))

    def shutdown_request_queue(self, handle_id: int) -> int:
        return self._call(lambda: self.driver.shutdown_request_queue(handle_id))

    def add_url_v1(self, handle_id: int, url: str) -> int:
        return self._call(lambda: self.driver.add_url_v1(handle_id, url))

    def remove_url_v1(self, handle_id: int, url: str) -> int:
        return self._call(lambda: self.driver.remove_url_v1(handle_id, url))

    def add_fragment(self, handle_id: int, name: str, data: bytes, policy: CachePolicy) -> int:
        return self._call(
            lambda: self.driver.add_fragment(handle_id, name, data, policy.policy, policy.seconds_to_live)
        )

    def read_fragment(self, handle_id: int, name: str) -> tuple[int, bytes]:
        return self._call(lambda: self.driver.read_fragment(handle_id, name))

    def flush_cache(self, handle_id: int, prefix: str, recursive: bool) -> int:
        return self._call(lambda: self.driver.flush_cache(handle_id, prefix, recursive))

    def cancel_request(self, handle_id: int, request_id: int) -> int:
        return self._call(lambda: self.driver.cancel_request(handle_id, request_id))

    def set_request_property(self, handle_id: int, request_id: int, prop: int, value: int) -> int:
        return self._call(lambda: self.driver.set_request_property(handle_id, request_id, prop, value))

    def query_request_property(self, handle_id: int, request_id: int, prop: int) -> tuple[int, object]:
        return self._call(lambda: self.driver.query_request_property(handle_id, request_id, prop))

    def cancel_io(self, handle_id: int, token: int | None) -> bool:
        return self._call(lambda: self.driver.cancel_io(handle_id, token))

    def statistics(self) -> dict[str, int]:
        return self._call(self.driver.statistics)

    def delegate_request(
        self, source_id: int, target_id: int, request_id: int, group_id: int, url: str | None
    ) -> int:
        return self._call(
            lambda: self.driver.delegate_request(source_id, target_id, request_id, group_id, url)
        )

    def find_url_group_id(self, url: str, handle_id: int) -> tuple[int, int]:
        return self._call(lambda: self.driver.find_url_group_id(url, handle_id))

    # ----- I/O -------------------------------------------------------------------------------------------
    def receive_request(
        self,
        handle_id: int,
        request_id: int,
        flags: int,
        buffer_length: int | None,
        v2: bool,
        token: int,
        done: ReceiveDone,
    ) -> None:
        self._accept(
            self.driver.receive_request, handle_id, request_id, flags, buffer_length, v2, token, done
        )

    def receive_body(
        self, handle_id: int, request_id: int, max_len: int, fill: bool, token: int, done: BodyDone
    ) -> None:
        self._accept(self.driver.receive_body, handle_id, request_id, max_len, fill, token, done)

    def send_response(
        self,
        handle_id: int,
        request_id: int,
        flags: int,
        spec: ResponseSpec,
        chunks: list[DataChunk],
        cache_policy: CachePolicy | None,
        log_data: object | None,
        done: SendDone,
        token: int = 0,
    ) -> None:
        self._accept(
            self.driver.send_response,
            handle_id,
            request_id,
            flags,
            spec,
            chunks,
            cache_policy,
            log_data,
            done,
            token,
        )

    def send_body(
        self,
        handle_id: int,
        request_id: int,
        flags: int,
        chunks: list[DataChunk],
        log_data: object | None,
        done: SendDone,
        token: int = 0,
    ) -> None:
        self._accept(self.driver.send_body, handle_id, request_id, flags, chunks, log_data, done, token)

    def wait_disconnect(self, handle_id: int, connection_id: int, token: int, done: CodeDone) -> None:
        self._accept(self.driver.wait_disconnect, handle_id, connection_id, token, done)

    def wait_demand_start(self, handle_id: int, token: int, done: CodeDone) -> None:
        self._accept(self.driver.wait_demand_start, handle_id, token, done)

    def receive_client_certificate(
        self, handle_id: int, connection_id: int, token: int, done: CertDone
    ) -> None:
        self._accept(self.driver.receive_client_certificate, handle_id, connection_id, token, done)


_shared: EmbeddedTransport | None = None
_shared_refs = 0
_shared_lock = threading.Lock()


def stored_configuration() -> Configuration | None:
    """The process's stored service configuration (HTTPSYS_CONFIG_DIR ...) for an embedded driver starting now;
    None when there is none. A store that cannot be read is logged as an error naming the file (it is never
    reset) and the driver starts without it."""
    from httpsys._config import ConfigStoreError, process_store

    try:
        configuration = process_store().load()
    except ConfigStoreError as exc:
        logging.getLogger("httpsys.config").error("%s; the driver starts without it", exc)
        return None
    return configuration if any(configuration.records.values()) else None


def embedded_transport() -> EmbeddedTransport:
    """The process's shared embedded driver (started on first use, reference counted); with
    HTTPSYS_WIN32_ALERTABLE=1 an `AlertableTransport`, whose loop runs on the threads that wait."""
    global _shared, _shared_refs
    with _shared_lock:
        if _shared is None or _shared.closed:
            if os.environ.get("HTTPSYS_WIN32_ALERTABLE", "") not in ("", "0"):
                from httpsys._transport.alertable import AlertableTransport  # its module imports this one

                _shared = AlertableTransport(configuration=stored_configuration())
            else:
                _shared = EmbeddedTransport(configuration=stored_configuration())
            _shared_refs = 0
        _shared_refs += 1
        return _shared


def release_embedded_transport() -> None:
    """Drop one reference; the last one stops the shared driver."""
    global _shared, _shared_refs
    with _shared_lock:
        if _shared is None:
            return
        _shared_refs -= 1
        if _shared_refs <= 0:
            shared = _shared
            _shared = None
            _shared_refs = 0
            shared.close()


def reapply_stored_configuration() -> None:
    """After a committed change to this process's store: apply it to the shared embedded driver, if one runs."""
    with _shared_lock:
        shared = _shared
    if shared is None or shared.closed:
        return
    configuration = stored_configuration()
    if configuration is not None:
        shared.apply_configuration(configuration)
    else:
        shared.apply_configuration(Configuration({}))
