"""The HTTP application behind ``parley echo``.

Like the tutorial's ``ws`` server, it upgrades a WebSocket handshake on any path. Without an
upgrade, ``GET /`` serves the tutorial's demo page (Send Message, Disconnect), and
``/favicon.ico`` its icon.
"""

from __future__ import annotations

from aiohttp import web

from parley.echo import EchoHandler
from parley.server.endpoint import WebSocketEndpoint
from parley.server.pages import favicon, page, setup_pages
from parley.server.upgrade import wants_websocket


def build_echo_app(endpoint: WebSocketEndpoint, *, verbatim: bool = False) -> web.Application:
    """The echo server's routes; connections are tracked by ``endpoint``."""
    handler = EchoHandler(verbatim=verbatim)

    async def upgrade(request: web.Request) -> web.StreamResponse:
        handshake = endpoint.handshake(request)
        if isinstance(handshake, web.Response):
            return handshake
        return endpoint.accept(request, handshake, handler)

    async def index(request: web.Request) -> web.StreamResponse:
        if wants_websocket(request):
            return await upgrade(request)
        return page("echo.html")

    async def any_path(request: web.Request) -> web.StreamResponse:
        if wants_websocket(request):
            return await upgrade(request)
        if request.path == "/favicon.ico":
            return favicon()
        raise web.HTTPNotFound(text="not found\n")

    app = web.Application()
    app.router.add_get("/", index)
    setup_pages(app)
    app.router.add_route("*", "/{path:.*}", any_path)
    return app
