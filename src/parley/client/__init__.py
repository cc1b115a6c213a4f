"""Parley's Python client: an asyncio library, and the ``parley connect|send|tail`` commands.

A bot in a few lines (``examples/bot.py`` is a complete one)::

    import asyncio
    from parley.client import Client, EventMessage

    async def main() -> None:
        async with Client("http://127.0.0.1:8080", username="bot", password="...") as client:
            await client.join("lobby")
            ack = await client.send("lobby", "hello")     # returns once the server stored it
            print((await client.history("lobby", limit=10)).events)
            async for event in client.events():          # every room event exactly once,
                match event:                             # in order, across reconnections
                    case EventMessage(kind="message", text="!ping", room=room):
                        await client.send(room, "pong")

    asyncio.run(main())

The client reconnects by itself (exponential backoff with jitter) and resumes each room's
stream from the last ``seq`` it saw; a message sent while the connection drops is sent again
with the same client id, which the server never stores twice. Errors are
:class:`ClientError` subclasses whose text is one line for people.

Layers, from the bottom: :mod:`~parley.client.handshake` and :mod:`~parley.client.frames`
(RFC 6455 from the client's side, no I/O, on top of :mod:`parley.websocket`),
:mod:`~parley.client.websocket` (the asyncio connection, with ``--trace`` hooks),
:mod:`~parley.client.client` (the ``parley.v1`` session), and the terminal commands in
:mod:`~parley.client.cli`.
"""

from __future__ import annotations

from parley.client.backoff import Backoff
from parley.client.client import Client
from parley.client.errors import (
    AuthError,
    ClientClosed,
    ClientError,
    CommandError,
    ConnectError,
    ConnectionClosed,
    ConnectionLost,
    HandshakeRefused,
)
from parley.client.events import ClientEvent, Connected, Disconnected, Reconnecting
from parley.protocol.messages import (
    Ack,
    Error,
    EventMessage,
    FollowChanged,
    HistoryReply,
    MentionsReply,
    NotifyChanged,
    PinsReply,
    Presence,
    ReactionInfo,
    RoomChanged,
    RoomInfo,
    SearchReply,
    SearchResult,
    ThreadInfo,
    ThreadsReply,
    TypingNotice,
    Unread,
    UserInfo,
    VersionInfo,
    VersionsReply,
    Welcome,
    WhoReply,
)

__all__ = [
    "Ack",
    "AuthError",
    "Backoff",
    "Client",
    "ClientClosed",
    "ClientError",
    "ClientEvent",
    "CommandError",
    "ConnectError",
    "Connected",
    "ConnectionClosed",
    "ConnectionLost",
    "Disconnected",
    "Error",
    "EventMessage",
    "FollowChanged",
    "HandshakeRefused",
    "HistoryReply",
    "MentionsReply",
    "NotifyChanged",
    "PinsReply",
    "Presence",
    "ReactionInfo",
    "Reconnecting",
    "RoomChanged",
    "RoomInfo",
    "SearchReply",
    "SearchResult",
    "ThreadInfo",
    "ThreadsReply",
    "TypingNotice",
    "Unread",
    "UserInfo",
    "VersionInfo",
    "VersionsReply",
    "Welcome",
    "WhoReply",
]
