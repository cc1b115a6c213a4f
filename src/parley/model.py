"""The chat domain's plain values: users, sessions, rooms and room events.

Shared by the store (which persists them), the chat layer (which acts on them) and the
protocol encoder (which puts them on the wire). Frozen and slotted: they are passed around
and cached, never mutated.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class RoomKind(StrEnum):
    """Who may see a room."""

    PUBLIC = "public"  #: anyone signed in may read and join it
    PRIVATE = "private"  #: members only; a member invites others
    DIRECT = "direct"  #: a private room of exactly two users, named by the pair


class EventKind(StrEnum):
    """Every change to a room is one of these, with the room's next ``seq``."""

    MESSAGE = "message"
    EDIT = "edit"
    DELETE = "delete"
    JOIN = "join"
    LEAVE = "leave"
    TOPIC = "topic"
    #: The operator renamed the room: ``text`` is the new name, ``previous`` the old one.
    RENAME = "rename"
    #: The room became read-only (history stays), or writable again.
    ARCHIVE = "archive"
    UNARCHIVE = "unarchive"
    #: A user added (or, with ``removed``, took back) an emoji on message ``mid``.
    REACTION = "reaction"
    #: Message ``mid`` was pinned to the room, or unpinned.
    PIN = "pin"
    UNPIN = "unpin"
    # Moderation (migration 0009): ``user`` is the member acted on, ``by`` who acted.
    #: ``text``: the member's new role (``owner``, ``moderator``, ``member``).
    ROLE = "role"
    #: The member was removed from the room.
    KICK = "kick"
    #: The member was removed and cannot join nor be invited until ``until`` (None: ever).
    BAN = "ban"
    UNBAN = "unban"
    #: The member cannot post until ``until``.
    MUTE = "mute"
    UNMUTE = "unmute"
    #: ``text``: the room's settings after the change (``permissions.RoomSettings``).
    SETTINGS = "settings"


class NotifyLevel(StrEnum):
    """Which messages of a room notify a member (the browser's notifications, email)."""

    ALL = "all"  #: every message by others
    MENTIONS = "mentions"  #: mentions of the member (and, in direct rooms, every message)
    NONE = "none"  #: nothing


@dataclass(frozen=True, slots=True)
class User:
    id: int
    name: str
    password_hash: str
    is_admin: bool
    disabled: bool
    created_at: int  #: milliseconds since the epoch


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in session. Only the SHA-256 of its token is ever stored."""

    token_hash: str
    user: User
    created_at: int
    expires_at: int  #: milliseconds since the epoch


@dataclass(frozen=True, slots=True)
class Room:
    id: int
    name: str
    kind: RoomKind
    topic: str
    created_at: int
    #: The seq of the room's newest event (0 for a room without events).
    last_seq: int
    #: Read-only: nothing is appended to it but an ``unarchive`` (members may still leave).
    archived: bool = False

    @property
    def private(self) -> bool:
        return self.kind is not RoomKind.PUBLIC


@dataclass(frozen=True, slots=True)
class RoomView:
    """A room as one user sees it in their room list."""

    room: Room
    member: bool
    #: The newest seq this user marked as read (0: nothing read).
    last_read_seq: int
    #: Messages by others, not deleted, after ``last_read_seq`` (0 when not a member).
    unread: int
    #: For a direct room, the two users' names; empty otherwise.
    members: tuple[str, ...] = ()
    #: Of ``unread``, the messages that mention this user (by name or ``@room``).
    mentions: int = 0
    #: The member's notification level for the room (see :class:`NotifyLevel`).
    notify: NotifyLevel = NotifyLevel.MENTIONS
    #: The room is muted until then (ms since the epoch); 0: not muted.
    muted_until: int = 0


@dataclass(frozen=True, slots=True)
class UnreadState:
    """Where a member stands in a room: the read marker, the unread messages, and how many
    of those mention the member."""

    read: int
    unread: int
    mentions: int


@dataclass(frozen=True, slots=True)
class Reaction:
    """One emoji's reactions on a message: how many, and the first few who reacted (in the
    order they did; bounded, ``count`` says how many in all)."""

    emoji: str
    count: int
    users: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FileRef:
    """A file as a message carries it (and as an upload is described): what a client needs to
    show it and to fetch it (``/files/{id}/{name}``). Sizes in pixels are 0 for a file that is
    not an image; the thumbnail's when it has none."""

    id: str
    name: str
    type: str
    size: int
    width: int = 0
    height: int = 0
    thumb_width: int = 0
    thumb_height: int = 0


@dataclass(frozen=True, slots=True)
class Upload:
    """A stored upload (``uploads`` row): a file, its owner, and where it was sent."""

    file: FileRef
    owner_id: int
    hash: str  #: SHA-256 (hex) of the bytes served
    thumb_hash: str | None
    avatar: bool  #: made for a profile picture: square thumbnail, never in a message
    created_at: int
    message_id: int | None  #: None until sent
    room_id: int | None


@dataclass(frozen=True, slots=True)
class Profile:
    """How a user wants to be shown: a display name ("" for none) and an avatar (an upload
    id, "" for none). The user name stays the identity."""

    display_name: str = ""
    avatar: str = ""


@dataclass(frozen=True, slots=True)
class Event:
    """One event of a room's stream, as stored.

    ``mid`` is a message's server id (unique across rooms): on a ``message`` event its own id,
    on ``edit`` and ``delete`` the id of the message they change. Read back from the store, a
    ``message`` event carries the message's current state: its latest text and ``edited``, or
    ``deleted`` with the text removed (the text of a deleted message is never served again,
    not even by the edit events that preceded the deletion).
    """

    room: str
    room_id: int
    seq: int
    kind: EventKind
    user: str  #: the author's name; a guest's name for plain-text clients
    user_id: int | None  #: None for a guest
    ts: int  #: milliseconds since the epoch, when the store committed it
    mid: int | None = None
    text: str | None = None  #: message and edit: the text; topic: the new topic
    edited: bool = False
    deleted: bool = False
    by: str | None = None  #: join by invitation: who invited
    cid: str | None = None  #: the client's message id of a message, if it gave one
    previous: str | None = None  #: rename: the room's name before
    #: message: whom it mentions now (user names, ``@room`` for everyone); edit: whom the
    #: message mentions after the edit. Parsed by the server (``protocol/mentions.py``).
    mentions: tuple[str, ...] = ()
    #: edit: the mentions it added (notified) and removed (retracted).
    mentions_added: tuple[str, ...] = ()
    mentions_removed: tuple[str, ...] = ()
    #: message: the root's ``mid`` when it is a reply in a thread; delete: the same, of the
    #: reply deleted.
    thread: int | None = None
    #: A reply shown in the room's main timeline too.
    broadcast: bool = False
    #: The thread's summary: on a root, its own; on a reply (and the delete of one), its
    #: thread's. ``last_reply_ts`` is None when the thread never had a reply.
    replies: int = 0
    last_reply_ts: int | None = None
    repliers: tuple[str, ...] = ()
    #: message, read back: its current reactions, by first use.
    reactions: tuple[Reaction, ...] = ()
    #: message, read back: the seq of the ``pin`` event that pinned it (None: not pinned).
    pinned: int | None = None
    #: reaction: the emoji; ``count``: that emoji's total on the message after it (read
    #: back: now); ``removed``: the reaction was taken back.
    emoji: str | None = None
    count: int | None = None
    removed: bool = False

    #: message: its files, in the order sent (none once it is deleted).
    files: tuple[FileRef, ...] = ()
    #: ban and mute: when it ends (ms since the epoch); None: a ban without end.
    until: int | None = None


@dataclass(frozen=True, slots=True)
class Toggled:
    """The result of a change that may already be in place (react, unreact, pin, unpin):
    ``event`` is the event appended, or None when nothing changed; ``seq`` is the seq of the
    event that made the current state (None when there is none, e.g. an unreact of nothing)."""

    event: Event | None
    seq: int | None


@dataclass(frozen=True, slots=True)
class Version:
    """One version of a message's text: as sent (the message's seq, ts and author) or as an
    edit made it (the edit's)."""

    seq: int
    ts: int
    user: str
    text: str


@dataclass(frozen=True, slots=True)
class ThreadView:
    """A thread a user follows: its root message (current state), the user's read marker in
    it, and the replies by others after it (``unread``; ``mentions`` of them mention the user)."""

    root: Event
    read: int
    unread: int
    mentions: int


@dataclass(frozen=True, slots=True)
class Appended:
    """The result of posting a message.

    ``duplicate`` is True when the author had already posted a message with the same client
    message id: ``event`` is then that original message and nothing new was stored.
    """

    event: Event
    duplicate: bool
    #: A reply: the users it made follow its thread who did not before (replier, mentioned).
    new_followers: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class EmailDue:
    """A message to mail to a user who missed it: claimed by this node until ``claimed_until``
    (see :meth:`~parley.store.base.Store.claim_emails`)."""

    user_id: int
    user: str
    address: str
    message: Event
    attempts: int


class InviteKind(StrEnum):
    """What an invitation lets its holder do (migration 0010)."""

    ACCOUNT = "account"  #: create an account (and join the invitation's rooms)
    ROOM = "room"  #: an existing user joins the invitation's rooms


@dataclass(frozen=True, slots=True)
class Invite:
    """An invitation as the store keeps it: never its token, only the token's hash (its
    ``id`` names it to admins). Single use, expiring, revocable."""

    id: int
    kind: InviteKind
    #: Who made it (None: the operator's ``parley invite create``).
    created_by: str | None
    created_at: int
    expires_at: int
    #: The rooms it joins, as ``(id, name)``; rooms deleted since are left out.
    rooms: tuple[tuple[int, str], ...]
    used_at: int | None = None
    used_by: str | None = None
    revoked_at: int | None = None

    def state(self, now: int) -> str:
        """``used``, ``revoked``, ``expired`` or ``valid`` at ``now``."""
        if self.used_at is not None:
            return "used"
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        return "valid"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who does an audited act (see :class:`AuditEntry`): a user (``id``), or the operator's
    ``parley`` command (no id); ``address``: their client's address, where known."""

    name: str
    id: int | None = None
    address: str | None = None


#: The ``parley`` command run by the operator on the server's machine.
OPERATOR = Actor("operator")


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One line of the audit log: who did what, when, from where (see migration 0009).

    ``action`` names what happened as ``subject.verb`` (``room.kick``, ``user.disable``,
    ``login.throttled`` ...); ``detail`` adds what the action needs (a role, an end time), in
    words the server wrote: never a password, a token or a message's text."""

    id: int
    ts: int  #: milliseconds since the epoch, when the action's transaction ran
    actor: str  #: the name of who acted, as it was then; ``operator`` for the parley command
    action: str
    actor_id: int | None = None
    target: str | None = None  #: the user or room acted on, by name
    room: str | None = None  #: the room it happened in, by name
    address: str | None = None  #: the client's address, where known
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which entries :meth:`~parley.store.base.Store.audit_log` lists: all of them by
    default, newest first."""

    actor: str | None = None  #: who acted, by name as it was then (any case)
    action: str | None = None  #: exactly this action, or every ``room.*`` one with ``room``
    since: int | None = None  #: ms since the epoch, inclusive
    until: int | None = None  #: ms since the epoch, exclusive
    before: int | None = None  #: the page after an entry: ids below this one
    limit: int = 50
