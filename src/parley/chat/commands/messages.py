"""Message commands: ``send``, ``edit``, ``delete`` and ``history``.

``send`` is the hot path: it is pipelined by the connection (handed to the store at once, the
next command proceeds), and it is acknowledged only after the store committed the message.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from parley.chat.commands import searching, threads
from parley.chat.signed_in import SignedIn
from parley.model import Event, Room
from parley.protocol import messages as m
from parley.protocol.budget import encoded_size, fitting
from parley.protocol.codec import event_message
from parley.protocol.errors import ErrorCode, ProtocolError
from parley.store.base import (
    Archived,
    Forbidden,
    MentionRefused,
    NotFound,
    NotPermitted,
    UploadNotFound,
)


async def send(ctx: SignedIn, command: m.Send) -> None:
    if command.broadcast and command.thread is None:
        raise ProtocolError(ErrorCode.BAD_REQUEST, "broadcast is only for a reply: give thread too")
    room = ctx.rooms.require(command.room)
    try:
        appended = await ctx.store.post_message(
            room.id,
            ctx.user_id,
            ctx.user.name,
            command.text,
            command.cid,
            command.files,
            thread=command.thread,
            broadcast=command.broadcast,
        )
    except MentionRefused as refused:  # says what to change: @room, or too many names
        raise ProtocolError(ErrorCode.FORBIDDEN, str(refused)) from None
    except UploadNotFound as missing:  # not one's own, sent, removed or made up: one answer
        raise ProtocolError(ErrorCode.NOT_FOUND, str(missing)) from None
    except NotFound:
        if command.thread is None:
            raise  # the room is gone: worded by chat/errors.py
        raise ProtocolError(
            ErrorCode.NOT_FOUND, f"no message {command.thread} in room {room.name!r}"
        ) from None
    event = appended.event
    if appended.duplicate and event.room_id != room.id:
        raise ProtocolError(
            ErrorCode.CONFLICT, f"cid {command.cid!r} was already used in another room"
        )
    # Publish duplicates too: if the first attempt's publication was lost (the server died
    # between commit and publish), this resend is what brings it to everyone.
    ctx.node.publish_event(event)
    assert event.mid is not None  # a message event always has its id
    ctx.reply(
        m.Ack(
            re=command.id,
            cid=command.cid,
            room=room.name,
            seq=event.seq,
            mid=event.mid,
            ts=event.ts,
        )
    )
    if appended.new_followers and event.thread is not None:
        threads.tell_new_followers(ctx, room, event.thread, appended.new_followers)


async def edit(ctx: SignedIn, command: m.Edit) -> None:
    room = ctx.rooms.require(command.room)
    event = await _change(
        room,
        command.mid,
        lambda: ctx.store.edit_message(
            room.id,
            ctx.user_id,
            ctx.user.name,
            command.mid,
            command.text,
            any_author=ctx.user.is_admin,
        ),
    )
    ctx.publish(event)
    ctx.reply(m.Ok(re=command.id, seq=event.seq))


async def delete(ctx: SignedIn, command: m.Delete) -> None:
    room = ctx.rooms.require(command.room)
    event = await _change(
        room,
        command.mid,
        lambda: ctx.store.delete_message(
            room.id, ctx.user_id, ctx.user.name, command.mid, any_author=ctx.user.is_admin
        ),
    )
    ctx.publish(event)
    ctx.reply(m.Ok(re=command.id, seq=event.seq))


async def _change(room: Room, mid: int, change: Callable[[], Awaitable[Event]]) -> Event:
    """Edit or delete message ``mid`` of ``room``, with the refusals said for people."""
    try:
        return await change()
    except NotFound:
        raise ProtocolError(
            ErrorCode.NOT_FOUND, f"no message {mid} in room {room.name!r}"
        ) from None
    except Archived:
        raise  # worded by chat/errors.py: the room is read-only for everyone
    except MentionRefused as refused:
        raise ProtocolError(ErrorCode.FORBIDDEN, str(refused)) from None
    except NotPermitted:  # a delete of another's message (permissions.Action.DELETE_ANY)
        raise ProtocolError(
            ErrorCode.FORBIDDEN,
            "only its author, the room's moderators and owners can delete a message",
        ) from None
    except Forbidden:
        raise ProtocolError(ErrorCode.FORBIDDEN, "only its author can change a message") from None


async def history(ctx: SignedIn, command: m.History) -> None:
    if command.thread is not None:
        await threads.history(ctx, command)
        return
    if command.around is not None:
        await searching.history_around(ctx, command)
        return
    room = await ctx.visible_room(command.room)
    events = await ctx.store.events_before(room.id, command.before, command.limit + 1)
    more = len(events) > command.limit
    if more:
        events = events[1:]
    # The newest events that fit the reply budget: the client pages back from the first.
    messages = [event_message(event) for event in events]
    count = fitting(encoded_size(message) for message in reversed(messages))
    more = more or count < len(messages)
    ctx.reply(
        m.HistoryReply(
            re=command.id,
            room=room.name,
            events=messages[len(messages) - count :],
            more=more,
        )
    )
