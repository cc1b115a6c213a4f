"""``read``: move the user's read marker of a room; ``notify``: set the user's notification
level of a room. Every connection of the user (on every node) is told through the user's
channel: the new unread and unread-mention counts, or the new level."""

from __future__ import annotations

from parley.chat.commands import threads
from parley.chat.notices import NotifyNotice, ReadNotice, pack_notice
from parley.chat.signed_in import SignedIn
from parley.model import NotifyLevel
from parley.protocol import messages as m
from parley.protocol.errors import ErrorCode, ProtocolError


async def read(ctx: SignedIn, command: m.Read) -> None:
    if command.thread is not None:
        await threads.read(ctx, command)
        return
    room = ctx.rooms.require(command.room)
    await ctx.store.mark_read(room.id, ctx.user_id, command.seq)
    state = await ctx.store.unread_state(room.id, ctx.user_id)
    notice = ReadNotice(
        room=room.name, read=state.read, unread=state.unread, mentions=state.mentions
    )
    ctx.node.notify_user(ctx.user_id, pack_notice(notice))


async def email(ctx: SignedIn, command: m.Email) -> None:
    """Stored for the mailer (``--smtp-url``); with an empty address, nothing is mailed.
    Without ``address`` only read. The reply says what is stored."""
    if command.address is not None:
        await ctx.store.set_email(ctx.user_id, command.address or None, command.notify)
    address, notify = await ctx.store.get_email(ctx.user_id)
    ctx.reply(m.EmailSettings(re=command.id, address=address or "", notify=notify))


async def notify(ctx: SignedIn, command: m.Notify) -> None:
    """Stored first (every node reads it from the store: the welcome, email), then told to
    every connection of the user, this one included (its ``ok`` comes first)."""
    room = ctx.rooms.require(command.room)
    level = NotifyLevel(command.level)
    if not await ctx.store.set_notify(room.id, ctx.user_id, level, command.until):
        raise ProtocolError(ErrorCode.FORBIDDEN, f"you are no longer a member of {room.name!r}")
    ctx.reply(m.Ok(re=command.id))
    notice = NotifyNotice(room=room.name, level=level.value, until=command.until)
    ctx.node.notify_user(ctx.user_id, pack_notice(notice))
