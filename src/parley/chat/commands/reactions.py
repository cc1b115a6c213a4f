"""``react`` and ``unreact``: a user's emoji on a message, as ``reaction`` events.

A reaction is never unread and notifies nobody: it is a room event (so resume and history
carry it), and clients only update the message's totals. A repeated ``react`` answers the
seq of the event that added it and stores nothing, so resending is safe. Each counts against
the user's rate limit like any command (the connection's limiter sees every frame).
"""

from __future__ import annotations

from parley.chat.signed_in import SignedIn
from parley.protocol import messages as m
from parley.protocol.errors import ErrorCode, ProtocolError
from parley.protocol.reactions import EMOJI_RULE, MAX_EMOJI_PER_MESSAGE, valid_emoji
from parley.store.base import Archived, Forbidden, NotFound, TooManyReactions


async def react(ctx: SignedIn, command: m.React) -> None:
    await _react(ctx, command, add=True)


async def unreact(ctx: SignedIn, command: m.Unreact) -> None:
    await _react(ctx, command, add=False)


async def _react(ctx: SignedIn, command: m.React | m.Unreact, *, add: bool) -> None:
    if not valid_emoji(command.emoji):
        raise ProtocolError(ErrorCode.BAD_REQUEST, EMOJI_RULE)
    room = ctx.rooms.require(command.room)
    try:
        toggled = await ctx.store.react(
            room.id, ctx.user_id, ctx.user.name, command.mid, command.emoji, add=add
        )
    except NotFound:
        raise ProtocolError(
            ErrorCode.NOT_FOUND, f"no message {command.mid} in room {room.name!r}"
        ) from None
    except TooManyReactions:
        raise ProtocolError(
            ErrorCode.LIMIT_REACHED,
            f"message {command.mid} already has {MAX_EMOJI_PER_MESSAGE} different reactions,"
            " the most allowed; add yours to one of them",
        ) from None
    except Archived:
        raise  # worded by chat/errors.py
    except Forbidden as refused:
        raise ProtocolError(ErrorCode.FORBIDDEN, str(refused)) from None
    ctx.publish(toggled.event)
    ctx.reply(m.Ok(re=command.id, seq=toggled.seq))
