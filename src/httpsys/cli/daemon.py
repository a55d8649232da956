"""`httpsys daemon`: the shared driver in its own process, serving other processes over a Unix socket.

Responsibility: the command's options (`--socket`, `--config-dir`, `--error-log-dir`, `--shutdown-timeout`,
the per-client quotas), the daemon's lifetime — bind the socket (ready when it accepts), tell systemd
(`sd_notify` READY=1 when NOTIFY_SOCKET is set), log to stderr, on SIGTERM/SIGINT stop accepting, let
in-flight responses finish within the bound and exit 0. It must not serve HTTP or handle clients itself:
`httpsys._daemon.server` does.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
import sys
from typing import TYPE_CHECKING, Any

from httpsys._core.settings import DriverSettings
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
        help="configuration store directory (default: HTTPSYS_CONFIG_DIR, else /etc/httpsys for root, "
        "$XDG_CONFIG_HOME/httpsys otherwise); the store itself is not built yet",
    )
    parser.add_argument(
        "--error-log-dir",
        metavar="DIR",
        default=None,
        help="write the HTTPERR error log (httperr*.log) into DIR (ErrorLoggingDir); default: not written",
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
    settings = DriverSettings(error_log_dir=args.error_log_dir)
    quotas = _quotas(args)
    loop = new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        server = DaemonServer(path, loop, settings, quotas)
        failure: list[str] = []
        stop = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)

        async def lifetime() -> bool | None:
            # Bound and ready only once the loop runs, so a client that can connect can also stop the daemon
            # with SIGTERM (signal handlers are live); None when the socket cannot be bound.
            try:
                server.start()
            except OSError as exc:
                failure.append(f"cannot listen at {path}: {exc.strerror or exc}")
                server.transport.close()
                return None
            log.info("listening at %s (pid %d, config dir %s)", path, os.getpid(), config_dir)
            sd_notify(f"READY=1\nMAINPID={os.getpid()}\nSTATUS=listening at {path}")
            await stop.wait()
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
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        asyncio.set_event_loop(None)
        loop.close()
