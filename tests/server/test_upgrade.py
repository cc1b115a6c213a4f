"""The socket take-over from aiohttp (parley.server.upgrade), in-process.

These tests guard the two aiohttp internals the take-over relies on: if an aiohttp release
changes them, these fail before anything subtle breaks in production.
"""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

from aiohttp import web
from websockets.asyncio.client import connect

from parley.config import ServeSettings
from parley.server.chat_app import ChatServer
from parley.server.connection import WebSocketConnection
from parley.server.endpoint import WebSocketEndpoint


async def start(tmp_path: Path) -> tuple[web.AppRunner, int, WebSocketEndpoint]:
    server = ChatServer(ServeSettings(db=tmp_path / "parley.db"))
    runner = web.AppRunner(server.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, runner.addresses[0][1], server.endpoint


async def test_aiohttp_forgets_the_connection_after_the_take_over(tmp_path: Path) -> None:
    runner, port, endpoint = await start(tmp_path)
    try:
        async with connect(f"ws://127.0.0.1:{port}/") as ws:
            await ws.send("hi")
            assert await ws.recv() == "hi"
            assert len(endpoint.connections) == 1
            assert runner.server is not None
            # aiohttp tracks no connection and runs no task for it any more.
            for _ in range(50):
                if not runner.server.connections:
                    break
                await asyncio.sleep(0.01)
            assert runner.server.connections == []
            (conn,) = endpoint.connections.snapshot()
            assert isinstance(conn, WebSocketConnection)
            handler_tasks = [
                t for t in asyncio.all_tasks() if "RequestHandler" in repr(t.get_coro())
            ]
            assert handler_tasks == []
        for _ in range(100):
            if not endpoint.connections:
                break
            await asyncio.sleep(0.01)
        assert len(endpoint.connections) == 0
    finally:
        await runner.cleanup()


async def test_many_connections_come_and_go_without_leaking(tmp_path: Path) -> None:
    runner, port, endpoint = await start(tmp_path)
    try:
        for _ in range(3):
            clients = [await connect(f"ws://127.0.0.1:{port}/") for _ in range(20)]
            await clients[0].send("x")
            for ws in clients:
                assert await ws.recv() == "x"
            for ws in clients:
                await ws.close()
        for _ in range(500):  # the server sees the closes a moment later (a busy machine)
            if not endpoint.connections:
                break
            await asyncio.sleep(0.01)
        assert len(endpoint.connections) == 0
        gc.collect()
        live = [o for o in gc.get_objects() if isinstance(o, WebSocketConnection)]
        assert live == []
    finally:
        await runner.cleanup()
