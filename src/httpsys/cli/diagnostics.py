"""What the `httpsys` command tells an operator when something is wrong: one readable line per failure.

Responsibility: the `CommandError` exception (a message and an exit status) and the wording for URL prefixes
that are malformed, conflicting, or whose port is taken or privileged, and for other Win32 codes. It must not
print: `httpsys.cli.main` writes the line on stderr.
"""

from __future__ import annotations

import os

from httpsys._core.status import Win32Error
from httpsys._core.urlprefix import InvalidUrlPrefix, UrlPrefix, parse_url_prefix
from httpsys.errors import HttpSysError

EXIT_USAGE = 2
EXIT_FAILURE = 1


class CommandError(Exception):
    """A failure the command reports as `httpsys: <message>` and exits with `status`."""

    def __init__(self, message: str, status: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def code_name(code: int) -> str:
    """`ERROR_SHARING_VIOLATION` for 32; the number itself for a code we do not name."""
    try:
        return Win32Error(code).name
    except ValueError:
        return str(code)


def parse_prefix(url: str) -> UrlPrefix:
    """The parsed URL prefix, or CommandError saying why HttpAddUrl would refuse it."""
    try:
        return parse_url_prefix(url)
    except InvalidUrlPrefix as exc:
        why = str(exc)
        marker = f"{url!r}: "
        if marker in why:
            why = why.split(marker, 1)[1]
        raise CommandError(f"invalid URL prefix {url!r} (ERROR_INVALID_PARAMETER): {why}")


def registration_error(url: str, code: int) -> CommandError:
    """The line for an HttpAddUrlToUrlGroup failure with Win32 `code`."""
    name = code_name(code)
    if code == Win32Error.ERROR_INVALID_PARAMETER:
        try:
            parse_prefix(url)
        except CommandError as exc:
            return exc
        return CommandError(f"invalid URL prefix {url!r} ({name}): refused by the driver")
    port = _port_of(url)
    if code == Win32Error.ERROR_SHARING_VIOLATION:
        return CommandError(f"cannot listen on {url!r} ({name}): port {port} is in use by another program")
    through_daemon = bool(os.environ.get("HTTPSYS_DAEMON_SOCKET"))
    if code == Win32Error.ERROR_ACCESS_DENIED and through_daemon:
        return CommandError(
            f"cannot register {url!r} ({name}): no URL reservation of the daemon grants this user the right "
            f"(an administrator: httpsys netsh http add urlacl url={url} user=NAME)"
        )
    if code == Win32Error.ERROR_ALREADY_EXISTS and through_daemon:
        return CommandError(
            f"URL prefix {url!r} ({name}): already registered with the daemon, by another process or another --url"
        )
    if code == Win32Error.ERROR_ACCESS_DENIED:
        return CommandError(
            f"cannot listen on {url!r} ({name}): port {port} needs privileges "
            "(run as root, grant CAP_NET_BIND_SERVICE, or use a port above 1023)"
        )
    if code == Win32Error.ERROR_ALREADY_EXISTS:
        return CommandError(f"URL prefix {url!r} ({name}): given twice, or it conflicts with another --url")
    return CommandError(f"cannot register URL prefix {url!r} ({name})")


def failure(exc: HttpSysError, doing: str) -> CommandError:
    """The line for any other driver failure while `doing` something (exit status 1)."""
    return CommandError(f"{doing} failed ({code_name(exc.winerror)}): {exc.message}", EXIT_FAILURE)


def _port_of(url: str) -> str:
    try:
        return str(parse_url_prefix(url).port)
    except InvalidUrlPrefix:
        return "?"
