"""The transport interface every face calls: the operations of the HTTP Server API on plain data.

Responsibility: naming each driver operation and the shape of its arguments and results (ints, bytes, strings,
tuples, file descriptors, the records of `httpsys._core.records` and `ResponseSpec`). Asynchronous operations take a
`token` (an int the face chooses, unique among its pending operations on the handle, used by `cancel_io`) and a
`done` callback that the driver calls exactly once, on the driver's thread. An I/O call returns only after the
driver has either completed the operation (then `done` has already run) or parked it, so a face can tell an
immediate result from a pending one. It must not hold an implementation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from httpsys._core.records import CachePolicy, DataChunk, RequestSnapshot
from httpsys._core.response import ResponseSpec

ReceiveDone = Callable[[int, RequestSnapshot | None, int], None]
BodyDone = Callable[[int, bytes], None]
SendDone = Callable[[int, int], None]
CodeDone = Callable[[int], None]
CertDone = Callable[[int, bytes, int], None]


class DriverIo(Protocol):
    """The asynchronous operations alone, with the signatures of `DriverTransport`'s (what `local_io` returns)."""

    def receive_request(
        self,
        handle_id: int,
        request_id: int,
        flags: int,
        buffer_length: int | None,
        v2: bool,
        token: int,
        done: ReceiveDone,
    ) -> None: ...
    def receive_body(
        self, handle_id: int, request_id: int, max_len: int, fill: bool, token: int, done: BodyDone
    ) -> None: ...
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
    ) -> None: ...
    def send_body(
        self,
        handle_id: int,
        request_id: int,
        flags: int,
        chunks: list[DataChunk],
        log_data: object | None,
        done: SendDone,
        token: int = 0,
    ) -> None: ...
    def wait_disconnect(self, handle_id: int, connection_id: int, token: int, done: CodeDone) -> None: ...
    def receive_client_certificate(
        self, handle_id: int, connection_id: int, token: int, done: CertDone
    ) -> None:
        """HttpReceiveClientCertificate: `done(code, DER, CertFlags)`; asks the client (TLS 1.3 post-handshake
        authentication) when the handshake negotiated no certificate."""
        ...


class DriverTransport(DriverIo, Protocol):
    """Operations a face can ask of the driver (embedded today, a shared daemon later)."""

    # ----- object model (synchronous) ---------------------------------------------------------------------
    def create_server_session(self, version: tuple[int, int]) -> tuple[int, int]: ...
    def close_server_session(self, session_id: int) -> int: ...
    def drain_server_session(self, session_id: int) -> tuple[int, int]:
        """Graceful stop of the session's sites: stop accepting, close idle connections, end the others with
        `Connection: close` after their current response; (code, connections still open). Not an HTTP.sys call."""
        ...

    def set_session_property(self, session_id: int, prop: int, value: object) -> int: ...
    def query_session_property(self, session_id: int, prop: int) -> tuple[int, object]: ...
    def create_url_group(self, session_id: int) -> tuple[int, int]: ...
    def close_url_group(self, group_id: int) -> int: ...
    def add_url(self, group_id: int, url: str, context: int) -> int: ...
    def remove_url(self, group_id: int, url: str | None, remove_all: bool) -> int: ...
    def set_group_property(self, group_id: int, prop: int, value: object) -> int: ...
    def query_group_property(self, group_id: int, prop: int) -> tuple[int, object]: ...
    def create_request_queue(
        self, name: str | None, flags: int, v1: bool, security: str | None = None
    ) -> tuple[int, int]:
        """`security`: the SDDL of SecurityAttributes, deciding who may open a named queue (decision 0020)."""
        ...

    def close_request_queue(self, handle_id: int) -> int: ...
    def set_queue_property(self, handle_id: int, prop: int, value: object) -> int: ...
    def query_queue_property(self, handle_id: int, prop: int) -> tuple[int, object]: ...
    def shutdown_request_queue(self, handle_id: int) -> int: ...
    def add_url_v1(self, handle_id: int, url: str) -> int: ...
    def remove_url_v1(self, handle_id: int, url: str) -> int: ...
    def add_fragment(self, handle_id: int, name: str, data: bytes, policy: CachePolicy) -> int: ...
    def read_fragment(self, handle_id: int, name: str) -> tuple[int, bytes]: ...
    def flush_cache(self, handle_id: int, prefix: str, recursive: bool) -> int: ...
    def cancel_request(self, handle_id: int, request_id: int) -> int: ...
    def set_request_property(self, handle_id: int, request_id: int, prop: int, value: int) -> int: ...
    def query_request_property(self, handle_id: int, request_id: int, prop: int) -> tuple[int, object]: ...
    def cancel_io(self, handle_id: int, token: int | None) -> bool: ...
    def statistics(self) -> dict[str, int]: ...
    def delegate_request(
        self, source_id: int, target_id: int, request_id: int, group_id: int, url: str | None
    ) -> int: ...
    def find_url_group_id(self, url: str, handle_id: int) -> tuple[int, int]: ...

    # ----- I/O (asynchronous: `done` is called exactly once): those of DriverIo, and -----------------------
    def wait_demand_start(self, handle_id: int, token: int, done: CodeDone) -> None: ...

    # ----- threading ----------------------------------------------------------------------------------------
    def on_driver_thread(self) -> bool: ...
    def local_io(self) -> DriverIo | None:
        """The driver's own I/O operations, for a caller already on the driver's thread: the same calls without
        the hop (a per-request saving on the hot path); None when the driver lives elsewhere (the daemon)."""
        ...
