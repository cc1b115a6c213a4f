"""The asyncio client: one signed-in ``parley.v1`` session that survives reconnections.

How it keeps the promise "every room event exactly once, in order":

* The server numbers each room's events (``seq``) and starts a connection's stream only when
  the client sends ``resume`` with the last seq it saw per room (``chat/commands/``). The client
  records the seq of every event it receives, and after a reconnection resumes from those.
* It also drops any event whose seq it has already seen, in case a replay overlaps.
* :meth:`Client.send` gives each message a client id (``cid``). If the connection drops before
  the ``ack``, the same command is sent again once reconnected: the server recognises the
  cid and answers with the original ack instead of storing a second copy.

Reconnection uses exponential backoff with jitter (:class:`~parley.client.backoff.Backoff`).
Close code 1008 (the session is not valid) and a ``401`` at the handshake end the client with
:class:`AuthError`; 1000 ends it quietly; the codes of :data:`RETRIABLE_CLOSE_CODES`
(restart, overload, too slow, internal error) and dropped connections are retried.

One task reads each connection and routes what arrives: replies to the command that named
them (by ``id``/``re``), everything else into the queue :meth:`Client.events` reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import ssl
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TypeVar

import msgspec

from parley import __version__
from parley.client.accounts import sign_in, sign_out
from parley.client.backoff import Backoff
from parley.client.codec import AnyServerMessage, decode_server_message, encode_command
from parley.client.errors import (
    RETRIABLE_CLOSE_CODES,
    AuthError,
    ClientClosed,
    ClientError,
    CommandError,
    ConnectError,
    ConnectionClosed,
    ConnectionLost,
    HandshakeRefused,
)
from parley.client.events import ClientEvent, Connected, Disconnected, Reconnecting
from parley.client.trace import Tracer
from parley.client.uploads import upload_file
from parley.client.urls import CHAT_PATH, ServerURL, parse_url
from parley.client.websocket import WebSocket
from parley.protocol import messages as m
from parley.websocket.codes import CloseCode
from parley.websocket.frames import TextMessage

log = logging.getLogger(__name__)

SUBPROTOCOL = "parley.v1"

#: Errors after which resending the same ``send`` (same cid) is the documented remedy.
_SEND_RETRY_CODES = frozenset(("unavailable", "rate_limited"))
_SEND_ATTEMPTS = 5

R = TypeVar("R")


class _Retry(Exception):
    """The connection dropped before a retriable command's reply: send it again."""


class _End:
    """The end of the event queue."""


_END = _End()


@dataclass(slots=True)
class _Pending:
    future: asyncio.Future[AnyServerMessage]
    retry: bool
    #: ``resume`` gets an error per room it cannot resume, then ``resumed``: keep the errors.
    errors: list[m.Error] | None = None


@dataclass(slots=True)
class _Options:
    reconnect: bool
    give_up_after: float | None
    receive_events: bool
    ping_interval: float | None
    ping_timeout: float
    timeout: float
    backoff: Backoff
    ssl_context: ssl.SSLContext | None
    tracer: Tracer | None
    since: dict[str, int] = field(default_factory=dict)


class Client:
    """A ``parley.v1`` session. Use it as ``async with Client(url, token=...) as client:``.

    Sign in with ``token`` (a session token, e.g. from ``POST /api/login``), or with
    ``username`` and ``password`` (``register=True`` creates the account first); a session
    the client opened itself is ended (logged out) by :meth:`close`.

    ``since`` maps member rooms to the last seq already seen, to replay what came after
    (a bot that saves :attr:`positions` and passes them back misses nothing across restarts).
    ``give_up_after`` bounds how long, in seconds, the client keeps trying to reconnect
    (``None``: forever). With ``receive_events=False`` events are dropped instead of queued,
    for programs that only send. A server quiet for ``ping_interval`` seconds is pinged; one
    from which nothing at all arrives in the ``ping_timeout`` seconds after that ping is taken
    for gone, and the client reconnects (``ping_interval=None``: never ping).
    """

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        register: bool = False,
        since: Mapping[str, int] | None = None,
        reconnect: bool = True,
        give_up_after: float | None = None,
        receive_events: bool = True,
        ping_interval: float | None = 20.0,
        ping_timeout: float = 20.0,
        timeout: float = 10.0,
        backoff: Backoff | None = None,
        ssl_context: ssl.SSLContext | None = None,
        tracer: Tracer | None = None,
    ) -> None:
        if token is None and (username is None or password is None):
            raise ValueError("give a token, or a username and a password")
        self.url: ServerURL = parse_url(url, default_path=CHAT_PATH)
        self.token = token
        self._username = username
        self._password = password
        self._register = register
        self._signed_in_here = False
        self._opts = _Options(
            reconnect=reconnect,
            give_up_after=give_up_after,
            receive_events=receive_events,
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            timeout=timeout,
            backoff=backoff or Backoff(),
            ssl_context=ssl_context,
            tracer=tracer,
            since=dict(since or {}),
        )
        #: The latest ``welcome`` (user, rooms and session expiry).
        self.welcome: m.Welcome | None = None
        #: The rooms this user is a member of, by name, kept up to date.
        self.rooms: dict[str, m.RoomInfo] = {}
        #: The last seq seen per member room: what the client resumes from.
        self.positions: dict[str, int] = {}
        self._ws: WebSocket | None = None
        self._reader: asyncio.Task[ConnectionClosed] | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._pending: dict[str, _Pending] = {}
        self._ids = itertools.count(1)
        self._queue: asyncio.Queue[ClientEvent | _End] = asyncio.Queue()
        self._failure: ClientError | None = None  # raised by commands once the client ended
        self._end_error: ClientError | None = None  # raised by events() after the last event
        self._ended = False
        self._started = False

    # -- life cycle ------------------------------------------------------------------------

    @property
    def user(self) -> m.UserInfo | None:
        return self.welcome.user if self.welcome else None

    @property
    def connected(self) -> bool:
        return self._connected.is_set() and not self._ended

    async def __aenter__(self) -> Client:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> m.Welcome:
        """Sign in, connect, resume. Errors are raised here, not retried."""
        if self._started:
            raise RuntimeError("a Client starts once")
        self._started = True
        try:
            if self.token is None:
                assert self._username is not None
                assert self._password is not None
                if self._opts.tracer is not None:
                    action = "register" if self._register else "login"
                    self._opts.tracer.note(
                        f"signing in as {self._username}: POST {self.url.http_url}/api/{action}"
                    )
                self.token = await sign_in(
                    self.url.http_url,
                    self._username,
                    self._password,
                    register=self._register,
                    timeout=self._opts.timeout,
                    ssl_context=self._opts.ssl_context,
                )
                self._signed_in_here = True
            ws, welcome = await self._open()
            self._on_welcome(welcome)
            self._emit(Connected(welcome, reconnected=False))
            self._attach(ws)
            since = self._canonical(self._opts.since)
            self.positions.update(since)
            await self._first_resume(since)
        except BaseException:
            await self.close()
            raise
        self._connected.set()
        self._supervisor = asyncio.create_task(self._supervise())
        return welcome

    async def _first_resume(self, since: dict[str, int]) -> None:
        """Start the event stream; a room that cannot be resumed from ``since`` raises."""
        assert self._reader is not None
        reply = asyncio.ensure_future(self._command(m.Resume(rooms=since), retry=False, first=True))
        await asyncio.wait({reply, self._reader}, return_when=asyncio.FIRST_COMPLETED)
        if not reply.done():
            reply.cancel()
            closed = self._reader.result()
            if closed.code == CloseCode.POLICY_VIOLATION:
                raise AuthError(f"the server refused the session: {closed.reason or closed.code}")
            raise closed
        reply.result()

    async def close(self) -> None:
        """Close the connection (code 1000) and end :meth:`events`; idempotent."""
        if self._ended:
            return
        self._end(None, ClientClosed())
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._signed_in_here and self.token:
            await sign_out(self.url.http_url, self.token, ssl_context=self._opts.ssl_context)

    def _end(self, end_error: ClientError | None, failure: ClientError) -> None:
        """No more connections: fail what waits and end the event stream."""
        if self._ended:
            return
        self._ended = True
        self._end_error = end_error
        self._failure = failure
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.set_exception(failure)
        self._pending.clear()
        self._connected.set()  # wake the commands waiting for a connection: they raise
        self._queue.put_nowait(_END)

    # -- events ----------------------------------------------------------------------------

    async def events(self) -> AsyncIterator[ClientEvent]:
        """Everything the server says that is not a reply, in order, until the client ends.

        Ends quietly after :meth:`close` or a normal closure by the server; raises the
        :class:`ClientError` that ended the client otherwise (after the events before it).
        """
        while True:
            item = await self._queue.get()
            if isinstance(item, _End):
                self._queue.put_nowait(item)  # for any other reader
                if self._end_error is not None:
                    raise self._end_error
                return
            yield item

    def __aiter__(self) -> AsyncIterator[ClientEvent]:
        return self.events()

    def _emit(self, event: ClientEvent) -> None:
        if self._opts.receive_events and not self._ended:
            self._queue.put_nowait(event)

    # -- commands --------------------------------------------------------------------------

    async def send(
        self,
        room: str,
        text: str = "",
        *,
        cid: str | None = None,
        thread: int | None = None,
        broadcast: bool = False,
        files: Sequence[str] = (),
    ) -> m.Ack:
        """Post ``text`` to ``room`` (with ``files``: upload ids from :meth:`upload`); returns
        the ``ack`` once the server stored it. With ``thread`` (a message's ``mid``) it is a
        reply in that message's thread (see :meth:`reply`).

        Safe to retry: if the connection drops before the ack, the message is sent again
        after reconnecting with the same ``cid``, and the server acknowledges the original.
        """
        cid = cid or uuid.uuid4().hex
        command = m.Send(
            room=room,
            text=text,
            cid=cid,
            thread=thread,
            broadcast=broadcast,
            files=tuple(files),
        )
        delays = self._opts.backoff.delays()
        for attempt in itertools.count(1):
            try:
                return await self._typed(m.Ack, command, retry=True)
            except CommandError as error:
                if error.code not in _SEND_RETRY_CODES or attempt >= _SEND_ATTEMPTS:
                    raise
            await asyncio.sleep(next(delays))
        raise AssertionError("unreachable")

    async def upload(
        self, path: str | Path, *, name: str | None = None, avatar: bool = False
    ) -> m.FileInfo:
        """Upload a file over HTTP (streamed from disk); its ``id`` goes into :meth:`send`'s
        ``files`` (or :meth:`set_profile`'s ``avatar``, with ``avatar=True``). Raises
        :class:`CommandError` with the server's code (``too_large``, ``quota_exceeded``)."""
        await self._wait_connected()  # signed in: the token is known
        assert self.token is not None
        return await upload_file(
            self.url.http_url,
            self.token,
            Path(path),
            name=name,
            avatar=avatar,
            ssl_context=self._opts.ssl_context,
        )

    async def set_profile(
        self, *, display_name: str | None = None, avatar: str | None = None
    ) -> None:
        """Set your display name and avatar (None: unchanged; "": removed)."""
        await self._typed(m.Ok, m.SetProfile(display_name=display_name, avatar=avatar), retry=True)

    async def join(self, room: str) -> m.RoomInfo:
        """Join a public room (or return it, if already a member); its events follow."""
        return _room_of(await self._typed(m.Ok, m.Join(room=room), retry=True))

    async def leave(self, room: str) -> m.RoomInfo:
        return _room_of(await self._typed(m.Ok, m.Leave(room=room), retry=False))

    async def create(self, room: str, *, private: bool = False, topic: str = "") -> m.RoomInfo:
        command = m.Create(room=room, private=private, topic=topic)
        return _room_of(await self._typed(m.Ok, command, retry=False))

    async def invite(self, room: str, user: str) -> None:
        await self._typed(m.Ok, m.Invite(room=room, user=user), retry=False)

    async def dm(self, user: str) -> m.RoomInfo:
        """Open (or find) the direct room with ``user``."""
        return _room_of(await self._typed(m.Ok, m.Dm(user=user), retry=True))

    async def rooms_page(
        self, query: str = "", *, after: str | None = None, limit: int = 50
    ) -> m.RoomList:
        """One page of the rooms this user can see (public ones, and the user's own), sorted
        by name, whose name contains ``query``; the next page starts ``after`` the reply's
        ``next`` while its ``more`` is true."""
        command = m.Rooms(query=query, after=after, limit=limit)
        return await self._typed(m.RoomList, command, retry=True)

    async def list_rooms(self, query: str = "", *, most: int = 1000) -> list[m.RoomInfo]:
        """The rooms this user can see whose name contains ``query``: page after page, at
        most ``most`` of them (a server may hold many more public rooms than anyone reads)."""
        rooms: list[m.RoomInfo] = []
        after = None
        while len(rooms) < most:
            page = await self.rooms_page(query, after=after, limit=min(100, most - len(rooms)))
            rooms.extend(page.rooms)
            if not page.more or page.next is None:
                break
            after = page.next
        return rooms

    async def who(self, room: str, *, after: str | None = None) -> m.WhoReply:
        """A page of the room's members (sorted by name, the first 1,000 by default; while
        ``more``, the next page starts ``after`` the reply's ``next``)."""
        return await self._typed(m.WhoReply, m.Who(room=room, after=after), retry=True)

    async def history(
        self, room: str, *, before: int | None = None, limit: int = 50
    ) -> m.HistoryReply:
        """Up to ``limit`` events of ``room`` before seq ``before`` (the latest by default)."""
        command = m.History(room=room, before=before, limit=limit)
        return await self._typed(m.HistoryReply, command, retry=True)

    async def history_around(self, room: str, seq: int, *, limit: int = 50) -> m.HistoryReply:
        """About ``limit`` events of ``room`` around ``seq`` (it included): a search result
        in its context. ``more`` / ``newer`` say whether there is more on each side."""
        command = m.History(room=room, around=seq, limit=limit)
        return await self._typed(m.HistoryReply, command, retry=True)

    async def search(
        self,
        query: str,
        *,
        room: str | None = None,
        public: bool = False,
        limit: int = 20,
        before: int | None = None,
    ) -> m.SearchReply:
        """Messages matching ``query`` (the query language of docs/protocol.md), newest
        first: in the rooms this user is a member of, public rooms too with ``public``, or
        only ``room``. For the next page pass the reply's ``before`` (while ``more``).
        A bad query raises :class:`CommandError` with ``code`` ``bad_request``."""
        command = m.Search(query=query, room=room, public=public, limit=limit, before=before)
        return await self._typed(m.SearchReply, command, retry=True)

    async def edit(self, room: str, mid: int, text: str) -> int:
        """Replace the text of message ``mid``; returns the seq of the edit event."""
        reply = await self._typed(m.Ok, m.Edit(room=room, mid=mid, text=text), retry=False)
        return reply.seq or 0

    async def delete(self, room: str, mid: int) -> int:
        reply = await self._typed(m.Ok, m.Delete(room=room, mid=mid), retry=False)
        return reply.seq or 0

    async def set_topic(self, room: str, topic: str) -> int:
        reply = await self._typed(m.Ok, m.SetTopic(room=room, topic=topic), retry=False)
        return reply.seq or 0

    async def typing(self, room: str) -> None:
        """Tell the room this user is typing (no reply; the server rate-limits the notices)."""
        ws = await self._wait_connected()
        with contextlib.suppress(ConnectionClosed):
            await ws.send_text(encode_command(m.Typing(room=room)))

    async def mark_read(self, room: str, seq: int) -> None:
        ws = await self._wait_connected()
        with contextlib.suppress(ConnectionClosed):
            await ws.send_text(encode_command(m.Read(room=room, seq=seq)))

    async def mentions(self, *, before: int | None = None, limit: int = 50) -> m.MentionsReply:
        """Up to ``limit`` messages that mention this user, newest first, below message id
        ``before``; ``more``: ask again with ``before`` = the last one's ``mid``."""
        command = m.Mentions(before=before, limit=limit)
        return await self._typed(m.MentionsReply, command, retry=True)

    async def set_notify(self, room: str, level: str, *, until: int = 0) -> None:
        """Set this user's notification level of ``room`` ("all", "mentions", "none"),
        muted until ``until`` (ms since the epoch; 0: not muted). Every connection of the
        user gets a :class:`~parley.protocol.messages.NotifyChanged`."""
        await self._typed(m.Ok, m.Notify(room=room, level=level, until=until), retry=True)

    # -- threads, reactions, pins, versions --------------------------------------------------

    async def reply(
        self, room: str, mid: int, text: str, *, broadcast: bool = False, cid: str | None = None
    ) -> m.Ack:
        """Reply in the thread of message ``mid`` (a reply's: its root's thread);
        ``broadcast`` shows it in the room's main timeline too. Retried like :meth:`send`."""
        return await self.send(room, text, cid=cid, thread=mid, broadcast=broadcast)

    async def thread(
        self, room: str, mid: int, *, before: int | None = None, limit: int = 50
    ) -> m.HistoryReply:
        """The replies of the thread of message ``mid``, oldest first (the newest ``limit``
        before seq ``before``); the first page carries the ``root``, every page
        ``following`` (whether this user follows the thread)."""
        command = m.History(room=room, thread=mid, before=before, limit=limit)
        return await self._typed(m.HistoryReply, command, retry=True)

    async def threads(self, *, after: str | None = None, limit: int = 20) -> m.ThreadsReply:
        """The threads this user follows, most recently replied-to first, with unread
        counts; while ``more``, the next page starts ``after`` the reply's ``next``."""
        command = m.Threads(after=after, limit=limit)
        return await self._typed(m.ThreadsReply, command, retry=True)

    async def follow(self, room: str, mid: int, *, following: bool = True) -> None:
        """Follow (or, with ``following`` False, stop following) the thread of ``mid``."""
        command: m.Command = (
            m.Follow(room=room, mid=mid) if following else m.Unfollow(room=room, mid=mid)
        )
        await self._typed(m.Ok, command, retry=True)

    async def mark_thread_read(self, room: str, mid: int, seq: int) -> None:
        """Move this user's read marker of the thread of ``mid`` to ``seq``."""
        ws = await self._wait_connected()
        with contextlib.suppress(ConnectionClosed):
            await ws.send_text(encode_command(m.Read(room=room, seq=seq, thread=mid)))

    async def react(self, room: str, mid: int, emoji: str, *, add: bool = True) -> int | None:
        """Add (or with ``add`` False take back) this user's ``emoji`` on message ``mid``;
        the seq of the event that made it so (None: there was nothing to take back). Safe to
        retry: a repeated reaction answers the original seq."""
        command: m.Command = (
            m.React(room=room, mid=mid, emoji=emoji)
            if add
            else m.Unreact(room=room, mid=mid, emoji=emoji)
        )
        return (await self._typed(m.Ok, command, retry=True)).seq

    async def pin(self, room: str, mid: int, *, pinned: bool = True) -> int | None:
        """Pin (or unpin) message ``mid``; the seq of the event that made it so (None: it
        was not pinned). Safe to retry."""
        command: m.Command = m.Pin(room=room, mid=mid) if pinned else m.Unpin(room=room, mid=mid)
        return (await self._typed(m.Ok, command, retry=True)).seq

    async def pins(self, room: str, *, before: int | None = None, limit: int = 50) -> m.PinsReply:
        """The room's pinned messages, most recently pinned first; while ``more``, ask again
        with ``before`` = the last event's ``pinned``."""
        command = m.Pins(room=room, before=before, limit=limit)
        return await self._typed(m.PinsReply, command, retry=True)

    async def versions(
        self, room: str, mid: int, *, before: int | None = None, limit: int = 50
    ) -> m.VersionsReply:
        """The versions of message ``mid`` (as sent, then each edit), oldest first."""
        command = m.Versions(room=room, mid=mid, before=before, limit=limit)
        return await self._typed(m.VersionsReply, command, retry=True)

    # -- room roles and moderation (each returns the seq of its event; 0: nothing changed) ----

    async def set_role(self, room: str, user: str, role: str) -> int:
        """Make ``user`` an "owner", a "moderator" or a plain "member" of ``room``."""
        return await self._act(m.SetRole(room=room, user=user, role=role))

    async def kick(self, room: str, user: str) -> int:
        return await self._act(m.Kick(room=room, user=user))

    async def ban(self, room: str, user: str, *, until: int | None = None) -> int:
        """Ban ``user`` from ``room`` until ``until`` (ms since the epoch; None: no end)."""
        return await self._act(m.Ban(room=room, user=user, until=until))

    async def unban(self, room: str, user: str) -> int:
        return await self._act(m.Unban(room=room, user=user))

    async def mute(self, room: str, user: str, *, until: int) -> int:
        """Keep ``user`` from posting in ``room`` until ``until`` (ms since the epoch)."""
        return await self._act(m.Mute(room=room, user=user, until=until))

    async def unmute(self, room: str, user: str) -> int:
        return await self._act(m.Unmute(room=room, user=user))

    async def room_settings(self, room: str) -> m.RoomSettingsReply:
        """The room's settings, this user's role there, and its owners and moderators."""
        command = m.RoomSettingsCommand(room=room)
        return await self._typed(m.RoomSettingsReply, command, retry=True)

    async def change_room_settings(self, room: str, **settings: str) -> int:
        """Set some of ``post``, ``invite``, ``topic``, ``pin`` to "members" or "moderators"."""
        return await self._act(m.RoomSettingsCommand(room=room, **settings))

    async def _act(self, command: m.Command) -> int:
        reply = await self._typed(m.Ok, command, retry=False)
        return reply.seq or 0

    async def ping(self) -> None:
        """A round trip through the server's command queue."""
        await self._typed(m.Pong, m.Ping(), retry=True)

    async def _typed(self, kind: type[R], command: m.Command, *, retry: bool) -> R:
        reply = await self._command(command, retry=retry)
        if not isinstance(reply, kind):
            got, sent = type(reply).__name__, type(command).__name__
            raise ClientError(f"unexpected reply {got} to {sent}")
        return reply

    async def _command(
        self, command: m.Command, *, retry: bool, first: bool = False
    ) -> AnyServerMessage:
        """Send ``command`` with a fresh id and return its reply (an error reply raises)."""
        while True:
            ws = self._ws if first else await self._wait_connected()
            if ws is None or self._ended:
                raise self._failure or ClientClosed()
            ident = f"c{next(self._ids)}"
            future: asyncio.Future[AnyServerMessage] = asyncio.get_running_loop().create_future()
            pending = _Pending(future, retry, [] if isinstance(command, m.Resume) else None)
            self._pending[ident] = pending
            try:
                with contextlib.suppress(ConnectionClosed):  # the reader sees it and decides
                    await ws.send_text(encode_command(msgspec.structs.replace(command, id=ident)))
                reply = await future
            except _Retry:
                continue
            finally:
                self._pending.pop(ident, None)
            if isinstance(reply, m.Error):
                raise CommandError(reply.code, reply.message)
            if pending.errors:
                refused = pending.errors[0]
                raise CommandError(refused.code, refused.message)
            return reply

    async def _wait_connected(self) -> WebSocket:
        while True:
            if self._ended:
                raise self._failure or ClientClosed()
            if self._connected.is_set() and self._ws is not None:
                return self._ws
            await self._connected.wait()

    # -- connections -------------------------------------------------------------------------

    async def _open(self) -> tuple[WebSocket, m.Welcome]:
        """Connect and read the ``welcome``. Auth failures raise :class:`AuthError`."""
        headers = {"Authorization": f"Bearer {self.token}", "User-Agent": f"parley/{__version__}"}
        try:
            ws = await WebSocket.open(
                self.url,
                subprotocols=[SUBPROTOCOL],
                headers=headers,
                tracer=self._opts.tracer,
                timeout=self._opts.timeout,
                ssl_context=self._opts.ssl_context,
                ping_interval=self._opts.ping_interval,
                ping_timeout=self._opts.ping_timeout,
            )
        except HandshakeRefused as exc:
            if exc.status == 401:
                raise AuthError(f"the server refused the session: {exc.reason}") from None
            raise
        try:
            if ws.subprotocol != SUBPROTOCOL:
                raise HandshakeRefused(
                    101, "Switching Protocols", "the server did not agree to speak parley.v1"
                )
            message = await asyncio.wait_for(ws.recv(), self._opts.timeout)
            welcome = (
                decode_server_message(message.text) if isinstance(message, TextMessage) else None
            )
        except ConnectionClosed as closed:
            if closed.code == CloseCode.POLICY_VIOLATION:
                raise AuthError(f"the server refused the session: {closed.reason}") from None
            raise
        except BaseException as exc:
            ws.abort()
            await ws.wait_closed()
            if isinstance(exc, TimeoutError):
                raise ConnectError(self.url.ws_url, "no welcome from the server") from None
            raise
        if isinstance(welcome, m.Welcome):
            if welcome.more:
                welcome = await self._rest_of_welcome(ws, welcome)
            return ws, welcome
        await ws.close(CloseCode.PROTOCOL_ERROR, "expected welcome")
        if isinstance(welcome, m.Error) and welcome.code == "unauthorized":
            raise AuthError(f"the server refused the session: {welcome.message}")
        raise ClientError("the server did not start with a parley.v1 welcome")

    async def _rest_of_welcome(self, ws: WebSocket, welcome: m.Welcome) -> m.Welcome:
        """A user in very many rooms: the welcome's list goes on in ``more_rooms`` pages,
        which come right after it. Returns the welcome with every room."""
        rooms = list(welcome.rooms)
        try:
            while True:
                message = await asyncio.wait_for(ws.recv(), self._opts.timeout)
                page = (
                    decode_server_message(message.text)
                    if isinstance(message, TextMessage)
                    else None
                )
                if isinstance(page, m.MoreRooms):
                    rooms.extend(page.rooms)
                    if not page.more:
                        return msgspec.structs.replace(welcome, rooms=rooms, more=False)
                elif isinstance(page, m.Error):
                    raise ClientError(f"the server failed to welcome us: {page.message}")
        except BaseException:
            ws.abort()
            await ws.wait_closed()
            raise

    def _attach(self, ws: WebSocket) -> None:
        self._ws = ws
        self._reader = asyncio.create_task(self._read(ws))

    def _on_welcome(self, welcome: m.Welcome) -> None:
        """Adopt the member rooms of a (new) welcome, keeping the positions reached."""
        self.welcome = welcome
        self.rooms = {info.name: info for info in welcome.rooms if info.member}
        for name in list(self.positions):
            if name not in self.rooms:
                del self.positions[name]  # left while away
        for name, info in self.rooms.items():
            seen = self.positions.get(name)
            if seen is None or seen > info.seq:
                # New here, or a server whose history went back (a restored database):
                # start from what it has rather than ask for the future.
                self.positions[name] = info.seq

    def _canonical(self, wanted: Mapping[str, int]) -> dict[str, int]:
        by_key = {name.lower(): name for name in self.rooms}
        return {by_key.get(room.lower(), room): seq for room, seq in wanted.items()}

    async def _read(self, ws: WebSocket) -> ConnectionClosed:
        """Route every message of one connection until it closes."""
        while True:
            try:
                message = await ws.recv()
            except ConnectionClosed as closed:
                return closed
            if not isinstance(message, TextMessage):
                continue
            decoded = decode_server_message(message.text)
            if decoded is not None:
                self._route(decoded)

    def _route(self, message: AnyServerMessage) -> None:
        re = getattr(message, "re", None)
        pending = self._pending.get(re) if re else None
        if pending is not None and not pending.future.done():
            if pending.errors is not None and isinstance(message, m.Error):
                pending.errors.append(message)
                return
            if isinstance(message, m.Ok) and message.room is not None:
                self._track(message.room)
            pending.future.set_result(message)
            return
        match message:
            case m.EventMessage():
                seen = self.positions.get(message.room, -1)
                if message.seq <= seen:
                    return  # already delivered (an overlapping replay)
                self.positions[message.room] = message.seq
                self._follow_room_event(message)
                self._emit(message)
            case m.RoomChanged():
                self._track(message.room)
                self._emit(message)
            case (
                m.Presence()
                | m.TypingNotice()
                | m.Unread()
                | m.NotifyChanged()
                | m.FollowChanged()
                | m.ProfileChanged()
            ):
                self._emit(message)
            case m.Error() if message.re is None:
                self._emit(message)
            case _:
                pass  # a late reply (its command gave up) or an unsolicited welcome

    def _follow_room_event(self, event: m.EventMessage) -> None:
        """A rename moves the room's position to its new name; an archive or unarchive
        changes what :attr:`rooms` says of it."""
        info = self.rooms.get(event.room)
        if event.kind == "rename" and event.text:
            self.positions[event.text] = self.positions.pop(event.room, event.seq)
            if info is not None:
                del self.rooms[event.room]
                self.rooms[event.text] = msgspec.structs.replace(info, name=event.text)
        elif event.kind in ("archive", "unarchive") and info is not None:
            archived = event.kind == "archive"
            self.rooms[event.room] = msgspec.structs.replace(info, archived=archived)

    def _track(self, info: m.RoomInfo) -> None:
        if info.member:
            self.rooms[info.name] = info
            self.positions.setdefault(info.name, info.seq)
        else:
            self.rooms.pop(info.name, None)
            self.positions.pop(info.name, None)

    async def _supervise(self) -> None:
        """Wait for each connection to end; reconnect and resume while that makes sense."""
        while True:
            assert self._reader is not None
            closed = await self._reader
            self._connected.clear()
            self._ws = None
            if self._ended:
                return
            # Replies that will never come: resend what is safe to resend, fail the rest.
            for pending in self._pending.values():
                if not pending.future.done():
                    if pending.retry:
                        pending.future.set_exception(_Retry())
                    else:
                        pending.future.set_exception(
                            ConnectionLost(
                                f"{closed}; the command may or may not have been applied"
                            )
                        )
            if closed.code == CloseCode.POLICY_VIOLATION:
                error = AuthError(f"the server ended the session: {closed.reason or closed.code}")
                self._end(error, error)
                return
            if closed.code in (CloseCode.NORMAL, CloseCode.NO_STATUS):
                self._end(None, closed)  # the server is done with us: not an error
                return
            if not self._opts.reconnect or closed.code not in RETRIABLE_CLOSE_CODES:
                self._end(closed, closed)
                return
            self._emit(Disconnected(closed.code, closed.reason))
            try:
                ws, welcome = await self._reconnect(str(closed))
            except ClientError as error:
                self._end(error, error)
                return
            self._on_welcome(welcome)
            self._emit(Connected(welcome, reconnected=True))
            self._attach(ws)
            resume = m.Resume(id=f"r{next(self._ids)}", rooms=dict(self.positions))
            with contextlib.suppress(ConnectionClosed):
                # Not awaited for its reply: commands sent after it are queued behind it.
                await ws.send_text(encode_command(resume))
            self._connected.set()

    async def _reconnect(self, why: str) -> tuple[WebSocket, m.Welcome]:
        started = time.monotonic()
        delays = self._opts.backoff.delays()
        for attempt in itertools.count(1):
            delay = next(delays)
            limit = self._opts.give_up_after
            if limit is not None and time.monotonic() - started + delay > limit:
                raise ConnectError(self.url.ws_url, f"{why} (gave up after {limit:g} s)")
            self._emit(Reconnecting(attempt, delay, why))
            await asyncio.sleep(delay)
            try:
                return await self._open()
            except (AuthError, HandshakeRefused) as error:
                if isinstance(error, HandshakeRefused) and error.status >= 500:
                    why = str(error)
                    continue
                raise
            except (ConnectError, ConnectionClosed) as error:
                why = error.reason if isinstance(error, ConnectError) else str(error)
        raise AssertionError("unreachable")


def _room_of(reply: m.Ok) -> m.RoomInfo:
    if reply.room is None:
        raise ClientError("the server's reply has no room")
    return reply.room
