"""The daemon's server side: the Unix socket client processes connect to, and the one in-process engine.

Responsibility: listen and accept client connections (SO_PEERCRED identity read at accept), hand each one to a
`dispatch.Client` (which decodes its calls, checks its handles, calls the engine and answers), send every
client's replies of a loop pass together (one flush per pass), take over from and hand over to another daemon,
drain and close. It must not contain HTTP behaviour (the engine has it), its own codec, nor the per-message work
of a client (`dispatch`); bad input from one client loses only that client.

Decision 0020: the daemon owns the configuration store (`--config-dir`): it loads it at start, applies each
committed change and re-reads it on `reload()` (SIGHUP, the RELOAD call); URL registrations and OPEN_EXISTING are
authorised on the caller's principal by `acl.Authority`; a second socket, `admin.sock` (mode 0660, group
httpsys-admin), serves the same calls to administrators (`httpsys netsh`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import itertools
import logging
import os
import socket
from collections.abc import Callable

from httpsys._config.records import Configuration
from httpsys._config.store import ConfigStore, config_directory
from httpsys._core.sddl import Principal
from httpsys._core.settings import DriverSettings
from httpsys._daemon.acl import Authority, admin_gid, peer_groups, principal_of
from httpsys._daemon.dispatch import Client, DelegationCheck, PassFlush, PeerCredentials
from httpsys._daemon.quotas import DEFAULT_QUOTAS, ClientQuotas
from httpsys._transport.embedded import EmbeddedTransport
from httpsys._wire import messages as M

__all__ = [
    "ADMIN_SOCKET_NAME",
    "HELLO_TIMEOUT",
    "TAKEOVER_DRAIN",
    "DaemonServer",
    "DelegationCheck",
    "PeerCredentials",
    "admin_socket_path",
    "default_socket_path",
]

log = logging.getLogger("httpsys.daemon")

ADMIN_SOCKET_NAME = "admin.sock"
TAKEOVER_DRAIN = 90.0  # seconds an old daemon serves what it has after a takeover (WAS's shutdownTimeLimit)
COLLECT_DELAY = 1.0  # seconds after a client goes before one garbage collection (decision 0018 §2.3)
HELLO_TIMEOUT = 5.0  # seconds a new connection has to say HELLO (decision 0016 §5), else it is closed


def default_socket_path() -> str:
    """ARCHITECTURE §8.1: /run/httpsys/httpsys.sock for root, $XDG_RUNTIME_DIR/httpsys/httpsys.sock otherwise."""
    if os.geteuid() == 0:
        return "/run/httpsys/httpsys.sock"
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/tmp/httpsys-{os.geteuid()}"
    return os.path.join(runtime, "httpsys", "httpsys.sock")


def admin_socket_path(socket_path: str) -> str:
    """The administration socket beside the application socket (`admin.sock` in the same directory)."""
    return os.path.join(os.path.dirname(os.path.abspath(socket_path)), ADMIN_SOCKET_NAME)


class DaemonServer:
    """The engine on `loop` and the Unix socket at `path` that client processes call it through.

    `start()` binds the socket (mode 0666: any local user may connect; every call is then checked against the
    caller's handles) and accepts; `stop_accepting()` closes it; `drain(seconds)` waits for borrowed requests to
    finish; `close()` drops every client (closing their handles) and stops the engine.
    """

    def __init__(
        self,
        path: str,
        loop: asyncio.AbstractEventLoop,
        settings: DriverSettings | None = None,
        config_dir: str | None = None,
        admin_path: str | None = None,
        identify: Callable[[socket.socket, PeerCredentials], Principal] | None = None,
        quotas: ClientQuotas = DEFAULT_QUOTAS,
    ) -> None:
        self.path = path
        self.admin_path = admin_path if admin_path is not None else admin_socket_path(path)
        self.quotas = quotas
        self.hello_timeout = HELLO_TIMEOUT
        self.loop = loop
        # The configuration store (decision 0020): loaded before anything listens (ConfigStoreError naming the
        # file when it cannot be used), each committed change applied, re-read by reload().
        self.store = ConfigStore(config_directory(config_dir))
        configuration = self.store.load()
        self.authority = Authority()
        self.authority.load(configuration)
        self.transport = EmbeddedTransport(loop=loop, settings=settings, configuration=configuration)
        self.store.listeners.append(self._apply)
        # who a connecting process is: SO_PEERCRED + SO_PEERGROUPS (tests inject identities here)
        self.identify = identify or _identify
        self.clients: dict[int, Client] = {}
        # None: Authority.may_delegate decides (decision 0024 §1)
        self.delegation_check: DelegationCheck | None = None
        self._ids = itertools.count(1)
        self._listener: socket.socket | None = None
        self.created_directory: str | None = None  # the socket's directory, when start() created it
        self.handed_over: list[tuple[int, str, socket.socket]] | None = None  # passed to a new daemon
        self.taken_over = asyncio.Event()  # set when a new daemon has taken the listeners
        self._collect: asyncio.TimerHandle | None = None
        self.pass_flush = PassFlush(loop)  # clients with replies written in this loop pass

        self._admin_listener: socket.socket | None = None

    def _apply(self, configuration: Configuration) -> None:
        self.authority.load(configuration)
        self.transport.apply_configuration(configuration)

    def reload(self) -> int:
        """Re-read the store and apply it to the running driver (SIGHUP, RELOAD): no connection is dropped, new
        connections and registrations see the new records. ERROR_BADDB (the store stays as it is, the running
        configuration too) when the file cannot be used."""
        from httpsys._config.store import ERROR_BADDB, ConfigStoreError

        self.store.close()  # a fresh read: the file may have been replaced while the daemon ran
        try:
            configuration = self.store.load()
        except ConfigStoreError as exc:
            log.error("reload: %s; the running configuration is kept", exc)
            return ERROR_BADDB
        self._apply(configuration)
        log.info(
            "reloaded %s: %d reservation(s), %d listen address(es), %d SSL binding(s)",
            self.store.path,
            len(configuration.url_reservations),
            len(configuration.ip_listen_list),
            len(configuration.ssl_bindings()),
        )
        return 0

    def start(self, adopted: socket.socket | None = None) -> None:
        """Bind and listen at `path` (OSError when another daemon already answers there); or accept on `adopted`,
        the listening socket a takeover passed (the file at `path` is already it)."""
        if adopted is not None:
            adopted.setblocking(False)
            self._listener = adopted
            self.loop.add_reader(adopted.fileno(), self._accept, adopted)
            self._listen_admin()  # the old daemon closed its own without unlinking (hand_over)
            return
        directory = os.path.dirname(self.path)
        if directory:
            if not os.path.isdir(directory):
                self.created_directory = (
                    directory  # handed to the daemon's user with --user (decision 0024 §2)
                )
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
        listener = _listen(self.path, 0o666)
        self._listener = listener
        self.loop.add_reader(listener.fileno(), self._accept, listener)
        self._listen_admin()

    def _listen_admin(self) -> None:
        """Bind `admin.sock` beside the socket (decision 0020); an error is logged, the daemon serves without it."""
        if self.admin_path:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.admin_path)  # this daemon owns the directory's application socket now
            try:
                admin = _listen(self.admin_path, 0o660)
            except OSError as exc:
                log.error("no administration socket at %s: %s", self.admin_path, exc)
            else:
                gid = admin_gid()
                if gid is not None:
                    with contextlib.suppress(OSError):
                        os.chown(self.admin_path, -1, gid)
                self._admin_listener = admin
                self.loop.add_reader(admin.fileno(), self._accept, admin)

    def _accept(self, listener: socket.socket) -> None:
        if listener is not self._listener and listener is not self._admin_listener:
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
            try:
                principal = self.identify(sock, peer)
            except Exception:
                log.exception("identifying pid %d failed", peer.pid)
                sock.close()
                continue
            client = Client(self, sock, next(self._ids), peer, principal)
            self.clients[client.client_id] = client
            self.loop.add_reader(client.fd, client.on_readable)
            client.hello_timer = self.loop.call_later(self.hello_timeout, self._require_hello, client)

    def flush_later(self, client: Client) -> None:
        """`client` has replies to send: at the end of this loop pass (one callback for every client), each
        client's replies of the pass leave in one sendmsg (two when fds make a second batch)."""
        self.pass_flush.add(client)

    def collect_soon(self) -> None:
        """A client went: run a full garbage collection once within COLLECT_DELAY (one pass for a burst of
        deaths), so what it left that only that pass frees does not stand for long (decision 0018 §2.3)."""
        if self._collect is None:
            self._collect = self.loop.call_later(COLLECT_DELAY, self._collect_now)

    def _collect_now(self) -> None:
        self._collect = None
        gc.collect()
        _release_free_memory()

    def _require_hello(self, client: Client) -> None:
        if not client.greeted and not client.gone:
            client.drop(f"no HELLO within {self.hello_timeout:g} s")

    def stop_accepting(self) -> None:
        for listener, path in ((self._listener, self.path), (self._admin_listener, self.admin_path)):
            if listener is None:
                continue
            with contextlib.suppress(Exception):
                self.loop.remove_reader(listener.fileno())
            listener.close()
            with contextlib.suppress(OSError):
                os.unlink(path)
        self._listener = self._admin_listener = None

    def hand_over(self, taker: Client) -> None:
        """Takeover, this side (decision 0024 §3): keep copies of the daemon's listening socket and of every TCP
        listener for the new daemon, stop accepting (the socket file stays: it is the new daemon's now), let
        every connection close after its current response, and tell the other clients to reconnect."""
        items: list[tuple[int, str, socket.socket]] = []
        listener = self._listener
        if listener is not None:
            items.append((0, "unix", listener.dup()))
            self._listener = None
            with contextlib.suppress(Exception):
                self.loop.remove_reader(listener.fileno())
            listener.close()
        admin = self._admin_listener
        if admin is not None:  # the new daemon binds its own at the same path: close ours, leave the file
            self._admin_listener = None
            with contextlib.suppress(Exception):
                self.loop.remove_reader(admin.fileno())
            admin.close()
        items.extend(self.transport.driver.hand_over_listeners())
        self.handed_over = items
        log.info(
            "takeover by client %d (%r): %d listening socket(s) handed over; draining",
            taker.client_id,
            taker.peer,
            len(items),
        )
        for client in list(self.clients.values()):
            if client is not taker:
                client.send(M.GoingAway(seconds=TAKEOVER_DRAIN, reason=M.GOING_AWAY_UPGRADE))
        self.taken_over.set()

    def idle_after_takeover(self) -> bool:
        """Nothing left for the old daemon: no request delivered and unfinished, none waiting, no connection."""
        return self.in_flight() == 0 and self.transport.driver.open_work() == 0

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
        if self._collect is not None:
            self._collect.cancel()
            self._collect = None
        self.transport.close()
        for _port, _scheme, sock in self.handed_over or ():
            sock.close()
        self.store.close()


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None (another C library)."""
    try:
        libc = ctypes.CDLL(None)
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


_MALLOC_TRIM = _malloc_trim()


def _release_free_memory() -> None:
    """Give the heap's free pages back to the system after clients went (decision 0018 §2.3): a burst of dead
    clients' buffers would otherwise stay in the daemon's RSS as allocator slack."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def _listen(path: str, mode: int) -> socket.socket:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        listener.bind(path)
        os.chmod(path, mode)
        listener.listen(512)
        listener.setblocking(False)
    except BaseException:
        listener.close()
        raise
    return listener


def _identify(sock: socket.socket, peer: PeerCredentials) -> Principal:
    return principal_of(peer.uid, peer.gid, peer_groups(sock))
