"""The node: one server process's orchestrator of store, broker, presence and local feeds.

Theory of operation (resume without a gap or a duplicate, across processes):

1. Every change to a room is committed by the store first, with the room's next ``seq``;
   only then is it published, and only then acknowledged to its sender.
2. A node tracks a room (a :class:`~parley.chat.hub.RoomFeed`) only while it has local
   subscribers. It first subscribes to the room's broker channel, *then* reads the room's
   ``last_seq`` from the store: whatever is committed later reaches it through the broker.
3. The feed delivers events strictly in ``seq`` order. An event that arrives early waits; one
   that arrives twice, or that the feed has passed, is dropped. A gap that the broker does not
   fill within ``gap_timeout`` is filled from the store.
4. A connection that resumes from seq ``c`` is *catching up*: it is sent the stored events
   after ``c`` page by page, and joins the live set synchronously at the instant its cursor
   equals the feed's ``last_seq``. Because delivery and that check both run on the event loop
   without an ``await`` between them, there is no window in which a live event can slip past.
5. Transient notices (typing, presence) are not ordered or stored; notices to one user
   (membership, read markers, revoked sessions) travel on the user's channel.
6. A profile change is published once, on the ``profiles`` channel every node subscribes to,
   with the ids of its user's rooms: each node tells those of its own connections whose
   member rooms include one of them (and the user's own), so that its cost follows the
   nodes and the connections there are, not the accounts that share a room with the user.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import secrets
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec

from parley.broker.base import Broker
from parley.chat.envelope import (
    PROFILES_CHANNEL,
    Kind,
    Publication,
    pack,
    room_channel,
    unpack,
    user_channel,
)
from parley.chat.hub import Arrival, FeedItem, Holding, RoomFeed
from parley.chat.inflight import FlowLimits, WorkQueue
from parley.chat.member_rooms import MemberRooms
from parley.chat.ratelimit import BucketTable, RateLimit, TokenBucket
from parley.model import Event, EventKind, Room
from parley.peer import Peer, PreparedText
from parley.presence.base import Presence
from parley.protocol.budget import REPLY_BUDGET
from parley.protocol.codec import encode, event_message
from parley.protocol.messages import Presence as PresenceMessage
from parley.protocol.messages import TypingNotice
from parley.store.base import LOBBY, Store
from parley.tasks import stop

log = logging.getLogger(__name__)

#: Events read from the store at once, for a replay or a gap: the page sent is then cut at the
#: reply budget (protocol/budget.py); this bounds what one read holds in memory.
REPLAY_PAGE = 100


def _ignore(_: float) -> None:
    return None


@dataclass(slots=True)
class NodeStats:
    """Counters for the metrics endpoint, updated where the work happens, and hooks for the
    timings (the server wires them to histograms; the chat layer knows no metrics library)."""

    events_published: int = 0
    #: Deliveries to local connections: one per connection per event.
    deliveries: int = 0
    gap_fills: int = 0
    rate_limited: int = 0
    #: Seconds to queue one event for every local subscriber of its room.
    observe_fanout: Callable[[float], None] = _ignore
    #: Seconds between another node's publication and its arrival here.
    observe_broker_lag: Callable[[float], None] = _ignore


def new_node_id() -> str:
    return secrets.token_hex(8)


class UserListener(Protocol):
    """A local connection of a signed-in user (``chat/signed_in.py``)."""

    user_id: int
    #: The rooms this connection knows its user is a member of (profile notices follow them).
    rooms: MemberRooms

    def on_notice(self, notice: bytes) -> None:
        """A notice on the user's channel (JSON)."""

    def room_changed(self, room: Room) -> None:
        """A room was renamed, archived or unarchived (its events say so to the client)."""

    def room_removed(self, room_id: int) -> None:
        """A room was deleted: it is gone with its history."""

    def left_room(self, room_id: int) -> None:
        """The user was removed from the room (kicked, banned): it is no longer theirs."""


def removed_user(event: Event) -> int:
    """The user a room event removes from the room, whose feeds end with it (0: none)."""
    if event.kind in (EventKind.KICK, EventKind.BAN) and event.user_id is not None:
        return event.user_id
    return 0


def guest_line(event: Event) -> str | None:
    """What plain-text clients see of a lobby event: message text only.

    A guest's own text is relayed verbatim (the tutorial's behaviour); a signed-in user's
    message reads ``name: text``, and names its files (guests cannot fetch them).
    """
    if event.kind is not EventKind.MESSAGE or event.text is None:
        return None
    if event.thread is not None and not event.broadcast:
        return None  # a reply only in its thread: not in the room's main timeline
    if event.user_id is None:
        return event.text
    files = [f"[file: {f.name}]" for f in event.files]
    return f"{event.user}: " + " ".join([event.text, *files] if event.text else files)


class Node:
    """See the module docstring."""

    def __init__(
        self,
        store: Store,
        broker: Broker,
        presence: Presence,
        *,
        gap_timeout: float = 0.25,
        sync_interval: float = 5.0,
        node_id: str | None = None,
        flow: FlowLimits | None = None,
    ) -> None:
        self.store = store
        self.broker = broker
        self.presence = presence
        #: Unique per process: lets a node ignore its own publications and keeps its
        #: presence entries apart from the other nodes'.
        self.node_id = node_id or new_node_id()
        self.gap_timeout = gap_timeout
        self.sync_interval = sync_interval
        self.feeds: dict[int, RoomFeed] = {}
        #: The room of each feed as last read from the store: how a rename, an archive or a
        #: deletion made by another process (the operator's ``parley room``) is noticed.
        self._rooms: dict[int, Room] = {}
        #: Feeds being started (subscribing, reading ``last_seq``): resolved when they are.
        self._starting: dict[int, asyncio.Future[None]] = {}
        #: Feeds with a gap the broker may still fill: the task that fills it from the store.
        self._gap_fills: dict[int, asyncio.Task[None]] = {}
        self.listeners: dict[int, set[UserListener]] = {}
        self.lobby_id = 0
        self._user_channels: dict[int, asyncio.Future[None]] = {}
        self._sync_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        #: Rate-limit buckets of users, one table per limit (commands, typing): they outlive
        #: connections, so reconnecting does not refill them (see ``chat/ratelimit.py``).
        self.buckets: dict[tuple[str, RateLimit], BucketTable[int]] = {}
        #: The store work every connection of this node has in flight (input backpressure).
        self.work = WorkQueue(flow or FlowLimits())
        self.stats = NodeStats()

    # -- life cycle ------------------------------------------------------------------------

    async def start(self) -> None:
        lobby = await self.store.get_room(LOBBY)
        assert lobby is not None, "the store creates the lobby at start"
        self.lobby_id = lobby.id
        await self.broker.start(self)
        await self.broker.subscribe(PROFILES_CHANNEL)
        self._sync_task = asyncio.create_task(self._sync_forever())

    async def close(self) -> None:
        await stop(self._sync_task)
        for task in list(self._tasks):
            task.cancel()
        await self.broker.close()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run a background coroutine; keep a reference; log its failure."""
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed", exc_info=task.exception())

    # -- publishing (after the store committed) ---------------------------------------------

    def publish_event(self, event: Event) -> None:
        """Deliver a committed event here and to every other node."""
        data = encode(event_message(event))
        plain = guest_line(event) if event.room_id == self.lobby_id else None
        publication = Publication(
            self.node_id,
            Kind.EVENT,
            event.seq,
            data,
            plain,
            sent=time.time(),
            removes=removed_user(event),
        )
        self.stats.events_published += 1
        self._on_event(event.room_id, publication)
        self.broker.publish(room_channel(event.room_id), pack(publication))

    def publish_typing(self, room_id: int, room: str, user_id: int, user: str) -> None:
        data = encode(TypingNotice(room=room, user=user))
        self._transient(room_id, Publication(self.node_id, Kind.TRANSIENT, 0, data, None, user_id))

    def publish_presence(self, rooms: Iterable[tuple[int, str]], user: str, online: bool) -> None:
        for room_id, name in rooms:
            data = encode(PresenceMessage(room=name, user=user, online=online))
            self._transient(room_id, Publication(self.node_id, Kind.TRANSIENT, 0, data))

    def notify_user(self, user_id: int, notice: bytes) -> None:
        """Send a notice to every connection of a user, on every node."""
        self._on_notice(user_id, notice)
        publication = Publication(self.node_id, Kind.NOTICE, 0, notice)
        self.broker.publish(user_channel(user_id), pack(publication))

    def publish_profile(self, user_id: int, room_ids: Iterable[int], notice: bytes) -> None:
        """Send a profile notice to every connection, on every node, of the users who share
        one of ``room_ids`` (the user's rooms) with ``user_id``, and of ``user_id``: one
        publication, whatever the number of those users (see the module docstring, 6)."""
        rooms = tuple(sorted(set(room_ids)))
        self._on_profile(user_id, frozenset(rooms), notice)
        publication = Publication(
            self.node_id, Kind.PROFILE, 0, notice, sent=time.time(), user=user_id, rooms=rooms
        )
        self.broker.publish(PROFILES_CHANNEL, pack(publication))

    def _on_profile(self, user_id: int, rooms: frozenset[int], notice: bytes) -> None:
        """Tell this node's connections that share a room with ``user_id`` (or are its):
        once each, in the order of their other notices (this runs where a notice would)."""
        for listener in self._all_listeners():
            if listener.user_id == user_id or listener.rooms.shares(rooms):
                listener.on_notice(notice)

    def _transient(self, room_id: int, publication: Publication) -> None:
        feed = self.feeds.get(room_id)
        if feed is not None and feed.started:
            feed.deliver_transient(PreparedText(publication.data), publication.skip_user)
        self.broker.publish(room_channel(room_id), pack(publication))

    # -- receiving from the broker -----------------------------------------------------------

    def on_publication(self, channel: str, data: bytes) -> None:
        try:
            publication = unpack(data)
        except msgspec.DecodeError:
            log.warning("ignored an undecodable publication on %s", channel)
            return
        if publication.origin == self.node_id:
            return
        if publication.sent:
            self.stats.observe_broker_lag(max(0.0, time.time() - publication.sent))
        if channel == PROFILES_CHANNEL:
            if publication.kind is Kind.PROFILE:
                self._on_profile(publication.user, frozenset(publication.rooms), publication.data)
            return
        kind, _, ident = channel.partition(":")
        if not ident.isdigit():
            return
        if kind == "room":
            if publication.kind is Kind.EVENT:
                self._on_event(int(ident), publication)
            elif publication.kind is Kind.TRANSIENT:
                feed = self.feeds.get(int(ident))
                if feed is not None and feed.started:
                    feed.deliver_transient(PreparedText(publication.data), publication.skip_user)
        elif kind == "user" and publication.kind is Kind.NOTICE:
            self._on_notice(int(ident), publication.data)

    def _on_notice(self, user_id: int, notice: bytes) -> None:
        for listener in list(self.listeners.get(user_id, ())):
            listener.on_notice(notice)

    def _on_event(self, room_id: int, publication: Publication) -> None:
        feed = self.feeds.get(room_id)
        if feed is None:
            return
        started = time.perf_counter()
        arrival, delivered = feed.offer(
            publication.seq, self._item(publication), publication.removes
        )
        if arrival is Arrival.DELIVERED:
            self.stats.deliveries += delivered
            self.stats.observe_fanout(time.perf_counter() - started)
        self._follow_gap(feed)

    @staticmethod
    def _item(publication: Publication) -> FeedItem:
        message = PreparedText(publication.data)
        plain = PreparedText(publication.plain) if publication.plain is not None else None
        return message, plain

    def _event_item(self, event: Event) -> FeedItem:
        plain = guest_line(event) if event.room_id == self.lobby_id else None
        return (
            PreparedText(encode(event_message(event))),
            PreparedText(plain) if plain is not None else None,
        )

    def _follow_gap(self, feed: RoomFeed) -> None:
        """Fill a new gap from the store if the broker does not fill it soon; forget the
        filling once there is no gap."""
        task = self._gap_fills.get(feed.room_id)
        if feed.gap:
            if task is None or task.done():
                self._gap_fills[feed.room_id] = asyncio.create_task(self._fill_gap(feed))
        elif task is not None:
            task.cancel()
            del self._gap_fills[feed.room_id]

    async def _fill_gap(self, feed: RoomFeed) -> None:
        """Wait briefly for the broker to bring the missing events, then read them."""
        await asyncio.sleep(self.gap_timeout)
        self._gap_fills.pop(feed.room_id, None)
        await self._catch_feed_up(feed)

    async def _catch_feed_up(self, feed: RoomFeed, until: int | None = None) -> None:
        """Read from the store every event after the feed's ``last_seq`` and offer it."""
        self.stats.gap_fills += 1
        while self.feeds.get(feed.room_id) is feed:
            target = until if until is not None else feed.gap_end
            if feed.last_seq >= target:
                break
            events = await self.store.events_after(feed.room_id, feed.last_seq, REPLAY_PAGE)
            if not events:
                break
            queued = 0
            for event in events:
                if queued >= REPLY_BUDGET:
                    # Let the connections write what was queued (once per loop pass) before
                    # more: a backlog of long messages must not land in every live peer's
                    # send buffer at once. (Events that arrive meanwhile are ordered by the
                    # feed, which passes what it already has.)
                    await asyncio.sleep(0)
                    queued = 0
                    if self.feeds.get(feed.room_id) is not feed:
                        return
                item = self._event_item(event)
                _, delivered = feed.offer(event.seq, item, removed_user(event))
                queued += len(item[0].payload)
                self.stats.deliveries += delivered
        if self.feeds.get(feed.room_id) is feed:
            self._follow_gap(feed)

    async def _sync_forever(self) -> None:
        """Catch every feed up with the store now and then: a publication the broker lost
        with no later event behind it (a node that died between commit and publish) would
        otherwise stay unseen until the room's next event."""
        while True:
            await asyncio.sleep(self.sync_interval)
            await self.sync_feeds()
            await self.sweep_presence()

    def on_broker_reconnected(self) -> None:
        """The broker was away: whatever was published meanwhile never arrived. Catch every
        feed up from the store (events are ordered and deduplicated by seq, so nothing is
        delivered twice)."""
        log.info("broker back: catching up every room from the store", extra={"event": "broker_up"})
        self.spawn(self.sync_feeds())

    async def sweep_presence(self) -> None:
        """Announce users whose presence changed without a connect or disconnect here: the
        users of a node that died (their entries expired), mostly."""
        try:
            changes = await self.presence.sweep()
            for user_id in changes.offline:
                await self._announce_presence(user_id, False)
            for user_id in changes.online:
                await self._announce_presence(user_id, True)
        except Exception:
            log.warning("could not sweep presence", exc_info=True)

    async def _announce_presence(self, user_id: int, online: bool) -> None:
        user = await self.store.get_user_by_id(user_id)
        if user is None:
            return
        rooms = [(v.room.id, v.room.name) for v in await self.store.member_rooms(user_id)]
        self.publish_presence(rooms, user.name, online)

    async def sync_feeds(self) -> None:
        """Bring every feed up to the store's ``last_seq`` for its room, and follow the changes
        to the rooms themselves (renamed, archived, deleted) that may have been made by another
        process with no broker to tell this one."""
        for feed in list(self.feeds.values()):
            if not feed.started:
                continue
            try:
                room = await self.store.get_room_by_id(feed.room_id)
                if room is None:
                    self.room_removed(feed.room_id)
                    continue
                if room.last_seq > feed.last_seq:
                    await self._catch_feed_up(feed, room.last_seq)
                self._follow_room(room)
            except Exception:
                log.warning("could not sync room %d with the store", feed.room_id, exc_info=True)

    def _follow_room(self, room: Room) -> None:
        seen = self._rooms.get(room.id)
        self._rooms[room.id] = room
        if seen is not None and (seen.name, seen.archived) != (room.name, room.archived):
            for listener in self._all_listeners():
                listener.room_changed(room)

    def room_removed(self, room_id: int) -> None:
        """The room was deleted: every local connection that has it drops it."""
        self._rooms.pop(room_id, None)
        for listener in self._all_listeners():
            listener.room_removed(room_id)

    def _member_removed(self, room_id: int, user_id: int) -> None:
        """An event removed the user from the room: each of their connections here drops it,
        in the step that delivered the event."""
        for listener in list(self.listeners.get(user_id, ())):
            listener.left_room(room_id)

    def _all_listeners(self) -> list[UserListener]:
        return [listener for listeners in self.listeners.values() for listener in listeners]

    # -- feeds -----------------------------------------------------------------------------

    async def feed(self, room_id: int) -> RoomFeed:
        """The room's feed, created (and subscribed, and started) on first use.

        The caller must subscribe to it before its next ``await``: a feed without subscribers
        is released at the end of the loop pass. One that waited for the feed to start may
        find it released meanwhile (everyone else left at once): it then takes the room's
        current feed, starting a new one if there is none.
        """
        while (feed := self.feeds.get(room_id)) is not None:
            starting = self._starting.get(room_id)
            if starting is None:
                return feed
            await asyncio.shield(starting)
            if self.feeds.get(room_id) is feed:
                return feed
        starting = asyncio.get_running_loop().create_future()
        feed = RoomFeed(room_id, room_channel(room_id))
        feed.on_removed = functools.partial(self._member_removed, room_id)
        self.feeds[room_id] = feed
        self._starting[room_id] = starting
        try:
            await self.broker.subscribe(feed.channel)
            room = await self.store.get_room_by_id(room_id)
        except BaseException as exc:
            if self.feeds.get(room_id) is feed:
                del self.feeds[room_id]
            starting.set_exception(exc)
            starting.exception()  # mark retrieved: the caller re-raises it
            raise
        finally:
            # (A feed released while it started may have been replaced by a newer one.)
            if self._starting.get(room_id) is starting:
                del self._starting[room_id]
        if room is not None:
            self._rooms[room_id] = room
        self.stats.deliveries += feed.start(room.last_seq if room is not None else 0)
        starting.set_result(None)
        self._follow_gap(feed)
        # Whoever asked for it subscribes before this loop pass ends; if all who waited left
        # while it started, nobody will, and the check after this pass releases it.
        self._release(feed)
        return feed

    def _release(self, feed: RoomFeed) -> None:
        """Forget a feed without local subscribers (after this loop pass, if still empty)."""
        if feed.empty:
            asyncio.get_running_loop().call_soon(self._release_now, feed)

    def _release_now(self, feed: RoomFeed) -> None:
        # A feed still starting is kept: its starter is about to subscribe to it, and one
        # released now would leave that subscriber on a feed nobody delivers to.
        if not feed.empty or not feed.started or self.feeds.get(feed.room_id) is not feed:
            return
        del self.feeds[feed.room_id]
        self._rooms.pop(feed.room_id, None)
        task = self._gap_fills.pop(feed.room_id, None)
        if task is not None:
            task.cancel()
        self.spawn(self._unsubscribe_room(feed.room_id, feed.channel))

    async def _unsubscribe_room(self, room_id: int, channel: str) -> None:
        # A new feed for the room may have subscribed again before this task ran: then the
        # channel is wanted, and unsubscribing now would leave that feed deaf.
        if room_id not in self.feeds:
            await self.broker.unsubscribe(channel)

    async def stream(
        self,
        peer: Peer,
        user_id: int,
        room_id: int,
        cursor: int,
        *,
        turn: asyncio.Lock | None = None,
        holding: Holding | None = None,
    ) -> int:
        """Send ``peer`` the room's events after ``cursor``, then keep it live (or, with a
        ``holding``, held: see :meth:`release_held`).

        The replay goes out in pages of at most the reply budget, and waits between pages
        until the client has read most of what was sent (:meth:`Peer.drain`): a slow client
        slows its replay down instead of overflowing its send buffer. ``turn``, one per
        connection, makes the rooms of one resume read and send their pages one at a time, so
        that one connection has one page in memory and in flight, however many rooms it has.

        Returns the seq reached when the peer went live (it may be past the stored events
        when the client already saw them). Returns early, without going live, when the peer
        closes or :meth:`stop_stream` is called meanwhile.
        """
        turn = turn if turn is not None else asyncio.Lock()
        feed = await self.feed(room_id)
        token = feed.begin_catch_up(peer)
        try:
            while peer.open and feed.is_catching_up(peer, token):
                if holding is not None:
                    if feed.hold(peer, token, user_id, cursor, holding):
                        return cursor
                elif feed.go_live(peer, token, user_id, cursor):
                    return cursor
                if cursor > feed.last_seq:
                    # The client (or the replay) is ahead of this node: wait for the node.
                    reached = asyncio.get_running_loop().create_future()
                    feed.when_reached(cursor, functools.partial(_resolve, reached))
                    try:
                        await asyncio.wait_for(reached, self.gap_timeout * 4)
                    except TimeoutError:
                        await self._catch_feed_up(feed, cursor)
                    continue
                async with turn:
                    events = await self.store.events_after(room_id, cursor, REPLAY_PAGE)
                    if events and feed.is_catching_up(peer, token):
                        cursor = await self._send_page(peer, events, cursor, feed, token)
                if not events:
                    await asyncio.sleep(self.gap_timeout)
            return cursor
        finally:
            feed.end_catch_up(peer, token)
            self._release(feed)

    @staticmethod
    async def _send_page(
        peer: Peer, events: list[Event], cursor: int, feed: RoomFeed, token: object
    ) -> int:
        """Send stored events (those after ``cursor``), draining whenever the reply budget is
        reached; returns the seq of the last one sent (the replay stops early if the peer
        closes or is dropped)."""
        sent = 0
        for event in events:
            frame = encode(event_message(event))
            if sent and sent + len(frame) > REPLY_BUDGET:
                await peer.drain()
                sent = 0
                if not (peer.open and feed.is_catching_up(peer, token)):
                    return cursor
            peer.send_encoded_text(frame)
            sent += len(frame)
            cursor = event.seq
        await peer.drain()
        return cursor

    def release_held(self, peer: Peer, room_ids: Iterable[int], holding: Holding) -> None:
        """End a resume: send what ``holding`` kept, in the order it arrived, and make
        ``peer`` live in each of ``room_ids`` it is held in. Synchronous: nothing can be
        delivered between the caller's ``resumed`` and these events."""
        for _, message in holding.items:
            peer.send_prepared(message)
        holding.items.clear()
        holding.size = 0
        for room_id in room_ids:
            feed = self.feeds.get(room_id)
            if feed is not None:
                feed.release(peer)

    def stop_stream(self, peer: Peer, room_id: int) -> None:
        """Stop sending the room to ``peer`` (live or catching up)."""
        feed = self.feeds.get(room_id)
        if feed is None:
            return
        feed.drop(peer)
        self._release(feed)

    async def add_guest(self, peer: Peer) -> None:
        """A plain-text client: receives the lobby's messages from now on."""
        feed = await self.feed(self.lobby_id)
        if peer.open:
            feed.guests.add(peer)
        else:
            self._release(feed)

    def remove_guest(self, peer: Peer) -> None:
        feed = self.feeds.get(self.lobby_id)
        if feed is not None:
            feed.guests.discard(peer)
            self._release(feed)

    # -- users -----------------------------------------------------------------------------

    def bucket(self, user_id: int, limit: RateLimit, kind: str = "commands") -> TokenBucket:
        """The rate-limit bucket of ``kind`` (``commands``, ``typing``) that a user's
        connections on this node share; kept after they close until it is full again."""
        table = self.buckets.get((kind, limit))
        if table is None:
            table = self.buckets[kind, limit] = BucketTable(limit)
        return table.get(user_id)

    async def attach(self, listener: UserListener, conn_id: str) -> bool:
        """Register a signed-in connection; True if its user just came online."""
        user_id = listener.user_id
        self.listeners.setdefault(user_id, set()).add(listener)
        channel = self._user_channels.get(user_id)
        if channel is None:
            channel = asyncio.ensure_future(self.broker.subscribe(user_channel(user_id)))
            self._user_channels[user_id] = channel
        await asyncio.shield(channel)
        return await self.presence.connect(user_id, conn_id)

    async def _unsubscribe_user(self, user_id: int) -> None:
        if user_id not in self.listeners:  # (see _unsubscribe_room)
            await self.broker.unsubscribe(user_channel(user_id))

    async def detach(self, listener: UserListener, conn_id: str) -> bool:
        """Forget a connection; True if its user just went offline."""
        user_id = listener.user_id
        listeners = self.listeners.get(user_id)
        if listeners is not None:
            listeners.discard(listener)
            if not listeners:
                del self.listeners[user_id]
                self._user_channels.pop(user_id, None)
                self.spawn(self._unsubscribe_user(user_id))
        return await self.presence.disconnect(user_id, conn_id)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
