"""The daemon's server side: client processes on a Unix socket, each call handed to the one in-process engine.

Responsibility: accept client connections (SO_PEERCRED identity read at accept, logged, reported in WELCOME),
decode each client's calls with `_wire`, check that every handle a call names belongs to that client, call the
`EmbeddedTransport` hosted on the daemon's loop (the same engine calls embedded mode makes, with the call's op as
its token), send completions back (one flush per loop pass), and when a client goes (EOF, reset, protocol
error) close its handles in reverse creation order as if it had closed them. It must not contain HTTP
behaviour (the engine has it) nor its own codec; bad input from one client loses only that client.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import socket
import stat
import struct
from collections import deque
from collections.abc import Callable
from typing import Any

from httpsys._core.records import FileChunk
from httpsys._core.settings import DriverSettings
from httpsys._core.status import Win32Error
from httpsys._transport.embedded import EmbeddedTransport
from httpsys._wire import (
    DEFAULT_LIMITS,
    Batch,
    Decoder,
    Encoder,
    Message,
    ProtocolError,
    Side,
    WireEncodeError,
)
from httpsys._wire import messages as M
from httpsys._wire.ancillary import close_fds, fds_of

__all__ = ["HELLO_TIMEOUT", "DaemonServer", "PeerCredentials", "default_socket_path"]

log = logging.getLogger("httpsys.daemon")

_ABORTED = int(Win32Error.ERROR_OPERATION_ABORTED)
_INVALID_HANDLE = int(Win32Error.ERROR_INVALID_HANDLE)
_INVALID_PARAMETER = int(Win32Error.ERROR_INVALID_PARAMETER)
_NOT_SUPPORTED = int(Win32Error.ERROR_NOT_SUPPORTED)
_REVISION_MISMATCH = int(Win32Error.ERROR_REVISION_MISMATCH)
_ANCILLARY = socket.CMSG_SPACE(DEFAULT_LIMITS.max_fds_per_frame * 4)
_PEERCRED = struct.Struct("3i")
_PROP_BINDING = 7  # HttpServerBindingProperty: its value names a queue handle
_SESSION, _GROUP, _QUEUE = "session", "group", "queue"
HELLO_TIMEOUT = 5.0  # seconds a new connection has to say HELLO (decision 0016 §5), else it is closed
_NO_HANDLE = 0  # never an engine id (the engine's ids are odd): stands for a handle the caller does not own


def default_socket_path() -> str:
    """ARCHITECTURE §8.1: /run/httpsys/httpsys.sock for root, $XDG_RUNTIME_DIR/httpsys/httpsys.sock otherwise."""
    if os.geteuid() == 0:
        return "/run/httpsys/httpsys.sock"
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/tmp/httpsys-{os.geteuid()}"
    return os.path.join(runtime, "httpsys", "httpsys.sock")


class PeerCredentials:
    """What the kernel says about the process at the other end (SO_PEERCRED, as of its connect())."""

    __slots__ = ("gid", "pid", "uid")

    def __init__(self, pid: int, uid: int, gid: int) -> None:
        self.pid = pid
        self.uid = uid
        self.gid = gid

    @classmethod
    def of(cls, sock: socket.socket) -> PeerCredentials:
        raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size)
        pid, uid, gid = _PEERCRED.unpack(raw)
        return cls(pid, uid, gid)

    def __repr__(self) -> str:
        return f"pid={self.pid} uid={self.uid} gid={self.gid}"


class _Client:
    """One connected process: its codec, the handles it owns, its pending I/O, its outgoing batches."""

    def __init__(
        self, server: DaemonServer, sock: socket.socket, client_id: int, peer: PeerCredentials
    ) -> None:
        self.server = server
        self.sock = sock
        self.fd = sock.fileno()
        self.client_id = client_id
        self.peer = peer
        self.loop = server.loop
        self.engine = server.transport
        self.decoder = Decoder(Side.DAEMON)
        self.encoder = Encoder(Side.DAEMON)
        self.out: deque[Batch] = deque()
        self.writing = False
        self.flush_scheduled = False
        self.greeted = False
        self.gone = False
        self.owned: dict[int, str] = {}  # handle id -> kind, in creation order
        self.group_session: dict[int, int] = {}  # group id -> its session id (closing a session closes them)
        self.pending: dict[int, int] = {}  # op of pending I/O -> its handle id

    # ----- input -----------------------------------------------------------------------------------------------
    def on_readable(self) -> None:
        try:
            size, ancillary, flags, _ = self.sock.recvmsg_into(
                [self.decoder.get_buffer()], _ANCILLARY, socket.MSG_CMSG_CLOEXEC
            )
        except (BlockingIOError, InterruptedError):
            return
        except ProtocolError as exc:
            self.drop(f"protocol error: {exc}")
            return
        except OSError as exc:
            self.drop(f"receive failed: {exc}")
            return
        fds = fds_of(ancillary)
        if size == 0:
            close_fds(fds)
            self.drop("end of connection")
            return
        try:
            if flags & socket.MSG_CTRUNC:
                close_fds(fds)
                raise ProtocolError("file descriptors truncated (MSG_CTRUNC)")
            self.decoder.buffer_updated(size, fds)
            messages = self.decoder.drain()
        except ProtocolError as exc:
            self.drop(f"protocol error: {exc}")
            return
        for message in messages:
            if self.gone:
                close_fds(message.fds)
                continue
            try:
                self.handle(message)
            except Exception:  # a bug answering one call must not take the daemon down
                log.exception("client %d: %s failed", self.client_id, type(message).__name__)
                close_fds(message.fds)
                self.drop("internal error")

    def handle(self, message: Message) -> None:
        if isinstance(message, M.Hello):
            self.hello(message)
            return
        if isinstance(message, M.Unsupported):
            self.send(M.CodeDone(op=message.op, code=_NOT_SUPPORTED))
            return
        handler = _HANDLERS.get(type(message))
        if handler is None:
            close_fds(message.fds)
            self.send(M.CodeDone(op=message.op, code=_NOT_SUPPORTED))
            return
        handler(self, message)

    def hello(self, hello: M.Hello) -> None:
        version = M.choose_version(hello)
        if version is None:
            self.send(M.Refuse(code=_REVISION_MISMATCH, reason="no common protocol version"))
            self.flush()
            self.drop("version mismatch")
            return
        self.encoder.limits = hello.limits
        self.greeted = True
        log.info("client %d connected (%r, says pid %d)", self.client_id, self.peer, hello.pid)
        peer = self.peer
        self.send(
            M.Welcome(
                version=version,
                client_id=self.client_id,
                pid=max(peer.pid, 0),
                uid=max(peer.uid, 0),
                gid=max(peer.gid, 0),
                limits=DEFAULT_LIMITS,
            )
        )

    # ----- output ----------------------------------------------------------------------------------------------
    def send(self, message: Message) -> None:
        if self.gone:
            return
        try:
            self.encoder.write(message)
        except WireEncodeError as exc:  # a value the engine produced that the wire cannot carry
            log.error("client %d: cannot encode %s: %s", self.client_id, type(message).__name__, exc)
            fallback = _failure(message, _INVALID_PARAMETER)
            if fallback is None:
                return
            self.encoder.write(fallback)
        if not self.flush_scheduled:
            self.flush_scheduled = True
            self.loop.call_soon(self.flush)

    def flush(self) -> None:
        self.flush_scheduled = False
        if self.gone:
            return
        self.out.extend(self.encoder.take())
        out = self.out
        while out:
            batch = out[0]
            try:
                sent = self.sock.sendmsg(batch.buffers)
            except (BlockingIOError, InterruptedError):
                if not self.writing:
                    self.writing = True
                    self.loop.add_writer(self.fd, self.flush)
                return
            except OSError as exc:
                self.drop(f"send failed: {exc}")
                return
            if batch.consume(sent):
                out.popleft()
        if self.writing:
            self.writing = False
            self.loop.remove_writer(self.fd)

    # ----- handles ---------------------------------------------------------------------------------------------
    def own(self, handle_id: int, kind: str) -> int:
        """`handle_id` when this client owns it as `kind`, else an id the engine knows as no handle at all."""
        return handle_id if self.owned.get(handle_id) == kind else _NO_HANDLE

    def adopt(self, code: int, handle_id: int, kind: str) -> None:
        if code == 0 and handle_id:
            self.owned[handle_id] = kind

    # ----- the end ---------------------------------------------------------------------------------------------
    def drop(self, reason: str) -> None:
        """The client is gone: stop reading it, then close its handles as if it had closed them."""
        if self.gone:
            return
        self.gone = True
        self.server.clients.pop(self.client_id, None)
        with contextlib.suppress(Exception):
            self.loop.remove_reader(self.fd)
            if self.writing:
                self.loop.remove_writer(self.fd)
        self.decoder.close()
        self.out.clear()
        with contextlib.suppress(OSError):
            self.sock.close()
        if self.owned:
            log.info(
                "client %d (%r) gone (%s): closing its %d handle(s)",
                self.client_id,
                self.peer,
                reason,
                len(self.owned),
            )
        else:
            log.info("client %d (%r) gone (%s)", self.client_id, self.peer, reason)
        engine = self.engine
        for handle_id, kind in reversed(list(self.owned.items())):
            try:
                if kind == _QUEUE:
                    engine.close_request_queue(handle_id)
                elif kind == _GROUP:
                    engine.close_url_group(handle_id)
                else:
                    engine.close_server_session(handle_id)
            except Exception:
                log.exception("client %d: closing %s %d failed", self.client_id, kind, handle_id)
        self.owned.clear()
        self.pending.clear()


def _failure(message: Message, code: int) -> Message | None:
    """The same completion type with `code` and empty values (when a completion could not be encoded)."""
    op = message.op
    if isinstance(message, M.RequestDone):
        return M.RequestDone(op=op, code=code)
    if isinstance(message, M.BytesDone):
        return M.BytesDone(op=op, code=code)
    if isinstance(message, M.ValueDone):
        return M.ValueDone(op=op, code=code)
    if isinstance(message, M.HandleDone):
        return M.HandleDone(op=op, code=code)
    if isinstance(message, M.SentDone):
        return M.SentDone(op=op, code=code)
    if isinstance(message, M.CodeDone):
        return M.CodeDone(op=op, code=code)
    if isinstance(message, M.StatsDone):
        return M.StatsDone(op=op)
    return None


# ----- call handlers: (client, message) -> None; each sends exactly one completion for the op -----------------------


def _create_server_session(c: _Client, m: Any) -> None:
    code, sid = c.engine.create_server_session(tuple(m.version))
    c.adopt(code, sid, _SESSION)
    c.send(M.HandleDone(op=m.op, code=code, object_id=sid))


def _close_server_session(c: _Client, m: Any) -> None:
    sid = c.own(m.session_id, _SESSION)
    code = c.engine.close_server_session(sid)
    if code == 0:
        c.owned.pop(sid, None)
        for gid in [g for g, s in c.group_session.items() if s == sid]:
            del c.group_session[gid]
            c.owned.pop(gid, None)
    c.send(M.CodeDone(op=m.op, code=code))


def _drain_server_session(c: _Client, m: Any) -> None:
    code, still_open = c.engine.drain_server_session(c.own(m.session_id, _SESSION))
    c.send(M.HandleDone(op=m.op, code=code, object_id=still_open))


def _set_session_property(c: _Client, m: Any) -> None:
    code = c.engine.set_session_property(c.own(m.session_id, _SESSION), m.prop, m.value)
    c.send(M.CodeDone(op=m.op, code=code))


def _query_session_property(c: _Client, m: Any) -> None:
    code, value = c.engine.query_session_property(c.own(m.session_id, _SESSION), m.prop)
    c.send(M.ValueDone(op=m.op, code=code, value=value))


def _create_url_group(c: _Client, m: Any) -> None:
    sid = c.own(m.session_id, _SESSION)
    code, gid = c.engine.create_url_group(sid)
    c.adopt(code, gid, _GROUP)
    if code == 0:
        c.group_session[gid] = sid
    c.send(M.HandleDone(op=m.op, code=code, object_id=gid))


def _close_url_group(c: _Client, m: Any) -> None:
    gid = c.own(m.group_id, _GROUP)
    code = c.engine.close_url_group(gid)
    if code == 0:
        c.owned.pop(gid, None)
        c.group_session.pop(gid, None)
    c.send(M.CodeDone(op=m.op, code=code))


def _add_url(c: _Client, m: Any) -> None:
    c.send(M.CodeDone(op=m.op, code=c.engine.add_url(c.own(m.group_id, _GROUP), m.url, m.context)))


def _remove_url(c: _Client, m: Any) -> None:
    code = c.engine.remove_url(c.own(m.group_id, _GROUP), m.url, m.remove_all)
    c.send(M.CodeDone(op=m.op, code=code))


def _set_group_property(c: _Client, m: Any) -> None:
    value = m.value
    if m.prop == _PROP_BINDING and isinstance(value, int) and not isinstance(value, bool):
        value = c.own(value, _QUEUE)  # a group binds only to a queue handle of this process
    code = c.engine.set_group_property(c.own(m.group_id, _GROUP), m.prop, value)
    c.send(M.CodeDone(op=m.op, code=code))


def _query_group_property(c: _Client, m: Any) -> None:
    code, value = c.engine.query_group_property(c.own(m.group_id, _GROUP), m.prop)
    c.send(M.ValueDone(op=m.op, code=code, value=value))


def _create_request_queue(c: _Client, m: Any) -> None:
    code, handle = c.engine.create_request_queue(m.name, m.flags, m.v1)
    c.adopt(code, handle, _QUEUE)
    c.send(M.HandleDone(op=m.op, code=code, object_id=handle))


def _close_request_queue(c: _Client, m: Any) -> None:
    handle = c.own(m.handle_id, _QUEUE)
    code = c.engine.close_request_queue(handle)
    if code == 0:
        c.owned.pop(handle, None)
    c.send(M.CodeDone(op=m.op, code=code))


def _set_queue_property(c: _Client, m: Any) -> None:
    code = c.engine.set_queue_property(c.own(m.handle_id, _QUEUE), m.prop, m.value)
    c.send(M.CodeDone(op=m.op, code=code))


def _query_queue_property(c: _Client, m: Any) -> None:
    code, value = c.engine.query_queue_property(c.own(m.handle_id, _QUEUE), m.prop)
    c.send(M.ValueDone(op=m.op, code=code, value=value))


def _shutdown_request_queue(c: _Client, m: Any) -> None:
    c.send(M.CodeDone(op=m.op, code=c.engine.shutdown_request_queue(c.own(m.handle_id, _QUEUE))))


def _add_url_v1(c: _Client, m: Any) -> None:
    c.send(M.CodeDone(op=m.op, code=c.engine.add_url_v1(c.own(m.handle_id, _QUEUE), m.url)))


def _remove_url_v1(c: _Client, m: Any) -> None:
    c.send(M.CodeDone(op=m.op, code=c.engine.remove_url_v1(c.own(m.handle_id, _QUEUE), m.url)))


def _add_fragment(c: _Client, m: Any) -> None:
    code = c.engine.add_fragment(c.own(m.handle_id, _QUEUE), m.name, m.data, m.policy)
    c.send(M.CodeDone(op=m.op, code=code))


def _read_fragment(c: _Client, m: Any) -> None:
    code, data = c.engine.read_fragment(c.own(m.handle_id, _QUEUE), m.name)
    c.send(M.BytesDone(op=m.op, code=code, data=data))


def _flush_cache(c: _Client, m: Any) -> None:
    code = c.engine.flush_cache(c.own(m.handle_id, _QUEUE), m.prefix, m.recursive)
    c.send(M.CodeDone(op=m.op, code=code))


def _cancel_request(c: _Client, m: Any) -> None:
    code = c.engine.cancel_request(c.own(m.handle_id, _QUEUE), m.request_id)
    c.send(M.CodeDone(op=m.op, code=code))


def _set_request_property(c: _Client, m: Any) -> None:
    code = c.engine.set_request_property(c.own(m.handle_id, _QUEUE), m.request_id, m.prop, m.value)
    c.send(M.CodeDone(op=m.op, code=code))


def _statistics(c: _Client, m: Any) -> None:
    c.send(M.StatsDone(op=m.op, stats=c.engine.statistics()))


def _cancel(c: _Client, m: Any) -> None:
    handle = c.own(m.handle_id, _QUEUE)
    target = m.target_op
    if target is not None and c.pending.get(target) != handle:
        cancelled = False  # already completed (or never this handle's): nothing to cancel
    else:
        cancelled = c.engine.cancel_io(handle, target)
    c.send(M.CancelDone(op=m.op, cancelled=cancelled))


def _io(c: _Client, m: Message, handle: int) -> int:
    """Register the pending I/O `m` (its op is its token in the engine)."""
    c.pending[m.op] = handle
    return m.op


def _finish(c: _Client, op: int) -> None:
    c.pending.pop(op, None)


def _receive_request(c: _Client, m: Any) -> None:
    handle = c.own(m.handle_id, _QUEUE)
    op = _io(c, m, handle)

    def done(code: int, snapshot: Any, length: int) -> None:
        _finish(c, op)
        if c.gone:
            _abandon(c, code, snapshot)
            return
        c.send(M.RequestDone(op=op, code=code, snapshot=snapshot, length=length))

    c.engine.receive_request(handle, m.request_id, m.flags, m.buffer_length, m.v2, op, done)


def _abandon(c: _Client, code: int, snapshot: Any) -> None:
    """A request delivered to a client that has gone since it posted the receive: the engine closes it with the
    handle (the handle is closed during drop), so nothing is left borrowed; this only logs."""
    if code == 0 and snapshot is not None:
        log.info("client %d gone: request %d delivered after its end", c.client_id, snapshot.request_id)


def _receive_body(c: _Client, m: Any) -> None:
    handle = c.own(m.handle_id, _QUEUE)
    op = _io(c, m, handle)

    def done(code: int, data: bytes) -> None:
        _finish(c, op)
        c.send(M.BytesDone(op=op, code=code, data=data))

    c.engine.receive_body(handle, m.request_id, m.max_len, m.fill, op, done)


def _sent_callback(c: _Client, m: Message, op: int) -> Callable[[int, int], None]:
    fds = list(m.fds)

    def done(code: int, nbytes: int) -> None:
        _finish(c, op)
        close_fds(fds)  # the engine is done with the files this send named
        c.send(M.SentDone(op=op, code=code, bytes_sent=nbytes))

    return done


def _check_fds(m: Any) -> bool:
    """Every file chunk names a regular file (sendfile and pread need one; the engine answers
    ERROR_INVALID_HANDLE for a descriptor it cannot use, and so does this check)."""
    for chunk in m.chunks:
        if isinstance(chunk, FileChunk):
            try:
                if not stat.S_ISREG(os.fstat(chunk.fd).st_mode):
                    return False
            except OSError:
                return False
    return True


def _send_response(c: _Client, m: Any) -> None:
    handle = c.own(m.handle_id, _QUEUE)
    op = _io(c, m, handle)
    done = _sent_callback(c, m, op)
    if not _check_fds(m):
        done(_INVALID_HANDLE, 0)
        return
    c.engine.send_response(
        handle, m.request_id, m.flags, m.spec, list(m.chunks), m.cache_policy, m.log_data, done, op
    )


def _send_body(c: _Client, m: Any) -> None:
    handle = c.own(m.handle_id, _QUEUE)
    op = _io(c, m, handle)
    done = _sent_callback(c, m, op)
    if not _check_fds(m):
        done(_INVALID_HANDLE, 0)
        return
    c.engine.send_body(handle, m.request_id, m.flags, list(m.chunks), m.log_data, done, op)


def _wait_disconnect(c: _Client, m: Any) -> None:
    handle = c.own(m.handle_id, _QUEUE)
    op = _io(c, m, handle)

    def done(code: int) -> None:
        _finish(c, op)
        c.send(M.CodeDone(op=op, code=code))

    c.engine.wait_disconnect(handle, m.connection_id, op, done)


def _wait_demand_start(c: _Client, m: Any) -> None:
    handle = c.own(m.handle_id, _QUEUE)
    op = _io(c, m, handle)

    def done(code: int) -> None:
        _finish(c, op)
        c.send(M.CodeDone(op=op, code=code))

    c.engine.wait_demand_start(handle, op, done)


_HANDLERS: dict[type[Message], Callable[[_Client, Any], None]] = {
    M.CreateServerSession: _create_server_session,
    M.CloseServerSession: _close_server_session,
    M.DrainServerSession: _drain_server_session,
    M.SetSessionProperty: _set_session_property,
    M.QuerySessionProperty: _query_session_property,
    M.CreateUrlGroup: _create_url_group,
    M.CloseUrlGroup: _close_url_group,
    M.AddUrl: _add_url,
    M.RemoveUrl: _remove_url,
    M.SetGroupProperty: _set_group_property,
    M.QueryGroupProperty: _query_group_property,
    M.CreateRequestQueue: _create_request_queue,
    M.CloseRequestQueue: _close_request_queue,
    M.SetQueueProperty: _set_queue_property,
    M.QueryQueueProperty: _query_queue_property,
    M.ShutdownRequestQueue: _shutdown_request_queue,
    M.AddUrlV1: _add_url_v1,
    M.RemoveUrlV1: _remove_url_v1,
    M.AddFragment: _add_fragment,
    M.ReadFragment: _read_fragment,
    M.FlushCache: _flush_cache,
    M.CancelRequest: _cancel_request,
    M.Statistics: _statistics,
    M.Cancel: _cancel,
    M.ReceiveRequest: _receive_request,
    M.ReceiveBody: _receive_body,
    M.SendResponse: _send_response,
    M.SendBody: _send_body,
    M.WaitDisconnect: _wait_disconnect,
    M.WaitDemandStart: _wait_demand_start,
    M.SetRequestProperty: _set_request_property,
}


class DaemonServer:
    """The engine on `loop` and the Unix socket at `path` that client processes call it through.

    `start()` binds the socket (mode 0666: any local user may connect; every call is then checked against the
    caller's handles) and accepts; `stop_accepting()` closes it; `drain(seconds)` waits for borrowed requests to
    finish; `close()` drops every client (closing their handles) and stops the engine.
    """

    def __init__(
        self, path: str, loop: asyncio.AbstractEventLoop, settings: DriverSettings | None = None
    ) -> None:
        self.path = path
        self.hello_timeout = HELLO_TIMEOUT
        self.loop = loop
        self.transport = EmbeddedTransport(loop=loop, settings=settings)
        self.clients: dict[int, _Client] = {}
        self._ids = itertools.count(1)
        self._listener: socket.socket | None = None

    def start(self) -> None:
        """Bind and listen at `path` (OSError when another daemon already answers there)."""
        directory = os.path.dirname(self.path)
        if directory:
            os.makedirs(directory, mode=0o755, exist_ok=True)
        if os.path.exists(self.path):
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
            try:
                probe.connect(self.path)
            except OSError:
                os.unlink(self.path)  # a stale socket left by a daemon that did not exit cleanly
            else:
                raise FileExistsError(f"another httpsys daemon is listening at {self.path}")
            finally:
                probe.close()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        try:
            listener.bind(self.path)
            os.chmod(self.path, 0o666)
            listener.listen(512)
            listener.setblocking(False)
        except BaseException:
            listener.close()
            raise
        self._listener = listener
        self.loop.add_reader(listener.fileno(), self._accept)

    def _accept(self) -> None:
        listener = self._listener
        if listener is None:
            return
        for _ in range(64):
            try:
                sock, _addr = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.error("accept failed: %s", exc)
                return
            sock.setblocking(False)
            try:
                peer = PeerCredentials.of(sock)
            except OSError as exc:
                log.error("SO_PEERCRED failed: %s", exc)
                sock.close()
                continue
            client = _Client(self, sock, next(self._ids), peer)
            self.clients[client.client_id] = client
            self.loop.add_reader(client.fd, client.on_readable)
            self.loop.call_later(self.hello_timeout, self._require_hello, client)

    def _require_hello(self, client: _Client) -> None:
        if not client.greeted and not client.gone:
            client.drop(f"no HELLO within {self.hello_timeout:g} s")

    def stop_accepting(self) -> None:
        listener = self._listener
        if listener is None:
            return
        self._listener = None
        with contextlib.suppress(Exception):
            self.loop.remove_reader(listener.fileno())
        listener.close()
        with contextlib.suppress(OSError):
            os.unlink(self.path)

    def in_flight(self) -> int:
        """Requests delivered to an application and not finished."""
        return self.transport.statistics().get("requests_in_flight", 0)

    async def drain(self, seconds: float) -> bool:
        """Tell clients the daemon is going away, then wait up to `seconds` for in-flight requests to finish."""
        for client in list(self.clients.values()):
            client.send(M.GoingAway(seconds=float(seconds), reason="the daemon is stopping"))
        deadline = self.loop.time() + seconds
        while self.in_flight() and self.loop.time() < deadline:
            await asyncio.sleep(0.05)
        return self.in_flight() == 0

    def close(self) -> None:
        self.stop_accepting()
        for client in list(self.clients.values()):
            client.flush()
            client.drop("the daemon is stopping")
        self.transport.close()
