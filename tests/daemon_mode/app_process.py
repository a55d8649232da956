"""An application process for the daemon's cross-process tests: `httpsys.win32` calls driven line by line.

Run as `python -m daemon_mode.app_process` with HTTPSYS_DAEMON_SOCKET set (`App` below does it). Each stdin line is
a JSON list `[command, *arguments]`; each command answers one JSON line on stdout. The process owns at most one
queue handle (made by `queue`), which every later command uses. It must not decide anything a test asserts: it
reports the Win32 codes it got.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import queue as queue_module
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

TESTS_DIR = str(Path(__file__).resolve().parents[1])


def _serve() -> None:  # pragma: no cover - runs in the child process
    from conformance.harness import bind, create_group, create_session, make_response, memory_chunk, receive
    from httpsys.win32 import (
        HTTP_CACHE_POLICY,
        HTTP_INITIALIZE_SERVER,
        HTTPAPI_VERSION_2,
        NO_ERROR,
        HttpAddFragmentToCache,
        HttpAddUrlToUrlGroup,
        HttpCachePolicyUserInvalidates,
        HttpCreateRequestQueue,
        HttpInitialize,
        HttpSendHttpResponse,
        HttpWaitForDemandStart,
    )

    state: dict[str, Any] = {}

    def answer(*values: object) -> None:
        sys.stdout.write(json.dumps(list(values)) + "\n")
        sys.stdout.flush()

    for line in sys.stdin:
        command, *args = json.loads(line)
        if command == "init":
            answer(HttpInitialize(HTTPAPI_VERSION_2, HTTP_INITIALIZE_SERVER, None), os.getpid())
        elif command == "queue":
            name, flags = args
            handle = ctypes.c_void_p()
            code = HttpCreateRequestQueue(HTTPAPI_VERSION_2, name, None, flags, handle)
            state["queue"] = int(handle.value or 0)
            answer(code)
        elif command == "receive":
            request = receive(state["queue"], timeout=args[0] if args else 30)
            answer(NO_ERROR, request.RequestId, request.pRawUrl.decode())
        elif command == "respond":
            request_id, body, cached = args
            policy = HTTP_CACHE_POLICY(HttpCachePolicyUserInvalidates, 0) if cached else None
            sent = ctypes.c_ulong()
            response = make_response(200, body=body.encode())
            code = HttpSendHttpResponse(
                state["queue"], request_id, 0, response, policy, sent, None, 0, None, None
            )
            answer(code)
        elif command == "fragment":
            name, data = args
            policy = HTTP_CACHE_POLICY(HttpCachePolicyUserInvalidates, 0)
            answer(HttpAddFragmentToCache(state["queue"], name, memory_chunk(data.encode()), policy, None))
        elif command == "site":  # a session and a group of this process on `url`, bound to its queue handle
            (url,) = args
            session = create_session()
            group = create_group(session)
            code = bind(group, state["queue"])
            answer(code if code != NO_ERROR else HttpAddUrlToUrlGroup(group, url, 0, 0))
        elif command == "wait_demand":
            answer(HttpWaitForDemandStart(state["queue"], None))
        else:
            answer("unknown command", command)


class App:
    """One application process on the daemon at `socket_path`; `call()` sends a command and returns its answer,
    `send()` + `answer()` split the two for a command that blocks (HttpWaitForDemandStart, a receive)."""

    def __init__(self, socket_path: str) -> None:
        env = dict(os.environ, HTTPSYS_DAEMON_SOCKET=socket_path, PYTHONPATH=TESTS_DIR)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "daemon_mode.app_process"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.pid = self.process.pid
        self._lines: queue_module.Queue[str] = queue_module.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        code, pid = self.call("init")
        assert code == 0 and pid == self.pid, (code, pid)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put("")

    def send(self, *command: object) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(list(command)) + "\n")
        self.process.stdin.flush()

    def answer(self, timeout: float = 20.0) -> list[Any]:
        try:
            line = self._lines.get(timeout=timeout)
        except queue_module.Empty:
            raise AssertionError(f"no answer from the application process within {timeout} s") from None
        if not line:
            raise AssertionError(f"the application process ended: {self.stderr()}")
        result: list[Any] = json.loads(line)
        return result

    def pending(self, wait: float = 0.0) -> bool:
        """True when an answer has arrived (within `wait` seconds) and not been taken."""
        if not self._lines.empty():
            return True
        if wait:
            try:
                line = self._lines.get(timeout=wait)
            except queue_module.Empty:
                return False
            self._lines.queue.appendleft(line)
            return True
        return False

    def call(self, *command: object, timeout: float = 20.0) -> list[Any]:
        self.send(*command)
        return self.answer(timeout)

    def stderr(self) -> str:
        if self.process.poll() is None or self.process.stderr is None:
            return ""
        return self.process.stderr.read()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


if __name__ == "__main__":  # pragma: no cover
    _serve()
