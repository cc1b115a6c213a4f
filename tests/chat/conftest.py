"""Fixtures for the chat core: a real ``parley serve`` and signed-in parley.v1 clients."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from tests.helpers.chat import Chat, register
from tests.helpers.process import ServerProcess

_names = itertools.count(1)


@pytest.fixture
def server(server_factory: Callable[..., ServerProcess]) -> ServerProcess:
    # A generous rate limit: some tests publish as fast as they can (test_limits.py tests it).
    return server_factory(
        "serve", "--auth-timeout", "1", "--rate-limit", "1000", "--rate-burst", "1000"
    )


@pytest.fixture
async def connect(server: ServerProcess) -> AsyncIterator[Callable[..., Awaitable[Chat]]]:
    """``await connect("alice")``: register (once) and open a signed-in connection."""
    tokens: dict[str, str] = {}
    opened: list[Chat] = []

    async def open_chat(name: str | None = None, **kwargs: object) -> Chat:
        name = name or f"user{next(_names)}"
        if name not in tokens:
            tokens[name] = register(server.http_url, name)
        chat = await Chat.connect(server.ws_url, tokens[name], **kwargs)  # type: ignore[arg-type]
        chat.token = tokens[name]  # type: ignore[attr-defined]
        opened.append(chat)
        return chat

    yield open_chat
    for chat in opened:
        await chat.close()
