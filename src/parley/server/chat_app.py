"""The HTTP application behind ``parley serve``: pages, health, and the chat WebSocket.

A WebSocket handshake on ``/`` (the URL the tutorial's pages use) or on ``/ws`` without a
subprotocol enters the tutorial's plain-text mode. ``GET /`` without an upgrade serves the
browser chat page.
"""

from __future__ import annotations

from aiohttp import web

from parley import __version__
from parley.chat.plaintext import PlainTextChat
from parley.server.endpoint import WebSocketEndpoint
from parley.server.pages import page, setup_pages
from parley.server.upgrade import check_handshake, wants_websocket


def build_chat_app(endpoint: WebSocketEndpoint) -> web.Application:
    """The chat server's routes; connections are tracked by ``endpoint``."""
    plaintext = PlainTextChat()

    async def websocket(request: web.Request) -> web.StreamResponse:
        handshake = check_handshake(request)
        if isinstance(handshake, web.Response):
            return handshake
        return endpoint.accept(request, handshake, plaintext)

    async def index(request: web.Request) -> web.StreamResponse:
        if wants_websocket(request):
            return await websocket(request)
        return page("index.html")

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response(
            {"status": "ok", "version": __version__, "connections": len(endpoint.connections)}
        )

    app = web.Application()
    app.router.add_get("/", index)
    app.router.add_get("/ws", websocket)
    app.router.add_get("/healthz", healthz)
    setup_pages(app)
    return app
