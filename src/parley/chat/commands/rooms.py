"""Room commands: ``create``, ``join``, ``leave``, ``invite``, ``dm``, ``rooms``, ``who``,
``topic``.

A membership change is a room event (join, leave), published after the store committed it;
the user's other connections follow it through a notice on the user's channel
(:meth:`SignedIn.announce`), and an invited user's connections the same way.
"""

from __future__ import annotations

from parley.chat.signed_in import WHO_PAGE, SignedIn, view_info
from parley.model import RoomKind
from parley.permissions import Action
from parley.protocol import messages as m
from parley.protocol.budget import encoded_size, fitting, fitting_items
from parley.protocol.errors import ErrorCode, ProtocolError
from parley.store.base import Conflict

#: The answer to ``create`` with a taken name, the same for every room that holds it.
NAME_NOT_AVAILABLE = "the room name {!r} is not available; choose another"


async def create(ctx: SignedIn, command: m.Create) -> None:
    kind = RoomKind.PRIVATE if command.private else RoomKind.PUBLIC
    try:
        room, events = await ctx.store.create_room(
            command.room, kind, creator_id=ctx.user_id, topic=command.topic, quotas=ctx.quotas
        )
    except Conflict:
        # The same words whoever holds the name: a private room must not show through.
        raise ProtocolError(ErrorCode.CONFLICT, NAME_NOT_AVAILABLE.format(command.room)) from None
    ctx.publish_all(events)
    await ctx.enter(room, cursor=0, re=command.id)


async def join(ctx: SignedIn, command: m.Join) -> None:
    room = await ctx.visible_room(command.room)
    if room.id in ctx.rooms:
        latest = await ctx.store.get_room_by_id(room.id)
        info = await ctx.info(latest or room, member=True)
        ctx.reply(m.Ok(re=command.id, room=info, online=await ctx.online(room.id)))
        return
    event = await ctx.store.join(room.id, ctx.user_id, ctx.user.name)
    ctx.publish(event)
    latest = await ctx.store.get_room_by_id(room.id) or room
    cursor = event.seq - 1 if event is not None else latest.last_seq
    # Already a member (joined from another connection it has not heard of yet): only this
    # connection changes, the user's others already have the room.
    await ctx.enter(latest, cursor=cursor, re=command.id, changed=event is not None)


async def leave(ctx: SignedIn, command: m.Leave) -> None:
    room = ctx.rooms.require(command.room)
    if room.kind is RoomKind.DIRECT:
        raise ProtocolError(ErrorCode.BAD_REQUEST, "a direct room cannot be left")
    event = await ctx.store.leave(room.id, ctx.user_id, ctx.user.name)
    ctx.forget(room.id)
    ctx.publish(event)
    latest = await ctx.store.get_room_by_id(room.id) or room
    info = await ctx.info(latest, member=False)
    ctx.reply(m.Ok(re=command.id, room=info))
    ctx.announce(latest, info)


async def invite(ctx: SignedIn, command: m.Invite) -> None:
    room = ctx.rooms.require(command.room)
    if room.kind is RoomKind.DIRECT:
        raise ProtocolError(ErrorCode.BAD_REQUEST, "no one can be invited to a direct room")
    (await ctx.store.room_place(room.id, ctx.user_id)).require(Action.INVITE)  # room settings
    guest = await ctx.store.get_user(command.user)
    if guest is None or guest.disabled:
        raise ProtocolError(ErrorCode.NOT_FOUND, f"no user named {command.user!r}")
    event = await ctx.store.join(room.id, guest.id, guest.name, by=ctx.user.name, quotas=ctx.quotas)
    ctx.publish(event)
    if event is not None:
        latest = await ctx.store.get_room_by_id(room.id) or room
        info = await ctx.info(latest, member=True, seq=event.seq - 1)
        ctx.announce(latest, info, guest.id)
    ctx.reply(m.Ok(re=command.id, seq=event.seq if event else None))


async def dm(ctx: SignedIn, command: m.Dm) -> None:
    other = await ctx.store.get_user(command.user)
    if other is None or other.disabled:
        raise ProtocolError(ErrorCode.NOT_FOUND, f"no user named {command.user!r}")
    if other.id == ctx.user_id:
        raise ProtocolError(ErrorCode.BAD_REQUEST, "a direct room needs another user")
    room, events = await ctx.store.open_direct(ctx.user_id, other.id, quotas=ctx.quotas)
    ctx.publish_all(events)
    if room.id in ctx.rooms:
        info = await ctx.info(room, member=True)
        ctx.reply(m.Ok(re=command.id, room=info, online=await ctx.online(room.id)))
        return
    if events:
        ctx.announce(room, await ctx.info(room, member=True, seq=0), other.id)
    await ctx.enter(room, cursor=0 if events else room.last_seq, re=command.id)


async def rooms(ctx: SignedIn, command: m.Rooms) -> None:
    """A page of the rooms the user can see (every public room, and the user's private and
    direct ones); the server's size shows only in how many pages there are."""
    views = await ctx.store.visible_rooms(
        ctx.user_id, query=command.query, after=command.after, limit=command.limit + 1
    )
    infos = [view_info(view) for view in views[: command.limit]]
    count = fitting_items(infos)
    more = len(views) > command.limit or count < len(infos)
    infos = infos[:count]
    last = infos[-1].name if more and infos else None
    ctx.reply(m.RoomList(re=command.id, rooms=infos, more=more, next=last))


async def who(ctx: SignedIn, command: m.Who) -> None:
    """A page of the room's members (the lobby has every user): see :data:`WHO_PAGE`."""
    room = await ctx.visible_room(command.room)
    members = await ctx.store.room_members(room.id, after=command.after, limit=WHO_PAGE + 1)
    page = members[:WHO_PAGE]
    count = fitting(2 * encoded_size(name) for _, name in page)
    more = len(members) > WHO_PAGE or count < len(page)
    page = page[:count]
    online = await ctx.node.presence.online(uid for uid, _ in page)
    ctx.reply(
        m.WhoReply(
            re=command.id,
            room=room.name,
            members=[name for _, name in page],
            online=[name for uid, name in page if uid in online],
            more=more,
            next=page[-1][1] if more and page else None,
        )
    )


async def topic(ctx: SignedIn, command: m.SetTopic) -> None:
    room = ctx.rooms.require(command.room)
    if room.kind is RoomKind.DIRECT:
        raise ProtocolError(ErrorCode.BAD_REQUEST, "a direct room has no topic")
    event = await ctx.store.set_topic(room.id, ctx.user_id, ctx.user.name, command.topic)
    ctx.publish(event)
    ctx.reply(m.Ok(re=command.id, seq=event.seq))
