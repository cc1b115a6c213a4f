"""The ``parley.v1`` messages as typed values: client commands and server messages.

Every frame is one JSON object whose ``"type"`` names the message. Commands may carry an
``"id"`` chosen by the client; the reply to a command carries it back as ``"re"``. Field
constraints live here, on the types, so decoding a frame validates it completely
(``protocol/codec.py``). docs/protocol.md is the reference for client authors.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from parley.protocol.names import ROOM_PATTERN, ROOM_REF_PATTERN, USERNAME_PATTERN

CommandId = Annotated[str, Meta(min_length=1, max_length=64)]
RoomName = Annotated[str, Meta(pattern=ROOM_PATTERN)]
RoomRef = Annotated[str, Meta(pattern=ROOM_REF_PATTERN)]
UserName = Annotated[str, Meta(pattern=USERNAME_PATTERN)]
ClientMessageId = Annotated[str, Meta(min_length=1, max_length=64)]
MessageId = Annotated[int, Meta(ge=1)]
Seq = Annotated[int, Meta(ge=0)]
Topic = Annotated[str, Meta(max_length=250)]
Limit = Annotated[int, Meta(ge=1, le=100)]
#: A part of a room name to look for (``rooms``): the characters a room name (a direct room's
#: ``dm:<user>:<user>`` included) may hold.
RoomQuery = Annotated[str, Meta(pattern=r"\A[A-Za-z0-9_.:\-]{0,80}\Z")]
Token = Annotated[str, Meta(min_length=1, max_length=512)]
# The text limit is the server's setting (default 4,000 characters), checked by the codec; this
# bound only stops absurd frames early.
Text = Annotated[str, Meta(max_length=1_000_000)]
#: An upload's id (``POST /api/uploads``): 128 random bits in URL-safe base64.
UploadId = Annotated[str, Meta(pattern=r"\A[A-Za-z0-9_\-]{22}\Z")]
#: The most files one message carries.
MAX_FILES = 10
#: The longest display name, in characters.
MAX_DISPLAY_NAME = 64


class Command(msgspec.Struct, tag_field="type", frozen=True, kw_only=True):
    """Base of every client → server message."""

    id: CommandId | None = None


class Auth(Command, tag="auth", frozen=True, kw_only=True):
    """First frame of a client that could not authenticate during the handshake."""

    token: Token


class Create(Command, tag="create", frozen=True, kw_only=True):
    room: RoomName
    private: bool = False
    topic: Topic = ""


class Join(Command, tag="join", frozen=True, kw_only=True):
    room: RoomRef


class Leave(Command, tag="leave", frozen=True, kw_only=True):
    room: RoomRef


class Invite(Command, tag="invite", frozen=True, kw_only=True):
    """Add a user to a room you are a member of (the way into a private room)."""

    room: RoomRef
    user: UserName


class Rooms(Command, tag="rooms", frozen=True, kw_only=True):
    """One page of the rooms you can see (public ones, and your private and direct ones),
    sorted by name: those whose name contains ``query`` (any case), after the room ``after``."""

    query: RoomQuery = ""
    after: RoomRef | None = None
    limit: Limit = 50


class Who(Command, tag="who", frozen=True, kw_only=True):
    """One page of a room's members (sorted by name), after the member named ``after``."""

    room: RoomRef
    after: UserName | None = None


class Send(Command, tag="send", frozen=True, kw_only=True):
    room: RoomRef
    #: May be "" (or left out) when ``files`` has some.
    text: Text = ""
    #: The client's id for this message: resending with the same cid never duplicates it.
    cid: ClientMessageId | None = None
    #: A reply in the thread of this message (a reply's ``mid``: its root's thread).
    thread: MessageId | None = None
    #: A reply shown in the room's main timeline too (only with ``thread``).
    broadcast: bool = False
    #: Uploads of the sender, not sent yet, that the message carries (in this order).
    files: Annotated[tuple[UploadId, ...], Meta(max_length=MAX_FILES)] = ()


class Edit(Command, tag="edit", frozen=True, kw_only=True):
    room: RoomRef
    mid: MessageId
    text: Text


class Delete(Command, tag="delete", frozen=True, kw_only=True):
    room: RoomRef
    mid: MessageId


class SetTopic(Command, tag="topic", frozen=True, kw_only=True):
    room: RoomRef
    topic: Topic


class History(Command, tag="history", frozen=True, kw_only=True):
    room: RoomRef
    before: Annotated[int, Meta(ge=1)] | None = None
    #: The events around this seq (it included), instead of before ``before``: a search
    #: result shown in its context.
    around: Annotated[int, Meta(ge=1)] | None = None
    limit: Limit = 50
    #: Only the replies of this message's thread (the reply carries its ``root`` too).
    thread: MessageId | None = None


class Search(Command, tag="search", frozen=True, kw_only=True):
    """Messages matching ``query`` (the query language: docs/protocol.md), newest first."""

    #: Checked by the query parser (``search/query.py``: 256 characters); this bound only
    #: stops absurd frames early.
    query: Annotated[str, Meta(max_length=4096)]
    #: Only this room (as ``in:room`` in the query does).
    room: RoomRef | None = None
    #: Public rooms one is not a member of too.
    public: bool = False
    limit: Annotated[int, Meta(ge=1, le=100)] = 20
    #: The cursor of a previous reply (its ``before``): the results older than it.
    before: MessageId | None = None


class Resume(Command, tag="resume", frozen=True, kw_only=True):
    """Start (or restart) the event stream: each listed room from the given last seen seq."""

    rooms: Annotated[dict[RoomRef, Seq], Meta(max_length=1000)] = msgspec.field(
        default_factory=dict
    )


class Typing(Command, tag="typing", frozen=True, kw_only=True):
    room: RoomRef


class Read(Command, tag="read", frozen=True, kw_only=True):
    room: RoomRef
    seq: Seq
    #: Move the marker of this message's thread instead of the room's.
    thread: MessageId | None = None


class Dm(Command, tag="dm", frozen=True, kw_only=True):
    user: UserName


class Mentions(Command, tag="mentions", frozen=True, kw_only=True):
    """The messages that mention you, newest first; ``before``: a ``mid`` (the last one of
    the previous page)."""

    before: MessageId | None = None
    limit: Limit = 50


#: A notification level of a room (``model.NotifyLevel``).
NotifyLevelName = Annotated[str, Meta(pattern=r"\A(?:all|mentions|none)\Z")]
#: Milliseconds since the epoch; 0: not muted.
MuteEnd = Annotated[int, Meta(ge=0, le=2**53)]


#: An email address for notifications, or "" for none: a plain one (no name, no comments, no
#: spaces, angle brackets, commas or line breaks: it goes into a header).
EmailAddress = Annotated[
    str,
    Meta(
        max_length=254,
        pattern=r"\A(?:[^\s@<>,;\"()\[\]\\]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.\-]{0,251}[A-Za-z0-9])?)?\Z",
    ),
]


class Email(Command, tag="email", frozen=True, kw_only=True):
    """Your email for missed mentions and direct messages: ``address`` ("" for none) and
    whether you want them (``notify``); without ``address``, only asks what they are."""

    address: EmailAddress | None = None
    notify: bool = True


class Notify(Command, tag="notify", frozen=True, kw_only=True):
    """Set your notification level of a room; ``until``: muted until then (0: not muted)."""

    room: RoomRef
    level: NotifyLevelName
    until: MuteEnd = 0


#: One emoji or a ``:shortcode:``: checked whole by ``protocol/reactions.py``; this bound
#: only stops absurd frames early.
Emoji = Annotated[str, Meta(min_length=1, max_length=64)]


class React(Command, tag="react", frozen=True, kw_only=True):
    """Add your reaction ``emoji`` to message ``mid``."""

    room: RoomRef
    mid: MessageId
    emoji: Emoji


class Unreact(Command, tag="unreact", frozen=True, kw_only=True):
    """Take back your reaction ``emoji`` on message ``mid``."""

    room: RoomRef
    mid: MessageId
    emoji: Emoji


class Pin(Command, tag="pin", frozen=True, kw_only=True):
    room: RoomRef
    mid: MessageId


class Unpin(Command, tag="unpin", frozen=True, kw_only=True):
    room: RoomRef
    mid: MessageId


class Pins(Command, tag="pins", frozen=True, kw_only=True):
    """A room's pinned messages, most recently pinned first; ``before``: a pin's seq."""

    room: RoomRef
    before: Annotated[int, Meta(ge=1)] | None = None
    limit: Limit = 50


class Versions(Command, tag="versions", frozen=True, kw_only=True):
    """A message's versions (as sent, then each edit), oldest first."""

    room: RoomRef
    mid: MessageId
    before: Annotated[int, Meta(ge=1)] | None = None
    limit: Limit = 50


class Follow(Command, tag="follow", frozen=True, kw_only=True):
    """Follow the thread of message ``mid``."""

    room: RoomRef
    mid: MessageId


class Unfollow(Command, tag="unfollow", frozen=True, kw_only=True):
    room: RoomRef
    mid: MessageId


#: The ``next`` of a ``threads`` reply: ``<last_reply_ts>:<root mid>``.
ThreadsCursor = Annotated[str, Meta(pattern=r"\A[0-9]{1,16}:[0-9]{1,16}\Z")]


class Threads(Command, tag="threads", frozen=True, kw_only=True):
    """The threads you follow, most recently replied-to first."""

    after: ThreadsCursor | None = None
    limit: Limit = 20


class SetProfile(Command, tag="profile", frozen=True, kw_only=True):
    """Set your display name and avatar (left out: unchanged; "": removed)."""

    display_name: Annotated[str, Meta(max_length=MAX_DISPLAY_NAME)] | None = None
    #: An upload made with ``avatar=1``, or "" for none.
    avatar: Annotated[str, Meta(pattern=r"\A(?:[A-Za-z0-9_\-]{22})?\Z")] | None = None


class Ping(Command, tag="ping", frozen=True, kw_only=True):
    pass


# -- room roles and moderation (permissions.py) ---------------------------------------------

#: A member's role in a room (``permissions.Role``).
RoleName = Annotated[str, Meta(pattern=r"\A(?:owner|moderator|member)\Z")]
#: Who may do one thing a room's settings govern (``permissions.Policy``).
PolicyName = Annotated[str, Meta(pattern=r"\A(?:members|moderators)\Z")]
#: When a ban or a mute ends, ms since the epoch (the server refuses one in the past or more
#: than about 10 years ahead).
EndTime = Annotated[int, Meta(ge=1, le=2**53)]


class SetRole(Command, tag="role", frozen=True, kw_only=True):
    """Make a member of the room an owner, a moderator, or a plain member again."""

    room: RoomRef
    user: UserName
    role: RoleName


class Kick(Command, tag="kick", frozen=True, kw_only=True):
    """Remove a member from the room (they may join again)."""

    room: RoomRef
    user: UserName


class Ban(Command, tag="ban", frozen=True, kw_only=True):
    """Remove a user from the room and keep them out until ``until`` (absent: no end)."""

    room: RoomRef
    user: UserName
    until: EndTime | None = None


class Unban(Command, tag="unban", frozen=True, kw_only=True):
    room: RoomRef
    user: UserName


class Mute(Command, tag="mute", frozen=True, kw_only=True):
    """Keep a member from posting until ``until``."""

    room: RoomRef
    user: UserName
    until: EndTime


class Unmute(Command, tag="unmute", frozen=True, kw_only=True):
    room: RoomRef
    user: UserName


class RoomSettingsCommand(Command, tag="room_settings", frozen=True, kw_only=True):
    """Change the settings given (owners), or, with none, ask what they are and who holds a
    role (any member; anyone for a public room)."""

    room: RoomRef
    post: PolicyName | None = None
    invite: PolicyName | None = None
    topic: PolicyName | None = None
    pin: PolicyName | None = None


AnyCommand = (
    Auth
    | Create
    | Join
    | Leave
    | Invite
    | Rooms
    | Who
    | Send
    | Edit
    | Delete
    | SetTopic
    | History
    | Search
    | Resume
    | Typing
    | Read
    | Dm
    | Mentions
    | Notify
    | Email
    | React
    | Unreact
    | Pin
    | Unpin
    | Pins
    | Versions
    | Follow
    | Unfollow
    | Threads
    | SetProfile
    | Ping
    | SetRole
    | Kick
    | Ban
    | Unban
    | Mute
    | Unmute
    | RoomSettingsCommand
)

COMMAND_TYPES = frozenset(
    cls.__struct_config__.tag
    for cls in (
        Auth,
        Create,
        Join,
        Leave,
        Invite,
        Rooms,
        Who,
        Send,
        Edit,
        Delete,
        SetTopic,
        History,
        Search,
        Resume,
        Typing,
        Read,
        Dm,
        Mentions,
        Notify,
        Email,
        React,
        Unreact,
        Pin,
        Unpin,
        Pins,
        Versions,
        Follow,
        Unfollow,
        Threads,
        SetProfile,
        Ping,
        SetRole,
        Kick,
        Ban,
        Unban,
        Mute,
        Unmute,
        RoomSettingsCommand,
    )
)


# -- server → client --------------------------------------------------------------------


class ServerMessage(
    msgspec.Struct, tag_field="type", frozen=True, kw_only=True, omit_defaults=True
):
    """Base of every server → client message. Fields at their default are left out."""


class UserInfo(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    name: str
    admin: bool = False
    #: The profile (left out when none): see ``profile``.
    display_name: str = ""
    avatar: str = ""


class FileInfo(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A file of a message, or an upload: fetched at ``/files/{id}/{name}``; the pixel sizes
    (images only) are left out when 0."""

    id: str
    name: str
    type: str
    size: int
    width: int = 0
    height: int = 0
    thumb_width: int = 0
    thumb_height: int = 0


class ProfileInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A member's profile in ``who`` (both fields always present; "" for none)."""

    display_name: str
    avatar: str


class RoomInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A room as the client sees it (every field always present). ``seq``: the events after
    it are streamed to you."""

    name: str
    kind: str  #: "public", "private" or "direct"
    topic: str = ""
    seq: int = 0
    member: bool = False
    unread: int = 0
    #: Direct rooms: the two users.
    members: list[str] = msgspec.field(default_factory=list)
    #: Read-only: its history can be read, nothing can be posted (see the ``archive`` event).
    archived: bool = False
    #: Of ``unread``, the messages that mention you (by name or ``@room``).
    mentions: int = 0
    #: Your notification level of the room: "all", "mentions" (the default) or "none".
    notify: str = "mentions"
    #: Muted until then (ms since the epoch); 0: not muted.
    muted_until: int = 0


class ReactionInfo(msgspec.Struct, frozen=True, kw_only=True):
    """One emoji's reactions on a message: the total, and the first who reacted (at most 10,
    in the order they did)."""

    emoji: str
    count: int
    users: list[str]


class EventMessage(ServerMessage, tag="event", frozen=True, kw_only=True):
    """One event of a room's stream, in ``seq`` order."""

    room: str
    seq: int
    kind: str
    user: str
    ts: int
    mid: int | None = None
    text: str | None = None
    edited: bool = False
    deleted: bool = False
    by: str | None = None
    cid: str | None = None
    #: ``rename``: the room's name before (``text`` is the new one).
    previous: str | None = None
    #: ``message``: whom it mentions (names; ``"@room"``: everyone); ``edit``: whom the
    #: message mentions after it. Left out when nobody.
    mentions: list[str] | None = None
    #: ``edit``: the mentions it added (notify them); ``edit`` and ``delete``: those it
    #: removed (no longer unread mentions).
    mentions_added: list[str] | None = None
    mentions_removed: list[str] | None = None
    #: ``message``: a reply in the thread of this root ``mid``; ``delete``: of such a reply.
    thread: int | None = None
    #: A reply shown in the room's main timeline too.
    broadcast: bool = False
    #: The thread's summary (on a root; on a reply and the delete of one, their thread's):
    #: replies not deleted, when the newest was posted, who replied (most recent first, 5).
    replies: int | None = None
    last_reply_ts: int | None = None
    repliers: list[str] | None = None
    #: ``message``, read back: its reactions, by first use.
    reactions: list[ReactionInfo] | None = None
    #: ``message``, read back: the seq of the ``pin`` event that pinned it.
    pinned: int | None = None
    #: ``reaction``: the emoji, its total on the message after the event (read back: now),
    #: and ``removed`` for an ``unreact``.
    emoji: str | None = None
    count: int | None = None
    removed: bool = False
    #: ``message``: its files (left out when none, and once it is deleted).
    files: list[FileInfo] | None = None
    #: ``ban``, ``mute``: when it ends (ms since the epoch); absent on a ban: no end.
    until: int | None = None
    #: ``settings``: the room's settings after the change (``post``, ``invite``, ``topic``,
    #: ``pin``: ``members`` or ``moderators``).
    settings: dict[str, str] | None = None


class Welcome(ServerMessage, tag="welcome", frozen=True, kw_only=True):
    """The first message of a connection: the user and the rooms the user is a member of.
    ``more``: the list goes on in ``more_rooms`` messages (it is cut at the reply budget)."""

    user: UserInfo
    rooms: list[RoomInfo]
    #: Milliseconds since the epoch when this session expires.
    expires: int = 0
    more: bool = False


class MoreRooms(ServerMessage, tag="more_rooms", frozen=True, kw_only=True):
    """The welcome's member rooms, continued (sent right after it, before anything else);
    the last one has ``more`` false."""

    rooms: list[RoomInfo]
    more: bool


class Ok(ServerMessage, tag="ok", frozen=True, kw_only=True):
    re: str | None = None
    room: RoomInfo | None = None
    seq: int | None = None
    online: list[str] | None = None


class Ack(ServerMessage, tag="ack", frozen=True, kw_only=True):
    """A message is stored: safe. Sent only after the store committed it."""

    re: str | None = None
    cid: str | None = None
    room: str
    seq: int
    mid: int
    ts: int


class RoomList(ServerMessage, tag="rooms", frozen=True, kw_only=True):
    """A page of rooms. ``more``: more rooms match; ask again with ``after`` = ``next``."""

    re: str | None = None
    rooms: list[RoomInfo]
    more: bool
    next: str | None = None


class WhoReply(ServerMessage, tag="who", frozen=True, kw_only=True):
    """A page of a room's members and which of them are online. ``more``: more members
    follow; ask again with ``after`` = ``next``."""

    re: str | None = None
    room: str
    members: list[str]
    online: list[str]
    more: bool
    next: str | None = None
    #: The members of this page that have a profile, by name (left out when none has).
    profiles: dict[str, ProfileInfo] | None = None


class HistoryReply(ServerMessage, tag="history", frozen=True, kw_only=True):
    re: str | None = None
    room: str
    events: list[EventMessage]
    #: True when older events exist before the first one returned (always present).
    more: bool
    #: With ``around``: True when newer events exist after the last one returned.
    newer: bool = False
    #: With ``thread`` and no ``before``: the thread's root message, in its current state.
    root: EventMessage | None = None
    #: With ``thread``: whether the requesting user follows the thread (always present then).
    following: bool | None = None


class PinsReply(ServerMessage, tag="pins", frozen=True, kw_only=True):
    """A room's pinned messages, most recently pinned first: ask again with ``before`` = the
    last event's ``pinned`` while ``more``."""

    re: str | None = None
    room: str
    events: list[EventMessage]
    more: bool


class VersionInfo(msgspec.Struct, frozen=True, kw_only=True):
    """One version of a message's text, with the event that made it (the message, an edit)."""

    seq: int
    ts: int
    user: str
    text: str


class VersionsReply(ServerMessage, tag="versions", frozen=True, kw_only=True):
    """A message's versions, oldest first; ``more``: older ones exist (ask again with
    ``before`` = the first version's ``seq``)."""

    re: str | None = None
    room: str
    mid: int
    versions: list[VersionInfo]
    more: bool


class ThreadInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A thread you follow: its room, its root (current state), your marker in it, and the
    replies by others after it (``mentions``: of those, the ones mentioning you)."""

    room: str
    root: EventMessage
    read: int
    unread: int
    mentions: int


class ThreadsReply(ServerMessage, tag="threads", frozen=True, kw_only=True):
    """The threads you follow, most recently replied-to first; ``more``: ask again with
    ``after`` = ``next``."""

    re: str | None = None
    threads: list[ThreadInfo]
    more: bool
    next: str | None = None


class FollowChanged(ServerMessage, tag="follow", frozen=True, kw_only=True):
    """You followed or stopped following a thread (here or in another tab)."""

    room: str
    thread: int
    following: bool


class SearchResult(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One message found, as it is now (the edited text)."""

    room: str
    seq: int
    mid: int
    user: str
    ts: int
    text: str
    edited: bool = False
    #: Where ``text`` matches: ``[start, end)`` ranges in code points (not UTF-16 units),
    #: in order. Marked up by the client; never HTML from the server.
    highlight: list[list[int]] = msgspec.field(default_factory=list)
    #: The message's files, as a ``message`` event carries them (left out when none).
    files: list[FileInfo] | None = None


class SearchReply(ServerMessage, tag="search", frozen=True, kw_only=True):
    re: str | None = None
    results: list[SearchResult]
    #: True when older results exist: ask again with ``before`` (always present).
    more: bool
    #: The cursor for the next page (with ``more``): send it as the request's ``before``.
    before: int | None = None
    #: Messages stored but not searchable yet (the newest; indexed within moments, and kept
    #: below a bound): left out when 0.
    pending: int = 0


class Resumed(ServerMessage, tag="resumed", frozen=True, kw_only=True):
    """Every missed event was sent; live events follow. ``rooms``: seq reached per room."""

    re: str | None = None
    rooms: dict[str, int]


class RoomChanged(ServerMessage, tag="room", frozen=True, kw_only=True):
    """Your membership of a room changed (here or in another tab): join, leave, invite, dm;
    or the room was deleted (``removed``: it is gone, with its history)."""

    room: RoomInfo
    removed: bool = False


class Presence(ServerMessage, tag="presence", frozen=True, kw_only=True):
    room: str
    user: str
    online: bool


class TypingNotice(ServerMessage, tag="typing", frozen=True, kw_only=True):
    room: str
    user: str


class Unread(ServerMessage, tag="unread", frozen=True, kw_only=True):
    """Your read marker of a room moved (for example in another tab)."""

    room: str
    read: int
    unread: int
    #: Of ``unread``, the messages that mention you (always present).
    mentions: int
    #: The marker of this thread (a root's ``mid``) moved, not the room's.
    thread: int | None = None


class MentionsReply(ServerMessage, tag="mentions", frozen=True, kw_only=True):
    """Messages that mention you, newest first, in their current state."""

    re: str | None = None
    events: list[EventMessage]
    #: True when older ones exist: ask again with ``before`` = the last event's ``mid``.
    more: bool


class EmailSettings(ServerMessage, tag="email", frozen=True, kw_only=True):
    """Your email settings, as stored (the reply to ``email``; both fields always present)."""

    re: str | None = None
    address: str
    notify: bool


class NotifyChanged(ServerMessage, tag="notify", frozen=True, kw_only=True):
    """Your notification level of a room is now this (set here or in another tab)."""

    room: str
    level: str
    until: int


class ProfileChanged(ServerMessage, tag="profile", frozen=True, kw_only=True):
    """A user who shares a room with you (or you) changed their profile; "" for none."""

    user: str
    display_name: str
    avatar: str


class RoleHolder(msgspec.Struct, frozen=True, kw_only=True):
    user: str
    role: str


class RoomSettingsReply(ServerMessage, tag="room_settings", frozen=True, kw_only=True):
    """A room's settings, your role there, and its owners and moderators by name (``more``:
    the list was cut at the reply budget)."""

    re: str | None = None
    room: str
    settings: dict[str, str]
    role: str
    roles: list[RoleHolder]
    more: bool = False


class Pong(ServerMessage, tag="pong", frozen=True, kw_only=True):
    re: str | None = None


class Error(ServerMessage, tag="error", frozen=True, kw_only=True):
    re: str | None = None
    code: str
    message: str
