"""What every import from another chat system shares (Slack's, Mattermost's): names made
valid, the report, and the rows of accounts, rooms, members and events written as the server
would have written them.

* :func:`valid_name`: a foreign name as a valid, untaken Parley name (accents dropped, other
  characters ``-``; a name taken twice, case-insensitively, gets ``-2``, ``-3``...); each
  renaming is reported.
* :class:`ChatRows`: the rows, with their ids, into a :class:`~parley.transfer.sink.Sink`.
  A message's mentions are found in its converted text and resolved against the room's
  members exactly as the server does (``store/sql/mention_ops.py``), so unread mention counts
  and the mentions view work on imported history; a reply is a ``message`` whose ``thread`` is
  its root's id (migration 0007), recorded in ``imported_threads`` too (migration 0011); a
  reaction is a ``reaction`` event and its ``reactions`` row, as ``react`` makes them.
  Members' read markers end at the room's last event: imported history is not unread.
* :func:`account_threads`: once the rows are written, the roots' reply counts and the
  threads' followers, by the server's own thread bookkeeping
  (:mod:`parley.store.sql.import_thread_ops`).
* :class:`ChatReport`: what an import did and left out, printed on standard error.
"""

from __future__ import annotations

import collections
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from parley.clock import now_ms
from parley.model import EventKind, RoomKind, Upload
from parley.protocol.codec import DEFAULT_MAX_TEXT
from parley.protocol.mentions import MAX_MENTIONS, ROOM_MENTION, find_mentions, resolve
from parley.protocol.mentions import join as join_names
from parley.protocol.names import room_problem, username_problem
from parley.protocol.text import is_blank
from parley.store.sql.file_column import encode_files
from parley.store.sql.store import SQLStore
from parley.transfer.sink import Sink
from parley.transfer.slack_text import Converted, clean

#: The columns an import from a chat system fills; the others take the database's defaults.
COLUMNS: Final = {
    "users": ("id", "name", "name_key", "is_admin", "disabled", "created_at", "email"),
    "rooms": (
        "id",
        "name",
        "name_key",
        "kind",
        "topic",
        "created_at",
        "last_seq",
        "archived",
        "created_by",
    ),
    "memberships": ("room_id", "user_id", "joined_at", "last_read_seq"),
    "events": (
        "id",
        "room_id",
        "seq",
        "kind",
        "user_id",
        "author",
        "ts",
        "text",
        "edited",
        "cid",
        "mentions",
        "thread",
        "mid",
        "emoji",
        "files",
    ),
    "mentions": ("user_id", "room_id", "seq", "message_id", "author_id", "ts", "in_thread"),
    "imported_threads": ("message_id", "room_id", "root_id"),
    "reactions": ("message_id", "emoji", "user_id", "room_id", "seq"),
    "uploads": (
        "id",
        "owner_id",
        "name",
        "type",
        "size",
        "hash",
        "width",
        "height",
        "thumb_hash",
        "thumb_width",
        "thumb_height",
        "avatar",
        "created_at",
        "message_id",
        "room_id",
    ),
}

_USER_CHARS: Final = re.compile(r"[^A-Za-z0-9_.\-]")
_ROOM_CHARS: Final = re.compile(r"[^A-Za-z0-9_\-]")
#: The longest user and room names (protocol/names.py).
_USER_LONGEST: Final = 32
_ROOM_LONGEST: Final = 40


def _name(
    wanted: str,
    fallback: str,
    taken: set[str],
    chars: re.Pattern[str],
    longest: int,
    problem: Callable[[str], str | None],
) -> str:
    ascii_only = unicodedata.normalize("NFKD", wanted).encode("ascii", "ignore").decode()
    base = chars.sub("-", ascii_only).lstrip("_.-")[:longest]
    if problem(base) is not None:
        base = fallback[:longest]
    name, number = base, 2
    while name.lower() in taken or problem(name) is not None:
        suffix = f"-{number}"
        name = base[: longest - len(suffix)] + suffix
        number += 1
    taken.add(name.lower())
    return name


def valid_name(wanted: str, fallback: str, taken: set[str], *, room: bool = False) -> str:
    """A valid user (or ``room``) name, untaken (case-insensitively) in ``taken``, for
    ``wanted``; ``fallback`` if nothing of it is usable. Adds it to ``taken``."""
    if room:
        return _name(wanted, fallback, taken, _ROOM_CHARS, _ROOM_LONGEST, room_problem)
    return _name(wanted, fallback, taken, _USER_CHARS, _USER_LONGEST, username_problem)


@dataclass
class ChatReport:
    """What an import did and left out; :meth:`lines` says it, each line prefixed with the
    source's name."""

    source: str
    users: int = 0
    channels: int = 0
    messages: int = 0
    replies: int = 0
    edited: int = 0
    files: int = 0
    uploads: int = 0
    reactions: int = 0
    joins: int = 0
    leaves: int = 0
    topics: int = 0
    replies_without_root: int = 0
    characters_replaced: int = 0
    mentions_cut: int = 0
    split_messages: int = 0  # longer than the message limit: imported in parts
    split_parts: int = 0
    skipped: collections.Counter[str] = field(default_factory=collections.Counter)
    unknown_users: set[str] = field(default_factory=set)
    renamed: list[tuple[str, str]] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)

    def rooms(self) -> str:
        """The rooms made, in the summary."""
        return f"{self.channels} channels"

    def summary(self) -> str:
        return (
            f"{self.users} users, {self.rooms()}, {self.messages} messages ({self.replies}"
            f" thread replies, {self.edited} edited, {self.uploads} files, {self.files} files"
            " listed by name),"
            f" {self.reactions} reactions, {self.joins} joins, {self.leaves} leaves,"
            f" {self.topics} topics"
        )

    def notes(self) -> list[str]:
        """Lines after the renamings (a source adds its own)."""
        if not self.replies_without_root:
            return []
        return [
            f"{self.replies_without_root} thread replies whose root is not imported (not in"
            " the export, or not a message): imported as plain messages"
        ]

    def lines(self) -> list[str]:
        said = [self.summary()]
        said += [f"renamed {old!r} to {new!r}" for old, new in self.renamed]
        said += self.notes()
        if self.unknown_users:
            said.append(
                f"{len(self.unknown_users)} users not in the export's list of users (their"
                " messages are kept, authored by the name the export gives; they are no"
                " members)"
            )
        if self.characters_replaced:
            said.append(
                f"{self.characters_replaced} characters Parley's text policy refuses were"
                " replaced by U+FFFD"
            )
        if self.mentions_cut:
            said.append(
                f"{self.mentions_cut} messages mention more than {MAX_MENTIONS} people: the"
                f" first {MAX_MENTIONS} are counted as mentions"
            )
        if self.split_messages:
            said.append(
                f"{self.split_messages} messages longer than the message limit (--max-text)"
                f" were imported as {self.split_parts} consecutive messages within it"
            )
        said += [f"not imported: {count} {what}" for what, count in sorted(self.skipped.items())]
        said += [f"not imported: {what}" for what in self.left_out]
        return [f"{self.source}: {line}" for line in said]


@dataclass
class RoomState:
    """A room being written: its members (to resolve mentions) and its counter."""

    room_id: int
    members: dict[str, int]  # Parley name -> id
    seq: int = 0
    by_key: dict[str, str] = field(init=False)  # lower-cased name -> name

    def __post_init__(self) -> None:
        self.by_key = {member.lower(): member for member in self.members}


def split_text(text: str, limit: int) -> list[str]:
    """``text`` as consecutive parts of at most ``limit`` characters (the server's message
    limit, which the source's may exceed), cut at the last line break in the second half of
    each part, else at the last space there, else at the limit; nothing is dropped but the
    break or space a cut falls on, and parts that would show nothing."""
    parts = []
    while len(text) > limit:
        cut = text.rfind("\n", limit // 2, limit + 1)
        if cut < 0:
            cut = text.rfind(" ", limit // 2, limit + 1)
        part, text = (text[:cut], text[cut + 1 :]) if cut >= 0 else (text[:limit], text[limit:])
        if not is_blank(part):
            parts.append(part)
    if not is_blank(text) or not parts:
        parts.append(text)
    return parts


class ChatRows:
    """Accounts, rooms, members and events, with their ids and seqs, into one sink."""

    def __init__(self, sink: Sink, report: ChatReport, max_text: int = DEFAULT_MAX_TEXT) -> None:
        self.sink = sink
        self.report = report
        self.max_text = max_text
        self.next_event = 1
        self.counters: list[tuple[int, int]] = []
        for table, names in COLUMNS.items():
            sink.declare(table, names)

    async def user(
        self, user_id: int, name: str, *, admin: bool, disabled: bool, email: str | None
    ) -> None:
        await self.sink.add(
            "users", (user_id, name, name.lower(), admin, disabled, now_ms(), email)
        )
        self.report.users += 1

    async def room(
        self,
        state: RoomState,
        name: str,
        kind: RoomKind,
        topic: str,
        created: int,
        *,
        archived: bool = False,
        created_by: int | None = None,
    ) -> None:
        await self.sink.add(
            "rooms",
            (
                state.room_id,
                name,
                name.lower(),
                kind.value,
                topic,
                created,
                0,  # set by finish(): the events come after the row
                archived,
                created_by,
            ),
        )

    async def close_room(self, state: RoomState, joined_at: int) -> None:
        """The room's counter and its members, their markers at its last event."""
        self.counters.append((state.room_id, state.seq))
        for user_id in state.members.values():
            await self.sink.add("memberships", (state.room_id, user_id, joined_at, state.seq))

    async def join_or_leave(
        self, state: RoomState, joining: bool, user_id: int, author: str, ts: int
    ) -> None:
        kind = EventKind.JOIN if joining else EventKind.LEAVE
        await self.event(state, kind, user_id, author, ts)
        self.report.joins += joining
        self.report.leaves += not joining

    async def topic(
        self, state: RoomState, user_id: int | None, author: str, ts: int, topic: str
    ) -> None:
        """A change of topic (``topic`` as the source has it: made one line)."""
        cleaned = clean(topic, one_line=True)
        self.report.characters_replaced += cleaned.replaced
        await self.event(state, EventKind.TOPIC, user_id, author, ts, cleaned.text)
        self.report.topics += 1

    async def event(
        self,
        state: RoomState,
        kind: EventKind,
        user_id: int | None,
        author: str,
        ts: int,
        text: str | None = None,
        *,
        edited: bool = False,
        cid: str | None = None,
        mentions: str | None = None,
        thread: int | None = None,
        mid: int | None = None,
        emoji: str | None = None,
        files: str | None = None,
    ) -> int:
        event_id = self.next_event
        self.next_event += 1
        state.seq += 1
        await self.sink.add(
            "events",
            (
                event_id,
                state.room_id,
                state.seq,
                kind.value,
                user_id,
                author,
                ts,
                text,
                edited,
                cid,
                mentions,
                thread,
                mid,
                emoji,
                files,
            ),
        )
        return event_id

    async def message(
        self,
        state: RoomState,
        user_id: int | None,
        author: str,
        ts: int,
        converted: Converted,
        *,
        edited: bool,
        cid: str | None,
        files: Iterable[str] = (),
        uploads: Sequence[Upload] = (),
        root: int | None = None,
        orphan: bool = False,
    ) -> int | None:
        """A message (a reply of thread ``root``; ``orphan``: a reply whose root is not
        imported, so a message of the room), its mentions' rows; returns its id. ``files``:
        the names of files shared with it whose bytes are not imported, listed in its text;
        ``uploads``: files whose bytes are in the blob store, sent with it (their rows are
        written here). None: nothing is left to say (not imported, counted)."""
        self.report.characters_replaced += converted.replaced
        text = converted.text
        for name in files:
            text += f"\n[file: {clean(name, one_line=True).text}]"
            self.report.files += 1
        text = text.strip("\n")
        if is_blank(text) and not uploads:
            self.report.skipped["empty messages"] += 1
            return None
        self.report.replies_without_root += orphan
        parts = split_text(text, self.max_text)
        if len(parts) > 1:
            self.report.split_messages += 1
            self.report.split_parts += len(parts)
        event_id = await self._message_part(
            state, user_id, author, ts, parts[0], edited, cid, root, uploads
        )
        for part in parts[1:]:  # in the same thread, if any; the files and the cid on the first
            await self._message_part(state, user_id, author, ts, part, edited, None, root, ())
        self.report.messages += 1
        self.report.edited += edited
        if root is not None:
            self.report.replies += 1
        return event_id

    async def _message_part(
        self,
        state: RoomState,
        user_id: int | None,
        author: str,
        ts: int,
        text: str,
        edited: bool,
        cid: str | None,
        root: int | None,
        uploads: Sequence[Upload],
    ) -> int:
        """One ``message`` event (a whole message, or one part of a long one) with its files'
        and mentions' rows; returns its id."""
        names, ids = self._mentions(state, text, author)
        event_id = await self.event(
            state,
            EventKind.MESSAGE,
            user_id,
            author,
            ts,
            text,
            edited=edited,
            cid=cid,
            mentions=join_names(names),
            thread=root,
            files=encode_files(tuple(upload.file for upload in uploads)),
        )
        for upload in uploads:
            ref = upload.file
            await self.sink.add(
                "uploads",
                (
                    ref.id,
                    upload.owner_id,
                    ref.name,
                    ref.type,
                    ref.size,
                    upload.hash,
                    ref.width,
                    ref.height,
                    upload.thumb_hash,
                    ref.thumb_width,
                    ref.thumb_height,
                    False,
                    upload.created_at,
                    event_id,
                    state.room_id,
                ),
            )
            self.report.uploads += 1
        for mentioned in ids:
            await self.sink.add(
                "mentions",
                (mentioned, state.room_id, state.seq, event_id, user_id, ts, root is not None),
            )
        if root is not None:
            await self.sink.add("imported_threads", (event_id, state.room_id, root))
        return event_id

    async def reaction(
        self, state: RoomState, message_id: int, user_id: int, author: str, ts: int, emoji: str
    ) -> None:
        """``author`` added ``emoji`` to message ``message_id`` (once: the caller makes sure
        of it, as the ``reactions`` row's key does)."""
        await self.event(
            state, EventKind.REACTION, user_id, author, ts, mid=message_id, emoji=emoji
        )
        await self.sink.add("reactions", (message_id, emoji, user_id, state.room_id, state.seq))
        self.report.reactions += 1

    async def finish(self) -> None:
        await self.sink.finish(self.counters)

    def _mentions(self, state: RoomState, text: str, author: str) -> tuple[list[str], list[int]]:
        """The members the text mentions (names, ids; ``@room`` first, id 0), as the server
        resolves them: never the author."""
        mentioned = find_mentions(text)
        names = [name for name in resolve(mentioned, state.by_key) if name != author]
        if len(names) > MAX_MENTIONS:
            self.report.mentions_cut += 1
            names = names[:MAX_MENTIONS]
        ids = [state.members[name] for name in names]
        if mentioned.room:
            names.insert(0, ROOM_MENTION)
            ids.insert(0, 0)
        return names, ids


#: Replies accounted for per write.
_REPLIES_PER_WRITE: Final = 500


async def account_threads(store: SQLStore) -> None:
    """The imported threads' counters and followers, from their replies (the rows are
    written)."""
    after: int | None = 0
    while after is not None:
        after = await store.account_imported_replies(after, _REPLIES_PER_WRITE)
    await store.mark_imported_threads_read()


__all__ = [
    "COLUMNS",
    "ChatReport",
    "ChatRows",
    "RoomState",
    "account_threads",
    "valid_name",
]
