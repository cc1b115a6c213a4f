"""Redis for the broker and presence tests: the shared server, and private throw-away ones.

The shared Redis (``PARLEY_TEST_REDIS``, default ``redis://127.0.0.1:6379/0``) is only ever
touched under a random per-test prefix. When it is unreachable the Redis tests skip, except
when ``CI`` is set: then they fail, so that a CI job cannot pass without running them.

Outages are tested on a *private* ``redis-server`` (a free port, a temporary folder) that a
test may kill, pause and restart; the shared server is never stopped.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
import redis
from redis.exceptions import RedisError

from tests.helpers.process import free_port

REDIS_URL = os.environ.get("PARLEY_TEST_REDIS", "redis://127.0.0.1:6379/0")
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def _unavailable(problem: str) -> None:
    """Skip, or fail under CI: the Redis tests must run there."""
    if os.environ.get("CI"):
        pytest.fail(f"{problem} (CI is set, so the Redis tests must not be skipped)")
    pytest.skip(problem)


@functools.cache
def _shared_redis_problem() -> str | None:
    try:
        with redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=1) as r:
            r.ping()
    except (RedisError, OSError) as exc:
        return f"Redis at {REDIS_URL} is unreachable: {exc}"
    return None


def shared_redis_url() -> str:
    """The shared Redis's URL, once it answered a PING (else skip or fail, see above)."""
    problem = _shared_redis_problem()
    if problem is not None:
        _unavailable(problem)
    return REDIS_URL


def unique_prefix() -> str:
    return f"parley-test-{secrets.token_hex(6)}"


def delete_prefix(url: str, prefix: str) -> None:
    """Remove every key under ``prefix`` (and nothing else)."""
    with redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2) as r:
        keys = list(r.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            r.delete(*keys)


class PrivateRedis:
    """A ``redis-server`` of one test: started, killed, paused and restarted on one port."""

    def __init__(self, directory: Path) -> None:
        if not Path(REDIS_SERVER).exists():
            _unavailable(f"{REDIS_SERVER} is not installed")
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
                "--logfile",
                str(self.directory / "redis.log"),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 5
        while True:
            try:
                with redis.Redis(port=self.port, socket_connect_timeout=0.2) as r:
                    r.ping()
                return
            except (RedisError, OSError):
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.kill()
                    pytest.fail(f"the private redis-server on port {self.port} did not start")
                time.sleep(0.02)

    def kill(self) -> None:
        """SIGKILL: the sockets close at once, as when the machine loses Redis."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGCONT)
                self.process.kill()
            self.process.wait(timeout=5)
            self.process = None

    def pause(self) -> None:
        """SIGSTOP: the connections stay open but nothing answers (a hung server)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)


async def eventually(
    check: Callable[[], bool] | Callable[[], Awaitable[bool]],
    timeout: float = 5.0,
    interval: float = 0.01,
) -> float:
    """Wait until ``check()`` is true; return the seconds it took. Fails after ``timeout``."""
    started = time.monotonic()
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            pytest.fail(f"not true within {timeout} s")
        await asyncio.sleep(interval)
