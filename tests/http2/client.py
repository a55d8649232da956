"""A blocking HTTP/2 test client over one real socket, built on h2's client-side state machine (and raw frames
through hyperframe where a test must send what a correct client never would).

Responsibility: open a connection with prior knowledge, send requests and raw frames, and report per stream what
came back (status, headers, body, trailers, reset code) and for the connection (GOAWAY code, close). It must not
judge: tests compare what it reports with the RFC and HTTP.sys.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


@dataclass
class StreamResult:
    status: int = 0
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""
    trailers: list[tuple[bytes, bytes]] = field(default_factory=list)
    informational: list[int] = field(default_factory=list)
    ended: bool = False
    reset: int | None = None

    def header(self, name: bytes) -> bytes | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None


class H2Client:
    """One HTTP/2 connection to 127.0.0.1:port (prior knowledge)."""

    def __init__(
        self, port: int, window: int | None = None, auto_ack: bool = True, timeout: float = 5.0
    ) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        config = h2.config.H2Configuration(client_side=True, header_encoding=None)
        self.conn = h2.connection.H2Connection(config=config)
        if window is not None:
            self.conn.local_settings = h2.settings.Settings(
                client=True, initial_values={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window}
            )
        self.conn.initiate_connection()
        self.auto_ack = auto_ack
        self.streams: dict[int, StreamResult] = {}
        self.goaway: int | None = None
        self.closed = False
        self.server_settings: dict[int, int] = {}
        self.flush()

    def flush(self) -> None:
        data = self.conn.data_to_send()
        if data:
            self.send_raw(data)

    def send_raw(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError:
            self.closed = True

    def request(
        self,
        path: bytes = b"/",
        method: bytes = b"GET",
        headers: list[tuple[bytes, bytes]] | None = None,
        body: bytes | None = None,
        end: bool = True,
        authority: bytes = b"localhost",
    ) -> int:
        stream_id = self.conn.get_next_available_stream_id()
        fields = [(b":method", method), (b":scheme", b"http"), (b":authority", authority), (b":path", path)]
        fields += headers or []
        self.conn.send_headers(stream_id, fields, end_stream=end and body is None)
        self.streams[stream_id] = StreamResult()
        self.flush()
        if body is not None:
            self.send_body(stream_id, body, end)
        return stream_id

    def send_body(self, stream_id: int, body: bytes, end: bool = True, timeout: float = 5.0) -> bool:
        """Send `body` as the windows allow (reading WINDOW_UPDATEs meanwhile); False when they stayed shut."""
        deadline = time.monotonic() + timeout
        view = memoryview(body)
        while view:
            window = min(self.conn.local_flow_control_window(stream_id), self.conn.max_outbound_frame_size)
            if window <= 0:
                if time.monotonic() > deadline or not self.pump(0.05):
                    return False
                continue
            piece, view = view[:window], view[window:]
            self.conn.send_data(stream_id, bytes(piece), end_stream=end and not view)
            self.flush()
        if end and not body:
            self.conn.end_stream(stream_id)
            self.flush()
        return True

    def pump(self, timeout: float = 0.2) -> bool:
        """Read once (up to `timeout`); False when the connection is closed."""
        if self.closed:
            return False
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(1 << 20)
        except TimeoutError:
            return True
        except OSError:
            self.closed = True
            return False
        if not data:
            self.closed = True
            return False
        try:
            events = self.conn.receive_data(data)
        except h2.exceptions.ProtocolError:
            self.closed = True
            return False
        for event in events:
            self._event(event)
        self.flush()
        return True

    def _event(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.ResponseReceived):
            result = self.streams.setdefault(event.stream_id, StreamResult())
            result.headers = list(event.headers)  # type: ignore[arg-type]
            result.status = int(dict(result.headers)[b":status"])
        elif isinstance(event, h2.events.InformationalResponseReceived):
            status = int(dict(event.headers)[b":status"])  # type: ignore[arg-type]
            self.streams.setdefault(event.stream_id, StreamResult()).informational.append(status)
        elif isinstance(event, h2.events.DataReceived):
            assert event.stream_id is not None and event.data is not None
            self.streams.setdefault(event.stream_id, StreamResult()).body += event.data
            if self.auto_ack and event.flow_controlled_length:
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.TrailersReceived):
            self.streams.setdefault(event.stream_id, StreamResult()).trailers = list(event.headers)  # type: ignore[arg-type]
        elif isinstance(event, h2.events.StreamEnded):
            self.streams.setdefault(event.stream_id, StreamResult()).ended = True
        elif isinstance(event, h2.events.StreamReset):
            self.streams.setdefault(event.stream_id, StreamResult()).reset = int(event.error_code or 0)
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.goaway = int(event.error_code or 0)
        elif isinstance(event, h2.events.RemoteSettingsChanged):
            for code, change in event.changed_settings.items():
                self.server_settings[int(code)] = int(change.new_value)

    def wait(self, stream_id: int, timeout: float = 5.0) -> StreamResult:
        """Until the stream ends or is reset (or the connection closes, or time runs out)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = self.streams.get(stream_id)
            if result is not None and (result.ended or result.reset is not None):
                return result
            if not self.pump(0.1):
                break
        return self.streams.get(stream_id, StreamResult())

    def wait_closed(self, timeout: float = 5.0) -> bool:
        """Read until the server closes the connection; True when it did within `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.pump(0.1):
                return True
        return False

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class RawH2:
    """A connection that speaks raw frames (hyperframe) with its own HPACK encoder: for what a correct client
    never sends (floods, bombs, resets, too many streams). It reports the server's GOAWAY and the close."""

    def __init__(self, port: int, timeout: float = 5.0) -> None:
        import hpack

        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.encoder = hpack.Encoder()
        self.goaway: int | None = None
        self.closed = False
        self.frames: list[object] = []
        self._buf = b""
        self.send(PREFACE + self.frame_settings())

    @staticmethod
    def frame_settings(ack: bool = False, **values: int) -> bytes:
        from hyperframe.frame import SettingsFrame

        frame = SettingsFrame(0)
        if ack:
            frame.flags.add("ACK")
        for key, value in values.items():
            frame.settings[getattr(SettingsFrame, key)] = value
        return frame.serialize()

    def block(self, path: bytes = b"/", extra: list[tuple[bytes, bytes]] | None = None) -> bytes:
        fields = [
            (b":method", b"GET"),
            (b":scheme", b"http"),
            (b":authority", b"localhost"),
            (b":path", path),
        ]
        return bytes(self.encoder.encode(fields + (extra or [])))

    def headers(
        self, stream_id: int, block: bytes, end_stream: bool = True, end_headers: bool = True
    ) -> bytes:
        from hyperframe.frame import HeadersFrame

        frame = HeadersFrame(stream_id, data=block)
        if end_stream:
            frame.flags.add("END_STREAM")
        if end_headers:
            frame.flags.add("END_HEADERS")
        return frame.serialize()

    @staticmethod
    def continuation(stream_id: int, block: bytes, end: bool = False) -> bytes:
        from hyperframe.frame import ContinuationFrame

        frame = ContinuationFrame(stream_id, data=block)
        if end:
            frame.flags.add("END_HEADERS")
        return frame.serialize()

    @staticmethod
    def rst(stream_id: int, code: int = 8) -> bytes:
        from hyperframe.frame import RstStreamFrame

        return RstStreamFrame(stream_id, error_code=code).serialize()

    @staticmethod
    def ping(payload: bytes = b"12345678") -> bytes:
        from hyperframe.frame import PingFrame

        return PingFrame(0, opaque_data=payload).serialize()

    @staticmethod
    def data(stream_id: int, payload: bytes = b"", end_stream: bool = False) -> bytes:
        from hyperframe.frame import DataFrame

        frame = DataFrame(stream_id, data=payload)
        if end_stream:
            frame.flags.add("END_STREAM")
        return frame.serialize()

    def send(self, data: bytes) -> bool:
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            self.closed = True
            return False

    def read_frames(self, timeout: float = 0.2) -> bool:
        """Read what arrived; False once the server closed the connection."""
        from hyperframe.frame import Frame, GoAwayFrame, SettingsFrame

        if self.closed:
            return False
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(1 << 20)
        except TimeoutError:
            return True
        except OSError:
            self.closed = True
            return False
        if not data:
            self.closed = True
            return False
        self._buf += data
        while len(self._buf) >= 9:
            frame, length = Frame.parse_frame_header(memoryview(self._buf[:9]))
            if len(self._buf) < 9 + length:
                break
            frame.parse_body(memoryview(self._buf[9 : 9 + length]))
            self._buf = self._buf[9 + length :]
            self.frames.append(frame)
            if isinstance(frame, GoAwayFrame):
                self.goaway = int(frame.error_code)
            elif isinstance(frame, SettingsFrame) and "ACK" not in frame.flags:
                self.send(self.frame_settings(ack=True))
        return True

    def wait_closed(self, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.read_frames(0.1):
                return True
        return False

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass
