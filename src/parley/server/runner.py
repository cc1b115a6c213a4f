"""Running an aiohttp application until SIGINT or SIGTERM, then shutting down gracefully.

Shutdown order matters for clients: first stop accepting (the listening socket closes), then
tell every WebSocket client the server is going away (close code 1001, which the clients
treat as "reconnect, possibly elsewhere"), wait briefly for their answers, then exit 0.

Every HTTP response says ``Server: Parley``, without a version: aiohttp's default
(``Python/3.11 aiohttp/3.x``) tells an attacker which known vulnerabilities to try. The 101
of a WebSocket handshake is Parley's own and names no server at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import ssl
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from aiohttp import web, web_response

from parley.config import HttpLimits
from parley.server.endpoint import WebSocketEndpoint
from parley.server.httplog import AccessLogger, quiet_client_errors
from parley.websocket.codes import CloseCode

#: The ``Server`` header of every HTTP response.
SERVER_HEADER = "Parley"


def hide_versions() -> None:
    """Make aiohttp's default ``Server`` header :data:`SERVER_HEADER`, for every response it
    writes, including the ones no handler sees (a request it could not parse). aiohttp reads
    this module attribute each time it prepares a response's headers;
    ``tests/server/test_hosts_and_headers.py`` notices if a new aiohttp stops doing so."""
    web_response.SERVER_SOFTWARE = SERVER_HEADER  # type: ignore[attr-defined]


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
    # The store's writer thread needs the GIL for a moment between its SQLite calls; with the
    # default 5 ms switch interval a busy event loop (a broadcast's writes) delays each commit
    # by up to that much, several times. 1 ms keeps acks prompt at little cost.
    sys.setswitchinterval(0.001)
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(coro)


async def serve_until_signalled(
    app: web.Application,
    endpoint: WebSocketEndpoint,
    *,
    host: str,
    port: int,
    on_listening: Callable[[int], None],
    ssl_context: ssl.SSLContext | None = None,
    http: HttpLimits | None = None,
    access_log: bool = False,
    shutdown_timeout: float = 5.0,
) -> None:
    """Serve ``app`` on ``host:port`` until SIGINT/SIGTERM, then shut down gracefully.

    ``on_listening`` receives the bound port (useful with port 0). ``http`` bounds what a
    request may look like (aiohttp answers 400 past the limits, and closes a connection that
    takes longer than the handshake timeout to send its request). Raises :class:`ListenError`
    when the address cannot be used.
    """
    http = http or HttpLimits()
    quiet_client_errors()
    hide_versions()
    runner = web.AppRunner(
        app,
        handle_signals=False,
        access_log=logging.getLogger("parley.access") if access_log else None,
        access_log_class=AccessLogger,
        shutdown_timeout=shutdown_timeout,
        max_headers=http.max_headers,
        max_line_size=http.max_header_size,
        max_field_size=http.max_header_size,
        keepalive_timeout=http.handshake_timeout,
    )
    await runner.setup()
    # A long accept queue: clients reconnecting together after a restart must not find it
    # full (aiohttp's default is 128; the kernel caps it at net.core.somaxconn).
    site = web.TCPSite(
        runner, host, port, reuse_address=True, ssl_context=ssl_context, backlog=4096
    )
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise ListenError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    bound_port = runner.addresses[0][1]
    # Everything built so far (modules, the application) lives as long as the process: keep it
    # out of the garbage collector's full scans, which otherwise pause the loop for tens of
    # milliseconds with many connections; and collect the young generation less often.
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
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
        endpoint.close_all(CloseCode.GOING_AWAY, "server shutting down")
        await endpoint.wait_closed(shutdown_timeout)
        with contextlib.suppress(Exception):
            await runner.cleanup()
        sys.stdout.flush()
