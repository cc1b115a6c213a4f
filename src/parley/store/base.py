"""The store interface: the source of truth for users, sessions, rooms and room events.

Every implementation (SQLite, the default; PostgreSQL for several processes) passes the same
conformance suite, ``tests/store/``. The rules it checks:

* **Events.** Every change to a room (message, edit, delete, join, leave, topic) is stored as
  an event with the room's next sequence number ``seq``: 1, 2, 3 ... per room, with no gap and
  one total order, however many writers there are. ``Room.last_seq`` is the newest.
* **Atomic, and committed before returning.** Each write method either commits its whole
  effect (for instance a join event *and* the membership row) or nothing, and returns only
  after the commit is durable: a caller may acknowledge it to a client.
* **Group commit.** Concurrent writes are batched into one transaction where the backend
  allows it; a write that fails on its own (a ``Conflict``, ``NotFound``, ``Forbidden``) does
  not affect the others of its batch.
* **Idempotent messages.** ``post_message`` with a client message id (``cid``) that the same
  author already used returns the original event with ``duplicate=True`` and stores nothing.
* **Never block the event loop.** Every method is a coroutine; database work happens in
  threads or an async driver.
* **Quotas.** Rooms a user creates and invitations a user receives are counted from the
  database, in the transaction that would add one, so the limits hold across processes and
  restarts and concurrent requests cannot slip past them (:class:`RoomQuotas`).
* **Errors.** ``NotFound``, ``Conflict``, ``Forbidden`` for the caller's mistakes;
  ``LimitReached`` past a quota; ``Unavailable`` when the database cannot be used (nothing of
  that call was committed, so a client must not be told it was).

Names are compared case-insensitively (``Alice`` and ``alice`` are the same user or room) and
stored as given. Times are milliseconds since the epoch.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from parley.model import (
    Actor,
    Appended,
    AuditEntry,
    AuditFilter,
    EmailDue,
    Event,
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
from parley.search.query import SearchQuery

if TYPE_CHECKING:
    from parley.permissions import Place, Role

#: The room every store has from the start.
LOBBY = "lobby"
#: Unread counts stop here: counting is linear in the unread messages, and a client shows
#: "999+" anyway. Paid at every welcome, so it must stay cheap for a user who never reads.
UNREAD_CAP = 1000


class StoreError(Exception):
    """Base of every error the store raises on purpose."""


class NotFound(StoreError):
    """The user, room, message or session does not exist."""


class Conflict(StoreError):
    """The name is taken (user or room)."""


class Forbidden(StoreError):
    """The change is not allowed for this user (editing someone else's message, a direct
    room with oneself)."""


class MentionRefused(Forbidden):
    """The message mentions more people than allowed, or uses ``@room`` where its writer may
    not; the message says which, for the writer."""


class Archived(Forbidden):
    """The room is archived: read-only until the operator unarchives it."""


class TooManyReactions(StoreError):
    """The message already carries the most different emoji allowed; nothing was changed."""


class InviteRefused(Forbidden):
    """An invitation that cannot be used or changed; ``reason`` is ``unknown``, ``used``,
    ``expired`` or ``revoked``."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"the invitation is {reason}")
        self.reason = reason


class NotPermitted(Forbidden):
    """The user's role in the room does not allow this (``parley/permissions.py``); the
    message says who may, for the user."""


class NotMember(StoreError):
    """The user acted on is not a member of the room (a kick, a mute, a role)."""


class Banned(NotPermitted):
    """The user is banned from the room: cannot join it nor be invited (until the ban ends)."""


class Muted(NotPermitted):
    """The user is muted in the room: cannot post until the mute ends."""


@dataclass(frozen=True, slots=True)
class Quota:
    """At most ``most`` in any ``window_ms`` milliseconds."""

    most: int
    window_ms: int


@dataclass(frozen=True, slots=True)
class RoomQuotas:
    """What one user may do to rooms; None: no limit.

    ``created``: rooms the user creates (public, private, and direct rooms the user opens).
    ``invited``: what others do to the user: invitations to rooms (``join`` with ``by``), and
    direct rooms others open with the user.
    """

    created: Quota | None = None
    invited: Quota | None = None


class LimitReached(StoreError):
    """A :class:`RoomQuotas` limit is reached; nothing was changed. ``which`` is
    ``"created"`` or ``"invited"``; ``retry_at`` (ms since the epoch) is when one more will
    be allowed."""

    def __init__(self, which: str, quota: Quota, retry_at: int) -> None:
        super().__init__(f"{which}: {quota.most} per {quota.window_ms} ms reached")
        self.which = which
        self.quota = quota
        self.retry_at = retry_at


class QuotaExceeded(StoreError):
    """Storing an upload would take its owner past the upload quota; nothing was stored."""

    def __init__(self, used: int, quota: int) -> None:
        super().__init__(f"uploads hold {used} of the {quota} bytes allowed")
        self.used = used
        self.quota = quota


class UploadNotFound(NotFound):
    """An upload that cannot be used: unknown, someone else's, already sent, or not of the
    right kind (the same for all, on purpose)."""

    def __init__(self, upload_id: str) -> None:
        super().__init__(f"no such upload: {upload_id!r}")
        self.upload_id = upload_id


class Unavailable(StoreError):
    """The database cannot be used right now; nothing of this call was committed."""


@dataclass(frozen=True, slots=True)
class SearchPage:
    """What :meth:`Store.search` found, and how many stored messages it could not see yet
    (committed, not yet indexed: newest ones)."""

    events: list[Event]
    pending: int = 0


class Store(ABC):
    """See the module docstring for the rules every implementation keeps."""

    #: If set, called with the duration in seconds of every committed write transaction
    #: (the metrics endpoint's histogram); it may be called from a worker thread.
    observe_commit: Callable[[float], None] | None = None

    # -- life cycle ----------------------------------------------------------------------

    @abstractmethod
    async def start(self) -> None:
        """Connect, apply pending migrations (numbered SQL files), ensure ``lobby`` exists."""

    @abstractmethod
    async def close(self) -> None:
        """Commit the writes already queued, then release every connection.

        Later calls raise :class:`Unavailable`.
        """

    # -- users and sessions --------------------------------------------------------------

    @abstractmethod
    async def create_user(
        self,
        name: str,
        password_hash: str,
        *,
        admin: bool | None = None,
        actor: Actor | None = None,
    ) -> User:
        """Create an account. With ``admin=None`` the first account ever created is an admin.
        ``actor`` (the operator, an admin; not a self-registration): audited as ``user.add``.

        Raises :class:`Conflict` when the name is taken (case-insensitively).
        """

    @abstractmethod
    async def get_user(self, name: str) -> User | None:
        """The user with this name (case-insensitive), disabled or not."""

    @abstractmethod
    async def get_user_by_id(self, user_id: int) -> User | None:
        """The user with this id."""

    @abstractmethod
    async def list_users(self) -> list[User]:
        """Every user, oldest account first."""

    @abstractmethod
    async def set_password(
        self, user_id: int, password_hash: str, *, actor: Actor | None = None
    ) -> list[str]:
        """Replace a user's password hash and end every session of the user, in one
        transaction; return the ended sessions' token hashes. Raises :class:`NotFound`. With
        ``actor``: audited (``user.set_password`` and, when sessions ended, ``session.revoke``;
        never the password or its hash)."""

    @abstractmethod
    async def rehash_password(self, user_id: int, old_hash: str, new_hash: str) -> bool:
        """Replace the hash ``old_hash`` of the same password by ``new_hash`` (a sign-in
        upgrading it to today's cost): the sessions stay, nothing is audited. False (nothing
        changed) if the user's hash is no longer ``old_hash`` or there is no such user."""

    @abstractmethod
    async def set_disabled(
        self, user_id: int, disabled: bool, *, actor: Actor | None = None
    ) -> list[str]:
        """Disable an account and end its sessions, in one transaction (their token hashes are
        returned), or enable it (nothing ended). Raises :class:`NotFound`. With ``actor``:
        audited (``user.disable`` and, when sessions ended, ``session.revoke``;
        ``user.enable``)."""

    @abstractmethod
    async def create_session(self, user_id: int, token_hash: str, expires_at: int) -> Session:
        """Store a new session. Raises :class:`NotFound` for an unknown user."""

    @abstractmethod
    async def get_session(self, token_hash: str, now: int) -> Session | None:
        """The live session with this token hash: None if unknown, expired at ``now``, or
        its user is disabled."""

    @abstractmethod
    async def delete_session(self, token_hash: str, *, actor: Actor | None = None) -> bool:
        """Revoke one session; False if there was none. With ``actor`` (the user signing
        out): audited as ``session.end``."""

    @abstractmethod
    async def delete_sessions_of(self, user_id: int, *, actor: Actor | None = None) -> list[str]:
        """Revoke every session of a user; return their token hashes. With ``actor``, when
        there were some: audited as ``session.revoke``."""

    @abstractmethod
    async def claimable(self, token_hash: str, now: int) -> User | None:
        """The account a live claim token (``parley import``, migration 0011) is for."""

    @abstractmethod
    async def claim(self, token_hash: str, password_hash: str, now: int) -> User | None:
        """Use a live claim token: set its account's password and delete the account's claim
        tokens, in one transaction; None if the token is not live (used meanwhile)."""

    # -- rooms ---------------------------------------------------------------------------

    @abstractmethod
    async def create_room(
        self,
        name: str,
        kind: RoomKind,
        *,
        creator_id: int | None,
        topic: str = "",
        quotas: RoomQuotas | None = None,
    ) -> tuple[Room, list[Event]]:
        """Create a room. The creator (if any) becomes its first member: one ``join`` event.

        Returns the room as it is after the creation (``last_seq`` included) and its events.
        Raises :class:`Conflict` when the name is taken (case-insensitively), and
        :class:`LimitReached` when the creator already created ``quotas.created.most`` rooms
        (direct ones included) within its window.
        """

    @abstractmethod
    async def open_direct(
        self, user_id: int, other_id: int, *, quotas: RoomQuotas | None = None
    ) -> tuple[Room, list[Event]]:
        """The direct room of two different users, created with both as members on first use.

        Its name is ``dm:<a>:<b>`` with the two lower-cased user names in sorted order, so
        there is exactly one per pair. Returns the events the call created (none if the room
        existed). Raises :class:`NotFound` for an unknown user, :class:`Forbidden` when both
        ids are the same user (there is no direct room with oneself), and :class:`Conflict`
        when a room that is not a direct room already has that name. Creating it counts as a
        room created by ``user_id`` and as an invitation received by ``other_id``:
        :class:`LimitReached` when either quota is used up (an existing room costs nothing).
        """

    @abstractmethod
    async def get_room(self, name: str) -> Room | None:
        """The room with this name (case-insensitive)."""

    @abstractmethod
    async def get_room_by_id(self, room_id: int) -> Room | None:
        """The room with this id."""

    @abstractmethod
    async def is_member(self, room_id: int, user_id: int) -> bool:
        """Whether the user is a member of the room."""

    @abstractmethod
    async def room_members(
        self, room_id: int, *, after: str | None = None, limit: int | None = None
    ) -> list[tuple[int, str]]:
        """The room's members as ``(user id, name)``, sorted by name case-insensitively: at
        most ``limit`` (None: all), those after the name ``after`` (any case) when given."""

    @abstractmethod
    async def rooms_for(self, user_id: int) -> list[RoomView]:
        """The rooms a user can see: every public room, and the private and direct rooms the
        user is a member of. Sorted by name."""

    @abstractmethod
    async def member_rooms(self, user_id: int) -> list[RoomView]:
        """The rooms a user is a member of (public, private, direct), sorted by name: what a
        ``welcome`` lists, bounded by what the user joined, not by the server's size."""

    @abstractmethod
    async def visible_rooms(
        self, user_id: int, *, query: str = "", after: str | None = None, limit: int = 50
    ) -> list[RoomView]:
        """A page of :meth:`rooms_for`: at most ``limit`` of the rooms the user can see whose
        name contains ``query`` (any case), after the name ``after`` (any case), sorted by
        name. ``query`` holds only the characters of room names."""

    # -- events --------------------------------------------------------------------------

    @abstractmethod
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
        """Append a ``message`` event. ``user_id`` None is a guest (plain-text client).

        ``files``: upload ids the message takes (a signed-in author's own, unsent, not
        avatars; else :class:`UploadNotFound` and nothing is stored).

        With a ``cid`` the author already used (per user; guests have no ``cid`` scope, theirs
        is ignored) returns the original with ``duplicate=True`` and stores nothing.
        Raises :class:`NotFound` for an unknown room.

        ``thread``: a reply in the thread of that message of the room (a reply's: its root's;
        the event's ``thread`` is the root's id), :class:`NotFound` when it is not a message
        of the room or is deleted; the event carries the thread's summary after it, and the
        writer, the root's author and the members mentioned follow the thread.
        ``broadcast``: shown in the room's main timeline too (only with ``thread``). Only
        main-timeline messages count in :meth:`unread_count` and unread mentions.
        """

    @abstractmethod
    async def edit_message(
        self, room_id: int, user_id: int, author: str, mid: int, text: str, *, any_author: bool
    ) -> Event:
        """Append an ``edit`` event and change the message's text.

        Raises :class:`NotFound` when the room has no such message or it is deleted, and
        :class:`Forbidden` when it is someone else's and ``any_author`` (admins) is False.
        """

    @abstractmethod
    async def delete_message(
        self, room_id: int, user_id: int, author: str, mid: int, *, any_author: bool
    ) -> Event:
        """Append a ``delete`` event and remove the message's text (and its edits' texts).

        Raises as :meth:`edit_message` does.
        """

    @abstractmethod
    async def join(
        self,
        room_id: int,
        user_id: int,
        author: str,
        *,
        by: str | None = None,
        quotas: RoomQuotas | None = None,
    ) -> Event | None:
        """Make the user a member and append a ``join`` event (``by``: the inviter).

        Returns None, storing nothing, when the user already is a member. An invitation
        (``by`` given) raises :class:`LimitReached` when the user already received
        ``quotas.invited.most`` invitations (and direct rooms opened by others) within its
        window.
        """

    @abstractmethod
    async def leave(self, room_id: int, user_id: int, author: str) -> Event | None:
        """Remove the membership and append a ``leave`` event; None if not a member."""

    @abstractmethod
    async def set_topic(self, room_id: int, user_id: int, author: str, topic: str) -> Event:
        """Change the room's topic and append a ``topic`` event."""

    @abstractmethod
    async def mark_read(self, room_id: int, user_id: int, seq: int) -> int:
        """Move the user's read marker forward to ``seq`` (never backwards, never past the
        room's ``last_seq``); return the marker. Does nothing for a non-member (returns 0)."""

    @abstractmethod
    async def unread_count(self, room_id: int, user_id: int) -> int:
        """Messages by others, not deleted, after the user's read marker (0 for a
        non-member), at most :data:`UNREAD_CAP`. A new member's marker starts at their join
        event. ``RoomView.unread`` (from :meth:`rooms_for`) counts the same way."""

    @abstractmethod
    async def unread_state(self, room_id: int, user_id: int) -> UnreadState:
        """The member's read marker, :meth:`unread_count`, and how many of those unread
        messages mention the user (by name, or ``@room`` by someone else; capped likewise).
        All zero for a non-member. ``RoomView.mentions`` counts the same way."""

    @abstractmethod
    async def mentions_of(self, user_id: int, before: int | None, limit: int) -> list[Event]:
        """Up to ``limit`` messages mentioning the user (by name, or ``@room`` by someone
        else) in rooms the user is a member of, in their current state (the latest text;
        never a deleted one), newest first: highest message id (``mid``) first, below
        ``before`` when given.

        Mentions are parsed when a message is posted or edited, and resolved against the
        room's members then: ``post_message`` and ``edit_message`` raise
        :class:`MentionRefused` for more than ``MAX_MENTIONS`` names or an ``@room`` the
        writer may not use (a room of more than ``SMALL_ROOM`` members: only its creator and
        admins). An edit's event names the mentions it added and removed; a delete's, those
        it removed."""

    @abstractmethod
    async def set_notify(
        self, room_id: int, user_id: int, level: NotifyLevel, muted_until: int
    ) -> bool:
        """Store the member's notification level for the room and the end of its mute (ms
        since the epoch; 0: not muted); False, storing nothing, for a non-member. Leaving the
        room forgets them. ``RoomView.notify`` and ``RoomView.muted_until`` show them."""

    # -- email for missed mentions and direct messages -------------------------------------

    @abstractmethod
    async def set_email(self, user_id: int, address: str | None, notify: bool) -> bool:
        """Store the user's email address (None: none) and whether they want email for
        missed mentions and direct messages; False for an unknown user."""

    @abstractmethod
    async def get_email(self, user_id: int) -> tuple[str | None, bool]:
        """The user's email address (None: none) and whether they want email."""

    @abstractmethod
    async def claim_emails(
        self, *, now: int, due: int, since: int, lease_until: int, limit: int
    ) -> list[EmailDue]:
        """Claim up to ``limit`` messages to mail, each (user, message) at most once across
        every process and restart: mentions of the user and direct messages to them made
        within ``(since, due]``, still unread and not deleted, in rooms not set to ``none``
        nor muted at ``now``, for users with an address and email on; then those given back by
        :meth:`finish_emails` whose retry time came, and claims whose lease (``lease_until``
        of the claimer) ran out. A retried one that is no longer due is dropped, not
        returned."""

    @abstractmethod
    async def finish_emails(
        self, keys: list[tuple[int, int]], *, sent: bool, now: int, retry_at: int
    ) -> None:
        """Record the outcome for (user id, message id) pairs: sent, or to be retried from
        ``retry_at``."""

    # -- threads, reactions, pins, versions (docs/protocol.md) ------------------------------

    @abstractmethod
    async def react(
        self, room_id: int, user_id: int, author: str, mid: int, emoji: str, *, add: bool
    ) -> Toggled:
        """Add (``add``) or take back the member's reaction ``emoji`` on message ``mid``: a
        ``reaction`` event (``removed`` when taken back) whose ``count`` is that emoji's
        total after it. Already so: nothing appended, and ``seq`` is the event that added it
        (None for a reaction not there). :class:`NotFound` for a message not in the room or
        deleted, :class:`Forbidden` for a non-member, :class:`TooManyReactions` for a new
        emoji on a message that has the most."""

    @abstractmethod
    async def pin(
        self, room_id: int, user_id: int, author: str, mid: int, *, pinned: bool
    ) -> Toggled:
        """Pin (``pinned``) or unpin message ``mid``: a ``pin`` / ``unpin`` event. Already so:
        nothing appended (``seq``: the pin event of a pinned message). :class:`NotFound` as
        :meth:`react`; :class:`Forbidden` for a non-member or one who may not pin it (not its
        author, the room's creator or an admin)."""

    @abstractmethod
    async def pinned_messages(self, room_id: int, before: int | None, limit: int) -> list[Event]:
        """Up to ``limit`` pinned messages, most recently pinned first (``Event.pinned``: the
        pin's seq, below ``before``), in their current state."""

    @abstractmethod
    async def versions(
        self, room_id: int, mid: int, before: int | None, limit: int
    ) -> tuple[list[Version], bool]:
        """The newest ``limit`` versions of message ``mid`` with seqs below ``before``,
        oldest first (as sent, then each edit), and whether older ones exist.
        :class:`NotFound` for a message not in the room, or deleted (a delete erases them)."""

    @abstractmethod
    async def thread_replies(
        self, room_id: int, mid: int, before: int | None, limit: int
    ) -> tuple[Event, list[Event]]:
        """The root of the thread of message ``mid`` (deleted or not) and the newest
        ``limit`` replies with seqs below ``before``, oldest first, current state.
        :class:`NotFound` when ``mid`` is not a message of the room."""

    @abstractmethod
    async def thread_following(self, room_id: int, user_id: int, mid: int) -> bool:
        """Whether the user follows the thread of message ``mid`` (deleted or not): by
        ``follow``, replying or being mentioned in it, or as its root's author who did not
        ``unfollow``. :class:`NotFound` when ``mid`` is not a message of the room."""

    @abstractmethod
    async def set_following(self, room_id: int, user_id: int, mid: int, following: bool) -> int:
        """Follow or stop following the thread of message ``mid``; the root's id.
        :class:`NotFound` when ``mid`` is not a live message of the room."""

    @abstractmethod
    async def mark_thread_read(
        self, room_id: int, user_id: int, mid: int, seq: int
    ) -> tuple[int, UnreadState]:
        """Move the user's marker of the thread of ``mid`` to ``seq`` (never back, never past
        the room's latest seq); the root's id and the thread's unread replies by others and
        mentions of the user after the marker."""

    @abstractmethod
    async def followed_threads(
        self, user_id: int, after: tuple[int, int] | None, limit: int
    ) -> list[ThreadView]:
        """Up to ``limit`` threads the user follows with replies, in the user's rooms, most
        recently replied-to first, after ``(last_reply_ts, root id)``."""

    @abstractmethod
    async def events_after(self, room_id: int, after: int, limit: int) -> list[Event]:
        """Up to ``limit`` events with ``seq > after``, oldest first."""

    @abstractmethod
    async def events_before(self, room_id: int, before: int | None, limit: int) -> list[Event]:
        """The ``limit`` newest events with ``seq < before`` (or the newest overall when
        ``before`` is None), oldest first."""

    @abstractmethod
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
        """Up to ``limit`` messages matching ``query``, newest first (by ``mid``), with
        ``mid < before`` when given: their current state (edited text; never a deleted one).

        Only from rooms the user is a member of, and every public room when ``public``;
        within ``room_ids`` when given (a room there the user may not read gives nothing).
        Edits and deletes change the index in their own transaction: an edit's old text and
        a deleted message are never found. A new message may be indexed a moment after its
        commit (SQLite; see migration 0005): ``SearchPage.pending`` counts those not yet
        searchable, and the store's indexer keeps them below a bound.
        """

    # -- the operator's tools (parley room ..., parley user rename) ------------------------

    @abstractmethod
    async def list_rooms(self) -> list[tuple[Room, int]]:
        """Every room, with its number of members, sorted by name."""

    @abstractmethod
    async def set_archived(
        self, room_id: int, archived: bool, *, author: str, actor: Actor | None = None
    ) -> Event | None:
        """Archive the room (read-only: :meth:`post_message`, edits, joins, topics then raise
        :class:`Archived`; leaving still works) or unarchive it, with an ``archive`` or
        ``unarchive`` event by ``author``. None, storing nothing, when it already is so.
        Raises :class:`NotFound`, and :class:`Forbidden` for the lobby."""

    @abstractmethod
    async def rename_room(
        self, room_id: int, name: str, *, author: str, actor: Actor | None = None
    ) -> Event:
        """Rename the room, with a ``rename`` event (``text``: the new name, ``previous``:
        the old). Raises :class:`NotFound`, :class:`Conflict` when the name is taken, and
        :class:`Forbidden` for the lobby."""

    @abstractmethod
    async def delete_room(self, room_id: int, *, actor: Actor | None = None) -> list[int]:
        """Erase the room with all its events and memberships; returns the ids of its
        members. Raises :class:`NotFound`, and :class:`Forbidden` for the lobby."""

    @abstractmethod
    async def rename_user(
        self, user_id: int, name: str, *, actor: Actor | None = None
    ) -> tuple[User, list[Event]]:
        """Rename an account, and its name wherever it is stored (its events' author, the
        inviter of joins, the ``by`` of moderation); its direct rooms are renamed with
        ``rename`` events, returned; its sessions end in the same transaction. Raises
        :class:`NotFound`, and :class:`Conflict` when the name is taken.

        The operator's tools (these, :meth:`set_archived`, :meth:`rename_room`,
        :meth:`delete_room`) take an ``actor``: the act is then audited (``room.archive``,
        ``room.rename``, ``user.rename`` ...) in its own transaction."""

    # -- administration: settings, users, rooms, sessions, invitations -------------------
    # Each change records its audit entry (``actor``: who, from where) in its transaction.

    @abstractmethod
    async def get_setting(self, name: str) -> str | None:
        """A runtime setting an admin stored (None: never set, the flag decides)."""

    @abstractmethod
    async def set_setting(self, name: str, value: str, *, actor: Actor) -> None:
        """Store a runtime setting; every node reads it from here."""

    @abstractmethod
    async def find_users(
        self, query: str = "", *, after: str | None = None, limit: int = 50
    ) -> list[User]:
        """At most ``limit`` users whose name contains ``query`` (any case), after the name
        ``after`` (any case), sorted by name."""

    @abstractmethod
    async def set_admin(self, user_id: int, admin: bool, *, actor: Actor) -> None:
        """Make the user a server admin, or not. Raises :class:`NotFound`."""

    @abstractmethod
    async def sessions_of(self, user_id: int, now: int, limit: int = 50) -> list[Session]:
        """The user's live sessions at ``now``, newest first. Raises :class:`NotFound`."""

    @abstractmethod
    async def end_session(self, user_id: int, session_id: str, *, actor: Actor) -> list[str]:
        """End the user's session whose token hash starts with ``session_id``; return the
        token hashes ended (empty: none). Raises :class:`NotFound` for an unknown user."""

    @abstractmethod
    async def find_rooms(
        self, query: str = "", *, after: str | None = None, limit: int = 50
    ) -> list[tuple[Room, int]]:
        """As :meth:`list_rooms`, a page at a time: names containing ``query`` (any case),
        after ``after``."""

    @abstractmethod
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
        """Store an invitation (only its token's hash). Raises :class:`NotFound` for a room
        that does not exist."""

    @abstractmethod
    async def get_invite(self, token_hash: str) -> Invite | None:
        """The invitation of a token's hash, in whatever state."""

    @abstractmethod
    async def list_invites(self, *, before: int | None = None, limit: int = 50) -> list[Invite]:
        """Invitations, newest first, with ids below ``before`` when given."""

    @abstractmethod
    async def revoke_invite(self, invite_id: int, now: int, *, actor: Actor) -> Invite:
        """Revoke an unused invitation. Raises :class:`NotFound`, :class:`InviteRefused`
        (``used``)."""

    @abstractmethod
    async def redeem_account_invite(
        self, token_hash: str, name: str, password_hash: str, now: int
    ) -> tuple[User, list[Event]]:
        """Create an account with an ``account`` invitation, in one transaction with its
        use: the user, and the ``join`` events of the lobby and of the invitation's rooms.
        Raises :class:`InviteRefused` (unknown, used, expired, revoked) and
        :class:`Conflict` (the name is taken: the invitation stays unused)."""

    @abstractmethod
    async def redeem_room_invite(self, token_hash: str, user_id: int, now: int) -> list[Event]:
        """Join the rooms of a ``room`` invitation as an existing user; the ``join`` events.
        Raises :class:`InviteRefused`."""

    # -- room roles and moderation (migration 0009; parley/permissions.py) -------------------
    #
    # Each act locks the room, checks the actor's right over the target (NotPermitted: no
    # right, oneself, or a target of the same or a higher rank; NotMember: kick, mute or role
    # of a non-member; NotFound: no such room or user), appends its event (``user``: the
    # member acted on, ``by``: the actor) and records its audit entry (``address``: the
    # actor's client address), in one transaction.

    @abstractmethod
    async def room_place(self, room_id: int, user_id: int) -> Place:
        """The room's settings and the user's standing there now. Raises :class:`NotFound`."""

    @abstractmethod
    async def room_roles(self, room_id: int) -> list[tuple[str, Role]]:
        """The room's owners and moderators, by name."""

    @abstractmethod
    async def set_role(
        self,
        room_id: int,
        actor_id: int | None,
        target_id: int,
        role: Role,
        *,
        address: str | None,
    ) -> Event | None:
        """A ``role`` event; None, storing nothing, when the member already has it. Owners
        and admins only, and nobody gives a rank above their own; ``actor_id`` None: the
        operator (``parley room owner``), who may in any room but a direct one."""

    @abstractmethod
    async def kick(
        self, room_id: int, actor_id: int, target_id: int, *, address: str | None
    ) -> Event:
        """Remove the member (and their role): a ``kick`` event."""

    @abstractmethod
    async def ban(
        self,
        room_id: int,
        actor_id: int,
        target_id: int,
        until: int | None,
        *,
        address: str | None,
    ) -> Event:
        """Ban the user until ``until`` (None: no end; a member is removed, with their role):
        :meth:`join` then raises :class:`Banned` for them, invited or not. A ban event."""

    @abstractmethod
    async def unban(
        self, room_id: int, actor_id: int, target_id: int, *, address: str | None
    ) -> Event | None:
        """Lift a ban in force; None when there is none."""

    @abstractmethod
    async def mute(
        self, room_id: int, actor_id: int, target_id: int, until: int, *, address: str | None
    ) -> Event:
        """Keep a member from posting until ``until`` (:meth:`post_message` raises
        :class:`Muted`). An end in the past or too far away raises :class:`NotPermitted`."""

    @abstractmethod
    async def unmute(
        self, room_id: int, actor_id: int, target_id: int, *, address: str | None
    ) -> Event | None:
        """Lift a mute in force; None when there is none."""

    @abstractmethod
    async def set_room_settings(
        self, room_id: int, actor_id: int, changes: dict[str, str], *, address: str | None
    ) -> Event | None:
        """Change some of the room's settings (names of ``RoomSettings``, values ``members``
        or ``moderators``): a ``settings`` event; None when nothing changes. Owners and
        admins only. Posting, topics (and invitations, checked by the chat layer) follow."""

    # -- the audit log (migration 0009; store/sql/audit_ops.py) ------------------------------

    @abstractmethod
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
        """Record an event that has no transaction of its own (a refused sign-in). An action
        of the store records its entry in its own transaction instead (``audit_ops.record``).
        Never pass a password, a token or a message's text."""

    @abstractmethod
    async def audit_log(self, where: AuditFilter) -> list[AuditEntry]:
        """A page of the audit log, newest first: the entries matching ``where``, at most
        ``where.limit`` (capped at ``audit_ops.MAX_PAGE``), ids below ``where.before``."""

    @abstractmethod
    async def remove_audit_before(self, before: int, limit: int) -> int:
        """Remove up to ``limit`` audit entries written before ``before`` (ms since the
        epoch), oldest first; how many (fewer than ``limit``: none is left)."""

    # -- uploads and profiles (parley/store/sql/file_ops.py) --------------------------------

    @abstractmethod
    async def add_upload(self, upload: Upload, *, quota: int) -> None:
        """Record an upload whose bytes are in the blob store. Raises :class:`QuotaExceeded`
        when the owner's uploads would hold more than ``quota`` bytes."""

    @abstractmethod
    async def get_upload(self, upload_id: str) -> Upload | None:
        """The upload, whoever owns it and wherever it was sent."""

    @abstractmethod
    async def readable_upload(self, upload_id: str, reader_id: int) -> Upload | None:
        """The upload if ``reader_id`` may fetch it now (its uploader before it is sent, a
        member of its room after, anyone for a current avatar), else None."""

    @abstractmethod
    async def used_bytes(self, user_id: int) -> int:
        """The bytes the user's stored uploads hold (what the quota counts)."""

    @abstractmethod
    async def set_profile(
        self, user_id: int, *, display_name: str | None, avatar: str | None
    ) -> Profile:
        """Change the user's display name and avatar (None: unchanged; "": removed); the
        avatar must be an unused avatar upload of the user (else :class:`UploadNotFound`)."""

    @abstractmethod
    async def profile_of(self, user_id: int) -> Profile: ...

    @abstractmethod
    async def profiles(self, user_ids: Iterable[int]) -> dict[int, Profile]:
        """The profiles of those users that have a display name or an avatar."""

    @abstractmethod
    async def drop_stale_uploads(self, older_than: int) -> int:
        """Remove unsent, unused uploads created before ``older_than``; how many."""

    @abstractmethod
    async def referenced(self, hashes: Sequence[str]) -> set[str]:
        """Those blob hashes an upload still refers to."""


def direct_room_name(name_a: str, name_b: str) -> str:
    """The name of the direct room of two users (see :meth:`Store.open_direct`)."""
    low_a, low_b = sorted((name_a.lower(), name_b.lower()))
    return f"dm:{low_a}:{low_b}"


__all__ = [
    "LOBBY",
    "UNREAD_CAP",
    "Appended",
    "Archived",
    "Banned",
    "Conflict",
    "Event",
    "Forbidden",
    "InviteRefused",
    "LimitReached",
    "MentionRefused",
    "Muted",
    "NotFound",
    "NotMember",
    "NotPermitted",
    "Quota",
    "QuotaExceeded",
    "Room",
    "RoomKind",
    "RoomQuotas",
    "RoomView",
    "SearchPage",
    "Session",
    "Store",
    "StoreError",
    "Unavailable",
    "UploadNotFound",
    "User",
    "direct_room_name",
]
