"""Commands about who is here: ``typing`` and ``ping``.

Typing notices are hints, not events: never stored, and at most one per room every
``typing_interval`` seconds from one connection (extra ones are dropped, not refused).
"""

from __future__ import annotations

import time

from parley.chat.signed_in import SignedIn
from parley.protocol import messages as m


async def typing(ctx: SignedIn, command: m.Typing) -> None:
    room = ctx.rooms.require(command.room)
    now = time.monotonic()
    if now - ctx.typing_sent.get(room.id, -1e9) < ctx.config.typing_interval:
        return
    ctx.typing_sent[room.id] = now
    ctx.node.publish_typing(room.id, room.name, ctx.user_id, ctx.user.name)


async def ping(ctx: SignedIn, command: m.Ping) -> None:
    ctx.reply(m.Pong(re=command.id))
