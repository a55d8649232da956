"""The ports: a listener per TCP port with a registered URL, and the connections they accept.

Responsibility: open a port's listening sockets (IPv4 and IPv6, per the IP listen list) when the first URL
prefix on it is registered and close them when the last one goes, accept on each socket a batch of connections
per readiness, each one an event-loop transport whose protocol is an `Http11Connection` (decision 0027; an https
port's sockets are accepted by the TLS room, `tls.py`, which hands each connection over after its handshake), and
keep the table of live connections by ConnectionId under the global connection limit. It must not parse, route or
answer requests: a connection hands its requests to delivery (decision 0010).
"""

from __future__ import annotations

import asyncio
import errno
import resource
import socket
from typing import TYPE_CHECKING, Any

from httpsys._core.status import Win32Error
from httpsys._engine.http2 import AnyConnection, PrefaceSniffer
from httpsys._engine.http11 import Http11Connection

if TYPE_CHECKING:
    from httpsys._engine.driver import Driver

E = Win32Error
OK = int(E.NO_ERROR)
ACCEPT_BATCH = 64  # connections accepted per readiness of a listening socket (decision 0027)
ACCEPT_RETRY = 1.0  # seconds without accepting after running out of descriptors or memory, as asyncio
# accept() errors that concern one client only; any other (EMFILE, ENFILE, ENOBUFS, ENOMEM ...) pauses accepting, as
# accepting again at once would spin on the still-readable socket
_ACCEPT_NEXT = frozenset({errno.ECONNABORTED, errno.EPROTO, errno.EPERM})


class Listener:
    """The listening sockets of one TCP port (IPv4 and IPv6) and their asyncio servers."""

    def __init__(self, port: int, scheme: str, sockets: list[socket.socket]) -> None:
        self.port = port
        self.scheme = scheme
        self.sockets = sockets
        # the listening sockets being accepted on (by an Acceptor, or for https by the TLS room)
        self.readers: list[tuple[asyncio.AbstractEventLoop, int]] = []
        self.closing = False

    def close(self) -> None:
        self.closing = True
        for loop, fd in self.readers:
            loop.remove_reader(fd)
        self.readers = []
        for sock in self.sockets:
            try:
                sock.close()
            except OSError:
                pass


def bind_port(port: int, addresses: tuple[str, ...] = ("0.0.0.0", "::")) -> list[socket.socket]:
    """Bind and listen on `port` for every address; raises OSError(EADDRINUSE) if a foreign socket holds it."""
    socks: list[socket.socket] = []
    try:
        for address in addresses:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            try:
                sock = socket.socket(family, socket.SOCK_STREAM)
            except OSError:
                if family == socket.AF_INET6:
                    continue  # no IPv6 on this machine
                raise
            socks.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind((address, port))
            except OSError as exc:
                if family == socket.AF_INET6 and exc.errno == errno.EADDRNOTAVAIL:
                    socks.pop().close()
                    continue
                raise
            sock.listen(4096)
            sock.setblocking(False)
    except BaseException:
        for sock in socks:
            sock.close()
        raise
    return socks


class Ports:
    """The listeners of one driver by TCP port, and the connections accepted on them by ConnectionId."""

    def __init__(self, driver: Driver, listen_addresses: tuple[str, ...] | None) -> None:
        self.driver = driver
        settings = driver.settings
        self.max_connections = settings.max_connections or _max_connections_from_rlimit()
        self.listen_addresses = listen_addresses or settings.ip_listen_list or ("0.0.0.0", "::")
        self.listeners: dict[int, Listener] = {}
        # listening sockets handed over by the daemon this one took over from (decision 0024 §3), by port: used
        # instead of binding when the first URL on that port is registered again
        self.inherited: dict[int, tuple[str, list[socket.socket]]] = {}
        self.connections: dict[int, AnyConnection] = {}
        # server sessions being drained (drain_server_session) -> the ports their drain stopped listening on
        self.draining_sessions: dict[int, set[int]] = {}
        self.handed_over = False  # the listeners went to a new daemon: never bind again

    # ================================================================ listeners
    def ensure_listener(self, port: int, scheme: str) -> int:
        if port in self.listeners:
            return OK
        if self.handed_over:
            return int(E.ERROR_SHARING_VIOLATION)  # the new daemon owns the ports now
        inherited = self.inherited.pop(port, None)
        if inherited is not None and inherited[0] == scheme:
            return self._listen(port, scheme, inherited[1])
        if inherited is not None:
            for sock in inherited[1]:
                sock.close()
        try:
            socks = bind_port(port, self.listen_addresses)
        except PermissionError:
            return int(E.ERROR_ACCESS_DENIED)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return int(E.ERROR_SHARING_VIOLATION)
            if exc.errno == errno.EACCES:
                return int(E.ERROR_ACCESS_DENIED)
            return int(E.ERROR_INVALID_PARAMETER)
        return self._listen(port, scheme, socks)

    def _listen(self, port: int, scheme: str, socks: list[socket.socket]) -> int:
        listener = Listener(port, scheme, socks)
        self.listeners[port] = listener
        for sock in socks:
            self.driver.loop.create_task(self._serve(listener, sock))
        return OK

    def hand_over_listeners(self) -> list[tuple[int, str, socket.socket]]:
        """Takeover (decision 0024 §3): every listening socket as (port, scheme, socket), for the caller to pass
        to the new daemon, which keeps their backlogs. The caller closes the returned sockets once passed; this
        driver stops accepting now, and drains its connections (each closes after its current response)."""
        out: list[tuple[int, str, socket.socket]] = []
        for port, listener in list(self.listeners.items()):
            socks = [sock.dup() for sock in listener.sockets]
            out.extend((port, listener.scheme, sock) for sock in socks)
        for port, (scheme, socks) in list(self.inherited.items()):
            out.extend((port, scheme, sock) for sock in socks)
        self.inherited.clear()
        for listener in list(self.listeners.values()):
            listener.close()
        self.listeners.clear()
        self.handed_over = True
        for conn in list(self.connections.values()):
            if conn.group is None and isinstance(conn, Http11Connection):
                conn.close_after_next()  # accepted, first request not routed yet: its client is sending it
            else:
                conn.drain()
        return out

    def drain_connections(self) -> int:
        """Drain every connection (idle ones close now); how many are still open."""
        for conn in list(self.connections.values()):
            conn.drain()
        return sum(1 for conn in self.connections.values() if not conn.closed)

    def adopt_listeners(self, sockets: list[tuple[int, str, socket.socket]]) -> None:
        """The sockets a takeover passed: kept until an application registers a URL on their port again."""
        for port, scheme, sock in sockets:
            sock.setblocking(False)
            self.inherited.setdefault(port, (scheme, []))[1].append(sock)

    def close_inherited(self) -> int:
        """Close the passed sockets no registration claimed (their waiting clients are refused); how many."""
        count = 0
        for _scheme, socks in self.inherited.values():
            for sock in socks:
                sock.close()
                count += 1
        self.inherited.clear()
        return count

    async def _serve(self, listener: Listener, sock: socket.socket) -> None:
        if listener.closing:
            return
        driver = self.driver
        if listener.scheme == "https":
            # TLS (decision 0021): accepted here so the TLS layer owns each socket from its first byte
            fd = sock.fileno()
            driver.loop.add_reader(fd, driver.tls.accept_ready, sock, listener.port)
            listener.readers.append((driver.loop, fd))
            return
        # the client preface picks HTTP/2 (prior knowledge); HTTP/1.1 connections pay nothing otherwise
        sniff = driver.settings.http2_cleartext and listener.scheme == "http"
        Acceptor(driver, listener, sock, sniff).start()

    def maybe_close_listener(self, port: int) -> None:
        if self.driver.registry.routing.count_on_port(port) == 0:
            listener = self.listeners.pop(port, None)
            if listener is not None:
                listener.close()

    def drain_server_session(self, session_id: int) -> tuple[int, int]:
        """Graceful stop of a server session's sites, as web servers stop (not an HTTP.sys call; decision 0012).

        The ports only draining sessions have URLs on stop accepting connections (their listeners close). Every
        connection the session serves - whose last request was routed to one of its URL groups, or, on such a
        port, that has not sent a request yet - is drained: closed at once when idle, otherwise its current
        response (and any it has parsed) carries `Connection: close` and it closes after it. A connection that
        routes a request to the session later is drained the same way. Nothing is refused: requests queued, in
        flight or still arriving on those connections are delivered and answered as usual. Calling it again
        drains connections that arrived since; (code, connections the session still has open) - the caller
        waits for 0 before it closes its queues.
        """
        registry = self.driver.registry
        session = registry.sessions.get(session_id)
        if session is None:
            return int(E.ERROR_INVALID_PARAMETER), 0
        ports = self.draining_sessions.setdefault(session_id, set())
        only_draining: dict[int, bool] = {}
        for prefix, registration in registry.routing.entries():
            group = registry.groups.get(registration.group_id)
            owner = group.session if group is not None else None
            draining = owner is not None and owner.session_id in self.draining_sessions
            only_draining[prefix.port] = only_draining.get(prefix.port, True) and draining
        for port, closing in only_draining.items():
            if closing:
                ports.add(port)
                listener = self.listeners.pop(port, None)
                if listener is not None:
                    listener.close()
        still_open = 0
        for conn in list(self.connections.values()):
            group = conn.group
            serves = group.session is session if group is not None else conn.port in ports
            if serves:
                conn.drain()
                if not conn.closed:
                    still_open += 1
        return OK, still_open

    # ================================================================ connections
    def connection_made(self, conn: AnyConnection) -> bool:
        if len(self.connections) >= self.max_connections:
            counters = self.driver.counters
            counters.stats["Connections_refused"] += 1
            counters.log_error(conn, None, 0, "ConnLimit")
            conn.reset()
            return False
        conn.connection_id = self.driver.next_id()
        self.connections[conn.connection_id] = conn
        if conn.scheme == "https":
            # made on the TLS transport after the handshake (decision 0021): its facts, the ALPN choice
            self.driver.tls.established(conn)
        cache = self.driver.caches.response_cache
        if cache is not None:
            # the connection's fast path: the requests remembered on its address (decision 0008)
            conn.remembered = cache.requests_on(conn.local_addr, conn.scheme)
        return True

    def connection_lost(self, conn: AnyConnection) -> None:
        self.connections.pop(conn.connection_id, None)
        if conn.tls_file_bytes:
            self.driver.tls.closed_file_bytes += conn.tls_file_bytes
        group = conn.group
        if group is not None:
            group.connections -= 1
            conn.group = None


class Acceptor:
    """Accepts the connections waiting on one plain-HTTP listening socket: up to ACCEPT_BATCH per readiness, each
    made an event-loop transport with its protocol (decision 0027). An event loop's own server (`create_server`)
    accepts one connection per readiness under uvloop (libuv), so a burst of N connections took N loop passes,
    each running the accept, transport and protocol code once, cold; accepted in a batch, their protocols start in
    one pass and their first reads tend to come together too."""

    def __init__(self, driver: Driver, listener: Listener, sock: socket.socket, sniff: bool) -> None:
        self.driver = driver
        self.loop = driver.loop
        self.listener = listener
        self.sock = sock
        self.fd = sock.fileno()
        self.sniff = sniff
        sock.setblocking(False)  # `ready` accepts until EAGAIN: a blocking accept would stall the loop

    def start(self) -> None:
        if self.listener.closing:
            return
        self.loop.add_reader(self.fd, self.ready)
        self.listener.readers.append((self.loop, self.fd))

    def make_protocol(self) -> asyncio.Protocol:
        listener = self.listener
        if self.sniff:
            return PrefaceSniffer(self.driver, listener.port, listener.scheme)
        return Http11Connection(self.driver, listener.port, listener.scheme)

    def ready(self) -> None:
        sock = self.sock
        listener = self.listener
        for _ in range(ACCEPT_BATCH):
            if listener.closing:
                return
            try:
                conn_sock, _peer = sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in _ACCEPT_NEXT:
                    continue  # that client is gone (or refused by a firewall rule): the next may be waiting
                # out of descriptors or memory (or worse): the socket stays readable, so stop watching it for a
                # while rather than spin; the waiting clients stay in the backlog
                self.loop.remove_reader(self.fd)
                self.loop.call_later(ACCEPT_RETRY, self.resume)
                return
            self.adopt(conn_sock)

    def resume(self) -> None:
        if not self.listener.closing:
            self.loop.add_reader(self.fd, self.ready)

    def adopt(self, conn_sock: socket.socket) -> None:
        """Make the accepted socket a transport with its protocol. `connect_accepted_socket` is a coroutine that
        creates the transport and schedules `connection_made` before its one wait (for `connection_made`); it is
        driven here step by step instead of through a Task per connection."""
        try:
            _Steps(self.loop, self.loop.connect_accepted_socket(self.make_protocol, conn_sock)).step()
        except Exception:
            conn_sock.close()


class _Steps:
    """Drives a coroutine without a Task: one step now, the next when what it waits for is done. Its failure is its
    own (connect_accepted_socket closes its transport when its wait fails)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, coro: Any) -> None:
        self.loop = loop
        self.coro = coro

    def step(self) -> None:
        try:
            waiting = self.coro.send(None)
        except StopIteration:
            return
        if waiting is None:
            self.loop.call_soon(self.resume, None)  # a bare yield: go on in the next pass
        else:
            waiting.add_done_callback(self.resume)

    def resume(self, _done: object) -> None:
        try:
            self.step()
        except Exception:
            pass


def _max_connections_from_rlimit() -> int:
    """A global connection cap below RLIMIT_NOFILE, with headroom for files, logs and listeners."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        soft = 1 << 20
    return max(64, soft - 256)
