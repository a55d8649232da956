"""One client process's connection to the daemon: its calls decoded, checked against its handles, and handed to
the engine; its completions encoded and sent back (compiled: the per-message path of the daemon).

Responsibility: read a client's socket (`recvmsg_into`, SCM_RIGHTS), decode its calls with `_wire`, check that
every handle a call names belongs to that client, call the `EmbeddedTransport` hosted on the daemon's loop (the
same engine calls embedded mode makes, with the call's op as its token), write each completion into the client's
encoder at once (the server sends every client's replies of a loop pass together), apply the per-client quotas,
and when the client goes close its handles in reverse creation order as if it had closed them. It must not
listen, accept or hold daemon-wide state (`server.DaemonServer` does), contain HTTP behaviour (the engine has it)
nor its own codec; bad input from one client loses only that client.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import logging
import os
import socket
import stat
import struct
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from httpsys._core.records import FileChunk
from httpsys._core.sddl import Principal
from httpsys._core.status import Win32Error
from httpsys._daemon.acl import principal_of
from httpsys._daemon.admin import ADMIN_HANDLERS
from httpsys._daemon.quotas import QUOTA_EXCEEDED
from httpsys._transport.interface import DriverIo
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

if TYPE_CHECKING:
    from httpsys._daemon.server import DaemonServer

__all__ = ["Client", "DelegationCheck", "PassFlush", "PeerCredentials"]

log = logging.getLogger("httpsys.daemon")

_ABORTED: Final = int(Win32Error.ERROR_OPERATION_ABORTED)
_INVALID_HANDLE: Final = int(Win32Error.ERROR_INVALID_HANDLE)
_INVALID_PARAMETER: Final = int(Win32Error.ERROR_INVALID_PARAMETER)
_NOT_SUPPORTED: Final = int(Win32Error.ERROR_NOT_SUPPORTED)
_REVISION_MISMATCH: Final = int(Win32Error.ERROR_REVISION_MISMATCH)
_ACCESS_DENIED: Final = int(Win32Error.ERROR_ACCESS_DENIED)
_OPEN_EXISTING: Final = 0x1  # HTTP_CREATE_REQUEST_QUEUE_FLAG_OPEN_EXISTING
_ANCILLARY: Final = socket.CMSG_SPACE(DEFAULT_LIMITS.max_fds_per_frame * 4)
# plain ints: the socket module's are IntFlag members, whose `&` runs enum code in Python on every receive
_CMSG_CLOEXEC: Final = int(socket.MSG_CMSG_CLOEXEC)
_MSG_CTRUNC: Final = int(socket.MSG_CTRUNC)
_RECEIVES_PER_PASS: Final = (
    16  # recvmsg calls one readable client gets in one loop pass (each fills a buffer)
)
_PEERCRED: Final = struct.Struct("3i")
_PROP_BINDING: Final = 7  # HttpServerBindingProperty: its value names a queue handle
_PROP_DELEGATION: Final = 16  # HttpServerDelegationProperty: (present, a queue handle)
_SESSION: Final = "session"
_GROUP: Final = "group"
_QUEUE: Final = "queue"
_NO_HANDLE: Final = (
    0  # never an engine id (the engine's ids are odd): stands for a handle the caller does not own
)


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


# The GW ("delegate") right of the URL ACLs, asked before a delegation: (the caller's credentials, the destination
# URL given with the call or None) -> allowed. None (the default): the store's URL ACLs decide
# (`Authority.may_delegate`, decision 0024 §1); tests and embedders may replace it.
DelegationCheck = Callable[[PeerCredentials, str | None], bool]


class PassFlush:
    """The clients with replies written in this loop pass: one `call_soon` per pass, for all of them, then each
    client's replies leave in one sendmsg (two when fds make a second batch)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.clients: list[Client] = []  # in the order their first reply of the pass was written

    def add(self, client: Client) -> None:
        if not self.clients:
            self.loop.call_soon(self.run)
        self.clients.append(client)

    def run(self) -> None:
        clients = self.clients
        self.clients = []
        for client in clients:
            if client.flush_scheduled:
                client.flush()


class Client:
    """One connected process: its codec, the handles it owns, its pending I/O, its outgoing batches."""

    def __init__(
        self,
        server: DaemonServer,
        sock: socket.socket,
        client_id: int,
        peer: PeerCredentials,
        principal: Principal | None = None,
    ) -> None:
        self.server = server
        self.sock = sock
        self.fd = sock.fileno()
        self.client_id = client_id
        self.peer = peer
        self.principal = principal or principal_of(peer.uid, peer.gid)
        self.loop = server.loop
        self.engine = server.transport
        # the asynchronous calls go straight to the driver (accepted on the loop that hosts it: no hop to check)
        self.io: DriverIo = server.transport.local_io() or server.transport
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
        self.hello_timer: asyncio.TimerHandle | None = None  # closes a connection that says no HELLO in time
        self.quotas = server.quotas
        self.max_operations = server.quotas.max_operations  # read per I/O call (the quotas are frozen)
        self.pass_flush: PassFlush = server.pass_flush
        # op -> its ReceiveRequest message, for each receive posted to the engine
        self.receives: dict[int, Any] = {}
        self.withheld: list[Any] = []  # receives taken back (or not posted) while the client is throttled
        self.throttled = False  # over quotas.max_unsent: not read, no requests delivered to it
        self.withdrawing = False  # set while this client's receives are being cancelled to be withheld
        self.stall_timer: asyncio.TimerHandle | None = None

    # ----- input -----------------------------------------------------------------------------------------------
    def on_readable(self) -> None:
        """Everything the client has sent: receive until the socket is empty (one recvmsg unless a receive fills
        the buffer), decode every complete message of each receive in one pass, and run each call. The replies
        go out together at the end of the loop pass (`PassFlush.run`); a client whose replies pass
        quotas.max_unsent is not read further in this pass (its socket stays readable: kernel backpressure)."""
        decoder = self.decoder
        for _ in range(_RECEIVES_PER_PASS):
            try:
                room = decoder.get_buffer()
                size, ancillary, flags, _ = self.sock.recvmsg_into([room], _ANCILLARY, _CMSG_CLOEXEC)
            except (BlockingIOError, InterruptedError):
                return
            # one name per exception type: compiled, an `except ... as` name keeps the type of its first binding,
            # and ECONNRESET bound to a ProtocolError name raised TypeError (the client was never dropped)
            except ProtocolError as bad:
                self.drop(f"protocol error: {bad}")
                return
            except OSError as failure:
                self.drop(f"receive failed: {failure}")
                return
            fds = fds_of(ancillary) if ancillary else []
            if size == 0:
                close_fds(fds)
                self.drop("end of connection")
                return
            try:
                if flags & _MSG_CTRUNC:
                    close_fds(fds)
                    raise ProtocolError("file descriptors truncated (MSG_CTRUNC)")
                decoder.buffer_updated(size, fds)
                messages = decoder.drain()
            except ProtocolError as bad:
                self.drop(f"protocol error: {bad}")
                return
            self.run(messages)
            if size < len(room) or self.gone or self.throttled:
                return  # the socket had no more than this: no second recvmsg to learn it is empty
            if self.encoder.pending_bytes + sum(batch.nbytes for batch in self.out) > self.quotas.max_unsent:
                return  # answers enough for now: the rest waits in the socket until they are sent

    def run(self, messages: list[Message]) -> None:
        """Answer each decoded call in order (each handler sends exactly one completion, now or later)."""
        for message in messages:
            if self.gone:
                close_fds(message.fds)
                continue
            try:
                # the calls of every request first, as direct calls; the rest through the table
                if type(message) is M.ReceiveRequest:
                    _receive_request(self, message)
                elif type(message) is M.SendResponse:
                    _send_response(self, message)
                elif type(message) is M.SendBody:
                    _send_body(self, message)
                elif type(message) is M.ReceiveBody:
                    _receive_body(self, message)
                else:
                    handler = _HANDLERS.get(type(message))
                    if handler is None:
                        self.handle(message)
                    else:
                        handler(self, message)
            except Exception:  # a bug answering one call must not take the daemon down
                log.exception("client %d: %s failed", self.client_id, type(message).__name__)
                close_fds(message.fds)
                self.drop("internal error")

    def handle(self, message: Message) -> None:
        """A message with no call handler: the handshake, or a type this daemon does not serve."""
        if isinstance(message, M.Hello):
            self.hello(message)
            return
        if isinstance(message, M.Unsupported):
            self.send(M.CodeDone(op=message.op, code=_NOT_SUPPORTED))
            return
        close_fds(message.fds)
        self.send(M.CodeDone(op=message.op, code=_NOT_SUPPORTED))

    def hello(self, hello: M.Hello) -> None:
        version = M.choose_version(hello)
        if version is None:
            self.send(M.Refuse(code=_REVISION_MISMATCH, reason="no common protocol version"))
            self.flush()
            self.drop("version mismatch")
            return
        self.encoder.limits = hello.limits
        self.greeted = True
        if self.hello_timer is not None:  # it would keep this client (and its buffers) alive for seconds
            self.hello_timer.cancel()
            self.hello_timer = None
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
            self.pass_flush.add(self)

    def flush(self) -> None:
        """Send every batch written so far (one sendmsg each; normally one per loop pass)."""
        self.flush_scheduled = False
        if self.gone:
            return
        self.out.extend(self.encoder.take())
        out = self.out
        while out:
            batch = out[0]
            ancillary = (  # only a takeover's answer passes descriptors to a client
                [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", batch.fds))] if batch.fds else []
            )
            try:
                sent = self.sock.sendmsg(batch.buffers, ancillary)
            except (BlockingIOError, InterruptedError):
                if not self.writing:
                    self.writing = True
                    self.loop.add_writer(self.fd, self.flush)
                self.check_backlog()
                return
            except OSError as exc:
                self.drop(f"send failed: {exc}")
                return
            if batch.consume(sent):
                out.popleft()
        if self.writing:
            self.writing = False
            self.loop.remove_writer(self.fd)
        if self.throttled:
            self.check_backlog()

    # ----- quota: bytes in flight to the client --------------------------------------------------------------------
    def check_backlog(self) -> None:
        """Throttle a client whose unread completions pass quotas.max_unsent; release it at half of that."""
        unsent = sum(batch.nbytes for batch in self.out)
        if not self.throttled and unsent > self.quotas.max_unsent:
            self.throttle(unsent)
        elif self.throttled and unsent <= self.quotas.max_unsent // 2:
            self.release()

    def throttle(self, unsent: int) -> None:
        """Stop reading the client (its further calls wait in its socket: kernel backpressure) and take back its
        posted receives, so requests go to other openers instead of piling up in its backlog."""
        self.throttled = True
        log.warning(
            "client %d (%r) is not reading its socket (%d bytes unsent): no new requests for it",
            self.client_id,
            self.peer,
            unsent,
        )
        with contextlib.suppress(Exception):
            self.loop.remove_reader(self.fd)
        self.withdrawing = True
        try:
            for op in list(self.receives):
                self.engine.cancel_io(self.pending.get(op, _NO_HANDLE), op)
        finally:
            self.withdrawing = False
        self.stall_timer = self.loop.call_later(self.quotas.stall_timeout, self.stalled)

    def release(self) -> None:
        """The backlog is down to half the quota: read the client again and post the receives it had waiting."""
        self.throttled = False
        if self.stall_timer is not None:
            self.stall_timer.cancel()
            self.stall_timer = None
        self.loop.add_reader(self.fd, self.on_readable)
        withheld, self.withheld = self.withheld, []
        for message in withheld:
            if self.gone or self.throttled:
                if not self.gone:
                    self.withheld.append(message)
                continue
            _post_receive(self, message)

    def stalled(self) -> None:
        self.stall_timer = None
        if self.throttled and not self.gone:
            self.drop(f"not reading its socket for {self.quotas.stall_timeout:g} s")

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
        if self.hello_timer is not None:
            self.hello_timer.cancel()
            self.hello_timer = None
        if self.stall_timer is not None:
            self.stall_timer.cancel()
            self.stall_timer = None
        self.withheld.clear()
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
        self.receives.clear()
        self.server.collect_soon()


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


def _over_handle_quota(c: Client, m: Any) -> bool:
    """A new handle would pass quotas.max_handles: the call is answered ERROR_NOT_ENOUGH_QUOTA here."""
    if len(c.owned) < c.quotas.max_handles:
        return False
    c.send(M.HandleDone(op=m.op, code=QUOTA_EXCEEDED, object_id=0))
    return True


def _create_server_session(c: Client, m: Any) -> None:
    if _over_handle_quota(c, m):
        return
    code, sid = c.engine.create_server_session(tuple(m.version))
    c.adopt(code, sid, _SESSION)
    c.send(M.HandleDone(op=m.op, code=code, object_id=sid))


def _close_server_session(c: Client, m: Any) -> None:
    sid = c.own(m.session_id, _SESSION)
    code = c.engine.close_server_session(sid)
    if code == 0:
        c.owned.pop(sid, None)
        for gid in [g for g, s in c.group_session.items() if s == sid]:
            del c.group_session[gid]
            c.owned.pop(gid, None)
    c.send(M.CodeDone(op=m.op, code=code))


def _drain_server_session(c: Client, m: Any) -> None:
    code, still_open = c.engine.drain_server_session(c.own(m.session_id, _SESSION))
    c.send(M.HandleDone(op=m.op, code=code, object_id=still_open))


def _set_session_property(c: Client, m: Any) -> None:
    code = c.engine.set_session_property(c.own(m.session_id, _SESSION), m.prop, m.value)
    c.send(M.CodeDone(op=m.op, code=code))


def _query_session_property(c: Client, m: Any) -> None:
    code, value = c.engine.query_session_property(c.own(m.session_id, _SESSION), m.prop)
    c.send(M.ValueDone(op=m.op, code=code, value=value))


def _create_url_group(c: Client, m: Any) -> None:
    if _over_handle_quota(c, m):
        return
    sid = c.own(m.session_id, _SESSION)
    code, gid = c.engine.create_url_group(sid)
    c.adopt(code, gid, _GROUP)
    if code == 0:
        c.group_session[gid] = sid
    c.send(M.HandleDone(op=m.op, code=code, object_id=gid))


def _close_url_group(c: Client, m: Any) -> None:
    gid = c.own(m.group_id, _GROUP)
    code = c.engine.close_url_group(gid)
    if code == 0:
        c.owned.pop(gid, None)
        c.group_session.pop(gid, None)
    c.send(M.CodeDone(op=m.op, code=code))


def _registration_denied(c: Client, m: Any) -> bool:
    """Spec §6 item 44 through the daemon: no reservation grants the caller this URL (logged)."""
    if c.server.authority.may_register(c.principal, m.url):
        return False
    log.warning(
        "client %d (%r): registration of %s refused (no URL reservation grants it)",
        c.client_id,
        c.peer,
        m.url,
    )
    c.send(M.CodeDone(op=m.op, code=_ACCESS_DENIED))
    return True


def _add_url(c: Client, m: Any) -> None:
    if _registration_denied(c, m):
        return
    c.send(M.CodeDone(op=m.op, code=c.engine.add_url(c.own(m.group_id, _GROUP), m.url, m.context)))


def _remove_url(c: Client, m: Any) -> None:
    code = c.engine.remove_url(c.own(m.group_id, _GROUP), m.url, m.remove_all)
    c.send(M.CodeDone(op=m.op, code=code))


def _set_group_property(c: Client, m: Any) -> None:
    value = m.value
    if m.prop == _PROP_BINDING and isinstance(value, int) and not isinstance(value, bool):
        value = c.own(value, _QUEUE)  # a group binds only to a queue handle of this process
    elif m.prop == _PROP_DELEGATION and isinstance(value, tuple) and len(value) == 2:
        present, handle = value  # (Present, the destination queue handle): a handle this process opened
        if isinstance(handle, int) and not isinstance(handle, bool):
            value = (present, c.own(handle, _QUEUE))
    code = c.engine.set_group_property(c.own(m.group_id, _GROUP), m.prop, value)
    c.send(M.CodeDone(op=m.op, code=code))


def _query_group_property(c: Client, m: Any) -> None:
    code, value = c.engine.query_group_property(c.own(m.group_id, _GROUP), m.prop)
    c.send(M.ValueDone(op=m.op, code=code, value=value))


def _create_request_queue(c: Client, m: Any) -> None:
    if _over_handle_quota(c, m):
        return
    authority = c.server.authority
    if not authority.valid_security(m.security):
        c.send(M.HandleDone(op=m.op, code=_INVALID_PARAMETER))
        return
    code, handle = c.engine.create_request_queue(m.name, m.flags, m.v1)
    if code == 0 and m.name is not None:
        if not m.flags & _OPEN_EXISTING:
            live = c.server.transport.driver.registry.queue_names
            authority.queue_created(m.name, m.security, c.principal, live)
        elif not authority.may_open_queue(c.principal, m.name):
            # opened only to learn that it exists (a missing queue stays ERROR_FILE_NOT_FOUND): close it again
            c.engine.close_request_queue(handle)
            log.warning("client %d (%r): opening queue %r refused by its ACL", c.client_id, c.peer, m.name)
            code, handle = _ACCESS_DENIED, 0
    c.adopt(code, handle, _QUEUE)
    c.send(M.HandleDone(op=m.op, code=code, object_id=handle))


def _abort_withheld(c: Client, handle: int, target: int | None = None) -> bool:
    """Complete the receives this daemon withholds from a throttled client on `handle` (all, or op `target`)
    with ERROR_OPERATION_ABORTED, as the engine does for its parked ones. True when there was one."""
    doomed = [r for r in c.withheld if c.pending.get(r.op) == handle and target in (None, r.op)]
    for receive in doomed:
        c.withheld.remove(receive)
        _finish(c, receive.op)
        c.send(M.RequestDone(op=receive.op, code=_ABORTED))
    return bool(doomed)


def _close_request_queue(c: Client, m: Any) -> None:
    handle = c.own(m.handle_id, _QUEUE)
    code = c.engine.close_request_queue(handle)
    if code == 0:
        _abort_withheld(c, handle)
        c.owned.pop(handle, None)
    c.send(M.CodeDone(op=m.op, code=code))


def _set_queue_property(c: Client, m: Any) -> None:
    code = c.engine.set_queue_property(c.own(m.handle_id, _QUEUE), m.prop, m.value)
    c.send(M.CodeDone(op=m.op, code=code))


def _query_queue_property(c: Client, m: Any) -> None:
    code, value = c.engine.query_queue_property(c.own(m.handle_id, _QUEUE), m.prop)
    c.send(M.ValueDone(op=m.op, code=code, value=value))


def _shutdown_request_queue(c: Client, m: Any) -> None:
    handle = c.own(m.handle_id, _QUEUE)
    code = c.engine.shutdown_request_queue(handle)
    if code == 0:
        _abort_withheld(c, handle)
    c.send(M.CodeDone(op=m.op, code=code))


def _add_url_v1(c: Client, m: Any) -> None:
    if _registration_denied(c, m):
        return
    c.send(M.CodeDone(op=m.op, code=c.engine.add_url_v1(c.own(m.handle_id, _QUEUE), m.url)))


def _remove_url_v1(c: Client, m: Any) -> None:
    c.send(M.CodeDone(op=m.op, code=c.engine.remove_url_v1(c.own(m.handle_id, _QUEUE), m.url)))


def _add_fragment(c: Client, m: Any) -> None:
    code = c.engine.add_fragment(c.own(m.handle_id, _QUEUE), m.name, m.data, m.policy)
    c.send(M.CodeDone(op=m.op, code=code))


def _read_fragment(c: Client, m: Any) -> None:
    code, data = c.engine.read_fragment(c.own(m.handle_id, _QUEUE), m.name)
    c.send(M.BytesDone(op=m.op, code=code, data=data))


def _flush_cache(c: Client, m: Any) -> None:
    code = c.engine.flush_cache(c.own(m.handle_id, _QUEUE), m.prefix, m.recursive)
    c.send(M.CodeDone(op=m.op, code=code))


def _cancel_request(c: Client, m: Any) -> None:
    code = c.engine.cancel_request(c.own(m.handle_id, _QUEUE), m.request_id)
    c.send(M.CodeDone(op=m.op, code=code))


def _delegate_request(c: Client, m: Any) -> None:
    source = c.own(m.source_id, _QUEUE)
    target = c.own(m.target_id, _QUEUE)
    check = c.server.delegation_check
    allowed = (
        check(c.peer, m.url) if check is not None else c.server.authority.may_delegate(c.principal, m.url)
    )
    if source and target and not allowed:
        log.warning("client %d (%r): delegation to %r denied", c.client_id, c.peer, m.url)
        c.send(M.CodeDone(op=m.op, code=_ACCESS_DENIED))
        return
    # the destination URL group belongs to the process that created it; the engine accepts it only when it is
    # bound to the target queue, which this process has open
    code = c.engine.delegate_request(source, target, m.request_id, m.group_id, m.url)
    c.send(M.CodeDone(op=m.op, code=code))


def _find_url_group_id(c: Client, m: Any) -> None:
    code, group_id = c.engine.find_url_group_id(m.url, c.own(m.handle_id, _QUEUE))
    c.send(M.HandleDone(op=m.op, code=code, object_id=group_id))


def _takeover(c: Client, m: Any) -> None:
    """A new daemon takes the listening sockets (decision 0024 §3): the daemon's own uid or root only."""
    server = c.server
    if c.peer.uid not in (0, os.geteuid()):
        log.warning("client %d (%r): takeover refused (not root, not the daemon's uid)", c.client_id, c.peer)
        c.send(M.TakeoverDone(op=m.op, code=_ACCESS_DENIED))
        return
    if server.handed_over is None:
        if m.start != 0:
            c.send(M.TakeoverDone(op=m.op, code=_INVALID_PARAMETER))
            return
        server.hand_over(c)
    items = server.handed_over or []
    per_message = max(1, min(c.encoder.limits.max_fds_per_frame, DEFAULT_LIMITS.max_fds_per_frame))
    batch = items[m.start : m.start + per_message]
    remaining = max(0, len(items) - m.start - len(batch))
    listeners = [(port, scheme, sock.fileno()) for port, scheme, sock in batch]
    c.send(M.TakeoverDone(op=m.op, code=0, listeners=listeners, remaining=remaining))


def _set_request_property(c: Client, m: Any) -> None:
    code = c.engine.set_request_property(c.own(m.handle_id, _QUEUE), m.request_id, m.prop, m.value)
    c.send(M.CodeDone(op=m.op, code=code))


def _query_request_property(c: Client, m: Any) -> None:
    code, value = c.engine.query_request_property(c.own(m.handle_id, _QUEUE), m.request_id, m.prop)
    c.send(M.ValueDone(op=m.op, code=code, value=value))


def _statistics(c: Client, m: Any) -> None:
    c.send(M.StatsDone(op=m.op, stats=c.engine.statistics()))


def _cancel(c: Client, m: Any) -> None:
    handle = c.own(m.handle_id, _QUEUE)
    target = m.target_op
    if target is not None and c.pending.get(target) != handle:
        cancelled = False  # already completed (or never this handle's): nothing to cancel
    else:
        cancelled = c.engine.cancel_io(handle, target)
        cancelled = _abort_withheld(c, handle, target) or cancelled  # the engine does not know those
    c.send(M.CancelDone(op=m.op, cancelled=cancelled))


def _io(c: Client, m: Message, handle: int) -> int | None:
    """Register the pending I/O `m` (its op is its token in the engine); None when the client already has
    quotas.max_operations outstanding (the caller completes it with ERROR_NOT_ENOUGH_QUOTA)."""
    if len(c.pending) >= c.max_operations:
        return None
    c.pending[m.op] = handle
    return m.op


def _finish(c: Client, op: int) -> None:
    c.pending.pop(op, None)


def _receive_request(c: Client, m: M.ReceiveRequest) -> None:
    handle = c.own(m.handle_id, _QUEUE)
    op = _io(c, m, handle)
    if op is None:
        c.send(M.RequestDone(op=m.op, code=QUOTA_EXCEEDED))
        return
    if c.throttled and not m.request_id:
        c.withheld.append(m)  # posted when the client reads its socket again
        return
    _post_receive(c, m)


def _post_receive(c: Client, m: M.ReceiveRequest) -> None:
    """Hand a receive (already counted in `pending`) to the engine."""
    op = m.op
    handle = c.pending.get(op, _NO_HANDLE)

    def done(code: int, snapshot: Any, length: int) -> None:
        c.receives.pop(op, None)
        if c.withdrawing and code == _ABORTED:
            c.withheld.append(m)  # taken back from a throttled client: still pending, posted again later
            return
        _finish(c, op)
        if c.gone:
            _abandon(c, code, snapshot)
            return
        c.send(M.RequestDone(op=op, code=code, snapshot=snapshot, length=length))

    c.receives[op] = m
    c.io.receive_request(handle, m.request_id, m.flags, m.buffer_length, m.v2, op, done)


def _abandon(c: Client, code: int, snapshot: Any) -> None:
    """A request delivered to a client that has gone since it posted the receive: the engine closes it with the
    handle (the handle is closed during drop), so nothing is left borrowed; this only logs."""
    if code == 0 and snapshot is not None:
        log.info("client %d gone: request %d delivered after its end", c.client_id, snapshot.request_id)


def _receive_body(c: Client, m: M.ReceiveBody) -> None:
    handle = c.own(m.handle_id, _QUEUE)
    op = _io(c, m, handle)
    if op is None:
        c.send(M.BytesDone(op=m.op, code=QUOTA_EXCEEDED))
        return

    def done(code: int, data: bytes) -> None:
        _finish(c, op)
        c.send(M.BytesDone(op=op, code=code, data=data))

    c.io.receive_body(handle, m.request_id, m.max_len, m.fill, op, done)


def _sent_callback(c: Client, m: Message, op: int | None) -> Callable[[int, int], None]:
    fds = list(m.fds)

    def done(code: int, nbytes: int) -> None:
        if op is None:  # over the operations quota: never reached the engine
            close_fds(fds)
            c.send(M.SentDone(op=m.op, code=QUOTA_EXCEEDED, bytes_sent=0))
            return
        _finish(c, op)
        close_fds(fds)  # the engine is done with the files this send named
        c.send(M.SentDone(op=op, code=code, bytes_sent=nbytes))

    return done


def _check_fds(m: M.SendResponse | M.SendBody) -> bool:
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


def _send_response(c: Client, m: M.SendResponse) -> None:
    handle = c.own(m.handle_id, _QUEUE)
    op = _io(c, m, handle)
    done = _sent_callback(c, m, op)
    if op is None:
        done(QUOTA_EXCEEDED, 0)
        return
    if not _check_fds(m):
        done(_INVALID_HANDLE, 0)
        return
    c.io.send_response(handle, m.request_id, m.flags, m.spec, m.chunks, m.cache_policy, m.log_data, done, op)


def _send_body(c: Client, m: M.SendBody) -> None:
    handle = c.own(m.handle_id, _QUEUE)
    op = _io(c, m, handle)
    done = _sent_callback(c, m, op)
    if op is None:
        done(QUOTA_EXCEEDED, 0)
        return
    if not _check_fds(m):
        done(_INVALID_HANDLE, 0)
        return
    c.io.send_body(handle, m.request_id, m.flags, m.chunks, m.log_data, done, op)


def _wait_disconnect(c: Client, m: Any) -> None:
    handle = c.own(m.handle_id, _QUEUE)
    op = _io(c, m, handle)
    if op is None:
        c.send(M.CodeDone(op=m.op, code=QUOTA_EXCEEDED))
        return

    def done(code: int) -> None:
        _finish(c, op)
        c.send(M.CodeDone(op=op, code=code))

    c.io.wait_disconnect(handle, m.connection_id, op, done)


def _wait_demand_start(c: Client, m: Any) -> None:
    handle = c.own(m.handle_id, _QUEUE)
    op = _io(c, m, handle)
    if op is None:
        c.send(M.CodeDone(op=m.op, code=QUOTA_EXCEEDED))
        return

    def done(code: int) -> None:
        _finish(c, op)
        c.send(M.CodeDone(op=op, code=code))

    c.engine.wait_demand_start(handle, op, done)


_HANDLERS: dict[type[Message], Callable[[Client, Any], None]] = {
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
    M.DelegateRequest: _delegate_request,
    M.FindUrlGroupId: _find_url_group_id,
    M.Takeover: _takeover,
    **ADMIN_HANDLERS,
    M.SetRequestProperty: _set_request_property,
    M.QueryRequestProperty: _query_request_property,
}


def _receive_client_certificate(c: Client, m: Any) -> None:
    handle = c.own(m.handle_id, _QUEUE)
    op = _io(c, m, handle)
    if op is None:
        c.send(M.ClientCertDone(op=m.op, code=QUOTA_EXCEEDED))
        return

    def done(code: int, cert: bytes, cert_flags: int) -> None:
        _finish(c, op)
        c.send(M.ClientCertDone(op=op, code=code, cert_flags=cert_flags, cert=cert))

    c.engine.receive_client_certificate(handle, m.connection_id, op, done)


_HANDLERS[M.ReceiveClientCertificate] = _receive_client_certificate  # appended (decision 0021)
