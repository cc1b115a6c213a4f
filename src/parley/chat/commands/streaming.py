"""``resume``: start (or restart) the event stream from the client's last seen seq per room.

Each listed room is replayed from the store after its seq, then the connection goes live in
it; rooms not listed stream from the seq the client was last told about. ``resumed`` reports
the seq each listed room reached. A room the user is not a member of, or a seq from the
future, gets an ``error`` of its own and the others resume all the same.
"""

from __future__ import annotations

from parley.chat.member_rooms import FORBIDDEN_ROOM
from parley.chat.signed_in import SignedIn
from parley.protocol import messages as m
from parley.protocol.errors import ErrorCode, ProtocolError


async def resume(ctx: SignedIn, command: m.Resume) -> None:
    positions: dict[int, int] = {}
    for name, seq in command.rooms.items():
        room = ctx.rooms.named(name)
        if room is None:
            ctx.send_error(
                ProtocolError(ErrorCode.FORBIDDEN, FORBIDDEN_ROOM.format(name), command.id)
            )
            continue
        latest = await ctx.store.get_room_by_id(room.id)
        last_seq = latest.last_seq if latest is not None else 0
        if seq > last_seq:
            ctx.send_error(
                ProtocolError(
                    ErrorCode.BAD_REQUEST,
                    f"seq {seq} is from the future: room {room.name!r} is at {last_seq}",
                    command.id,
                )
            )
            continue
        positions[room.id] = seq
    await ctx.start_streaming(
        positions, lambda reached: ctx.reply(m.Resumed(re=command.id, rooms=reached))
    )
