"""LifespanError, the exception `httpsys.asgi` raises when an application's lifespan startup fails.

Responsibility: the class alone, in an interpreted module, because the native build compiles `httpsys.asgi` and
mypyc cannot compile a class derived from a built-in exception (decision 0009). `httpsys.asgi` re-exports it
under its own name. It must not hold behaviour.
"""

from __future__ import annotations


class LifespanError(RuntimeError):
    """The application reported `lifespan.startup.failed` (or failed during startup with lifespan="on").

    Example:
        try:
            await server.run(stop)
        except httpsys.asgi.LifespanError as exc:
            print("the application could not start:", exc)
    """


LifespanError.__module__ = "httpsys.asgi"  # where users import it from
