"""`httpsys netsh http ...` and `httpsys config export|import|reload`: the service configuration for operators.

Responsibility: `netsh http` syntax word for word (ARCHITECTURE §8.7: add/delete/show urlacl, sslcert, iplisten,
timeout; show servicestate), its output as netsh prints it (certificate hashes, never key material) and its
errors (`... failed, Error: CODE` and the Win32 message, exit 1); the JSON copy of a configuration between hosts.
Where the configuration lives: through the daemon's administration socket (`admin.sock` beside the socket of
--socket / HTTPSYS_DAEMON_SOCKET / the default) when a daemon runs there — the daemon is then the store's only
writer —, else the store itself, offline (--config-dir / HTTPSYS_CONFIG_DIR / the default directory). It must not
validate records itself (the store does) nor serve anything.
"""

from __future__ import annotations

import argparse
import contextlib
import grp
import os
import pwd
import sys
from collections.abc import Sequence
from typing import Any, Final

from httpsys._config.records import (
    IPLISTEN,
    KINDS,
    SSLCERT,
    TIMEOUT,
    URLACL,
    Configuration,
    InvalidRecord,
    Key,
    Value,
)
from httpsys._config.store import ConfigStore, ConfigStoreError, config_directory
from httpsys._core.sddl import GENERIC_EXECUTE, GENERIC_WRITE, InvalidSddl, parse_sddl
from httpsys._core.status import Win32Error
from httpsys.cli.diagnostics import CommandError

__all__ = ["add_config_parser", "add_netsh_parser", "run_config", "run_netsh"]

_OK: Final = 0
_ACCESS_DENIED: Final = int(Win32Error.ERROR_ACCESS_DENIED)
_INVALID: Final = int(Win32Error.ERROR_INVALID_PARAMETER)
_NOT_ACTIVE: Final = int(Win32Error.ERROR_SERVICE_NOT_ACTIVE)
_NONE_MAPPED: Final = 1332
_MESSAGES: Final = {
    2: "The system cannot find the file specified.",
    5: "Access is denied.",
    87: "The parameter is incorrect.",
    183: "Cannot create a file when that file already exists.",
    1009: "The configuration registry database is corrupt.",
    1062: "The service has not been started.",
    1332: "No mapping between account names and security IDs was done.",
}
_WHAT: Final = {
    URLACL: "URL reservation",
    SSLCERT: "SSL Certificate",
    IPLISTEN: "IP address",
    TIMEOUT: "Timeout",
}
_TIMEOUT_TYPES: Final = {"idleconnectiontimeout": 0, "headerwaittimeout": 1}
_SSL_KEYS: Final = ("ipport", "hostnameport", "ccs")
_SSL_FLAGS: Final = {"dsmapperusage": 0x1, "clientcertnegotiation": 0x2}
_USAGE: Final = """usage: httpsys netsh [--socket PATH] [--config-dir DIR] http COMMAND ...

commands (netsh http syntax):
  add urlacl url=URL (user=NAME [listen=yes|no] [delegate=yes|no] | sddl=SDDL)
  delete urlacl url=URL
  show urlacl [url=URL]
  add sslcert (ipport=IP:PORT | hostnameport=HOST:PORT | ccs=PORT) certhash=HEX appid={GUID}
              [certstorename=NAME] [clientcertnegotiation=enable|disable] [dsmapperusage=enable|disable]
  delete sslcert (ipport=IP:PORT | hostnameport=HOST:PORT | ccs=PORT)
  show sslcert [ipport=... | hostnameport=... | ccs=...]
  add iplisten ipaddress=IP
  delete iplisten ipaddress=IP
  show iplisten
  add timeout timeouttype=idleconnectiontimeout|headerwaittimeout value=SECONDS
  delete timeout timeouttype=idleconnectiontimeout|headerwaittimeout
  show timeout
  show servicestate
"""


def _common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--socket",
        metavar="PATH",
        default=None,
        help="the daemon's socket (its admin.sock is used); default: HTTPSYS_DAEMON_SOCKET, else the daemon's "
        "default path",
    )
    parser.add_argument(
        "--config-dir",
        metavar="DIR",
        default=None,
        help="the store to edit when no daemon runs (default: HTTPSYS_CONFIG_DIR, else /etc/httpsys for root, "
        "$XDG_CONFIG_HOME/httpsys otherwise)",
    )


def add_netsh_parser(commands: Any) -> None:
    """Register `httpsys netsh` in the command's sub-parsers."""
    parser = commands.add_parser(
        "netsh",
        help="netsh http: URL reservations, SSL bindings, IP listen list, timeouts, service state",
        description="The `netsh http` commands of Windows, word for word, on the httpsys configuration store "
        "(through the daemon's admin.sock when a daemon runs, else offline).",
        epilog=_USAGE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common_options(parser)
    parser.add_argument("words", nargs=argparse.REMAINDER, help="http add|delete|show ... (netsh syntax)")


def add_config_parser(commands: Any) -> None:
    """Register `httpsys config export|import|reload`."""
    parser = commands.add_parser(
        "config",
        help="copy the service configuration as JSON (export/import), or make the daemon re-read it (reload)",
        description="export: print every configuration record as JSON; import FILE: replace every record with "
        "FILE's, in one transaction; reload: the daemon re-reads its store (as on SIGHUP).",
    )
    _common_options(parser)
    parser.add_argument("action", choices=("export", "import", "reload"))
    parser.add_argument("file", nargs="?", default=None, help="import: the JSON file ('-' for stdin)")


# ----- where the configuration is --------------------------------------------------------------------------------


class _Failure(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class _Offline:
    """The store itself (no daemon runs)."""

    def __init__(self, directory: str) -> None:
        self.store = ConfigStore(directory)
        self.where = self.store.path

    def set(self, kind: str, key: Key, value: Value) -> int:
        return self.store.set(kind, key, value)

    def delete(self, kind: str, key: Key) -> int:
        return self.store.delete(kind, key)

    def records(self, kind: str) -> list[tuple[Key, Value]]:
        return list(self.store.load().of(kind))

    def state(self) -> object:
        raise _Failure(_NOT_ACTIVE)

    def reload(self) -> int:
        return _NOT_ACTIVE

    def import_(self, document: str) -> int:
        self.store.replace_all(Configuration.from_json(document))
        return _OK

    def close(self) -> None:
        self.store.close()


class _Daemon:
    """The daemon's store, through its administration socket."""

    def __init__(self, admin_path: str) -> None:
        from httpsys._transport.remote import RemoteTransport

        self.where = admin_path
        self.transport = RemoteTransport(admin_path)

    def set(self, kind: str, key: Key, value: Value) -> int:
        return self.transport.service_config_set(kind, key, value, False)

    def delete(self, kind: str, key: Key) -> int:
        return self.transport.service_config_delete(kind, key)

    def records(self, kind: str) -> list[tuple[Key, Value]]:
        code, rows = self.transport.service_config_query(kind)
        if code:
            raise _Failure(code)
        return [(k, v) for k, v in rows]  # type: ignore[misc]

    def state(self) -> object:
        code, value = self.transport.service_state()
        if code:
            raise _Failure(code)
        return value

    def reload(self) -> int:
        return self.transport.reload_configuration()

    def import_(self, document: str) -> int:
        return self.transport.service_config_import(document)

    def close(self) -> None:
        self.transport.close()


def _open(args: argparse.Namespace) -> _Offline | _Daemon:
    from httpsys._daemon.server import admin_socket_path, default_socket_path

    socket_path = args.socket or os.environ.get("HTTPSYS_DAEMON_SOCKET") or default_socket_path()
    admin = admin_socket_path(socket_path)
    if os.path.exists(admin):
        if not os.access(admin, os.W_OK):
            raise _Failure(
                _ACCESS_DENIED
            )  # a daemon runs and this user is no administrator (socket mode 0660)
        from httpsys.errors import HttpSysError, ServiceNotActiveError

        try:
            return _Daemon(admin)
        except ServiceNotActiveError:
            pass  # a stale socket file: no daemon runs, the store is edited offline
        except HttpSysError as exc:
            raise _Failure(exc.winerror) from None
    return _Offline(config_directory(args.config_dir))


# ----- netsh ---------------------------------------------------------------------------------------------------


def _parameters(words: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for word in words:
        name, sep, value = word.partition("=")
        if not sep or not name:
            raise CommandError(f"'{word}' is not a parameter (name=value)\n{_USAGE}")
        out[name.strip().lower()] = value.strip()
    return out


def _yes(value: str, name: str) -> bool:
    lowered = value.lower()
    if lowered in ("yes", "enable", "enabled", "true"):
        return True
    if lowered in ("no", "disable", "disabled", "false"):
        return False
    raise CommandError(f"{name}={value}: use yes or no")


def _sid_of(name: str) -> str:
    """netsh's user=NAME: a user, a group, or Everyone, as the SID httpsys's SDDL uses."""
    bare = name.rsplit("\\", 1)[-1]
    if bare.lower() == "everyone":
        return "WD"
    if bare.lower() == "administrators":
        return "BA"
    with contextlib.suppress(KeyError):
        return f"S-1-22-1-{pwd.getpwnam(bare).pw_uid}"
    with contextlib.suppress(KeyError):
        return f"S-1-22-2-{grp.getgrnam(bare).gr_gid}"
    if bare.isdigit():
        return f"S-1-22-1-{bare}"
    raise _Failure(_NONE_MAPPED)


def _name_of(sid: str) -> str:
    if sid == "S-1-1-0":
        return "\\Everyone"
    if sid == "S-1-5-32-544":
        return "BUILTIN\\Administrators"
    if sid in ("S-1-5-11", "S-1-5-32-545"):
        return "NT AUTHORITY\\Authenticated Users"
    if sid == "S-1-5-18":
        return "NT AUTHORITY\\SYSTEM"
    tail = sid.rsplit("-", 1)[-1]
    if sid.startswith("S-1-22-1-") and tail.isdigit():
        with contextlib.suppress(KeyError):
            return f"{os.uname().nodename}\\{pwd.getpwuid(int(tail)).pw_name}"
    if sid.startswith("S-1-22-2-") and tail.isdigit():
        with contextlib.suppress(KeyError):
            return f"{os.uname().nodename}\\{grp.getgrgid(int(tail)).gr_name}"
    return sid


def _ssl_key(params: dict[str, str]) -> str:
    given = [k for k in _SSL_KEYS if k in params]
    if len(given) != 1:
        raise CommandError("give one of ipport=IP:PORT, hostnameport=HOST:PORT, ccs=PORT")
    return f"{given[0]}={params.pop(given[0])}"


def _add(backend: _Offline | _Daemon, noun: str, params: dict[str, str]) -> tuple[str, int]:
    if noun == "urlacl":
        url = params.pop("url", "")
        if "sddl" in params:
            sddl = params.pop("sddl")
        elif "user" in params:
            listen = _yes(params.pop("listen", "yes"), "listen")
            delegate = _yes(params.pop("delegate", "no"), "delegate")
            if not listen and not delegate:
                raise CommandError("listen=no delegate=no grants nothing")
            rights = "GA" if listen and delegate else ("GX" if listen else "GW")
            sddl = f"D:(A;;{rights};;;{_sid_of(params.pop('user'))})"
        else:
            raise CommandError("add urlacl needs user=NAME or sddl=SDDL")
        _no_more(params)
        return URLACL, backend.set(URLACL, url, sddl)
    if noun == "sslcert":
        key = _ssl_key(params)
        flags = 0
        options: dict[str, object] = {}
        value: dict[str, object] = {}
        if "certhash" in params:
            value["certhash"] = params.pop("certhash")
        if "appid" in params:
            value["appid"] = params.pop("appid")
        if "certstorename" in params:
            value["certstorename"] = params.pop("certstorename")
        for name, bit in _SSL_FLAGS.items():
            if name in params and _yes(params.pop(name), name):
                flags |= bit
        for name in list(params):
            options[name] = params.pop(name)
        value["flags"] = flags
        if options:
            value["options"] = options
        return SSLCERT, backend.set(SSLCERT, key, value)
    if noun == "iplisten":
        address = params.pop("ipaddress", "")
        _no_more(params)
        return IPLISTEN, backend.set(IPLISTEN, address, None)
    if noun == "timeout":
        timeout = _timeout_key(params)
        seconds = params.pop("value", "")
        _no_more(params)
        if not seconds.isdigit():
            return TIMEOUT, _INVALID
        return TIMEOUT, backend.set(TIMEOUT, timeout, int(seconds))
    raise CommandError(f"add {noun}: unknown (urlacl, sslcert, iplisten, timeout)")


def _timeout_key(params: dict[str, str]) -> int:
    kind = params.pop("timeouttype", "").lower()
    if kind not in _TIMEOUT_TYPES:
        raise CommandError("timeouttype=idleconnectiontimeout|headerwaittimeout")
    return _TIMEOUT_TYPES[kind]


def _no_more(params: dict[str, str]) -> None:
    if params:
        raise CommandError(f"unknown parameter(s): {', '.join(sorted(params))}")


def _delete(backend: _Offline | _Daemon, noun: str, params: dict[str, str]) -> tuple[str, int]:
    if noun == "urlacl":
        url = params.pop("url", "")
        _no_more(params)
        return URLACL, backend.delete(URLACL, url)
    if noun == "sslcert":
        key = _ssl_key(params)
        _no_more(params)
        return SSLCERT, backend.delete(SSLCERT, key)
    if noun == "iplisten":
        address = params.pop("ipaddress", "")
        _no_more(params)
        return IPLISTEN, backend.delete(IPLISTEN, address)
    if noun == "timeout":
        timeout = _timeout_key(params)
        _no_more(params)
        return TIMEOUT, backend.delete(TIMEOUT, timeout)
    raise CommandError(f"delete {noun}: unknown (urlacl, sslcert, iplisten, timeout)")


def _show(backend: _Offline | _Daemon, noun: str, params: dict[str, str]) -> str:
    if noun == "urlacl":
        wanted = params.pop("url", None)
        _no_more(params)
        lines = ["", "URL Reservations: ", "----------------- ", ""]
        for url, sddl in backend.records(URLACL):
            if wanted is not None and str(url).lower() != wanted.lower():
                continue
            lines.append(f"    Reserved URL            : {url} ")
            try:
                aces = parse_sddl(sddl).aces
            except InvalidSddl:
                aces = ()
            for ace in (a for a in aces if a.allow):  # netsh lists the users a reservation grants
                rights = ace.mask | (GENERIC_EXECUTE | GENERIC_WRITE if ace.mask & 0x10000000 else 0)
                lines.append(f"        User: {_name_of(ace.sid)}")
                lines.append(f"            Listen: {'Yes' if rights & GENERIC_EXECUTE else 'No'}")
                lines.append(f"            Delegate: {'Yes' if rights & GENERIC_WRITE else 'No'}")
            lines.append(f"            SDDL: {sddl} ")
            lines.append("")
        return "\n".join(lines) + "\n"
    if noun == "sslcert":
        wanted = _ssl_key(params) if any(k in params for k in _SSL_KEYS) else None
        _no_more(params)
        lines = ["", "SSL Certificate bindings:", "-------------------------", ""]
        for binding in Configuration({SSLCERT: tuple(backend.records(SSLCERT))}).ssl_bindings():
            if wanted is not None and binding.key.lower() != wanted.lower():
                continue
            options = dict(binding.options)
            label = {"ipport": "IP:port", "hostnameport": "Hostname:port", "ccs": "Central Certificate Store"}
            endpoint = binding.key.partition("=")[2]
            rows = [
                (label[binding.kind], endpoint),
                ("Certificate Hash", binding.cert_hash),
                ("Application ID", binding.app_id),
                ("Certificate Store Name", binding.store_name),
                ("Verify Client Certificate Revocation", _enabled(options.get("verifyclientcertrevocation"))),
                ("Usage Check", _enabled(options.get("usagecheck"))),
                ("Ctl Identifier", str(options.get("sslctlidentifier", "(null)"))),
                ("Ctl Store Name", str(options.get("sslctlstorename", "(null)"))),
                ("DS Mapper Usage", "Enabled" if binding.flags & 0x1 else "Disabled"),
                ("Negotiate Client Certificate", "Enabled" if binding.flags & 0x2 else "Disabled"),
            ]
            shown = ("verifyclientcertrevocation", "usagecheck", "sslctlidentifier", "sslctlstorename")
            rows += [(name, str(value)) for name, value in options.items() if name not in shown]
            lines += [f"    {name:<37}: {value}" for name, value in rows]
            lines.append("")
        return "\n".join(lines) + "\n"
    if noun == "iplisten":
        _no_more(params)
        lines = [
            "",
            "IP addresses present in the IP listen list:",
            "-------------------------------------------",
            "",
        ]
        lines += [f"    {address}" for address, _ in backend.records(IPLISTEN)]
        return "\n".join(lines) + "\n\n"
    if noun == "timeout":
        _no_more(params)
        values = dict(backend.records(TIMEOUT))
        return (
            "\nService State Timeout Values:\n-----------------------------\n\n"
            f"    Idle Connection Timeout (secs)  : {values.get(0, 120)}\n"
            f"    Header Wait Timeout (secs)      : {values.get(1, 120)}\n\n"
        )
    if noun == "servicestate":
        params.pop("view", None)
        params.pop("verbose", None)
        _no_more(params)
        return _render_state(backend.state())
    raise CommandError(f"show {noun}: unknown (urlacl, sslcert, iplisten, timeout, servicestate)")


def _enabled(value: object) -> str:
    """netsh's Enabled/Disabled for an option given as enable/disable (default: enabled)."""
    return "Disabled" if str(value).lower() in ("disable", "disabled", "no", "false", "0") else "Enabled"


def _render_state(state: object) -> str:
    body: dict[str, Any] = state if isinstance(state, dict) else {}
    out = ["", "Snapshot of HTTP service state (Server Session View):", "-" * 53, ""]
    for session in body.get("sessions", []):
        out.append(f"Server session ID: {session['id']:016X}")
        out.append(f"    Version: {session['version']}")
        out.append(f"    State: {session['state']}")
        out.append(f"    Process ID: {session['pid']}")
        out.append("    URL groups:")
        for group in session["groups"]:
            out.append(f"    URL group ID: {group['id']:016X}")
            out.append(f"        State: {group['state']}")
            queue = group["queue"] if group["queue"] else "Request queue is unnamed."
            out.append(f"        Request queue name: {queue if group['bound'] else '(not bound)'}")
            out.append(f"        Number of registered URLs: {len(group['urls'])}")
            out.append("        Registered URLs:")
            out += [f"            {url.upper()}" for url in group["urls"]]
        out.append("")
    out += ["Request queues:"]
    for queue in body.get("queues", []):
        name = queue["name"] if queue["name"] else "Request queue is unnamed."
        out.append(f"    Request queue name: {name}")
        out.append(f"        Version: {queue['version']}")
        out.append(f"        State: {queue['state']}")
        out.append(
            f"        Request queue 503 verbosity level: {('Basic', 'Limited', 'Full')[queue['verbosity']]}"
        )
        out.append(f"        Max requests: {queue['max_requests']}")
        out.append(f"        Number of active processes attached: {len(queue['processes'])}")
        out.append(f"        Number of queued requests: {queue['queued']}")
        out.append(f"        Number of active requests: {queue['active']}")
        out.append("        Controller process ID: " + ("(yes)" if queue["controller"] else "(none)"))
        out.append("        Processes:")
        for process in queue["processes"]:
            role = " (creator)" if process["creator"] else ""
            out.append(f"            ID: {process['pid']}, uid: {process['uid']}{role}")
        out.append("        Registered URLs:")
        out += [f"            {url.upper()}" for url in queue["urls"]]
        out.append("")
    return "\n".join(out) + "\n"


def _failed(what: str, verb: str, code: int) -> CommandError:
    message = _MESSAGES.get(code, Win32Error(code).name if code in Win32Error._value2member_map_ else "")
    return CommandError(f"{what} {verb} failed, Error: {code}\n{message}", 1)


def run_netsh(args: argparse.Namespace) -> int:
    """`httpsys netsh http ...`: 0 on success; an error prints netsh's line and the Win32 message, exit 1."""
    words = list(args.words)
    if len(words) < 3 or words[0].lower() != "http":
        raise CommandError(f"expected: http add|delete|show NOUN [name=value ...]\n{_USAGE}")
    verb, noun = words[1].lower(), words[2].lower()
    if verb not in ("add", "delete", "show"):
        raise CommandError(f"unknown command {verb!r} (add, delete, show)\n{_USAGE}")
    params = _parameters(words[3:])
    what = {"urlacl": "URL reservation", "sslcert": "SSL Certificate", "iplisten": "IP address"}.get(
        noun, "Timeout" if noun == "timeout" else "Service state"
    )
    try:
        backend = _open(args)
    except _Failure as exc:
        raise _failed(what, verb, exc.code) from None
    try:
        if verb == "show":
            sys.stdout.write(_show(backend, noun, params))
            return 0
        kind, code = (_add if verb == "add" else _delete)(backend, noun, params)
    except _Failure as exc:
        raise _failed(what, verb, exc.code) from None
    except ConfigStoreError as exc:
        raise CommandError(f"{what} {verb} failed, Error: {exc.winerror}\n{exc}", 1) from None
    finally:
        backend.close()
    if code:
        raise _failed(_WHAT[kind], verb, code)
    sys.stdout.write(f"\n{_WHAT[kind]} successfully {'added' if verb == 'add' else 'deleted'}\n\n")
    return 0


# ----- config export / import / reload ---------------------------------------------------------------------------


def run_config(args: argparse.Namespace) -> int:
    """`httpsys config export|import FILE|reload`."""
    try:
        backend = _open(args)
    except _Failure as exc:
        raise _failed("Configuration", args.action, exc.code) from None
    try:
        if args.action == "export":
            records = {kind: tuple(backend.records(kind)) for kind in KINDS}
            sys.stdout.write(Configuration(records).to_json())
            return 0
        if args.action == "reload":
            code = backend.reload()
        else:
            if args.file is None:
                raise CommandError(
                    "config import needs a FILE (a `httpsys config export` document, - for stdin)"
                )
            try:
                document = sys.stdin.read() if args.file == "-" else open(args.file, encoding="utf-8").read()  # noqa: SIM115
            except OSError as exc:
                raise CommandError(f"cannot read {args.file}: {exc.strerror or exc}", 1) from None
            try:
                Configuration.from_json(document)  # say what is wrong before anything changes
            except InvalidRecord as exc:
                raise CommandError(f"{args.file}: {exc}", 1) from None
            code = backend.import_(document)
    except _Failure as exc:
        raise _failed("Configuration", args.action, exc.code) from None
    except ConfigStoreError as exc:
        raise CommandError(f"Configuration {args.action} failed, Error: {exc.winerror}\n{exc}", 1) from None
    finally:
        backend.close()
    if code:
        raise _failed("Configuration", args.action, code)
    if args.action == "reload":
        sys.stdout.write(f"Configuration reloaded by the daemon at {backend.where}\n")
    else:
        sys.stdout.write(f"Configuration imported into {backend.where}\n")
    return 0
