"""The command line of `httpsys`: the argument parser, its help text, and the option values it produces.

Responsibility: declare every sub-command and option (with ranges taken from HTTP.sys: USHORT timer seconds,
MaxFieldLength, MaxRequestBytes, queue length), work out the URL prefixes that --url or uvicorn's --host/--port
stand for, turn parsed arguments into `ServerOptions`, and map those onto the driver's settings and the server
session's timer values. It must not start servers or touch sockets.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import NoReturn

from httpsys import __version__
from httpsys._core import logformat
from httpsys._core.settings import DriverSettings
from httpsys._core.timers import TimeoutLimits
from httpsys._core.urlprefix import HostKind, InvalidUrlPrefix, parse_url_prefix
from httpsys.cli.diagnostics import CommandError

DEFAULT_DEMO_URL = "http://127.0.0.1:8080/"
DEFAULT_HOST = "127.0.0.1"  # uvicorn's defaults, for --host/--port and for `run`/`serve` without --url
DEFAULT_PORT = 8000
DEFAULT_RUN_URL = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}/"
DEFAULT_SHUTDOWN_TIMEOUT = 10.0
LOG_FORMATS = ("w3c", "iis", "ncsa")
_LOG_TYPES = {
    "w3c": logformat.LOGGING_TYPE_W3C,
    "iis": logformat.LOGGING_TYPE_IIS,
    "ncsa": logformat.LOGGING_TYPE_NCSA,
}
# The W3C fields IIS selects by default (its site logging defaults), for `--log-format w3c`.
W3C_DEFAULT_FIELDS = (
    logformat.FIELD_DATE
    | logformat.FIELD_TIME
    | logformat.FIELD_SERVER_IP
    | logformat.FIELD_METHOD
    | logformat.FIELD_URI_STEM
    | logformat.FIELD_URI_QUERY
    | logformat.FIELD_SERVER_PORT
    | logformat.FIELD_USER_NAME
    | logformat.FIELD_CLIENT_IP
    | logformat.FIELD_USER_AGENT
    | logformat.FIELD_REFERER
    | logformat.FIELD_STATUS
    | logformat.FIELD_SUB_STATUS
    | logformat.FIELD_WIN32_STATUS
    | logformat.FIELD_TIME_TAKEN
)

_USHORT = 0xFFFF
_ULONG = 0xFFFFFFFF

_EPILOG = """\
examples:
  httpsys serve ./public --url http://127.0.0.1:8080/
      static files from ./public (ranges, ETag, 304, HEAD)
  httpsys serve ./public --url http://+:8080/static/ --listing --cache-ttl 60
      every host name on port 8080, under /static/, with directory listings
  httpsys run hello:app --url http://127.0.0.1:8000/
      an ASGI or WSGI application (found by inspecting hello.app); the same as
      httpsys run hello:app --port 8000
  httpsys run myproject.wsgi:application --interface wsgi --threads 16 --url http://+:8000/
  httpsys demo
      the project's demo site and live driver statistics at http://127.0.0.1:8080/

URL prefixes use HTTP.sys syntax: scheme://host:port/path/ where host is a name, an IP address,
'+' (every host name, strong wildcard) or '*' (weak wildcard); the port is required. https:// needs
--ssl-certfile/--ssl-keyfile (uvicorn's options) or an SSL binding of its port (docs/tls.md). --host/--port (uvicorn's spelling) stand for one such prefix; without
--url, --host or --port, `run` and `serve` listen on http://127.0.0.1:8000/.
Ctrl+C or SIGTERM stops accepting connections, closes idle ones, finishes the requests in flight (their
responses say Connection: close; up to --shutdown-timeout) and exits 0.
Configuration errors print one line on stderr and exit with status 2.
"""


class CommandLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr (exit status 2), like the rest of the command."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: {message} (see '{self.prog} --help')\n")
        raise SystemExit(2)


def _ranged_int(low: int, high: int, what: str) -> Callable[[str], int]:
    def convert(text: str) -> int:
        try:
            value = int(text, 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a whole number, not {text!r}")
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{what} must be between {low} and {high}, not {value}")
        return value

    convert.__name__ = what  # argparse names the type in its messages
    return convert


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a number of seconds is expected, not {text!r}")
    if not 0 <= value <= 86400:
        raise argparse.ArgumentTypeError(f"seconds must be between 0 and 86400, not {text}")
    return value


@dataclass(frozen=True, slots=True)
class ServerOptions:
    """Options shared by `run`, `serve` and `demo` (None = leave the HTTP.sys default)."""

    urls: tuple[str, ...]
    queue_name: str | None = None
    log_dir: str | None = None
    log_format: str = "w3c"
    idle_timeout: int | None = None
    header_timeout: int | None = None
    body_timeout: int | None = None
    min_send_rate: int | None = None
    max_field_length: int | None = None
    max_request_bytes: int | None = None
    max_connections: int | None = None
    queue_length: int | None = None
    shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT
    access_log: bool = True
    http2_cleartext: bool = False  # EnableHttp2Cleartext (decision 0022)

    def driver_settings(self) -> DriverSettings:
        """Driver-wide values (the registry parameters of HTTP.sys) for the embedded driver."""
        settings = DriverSettings()
        return replace(
            settings,
            max_field_length=_or(self.max_field_length, settings.max_field_length),
            max_request_bytes=_or(self.max_request_bytes, settings.max_request_bytes),
            max_connections=_or(self.max_connections, settings.max_connections),
            idle_connection_timeout=self.idle_timeout or settings.idle_connection_timeout,
            header_wait_timeout=self.header_timeout or settings.header_wait_timeout,
            ip_listen_list=ip_listen_list(self.urls),
            http2_cleartext=self.http2_cleartext,
        )

    def timeout_limits(self) -> TimeoutLimits | None:
        """HttpServerTimeoutsProperty values for the server session, or None when no timer option was given."""
        limits = TimeoutLimits(
            entity_body=self.body_timeout or 0,
            idle_connection=self.idle_timeout or 0,
            header_wait=self.header_timeout or 0,
            min_send_rate=self.min_send_rate or 0,
        )
        return None if limits == TimeoutLimits() else limits

    def logging_info(self) -> dict[str, object] | None:
        """The HttpServerLoggingProperty value every URL group the command creates gets (`--log-dir`,
        `--log-format`): daily files in UTF-8, W3C with IIS's default fields; None without --log-dir."""
        if self.log_dir is None:
            return None
        return {
            "format": _LOG_TYPES[self.log_format],
            "directory": self.log_dir,
            "fields": W3C_DEFAULT_FIELDS if self.log_format == "w3c" else 0,
            "rollover_type": logformat.ROLLOVER_DAILY,
            "rollover_size": 0,
            "flags": logformat.FLAG_USE_UTF8_CONVERSION,
        }


def _or(value: int | None, default: int) -> int:
    return default if value is None else value


def ip_listen_list(urls: Sequence[str]) -> tuple[str, ...]:
    """The IP listen list for these prefixes: their addresses when every prefix names an IP literal (so
    `http://127.0.0.1:8080/` listens on loopback only), else empty (every address, as HTTP.sys does).

    Example:
        >>> ip_listen_list(["http://127.0.0.1:8080/"]), ip_listen_list(["http://+:8080/"])
        (('127.0.0.1',), ())
    """
    addresses: list[str] = []
    for url in urls:
        try:
            prefix = parse_url_prefix(url)
        except InvalidUrlPrefix:
            return ()
        if prefix.kind is not HostKind.IP:
            return ()
        if prefix.host not in addresses:
            addresses.append(prefix.host)
    return tuple(addresses)


def listen_urls(ns: argparse.Namespace, default: str) -> list[str]:
    """The URL prefixes to register: every --url, or the one --host/--port stand for, or `default`.

    `--host` is uvicorn's: an IP address listens on that address (`0.0.0.0` and `::`, every address, become the
    strong wildcard `+`), `localhost` is 127.0.0.1, any other name is a host-name prefix (HTTP.sys then routes
    only requests whose Host header names it); `--port` defaults to 8000 and `--host` to 127.0.0.1.

    >>> listen_urls(argparse.Namespace(url=None, host="0.0.0.0", port=None), "")
    ['http://+:8000/']
    """
    host, port = getattr(ns, "host", None), getattr(ns, "port", None)
    if ns.url:
        if host is not None or port is not None:
            raise CommandError("give either --url or --host/--port, not both")
        return list(ns.url)
    if host is None and port is None:
        return [default]
    if host is not None and not _HOST_TEXT.fullmatch(host):
        raise CommandError(f"invalid --host {host!r}: a host name or an IP address is expected")
    return [f"http://{_prefix_host(DEFAULT_HOST if host is None else host)}:{port or DEFAULT_PORT}/"]


_HOST_TEXT = re.compile(r"[A-Za-z0-9._\-:\[\]%+*]*")


def _prefix_host(host: str) -> str:
    """The host part of a URL prefix for uvicorn's --host value."""
    if host in ("0.0.0.0", "::", "[::]", "+", "*", ""):
        return "*" if host == "*" else "+"
    if host.lower() == "localhost":
        return "127.0.0.1"
    if ":" in host and not host.startswith("["):
        return f"[{host}]"
    return host


def log_directory(text: str | None) -> str | None:
    """--log-dir as an absolute path, created if missing; CommandError (one line) when it cannot be used."""
    if text is None:
        return None
    path = os.path.abspath(text)
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise CommandError(f"--log-dir {text}: cannot create it ({exc.strerror})")
    if not os.access(path, os.W_OK | os.X_OK):
        raise CommandError(f"--log-dir {text}: not writable")
    return path


def server_options(ns: argparse.Namespace, urls: Sequence[str] | None = None) -> ServerOptions:
    """The ServerOptions of a parsed command line."""
    return ServerOptions(
        urls=tuple(urls if urls is not None else ns.url),
        queue_name=getattr(ns, "queue", None),
        log_dir=log_directory(ns.log_dir),
        log_format=ns.log_format,
        idle_timeout=ns.idle_timeout,
        header_timeout=ns.header_timeout,
        body_timeout=ns.body_timeout,
        min_send_rate=ns.min_send_rate,
        max_field_length=ns.max_field_length,
        max_request_bytes=ns.max_request_bytes,
        max_connections=ns.max_connections,
        queue_length=ns.queue_length,
        shutdown_timeout=ns.shutdown_timeout,
        access_log=not getattr(ns, "no_access_log", False),
        http2_cleartext=getattr(ns, "http2_cleartext", False),
    )


def _add_server_options(parser: argparse.ArgumentParser, *, default_url: str, queue: bool) -> None:
    where = parser.add_argument_group("where to listen")
    where.add_argument(
        "--url",
        action="append",
        metavar="PREFIX",
        help="URL prefix to register, e.g. http://+:8080/ or http://127.0.0.1:8080/app/ (repeatable; "
        f"https:// with --ssl-certfile or an SSL binding); default {default_url}",
    )
    where.add_argument(
        "--host",
        metavar="HOST",
        help=f"uvicorn's spelling, mapped to --url http://HOST:PORT/ (default {DEFAULT_HOST}): "
        "0.0.0.0 or :: is every address (http://+:PORT/), localhost is 127.0.0.1, "
        "another name is a host-name prefix (requests must say Host: HOST)",
    )
    where.add_argument(
        "--port",
        type=_ranged_int(1, _USHORT, "port"),
        metavar="PORT",
        help=f"uvicorn's spelling, mapped to --url http://HOST:PORT/ (default {DEFAULT_PORT})",
    )
    where.add_argument(
        "--http2-cleartext",
        action="store_true",
        help="also speak HTTP/2 with prior knowledge on http:// ports (h2c; HTTP.sys's EnableHttp2Cleartext); "
        "Upgrade: h2c is not honoured",
    )
    console = parser.add_argument_group("console")
    console.add_argument(
        "--no-access-log",
        action="store_true",
        help='do not print a line per response on stderr (127.0.0.1:54321 - "GET / HTTP/1.1" 200); '
        "they go to the httpsys.access logger",
    )
    if queue:
        where.add_argument(
            "--queue", metavar="NAME", help="name of the request queue (a named queue; default: unnamed)"
        )

    timers = parser.add_argument_group(
        "timeouts (HTTP_TIMEOUT_LIMIT_INFO of the server session; 0 or absent = HTTP.sys default)"
    )
    seconds = _ranged_int(0, _USHORT, "seconds")
    timers.add_argument(
        "--idle-timeout", type=seconds, metavar="SECONDS", help="IdleConnection: idle keep-alive connections"
    )
    timers.add_argument(
        "--header-timeout", type=seconds, metavar="SECONDS", help="HeaderWait: time to receive a request head"
    )
    timers.add_argument(
        "--body-timeout", type=seconds, metavar="SECONDS", help="EntityBody: time for request body data"
    )
    timers.add_argument(
        "--min-send-rate",
        type=_ranged_int(0, _ULONG, "bytes per second"),
        metavar="BYTES_PER_SECOND",
        help="MinSendRate: slowest acceptable response reader (default 150)",
    )
    timers.add_argument(
        "--shutdown-timeout",
        type=_seconds,
        default=DEFAULT_SHUTDOWN_TIMEOUT,
        metavar="SECONDS",
        help=f"on SIGINT/SIGTERM, how long requests in flight may take to finish "
        f"(default {DEFAULT_SHUTDOWN_TIMEOUT:g})",
    )

    limits = parser.add_argument_group("limits")
    limits.add_argument(
        "--max-field-length",
        type=_ranged_int(64, 65534, "MaxFieldLength"),
        metavar="BYTES",
        help="MaxFieldLength: longest header line or URL (64..65534, default 16384)",
    )
    limits.add_argument(
        "--max-request-bytes",
        type=_ranged_int(256, 16777216, "MaxRequestBytes"),
        metavar="BYTES",
        help="MaxRequestBytes: largest request line plus headers (256..16777216, default 16384)",
    )
    limits.add_argument(
        "--max-connections",
        type=_ranged_int(1, _ULONG, "MaxConnections"),
        metavar="N",
        help="MaxConnections: open connections the driver accepts (default: file descriptor limit - 256)",
    )
    limits.add_argument(
        "--queue-length",
        type=_ranged_int(1, 0x7FFFFFFF, "queue length"),
        metavar="N",
        help="HttpServerQueueLengthProperty: requests waiting for the application before 503 (default 1000)",
    )

    from httpsys.cli.tls import add_tls_options

    add_tls_options(parser)

    logs = parser.add_argument_group("log files (HttpServerLoggingProperty on the command's URL groups)")
    logs.add_argument(
        "--log-dir",
        metavar="DIR",
        help="write a response log file per day into DIR (created if missing; through a daemon, the daemon "
        "writes it), named as HTTP.sys names them: u_exYYMMDD.log (u_in/u_nc for iis/ncsa)",
    )
    logs.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        default="w3c",
        help="the log file's format: w3c (default; IIS's default fields), iis or ncsa",
    )


def build_parser() -> CommandLineParser:
    """The `httpsys` argument parser with its sub-commands."""
    parser = CommandLineParser(
        prog="httpsys",
        description="httpsys: the Windows HTTP Server API (HTTP.sys) on Linux. "
        "Run ASGI/WSGI applications or serve files on URL prefixes, on the embedded driver "
        "(or the daemon at HTTPSYS_DAEMON_SOCKET).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"httpsys {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CommandLineParser)

    run = commands.add_parser(
        "run",
        help="run an ASGI or WSGI application",
        description="Run an ASGI or WSGI application on one or more URL prefixes.",
        epilog="examples:\n"
        "  httpsys run hello:app --url http://127.0.0.1:8000/\n"
        "  httpsys run main:app --host 0.0.0.0 --port 8000        (the same as --url http://+:8000/)\n"
        "  httpsys run mysite.wsgi:application --interface wsgi --threads 16 --url http://+:8000/\n"
        "  httpsys run api:app --url http://+:8000/api/ --root-path /api --queue api\n"
        "  httpsys run main:app --workers 4 --host 0.0.0.0 --port 8000     (4 processes, like uvicorn --workers 4)\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument(
        "app", metavar="MODULE:APP", help="the application, e.g. hello:app or pkg.web:create_app()"
    )
    run.add_argument(
        "--interface",
        choices=("auto", "asgi", "wsgi"),
        default="auto",
        help="force ASGI or WSGI (default: detect: async (scope, receive, send) is ASGI, "
        "(environ, start_response) is WSGI)",
    )
    run.add_argument(
        "--threads",
        type=_ranged_int(1, 1024, "threads"),
        default=8,
        metavar="N",
        help="WSGI worker threads (default 8)",
    )
    run.add_argument(
        "--workers",
        type=_ranged_int(1, 512, "workers"),
        default=1,
        metavar="N",
        help="worker processes on one named request queue through the daemon (HTTPSYS_DAEMON_SOCKET, or a "
        "private one started for the command); dead workers are replaced (default 1: one process, no supervisor)",
    )
    run.add_argument("--root-path", default="", metavar="PATH", help="ASGI root_path (default empty)")
    run.add_argument(
        "--lifespan",
        choices=("auto", "on", "off"),
        default="auto",
        help="ASGI lifespan protocol (default auto)",
    )
    run.add_argument(
        "--app-dir",
        default=".",
        metavar="DIR",
        help="directory put first on sys.path before importing the application (default: the current one)",
    )
    _add_server_options(run, default_url=DEFAULT_RUN_URL, queue=True)

    serve = commands.add_parser(
        "serve",
        help="serve static files from a directory",
        description="Serve the files of DIR: zero-copy file chunks, byte ranges (PROCESS_RANGES), ETag and "
        "Last-Modified with 304 answers, HEAD, index.html, optional directory listings.",
        epilog="examples:\n"
        "  httpsys serve ./public --url http://127.0.0.1:8080/\n"
        "  httpsys serve /srv/files --url http://+:8080/files/ --listing --cache-ttl 300\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("directory", metavar="DIR", help="the directory to serve")
    serve.add_argument("--listing", action="store_true", help="list directories that have no index.html")
    serve.add_argument(
        "--cache-ttl",
        type=_ranged_int(0, _ULONG, "seconds"),
        metavar="SECONDS",
        help="keep files in the driver's response cache for SECONDS (HttpCachePolicyTimeToLive: repeated "
        "GET/HEAD are answered by the driver, even if the file changes meanwhile) and send "
        "Cache-Control: max-age=SECONDS",
    )
    serve.add_argument(
        "--etag",
        choices=("strong", "weak"),
        default="strong",
        help="entity tags from size and modification time: strong (default; If-Range works) or weak",
    )
    _add_server_options(serve, default_url=DEFAULT_RUN_URL, queue=True)

    demo = commands.add_parser(
        "demo",
        help="the demo site with live driver statistics",
        description="Serve the httpsys demo site, with live driver statistics at /_stats and /_stats.json.",
        epilog=f"example:\n  httpsys demo --url {DEFAULT_DEMO_URL}\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_server_options(demo, default_url=DEFAULT_DEMO_URL, queue=False)
    demo.add_argument(
        "--self-signed",
        action="store_true",
        help="for an https:// --url: a throwaway self-signed certificate (localhost, 127.0.0.1), valid a day",
    )
    from httpsys.cli.daemon import add_daemon_parser

    add_daemon_parser(commands)
    from httpsys.cli.netsh import add_config_parser, add_netsh_parser

    add_netsh_parser(commands)
    add_config_parser(commands)
    from httpsys.cli.certstore import add_certstore_parser

    add_certstore_parser(commands)
    return parser
