"""Shared fixtures: real Parley processes on free ports of 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.helpers.process import ServerProcess, start_server


@pytest.fixture
def server_factory() -> Iterator[Callable[..., ServerProcess]]:
    """Start ``parley`` processes; each is stopped at the end of the test.

    A test fails if any of its servers printed a traceback: bad input must never produce one.
    """
    started: list[ServerProcess] = []

    def start(*args: str, **kwargs: object) -> ServerProcess:
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
    return server_factory("serve", "--max-message-size", "4KiB")
