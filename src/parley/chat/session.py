"""One ``parley.v1`` connection's life: authenticate → welcome → stream and commands → closed.

Frames are decoded as they arrive (a bad one gets an ``error`` at once, and the connection
stays usable). Valid commands run one after another, in arrival order, on a worker task that
exists only while there is work, so idle connections cost no task. Sends are pipelined: a
``send`` is handed to the store at once and the next command proceeds; any other command
first waits for the sends before it, so that, say, a ``leave`` never overtakes them.

The event stream of a connection starts with ``resume`` (or, for clients that never send it,
with their first other command): every member room is streamed from the client's last seen
seq, or from the seq the ``welcome`` reported.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import msgspec

from parley.chat.auth import Accounts
from parley.chat.node import Node
from parley.chat.notices import (
    ReadNotice,
    RevokeNotice,
    RoomNotice,
    pack_notice,
    unpack_notice,
)
from parley.chat.ratelimit import RateLimit, TokenBucket
from parley.model import Event, Room, RoomKind, RoomView, Session, User
from parley.peer import CloseCode, Peer
from parley.protocol import messages as m
from parley.protocol.codec import DEFAULT_MAX_TEXT, decode_command, encode, event_message
from parley.protocol.errors import ErrorCode, ProtocolError
from parley.store.base import Conflict, Forbidden, NotFound, StoreError, Unavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """Per-connection rules of the chat protocol (flags of ``parley serve``)."""

    max_text: int = DEFAULT_MAX_TEXT
    #: Seconds a client that did not authenticate during the handshake has to send ``auth``.
    auth_timeout: float = 10.0
    #: Seconds between two typing notices of one connection for one room (more are dropped).
    typing_interval: float = 3.0
    #: Commands per second per user (all their connections on this server).
    rate: RateLimit = field(default_factory=RateLimit)


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
    )


def view_info(view: RoomView) -> m.RoomInfo:
    return room_info(view.room, member=view.member, unread=view.unread, members=list(view.members))


_FORBIDDEN_ROOM = "you cannot see room {!r}: it does not exist or it is private"


class ChatSession:
    """A ``parley.v1`` connection handler; see the module docstring."""

    def __init__(
        self,
        node: Node,
        accounts: Accounts,
        config: SessionConfig,
        *,
        session: Session | None = None,
    ) -> None:
        self.node = node
        self.store = node.store
        self.accounts = accounts
        self.config = config
        self.conn_id = secrets.token_hex(8)
        self.session = session
        self.user: User | None = session.user if session else None
        self.user_id = self.user.id if self.user else 0
        self.peer: Peer | None = None
        self.rooms: dict[int, Room] = {}  # member rooms, by id
        self._by_name: dict[str, Room] = {}  # the same, by lower-cased name
        self.cursors: dict[int, int] = {}  # member rooms -> seq reported (welcome, join ...)
        self.streaming = False
        self.welcomed = False
        self.closed = False
        self._inbox: deque[Callable[[], Awaitable[None]]] = deque()
        self._worker: asyncio.Task[None] | None = None
        self._sends: set[asyncio.Task[None]] = set()
        self._typing_sent: dict[int, float] = {}
        self._auth_timer: asyncio.TimerHandle | None = None
        # Attached to the node (listener, presence) and, once, detached again.
        self._attached = False
        self._detached = False
        # Until the user is known, the connection has its own bucket; then the user's.
        self._bucket = (
            node.bucket(self.user_id, config.rate) if self.user else TokenBucket(config.rate)
        )

    # -- ConnectionHandler ----------------------------------------------------------------

    def on_open(self, conn: Peer) -> None:
        self.peer = conn
        if self.user is not None:
            self._enqueue(lambda: self._setting_up(self._welcome))
        else:
            loop = asyncio.get_running_loop()
            self._auth_timer = loop.call_later(self.config.auth_timeout, self._auth_timed_out)

    def on_text(self, conn: Peer, text: str) -> None:
        try:
            command = decode_command(text, max_text=self.config.max_text)
        except ProtocolError as error:
            if self._over_limit(error.re):
                return
            self._send_error(error)
            if self.user is None and self._auth_timer is not None:
                # The first frame of a connection that must authenticate was not even valid.
                self._close(CloseCode.POLICY_VIOLATION, "authenticate first")
            return
        # Typing notices have their own, quieter limit (see _typing).
        if not isinstance(command, m.Typing) and self._over_limit(command.id):
            return
        if self.user is None and self._auth_timer is not None:
            if not isinstance(command, m.Auth):
                self._send_error(
                    ProtocolError(ErrorCode.UNAUTHORIZED, "send auth first", command.id)
                )
                self._close(CloseCode.POLICY_VIOLATION, "authenticate first")
                return
            self._auth_timer.cancel()
            self._auth_timer = None
            self._enqueue(lambda: self._setting_up(lambda: self._authenticate(command)))
            return
        if isinstance(command, m.Send) and self.streaming:
            # Pipelined: hand it to the store now, in arrival order (see the module docstring).
            self._enqueue_send(command)
            return
        self._enqueue(lambda: self._run(command))

    def _over_limit(self, re: str | None) -> bool:
        """Take a token for one frame; refuse it (and, past the burst, disconnect) if none."""
        bucket = self._bucket
        if bucket.take():
            return False
        if bucket.abusive:
            log.info(
                "disconnecting a client that kept flooding",
                extra={"event": "rate_limit_close", "user": self.user_id},
            )
            self._close(CloseCode.RATE_LIMITED, "too many messages")
        else:
            self._send_error(
                ProtocolError(ErrorCode.RATE_LIMITED, "too many commands; slow down", re)
            )
        self.node.stats.rate_limited += 1
        return True

    def on_binary(self, conn: Peer, data: bytes) -> None:
        if self._over_limit(None):
            return
        self._send_error(
            ProtocolError(ErrorCode.BAD_REQUEST, "parley.v1 frames are JSON text, not binary")
        )

    def on_closed(self, conn: Peer) -> None:
        self.closed = True
        self._inbox.clear()
        if self._auth_timer is not None:
            self._auth_timer.cancel()
        for room_id in list(self.rooms):
            self.node.stop_stream(conn, room_id)
        if self._worker is None:
            self._detach_once()
        # else: the worker detaches when it finishes the job in progress (see _work), so that
        # a welcome still attaching cannot re-attach a closed connection.

    def _detach_once(self) -> None:
        if self._attached and not self._detached:
            self._detached = True
            self.node.spawn(self._detach())

    # -- plumbing --------------------------------------------------------------------------

    def _enqueue(self, job: Callable[[], Awaitable[None]]) -> None:
        if self.closed:
            return
        self._inbox.append(job)
        if self._worker is None:
            self._worker = asyncio.create_task(self._work())

    def _enqueue_send(self, command: m.Send) -> None:
        if self._inbox or self._worker is not None:
            # Earlier commands are still running: keep the order.
            self._enqueue(lambda: self._start_send(command))
            return
        self._start_send_now(command)

    async def _start_send(self, command: m.Send) -> None:
        self._start_send_now(command)

    def _start_send_now(self, command: m.Send) -> None:
        # The hottest command: one task, no extra layers (``_post`` handles its own errors).
        task = asyncio.create_task(self._post(command))
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)

    async def _work(self) -> None:
        try:
            while self._inbox and not self.closed:
                job = self._inbox.popleft()
                await job()
        finally:
            self._worker = None
            if self.closed:
                self._detach_once()

    async def _run(self, command: m.AnyCommand) -> None:
        if not isinstance(command, m.Send) and self._sends:
            await asyncio.gather(*self._sends, return_exceptions=True)
        if self.closed:
            return
        await self._guarded(command.id, lambda: self._dispatch(command))

    async def _guarded(self, re: str | None, job: Callable[[], Awaitable[None]]) -> None:
        """Run a command; turn every failure into an ``error`` event, never a crash."""
        try:
            await job()
        except ProtocolError as error:
            if error.re is None:
                error.re = re
            self._send_error(error)
        except StoreError as error:
            self._send_error(_store_error(error, re))
        except Exception:
            log.exception("internal error handling a command of user %s", self.user_id)
            self._send_error(ProtocolError(ErrorCode.INTERNAL, "internal error", re))

    def _reply(self, message: m.ServerMessage) -> None:
        if self.peer is not None and not self.closed:
            self.peer.send_encoded_text(encode(message))

    def _send_error(self, error: ProtocolError) -> None:
        self._reply(m.Error(re=error.re, code=error.code.value, message=error.message))

    def _close(self, code: int, reason: str) -> None:
        if self.peer is not None:
            self.peer.close(code, reason)

    def _auth_timed_out(self) -> None:
        self._auth_timer = None
        if self.user is None:
            self._send_error(ProtocolError(ErrorCode.UNAUTHORIZED, "authentication timed out"))
            self._close(CloseCode.POLICY_VIOLATION, "authentication timeout")

    # -- authentication and welcome ----------------------------------------------------------

    async def _setting_up(self, job: Callable[[], Awaitable[None]]) -> None:
        """Authentication and welcome: a client cannot go on without them, so if they fail
        (the database is down) it is told so and closed with 1013: try again later."""
        try:
            await job()
        except Exception as exc:
            if not isinstance(exc, StoreError):
                log.exception("internal error while welcoming user %s", self.user_id)
            self._send_error(
                ProtocolError(ErrorCode.UNAVAILABLE, "the server cannot sign you in right now")
            )
            self._close(CloseCode.TRY_AGAIN_LATER, "try again later")

    async def _authenticate(self, command: m.Auth) -> None:
        session = await self.accounts.authenticate(command.token)
        if session is None:
            self._send_error(
                ProtocolError(ErrorCode.UNAUTHORIZED, "invalid or expired token", command.id)
            )
            self._close(CloseCode.POLICY_VIOLATION, "authentication failed")
            return
        self.session = session
        self.user = session.user
        self.user_id = session.user.id
        self._bucket = self.node.bucket(self.user_id, self.config.rate)
        await self._welcome()

    async def _welcome(self) -> None:
        assert self.user is not None
        assert self.session is not None
        views = await self.store.rooms_for(self.user.id)
        if self.closed:
            return
        for view in views:
            if view.member:
                self._remember(view.room, view.room.last_seq)
        self._attached = True
        came_online = await self.node.attach(self, self.conn_id)
        if came_online:
            self.node.publish_presence(self._room_names(), self.user.name, True)
        self._reply(
            m.Welcome(
                user=m.UserInfo(name=self.user.name, admin=self.user.is_admin),
                rooms=[view_info(view) for view in views],
                expires=self.session.expires_at,
            )
        )
        self.welcomed = True

    async def _detach(self) -> None:
        assert self.user is not None
        went_offline = await self.node.detach(self, self.conn_id)
        if went_offline:
            self.node.publish_presence(self._room_names(), self.user.name, False)

    def _room_names(self) -> list[tuple[int, str]]:
        return [(room.id, room.name) for room in self.rooms.values()]

    def _remember(self, room: Room, cursor: int) -> None:
        self.rooms[room.id] = room
        self._by_name[room.name.lower()] = room
        self.cursors[room.id] = cursor

    def _forget(self, room_id: int) -> None:
        room = self.rooms.pop(room_id, None)
        if room is not None:
            self._by_name.pop(room.name.lower(), None)
        self.cursors.pop(room_id, None)
        if self.peer is not None:
            self.node.stop_stream(self.peer, room_id)

    # -- notices from the user's channel ------------------------------------------------------

    def on_notice(self, data: bytes) -> None:
        try:
            notice = unpack_notice(data)
        except msgspec.DecodeError:
            log.warning("ignored an undecodable user notice")
            return
        if isinstance(notice, RevokeNotice):
            if self.session is not None and notice.token_hash == self.session.token_hash:
                self._close(CloseCode.POLICY_VIOLATION, notice.reason)
        elif isinstance(notice, ReadNotice):
            self._reply(m.Unread(room=notice.room, read=notice.read, unread=notice.unread))
        elif notice.origin != self.conn_id and self.welcomed:
            self._enqueue(lambda: self._guarded(None, lambda: self._apply_room_notice(notice)))

    async def _apply_room_notice(self, notice: RoomNotice) -> None:
        """Another connection changed this user's membership: follow it here too."""
        if notice.room.member and notice.room_id in self.rooms:
            return  # this connection already streams it
        self._reply(m.RoomChanged(room=notice.room))
        if notice.room.member:
            room = await self.store.get_room_by_id(notice.room_id)
            if room is not None:
                self._remember(room, notice.room.seq)
                if self.streaming:
                    await self._stream(room.id, notice.room.seq)
        else:
            self._forget(notice.room_id)

    def _announce(self, room: Room, info: m.RoomInfo, user_id: int | None = None) -> None:
        """Tell every connection of a user (this one's by default) about a membership change."""
        target = self.user_id if user_id is None else user_id
        origin = self.conn_id if target == self.user_id else ""
        notice = RoomNotice(room_id=room.id, room=info, origin=origin)
        self.node.notify_user(target, pack_notice(notice))

    # -- streaming -------------------------------------------------------------------------

    async def _stream(self, room_id: int, cursor: int) -> int:
        assert self.peer is not None
        return await self.node.stream(self.peer, self.user_id, room_id, cursor, on_live=_noop)

    async def _start_streaming(self, positions: dict[int, int]) -> dict[str, int]:
        """Stream every member room: listed ones from the given seq, others from the seq the
        client was last told about. Returns the seq each listed room reached."""
        first = not self.streaming
        self.streaming = True
        targets = dict(positions)
        if first:
            for room_id, cursor in self.cursors.items():
                targets.setdefault(room_id, cursor)
        room_ids = list(targets)
        reached = await asyncio.gather(*(self._stream(rid, targets[rid]) for rid in room_ids))
        return {
            self.rooms[rid].name: seq
            for rid, seq in zip(room_ids, reached, strict=True)
            if rid in positions and rid in self.rooms
        }

    # -- commands --------------------------------------------------------------------------

    async def _dispatch(self, command: m.AnyCommand) -> None:
        if isinstance(command, m.Auth):
            raise ProtocolError(ErrorCode.BAD_REQUEST, "already authenticated")
        if isinstance(command, m.Resume):
            await self._resume(command)
            return
        if not self.streaming:
            await self._start_streaming({})
        match command:
            case m.Create():
                await self._create(command)
            case m.Join():
                await self._join(command)
            case m.Leave():
                await self._leave(command)
            case m.Invite():
                await self._invite(command)
            case m.Dm():
                await self._dm(command)
            case m.Rooms():
                await self._rooms(command)
            case m.Who():
                await self._who(command)
            case m.Send():
                await self._post_unguarded(command)
            case m.Edit():
                await self._edit(command)
            case m.Delete():
                await self._delete(command)
            case m.SetTopic():
                await self._topic(command)
            case m.History():
                await self._history(command)
            case m.Typing():
                await self._typing(command)
            case m.Read():
                await self._read(command)
            case m.Ping():
                self._reply(m.Pong(re=command.id))

    async def _resume(self, command: m.Resume) -> None:
        positions: dict[int, int] = {}
        for name, seq in command.rooms.items():
            room = self._member_room(name)
            if room is None:
                self._send_error(
                    ProtocolError(ErrorCode.FORBIDDEN, _FORBIDDEN_ROOM.format(name), command.id)
                )
                continue
            latest = await self.store.get_room_by_id(room.id)
            last_seq = latest.last_seq if latest is not None else 0
            if seq > last_seq:
                self._send_error(
                    ProtocolError(
                        ErrorCode.BAD_REQUEST,
                        f"seq {seq} is from the future: room {room.name!r} is at {last_seq}",
                        command.id,
                    )
                )
                continue
            positions[room.id] = seq
        reached = await self._start_streaming(positions)
        self._reply(m.Resumed(re=command.id, rooms=reached))

    def _member_room(self, name: str) -> Room | None:
        return self._by_name.get(name.lower())

    def _require_member(self, name: str) -> Room:
        room = self._member_room(name)
        if room is None:
            raise ProtocolError(ErrorCode.FORBIDDEN, _FORBIDDEN_ROOM.format(name))
        return room

    async def _visible_room(self, name: str) -> Room:
        """A room this user may read: a member room, or any public room."""
        room = self._member_room(name)
        if room is not None:
            return room
        room = await self.store.get_room(name)
        if room is None or room.private:
            raise ProtocolError(ErrorCode.FORBIDDEN, _FORBIDDEN_ROOM.format(name))
        return room

    def _publish(self, event: Event | None) -> None:
        if event is not None:
            self.node.publish_event(event)

    def _publish_all(self, events: list[Event]) -> None:
        for event in events:
            self.node.publish_event(event)

    async def _online(self, room_id: int) -> list[str]:
        members = await self.store.room_members(room_id)
        online = await self.node.presence.online(uid for uid, _ in members)
        return [name for uid, name in members if uid in online]

    async def _create(self, command: m.Create) -> None:
        assert self.user is not None
        kind = RoomKind.PRIVATE if command.private else RoomKind.PUBLIC
        try:
            room, events = await self.store.create_room(
                command.room, kind, creator_id=self.user.id, topic=command.topic
            )
        except Conflict:
            raise ProtocolError(
                ErrorCode.CONFLICT, f"a room named {command.room!r} exists"
            ) from None
        self._publish_all(events)
        await self._enter(room, cursor=0, re=command.id)

    async def _info(self, room: Room, *, member: bool, seq: int | None = None) -> m.RoomInfo:
        """``room_info`` with the members' display names of a direct room."""
        members = None
        if room.kind is RoomKind.DIRECT:
            members = [name for _, name in await self.store.room_members(room.id)]
        return room_info(room, member=member, seq=seq, members=members)

    async def _enter(
        self, room: Room, *, cursor: int, re: str | None, changed: bool = True
    ) -> None:
        """This connection now streams ``room`` from ``cursor``: reply, and (when the
        membership really ``changed``) tell the user's other connections."""
        info = await self._info(room, member=True, seq=cursor)
        self._remember(room, cursor)
        self._reply(m.Ok(re=re, room=info, online=await self._online(room.id)))
        if changed:
            self._announce(room, info)
        await self._stream(room.id, cursor)

    async def _join(self, command: m.Join) -> None:
        assert self.user is not None
        room = await self._visible_room(command.room)
        if room.id in self.rooms:
            latest = await self.store.get_room_by_id(room.id)
            info = await self._info(latest or room, member=True)
            self._reply(m.Ok(re=command.id, room=info, online=await self._online(room.id)))
            return
        event = await self.store.join(room.id, self.user.id, self.user.name)
        self._publish(event)
        latest = await self.store.get_room_by_id(room.id) or room
        cursor = event.seq - 1 if event is not None else latest.last_seq
        # Already a member (joined from another connection it has not heard of yet): only
        # this connection changes, the user's others already have the room.
        await self._enter(latest, cursor=cursor, re=command.id, changed=event is not None)

    async def _leave(self, command: m.Leave) -> None:
        assert self.user is not None
        room = self._require_member(command.room)
        if room.kind is RoomKind.DIRECT:
            raise ProtocolError(ErrorCode.BAD_REQUEST, "a direct room cannot be left")
        event = await self.store.leave(room.id, self.user.id, self.user.name)
        self._forget(room.id)
        self._publish(event)
        latest = await self.store.get_room_by_id(room.id) or room
        info = await self._info(latest, member=False)
        self._reply(m.Ok(re=command.id, room=info))
        self._announce(latest, info)

    async def _invite(self, command: m.Invite) -> None:
        assert self.user is not None
        room = self._require_member(command.room)
        if room.kind is RoomKind.DIRECT:
            raise ProtocolError(ErrorCode.BAD_REQUEST, "no one can be invited to a direct room")
        guest = await self.store.get_user(command.user)
        if guest is None or guest.disabled:
            raise ProtocolError(ErrorCode.NOT_FOUND, f"no user named {command.user!r}")
        event = await self.store.join(room.id, guest.id, guest.name, by=self.user.name)
        self._publish(event)
        if event is not None:
            latest = await self.store.get_room_by_id(room.id) or room
            info = await self._info(latest, member=True, seq=event.seq - 1)
            self._announce(latest, info, guest.id)
        self._reply(m.Ok(re=command.id, seq=event.seq if event else None))

    async def _dm(self, command: m.Dm) -> None:
        assert self.user is not None
        other = await self.store.get_user(command.user)
        if other is None or other.disabled:
            raise ProtocolError(ErrorCode.NOT_FOUND, f"no user named {command.user!r}")
        if other.id == self.user.id:
            raise ProtocolError(ErrorCode.BAD_REQUEST, "a direct room needs another user")
        room, events = await self.store.open_direct(self.user.id, other.id)
        self._publish_all(events)
        if room.id in self.rooms:
            info = await self._info(room, member=True)
            self._reply(m.Ok(re=command.id, room=info, online=await self._online(room.id)))
            return
        if events:
            self._announce(room, await self._info(room, member=True, seq=0), other.id)
        await self._enter(room, cursor=0 if events else room.last_seq, re=command.id)

    async def _rooms(self, command: m.Rooms) -> None:
        assert self.user is not None
        views = await self.store.rooms_for(self.user.id)
        self._reply(m.RoomList(re=command.id, rooms=[view_info(view) for view in views]))

    async def _who(self, command: m.Who) -> None:
        room = await self._visible_room(command.room)
        members = await self.store.room_members(room.id)
        online = await self.node.presence.online(uid for uid, _ in members)
        self._reply(
            m.WhoReply(
                re=command.id,
                room=room.name,
                members=[name for _, name in members],
                online=[name for uid, name in members if uid in online],
            )
        )

    async def _post(self, command: m.Send) -> None:
        try:
            await self._post_unguarded(command)
        except ProtocolError as error:
            if error.re is None:
                error.re = command.id
            self._send_error(error)
        except StoreError as error:
            self._send_error(_store_error(error, command.id))
        except Exception:
            log.exception("internal error posting a message of user %s", self.user_id)
            self._send_error(ProtocolError(ErrorCode.INTERNAL, "internal error", command.id))

    async def _post_unguarded(self, command: m.Send) -> None:
        assert self.user is not None
        room = self._require_member(command.room)
        appended = await self.store.post_message(
            room.id, self.user.id, self.user.name, command.text, command.cid
        )
        event = appended.event
        if appended.duplicate and event.room_id != room.id:
            raise ProtocolError(
                ErrorCode.CONFLICT, f"cid {command.cid!r} was already used in another room"
            )
        # Publish duplicates too: if the first attempt's publication was lost (the server died
        # between commit and publish), this resend is what brings it to everyone.
        self.node.publish_event(event)
        assert event.mid is not None
        self._reply(
            m.Ack(
                re=command.id,
                cid=command.cid,
                room=room.name,
                seq=event.seq,
                mid=event.mid,
                ts=event.ts,
            )
        )

    async def _edit(self, command: m.Edit) -> None:
        assert self.user is not None
        room = self._require_member(command.room)
        event = await self.store.edit_message(
            room.id,
            self.user.id,
            self.user.name,
            command.mid,
            command.text,
            any_author=self.user.is_admin,
        )
        self._publish(event)
        self._reply(m.Ok(re=command.id, seq=event.seq))

    async def _delete(self, command: m.Delete) -> None:
        assert self.user is not None
        room = self._require_member(command.room)
        event = await self.store.delete_message(
            room.id, self.user.id, self.user.name, command.mid, any_author=self.user.is_admin
        )
        self._publish(event)
        self._reply(m.Ok(re=command.id, seq=event.seq))

    async def _topic(self, command: m.SetTopic) -> None:
        assert self.user is not None
        room = self._require_member(command.room)
        if room.kind is RoomKind.DIRECT:
            raise ProtocolError(ErrorCode.BAD_REQUEST, "a direct room has no topic")
        event = await self.store.set_topic(room.id, self.user.id, self.user.name, command.topic)
        self._publish(event)
        self._reply(m.Ok(re=command.id, seq=event.seq))

    async def _history(self, command: m.History) -> None:
        room = await self._visible_room(command.room)
        events = await self.store.events_before(room.id, command.before, command.limit + 1)
        more = len(events) > command.limit
        if more:
            events = events[1:]
        self._reply(
            m.HistoryReply(
                re=command.id,
                room=room.name,
                events=[event_message(event) for event in events],
                more=more,
            )
        )

    async def _typing(self, command: m.Typing) -> None:
        assert self.user is not None
        room = self._require_member(command.room)
        now = time.monotonic()
        if now - self._typing_sent.get(room.id, -1e9) < self.config.typing_interval:
            return  # rate-limited: typing notices are hints, extra ones are dropped
        self._typing_sent[room.id] = now
        self.node.publish_typing(room.id, room.name, self.user.id, self.user.name)

    async def _read(self, command: m.Read) -> None:
        assert self.user is not None
        room = self._require_member(command.room)
        marker = await self.store.mark_read(room.id, self.user.id, command.seq)
        unread = await self.store.unread_count(room.id, self.user.id)
        notice = ReadNotice(room=room.name, read=marker, unread=unread)
        self.node.notify_user(self.user.id, pack_notice(notice))


def _noop() -> None:
    return None


def _store_error(error: StoreError, re: str | None) -> ProtocolError:
    if isinstance(error, NotFound):
        return ProtocolError(ErrorCode.NOT_FOUND, "no such message in this room", re)
    if isinstance(error, Forbidden):
        return ProtocolError(ErrorCode.FORBIDDEN, "only its author can change a message", re)
    if isinstance(error, Conflict):
        return ProtocolError(ErrorCode.CONFLICT, "that name is taken", re)
    if isinstance(error, Unavailable):
        return ProtocolError(
            ErrorCode.UNAVAILABLE, "the server cannot store this now; retry later", re
        )
    return ProtocolError(ErrorCode.INTERNAL, "internal error", re)
