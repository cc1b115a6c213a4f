"""``profile``: a user's display name and avatar (docs/protocol.md, section 12).

A profile is about a user, not a room, so its change is not a room event: it is a notice
(``chat/notices.py``) to everyone who shares a room with the user, on every node, sent once
the store committed it. It is published once, with the ids of the user's rooms as this
connection knows them (no store read), and each node tells its own connections that share
one of them (``Node.publish_profile``). It is not replayed: a client that reconnects reads
profiles again from ``welcome`` and ``who``. The display name goes through the text policy
(one line; the codec checks it) and a length limit (the command's type).
"""

from __future__ import annotations

from parley.chat.notices import ProfileNotice, pack_notice
from parley.chat.signed_in import SignedIn
from parley.protocol import messages as m
from parley.protocol.errors import ErrorCode, ProtocolError
from parley.store.base import UploadNotFound


async def profile(ctx: SignedIn, command: m.SetProfile) -> None:
    try:
        now = await ctx.store.set_profile(
            ctx.user_id, display_name=command.display_name, avatar=command.avatar
        )
    except UploadNotFound as missing:
        raise ProtocolError(ErrorCode.NOT_FOUND, str(missing)) from None
    notice = pack_notice(
        ProfileNotice(user=ctx.user.name, display_name=now.display_name, avatar=now.avatar)
    )
    ctx.node.publish_profile(ctx.user_id, ctx.rooms.ids(), notice)
    ctx.reply(m.Ok(re=command.id))
