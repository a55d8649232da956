"""`httpsys run MODULE:APP`: import an application, tell ASGI from WSGI, and run it on the command's driver.

Responsibility: import the application object (with one-line errors for a missing module, an exception at import,
a missing attribute), decide its interface (an async callable taking (scope, receive, send) is ASGI; a callable
taking (environ, start_response) is WSGI; `--interface` overrides), check the URL prefixes before the adapter
starts, and stop the adapter gracefully within `--shutdown-timeout`. It must not speak ASGI or WSGI itself:
`httpsys.asgi.ASGIServer` and `httpsys.wsgi.WSGIServer` do.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import os
import sys
import threading
import traceback
from collections.abc import Sequence
from typing import Any, Literal, Protocol, cast

from httpsys.cli.diagnostics import EXIT_FAILURE, CommandError, failure, registration_error
from httpsys.cli.hosting import (
    StopSignals,
    console_logging,
    host_driver,
    say,
    wait_or_force,
    warn,
)
from httpsys.cli.options import ServerOptions
from httpsys.errors import HttpSysError

Interface = Literal["asgi", "wsgi"]

_LIFESPAN_GRACE = 2.0
_OWN_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


class AppServer(Protocol):
    """What `ASGIServer` and `WSGIServer` offer the command."""

    async def run(self, stop: asyncio.Event | None = None) -> None: ...


def _describe(exc: BaseException) -> str:
    """'ZeroDivisionError: division by zero (broken.py, line 2)': the exception and where it was raised, once
    (a SyntaxError's own text already ends with its location, so only its message is taken)."""
    text = exc.msg if isinstance(exc, SyntaxError) and exc.msg else str(exc)
    return f"{type(exc).__name__}: {text}{_where(exc)}"


def _kind_of(obj: object) -> str:
    """'an int', 'a dict', 'None': what a value is, for a message."""
    if obj is None:
        return "None"
    name = type(obj).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def _file_hint(module_name: str, attr: str) -> str:
    """The MODULE:APP (and --app-dir) meant by a file path given as the module, e.g. `src/app.py:app`."""
    path = module_name[:-3] if module_name.endswith(".py") else module_name
    directory, _, name = path.replace(os.sep, "/").rstrip("/").rpartition("/")
    hint = f"{name.replace('/', '.')}:{attr}"
    return f"{hint} --app-dir {directory}" if directory else hint


def _where(exc: BaseException) -> str:
    """' (file.py, line 3)' for the innermost frame of an exception raised while importing ('' when the only
    frames are the command's own: a factory called with the wrong arguments)."""
    if isinstance(exc, SyntaxError) and exc.filename:
        filename, lineno = exc.filename, exc.lineno
    else:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith(_OWN_DIR)]
        if not frames:
            return ""
        filename, lineno = frames[-1].filename, frames[-1].lineno
    try:
        filename = os.path.relpath(filename)
    except ValueError:
        pass
    return f" ({filename}, line {lineno})"


def load_app(spec: str, app_dir: str = ".") -> object:
    """The object named by `MODULE:ATTRIBUTE` (dotted attributes allowed; `ATTRIBUTE()` calls a factory).

    `app_dir` is put first on sys.path, as `python -m` would put the current directory.
    """
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        hint = f"; did you mean {_file_hint(module_name, 'app')}?" if module_name.endswith(".py") else ""
        raise CommandError(f"cannot import {spec!r}: expected MODULE:APP, for example hello:app{hint}")
    factory = attr.endswith("()")
    if factory:
        attr = attr[:-2]
    if not all(part.isidentifier() for part in attr.split(".")):
        raise CommandError(
            f"cannot import {spec!r}: {attr!r} is not an attribute name (MODULE:APP, e.g. hello:app)"
        )
    if not os.path.isdir(app_dir):
        raise CommandError(f"cannot import {spec!r}: --app-dir {app_dir!r} is not a directory")
    path = os.path.abspath(app_dir)
    if path not in sys.path:
        sys.path.insert(0, path)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing and (module_name == missing or module_name.startswith(missing + ".")):
            if module_name.endswith(".py") or "/" in module_name:
                raise CommandError(
                    f"cannot import {spec!r}: no module named {missing!r} (MODULE is a module name, "
                    f"not a file: did you mean {_file_hint(module_name, spec.partition(':')[2])}?)"
                )
            raise CommandError(f"cannot import {spec!r}: no module named {missing!r}")
        raise CommandError(f"cannot import {spec!r}: {_describe(exc)}")
    except Exception as exc:
        raise CommandError(f"cannot import {spec!r}: {_describe(exc)}")
    obj: object = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise CommandError(f"cannot import {spec!r}: module {module_name!r} has no attribute {attr!r}")
    if factory:
        if not callable(obj):
            raise CommandError(f"cannot import {spec!r}: {attr!r} is not callable")
        try:
            obj = obj()
        except Exception as exc:
            raise CommandError(f"cannot import {spec!r}: {attr}() raised {_describe(exc)}")
    if not callable(obj):
        raise CommandError(f"{spec!r} is not an application: it is {_kind_of(obj)}, not a callable")
    return obj


def detect_interface(app: object, spec: str = "the application") -> Interface:
    """ASGI for an async callable or a callable of (scope, receive, send); WSGI for (environ, start_response)."""
    if inspect.isclass(app):
        raise CommandError(
            f"cannot tell whether {spec!r} is ASGI or WSGI: it is a class; pass an instance, or use --interface"
        )
    call = getattr(app, "__call__", None)  # noqa: B004 - the method itself is inspected
    if inspect.iscoroutinefunction(app) or inspect.iscoroutinefunction(call):
        return "asgi"
    try:
        signature = inspect.signature(cast(Any, app))
    except (TypeError, ValueError):
        signature = None
    if signature is not None:
        params = list(signature.parameters.values())
        if not any(p.kind is p.VAR_POSITIONAL for p in params):
            positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
            required = [p for p in positional if p.default is p.empty]
            if len(required) == 3 or (not required and len(positional) == 3):
                return "asgi"
            if len(required) == 2 or (not required and len(positional) == 2):
                return "wsgi"
    raise CommandError(
        f"cannot tell whether {spec!r} is an ASGI or a WSGI application; use --interface asgi or --interface wsgi"
    )


def make_server(
    app: object,
    interface: Interface,
    options: ServerOptions,
    *,
    threads: int = 8,
    root_path: str = "",
    lifespan: str = "auto",
    open_existing: bool = False,
) -> AppServer:
    """An `ASGIServer` or `WSGIServer` for `app` on the options' URL prefixes (with `open_existing`, on the named
    queue `options.queue_name` another process created: a worker of `run --workers`)."""
    name = f"httpsys.{interface}"
    try:
        adapter = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        raise CommandError(f"the {interface.upper()} adapter ({name}) is not available", EXIT_FAILURE)
    urls = list(options.urls)
    common: dict[str, Any] = {
        "queue_name": options.queue_name,
        "shutdown_timeout": options.shutdown_timeout,
        "access_log": options.access_log,
    }
    if open_existing:
        common["open_existing"] = True
    if interface == "asgi":
        server = adapter.ASGIServer(app, urls, root_path=root_path, lifespan=lifespan, **common)
    else:
        server = adapter.WSGIServer(app, urls, threads=threads, **common)
    return cast(AppServer, server)


async def run_application(
    options: ServerOptions,
    app: object,
    interface: Interface,
    *,
    label: str,
    threads: int = 8,
    root_path: str = "",
    lifespan: str = "auto",
) -> int:
    """Run `app` until SIGINT/SIGTERM, then stop it within `options.shutdown_timeout`; the exit status."""
    server = make_server(app, interface, options, threads=threads, root_path=root_path, lifespan=lifespan)
    console_logging(options.access_log)  # the command's loggers only: the root logger is the application's
    signals = StopSignals()
    signals.install()
    transport = host_driver(options)
    try:
        # No register-and-release probe before the adapter: it would open the port and close it again until the
        # adapter registers, and a client connecting in between (a readiness probe) would then be refused or
        # reset (embedded and through a daemon alike). The adapter's own registration failure is reported in
        # a registration error's words instead.
        stop = asyncio.Event()
        task = asyncio.ensure_future(server.run(stop))
        stopping = asyncio.ensure_future(signals.stop.wait())
        started = getattr(server, "started", None)
        if isinstance(started, asyncio.Event):  # the adapter says when its URL prefixes are registered
            ready = asyncio.ensure_future(started.wait())
            await asyncio.wait({task, stopping, ready}, return_when=asyncio.FIRST_COMPLETED)
            ready.cancel()
        if not task.done() and not stopping.done():
            say(
                f"httpsys running {label} ({interface.upper()}) at {', '.join(options.urls)} — Ctrl+C to stop"
            )
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            stopping.cancel()
            registering = isinstance(started, asyncio.Event) and not started.is_set()
            _raise_for(task, options.urls if registering else ())
            return 0
        stop.set()
        busy = int(transport.statistics().get("requests_in_flight", 0))
        timeout = options.shutdown_timeout
        warn(f"stopping: finishing {busy} request(s) in flight (up to {timeout:g} s)" if busy else "stopping")
        # The adapter drains within `timeout` itself (it was given shutdown_timeout); the extra seconds cover
        # the ASGI lifespan shutdown before the command stops waiting.
        if not await wait_or_force(task, timeout + _LIFESPAN_GRACE, signals.force):
            left = int(transport.statistics().get("requests_in_flight", 0))
            task.cancel()
            await asyncio.wait({task}, timeout=2.0)
            warn(f"{left} request(s) did not finish within {timeout:g} s and were abandoned")
        elif not task.cancelled() and task.exception() is not None:
            warn(f"the application did not stop cleanly: {task.exception()!r}")
        return 0
    finally:
        transport.close()
        signals.remove()


def lingering_threads() -> list[threading.Thread]:
    """Non-daemon threads still alive (a WSGI worker stuck in application code after the shutdown bound):
    the interpreter would wait for them at exit, so the command exits without waiting."""
    main = threading.main_thread()
    return [t for t in threading.enumerate() if t is not main and not t.daemon and t.is_alive()]


def describe_failure(exc: BaseException) -> str:
    """The line for the failure of an adapter that stopped by itself (a driver error, or the application's)."""
    if isinstance(exc, HttpSysError):
        return failure(exc, "running the application").message
    return f"the application failed: {_describe(exc)}"


_REGISTRATION_CODES = (5, 32, 87, 183)  # ACCESS_DENIED, SHARING_VIOLATION, INVALID_PARAMETER, ALREADY_EXISTS


def _raise_for(task: asyncio.Future[None], registering: Sequence[str] = ()) -> None:
    """Turn the failure of an adapter that stopped by itself into a CommandError; `registering`: the URL prefixes
    it was registering when it failed (through a daemon, where the command does not register them first), so a
    registration code is told in the words of a registration error."""
    if task.cancelled():
        return
    exc = task.exception()
    if exc is None:
        return
    if registering and isinstance(exc, HttpSysError) and exc.winerror in _REGISTRATION_CODES:
        raise registration_error(
            registering[0] if len(registering) == 1 else ", ".join(registering), exc.winerror
        )
    raise CommandError(describe_failure(exc), EXIT_FAILURE)
