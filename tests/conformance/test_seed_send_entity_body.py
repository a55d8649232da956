"""The HttpSendResponseEntityBody page (the seed, /work/shared/seeds/000_a824ed2919895587.txt), sentence by sentence.

Every sentence of the page is a requirement; each is shown by the tests named after it. Readings of sentences the
page leaves open are in docs/decisions/0007-send-path.md (and 0003 for BytesSent and the order of checks).

Description
  "The HttpSendResponseEntityBody function sends entity-body data associated with an HTTP response."
      test_sends_entity_body_data_associated_with_an_http_response

RequestQueueHandle
  "A handle to the request queue from which the specified request was retrieved."
      test_request_queue_handle_is_the_queue_the_request_was_retrieved_from
      test_an_invalid_request_queue_handle_is_invalid_handle
  "A request queue is created and its handle returned by a call to the HttpCreateRequestQueue function."
      test_request_queue_handle_from_http_create_request_queue
  "Windows Server 2003 with SP1 and Windows XP with SP2: The handle to the request queue is created by the
   HttpCreateHttpHandle function."
      test_request_queue_handle_from_http_create_http_handle

RequestId
  "An identifier of the HTTP request to which this response corresponds."
      test_request_id_names_the_request_the_response_corresponds_to
  "This value is returned in the RequestId member of the HTTP_REQUEST structure by a call to the
   HttpReceiveHttpRequest function."
      test_request_id_is_the_one_http_receive_http_request_returned
  "It cannot be HTTP_NULL_ID."
      test_request_id_cannot_be_http_null_id

Flags
  "A parameter that can include one of the following mutually exclusive flag values."
      test_flags_are_bits_that_combine_except_where_the_page_forbids_it
      test_unknown_flag_bits_are_invalid_parameter
  DISCONNECT "The network connection should be disconnected after sending this response, overriding any
   persistent connection features associated with the version of HTTP in use."
      test_disconnect_disconnects_after_sending_this_response
      test_disconnect_overrides_http_1_1_persistent_connections
  DISCONNECT "Applications should use this flag to indicate the end of the entity in cases where neither content
   length nor chunked encoding is used."
      test_disconnect_indicates_the_end_of_an_entity_without_length_or_chunking
  MORE_DATA "Additional entity body data for this response is sent by the application through one or more
   subsequent calls to HttpSendResponseEntityBody."
      test_more_data_announces_further_calls_for_this_response
      test_more_data_bytes_go_out_raw_without_framing
  MORE_DATA "The last call then sets this flag to zero."
      test_the_last_call_without_more_data_ends_the_response
  BUFFER_DATA "This flag enables buffering of data in the kernel on a per-response basis."
      test_buffer_data_lets_a_send_complete_once_the_data_is_buffered
      test_buffer_data_buffering_is_bounded
  BUFFER_DATA "It should be used by an application doing synchronous I/O, or by a an application doing
   asynchronous I/O with no more than one send outstanding at a time."
      test_buffer_data_with_synchronous_io
      test_buffer_data_with_one_asynchronous_send_outstanding
  BUFFER_DATA "Applications using asynchronous I/O which may have more than one send outstanding at a time should
   not use this flag."
      test_a_second_outstanding_send_on_one_request_is_refused_with_or_without_buffer_data
  BUFFER_DATA "When this flag is set, it should be used consistently in calls to the HttpSendHttpResponse function
   as well."
      test_buffer_data_used_consistently_with_http_send_http_response
  BUFFER_DATA "Windows Server 2003: This flag is not supported. This flag is new for Windows Server 2003 with SP1."
      test_buffer_data_is_supported_as_since_windows_server_2003_sp1
  ENABLE_NAGLING "Enables the TCP nagling algorithm for this send only."
      test_enable_nagling_enables_nagle_for_this_send_only
  ENABLE_NAGLING "Windows Vista and later: This flag is not supported."
      test_enable_nagling_is_accepted_and_the_data_delivered_as_on_vista_and_later
  PROCESS_RANGES "Specifies that for a range request, the full response content is passed and the caller wants
   the HTTP API to process ranges appropriately."
      test_process_ranges_cuts_the_requested_range_out_of_the_full_content
      test_process_ranges_answers_an_unsatisfiable_range_with_416
  PROCESS_RANGES Note "This flag is only supported for responses to HTTP GET requests and offers a limited subset
   of functionality."
      test_process_ranges_is_only_applied_to_get_requests
      test_process_ranges_offers_a_limited_subset
  PROCESS_RANGES Note "Applications that require full range processing should perform it in user mode and not
   rely on HTTP.sys."
      test_range_processing_in_user_mode_is_sent_as_given
  PROCESS_RANGES Note "It's usage is discouraged." / "Windows Server 2008 R2 and Windows 7 or later." /
   "Note This flag is supported."
      test_process_ranges_is_supported_as_on_windows_7_and_later
      test_process_ranges_on_an_entity_body_call_leaves_the_started_response_alone
  OPAQUE "Specifies that the request/response is not HTTP compliant and all subsequent bytes should be treated as
   entity-body."
      test_opaque_makes_all_subsequent_bytes_entity_body_both_ways
  OPAQUE "Applications specify this flag when it is accepting a Web Socket upgrade request and informing HTTP.sys
   to treat the connection data as opaque data."
      test_opaque_accepts_a_websocket_upgrade_request
      test_opaque_on_an_entity_body_call_after_a_101_makes_the_connection_opaque
  OPAQUE "This flag is only allowed when the StatusCode member of pHttpResponse is 101, switching protocols."
      test_opaque_is_only_allowed_when_the_status_code_is_101
  OPAQUE "HttpSendResponseEntityBody returns ERROR_INVALID_PARAMETER for all other HTTP response types if this
   flag is used."
      test_opaque_on_an_entity_body_call_for_another_status_is_invalid_parameter
  OPAQUE "Windows 8 and later: This flag is supported."
      test_opaque_is_supported_as_on_windows_8_and_later
  Caution "Combining both flags in a single call to the HttpSendHttpResponse function produces undefined results."
      test_combining_disconnect_and_more_data_in_http_send_http_response_is_refused
      test_combining_disconnect_and_more_data_in_http_send_response_entity_body_is_refused

EntityChunkCount
  "A number of structures in the array pointed to by pEntityChunks."
      test_entity_chunk_count_is_the_number_of_structures_sent_from_the_array
      test_entity_chunk_count_beyond_the_array_is_invalid_parameter
      test_entity_chunk_count_zero_sends_no_data
  "This count cannot exceed 9999."
      test_entity_chunk_count_cannot_exceed_9999

EntityChunks
  "A pointer to an array of HTTP_DATA_CHUNK structures to be sent as entity-body data."
      test_entity_chunks_of_every_type_are_sent_as_entity_body
      test_entity_chunks_that_are_not_http_data_chunks_are_invalid_parameter

BytesSent / Reserved1 / Overlapped / LogData: "TBD" (described under pBytesSent, pReserved1, pOverlapped, pLogData)
      test_the_tbd_parameters_are_positional_in_the_documented_order

Reserved2 [in] "This parameter is reserved and must be zero."
      test_reserved2_must_be_zero

pBytesSent
  "Optional. A pointer to a variable that receives the number, in bytes, sent if the function operates
   synchronously."
      test_bytes_sent_receives_the_number_of_bytes_sent_by_a_synchronous_call
  "When making an asynchronous call using pOverlapped, set pBytesSent to NULL."
      test_bytes_sent_null_on_an_asynchronous_call_the_completion_carries_the_count
      test_bytes_sent_given_on_an_asynchronous_call_is_tolerated
  "Otherwise, when pOverlapped is set to NULL, pBytesSent must contain a valid memory address, and not be set to
   NULL."
      test_bytes_sent_null_on_a_synchronous_call_is_invalid_parameter
      test_bytes_sent_that_is_not_a_valid_address_is_invalid_parameter

pLogData
  "A pointer to the HTTP_LOG_DATA structure used to log the response."
      test_log_data_is_used_to_log_the_response
      test_log_data_fields_are_written_to_the_w3c_log_file
  "Pass a pointer to the HTTP_LOG_FIELDS_DATA structure and cast it to PHTTP_LOG_DATA."
      test_log_data_must_be_http_log_fields_data
  "Be aware that even when logging is enabled on a URL Group, or server session, the response will not be logged
   unless the application supplies the log fields data structure."
      test_without_log_data_the_response_is_not_logged_although_logging_is_enabled
      test_log_data_fields_are_written_to_the_w3c_log_file
  "Windows Server 2003 and Windows XP with SP2: This parameter is reserved and must be NULL." / "Windows Vista and
   Windows Server 2008: This parameter is new for Windows Vista, and Windows Server 2008"
      test_log_data_is_accepted_as_on_vista_and_later

pOverlapped
  "For asynchronous calls, set pOverlapped to point to an OVERLAPPED structure; for synchronous calls, set it to
   NULL."
      test_overlapped_structure_makes_the_call_asynchronous
      test_overlapped_that_is_not_an_overlapped_is_invalid_parameter
  "A synchronous call blocks until all response data specified in the pEntityChunks parameter is sent, whereas an
   asynchronous call immediately returns ERROR_IO_PENDING and the calling application then uses
   GetOverlappedResult or I/O completion ports to determine when the operation is completed."
      test_synchronous_call_blocks_until_the_data_is_sent
      test_asynchronous_call_returns_io_pending_then_get_overlapped_result_completes_it
      test_asynchronous_call_completes_through_an_io_completion_port
  "For more information about using OVERLAPPED structures for synchronization, see Synchronization and
   Overlapped Input and Output."
      test_overlapped_event_is_signalled_at_completion

pReserved1 [in] "This parameter is reserved and must be NULL."
      test_reserved1_must_be_null

Returns
  "If the function succeeds, the return value is NO_ERROR."
      test_success_is_no_error
  "If the function is used asynchronously, a return value of ERROR_IO_PENDING indicates that the next request is
   not yet ready and is retrieved later through normal overlapped I/O completion mechanisms."
      test_io_pending_means_the_send_completes_later_through_overlapped_completion
  "If the function fails, the return value is one of the following error codes."
    ERROR_INVALID_PARAMETER "One or more of the supplied parameters is in an unusable form."
      test_invalid_parameter_for_a_parameter_in_an_unusable_form
    ERROR_BAD_COMMAND "There is a call pending to HttpSendHttpResponse or HttpSendResponseEntityBody having the same
     RequestId."
      test_bad_command_while_http_send_http_response_is_pending_on_the_request_id
      test_bad_command_while_http_send_response_entity_body_is_pending_on_the_request_id
    Other "A system error code defined in WinError.h."
      test_other_failures_are_system_error_codes
      test_before_http_initialize_the_call_is_dll_init_failed

Remarks
  "If neither a Content-length header nor a Transfer-encoding header is included in the response headers, the
   application must indicate the end of the response by explicitly closing the connection using the
   HTTP_SEND_RESPONSE_DISCONNECT flag."
      test_without_content_length_or_transfer_encoding_disconnect_ends_the_response

Note
  "HttpSendResponseEntityBody (or HttpSendHttpResponse) and HttpSendResponseEntityBody must not be called
   simultaneously from different threads on the same RequestId."
      test_simultaneous_sends_from_two_threads_on_one_request_id_are_refused
"""

from __future__ import annotations

import ctypes
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from httpsys.win32 import *
from httpsys.win32 import api as win32_api

from .harness import (
    RawClient,
    Server,
    create_queue,
    free_port,
    make_response,
    memory_chunk,
    read_body,
    receive,
    wait,
)
from .strict_client import StrictClient

MORE = HTTP_SEND_RESPONSE_FLAG_MORE_DATA
BIG = 64 * 1024 * 1024  # far more than loopback socket buffers hold: a send of this size pends until read


# ----- helpers ---------------------------------------------------------------------------------------------------


@pytest.fixture
def strict() -> Iterator[Callable[[int], StrictClient]]:
    clients: list[StrictClient] = []

    def factory(port: int) -> StrictClient:
        c = StrictClient(port)
        clients.append(c)
        return c

    yield factory
    for c in clients:
        c.close()


def started(
    queue: int,
    c: RawClient | StrictClient,
    known: dict[int, bytes] | None = None,
    flags: int = MORE,
    **kw: Any,
) -> int:
    """A GET from `c` whose response head went out with MORE_DATA; returns the RequestId."""
    if isinstance(c, StrictClient):
        c.get()
    else:
        c.get("/", None)
    request = receive(queue)
    sent = ctypes.c_ulong()
    response = make_response(known=known or {}, **kw)
    assert (
        HttpSendHttpResponse(queue, request.RequestId, flags, response, None, sent, None, 0, None, None)
        == NO_ERROR
    )
    return request.RequestId


def body(
    queue: int,
    request_id: int,
    data: bytes | list[HTTP_DATA_CHUNK] = b"",
    flags: int = 0,
    *,
    sent: object = "holder",
    overlapped: OVERLAPPED | None = None,
    log: object = None,
    reserved1: object = None,
    reserved2: object = 0,
    count: int | None = None,
) -> tuple[int, int]:
    """HttpSendResponseEntityBody with every parameter spelled out; (code, BytesSent)."""
    chunks = data if isinstance(data, list) else ([memory_chunk(data)] if data else [])
    holder = ctypes.c_ulong(0xDEAD) if sent == "holder" else sent
    code = HttpSendResponseEntityBody(
        queue,
        request_id,
        flags,
        len(chunks) if count is None else count,
        chunks,
        holder,
        reserved1,
        reserved2,
        overlapped,
        log,
    )
    return code, (holder.value if isinstance(holder, ctypes.c_ulong) else -1)


def head_and_body(c: RawClient, length: int, timeout: float = 5.0) -> tuple[bytes, bytes]:
    head = c.recv_until(b"\r\n\r\n", timeout)
    return head, c.recv_exact(length, timeout)


def drain_in_background(sock: socket.socket) -> tuple[threading.Thread, list[int]]:
    """Read and count everything the server sends until it closes (or the socket times out)."""
    got = [0]

    def run() -> None:
        sock.settimeout(10)
        try:
            while True:
                data = sock.recv(1 << 20)
                if not data:
                    return
                got[0] += len(data)
        except OSError:
            return

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, got


def pending_send(queue: int, request_id: int, size: int = BIG, flags: int = MORE) -> OVERLAPPED:
    """An overlapped entity-body send too large for the socket buffers of a client that reads nothing."""
    ov = OVERLAPPED()
    code, _ = body(queue, request_id, [memory_chunk(b"p" * size)], flags, sent=None, overlapped=ov)
    assert code == ERROR_IO_PENDING
    return ov


def accepted_until_blocked(queue: int, c: RawClient, flags: int, step: int = 16384) -> int:
    """Body bytes whose sends completed while `c` read nothing, before one send stayed pending."""
    request_id = started(queue, c, flags=MORE | flags)
    chunk = [memory_chunk(b"b" * step)]
    total = 0
    while True:
        ov = OVERLAPPED()
        code, _ = body(queue, request_id, chunk, MORE | flags, sent=None, overlapped=ov)
        assert code in (NO_ERROR, ERROR_IO_PENDING)
        if code == ERROR_IO_PENDING and not GetOverlappedResultEx(queue, ov, ctypes.c_ulong(), 200, False):
            c.close()  # the pending send fails once the connection is gone
            wait(queue, ov)
            return total
        total += step
        assert total < 256 * 1024 * 1024, "sends never blocked"


class RecordingLogs:
    """A LogHook that records what the driver asks to log (embedded transport only)."""

    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []
        self.owners: set[tuple[str, int]] = set()

    def configure(self, owner: tuple[str, int], config: object | None) -> int:
        if config is None:
            self.owners.discard(owner)
        else:
            self.owners.add(owner)
        return NO_ERROR

    def configured(self, owner: tuple[str, int]) -> bool:
        return owner in self.owners

    def response(self, owners: list[tuple[str, int]], fields: dict[str, Any]) -> None:
        self.lines.append(fields)

    def error(self, fields: dict[str, Any]) -> None:
        pass

    def close(self) -> None:
        pass


@pytest.fixture
def logs(server: Server) -> Iterator[RecordingLogs]:
    transport: Any = win32_api._state.transport
    driver = transport.driver
    hook = RecordingLogs()
    previous = transport._call(lambda: driver.logs)
    transport._call(lambda: setattr(driver, "logs", hook))
    info = HTTP_LOGGING_INFO(
        Flags=HTTP_PROPERTY_FLAGS(1),
        DirectoryName=tempfile.gettempdir(),
        Format=HttpLoggingTypeW3C,
        Fields=0xFFFF,
        RolloverType=HttpLoggingRolloverDaily,
    )
    assert HttpSetUrlGroupProperty(server.group, HttpServerLoggingProperty, info, sizeof(info)) == NO_ERROR
    yield hook
    transport._call(lambda: setattr(driver, "logs", previous))


def log_fields(**fields: Any) -> HTTP_LOG_FIELDS_DATA:
    return HTTP_LOG_FIELDS_DATA(Base=HTTP_LOG_DATA(HttpLogDataTypeFields), **fields)


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


embedded_only = pytest.mark.embedded_only("inside")  # tests/conftest.py


# ----- Description -----------------------------------------------------------------------------------------------


def test_sends_entity_body_data_associated_with_an_http_response(server: Server, strict) -> None:
    c = strict(server.port)
    request_id = started(
        server.queue, c, {HttpHeaderContentLength: b"11", HttpHeaderContentType: b"text/plain"}
    )
    assert body(server.queue, request_id, b"entity", MORE)[0] == NO_ERROR
    assert body(server.queue, request_id, b"-body")[0] == NO_ERROR
    reply = c.reply()
    assert (reply.status, reply.header(b"Content-Type"), reply.body) == (200, b"text/plain", b"entity-body")


# ----- RequestQueueHandle ----------------------------------------------------------------------------------------


def test_request_queue_handle_is_the_queue_the_request_was_retrieved_from(server: Server, client) -> None:
    other = create_queue()
    c = client(server.port)
    request_id = started(server.queue, c, {HttpHeaderContentLength: b"2"})
    assert body(other, request_id, b"no")[0] == ERROR_CONNECTION_INVALID  # not the queue it came from
    assert body(server.queue, request_id, b"ok")[0] == NO_ERROR
    assert head_and_body(c, 2)[1] == b"ok"


def test_an_invalid_request_queue_handle_is_invalid_handle(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server.queue, c, {HttpHeaderContentLength: b"1"})
    assert body(0, request_id, b"x")[0] == ERROR_INVALID_HANDLE
    assert body(0xBAD0, request_id, b"x")[0] == ERROR_INVALID_HANDLE
    closed = create_queue()
    assert HttpCloseRequestQueue(closed) == NO_ERROR
    assert body(closed, request_id, b"x")[0] == ERROR_INVALID_HANDLE


def test_request_queue_handle_from_http_create_request_queue(initialized: None, client) -> None:
    session, group = ctypes.c_ulonglong(), ctypes.c_ulonglong()
    queue = ctypes.c_void_p()
    assert HttpCreateServerSession(HTTPAPI_VERSION_2, session, 0) == NO_ERROR
    assert HttpCreateUrlGroup(session.value, group, 0) == NO_ERROR
    assert HttpCreateRequestQueue(HTTPAPI_VERSION_2, "seed-queue", None, 0, queue) == NO_ERROR
    binding = HTTP_BINDING_INFO(HTTP_PROPERTY_FLAGS(1), queue.value)
    assert (
        HttpSetUrlGroupProperty(group.value, HttpServerBindingProperty, binding, sizeof(binding)) == NO_ERROR
    )
    port = free_port()
    assert HttpAddUrlToUrlGroup(group.value, f"http://+:{port}/", 0, 0) == NO_ERROR
    c = client(port)
    request_id = started(int(queue.value or 0), c, {HttpHeaderContentLength: b"2"})
    assert body(int(queue.value or 0), request_id, b"v2")[0] == NO_ERROR
    assert head_and_body(c, 2)[1] == b"v2"


def test_request_queue_handle_from_http_create_http_handle(initialized: None, client) -> None:
    handle = ctypes.c_void_p()
    assert HttpCreateHttpHandle(handle, 0) == NO_ERROR
    port = free_port()
    assert HttpAddUrl(handle.value, f"http://+:{port}/", None) == NO_ERROR
    c = client(port)
    request_id = started(int(handle.value or 0), c, {HttpHeaderContentLength: b"2"})
    assert body(int(handle.value or 0), request_id, b"v1")[0] == NO_ERROR
    assert head_and_body(c, 2)[1] == b"v1"
    assert CloseHandle(handle.value)


# ----- RequestId -------------------------------------------------------------------------------------------------


def test_request_id_names_the_request_the_response_corresponds_to(server: Server, client) -> None:
    first, second = client(server.port), client(server.port)
    id_first = started(server.queue, first, {HttpHeaderContentLength: b"5"})
    id_second = started(server.queue, second, {HttpHeaderContentLength: b"6"})
    assert id_first != id_second
    assert body(server.queue, id_second, b"second")[0] == NO_ERROR
    assert body(server.queue, id_first, b"first")[0] == NO_ERROR
    assert head_and_body(first, 5)[1] == b"first"
    assert head_and_body(second, 6)[1] == b"second"


def test_request_id_is_the_one_http_receive_http_request_returned(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server.queue, c, {HttpHeaderContentLength: b"1"})
    for bogus in (request_id + 1, request_id ^ 0xFFFF0000, 0xFFFFFFFFFFFFFFFF):
        assert body(server.queue, bogus, b"x")[0] == ERROR_CONNECTION_INVALID
    assert body(server.queue, request_id, b"x")[0] == NO_ERROR


def test_request_id_cannot_be_http_null_id(server: Server) -> None:
    assert body(server.queue, HTTP_NULL_ID, b"x")[0] == ERROR_CONNECTION_INVALID
    # checked before the BytesSent rule
    assert body(server.queue, HTTP_NULL_ID, b"x", sent=None)[0] == ERROR_CONNECTION_INVALID


# ----- Flags -----------------------------------------------------------------------------------------------------


def test_flags_are_bits_that_combine_except_where_the_page_forbids_it(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server.queue, c, {HttpHeaderContentLength: b"3"})
    combined = MORE | HTTP_SEND_RESPONSE_FLAG_BUFFER_DATA | HTTP_SEND_RESPONSE_FLAG_ENABLE_NAGLING
    assert body(server.queue, request_id, b"a", combined)[0] == NO_ERROR
    assert body(server.queue, request_id, b"b", MORE | HTTP_SEND_RESPONSE_FLAG_PROCESS_RANGES)[0] == NO_ERROR
    final = HTTP_SEND_RESPONSE_FLAG_DISCONNECT | HTTP_SEND_RESPONSE_FLAG_BUFFER_DATA
    assert body(server.queue, request_id, b"c", final)[0] == NO_ERROR
    assert head_and_body(c, 3)[1] == b"abc"
    assert c.closed_by_peer() == "eof"


@pytest.mark.parametrize("bit", [0x10, 0x80, 0x400, 0x80000000])
def test_unknown_flag_bits_are_invalid_parameter(server: Server, client, bit: int) -> None:
    c = client(server.port)
    request_id = started(server.queue, c, {HttpHeaderContentLength: b"1"})
    assert body(server.queue, request_id, b"x", bit)[0] == ERROR_INVALID_PARAMETER
    assert body(server.queue, request_id, b"x")[0] == NO_ERROR


def test_disconnect_disconnects_after_sending_this_response(server: Server, strict) -> None:
    c = strict(server.port)
    request_id = started(server.queue, c, {HttpHeaderContentLength: b"4"})
    assert body(server.queue, request_id, b"done", HTTP_SEND_RESPONSE_FLAG_DISCONNECT)[0] == NO_ERROR
    assert c.reply().body == b"done"  # the whole response first ...
    assert c.server_closed()  # ... then the connection goes


def test_disconnect_overrides_http_1_1_persistent_connections(server: Server, client) -> None:
    c = client(server.port)
    c.send(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n")
    request_id = receive(server.queue).RequestId
    sent = ctypes.c_ulong()
    response = make_response(known={HttpHeaderContentLength: b"2"})
    assert (
        HttpSendHttpResponse(server.queue, request_id, MORE, response, None, sent, None, 0, None, None) == 0
    )
    assert body(server.queue, request_id, b"ka", HTTP_SEND_RESPONSE_FLAG_DISCONNECT)[0] == NO_ERROR
    head, data = head_and_body(c, 2)
    assert b"Connection" not in head  # the head promised a persistent connection ...
    assert data == b"ka" and c.closed_by_peer() == "eof"  # ... DISCONNECT on the last call overrides it


def test_disconnect_indicates_the_end_of_an_entity_without_length_or_chunking(server: Server, strict) -> None:
    c = strict(server.port)
    request_id = started(server.queue, c)  # neither Content-Length nor Transfer-Encoding
    assert body(server.queue, request_id, b"close-", MORE)[0] == NO_ERROR
    assert body(server.queue, request_id, b"delimited", HTTP_SEND_RESPONSE_FLAG_DISCONNECT)[0] == NO_ERROR
    reply = c.reply()  # h11 reads a body that ends at EOF
    assert reply.body == b"close-delimited" and reply.header(b"Content-Length") is None
    assert reply.header(b"Transfer-Encoding") is None and reply.closed


def test_more_data_announces_further_calls_for_this_response(server: Server, strict) -> None:
    c = strict(server.port)
    request_id = started(server.queue, c, {HttpHeaderContentLength: b"9"})
    for part in (b"one", b"two"):
        assert body(server.queue, request_id, part, MORE) == (NO_ERROR, 3)
    assert body(server.queue, request_id, b"six") == (NO_ERROR, 3)
    assert c.reply().body == b"onetwosix"


def test_more_data_bytes_go_out_raw_without_framing(server: Server, strict) -> None:
    c = strict(server.port)
    request_id = started(server.queue, c, {HttpHeaderTransferEncoding: b"chunked"})
    assert body(server.queue, request_id, b"4\r\nraw!\r\n", MORE)[0] == NO_ERROR  # the app frames its chunks
    assert body(server.queue, request_id, b"0\r\n\r\n")[0] == NO_ERROR
    reply = c.reply()
    assert reply.body == b"raw!" and reply.raw.endswith(b"\r\n\r\n4\r\nraw!\r\n0\r\n\r\n")


def test_the_last_call_without_more_data_ends_the_response(server: Server, strict) -> None:
    c = strict(server.port)
    request_id = started(server.queue, c, {HttpHeaderContentLength: b"4"})
    assert body(server.queue, request_id, b"last")[0] == NO_ERROR
    assert c.reply().body == b"last"
    assert body(server.queue, request_id, b"late")[0] == ERROR_CONNECTION_INVALID  # the RequestId is spent
    next_id = started(server.queue, c, {HttpHeaderContentLength: b"4"})  # the connection carries the next one
    assert next_id != request_id
    assert body(server.queue, next_id, b"next")[0] == NO_ERROR
    assert c.reply().body == b"next"


def test_buffer_data_lets_a_send_complete_once_the_data_is_buffered(server: Server, client) -> None:
    buffered = accepted_until_blocked(server.queue, client(server.port), HTTP_SEND_RESPONSE_FLAG_BUFFER_DATA)
    plain = accepted_until_blocked(server.queue, client(server.port), 0)
    # same kernel socket buffers on both connections; BUFFER_DATA also lets up to 256 KiB wait in the driver
    assert 128 * 1024 <= buffered - plain <= 272 * 1024, (buffered, plain)


def test_buffer_data_buffering_is_bounded(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server.queue, c, flags=MORE | HTTP_SEND_RESPONSE_FLAG_BUFFER_DATA)
    flags = MORE | HTTP_SEND_RESPONSE_FLAG_BUFFER_DATA
    ov = pending_send(server.queue, request_id, BIG, flags)  # not buffered whole: it waits for the client
    assert GetOverlappedResultEx(server.queue, ov, ctypes.c_ulong(), 300, False) is False
    assert GetLastError() == WAIT_TIMEOUT
    thread, got = drain_in_background(c.sock)
    ok, _, nbytes = wait(server.queue, ov)
    assert ok and nbytes == BIG
    assert body(server.queue, request_id, b"", HTTP_SEND_RESPONSE_FLAG_DISCONNECT)[0] == NO_ERROR
    thread.join(10)
    assert got[0] > BIG


def test_buffer_data_with_synchronous_io(server: Server, client) -> None:
    c = client(server.port)  # reads nothing until the end
    flags = HTTP_SEND_RESPONSE_FLAG_BUFFER_DATA
    request_id = started(server.queue, c, {HttpHeaderContentLength: b"%d" % (64 * 4096)}, MORE | flags)
    started_at = time.monotonic()
    for _ in range(63):
        assert body(server.queue, request_id, b"s" * 4096, MORE | flags) == (NO_ERROR, 4096)
    assert body(server.queue, request_id, b"s" * 4096, flags) == (NO_ERROR, 4096)
    assert time.monotonic() - started_at < 2.0  # every call returned as soon as its data was buffered
    assert head_and_body(c, 64 * 4096)[1] == b"s" * (64 * 4096)


def test_buffer_data_with_one_asynchronous_send_outstanding(server: Server, client) -> None:
    c = client(server.port)
    flags = HTTP_SEND_RESPONSE_FLAG_BUFFER_DATA
    request_id = started(server.queue, c, {HttpHeaderContentLength: b"30"}, MORE | flags)
    for i in range(3):
        ov = OVERLAPPED()
        final = i == 2
        code, _ = body(
            server.queue, request_id, b"%010d" % i, flags | (0 if final else MORE), sent=None, overlapped=ov
        )
        assert code in (NO_ERROR, ERROR_IO_PENDING)
        assert wait(server.queue, ov)[0]  # one outstanding at a time: complete before the next
    assert head_and_body(c, 30)[1] == b"000000000000000000010000000002"


@pytest.mark.parametrize("flags", [0, HTTP_SEND_RESPONSE_FLAG_BUFFER_DATA])
def test_a_second_outstanding_send_on_one_request_is_refused_with_or_without_buffer_data(
    server: Server, client, flags: int
) -> None:
    c = client(server.port)
    request_id = started(server.queue, c, flags=MORE | flags)
    ov = pending_send(server.queue, request_id, BIG, MORE | flags)
    second = OVERLAPPED()
    code, _ = body(server.queue, request_id, b"second", MORE | flags, sent=None, overlapped=second)
    assert code == ERROR_BAD_COMMAND
    assert HasOverlappedIoCompleted(second)  # nothing is pending for the refused call
    c.close()
    ok, error, _ = wait(server.queue, ov)
    assert not ok and error == ERROR_CONNECTION_INVALID


def test_buffer_data_used_consistently_with_http_send_http_response(server: Server, strict) -> None:
    c = strict(server.port)
    flags = HTTP_SEND_RESPONSE_FLAG_BUFFER_DATA
    request_id = started(server.queue, c, {HttpHeaderContentLength: b"8"}, MORE | flags, body=b"head")
    assert body(server.queue, request_id, b"body", flags) == (NO_ERROR, 4)
    reply = c.reply()
    assert reply.body == b"headbody" and not reply.closed


def test_buffer_data_is_supported_as_since_windows_server_2003_sp1(server: Server, strict) -> None:
    c = strict(server.port)
    c.get()
    request_id = receive(server.queue).RequestId
    sent = ctypes.c_ulong()
    response = make_response(body=b"buffered")
    code = HttpSendHttpResponse(
        server.queue,
        request_id,
        HTTP_SEND_RESPONSE_FLAG_BUFFER_DATA,
        response,
        None,
        sent,
        None,
        0,
        None,
        None,
    )
    assert code == NO_ERROR and c.reply().body == b"buffered"


def _server_socket_nodelay(c: RawClient) -> int:
    """TCP_NODELAY of the driver's end of `c`'s connection (found among this process's descriptors)."""
    mine = c.sock.getsockname()
    for name in os.listdir("/proc/self/fd"):
        try:
            sock = socket.socket(fileno=os.dup(int(name)))
        except OSError:
            continue
        try:
            if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.getpeername()[:2] == mine[:2]:
                return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        except OSError:
            pass
        finally:
            sock.close()
    raise AssertionError("the driver's socket was not found")


@embedded_only
def test_enable_nagling_enables_nagle_for_this_send_only(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server.queue, c, {HttpHeaderContentLength: b"3"})
    assert _server_socket_nodelay(c) == 1  # the driver runs with Nagle off
    assert body(server.queue, request_id, b"n", MORE | HTTP_SEND_RESPONSE_FLAG_ENABLE_NAGLING)[0] == NO_ERROR
    assert _server_socket_nodelay(c) == 0  # this send went out with Nagle on
    assert body(server.queue, request_id, b"o", MORE)[0] == NO_ERROR
    assert _server_socket_nodelay(c) == 1  # and the next send without the flag does not
    assert body(server.queue, request_id, b"!")[0] == NO_ERROR
    assert head_and_body(c, 3)[1] == b"no!"


def test_enable_nagling_is_accepted_and_the_data_delivered_as_on_vista_and_later(
    server: Server, strict
) -> None:
    c = strict(server.port)
    request_id = started(
        server.queue, c, {HttpHeaderContentLength: b"6"}, MORE | HTTP_SEND_RESPONSE_FLAG_ENABLE_NAGLING
    )
    assert body(server.queue, request_id, b"nagle!", HTTP_SEND_RESPONSE_FLAG_ENABLE_NAGLING) == (NO_ERROR, 6)
    assert c.reply().body == b"nagle!"


def _ranged(
    server: Server, c: StrictClient, range_value: bytes, entity: bytes, method: bytes = b"GET"
) -> Any:
    c.request(method, b"/", [(b"Range", range_value)])
    request_id = receive(server.queue).RequestId
    sent = ctypes.c_ulong()
    response = make_response(body=entity, known={HttpHeaderContentType: b"text/plain"})
    flags = HTTP_SEND_RESPONSE_FLAG_PROCESS_RANGES
    assert (
        HttpSendHttpResponse(server.queue, request_id, flags, response, None, sent, None, 0, None, None) == 0
    )
    return c.reply()


def test_process_ranges_cuts_the_requested_range_out_of_the_full_content(server: Server, strict) -> None:
    c = strict(server.port)
    reply = _ranged(server, c, b"bytes=3-6", b"0123456789")
    assert (reply.status, reply.reason, reply.body) == (206, b"Partial Content", b"3456")
    assert reply.header(b"Content-Range") == b"bytes 3-6/10" and reply.header(b"Content-Length") == b"4"


def test_process_ranges_answers_an_unsatisfiable_range_with_416(server: Server, strict) -> None:
    c = strict(server.port)
    reply = _ranged(server, c, b"bytes=10-", b"0123456789")
    assert reply.status == 416 and reply.body == b""
    assert reply.header(b"Content-Range") == b"bytes */10"


@pytest.mark.parametrize("method", [b"HEAD", b"POST", b"PUT"])
def test_process_ranges_is_only_applied_to_get_requests(server: Server, strict, method: bytes) -> None:
    c = strict(server.port)
    entity = b"" if method == b"HEAD" else b"0123456789"
    reply = _ranged(server, c, b"bytes=0-1", entity, method)
    assert reply.status == 200 and reply.header(b"Content-Range") is None and reply.body == entity


@pytest.mark.parametrize(
    "range_value",
    [
        b"items=0-1",
        b"bytes=5-3",
        b"bytes=abc",
        b"bytes=" + b",".join(b"%d-%d" % (i * 3, i * 3) for i in range(17)),
    ],
)
def test_process_ranges_offers_a_limited_subset(server: Server, strict, range_value: bytes) -> None:
    c = strict(server.port)
    reply = _ranged(server, c, range_value, b"0123456789" * 10)
    assert reply.status == 200 and reply.body == b"0123456789" * 10  # not understood: the full entity


def test_range_processing_in_user_mode_is_sent_as_given(server: Server, strict) -> None:
    c = strict(server.port)
    c.request(b"GET", b"/", [(b"Range", b"bytes=0-1")])
    request_id = receive(server.queue).RequestId
    response = make_response(
        status=206, reason=b"Partial Content", body=b"01", known={HttpHeaderContentRange: b"bytes 0-1/10"}
    )
    sent = ctypes.c_ulong()
    assert HttpSendHttpResponse(server.queue, request_id, 0, response, None, sent, None, 0, None, None) == 0
    reply = c.reply()
    assert (reply.status, reply.body, reply.header(b"Content-Range")) == (206, b"01", b"bytes 0-1/10")


def test_process_ranges_is_supported_as_on_windows_7_and_later(server: Server, strict) -> None:
    c = strict(server.port)
    reply = _ranged(server, c, b"bytes=-3", b"discouraged")
    assert (reply.status, reply.body) == (206, b"ged")


def test_process_ranges_on_an_entity_body_call_leaves_the_started_response_alone(
    server: Server, strict
) -> None:
    c = strict(server.port)
    c.request(b"GET", b"/", [(b"Range", b"bytes=0-1")])
    request_id = receive(server.queue).RequestId
    sent = ctypes.c_ulong()
    response = make_response(known={HttpHeaderContentLength: b"6"})
    assert (
        HttpSendHttpResponse(server.queue, request_id, MORE, response, None, sent, None, 0, None, None) == 0
    )
    assert body(server.queue, request_id, b"abcdef", HTTP_SEND_RESPONSE_FLAG_PROCESS_RANGES) == (NO_ERROR, 6)
    reply = c.reply()
    assert (reply.status, reply.body) == (200, b"abcdef")  # the head was already out: nothing to reshape


def _upgraded(server: Server, c: StrictClient, flags: int = HTTP_SEND_RESPONSE_FLAG_OPAQUE) -> int:
    c.request(b"GET", b"/chat", [(b"Connection", b"Upgrade"), (b"Upgrade", b"raw-bytes")])
    request_id = receive(server.queue).RequestId
    response = HTTP_RESPONSE_V2(StatusCode=101, pReason=b"Switching Protocols")
    response.Headers.KnownHeaders[HttpHeaderUpgrade] = HTTP_KNOWN_HEADER(pRawValue=b"raw-bytes")
    response.Headers.pUnknownHeaders = [HTTP_UNKNOWN_HEADER(pName=b"Connection", pRawValue=b"Upgrade")]
    sent = ctypes.c_ulong()
    assert (
        HttpSendHttpResponse(server.queue, request_id, flags, response, None, sent, None, 0, None, None) == 0
    )
    assert c.reply().status == 101
    return request_id


def test_opaque_makes_all_subsequent_bytes_entity_body_both_ways(server: Server, strict) -> None:
    c = strict(server.port)
    request_id = _upgraded(server, c)
    c.sock.sendall(b"GET /not-a-request HTTP/1.1\r\n\r\n")  # not parsed as HTTP any more
    assert read_body(server.queue, request_id)[1] == b"GET /not-a-request HTTP/1.1\r\n\r\n"
    assert body(server.queue, request_id, b"HTTP/1.1 200 nope\r\n", MORE) == (NO_ERROR, 19)
    received = c.trailing()
    while len(received) < 19:
        received += c.sock.recv(100)
    assert received == b"HTTP/1.1 200 nope\r\n"
    c.sock.shutdown(socket.SHUT_WR)
    assert read_body(server.queue, request_id)[0] == ERROR_HANDLE_EOF  # the client ended its direction
    assert body(server.queue, request_id, b"bye")[0] == NO_ERROR  # the final send ends ours
    assert c.sock.recv(10) == b"bye"
    assert c.server_closed()


def test_opaque_accepts_a_websocket_upgrade_request(server: Server, strict) -> None:
    c = strict(server.port)
    key = b"dGhlIHNhbXBsZSBub25jZQ=="
    c.request(
        b"GET",
        b"/ws",
        [
            (b"Connection", b"Upgrade"),
            (b"Upgrade", b"websocket"),
            (b"Sec-WebSocket-Key", key),
            (b"Sec-WebSocket-Version", b"13"),
        ],
    )
    request_id = receive(server.queue).RequestId
    response = HTTP_RESPONSE_V2(StatusCode=101, pReason=b"Switching Protocols")
    response.Headers.KnownHeaders[HttpHeaderUpgrade] = HTTP_KNOWN_HEADER(pRawValue=b"websocket")
    response.Headers.pUnknownHeaders = [
        HTTP_UNKNOWN_HEADER(pName=b"Connection", pRawValue=b"Upgrade"),
        HTTP_UNKNOWN_HEADER(pName=b"Sec-WebSocket-Accept", pRawValue=b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
    ]
    flags = HTTP_SEND_RESPONSE_FLAG_OPAQUE | MORE | HTTP_SEND_RESPONSE_FLAG_BUFFER_DATA  # as ASP.NET sends it
    sent = ctypes.c_ulong()
    assert (
        HttpSendHttpResponse(server.queue, request_id, flags, response, None, sent, None, 0, None, None) == 0
    )
    reply = c.reply()
    assert reply.status == 101 and reply.header(b"Sec-WebSocket-Accept") == b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    assert reply.header(b"Content-Length") is None
    frame = b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"  # RFC 6455 §5.7: masked "Hello"
    c.sock.sendall(frame)
    assert read_body(server.queue, request_id)[1] == frame
    assert (
        body(server.queue, request_id, b"\x81\x05Hello", MORE | HTTP_SEND_RESPONSE_FLAG_BUFFER_DATA)[0] == 0
    )
    assert c.sock.recv(7) == b"\x81\x05Hello"


def test_opaque_on_an_entity_body_call_after_a_101_makes_the_connection_opaque(
    server: Server, strict
) -> None:
    c = strict(server.port)
    request_id = _upgraded(server, c, flags=MORE)  # the 101 itself went out without OPAQUE
    assert body(server.queue, request_id, b"x", HTTP_SEND_RESPONSE_FLAG_OPAQUE | MORE)[0] == NO_ERROR
    c.sock.sendall(b"opaque now")
    ov = OVERLAPPED()
    buffer = bytearray(64)
    code = HttpReceiveRequestEntityBody(server.queue, request_id, 0, buffer, 64, None, ov)
    assert code in (NO_ERROR, ERROR_IO_PENDING), code
    ok, _, nbytes = wait(server.queue, ov, 3)
    assert ok and buffer[:nbytes] == b"opaque now"


@pytest.mark.parametrize("status", [200, 100, 102, 204, 426])
def test_opaque_is_only_allowed_when_the_status_code_is_101(server: Server, strict, status: int) -> None:
    c = strict(server.port)
    c.request(b"GET", b"/", [(b"Connection", b"Upgrade"), (b"Upgrade", b"x")])
    request_id = receive(server.queue).RequestId
    sent = ctypes.c_ulong()
    flags = HTTP_SEND_RESPONSE_FLAG_OPAQUE | MORE
    response = make_response(status=status, reason=b"X")
    assert HttpSendHttpResponse(
        server.queue, request_id, flags, response, None, sent, None, 0, None, None
    ) == (ERROR_INVALID_PARAMETER)
    assert (
        HttpSendHttpResponse(
            server.queue, request_id, 0, make_response(body=b"no"), None, sent, None, 0, None, None
        )
        == NO_ERROR
    )
    assert c.reply().body == b"no"


@pytest.mark.parametrize("status", [200, 206, 404])
def test_opaque_on_an_entity_body_call_for_another_status_is_invalid_parameter(
    server: Server, client, status: int
) -> None:
    c = client(server.port)
    request_id = started(server.queue, c, {HttpHeaderContentLength: b"2"}, status=status, reason=b"X")
    assert (
        body(server.queue, request_id, b"op", HTTP_SEND_RESPONSE_FLAG_OPAQUE | MORE)[0]
        == ERROR_INVALID_PARAMETER
    )
    assert body(server.queue, request_id, b"op", HTTP_SEND_RESPONSE_FLAG_OPAQUE)[0] == ERROR_INVALID_PARAMETER
    assert body(server.queue, request_id, b"ok")[0] == NO_ERROR
    assert head_and_body(c, 2)[1] == b"ok"


def test_opaque_is_supported_as_on_windows_8_and_later(server: Server, strict) -> None:
    c = strict(server.port)
    request_id = _upgraded(server, c)
    assert body(server.queue, request_id, b"win8", MORE | HTTP_SEND_RESPONSE_FLAG_OPAQUE) == (NO_ERROR, 4)
    received = c.trailing()
    while len(received) < 4:
        received += c.sock.recv(10)
    assert received == b"win8"


def test_combining_disconnect_and_more_data_in_http_send_http_response_is_refused(
    server: Server, strict
) -> None:
    c = strict(server.port)
    c.get()
    request_id = receive(server.queue).RequestId
    sent = ctypes.c_ulong()
    both = HTTP_SEND_RESPONSE_FLAG_DISCONNECT | MORE
    response = make_response(body=b"x")
    assert HttpSendHttpResponse(
        server.queue, request_id, both, response, None, sent, None, 0, None, None
    ) == (ERROR_INVALID_PARAMETER)
    assert HttpSendHttpResponse(server.queue, request_id, 0, response, None, sent, None, 0, None, None) == 0
    assert c.reply().body == b"x"  # the refused call changed nothing


def test_combining_disconnect_and_more_data_in_http_send_response_entity_body_is_refused(
    server: Server, strict
) -> None:
    c = strict(server.port)
    request_id = started(server.queue, c, {HttpHeaderContentLength: b"1"})
    assert body(server.queue, request_id, b"x", HTTP_SEND_RESPONSE_FLAG_DISCONNECT | MORE)[0] == (
        ERROR_INVALID_PARAMETER
    )
    assert body(server.queue, request_id, b"x")[0] == NO_ERROR
    reply = c.reply()
    assert reply.body == b"x" and not reply.closed


# ----- EntityChunkCount / EntityChunks ---------------------------------------------------------------------------


def test_entity_chunk_count_is_the_number_of_structures_sent_from_the_array(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server.queue, c, {HttpHeaderContentLength: b"5"})
    chunks = [memory_chunk(b"ab"), memory_chunk(b"cde"), memory_chunk(b"NOT SENT")]
    assert body(server.queue, request_id, chunks, count=2) == (NO_ERROR, 5)
    assert head_and_body(c, 5)[1] == b"abcde"


def test_entity_chunk_count_beyond_the_array_is_invalid_parameter(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server.queue, c, {HttpHeaderContentLength: b"1"})
    assert body(server.queue, request_id, [memory_chunk(b"x")], count=2)[0] == ERROR_INVALID_PARAMETER
    code = HttpSendResponseEntityBody(
        server.queue, request_id, 0, 1, None, ctypes.c_ulong(), None, 0, None, None
    )
    assert code == ERROR_INVALID_PARAMETER  # a count with a NULL array
    assert body(server.queue, request_id, [memory_chunk(b"x")], count=1)[0] == NO_ERROR


def test_entity_chunk_count_zero_sends_no_data(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server.queue, c, {HttpHeaderContentLength: b"1"})
    assert body(server.queue, request_id, [memory_chunk(b"ignored")], MORE, count=0) == (NO_ERROR, 0)
    code = HttpSendResponseEntityBody(
        server.queue, request_id, MORE, 0, None, ctypes.c_ulong(), None, 0, None, None
    )
    assert code == NO_ERROR
    assert body(server.queue, request_id, b"!")[0] == NO_ERROR
    assert head_and_body(c, 1)[1] == b"!"


def test_entity_chunk_count_cannot_exceed_9999(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server.queue, c, {HttpHeaderContentLength: b"9999"})
    chunk = memory_chunk(b"z")
    assert body(server.queue, request_id, [chunk] * 10000)[0] == ERROR_INVALID_PARAMETER
    assert body(server.queue, request_id, [chunk] * 10000, count=10000)[0] == ERROR_INVALID_PARAMETER
    assert body(server.queue, request_id, [chunk] * 9999) == (NO_ERROR, 9999)
    assert head_and_body(c, 9999)[1] == b"z" * 9999


def test_entity_chunks_of_every_type_are_sent_as_entity_body(server: Server, strict) -> None:
    name = f"http://+:{server.port}/seed/fragment"
    policy = HTTP_CACHE_POLICY(HttpCachePolicyUserInvalidates, 0)
    assert HttpAddFragmentToCache(server.queue, name, memory_chunk(b"[fragment]"), policy, None) == NO_ERROR
    c = strict(server.port)
    with tempfile.TemporaryFile() as f:
        f.write(b"<file bytes>")
        f.flush()
        chunks = [
            memory_chunk(b"memory "),
            HTTP_DATA_CHUNK(
                DataChunkType=HttpDataChunkFromFileHandle,
                FromFileHandle=HTTP_DATA_CHUNK_FROM_FILE_HANDLE(HTTP_BYTE_RANGE(1, 4), f),
            ),
            HTTP_DATA_CHUNK(
                DataChunkType=HttpDataChunkFromFragmentCache,
                FromFragmentCache=HTTP_DATA_CHUNK_FROM_FRAGMENT_CACHE(pFragmentName=name),
            ),
            HTTP_DATA_CHUNK(
                DataChunkType=HttpDataChunkFromFragmentCacheEx,
                FromFragmentCacheEx=HTTP_DATA_CHUNK_FROM_FRAGMENT_CACHE_EX(HTTP_BYTE_RANGE(1, 4), name),
            ),
        ]
        request_id = started(server.queue, c, {HttpHeaderTransferEncoding: b"chunked"})
        framed = [memory_chunk(b"19\r\n"), *chunks, memory_chunk(b"\r\n")]
        trailers = HTTP_DATA_CHUNK(
            DataChunkType=HttpDataChunkTrailers,
            Trailers=HTTP_DATA_CHUNK_TRAILERS(1, [HTTP_UNKNOWN_HEADER(pName=b"X-Checksum", pRawValue=b"7")]),
        )
        last_chunk = b"0\r\nX-Checksum: 7\r\n\r\n"  # the Trailers chunk ends the chunked body
        assert body(server.queue, request_id, [*framed, trailers]) == (
            NO_ERROR,
            4 + 0x19 + 2 + len(last_chunk),
        )
    reply = c.reply()
    assert reply.body == b"memory file[fragment]frag"
    assert reply.trailers == [(b"X-Checksum", b"7")]


def test_entity_chunks_that_are_not_http_data_chunks_are_invalid_parameter(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server.queue, c, {HttpHeaderContentLength: b"1"})
    for bad in (["chunk"], [b"bytes"], [HTTP_BYTE_RANGE(0, 1)], [HTTP_DATA_CHUNK(DataChunkType=99)]):
        assert body(server.queue, request_id, bad)[0] == ERROR_INVALID_PARAMETER  # type: ignore[arg-type]
    assert body(server.queue, request_id, b"x")[0] == NO_ERROR


# ----- BytesSent, Reserved1, Reserved2, Overlapped, LogData ------------------------------------------------------


def test_the_tbd_parameters_are_positional_in_the_documented_order(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server.queue, c, {HttpHeaderContentLength: b"3"})
    sent = ctypes.c_ulong()
    log = log_fields(UriStem="/")
    # RequestQueueHandle, RequestId, Flags, EntityChunkCount, EntityChunks, BytesSent, Reserved1, Reserved2,
    # Overlapped, LogData
    code = HttpSendResponseEntityBody(
        server.queue, request_id, 0, 1, [memory_chunk(b"pos")], sent, None, 0, None, log
    )
    assert code == NO_ERROR and sent.value == 3
    assert head_and_body(c, 3)[1] == b"pos"


def test_reserved2_must_be_zero(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server.queue, c, {HttpHeaderContentLength: b"1"})
    for value in (1, 0x80000000, "0"):
        assert body(server.queue, request_id, b"x", reserved2=value)[0] == ERROR_INVALID_PARAMETER
    assert body(server.queue, request_id, b"x", reserved2=0)[0] == NO_ERROR


def test_bytes_sent_receives_the_number_of_bytes_sent_by_a_synchronous_call(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server.queue, c, {HttpHeaderContentLength: b"10"})
    assert body(server.queue, request_id, [memory_chunk(b"abc"), memory_chunk(b"defg")], MORE) == (
        NO_ERROR,
        7,
    )
    assert body(server.queue, request_id, [], MORE) == (NO_ERROR, 0)
    assert body(server.queue, request_id, b"hij") == (NO_ERROR, 3)
    assert head_and_body(c, 10)[1] == b"abcdefghij"


def test_bytes_sent_null_on_an_asynchronous_call_the_completion_carries_the_count(
    server: Server, client
) -> None:
    c = client(server.port)
    request_id = started(server.queue, c, {HttpHeaderContentLength: b"5"})
    ov = OVERLAPPED()
    assert body(server.queue, request_id, b"async", sent=None, overlapped=ov)[0] in (
        NO_ERROR,
        ERROR_IO_PENDING,
    )
    ok, _, nbytes = wait(server.queue, ov)
    assert ok and nbytes == 5
    assert head_and_body(c, 5)[1] == b"async"


def test_bytes_sent_given_on_an_asynchronous_call_is_tolerated(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server.queue, c, {HttpHeaderContentLength: b"4"})
    ov = OVERLAPPED()
    code, written = body(server.queue, request_id, b"told", overlapped=ov)
    assert code in (NO_ERROR, ERROR_IO_PENDING)
    ok, _, nbytes = wait(server.queue, ov)
    assert ok and nbytes == 4
    assert written == (4 if code == NO_ERROR else 0xDEAD)  # written only when the call completed at once


def test_bytes_sent_null_on_a_synchronous_call_is_invalid_parameter(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server.queue, c, {HttpHeaderContentLength: b"1"})
    assert body(server.queue, request_id, b"x", sent=None)[0] == ERROR_INVALID_PARAMETER
    assert body(server.queue, request_id, b"x")[0] == NO_ERROR


def test_bytes_sent_that_is_not_a_valid_address_is_invalid_parameter(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server.queue, c, {HttpHeaderContentLength: b"1"})
    for bad in ("address", 12345, b"\x00\x00\x00\x00", 1.5):
        assert body(server.queue, request_id, b"x", sent=bad)[0] == ERROR_INVALID_PARAMETER
    assert body(server.queue, request_id, b"x", sent=ctypes.pointer(ctypes.c_ulong()))[0] == NO_ERROR


@embedded_only
def test_log_data_is_used_to_log_the_response(server: Server, client, logs: RecordingLogs) -> None:
    c = client(server.port)
    request_id = started(server.queue, c, {HttpHeaderContentLength: b"3"})
    log = log_fields(UriStem="/seed", Method=b"GET", UserAgent=b"seed-agent", ProtocolStatus=200, SubStatus=7)
    assert body(server.queue, request_id, b"log", log=log)[0] == NO_ERROR
    assert head_and_body(c, 3)[1] == b"log"
    assert wait_for(lambda: len(logs.lines) == 1)
    given = logs.lines[0]["log_data"]
    assert given["UriStem"] == "/seed" and given["Method"] == b"GET" and given["UserAgent"] == b"seed-agent"
    assert given["ProtocolStatus"] == 200 and given["SubStatus"] == 7
    assert logs.lines[0]["status"] == 200


def test_log_data_fields_are_written_to_the_w3c_log_file(server: Server, client, tmp_path) -> None:
    info = HTTP_LOGGING_INFO(
        Flags=HTTP_PROPERTY_FLAGS(1),
        DirectoryName=str(tmp_path),
        Format=HttpLoggingTypeW3C,
        Fields=HTTP_LOG_FIELD_URI_STEM
        | HTTP_LOG_FIELD_USER_NAME
        | HTTP_LOG_FIELD_STATUS
        | HTTP_LOG_FIELD_SUB_STATUS,
        RolloverType=HttpLoggingRolloverDaily,
    )
    assert HttpSetUrlGroupProperty(server.group, HttpServerLoggingProperty, info, sizeof(info)) == NO_ERROR
    c = client(server.port)
    request_id = started(server.queue, c, {HttpHeaderContentLength: b"2"})
    assert body(server.queue, request_id, b"no")[0] == NO_ERROR  # logging is on, but no log data: no line
    assert head_and_body(c, 2)[1] == b"no"
    request_id = started(server.queue, c, {HttpHeaderContentLength: b"3"})
    log = log_fields(UriStem="/stem-from-log-data", UserName="seed-user", ProtocolStatus=299, SubStatus=5)
    assert body(server.queue, request_id, b"yes", log=log)[0] == NO_ERROR
    assert head_and_body(c, 3)[1] == b"yes"

    def lines() -> list[str]:
        found = [f for f in tmp_path.rglob("*.log") if f.is_file()]
        text = "".join(f.read_text() for f in found)
        return [line for line in text.splitlines() if line and not line.startswith("#")]

    assert wait_for(lambda: len(lines()) >= 1)
    time.sleep(0.1)  # a line for the first response would have been written before the second
    assert lines() == ["/stem-from-log-data seed-user 299 5"]


def test_log_data_must_be_http_log_fields_data(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server.queue, c, {HttpHeaderContentLength: b"1"})
    for bad in (HTTP_LOG_DATA(HttpLogDataTypeFields), b"log", HTTP_LOG_FIELDS_DATA(Base=HTTP_LOG_DATA(1))):
        assert body(server.queue, request_id, b"x", log=bad)[0] == ERROR_INVALID_PARAMETER
    assert body(server.queue, request_id, b"x", log=log_fields(Method=b"GET"))[0] == NO_ERROR


@embedded_only
def test_without_log_data_the_response_is_not_logged_although_logging_is_enabled(
    server: Server, client, logs: RecordingLogs
) -> None:
    c = client(server.port)
    request_id = started(server.queue, c, {HttpHeaderContentLength: b"2"})
    assert body(server.queue, request_id, b"no")[0] == NO_ERROR
    assert head_and_body(c, 2)[1] == b"no"
    c.get("/", server.port)
    request_id = started(server.queue, c, {HttpHeaderContentLength: b"2"})
    assert body(server.queue, request_id, b"o", MORE, log=log_fields(Method=b"GET"))[0] == NO_ERROR
    assert body(server.queue, request_id, b"k")[0] == NO_ERROR  # log data on a call that is not the last
    assert head_and_body(c, 2)[1] == b"ok"
    time.sleep(0.1)
    assert logs.lines == []


def test_log_data_is_accepted_as_on_vista_and_later(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server.queue, c, {HttpHeaderContentLength: b"5"})
    assert body(server.queue, request_id, b"vista", log=log_fields(UriStem="/v"))[0] == NO_ERROR
    assert head_and_body(c, 5)[1] == b"vista"


def test_overlapped_structure_makes_the_call_asynchronous(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server.queue, c)
    ov = pending_send(server.queue, request_id)  # asynchronous: returns at once although nothing can drain
    assert ov.Internal == ERROR_IO_PENDING
    thread, _ = drain_in_background(c.sock)
    ok, _, nbytes = wait(server.queue, ov)
    assert ok and nbytes == BIG
    assert body(server.queue, request_id, b"", HTTP_SEND_RESPONSE_FLAG_DISCONNECT)[0] == NO_ERROR
    thread.join(10)


def test_overlapped_that_is_not_an_overlapped_is_invalid_parameter(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server.queue, c, {HttpHeaderContentLength: b"1"})
    for bad in (object(), 0x1234, b"overlapped"):
        assert body(server.queue, request_id, b"x", overlapped=bad)[0] == ERROR_INVALID_PARAMETER  # type: ignore[arg-type]
    assert body(server.queue, request_id, b"x", overlapped=None)[0] == NO_ERROR


def test_synchronous_call_blocks_until_the_data_is_sent(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server.queue, c, {HttpHeaderContentLength: b"%d" % BIG})
    result: list[tuple[int, int]] = []
    sender = threading.Thread(target=lambda: result.append(body(server.queue, request_id, b"s" * BIG)))
    sender.start()
    sender.join(0.5)
    assert sender.is_alive() and not result  # the client reads nothing: the call cannot return
    thread, got = drain_in_background(c.sock)
    sender.join(10)
    assert result == [(NO_ERROR, BIG)] and got[0] > 0
    thread.join(0.5)


def test_asynchronous_call_returns_io_pending_then_get_overlapped_result_completes_it(
    server: Server, client
) -> None:
    c = client(server.port)
    request_id = started(server.queue, c, {HttpHeaderContentLength: b"%d" % BIG})
    ov = OVERLAPPED()
    assert body(server.queue, request_id, b"g" * BIG, sent=None, overlapped=ov)[0] == ERROR_IO_PENDING
    nbytes = ctypes.c_ulong()
    assert GetOverlappedResult(server.queue, ov, nbytes, False) is False
    assert GetLastError() == ERROR_IO_INCOMPLETE
    thread, _ = drain_in_background(c.sock)
    assert GetOverlappedResult(server.queue, ov, nbytes, True) is True
    assert nbytes.value == BIG
    thread.join(0.5)


def test_asynchronous_call_completes_through_an_io_completion_port(server: Server, client) -> None:
    port = CreateIoCompletionPort(server.queue, None, 0x5EED, 0)
    assert port
    c = client(server.port)
    request_id = started(server.queue, c, {HttpHeaderContentLength: b"%d" % BIG})
    ov = OVERLAPPED()
    assert body(server.queue, request_id, b"i" * BIG, sent=None, overlapped=ov)[0] == ERROR_IO_PENDING
    thread, _ = drain_in_background(c.sock)
    nbytes, key, done = ctypes.c_ulong(), ctypes.c_size_t(), LPOVERLAPPED()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the receive that fetched the request posted a packet first
        assert GetQueuedCompletionStatus(port, nbytes, key, done, 10000)
        if done.value is ov:
            break
    assert done.value is ov and key.value == 0x5EED and nbytes.value == BIG
    thread.join(0.5)
    CloseHandle(port)


def test_overlapped_event_is_signalled_at_completion(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server.queue, c, {HttpHeaderContentLength: b"%d" % BIG})
    ov = OVERLAPPED(hEvent=CreateEvent(None, True, False, None))
    assert body(server.queue, request_id, b"e" * BIG, sent=None, overlapped=ov)[0] == ERROR_IO_PENDING
    assert WaitForSingleObject(ov.hEvent, 100) == WAIT_TIMEOUT
    thread, _ = drain_in_background(c.sock)
    assert WaitForSingleObject(ov.hEvent, 10000) == WAIT_OBJECT_0
    assert ov.Internal == NO_ERROR and ov.InternalHigh == BIG
    thread.join(0.5)
    CloseHandle(ov.hEvent)


def test_reserved1_must_be_null(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server.queue, c, {HttpHeaderContentLength: b"1"})
    for value in (1, b"reserved", ctypes.c_void_p(0x1000), object()):
        assert body(server.queue, request_id, b"x", reserved1=value)[0] == ERROR_INVALID_PARAMETER
    assert body(server.queue, request_id, b"x", reserved1=None)[0] == NO_ERROR


# ----- Returns ---------------------------------------------------------------------------------------------------


def test_success_is_no_error(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server.queue, c, {HttpHeaderContentLength: b"2"})
    assert body(server.queue, request_id, b"ok") == (NO_ERROR, 2)
    assert NO_ERROR == 0


def test_io_pending_means_the_send_completes_later_through_overlapped_completion(
    server: Server, client
) -> None:
    c = client(server.port)
    request_id = started(server.queue, c)
    ov = pending_send(server.queue, request_id)
    assert ERROR_IO_PENDING == 997 and not HasOverlappedIoCompleted(ov)
    thread, _ = drain_in_background(c.sock)
    ok, _, nbytes = wait(server.queue, ov)
    assert ok and nbytes == BIG and HasOverlappedIoCompleted(ov)
    assert body(server.queue, request_id, b"", HTTP_SEND_RESPONSE_FLAG_DISCONNECT)[0] == NO_ERROR
    thread.join(10)


def test_invalid_parameter_for_a_parameter_in_an_unusable_form(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server.queue, c, {HttpHeaderContentLength: b"1"})
    q = server.queue
    assert ERROR_INVALID_PARAMETER == 87
    assert body(q, request_id, b"x", 0x1000)[0] == ERROR_INVALID_PARAMETER  # flags
    assert body(q, request_id, b"x", count=5)[0] == ERROR_INVALID_PARAMETER  # count
    assert body(q, request_id, ["x"])[0] == ERROR_INVALID_PARAMETER  # type: ignore[list-item]  # chunks
    assert body(q, request_id, b"x", sent=None)[0] == ERROR_INVALID_PARAMETER  # BytesSent
    assert body(q, request_id, b"x", reserved1=1)[0] == ERROR_INVALID_PARAMETER
    assert body(q, request_id, b"x", reserved2=1)[0] == ERROR_INVALID_PARAMETER
    assert body(q, request_id, b"x", log="log")[0] == ERROR_INVALID_PARAMETER
    assert HttpSendResponseEntityBody(q, "id", 0, 0, None, ctypes.c_ulong(), None, 0, None, None) == 87
    assert body(q, request_id, b"x")[0] == NO_ERROR  # none of them touched the request


def test_bad_command_while_http_send_http_response_is_pending_on_the_request_id(
    server: Server, client
) -> None:
    c = client(server.port)
    c.get("/", server.port)
    request_id = receive(server.queue).RequestId
    response = make_response(body=b"h" * BIG)
    ov = OVERLAPPED()
    assert HttpSendHttpResponse(server.queue, request_id, MORE, response, None, None, None, 0, ov, None) == (
        ERROR_IO_PENDING
    )
    assert body(server.queue, request_id, b"body", MORE)[0] == ERROR_BAD_COMMAND
    assert (
        HttpSendHttpResponse(
            server.queue, request_id, 0, make_response(), None, ctypes.c_ulong(), None, 0, None, None
        )
        == ERROR_BAD_COMMAND
    )
    thread, got = drain_in_background(c.sock)
    assert wait(server.queue, ov)[0]
    assert body(server.queue, request_id, b"end", HTTP_SEND_RESPONSE_FLAG_DISCONNECT)[0] == NO_ERROR
    thread.join(10)
    assert got[0] > BIG


def test_bad_command_while_http_send_response_entity_body_is_pending_on_the_request_id(
    server: Server, client
) -> None:
    c = client(server.port)
    request_id = started(server.queue, c)
    ov = pending_send(server.queue, request_id)
    assert ERROR_BAD_COMMAND == 22
    assert body(server.queue, request_id, b"again", MORE)[0] == ERROR_BAD_COMMAND
    assert body(server.queue, request_id, b"", HTTP_SEND_RESPONSE_FLAG_DISCONNECT)[0] == ERROR_BAD_COMMAND
    thread, got = drain_in_background(c.sock)
    assert wait(server.queue, ov)[0]
    assert (
        body(server.queue, request_id, b"tail", HTTP_SEND_RESPONSE_FLAG_DISCONNECT)[0] == NO_ERROR
    )  # usable again
    thread.join(10)
    assert got[0] > BIG


def test_other_failures_are_system_error_codes(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server.queue, c, {HttpHeaderContentLength: b"1"})
    gone = HTTP_DATA_CHUNK(
        DataChunkType=HttpDataChunkFromFragmentCache,
        FromFragmentCache=HTTP_DATA_CHUNK_FROM_FRAGMENT_CACHE(pFragmentName=f"http://+:{server.port}/none"),
    )
    assert body(server.queue, request_id, [gone], MORE)[0] == ERROR_PATH_NOT_FOUND  # 3
    assert body(0x7777, request_id, b"x")[0] == ERROR_INVALID_HANDLE  # 6
    assert body(server.queue, request_id + 99, b"x")[0] == ERROR_CONNECTION_INVALID  # 1229
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    c.close()  # the client resets the connection
    assert wait_for(lambda: body(server.queue, request_id, b"x", MORE)[0] == ERROR_CONNECTION_INVALID)


def test_before_http_initialize_the_call_is_dll_init_failed() -> None:
    assert body(1, 1, b"x")[0] == ERROR_DLL_INIT_FAILED


# ----- Remarks and Note ------------------------------------------------------------------------------------------


def test_without_content_length_or_transfer_encoding_disconnect_ends_the_response(
    server: Server, strict
) -> None:
    c = strict(server.port)
    request_id = started(server.queue, c)
    assert body(server.queue, request_id, b"until ", MORE)[0] == NO_ERROR
    assert body(server.queue, request_id, b"close", HTTP_SEND_RESPONSE_FLAG_DISCONNECT)[0] == NO_ERROR
    reply = c.reply()
    assert reply.body == b"until close" and reply.closed and c.server_closed()


def test_simultaneous_sends_from_two_threads_on_one_request_id_are_refused(server: Server, client) -> None:
    c = client(server.port)
    request_id = started(server.queue, c)
    barrier = threading.Barrier(2)
    results: dict[str, tuple[int, int]] = {}

    def big_sender() -> None:
        barrier.wait()
        results["big"] = body(server.queue, request_id, b"B" * BIG, MORE)

    thread = threading.Thread(target=big_sender)
    thread.start()
    barrier.wait()
    assert wait_for(lambda: body(server.queue, request_id, b"small", MORE)[0] == ERROR_BAD_COMMAND)
    assert thread.is_alive()  # the first send is still pending in the other thread
    drainer, got = drain_in_background(c.sock)
    thread.join(10)
    assert results["big"] == (NO_ERROR, BIG)
    assert body(server.queue, request_id, b"", HTTP_SEND_RESPONSE_FLAG_DISCONNECT)[0] == NO_ERROR
    drainer.join(10)
    assert got[0] > BIG
