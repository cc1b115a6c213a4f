"""``read``: move the user's read marker of a room; every connection of the user (on every
node) gets the new unread count through the user's channel."""

from __future__ import annotations

from parley.chat.notices import ReadNotice, pack_notice
from parley.chat.signed_in import SignedIn
from parley.protocol import messages as m


async def read(ctx: SignedIn, command: m.Read) -> None:
    room = ctx.rooms.require(command.room)
    marker = await ctx.store.mark_read(room.id, ctx.user_id, command.seq)
    unread = await ctx.store.unread_count(room.id, ctx.user_id)
    notice = ReadNotice(room=room.name, read=marker, unread=unread)
    ctx.node.notify_user(ctx.user_id, pack_notice(notice))
