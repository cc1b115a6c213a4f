"""Running an aiohttp application until SIGINT or SIGTERM, then shutting down gracefully.

Shutdown order matters for clients: first stop accepting (the listening socket closes), then
tell every WebSocket client the server is going away (close code 1001, which the clients
treat as "reconnect, possibly elsewhere"), wait briefly for their answers, then exit 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from aiohttp import web

from parley.server.endpoint import WebSocketEndpoint
from parley.websocket.frames import CloseCode


class ListenError(Exception):
    """The server could not listen on the requested address (one line, for the CLI)."""


def run(coro: Coroutine[Any, Any, None]) -> None:
    """Run ``coro`` on uvloop when it is installed, else on asyncio's default loop."""
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        pass
    else:
        loop_factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(coro)


async def serve_until_signalled(
    app: web.Application,
    endpoint: WebSocketEndpoint,
    *,
    host: str,
    port: int,
    on_listening: Callable[[int], None],
    before_shutdown: Callable[[], Awaitable[None]] | None = None,
    shutdown_timeout: float = 5.0,
) -> None:
    """Serve ``app`` on ``host:port`` until SIGINT/SIGTERM, then shut down gracefully.

    ``on_listening`` receives the bound port (useful with port 0). Raises :class:`ListenError`
    when the address cannot be used.
    """
    runner = web.AppRunner(
        app, handle_signals=False, access_log=None, shutdown_timeout=shutdown_timeout
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise ListenError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    bound_port = runner.addresses[0][1]
    on_listening(bound_port)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        await site.stop()
        if before_shutdown is not None:
            await before_shutdown()
        endpoint.close_all(CloseCode.GOING_AWAY, "server shutting down")
        await endpoint.wait_closed(shutdown_timeout)
        with contextlib.suppress(Exception):
            await runner.cleanup()
        sys.stdout.flush()
