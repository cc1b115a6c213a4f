"""Room roles and moderation: ``role``, ``kick``, ``ban``, ``unban``, ``mute``, ``unmute``,
``room_settings``.

Each act is decided and stored by the store in one transaction (``store/sql/moderation_ops.py``
asks ``parley/permissions.py``), as a room event that is then published like any other: every
member sees it, on every node, in seq order. A kick or a ban is the last event of that room the
removed user's connections receive (``chat/hub.py`` drops them as it delivers it); the notice
on their user channel tells connections that do not stream the room yet.
"""

from __future__ import annotations

from parley.chat.signed_in import SignedIn, room_info
from parley.clock import now_ms
from parley.model import Event, Room, RoomKind, User
from parley.permissions import SETTING_NAMES, Role, end_problem
from parley.protocol import messages as m
from parley.protocol.budget import fitting_items
from parley.protocol.errors import ErrorCode, ProtocolError
from parley.store.base import NotFound

#: What a command about a room you cannot act in is told (the same whether it exists).
NO_SUCH_ROOM = "you are not a member of room {!r}"


async def _room(ctx: SignedIn, name: str) -> Room:
    """A room the user is a member of; for a server admin, any room."""
    room = ctx.rooms.named(name)
    if room is None and ctx.user.is_admin:
        room = await ctx.store.get_room(name)
    if room is None:
        raise ProtocolError(ErrorCode.FORBIDDEN, NO_SUCH_ROOM.format(name))
    return room


async def _parties(ctx: SignedIn, room: str, user: str) -> tuple[Room, User]:
    """The room a command acts in (see :func:`_room`) and the user it acts on."""
    where = await _room(ctx, room)
    target = await ctx.store.get_user(user)
    if target is None:
        raise ProtocolError(ErrorCode.NOT_FOUND, f"no user named {user!r}")
    return where, target


def _check_end(until: int | None, *, required: bool) -> None:
    problem = end_problem(until, now_ms(), required=required)
    if problem is not None:
        raise ProtocolError(ErrorCode.BAD_REQUEST, problem)


def _done(ctx: SignedIn, command: m.Command, event: Event | None) -> None:
    """Publish the act's event (None: nothing changed) and acknowledge it."""
    ctx.publish(event)
    ctx.reply(m.Ok(re=command.id, seq=event.seq if event else None))


def _removed(ctx: SignedIn, room: Room, user_id: int) -> None:
    """Tell every connection of a removed user that the room is no longer theirs (those
    streaming it already dropped it when its event reached them)."""
    ctx.announce(room, room_info(room, member=False), user_id)


async def role(ctx: SignedIn, command: m.SetRole) -> None:
    room, target = await _parties(ctx, command.room, command.user)
    event = await ctx.store.set_role(
        room.id, ctx.user_id, target.id, Role(command.role), address=ctx.peer.remote
    )
    _done(ctx, command, event)


async def kick(ctx: SignedIn, command: m.Kick) -> None:
    room, target = await _parties(ctx, command.room, command.user)
    event = await ctx.store.kick(room.id, ctx.user_id, target.id, address=ctx.peer.remote)
    _done(ctx, command, event)
    _removed(ctx, room, target.id)


async def ban(ctx: SignedIn, command: m.Ban) -> None:
    _check_end(command.until, required=False)
    room, target = await _parties(ctx, command.room, command.user)
    event = await ctx.store.ban(
        room.id, ctx.user_id, target.id, command.until, address=ctx.peer.remote
    )
    _done(ctx, command, event)
    _removed(ctx, room, target.id)


async def unban(ctx: SignedIn, command: m.Unban) -> None:
    room, target = await _parties(ctx, command.room, command.user)
    event = await ctx.store.unban(room.id, ctx.user_id, target.id, address=ctx.peer.remote)
    _done(ctx, command, event)


async def mute(ctx: SignedIn, command: m.Mute) -> None:
    _check_end(command.until, required=True)
    room, target = await _parties(ctx, command.room, command.user)
    event = await ctx.store.mute(
        room.id, ctx.user_id, target.id, command.until, address=ctx.peer.remote
    )
    _done(ctx, command, event)


async def unmute(ctx: SignedIn, command: m.Unmute) -> None:
    room, target = await _parties(ctx, command.room, command.user)
    event = await ctx.store.unmute(room.id, ctx.user_id, target.id, address=ctx.peer.remote)
    _done(ctx, command, event)


async def room_settings(ctx: SignedIn, command: m.RoomSettingsCommand) -> None:
    """Change the settings given; with none, say what they are (any member may ask, and
    anyone may about a public room)."""
    changes = {
        name: value for name in SETTING_NAMES if (value := getattr(command, name)) is not None
    }
    if changes:
        room = await _room(ctx, command.room)
        event = await ctx.store.set_room_settings(
            room.id, ctx.user_id, changes, address=ctx.peer.remote
        )
        _done(ctx, command, event)
        return
    room = ctx.rooms.named(command.room) or await ctx.visible_room(command.room)
    if room.kind is RoomKind.DIRECT:
        raise ProtocolError(ErrorCode.BAD_REQUEST, "a direct room has no settings")
    try:
        place = await ctx.store.room_place(room.id, ctx.user_id)
    except NotFound:
        raise ProtocolError(ErrorCode.NOT_FOUND, f"room {room.name!r} no longer exists") from None
    holders = [
        m.RoleHolder(user=name, role=held.value)
        for name, held in await ctx.store.room_roles(room.id)
    ]
    fits = fitting_items(holders)
    ctx.reply(
        m.RoomSettingsReply(
            re=command.id,
            room=place.room,
            settings=place.settings.as_dict(),
            role=place.standing.role.value,
            roles=holders[:fits],
            more=fits < len(holders),
        )
    )
