"""Shared fixtures: real Parley processes on free ports of 127.0.0.1."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import Phase, settings

from tests.helpers.process import ServerProcess, start_server

# Property tests: the suite's runs are deterministic (the same examples on every machine and
# every run, so a newcomer's green is CI's green) and never shrink: a failure is reported at
# once with the steps that produced it, instead of minutes of shrinking that a replay cache then
# repeats on every later run. PARLEY_HYPOTHESIS=explore looks for new failures: random seeds
# on every run, the example database (.hypothesis/, git-ignored), and shrinking to a minimal case.
settings.register_profile(
    "suite",
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate, Phase.target],
    print_blob=True,
)
settings.register_profile("explore", phases=list(Phase))
settings.load_profile(os.environ.get("PARLEY_HYPOTHESIS", "suite"))

#: Argon2id stays Argon2id in tests, with lighter parameters so the suite runs fast
#: (tests/chat/test_accounts.py checks the production defaults separately).
TEST_ENV = {
    "PARLEY_ARGON2_TIME_COST": "1",
    "PARLEY_ARGON2_MEMORY_KIB": "8192",
    # Tests register many users from one address; test_operations.py tests the throttle with
    # an explicit --auth-rate (a flag beats the environment).
    "PARLEY_AUTH_RATE": "100000",
}


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Start ``parley`` processes in the test's folder (so ``parley.db`` lands there); each is
    stopped at the end of the test.

    A test fails if any of its servers printed a traceback: bad input must never produce one.
    """
    started: list[ServerProcess] = []

    def start(*args: str, **kwargs: object) -> ServerProcess:
        kwargs.setdefault("cwd", tmp_path)
        kwargs["env"] = {**TEST_ENV, **kwargs.get("env", {})}  # type: ignore[dict-item]
        server = start_server(*args, **kwargs)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
    for server in started:
        assert "Traceback" not in server.output, server.output


@pytest.fixture
def echo_server(server_factory: Callable[..., ServerProcess]) -> ServerProcess:
    return server_factory("echo")


@pytest.fixture
def chat_server(server_factory: Callable[..., ServerProcess]) -> ServerProcess:
    # A generous rate limit: these tests flood on purpose (test_limits.py tests the limit).
    return server_factory(
        "serve", "--max-message-size", "8KiB", "--max-text", "7000", "--rate-burst", "1000"
    )
