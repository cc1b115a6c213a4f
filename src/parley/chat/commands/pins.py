"""``pin``, ``unpin`` and ``pins``: a room's pinned messages.

Pinning is a room event (``pin`` / ``unpin``); who may do it is decided by the store, from the
room's ``pin`` setting and ``may_pin`` (``store/sql/pin_ops.py``).
"""

from __future__ import annotations

from parley.chat.signed_in import SignedIn
from parley.protocol import messages as m
from parley.protocol.budget import fitting_items
from parley.protocol.codec import event_message
from parley.protocol.errors import ErrorCode, ProtocolError
from parley.store.base import Archived, Forbidden, NotFound


async def pin(ctx: SignedIn, command: m.Pin) -> None:
    await _pin(ctx, command, pinned=True)


async def unpin(ctx: SignedIn, command: m.Unpin) -> None:
    await _pin(ctx, command, pinned=False)


async def _pin(ctx: SignedIn, command: m.Pin | m.Unpin, *, pinned: bool) -> None:
    room = ctx.rooms.require(command.room)
    try:
        toggled = await ctx.store.pin(
            room.id, ctx.user_id, ctx.user.name, command.mid, pinned=pinned
        )
    except NotFound:
        raise ProtocolError(
            ErrorCode.NOT_FOUND, f"no message {command.mid} in room {room.name!r}"
        ) from None
    except Archived:
        raise  # worded by chat/errors.py
    except Forbidden as refused:  # worded for people: not a member, or not allowed
        raise ProtocolError(ErrorCode.FORBIDDEN, str(refused)) from None
    ctx.publish(toggled.event)
    ctx.reply(m.Ok(re=command.id, seq=toggled.seq))


async def pins(ctx: SignedIn, command: m.Pins) -> None:
    """A page of a visible room's pinned messages, cut at the reply budget."""
    room = await ctx.visible_room(command.room)
    found = await ctx.store.pinned_messages(room.id, command.before, command.limit + 1)
    events = [event_message(event) for event in found[: command.limit]]
    fits = fitting_items(events)
    ctx.reply(
        m.PinsReply(re=command.id, room=room.name, events=events[:fits], more=len(found) > fits)
    )
