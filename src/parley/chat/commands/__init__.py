"""The commands of a signed-in ``parley.v1`` connection, one module per subject:

* ``rooms.py``: create, join, leave, invite, dm, rooms, who, topic
* ``messages.py``: send, edit, delete, history
* ``presence.py``: typing, ping
* ``reading.py``: read, notify, email
* ``mentions.py``: mentions
* ``searching.py``: search, and history around a seq
* ``streaming.py``: resume
* ``moderation.py``: role, kick, ban, unban, mute, unmute, room_settings

A handler is ``async def name(ctx: SignedIn, command) -> None``: it replies with
``ctx.reply`` (the reply carries ``re=command.id``) and raises
:class:`~parley.protocol.errors.ProtocolError` to refuse; anything else it raises is turned
into an ``error`` by the connection (``chat/errors.py``). To add a command: its message type in
``protocol/messages.py``, its handler in the module of its subject, one line in
:data:`HANDLERS`, and its section in docs/protocol.md.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from parley.chat.commands import (
    mentions,
    messages,
    moderation,
    presence,
    reading,
    rooms,
    searching,
    streaming,
)
from parley.chat.signed_in import SignedIn
from parley.protocol import messages as m
from parley.protocol.errors import ErrorCode, ProtocolError

Handler = Callable[[SignedIn, Any], Awaitable[None]]

HANDLERS: dict[type[m.Command], Handler] = {
    m.Create: rooms.create,
    m.Join: rooms.join,
    m.Leave: rooms.leave,
    m.Invite: rooms.invite,
    m.Dm: rooms.dm,
    m.Rooms: rooms.rooms,
    m.Who: rooms.who,
    m.SetTopic: rooms.topic,
    m.Send: messages.send,
    m.Edit: messages.edit,
    m.Delete: messages.delete,
    m.History: messages.history,
    m.Search: searching.search,
    m.Typing: presence.typing,
    m.Ping: presence.ping,
    m.Read: reading.read,
    m.Notify: reading.notify,
    m.Email: reading.email,
    m.Mentions: mentions.mentions,
    m.Resume: streaming.resume,
    m.SetRole: moderation.role,
    m.Kick: moderation.kick,
    m.Ban: moderation.ban,
    m.Unban: moderation.unban,
    m.Mute: moderation.mute,
    m.Unmute: moderation.unmute,
    m.RoomSettingsCommand: moderation.room_settings,
}


async def dispatch(ctx: SignedIn, command: m.AnyCommand) -> None:
    """Run one command. Any command but ``resume`` first starts the event stream, for
    clients that never send ``resume`` (they stream from what the ``welcome`` reported)."""
    if isinstance(command, m.Auth):
        raise ProtocolError(ErrorCode.BAD_REQUEST, "already authenticated")
    if not ctx.streaming and not isinstance(command, m.Resume):
        await ctx.start_streaming({})
    await HANDLERS[type(command)](ctx, command)
