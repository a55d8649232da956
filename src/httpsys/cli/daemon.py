"""`httpsys daemon`: the shared driver in its own process, serving other processes over a Unix socket.

Responsibility: the command's options (`--socket`, `--config-dir`, `--error-log-dir`, `--user`, `--takeover`,
`--shutdown-timeout`, the per-client quotas), the daemon's lifetime — load the configuration store (a store it cannot use: one line naming
the file, exit 1), bind the socket (ready when it accepts) and `admin.sock` beside it (or, with `--takeover`, take
the running daemon's sockets), with `--user` then switch to that user (keeping CAP_NET_BIND_SERVICE only), tell
systemd (`sd_notify` READY=1 when NOTIFY_SOCKET is set), log to stderr, on SIGHUP re-read the store and apply it
(no connection dropped), on SIGTERM/SIGINT stop accepting, let in-flight responses finish within the bound and exit
0. It must not serve HTTP or handle clients itself: `httpsys._daemon.server` does.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
import sys
import threading
from typing import TYPE_CHECKING, Any

from httpsys._core.settings import DriverSettings
from httpsys._daemon.privileges import (
    DAEMON_UMASK,
    PrivilegeError,
    TargetUser,
    capabilities,
    drop_privileges,
    give_to,
    resolve_user,
)
from httpsys.cli.diagnostics import CommandError

if TYPE_CHECKING:
    from httpsys._daemon.quotas import ClientQuotas

__all__ = ["add_daemon_parser", "default_config_dir", "run_daemon", "sd_notify"]

log = logging.getLogger("httpsys.daemon")


def default_config_dir() -> str:
    """ARCHITECTURE §8.5: /etc/httpsys for root, $XDG_CONFIG_HOME/httpsys (~/.config/httpsys) otherwise."""
    if os.geteuid() == 0:
        return "/etc/httpsys"
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "httpsys")


def add_daemon_parser(commands: Any) -> None:
    """Register `httpsys daemon` in the command's sub-parsers."""
    from httpsys._daemon.server import default_socket_path

    parser = commands.add_parser(
        "daemon",
        help="run the shared driver for other processes (HTTPSYS_DAEMON_SOCKET)",
        description="Run the driver in the foreground as a shared daemon: processes with "
        "HTTPSYS_DAEMON_SOCKET=PATH in their environment use it instead of an embedded driver.",
        epilog="example:\n  httpsys daemon --socket /tmp/httpsys.sock &\n"
        "  HTTPSYS_DAEMON_SOCKET=/tmp/httpsys.sock python my_server.py\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--socket",
        metavar="PATH",
        default=None,
        help=f"Unix socket to listen on (default {default_socket_path()})",
    )
    parser.add_argument(
        "--config-dir",
        metavar="DIR",
        default=None,
        help="configuration store directory, holding config.db (default: HTTPSYS_CONFIG_DIR, else /etc/httpsys "
        "for root, $XDG_CONFIG_HOME/httpsys otherwise); SIGHUP re-reads it",
    )
    parser.add_argument(
        "--error-log-dir",
        metavar="DIR",
        default=None,
        help="write the HTTPERR error log (httperr*.log) into DIR (ErrorLoggingDir); default: not written",
    )
    parser.add_argument(
        "--http2-cleartext",
        action="store_true",
        help="also speak HTTP/2 with prior knowledge on http:// ports (h2c; HTTP.sys's EnableHttp2Cleartext, "
        "a setting of the whole driver); Upgrade: h2c is not honoured",
    )
    parser.add_argument(
        "--takeover",
        action="store_true",
        help="upgrade without dropping: take the listening sockets of the daemon running at --socket (which "
        "stops accepting, drains and exits); applications reconnect to this one (docs/daemon.md)",
    )
    parser.add_argument(
        "--user",
        metavar="NAME",
        default=None,
        help="start as root, open the socket, then run as user NAME keeping only CAP_NET_BIND_SERVICE "
        "(ports below 1024 still bind); see docs/daemon.md",
    )
    parser.add_argument(
        "--shutdown-timeout",
        metavar="SECONDS",
        type=float,
        default=10.0,
        help="on SIGTERM, how long in-flight responses may take before the daemon exits (default 10)",
    )
    _add_quota_options(parser)


def _add_quota_options(parser: Any) -> None:
    """Per-client quotas (decision 0018 §3; docs/daemon.md "Quotas")."""
    from httpsys._daemon.quotas import DEFAULT_QUOTAS as Q

    quotas = parser.add_argument_group("per-client quotas (a client is one connected process)")
    quotas.add_argument(
        "--client-max-handles",
        metavar="N",
        type=int,
        default=Q.max_handles,
        help=f"sessions, URL groups and queue handles one client may own (default {Q.max_handles}); "
        "beyond: ERROR_NOT_ENOUGH_QUOTA (1816)",
    )
    quotas.add_argument(
        "--client-max-operations",
        metavar="N",
        type=int,
        default=Q.max_operations,
        help=f"I/O calls one client may have outstanding (default {Q.max_operations}); "
        "beyond: ERROR_NOT_ENOUGH_QUOTA (1816)",
    )
    quotas.add_argument(
        "--client-max-unsent",
        metavar="BYTES",
        type=int,
        default=Q.max_unsent,
        help=f"completions queued for a client that does not read its socket (default {Q.max_unsent}); "
        "beyond: it is not read and gets no new requests until half is read",
    )
    quotas.add_argument(
        "--client-stall-timeout",
        metavar="SECONDS",
        type=float,
        default=Q.stall_timeout,
        help=f"how long a client may stay over --client-max-unsent before it is disconnected "
        f"(default {Q.stall_timeout:g})",
    )


def sd_notify(state: str) -> bool:
    """Send `state` (e.g. "READY=1") to systemd's NOTIFY_SOCKET; False when there is none or it fails."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # an abstract socket
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto(state.encode(), address)
    except OSError as exc:
        log.warning("sd_notify(%s) failed: %s", state, exc)
        return False
    return True


TAKEOVER_GRACE = 2.0  # seconds a connection accepted before a takeover has to send its first request
TAKEOVER_CLAIM = 60.0  # seconds a taken-over listener waits for an application to register on its port again


def _close_unclaimed(server: Any) -> None:
    count = server.transport.driver.close_inherited()
    if count:
        log.warning("closed %d taken-over listening socket(s) no application registered on again", count)


async def _drain_after_takeover(server: Any, stop: asyncio.Event) -> bool:
    """The old daemon after a takeover: serve what it already has (delivered requests, queued requests, open
    connections, each closing after its current response) until nothing is left, TAKEOVER_DRAIN passes or
    SIGTERM comes; then exit, which tells its clients to move their last receives to the new daemon."""
    from httpsys._daemon.server import TAKEOVER_DRAIN

    loop = asyncio.get_running_loop()
    deadline = loop.time() + TAKEOVER_DRAIN
    grace = loop.time() + TAKEOVER_GRACE
    while not server.idle_after_takeover() and not stop.is_set():
        now = loop.time()
        if now >= deadline:
            break
        if grace and now >= grace:
            grace = 0.0  # connections that sent nothing since the takeover are closed now
            server.transport.driver.drain_connections()
        await asyncio.sleep(0.02)
    idle: bool = server.idle_after_takeover()
    log.info("taken over: %s; exiting", "drained" if idle else "drain bound reached, resetting what is left")
    return idle


def _target_user(args: argparse.Namespace) -> TargetUser | None:
    if args.user is None:
        return None
    try:
        user = resolve_user(args.user)
    except PrivilegeError as exc:
        raise CommandError(str(exc)) from None
    if os.geteuid() != 0:
        raise CommandError("--user needs the daemon to start as root")
    return user


def _make_own_directory(directory: str, user: TargetUser) -> None:
    if not os.path.isdir(directory):
        try:
            os.makedirs(directory, mode=0o750)
        except OSError as exc:
            raise CommandError(f"cannot create {directory}: {exc.strerror or exc}", 1) from None
        give_to(user, directory)


def _switch_user(server: Any, path: str, user: TargetUser, error_log_dir: str | None) -> None:
    """After the socket is bound: hand it (and the directory start() created) to `user`, then become `user`."""
    from httpsys._engine.logs import check_directory

    give_to(user, path)
    if server.created_directory is not None:
        give_to(user, server.created_directory)
    if threading.active_count() != 1:
        raise PrivilegeError("--user: the switch must happen before any other thread starts")
    drop_privileges(user)
    if error_log_dir and check_directory(os.path.realpath(error_log_dir)) != 0:
        raise PrivilegeError(
            f"--user {user.name}: the HTTPERR directory {error_log_dir} is not writable by it"
        )
    caps = capabilities()
    log.info(
        "running as user %s (uid %d, gid %d): effective capabilities %#x (CAP_NET_BIND_SERVICE only)",
        user.name,
        user.uid,
        user.gid,
        caps.get("CapEff", 0),
    )


def _quotas(args: argparse.Namespace) -> ClientQuotas:
    from httpsys._daemon.quotas import ClientQuotas

    try:
        return ClientQuotas(
            max_handles=args.client_max_handles,
            max_operations=args.client_max_operations,
            max_unsent=args.client_max_unsent,
            stall_timeout=args.client_stall_timeout,
        )
    except ValueError as exc:
        raise CommandError(str(exc)) from None


def run_daemon(args: argparse.Namespace) -> int:
    """Run `httpsys daemon` with parsed `args` until SIGTERM/SIGINT; the exit status."""
    from httpsys._daemon.server import DaemonServer, default_socket_path
    from httpsys._transport.embedded import new_event_loop

    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="httpsys daemon: %(message)s")
    path = os.path.abspath(args.socket or default_socket_path())
    config_dir = args.config_dir or os.environ.get("HTTPSYS_CONFIG_DIR") or default_config_dir()
    if args.shutdown_timeout < 0:
        raise CommandError("--shutdown-timeout must be 0 or more seconds")
    os.umask(DAEMON_UMASK)  # logs and directories the daemon creates are never world-readable
    user = _target_user(args)
    if user is not None and args.error_log_dir:
        # the HTTPERR directory is written after the switch: a directory created here becomes the user's
        _make_own_directory(args.error_log_dir, user)
    settings = DriverSettings(error_log_dir=args.error_log_dir, http2_cleartext=args.http2_cleartext)
    from httpsys._config.store import ConfigStoreError

    quotas = _quotas(args)

    adopted: Any = None
    inherited: list[Any] = []
    if args.takeover:
        from httpsys._daemon.takeover import TakeoverError, take_over

        try:
            adopted, inherited = take_over(path)
        except TakeoverError as exc:
            raise CommandError(str(exc), 1) from None
        log.info("took over %s: %d listening socket(s)", path, len(inherited))
    loop = new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        try:
            server = DaemonServer(path, loop, settings, config_dir=config_dir, quotas=quotas)
        except ConfigStoreError as exc:
            raise CommandError(str(exc), 1) from None
        failure: list[str] = []
        stop = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        loop.add_signal_handler(signal.SIGHUP, _reload, server)

        async def lifetime() -> bool | None:
            # Bound and ready only once the loop runs, so a client that can connect can also stop the daemon
            # with SIGTERM (signal handlers are live); None when the socket cannot be bound.
            try:
                server.start(adopted)
                if inherited:
                    server.transport.driver.adopt_listeners(inherited)
                    loop.call_later(TAKEOVER_CLAIM, _close_unclaimed, server)
            except OSError as exc:
                failure.append(f"cannot listen at {path}: {exc.strerror or exc}")
                server.transport.close()
                return None
            if user is not None:
                try:
                    _switch_user(server, path, user, args.error_log_dir)
                except PrivilegeError as exc:
                    failure.append(str(exc))
                    server.stop_accepting()
                    server.transport.close()
                    return None
            log.info("listening at %s (pid %d, config dir %s)", path, os.getpid(), config_dir)
            sd_notify(f"READY=1\nMAINPID={os.getpid()}\nSTATUS=listening at {path}")
            stopping = asyncio.ensure_future(stop.wait())
            upgraded = asyncio.ensure_future(server.taken_over.wait())
            await asyncio.wait([stopping, upgraded], return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            upgraded.cancel()
            if server.taken_over.is_set():
                sd_notify("STOPPING=1\nSTATUS=taken over by a new daemon: draining")
                return await _drain_after_takeover(server, stop)
            log.info(
                "stopping: no new clients, waiting up to %.0f s for in-flight responses",
                args.shutdown_timeout,
            )
            sd_notify("STOPPING=1")
            server.stop_accepting()
            return await server.drain(args.shutdown_timeout)

        drained = loop.run_until_complete(lifetime())
        if drained is None:
            raise CommandError(failure[0], 1)
        if not drained:
            log.warning("%d response(s) still in flight at the shutdown bound: reset", server.in_flight())
        server.close()
        log.info("stopped")
        return 0
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(signum)
        asyncio.set_event_loop(None)
        loop.close()


def _reload(server: Any) -> None:
    """SIGHUP: re-read the configuration store and apply it (what `httpsys netsh` RELOAD does)."""
    sd_notify("RELOADING=1")
    server.reload()
    sd_notify("READY=1")
