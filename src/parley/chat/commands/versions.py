"""``versions``: a message's texts, as sent and after each edit (its edit history).

Only a message that still exists has versions: a delete erases every one of them from the
database (``operations.delete_message``), so a deleted message is ``not_found`` here.
"""

from __future__ import annotations

from parley.chat.signed_in import SignedIn
from parley.protocol import messages as m
from parley.protocol.budget import fitting_items
from parley.protocol.errors import ErrorCode, ProtocolError
from parley.store.base import NotFound


async def versions(ctx: SignedIn, command: m.Versions) -> None:
    room = await ctx.visible_room(command.room)
    try:
        found, more = await ctx.store.versions(room.id, command.mid, command.before, command.limit)
    except NotFound:
        raise ProtocolError(
            ErrorCode.NOT_FOUND, f"no message {command.mid} in room {room.name!r}"
        ) from None
    listed = [m.VersionInfo(seq=v.seq, ts=v.ts, user=v.user, text=v.text) for v in found]
    # The newest that fit the reply budget: the client pages back from the first.
    fits = fitting_items(list(reversed(listed)))
    ctx.reply(
        m.VersionsReply(
            re=command.id,
            room=room.name,
            mid=command.mid,
            versions=listed[len(listed) - fits :],
            more=more or fits < len(listed),
        )
    )
