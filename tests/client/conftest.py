"""Fixtures for the client tests: a real ``parley serve``, accounts, and the ``parley`` CLI run
as a real process (in a pipe with subprocess, in a pseudo-terminal with pexpect)."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pexpect
import pytest

from tests.conftest import TEST_ENV
from tests.helpers.chat import register
from tests.helpers.process import ServerProcess, child_setup

_names = itertools.count(1)

#: The environment of every client process: no colour surprises, no cursor-position requests
#: (prompt_toolkit asks the terminal where the cursor is; pexpect never answers).
CLI_ENV = {
    **TEST_ENV,
    "TERM": "xterm",
    "PROMPT_TOOLKIT_NO_CPR": "1",
    "NO_COLOR": "1",
    "PYTHONUNBUFFERED": "1",
}


@pytest.fixture
def server(server_factory: Callable[..., ServerProcess]) -> ServerProcess:
    return server_factory("serve")


@pytest.fixture
def account(server: ServerProcess) -> Callable[[str | None], tuple[str, str]]:
    """``name, token = account("alice")``: a registered user (a fresh name by default)."""

    def make(name: str | None = None) -> tuple[str, str]:
        name = name or f"user{next(_names)}"
        return name, register(server.http_url, name)

    return make


def run_parley(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``parley ARGS`` in pipes; returns when it exits."""
    return subprocess.run(
        [sys.executable, "-m", "parley", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **CLI_ENV, **(env or {})},
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )


def spawn_parley(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> pexpect.spawn:
    """``parley ARGS`` in a pseudo-terminal of 30 x 120, driven with pexpect."""
    child = pexpect.spawn(
        sys.executable,
        ["-m", "parley", *args],
        env={**os.environ, **CLI_ENV, **(env or {})},
        encoding="utf-8",
        timeout=30,
        dimensions=(30, 120),
        cwd=str(cwd) if cwd else None,
        preexec_fn=child_setup,
    )
    return child


@pytest.fixture
def terminal() -> Iterator[Callable[..., pexpect.spawn]]:
    """Spawn ``parley`` in pseudo-terminals; each is terminated at the end of the test, and
    the test fails if one printed a traceback."""
    children: list[pexpect.spawn] = []
    transcripts: list[list[str]] = []

    def spawn(*args: str, **kwargs: object) -> pexpect.spawn:
        child = spawn_parley(*args, **kwargs)  # type: ignore[arg-type]
        log: list[str] = []
        child.logfile_read = _Collector(log)
        children.append(child)
        transcripts.append(log)
        return child

    yield spawn
    for child in children:
        if child.isalive():
            child.terminate(force=True)
    for log in transcripts:
        assert "Traceback" not in "".join(log), "".join(log)


class _Collector:
    """A file-like sink for pexpect's ``logfile_read``: everything the child printed."""

    def __init__(self, into: list[str]) -> None:
        self.into = into

    def write(self, data: str) -> None:
        self.into.append(data)

    def flush(self) -> None:
        pass
