"""The `httpsys` command: `httpsys run`, `httpsys serve`, `httpsys demo`, `httpsys daemon`, `httpsys netsh`,
`httpsys config`, `httpsys certstore`.

Responsibility: parse the command line and hand the options to the sub-command, turning failures into one line
on stderr and an exit status (0 after a graceful stop, 2 for a configuration error, 1 for a failure while
running). It must not implement serving: `serve`, `demo` and `run` do, on `hosting`.

Example:
    from httpsys.cli import main
    raise SystemExit(main(["serve", "public", "--url", "http://127.0.0.1:8080/"]))
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from httpsys.cli.diagnostics import CommandError, parse_prefix
from httpsys.cli.hosting import run_command
from httpsys.cli.options import DEFAULT_DEMO_URL, DEFAULT_RUN_URL, build_parser, listen_urls, server_options

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `httpsys` command with `argv` (default: sys.argv[1:]); returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error already reported on stderr
        return exc.code if isinstance(exc.code, int) else 2
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        if args.command == "daemon":
            from httpsys.cli.daemon import run_daemon

            return run_daemon(args)
        if args.command in ("netsh", "config"):
            from httpsys.cli.netsh import run_config, run_netsh

            return run_netsh(args) if args.command == "netsh" else run_config(args)
        if args.command == "certstore":
            from httpsys.cli.certstore import run_certstore

            return run_certstore(args)
        status = run_command(_command(args))
    except CommandError as exc:
        sys.stderr.write(f"httpsys: {exc.message}\n")
        return exc.status
    except KeyboardInterrupt:  # before the signal handlers were in place
        return 130
    if args.command == "run":
        _exit_past_stuck_workers(status)
    return status


def _exit_past_stuck_workers(status: int) -> None:
    """After the shutdown bound, WSGI workers stuck in application code would keep the interpreter from
    exiting (it joins worker threads); the command exits now instead, as it promised the operator."""
    from httpsys.cli.run import lingering_threads

    stuck = lingering_threads()
    if stuck and _is_command_process():
        sys.stdout.flush()
        sys.stderr.write(f"httpsys: exiting without waiting for {len(stuck)} busy worker thread(s)\n")
        sys.stderr.flush()
        os._exit(status)


def _is_command_process() -> bool:
    """True when this process is the `httpsys` command (not a test or a program calling main())."""
    return os.path.basename(sys.argv[0]) in ("httpsys", "__main__.py")


def _command(args: argparse.Namespace) -> Callable[[], Coroutine[Any, Any, int]]:
    """The coroutine function of the chosen sub-command. URL prefixes are checked first, and the application
    of `run` is imported here, before the event loop starts, so import-time code does not run inside it (with
    `--workers N`, N > 1, only the worker processes import it)."""
    urls = listen_urls(args, DEFAULT_DEMO_URL if args.command == "demo" else DEFAULT_RUN_URL)
    for url in urls:
        parse_prefix(url)
    from httpsys.cli.tls import bind_https_ports, throwaway_certificate, tls_files

    files = tls_files(args)
    if getattr(args, "self_signed", False) and files is None:
        files = throwaway_certificate(urls)
    bind_https_ports(urls, files)  # https: TLS from the --ssl-* files or the port's SSL binding
    options = server_options(args, urls)
    if args.command == "serve":
        from httpsys.cli.serve import serve_directory

        return lambda: serve_directory(
            options,
            args.directory,
            listing=args.listing,
            cache_ttl=args.cache_ttl,
            etag=args.etag,
        )
    if args.command == "demo":
        from httpsys.cli.demo import serve_demo

        return lambda: serve_demo(options)
    if args.workers > 1:
        from httpsys.cli.workers import run_workers

        return lambda: run_workers(
            options,
            args.app,
            args.workers,
            app_dir=args.app_dir,
            interface=args.interface,
            threads=args.threads,
            root_path=args.root_path,
            lifespan=args.lifespan,
        )
    from httpsys.cli.run import detect_interface, load_app, run_application

    app = load_app(args.app, args.app_dir)
    interface = detect_interface(app, args.app) if args.interface == "auto" else args.interface
    return lambda: run_application(
        options,
        app,
        interface,
        label=args.app,
        threads=args.threads,
        root_path=args.root_path,
        lifespan=args.lifespan,
    )
