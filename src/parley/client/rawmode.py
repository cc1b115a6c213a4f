"""``parley connect --raw``: any WebSocket server, like ``wscat``.

Each line typed is sent as a text frame; each message received is printed, text as is and
binary as ``[binary N bytes] ...`` with unprintable bytes escaped. Against ``parley echo``
that is the tutorial's index.js conversation; against ``parley serve`` without a subprotocol
it is the tutorial's plain-text chat.

Ctrl-D (or the end of piped input) closes the connection with 1000 and waits for the server's
close frame, so every reply to what was sent is printed first. The exit status says how the
connection ended: 0 when the user or the server closed it normally, 1 otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib

from parley.client.console import Console
from parley.client.errors import ConnectionClosed
from parley.client.trace import escape_binary
from parley.client.websocket import WebSocket
from parley.websocket.codes import CloseCode
from parley.websocket.frames import TextMessage


async def run_raw(
    ws: WebSocket, console: Console, *, prompt: str = "> "
) -> ConnectionClosed | None:
    """Run the session; returns ``None`` for a normal end, or how the server ended it."""
    printer = asyncio.create_task(_print_incoming(ws, console))
    try:
        while True:
            line = await console.read_line(prompt)
            if line is None or not ws.is_open:
                break
            with contextlib.suppress(ConnectionClosed):
                await ws.send_text(line)
    finally:
        if ws.is_open:
            await ws.close(CloseCode.NORMAL)
        closed = await printer
    if ws.closed_by_server and closed.code != CloseCode.NORMAL:
        return closed
    if ws.closed_by_server:
        console.note(f"* {closed}")
    return None


async def _print_incoming(ws: WebSocket, console: Console) -> ConnectionClosed:
    while True:
        try:
            message = await ws.recv()
        except ConnectionClosed as closed:
            console.interrupt()
            return closed
        if isinstance(message, TextMessage):
            console.write(message.text)
        else:
            console.write(f"[binary {len(message.data)} bytes] {escape_binary(message.data)}")
