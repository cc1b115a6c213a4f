"""A signed-in ``parley.v1`` connection: the context every command runs in.

It is built only once authentication succeeded, so ``user`` and ``login`` (the sign-in
session the connection belongs to) are never missing. It holds what commands share: the
member rooms and where their streams stand, the helpers that reply, publish committed events
and tell the user's other connections about membership changes, and the event stream itself
(``resume``, or the first other command, starts it; see docs/architecture.md).

The connection around it (``chat/connection.py``) decides *when* things run — authentication,
the order of commands, rate limits — and this object *what* they do.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import msgspec

from parley.chat.errors import refusal
from parley.chat.hub import Holding
from parley.chat.member_rooms import FORBIDDEN_ROOM, MemberRooms
from parley.chat.node import Node
from parley.chat.notices import (
    FollowNotice,
    NotifyNotice,
    ProfileNotice,
    ReadNotice,
    RevokeNotice,
    RoomNotice,
    pack_notice,
    unpack_notice,
)
from parley.chat.ratelimit import RateLimit
from parley.model import Event, Room, RoomKind, RoomView, Session
from parley.peer import CloseCode, Peer
from parley.protocol import messages as m
from parley.protocol.budget import REPLY_BUDGET, fitting_items
from parley.protocol.codec import DEFAULT_MAX_TEXT
from parley.protocol.errors import ErrorCode, ProtocolError
from parley.store.base import RoomQuotas, StoreError

log = logging.getLogger(__name__)

#: The most members one ``who`` reply lists (names are at most 32 ASCII characters, so a page
#: stays far below the reply budget); also the members an ``ok``'s ``online`` looks at.
WHO_PAGE = 1000

#: Work queued on the connection (see ``ChatConnection.enqueue``).
Job = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ChatConfig:
    """Per-connection rules of the chat protocol (flags of ``parley serve``)."""

    max_text: int = DEFAULT_MAX_TEXT
    #: Seconds a client that did not authenticate during the handshake has to send ``auth``.
    auth_timeout: float = 10.0
    #: Seconds between two typing notices of one connection for one room (more are dropped).
    typing_interval: float = 3.0
    #: Commands per second per user (all their connections on this server).
    rate: RateLimit = field(default_factory=RateLimit)
    #: Rooms a user may create and invitations a user may receive (admins: no limit).
    room_quotas: RoomQuotas = field(default_factory=RoomQuotas)


def room_info(
    room: Room,
    *,
    member: bool,
    seq: int | None = None,
    unread: int = 0,
    members: list[str] | None = None,
) -> m.RoomInfo:
    """A room for the client; ``members``: the two users' names of a direct room."""
    return m.RoomInfo(
        name=room.name,
        kind=room.kind.value,
        topic=room.topic,
        seq=room.last_seq if seq is None else seq,
        member=member,
        unread=unread,
        members=members or [],
        archived=room.archived,
    )


def view_info(view: RoomView) -> m.RoomInfo:
    """A room as the user sees it in their list: with their counts and notification level."""
    info = room_info(view.room, member=view.member, unread=view.unread, members=list(view.members))
    return msgspec.structs.replace(
        info,
        mentions=view.mentions,
        notify=view.notify.value,
        muted_until=view.muted_until,
    )


class SignedIn:
    """See the module docstring. ``send``, ``enqueue`` and ``close`` are the connection's:
    replies go out through it, notices that change this connection's rooms run in its command
    order, and a revoked session closes it.
    """

    def __init__(
        self,
        node: Node,
        config: ChatConfig,
        peer: Peer,
        login: Session,
        conn_id: str,
        *,
        send: Callable[[m.ServerMessage], None],
        enqueue: Callable[[Job], None],
        close: Callable[[int, str], None],
    ) -> None:
        self.node = node
        self.store = node.store
        self.config = config
        self.peer = peer
        self.login = login
        self.user = login.user
        #: For the node's user channel (``UserListener``).
        self.user_id = login.user.id
        self.conn_id = conn_id
        self.rooms = MemberRooms()
        self.streaming = False
        #: Set once the node knows this connection (presence, user channel): it must forget it.
        self.attached = False
        #: Set once the whole welcome (every page of it) was sent.
        self.welcomed = False
        #: Set when the connection is gone: nothing is sent any more.
        self.ended = False
        #: Room id -> when this connection last sent a typing notice for it.
        self.typing_sent: dict[int, float] = {}
        #: One replay page at a time for this connection (see ``Node.stream``).
        self._turn = asyncio.Lock()
        self._send = send
        self._enqueue = enqueue
        self._close = close

    # -- replies ---------------------------------------------------------------------------

    def reply(self, message: m.ServerMessage) -> None:
        if not self.ended:
            self._send(message)

    def send_error(self, error: ProtocolError) -> None:
        self.reply(m.Error(re=error.re, code=error.code.value, message=error.message))

    def close(self, code: int, reason: str) -> None:
        self._close(code, reason)

    async def guarded(self, command: m.Command | None, job: Job) -> None:
        """Run ``job`` for ``command``; every failure becomes an ``error`` reply, never a
        crash of the connection (an unexpected one is logged with its traceback)."""
        try:
            await job()
        except Exception as exc:
            if not isinstance(exc, ProtocolError | StoreError):
                log.exception("internal error handling a command of user %s", self.user_id)
            self.send_error(refusal(exc, command))

    # -- publishing and telling the user's other connections -------------------------------

    def publish(self, event: Event | None) -> None:
        if event is not None:
            self.node.publish_event(event)

    def publish_all(self, events: list[Event]) -> None:
        for event in events:
            self.node.publish_event(event)

    def announce(self, room: Room, info: m.RoomInfo, user_id: int | None = None) -> None:
        """Tell every connection of a user (this one's by default) about a membership change."""
        target = self.user_id if user_id is None else user_id
        origin = self.conn_id if target == self.user_id else ""
        notice = RoomNotice(room_id=room.id, room=info, origin=origin)
        self.node.notify_user(target, pack_notice(notice))

    # -- rooms -----------------------------------------------------------------------------

    @property
    def quotas(self) -> RoomQuotas | None:
        """The room quotas this user's commands are held to: none for an admin."""
        return None if self.user.is_admin else self.config.room_quotas

    async def visible_room(self, name: str) -> Room:
        """A room this user may read: a member room, or any public room."""
        room = self.rooms.named(name)
        if room is not None:
            return room
        room = await self.store.get_room(name)
        if room is None or room.private:
            raise ProtocolError(ErrorCode.FORBIDDEN, FORBIDDEN_ROOM.format(name))
        return room

    async def info(self, room: Room, *, member: bool, seq: int | None = None) -> m.RoomInfo:
        """``room_info`` with the members' display names of a direct room."""
        members = None
        if room.kind is RoomKind.DIRECT:
            members = [name for _, name in await self.store.room_members(room.id)]
        return room_info(room, member=member, seq=seq, members=members)

    async def online(self, room_id: int) -> list[str]:
        """The members online now, for an ``ok``: the first :data:`WHO_PAGE` members by name
        are looked at (``who`` pages through the rest), so that the reply stays bounded."""
        members = await self.store.room_members(room_id, limit=WHO_PAGE)
        online = await self.node.presence.online(uid for uid, _ in members)
        return [name for uid, name in members if uid in online]

    async def enter(self, room: Room, *, cursor: int, re: str | None, changed: bool = True) -> None:
        """This connection now streams ``room`` from ``cursor``: reply, and (when the
        membership really ``changed``) tell the user's other connections."""
        info = await self.info(room, member=True, seq=cursor)
        self.rooms.remember(room, cursor)
        self.reply(m.Ok(re=re, room=info, online=await self.online(room.id)))
        if changed:
            self.announce(room, info)
        await self.stream(room.id, cursor)

    def forget(self, room_id: int) -> None:
        """No longer a member of this room here: stop streaming it."""
        self.rooms.forget(room_id)
        self.node.stop_stream(self.peer, room_id)

    # -- the event stream ------------------------------------------------------------------

    async def stream(self, room_id: int, cursor: int, holding: Holding | None = None) -> int:
        return await self.node.stream(
            self.peer, self.user_id, room_id, cursor, turn=self._turn, holding=holding
        )

    async def start_streaming(
        self,
        positions: dict[int, int],
        finished: Callable[[dict[str, int]], None] | None = None,
    ) -> dict[str, int]:
        """Stream every member room: listed ones from the given seq, others (on the first
        call) from the seq the client was last told about. Returns the seq each listed room
        reached, after calling ``finished`` with it (``resume`` sends ``resumed`` there).

        Rooms whose replay is done wait, held (``chat/hub.py``), for the others: ``finished``
        runs once every room's replay is done, and only then do live events flow, so that
        ``resumed`` comes after every replayed event and before every live one, and reports
        nothing lower than what the client got. A held room whose live events pass the reply
        budget meanwhile is let go and replayed again from where it was.
        """
        first = not self.streaming
        self.streaming = True
        targets = dict(positions)
        if first:
            for room_id, cursor in self.rooms.cursors.items():
                targets.setdefault(room_id, cursor)
        holding = Holding(REPLY_BUDGET)
        reached: dict[int, int] = {}
        pending = targets
        try:
            while pending:
                room_ids = list(pending)
                streams = (self.stream(rid, pending[rid], holding) for rid in room_ids)
                seqs = await asyncio.gather(*streams)
                reached.update(zip(room_ids, seqs, strict=True))
                pending = {rid: reached[rid] for rid in holding.overflowed if rid in reached}
                holding.overflowed.clear()
        except BaseException:
            for room_id in targets:  # nothing stays held: the client resumes again
                self.node.stop_stream(self.peer, room_id)
            raise
        # From here to the end, no await: no live event can come before ``resumed``.
        named = {rid: self.rooms.by_id(rid) for rid in positions}
        result = {
            room.name: seq for rid, seq in reached.items() if (room := named.get(rid)) is not None
        }
        if finished is not None:
            finished(result)
        self.node.release_held(self.peer, targets, holding)
        return result

    # -- life cycle ------------------------------------------------------------------------

    async def welcome(self) -> None:
        """Load the user's rooms, attach to the node (presence, the user's channel), and send
        the ``welcome``."""
        views = await self.store.member_rooms(self.user_id)
        profile = await self.store.profile_of(self.user_id)
        if self.ended:
            return
        for view in views:
            self.rooms.remember(view.room, view.room.last_seq)
        self.attached = True
        came_online = await self.node.attach(self, self.conn_id)
        if came_online:
            self.node.publish_presence(self.rooms.names(), self.user.name, True)
        infos = [view_info(view) for view in views]
        count = fitting_items(infos)
        self.reply(
            m.Welcome(
                user=m.UserInfo(
                    name=self.user.name,
                    admin=self.user.is_admin,
                    display_name=profile.display_name,
                    avatar=profile.avatar,
                ),
                rooms=infos[:count],
                expires=self.login.expires_at,
                more=count < len(infos),
            )
        )
        # A user in very many rooms: the rest in pages, before anything else is sent (the
        # connection reads no command until the welcome is out).
        while count < len(infos):
            await self.peer.drain()
            rest = infos[count:]
            page = fitting_items(rest)
            count += page
            self.reply(m.MoreRooms(rooms=rest[:page], more=count < len(infos)))
        self.welcomed = True

    def end(self) -> None:
        """The connection is gone: stop every stream (the node is told by :meth:`detach`)."""
        self.ended = True
        for room in self.rooms:
            self.node.stop_stream(self.peer, room.id)

    async def detach(self) -> None:
        went_offline = await self.node.detach(self, self.conn_id)
        if went_offline:
            self.node.publish_presence(self.rooms.names(), self.user.name, False)

    # -- rooms changed by the operator -----------------------------------------------------

    def room_changed(self, room: Room) -> None:
        """Renamed or archived (the client learns it from the room's event): commands now
        name it, and see it, as it is."""
        self.rooms.update(room)

    def room_removed(self, room_id: int) -> None:
        """Deleted: stop streaming it and tell the client it is gone."""
        room = self.rooms.by_id(room_id)
        if room is None:
            return
        self.forget(room_id)
        self.reply(m.RoomChanged(room=room_info(room, member=False), removed=True))

    def left_room(self, room_id: int) -> None:
        """Kicked or banned (the room's event was just delivered): stop streaming the room and
        tell the client it is no longer a member. The notice the moderator's node sends on the
        user's channel then finds nothing left to do."""
        room = self.rooms.by_id(room_id)
        if room is None:
            return
        self.forget(room_id)
        self.reply(m.RoomChanged(room=room_info(room, member=False)))

    # -- notices from the user's channel ---------------------------------------------------

    def on_notice(self, data: bytes) -> None:
        try:
            notice = unpack_notice(data)
        except msgspec.DecodeError:
            log.warning("ignored an undecodable user notice")
            return
        if isinstance(notice, RevokeNotice):
            if notice.token_hash == self.login.token_hash:
                self.close(CloseCode.POLICY_VIOLATION, notice.reason)
        elif isinstance(notice, ReadNotice):
            unread = m.Unread(
                room=notice.room,
                read=notice.read,
                unread=notice.unread,
                mentions=notice.mentions,
                thread=notice.thread,
            )
            if self.welcomed:
                self.reply(unread)
            else:  # after the welcome's last page: nothing comes between its pages
                self._enqueue(lambda: self._reply_later(unread))
        elif isinstance(notice, NotifyNotice | FollowNotice | ProfileNotice):
            changed: m.ServerMessage
            if isinstance(notice, NotifyNotice):
                changed = m.NotifyChanged(room=notice.room, level=notice.level, until=notice.until)
            elif isinstance(notice, FollowNotice):
                changed = m.FollowChanged(
                    room=notice.room, thread=notice.thread, following=notice.following
                )
            else:
                changed = m.ProfileChanged(
                    user=notice.user, display_name=notice.display_name, avatar=notice.avatar
                )
            if self.welcomed:
                self.reply(changed)
            else:
                self._enqueue(lambda: self._reply_later(changed))
        elif notice.origin != self.conn_id:
            if notice.room.member and notice.room_id not in self.rooms:
                self.rooms.expected.add(notice.room_id)  # (see chat/member_rooms.py)
            self._enqueue(lambda: self.guarded(None, lambda: self._follow(notice)))

    async def _reply_later(self, message: m.ServerMessage) -> None:
        self.reply(message)

    async def _follow(self, notice: RoomNotice) -> None:
        """Another connection changed this user's membership: follow it here too."""
        if notice.room.member and notice.room_id in self.rooms:
            return  # this connection already streams it
        if not notice.room.member and notice.room_id not in self.rooms:
            return  # already dropped (kicked or banned: ``left_room``)
        self.reply(m.RoomChanged(room=notice.room))
        if notice.room.member:
            room = await self.store.get_room_by_id(notice.room_id)
            if room is None:
                self.rooms.expected.discard(notice.room_id)
            else:
                self.rooms.remember(room, notice.room.seq)
                if self.streaming:
                    await self.stream(room.id, notice.room.seq)
        else:
            self.forget(notice.room_id)
