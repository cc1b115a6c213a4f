"""The :class:`~parley.store.base.Store` methods, written once for every SQL backend.

Each method is one operation of :mod:`parley.store.sql.operations`, run either as a write
(queued for the group commit, :mod:`parley.store.sql.batch`) or as a read. A backend
(:class:`~parley.store.sqlite.SQLiteStore`, :class:`~parley.store.postgres.PostgresStore`)
supplies only the way there: :meth:`SQLStore._submit` and :meth:`SQLStore._read`.
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import abstractmethod
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, TypeVar

from parley.model import (
    Actor,
    Appended,
    AuditEntry,
    AuditFilter,
    EmailDue,
    Event,
    EventKind,
    Invite,
    InviteKind,
    NotifyLevel,
    Profile,
    Room,
    RoomKind,
    RoomView,
    Session,
    ThreadView,
    Toggled,
    UnreadState,
    Upload,
    User,
    Version,
)
from parley.permissions import Place, Role
from parley.protocol.mentions import find_mentions
from parley.search.query import SearchQuery
from parley.store.base import RoomQuotas, SearchPage, Store, Unavailable, UploadNotFound
from parley.store.sql import (
    admin_ops,
    audit_ops,
    claim_ops,
    email_ops,
    file_ops,
    import_thread_ops,
    invite_ops,
    moderation_ops,
    pin_ops,
    reaction_ops,
    search,
    standing_ops,
    thread_ops,
    transfer_ops,
    version_ops,
)
from parley.store.sql import operations as ops
from parley.store.sql.batch import LockKey, Op, StoreStats
from parley.store.sql.engine import Connection

T = TypeVar("T")

#: An operation bound to its arguments: run on a connection, it gives the call's result.
Query = Callable[[Connection], Coroutine[Any, Any, T]]


class Reader(Protocol):
    """Runs a query in one read transaction held open across calls (a backend's
    :meth:`SQLStore._snapshot`)."""

    async def __call__(self, query: Query[T], /) -> T: ...


class Snapshot:
    """The reads of ``parley export``, every one in the same read-only transaction on one
    connection: together they see the database as it was when the snapshot began, while the
    server goes on writing (rooms' counters agree with their events, every reaction's message
    is there ...). Tables are still read a page at a time (keyset pages, within the
    transaction), so memory stays one page."""

    def __init__(self, read: Reader) -> None:
        self._read = read

    async def table_columns(self, table: transfer_ops.Table) -> tuple[transfer_ops.Column, ...]:
        return await self._read(lambda conn: transfer_ops.columns(conn, table))

    async def export_page(
        self,
        table: transfer_ops.Table,
        names: Sequence[str],
        after: Sequence[transfer_ops.Value] | None,
        limit: int,
    ) -> list[tuple[transfer_ops.Value, ...]]:
        return await self._read(lambda conn: transfer_ops.page(conn, table, names, after, limit))

    async def referenced_blobs(self, after: str, limit: int) -> list[str]:
        return await self._read(lambda conn: transfer_ops.referenced_blobs(conn, after, limit))


class SQLStore(Store):
    """A :class:`Store` over an SQL database (see :mod:`parley.store.sql`)."""

    def __init__(self) -> None:
        self.stats = StoreStats()
        self._started = False
        self._closed = False

    @property
    @abstractmethod
    def write_queue_depth(self) -> int:
        """How many write calls wait for a writer (a load metric), in every writer's queue."""

    def _starting(self) -> None:
        """Check that the store may start, and mark it started."""
        if self._closed:
            raise Unavailable("the store is closed")
        if self._started:
            raise RuntimeError("the store is already started")
        self._started = True

    def _usable(self, part: T | None) -> T:
        """``part`` (a pool, a writer), once started and until closed."""
        if self._closed:
            raise Unavailable("the store is closed")
        if part is None:
            raise Unavailable("the store is not started")
        return part

    @abstractmethod
    def _submit(self, op: Op) -> None:
        """Queue ``op`` for the group commit, or raise :class:`Unavailable` (not started, or
        closed)."""

    @abstractmethod
    async def _read(self, query: Query[T]) -> T:
        """Run ``query`` as one read and return its result."""

    @abstractmethod
    def _snapshot(self) -> AbstractAsyncContextManager[Reader]:
        """A connection of its own in a read-only transaction begun with the engine's
        :attr:`~parley.store.sql.engine.Engine.snapshot_begin`, as a :class:`Reader`; ended
        (rolled back, the connection given back) on exit."""

    @contextlib.asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Snapshot]:
        """One consistent view of the whole database for as long as the block runs (see
        :class:`Snapshot`). Raises :class:`Unavailable` like any read."""
        async with self._snapshot() as read:
            yield Snapshot(read)

    async def _write(
        self, run: Query[T], key: LockKey = (0, ""), post: ops.Post | None = None
    ) -> T:
        """Queue ``run`` for the group commit; return its result once committed. ``key`` is
        its place in a batch (see :data:`~parley.store.sql.batch.LockKey`)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._submit(Op(run, future, loop, key, post))
        return await future

    # -- users and sessions --------------------------------------------------------------

    async def create_user(
        self,
        name: str,
        password_hash: str,
        *,
        admin: bool | None = None,
        actor: Actor | None = None,
    ) -> User:
        return await self._write(
            lambda conn: ops.create_user(conn, name, password_hash, admin, actor),
            (0, "u:" + ops.key(name)),
        )

    async def get_user(self, name: str) -> User | None:
        return await self._read(lambda conn: ops.user_by_name(conn, name))

    async def get_user_by_id(self, user_id: int) -> User | None:
        return await self._read(lambda conn: ops.user_by_id(conn, user_id))

    async def list_users(self) -> list[User]:
        return await self._read(ops.list_users)

    async def set_password(
        self, user_id: int, password_hash: str, *, actor: Actor | None = None
    ) -> list[str]:
        return await self._write(lambda conn: ops.set_password(conn, user_id, password_hash, actor))

    async def rehash_password(self, user_id: int, old_hash: str, new_hash: str) -> bool:
        return await self._write(
            lambda conn: ops.rehash_password(conn, user_id, old_hash, new_hash)
        )

    async def set_disabled(
        self, user_id: int, disabled: bool, *, actor: Actor | None = None
    ) -> list[str]:
        return await self._write(lambda conn: ops.set_disabled(conn, user_id, disabled, actor))

    async def create_session(self, user_id: int, token_hash: str, expires_at: int) -> Session:
        return await self._write(
            lambda conn: ops.create_session(conn, user_id, token_hash, expires_at)
        )

    async def get_session(self, token_hash: str, now: int) -> Session | None:
        return await self._read(lambda conn: ops.live_session(conn, token_hash, now))

    async def delete_session(self, token_hash: str, *, actor: Actor | None = None) -> bool:
        return await self._write(lambda conn: ops.delete_session(conn, token_hash, actor))

    async def delete_sessions_of(self, user_id: int, *, actor: Actor | None = None) -> list[str]:
        return await self._write(lambda conn: ops.delete_sessions_of(conn, user_id, actor))

    async def claimable(self, token_hash: str, now: int) -> User | None:
        return await self._read(lambda conn: claim_ops.claimable(conn, token_hash, now))

    async def claim(self, token_hash: str, password_hash: str, now: int) -> User | None:
        return await self._write(lambda conn: claim_ops.claim(conn, token_hash, password_hash, now))

    # -- rooms ---------------------------------------------------------------------------

    async def create_room(
        self,
        name: str,
        kind: RoomKind,
        *,
        creator_id: int | None,
        topic: str = "",
        quotas: RoomQuotas | None = None,
    ) -> tuple[Room, list[Event]]:
        return await self._write(
            lambda conn: ops.create_room(conn, name, kind, creator_id, topic, quotas),
            (0, "r:" + ops.key(name)),
        )

    async def open_direct(
        self, user_id: int, other_id: int, *, quotas: RoomQuotas | None = None
    ) -> tuple[Room, list[Event]]:
        return await self._write(lambda conn: ops.open_direct(conn, user_id, other_id, quotas))

    async def get_room(self, name: str) -> Room | None:
        return await self._read(lambda conn: ops.room_by_name(conn, name))

    async def get_room_by_id(self, room_id: int) -> Room | None:
        return await self._read(lambda conn: ops.room_by_id(conn, room_id))

    async def is_member(self, room_id: int, user_id: int) -> bool:
        return await self._read(lambda conn: ops.is_member(conn, room_id, user_id))

    async def room_members(
        self, room_id: int, *, after: str | None = None, limit: int | None = None
    ) -> list[tuple[int, str]]:
        return await self._read(lambda conn: ops.room_members(conn, room_id, after, limit))

    async def unread_count(self, room_id: int, user_id: int) -> int:
        return await self._read(lambda conn: ops.unread_count(conn, room_id, user_id))

    async def rooms_for(self, user_id: int) -> list[RoomView]:
        return await self._read(lambda conn: ops.rooms_for(conn, user_id))

    async def member_rooms(self, user_id: int) -> list[RoomView]:
        return await self._read(lambda conn: ops.member_rooms(conn, user_id))

    async def visible_rooms(
        self, user_id: int, *, query: str = "", after: str | None = None, limit: int = 50
    ) -> list[RoomView]:
        return await self._read(lambda conn: ops.visible_rooms(conn, user_id, query, after, limit))

    # -- events --------------------------------------------------------------------------

    async def post_message(
        self,
        room_id: int,
        user_id: int | None,
        author: str,
        text: str,
        cid: str | None = None,
        files: Sequence[str] = (),
        *,
        thread: int | None = None,
        broadcast: bool = False,
    ) -> Appended:
        if user_id is None:
            cid = None  # guests have no cid scope
        found = find_mentions(text)
        mentioned = found if found.names or found.room else None
        if files:
            author_id = user_id
            if author_id is None:
                raise UploadNotFound(files[0])  # guests upload nothing
            # One by one (not in bulk): the message takes its uploads in its transaction.
            return await self._write(
                lambda conn: file_ops.post_with_files(
                    conn, room_id, author_id, author, text, cid, mentioned, files, thread, broadcast
                ),
                (room_id, ""),
            )
        return await self._write(
            lambda conn: ops.post_message(
                conn, room_id, user_id, author, text, cid, mentioned, thread, broadcast
            ),
            (room_id, ""),
            # A reply takes the one-by-one path (its thread's rows change with it).
            None
            if thread is not None
            else ops.Post(room_id, user_id, author, text, cid, mentioned),
        )

    async def edit_message(
        self, room_id: int, user_id: int, author: str, mid: int, text: str, *, any_author: bool
    ) -> Event:
        return await self._write(
            lambda conn: ops.edit_message(conn, room_id, user_id, author, mid, text, any_author),
            (room_id, ""),
        )

    async def delete_message(
        self, room_id: int, user_id: int, author: str, mid: int, *, any_author: bool
    ) -> Event:
        return await self._write(
            lambda conn: ops.delete_message(conn, room_id, user_id, author, mid, any_author),
            (room_id, ""),
        )

    async def join(
        self,
        room_id: int,
        user_id: int,
        author: str,
        *,
        by: str | None = None,
        quotas: RoomQuotas | None = None,
    ) -> Event | None:
        return await self._write(
            lambda conn: ops.join(conn, room_id, user_id, author, by, quotas), (room_id, "")
        )

    async def leave(self, room_id: int, user_id: int, author: str) -> Event | None:
        return await self._write(
            lambda conn: ops.leave(conn, room_id, user_id, author), (room_id, "")
        )

    async def set_topic(self, room_id: int, user_id: int, author: str, topic: str) -> Event:
        return await self._write(
            lambda conn: ops.set_topic(conn, room_id, user_id, author, topic), (room_id, "")
        )

    async def mark_read(self, room_id: int, user_id: int, seq: int) -> int:
        return await self._write(
            lambda conn: ops.mark_read(conn, room_id, user_id, seq), (room_id, "")
        )

    async def unread_state(self, room_id: int, user_id: int) -> UnreadState:
        return await self._read(lambda conn: ops.unread_state(conn, room_id, user_id))

    async def mentions_of(self, user_id: int, before: int | None, limit: int) -> list[Event]:
        return await self._read(lambda conn: ops.mentions_of(conn, user_id, before, limit))

    async def set_notify(
        self, room_id: int, user_id: int, level: NotifyLevel, muted_until: int
    ) -> bool:
        return await self._write(
            lambda conn: ops.set_notify(conn, room_id, user_id, level, muted_until),
            (room_id, ""),
        )

    async def set_email(self, user_id: int, address: str | None, notify: bool) -> bool:
        return await self._write(lambda conn: email_ops.set_email(conn, user_id, address, notify))

    async def get_email(self, user_id: int) -> tuple[str | None, bool]:
        return await self._read(lambda conn: email_ops.get_email(conn, user_id))

    async def claim_emails(
        self, *, now: int, due: int, since: int, lease_until: int, limit: int
    ) -> list[EmailDue]:
        return await self._write(
            lambda conn: email_ops.claim_emails(conn, now, due, since, lease_until, limit)
        )

    async def finish_emails(
        self, keys: list[tuple[int, int]], *, sent: bool, now: int, retry_at: int
    ) -> None:
        await self._write(lambda conn: email_ops.finish_emails(conn, keys, sent, now, retry_at))

    async def react(
        self, room_id: int, user_id: int, author: str, mid: int, emoji: str, *, add: bool
    ) -> Toggled:
        return await self._write(
            lambda conn: reaction_ops.react(conn, room_id, user_id, author, mid, emoji, add),
            (room_id, ""),
        )

    async def pin(
        self, room_id: int, user_id: int, author: str, mid: int, *, pinned: bool
    ) -> Toggled:
        return await self._write(
            lambda conn: pin_ops.pin(conn, room_id, user_id, author, mid, pinned), (room_id, "")
        )

    async def pinned_messages(self, room_id: int, before: int | None, limit: int) -> list[Event]:
        return await self._read(lambda conn: pin_ops.pinned_messages(conn, room_id, before, limit))

    async def versions(
        self, room_id: int, mid: int, before: int | None, limit: int
    ) -> tuple[list[Version], bool]:
        return await self._read(
            lambda conn: version_ops.versions(conn, room_id, mid, before, limit)
        )

    async def thread_replies(
        self, room_id: int, mid: int, before: int | None, limit: int
    ) -> tuple[Event, list[Event]]:
        return await self._read(
            lambda conn: thread_ops.thread_replies(conn, room_id, mid, before, limit)
        )

    async def thread_following(self, room_id: int, user_id: int, mid: int) -> bool:
        return await self._read(
            lambda conn: thread_ops.thread_following(conn, room_id, user_id, mid)
        )

    async def set_following(self, room_id: int, user_id: int, mid: int, following: bool) -> int:
        return await self._write(
            lambda conn: thread_ops.set_following(conn, room_id, user_id, mid, following),
            (room_id, ""),
        )

    async def mark_thread_read(
        self, room_id: int, user_id: int, mid: int, seq: int
    ) -> tuple[int, UnreadState]:
        return await self._write(
            lambda conn: thread_ops.mark_thread_read(conn, room_id, user_id, mid, seq),
            (room_id, ""),
        )

    async def followed_threads(
        self, user_id: int, after: tuple[int, int] | None, limit: int
    ) -> list[ThreadView]:
        return await self._read(
            lambda conn: thread_ops.followed_threads(conn, user_id, after, limit)
        )

    async def events_after(self, room_id: int, after: int, limit: int) -> list[Event]:
        return await self._read(lambda conn: ops.events_after(conn, room_id, after, limit))

    async def events_before(self, room_id: int, before: int | None, limit: int) -> list[Event]:
        return await self._read(lambda conn: ops.events_before(conn, room_id, before, limit))

    async def search(
        self,
        user_id: int,
        query: SearchQuery,
        *,
        public: bool = False,
        room_ids: Sequence[int] = (),
        before: int | None = None,
        limit: int = 20,
    ) -> SearchPage:
        return await self._read(
            lambda conn: search.search(
                conn,
                user_id,
                query,
                public=public,
                room_ids=room_ids,
                before=before,
                limit=limit,
            )
        )

    async def count_pending(self) -> int:
        """Messages stored but not yet in the search index (see ``indexer.py``)."""
        return await self._read(search.pending)

    async def index_pending(self) -> int:
        """Index a chunk of pending messages; return how many are still pending."""
        return await self._write(search.index_pending)

    # -- the operator's tools ------------------------------------------------------------

    async def list_rooms(self) -> list[tuple[Room, int]]:
        return await self._read(ops.list_rooms)

    async def set_archived(
        self, room_id: int, archived: bool, *, author: str, actor: Actor | None = None
    ) -> Event | None:
        return await self._write(
            lambda conn: ops.set_archived(conn, room_id, archived, author, actor), (room_id, "")
        )

    async def rename_room(
        self, room_id: int, name: str, *, author: str, actor: Actor | None = None
    ) -> Event:
        return await self._write(
            lambda conn: ops.rename_room(conn, room_id, name, author, actor), (room_id, "")
        )

    async def delete_room(self, room_id: int, *, actor: Actor | None = None) -> list[int]:
        return await self._write(lambda conn: ops.delete_room(conn, room_id, actor), (room_id, ""))

    async def rename_user(
        self, user_id: int, name: str, *, actor: Actor | None = None
    ) -> tuple[User, list[Event]]:
        return await self._write(
            lambda conn: ops.rename_user(conn, user_id, name, actor), (0, "u:" + ops.key(name))
        )

    # -- export and import (parley export / parley import; store/sql/transfer_ops.py) -------

    async def table_columns(self, table: transfer_ops.Table) -> tuple[transfer_ops.Column, ...]:
        return await self._read(lambda conn: transfer_ops.columns(conn, table))

    async def begin_import(self) -> None:
        """Refuse (:class:`~parley.store.base.Conflict`) unless the database is empty."""
        await self._write(transfer_ops.begin_import)

    async def import_rows(
        self, table: transfer_ops.Table, names: Sequence[str], rows: Sequence[Sequence[object]]
    ) -> None:
        await self._write(lambda conn: transfer_ops.insert_rows(conn, table, names, rows))

    async def referenced_blobs(self, after: str, limit: int) -> list[str]:
        return await self._read(lambda conn: transfer_ops.referenced_blobs(conn, after, limit))

    async def refers_to_blob(self, digest: str) -> bool:
        return await self._read(lambda conn: transfer_ops.refers_to_blob(conn, digest))

    async def account_imported_replies(self, after: int, limit: int) -> int | None:
        return await self._write(lambda conn: import_thread_ops.account_replies(conn, after, limit))

    async def mark_imported_threads_read(self) -> None:
        await self._write(import_thread_ops.mark_threads_read)

    async def set_room_counters(self, counters: Sequence[tuple[int, int]]) -> None:
        await self._write(lambda conn: transfer_ops.set_counters(conn, counters))

    async def finish_import(self) -> None:
        await self._write(transfer_ops.finish_import)

    async def users_without_password(self, after: int, limit: int) -> list[tuple[int, str]]:
        return await self._read(
            lambda conn: transfer_ops.users_without_password(conn, after, limit)
        )

    async def add_claim_tokens(
        self, tokens: Sequence[tuple[str, int]], created_at: int, expires_at: int
    ) -> None:
        await self._write(
            lambda conn: transfer_ops.add_claim_tokens(conn, tokens, created_at, expires_at)
        )

    # -- uploads and profiles ------------------------------------------------------------

    async def add_upload(self, upload: Upload, *, quota: int) -> None:
        await self._write(
            lambda conn: file_ops.add_upload(conn, upload, quota), (0, f"u#{upload.owner_id}")
        )

    async def get_upload(self, upload_id: str) -> Upload | None:
        return await self._read(lambda conn: file_ops.upload_by_id(conn, upload_id))

    async def readable_upload(self, upload_id: str, reader_id: int) -> Upload | None:
        return await self._read(lambda conn: file_ops.readable_upload(conn, upload_id, reader_id))

    async def used_bytes(self, user_id: int) -> int:
        return await self._read(lambda conn: file_ops.used_bytes(conn, user_id))

    async def set_profile(
        self, user_id: int, *, display_name: str | None, avatar: str | None
    ) -> Profile:
        return await self._write(
            lambda conn: file_ops.set_profile(conn, user_id, display_name, avatar),
            (0, f"u#{user_id}"),
        )

    async def profile_of(self, user_id: int) -> Profile:
        return await self._read(lambda conn: file_ops.profile_of(conn, user_id))

    async def profiles(self, user_ids: Iterable[int]) -> dict[int, Profile]:
        wanted = list(user_ids)
        return await self._read(lambda conn: file_ops.profiles(conn, wanted))

    async def drop_stale_uploads(self, older_than: int) -> int:
        return await self._write(lambda conn: file_ops.drop_stale_uploads(conn, older_than))

    async def referenced(self, hashes: Sequence[str]) -> set[str]:
        wanted = list(hashes)
        return await self._read(lambda conn: file_ops.referenced(conn, wanted))

    # -- administration --------------------------------------------------------------------

    async def get_setting(self, name: str) -> str | None:
        return await self._read(lambda conn: admin_ops.get_setting(conn, name))

    async def set_setting(self, name: str, value: str, *, actor: Actor) -> None:
        await self._write(lambda conn: admin_ops.set_setting(conn, name, value, actor))

    async def find_users(
        self, query: str = "", *, after: str | None = None, limit: int = 50
    ) -> list[User]:
        return await self._read(lambda conn: admin_ops.find_users(conn, query, after, limit))

    async def set_admin(self, user_id: int, admin: bool, *, actor: Actor) -> None:
        await self._write(lambda conn: admin_ops.set_admin(conn, user_id, admin, actor))

    async def sessions_of(self, user_id: int, now: int, limit: int = 50) -> list[Session]:
        return await self._read(lambda conn: admin_ops.sessions_of(conn, user_id, now, limit))

    async def end_session(self, user_id: int, session_id: str, *, actor: Actor) -> list[str]:
        return await self._write(
            lambda conn: admin_ops.end_session(conn, user_id, session_id, actor)
        )

    async def find_rooms(
        self, query: str = "", *, after: str | None = None, limit: int = 50
    ) -> list[tuple[Room, int]]:
        return await self._read(lambda conn: admin_ops.find_rooms(conn, query, after, limit))

    async def create_invite(
        self,
        token_hash: str,
        kind: InviteKind,
        *,
        created_by: int | None,
        now: int,
        expires_at: int,
        room_ids: tuple[int, ...] = (),
        actor: Actor,
    ) -> Invite:
        return await self._write(
            lambda conn: invite_ops.create_invite(
                conn, token_hash, kind, created_by, now, expires_at, room_ids, actor
            )
        )

    async def get_invite(self, token_hash: str) -> Invite | None:
        return await self._read(lambda conn: invite_ops.invite_by_token(conn, token_hash))

    async def list_invites(self, *, before: int | None = None, limit: int = 50) -> list[Invite]:
        return await self._read(lambda conn: invite_ops.list_invites(conn, before, limit))

    async def revoke_invite(self, invite_id: int, now: int, *, actor: Actor) -> Invite:
        return await self._write(lambda conn: invite_ops.revoke_invite(conn, invite_id, now, actor))

    async def redeem_account_invite(
        self, token_hash: str, name: str, password_hash: str, now: int
    ) -> tuple[User, list[Event]]:
        return await self._write(
            lambda conn: invite_ops.redeem_for_account(conn, token_hash, name, password_hash, now),
            (0, "u:" + ops.key(name)),
        )

    async def redeem_room_invite(self, token_hash: str, user_id: int, now: int) -> list[Event]:
        return await self._write(
            lambda conn: invite_ops.redeem_for_member(conn, token_hash, user_id, now)
        )

    # -- room roles and moderation ---------------------------------------------------------

    async def room_place(self, room_id: int, user_id: int) -> Place:
        return await self._read(lambda conn: standing_ops.place(conn, room_id, user_id))

    async def room_roles(self, room_id: int) -> list[tuple[str, Role]]:
        return await self._read(lambda conn: moderation_ops.roles(conn, room_id))

    async def set_role(
        self,
        room_id: int,
        actor_id: int | None,
        target_id: int,
        role: Role,
        *,
        address: str | None,
    ) -> Event | None:
        act = moderation_ops.Act(room_id, actor_id, target_id, address)
        return await self._write(
            lambda conn: moderation_ops.set_role(conn, act, role), (room_id, "")
        )

    async def kick(
        self, room_id: int, actor_id: int, target_id: int, *, address: str | None
    ) -> Event:
        act = moderation_ops.Act(room_id, actor_id, target_id, address)
        return await self._write(lambda conn: moderation_ops.kick(conn, act), (room_id, ""))

    async def ban(
        self,
        room_id: int,
        actor_id: int,
        target_id: int,
        until: int | None,
        *,
        address: str | None,
    ) -> Event:
        act = moderation_ops.Act(room_id, actor_id, target_id, address)
        return await self._write(lambda conn: moderation_ops.ban(conn, act, until), (room_id, ""))

    async def unban(
        self, room_id: int, actor_id: int, target_id: int, *, address: str | None
    ) -> Event | None:
        act = moderation_ops.Act(room_id, actor_id, target_id, address)
        return await self._write(
            lambda conn: moderation_ops.lift(conn, act, EventKind.UNBAN), (room_id, "")
        )

    async def mute(
        self, room_id: int, actor_id: int, target_id: int, until: int, *, address: str | None
    ) -> Event:
        act = moderation_ops.Act(room_id, actor_id, target_id, address)
        return await self._write(lambda conn: moderation_ops.mute(conn, act, until), (room_id, ""))

    async def unmute(
        self, room_id: int, actor_id: int, target_id: int, *, address: str | None
    ) -> Event | None:
        act = moderation_ops.Act(room_id, actor_id, target_id, address)
        return await self._write(
            lambda conn: moderation_ops.lift(conn, act, EventKind.UNMUTE), (room_id, "")
        )

    async def set_room_settings(
        self, room_id: int, actor_id: int, changes: dict[str, str], *, address: str | None
    ) -> Event | None:
        return await self._write(
            lambda conn: moderation_ops.set_settings(conn, room_id, actor_id, changes, address),
            (room_id, ""),
        )

    # -- the audit log ---------------------------------------------------------------------

    async def record_audit(
        self,
        action: str,
        *,
        actor: str,
        actor_id: int | None = None,
        target: str | None = None,
        room: str | None = None,
        address: str | None = None,
        detail: str | None = None,
    ) -> AuditEntry:
        return await self._write(
            lambda conn: audit_ops.record(
                conn,
                action,
                actor=actor,
                actor_id=actor_id,
                target=target,
                room=room,
                address=address,
                detail=detail,
            )
        )

    async def audit_log(self, where: AuditFilter) -> list[AuditEntry]:
        return await self._read(lambda conn: audit_ops.entries(conn, where))

    async def remove_audit_before(self, before: int, limit: int) -> int:
        return await self._write(lambda conn: audit_ops.remove_before(conn, before, limit))


__all__ = ["Query", "SQLStore"]
