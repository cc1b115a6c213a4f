"""Running ``parley`` as a real process on 127.0.0.1 for tests."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

PORT_LINE = re.compile(r"socket initialized on port (\d+)")


def child_setup() -> None:
    """``preexec_fn`` of every process a test starts (between fork and exec, in the child).

    * SIGINT and SIGQUIT back to their defaults: a suite started in the background of a
      non-interactive shell (``./dev test &``) inherits them *ignored*, and an ignored signal
      stays ignored across exec, so a test's Ctrl-C (SIGINT) would never reach the program.
    * SIGTERM when the test process dies, so that no server outlives a test run that was
      killed (Linux; elsewhere processes are stopped by the fixtures only).
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def free_port() -> int:
    """A port of 127.0.0.1 that was free a moment ago, for programs that cannot be told to
    pick one themselves (``parley`` can: ``--port 0``)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class OutputProcess:
    """A process whose output (stdout and stderr together) is collected line by line in
    ``lines``, so a test can wait for a line and read everything it printed."""

    def __init__(
        self, argv: Sequence[str], *, cwd: Path | None = None, env: dict[str, str] | None = None
    ):
        self.lines: list[str] = []
        self._cond = threading.Condition()
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.proc = subprocess.Popen(
            list(argv),
            preexec_fn=child_setup,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            cwd=cwd,
            env=full_env,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def wait_for_line(self, pattern: str, timeout: float = 10.0, start: int = 0) -> re.Match[str]:
        """Wait until an output line (from index ``start``) matches ``pattern``."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines[start:]:
                    match = regex.search(line)
                    if match:
                        return match
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(
                        f"no line matching {pattern!r}; output so far:\n" + "\n".join(self.lines)
                    )
                self._cond.wait(min(remaining, 0.1))

    def count(self, text: str) -> int:
        with self._cond:
            return sum(text in line for line in self.lines)

    def wait_for_count(self, text: str, n: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self.count(text) < n:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {n} lines with {text!r}:\n" + self.output)
            time.sleep(0.02)

    @property
    def output(self) -> str:
        with self._cond:
            return "\n".join(self.lines)

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def wait(self, timeout: float = 10.0) -> int:
        code = self.proc.wait(timeout)
        self._reader.join(timeout)
        return code

    def stop(self) -> int:
        """Stop the process (SIGTERM, then SIGKILL if it is still running 10 s later) and
        return its exit status; the output is complete afterwards."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._reader.join(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return self.proc.returncode


class ServerProcess(OutputProcess):
    """A ``parley`` server process (``python -m parley ARGS``); ``start`` waits until it
    listens and learns its port."""

    def __init__(
        self, args: Sequence[str], *, cwd: Path | None = None, env: dict[str, str] | None = None
    ):
        super().__init__([sys.executable, "-m", "parley", *args], cwd=cwd, env=env)
        self.port = 0

    def start(self, timeout: float = 15.0) -> ServerProcess:
        self.port = int(self.wait_for_line(PORT_LINE.pattern, timeout).group(1))
        return self

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"


def start_server(*args: str, **kwargs: object) -> ServerProcess:
    """Start ``parley ARGS`` (on a free port unless ARGS name one) and wait until it listens."""
    port_args = [] if "--port" in args else ["--port", "0"]
    return ServerProcess([*args, *port_args], **kwargs).start()  # type: ignore[arg-type]
