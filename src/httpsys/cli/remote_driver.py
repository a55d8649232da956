"""The command's driver through the shared daemon: a connection to `HTTPSYS_DAEMON_SOCKET` with the command's
per-session and per-queue settings.

Responsibility: connect to the daemon (one line naming the socket, at once, when none listens there), give every
server session and request queue created on the connection the command line's timer values, queue length and 503
verbosity (as `ConfiguredTransport` does in embedded mode), and say which driver-wide options the daemon's own
values override. It must not start a daemon (`httpsys daemon`, or `run --workers`' private one, do) and must not
carry calls itself (`httpsys._transport.remote` does). Imported only in daemon mode, so embedded commands never
load the wire codec.
"""

from __future__ import annotations

import asyncio

from httpsys._transport import DAEMON_SOCKET_ENV
from httpsys._transport.remote import RemoteTransport
from httpsys.cli.diagnostics import EXIT_FAILURE, CommandError, code_name
from httpsys.cli.hosting import configure_group, configure_queue, configure_session, warn
from httpsys.cli.options import ServerOptions
from httpsys.errors import HttpSysError

__all__ = ["ConfiguredRemoteTransport", "connect_daemon", "driver_wide_options"]


class ConfiguredRemoteTransport(RemoteTransport):
    """A connection to the daemon at `path` whose new server sessions, URL groups and request queues get the
    command's settings (sessions: the timer options; groups: the log file; queues it creates: --queue-length and
    503 verbosity Limited)."""

    def __init__(self, path: str, options: ServerOptions) -> None:
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()  # it serves the connection
        except RuntimeError:
            loop = None
        super().__init__(path, io_barrier=False, loop=loop)  # the asyncio face awaits every completion
        self.options = options

    def create_server_session(self, version: tuple[int, int]) -> tuple[int, int]:
        code, session_id = super().create_server_session(version)
        return configure_session(self, self.options, code, session_id)

    def create_url_group(self, session_id: int) -> tuple[int, int]:
        code, group_id = super().create_url_group(session_id)
        return configure_group(self, self.options, code, group_id)

    def create_request_queue(
        self, name: str | None, flags: int, v1: bool, security: str | None = None
    ) -> tuple[int, int]:
        code, handle = super().create_request_queue(name, flags, v1, security)
        return configure_queue(self, self.options, flags, code, handle)


def driver_wide_options(options: ServerOptions) -> list[str]:
    """The options given that set driver-wide values (HTTP.sys registry parameters): through a daemon they are
    the daemon's, so the command cannot apply them."""
    given = {
        "--max-field-length": options.max_field_length,
        "--max-request-bytes": options.max_request_bytes,
        "--max-connections": options.max_connections,
    }
    return [name for name, value in given.items() if value is not None]


def connect_daemon(options: ServerOptions, path: str | None = None) -> ConfiguredRemoteTransport:
    """The configured connection to the daemon at `path` (default: HTTPSYS_DAEMON_SOCKET); CommandError
    (exit status 1) naming the socket when no daemon answers there or it refuses the connection."""
    import os

    where = path or os.environ.get(DAEMON_SOCKET_ENV, "")
    try:
        transport = ConfiguredRemoteTransport(where, options)
    except HttpSysError as exc:
        source = "" if path else f"{DAEMON_SOCKET_ENV}, "
        raise CommandError(f"{exc.message} ({source}{code_name(exc.winerror)})", EXIT_FAILURE)
    if path is None:
        for name in driver_wide_options(options):
            warn(f"{name} is a driver-wide setting: the daemon at {where} applies its own value")
    return transport
