"""Thread commands: a thread's replies (``history`` with ``thread``), ``follow``,
``unfollow``, a thread's read marker (``read`` with ``thread``) and ``threads``.

Replies themselves are ``send`` with ``thread`` (``messages.py``): ordinary messages of the
room, so resume, history, edits and deletes serve them unchanged. What is added here is
per user (following, markers), told to every connection of the user through the user's
channel like the room's read marker.
"""

from __future__ import annotations

from parley.chat.notices import FollowNotice, ReadNotice, pack_notice
from parley.chat.signed_in import SignedIn
from parley.model import Room
from parley.protocol import messages as m
from parley.protocol.budget import REPLY_BUDGET, encoded_size, fitting_items
from parley.protocol.codec import event_message
from parley.protocol.errors import ErrorCode, ProtocolError
from parley.store.base import NotFound


def no_message(mid: int, room: Room) -> ProtocolError:
    """The refusal for a ``mid`` that is not a (live) message of ``room``."""
    return ProtocolError(ErrorCode.NOT_FOUND, f"no message {mid} in room {room.name!r}")


async def history(ctx: SignedIn, command: m.History) -> None:
    """The replies of a thread, a page back from ``before``; the root with the first page."""
    assert command.thread is not None
    if command.around is not None:
        raise ProtocolError(ErrorCode.BAD_REQUEST, "give thread or around, not both")
    room = await ctx.visible_room(command.room)
    try:
        root, replies = await ctx.store.thread_replies(
            room.id, command.thread, command.before, command.limit + 1
        )
        # A change committed after this read is told by a ``follow`` notice, which may reach
        # the client just before this answer: clients prefer a notice that came meanwhile.
        following = await ctx.store.thread_following(room.id, ctx.user_id, command.thread)
    except NotFound:
        raise no_message(command.thread, room) from None
    more = len(replies) > command.limit
    if more:
        replies = replies[1:]
    head = event_message(root) if command.before is None else None
    budget = REPLY_BUDGET - (encoded_size(head) if head is not None else 0)
    events = [event_message(event) for event in replies]
    count = fitting_items(list(reversed(events)), budget)
    ctx.reply(
        m.HistoryReply(
            re=command.id,
            room=room.name,
            events=events[len(events) - count :],
            more=more or count < len(events),
            root=head,
            following=following,
        )
    )


async def follow(ctx: SignedIn, command: m.Follow) -> None:
    await _set_following(ctx, command, following=True)


async def unfollow(ctx: SignedIn, command: m.Unfollow) -> None:
    await _set_following(ctx, command, following=False)


async def _set_following(ctx: SignedIn, command: m.Follow | m.Unfollow, *, following: bool) -> None:
    """Stored first, then told to every connection of the user, this one included (its
    ``ok`` comes first)."""
    room = ctx.rooms.require(command.room)
    try:
        root = await ctx.store.set_following(room.id, ctx.user_id, command.mid, following)
    except NotFound:
        raise no_message(command.mid, room) from None
    ctx.reply(m.Ok(re=command.id))
    notice = FollowNotice(room=room.name, thread=root, following=following)
    ctx.node.notify_user(ctx.user_id, pack_notice(notice))


def tell_new_followers(ctx: SignedIn, room: Room, thread: int, users: tuple[int, ...]) -> None:
    """A reply made these users follow its thread (they replied, or it mentions them): every
    connection of theirs gets the ``follow`` notice, as for a ``follow``."""
    notice = pack_notice(FollowNotice(room=room.name, thread=thread, following=True))
    for user_id in users:
        ctx.node.notify_user(user_id, notice)


async def read(ctx: SignedIn, command: m.Read) -> None:
    """``read`` with ``thread``: the thread's marker, told like the room's (``unread``)."""
    assert command.thread is not None
    room = ctx.rooms.require(command.room)
    try:
        root, state = await ctx.store.mark_thread_read(
            room.id, ctx.user_id, command.thread, command.seq
        )
    except NotFound:
        raise no_message(command.thread, room) from None
    notice = ReadNotice(
        room=room.name,
        read=state.read,
        unread=state.unread,
        mentions=state.mentions,
        thread=root,
    )
    ctx.node.notify_user(ctx.user_id, pack_notice(notice))


async def threads(ctx: SignedIn, command: m.Threads) -> None:
    """A page of the threads the user follows, cut at the reply budget."""
    after = None
    if command.after is not None:
        ts, mid = command.after.split(":")
        after = (int(ts), int(mid))
    found = await ctx.store.followed_threads(ctx.user_id, after, command.limit + 1)
    listed = [
        m.ThreadInfo(
            room=view.root.room,
            root=event_message(view.root),
            read=view.read,
            unread=view.unread,
            mentions=view.mentions,
        )
        for view in found[: command.limit]
    ]
    fits = fitting_items(listed)
    more = len(found) > fits
    last = found[fits - 1].root if fits else None
    ctx.reply(
        m.ThreadsReply(
            re=command.id,
            threads=listed[:fits],
            more=more,
            next=f"{last.last_reply_ts}:{last.mid}" if more and last is not None else None,
        )
    )
