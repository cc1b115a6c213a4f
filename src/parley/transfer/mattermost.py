"""``parley import --from mattermost``: Mattermost's bulk export into an empty Parley
(docs/deployment.md).

Into an EMPTY server only, as the Slack import (:mod:`parley.transfer.slack`), and with the
same rows (:mod:`parley.transfer.chat_import`). The input is the zip ``mmctl export create``
makes, or its bare ``import.jsonl`` (:mod:`parley.transfer.mattermost_lines`). What becomes
what:

* each ``user`` an account without a password (a claim link is printed for it), its username
  made a valid Parley name by the Slack import's rules (each renaming reported); a username
  listed twice (case-insensitively, as Mattermost compares them) fails the import; a user
  with ``delete_at`` set is disabled; ``system_admin`` among its ``roles`` makes an admin; the
  email is kept;
* each ``channel`` of type ``O`` a public room, ``P`` a private room (Parley has both; any other
  type fails the import), named after the channel's ``name`` (its URL name, the one ``~name``
  links use). Several teams: a channel name found in more than one team becomes
  ``team-name`` in each of them (so no team's channel keeps a name the other's people might
  expect for theirs), other names stay as they are; then Parley's rules (each renaming
  reported). Its ``header`` is the topic (else its ``purpose``). Its members are the users
  whose ``teams[].channels[]`` name it, their read markers at the end of the imported history;
* each ``direct_channel`` of two users (and each pair a ``direct_post`` names) a direct room
  (``dm:a:b``, as Parley opens them); of three or more, a private room named after its
  members (``gm-`` and their names); of one user with themselves, nothing (reported: Parley
  has no such room);
* each ``post`` and ``direct_post`` a message of its room with its ``create_at``, its author
  (a username not among the users: the message is kept, authored by that name, without an
  account, and reported), ``edit_at`` marking it edited (the export holds only the last
  text). Its ``replies`` are replies of Parley's threads (their roots' reply counts and
  followers then derived by the server's own thread bookkeeping); a reply dated before its
  root is placed right after it. Its ``reactions`` are ``reaction`` events (with the
  ``reactions`` rows, as ``react`` writes them), at their ``create_at`` (at the earliest
  right after their message): the emoji name is Parley's emoji by the ``emoji`` package's
  names (``+1``, ``thumbsup`` -> the thumbs-up emoji); a custom emoji (an ``emoji`` line), or
  a name unknown to it, is reported and not imported, as are a user's second identical
  reaction and emoji past Parley's limit per message. The text is kept, Markdown and all;
  mentions of renamed users follow them (:mod:`parley.transfer.mattermost_text`). Attached
  files (``attachments[].path``, whose bytes the zip holds at ``data/<path>``) become the
  message's files, owned by its author, stored as an upload's are
  (:mod:`parley.transfer.archive_files`: images re-encoded and thumbnailed); one that cannot
  be (a bare ``.jsonl`` carries no bytes; missing from ``data/``, empty, over 1 GiB, its
  author not among the users) is listed in the text as ``[file: name]``, as Slack's are, and
  reported. ``system_join_channel`` / ``system_leave_channel`` posts are join and leave
  events, ``system_header_change`` a topic event; other system posts, pins (``is_pinned``)
  and saved-post flags (``flagged_by``) are reported, not imported;
* ``team``, ``scheme``, ``role``, ``emoji`` and other lines bring nothing of their own
  (teams are only where channels belong; roles and schemes are Mattermost's permissions).

Order and memory: Mattermost lists posts by their (random) ids, not by time, and a room's
events must be in time order. The lines are read once, as a stream; users, channels and
direct channels are kept (the lists, like Slack's ``users.json``), and every post, reply and
reaction is written to a temporary SQLite database on disk (:mod:`parley.transfer.time_spool`),
then read back room by room, oldest first (ties: the order of the lines, a post before its
replies). So memory does not grow with the number of messages; the disk holds about the
export's size until the import ends. Events of one room at the same millisecond keep the
lines' order.
"""

from __future__ import annotations

import collections
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import emoji as emoji_data
import msgspec

from parley.files.blobs import BlobStore
from parley.model import RoomKind, Upload
from parley.protocol.codec import DEFAULT_MAX_TEXT
from parley.protocol.reactions import MAX_EMOJI_PER_MESSAGE, valid_emoji
from parley.store.base import direct_room_name
from parley.store.sql.store import SQLStore
from parley.transfer.archive_files import ArchiveFiles, NotStored
from parley.transfer.chat_import import ChatReport, ChatRows, RoomState, account_threads
from parley.transfer.chat_import import valid_name as make_name
from parley.transfer.jobs import into_empty_store
from parley.transfer.mattermost_lines import Channel, DirectPost, ExportFile, Post, Reply, User
from parley.transfer.mattermost_text import convert
from parley.transfer.progress import Progress
from parley.transfer.sink import ImportFailed, Sink
from parley.transfer.slack_text import clean
from parley.transfer.time_spool import TimeSpool

_SEP: Final = "\x00"
#: Posts that are a join (True) or a leave (False).
_JOINS: Final = {"system_join_channel": True, "system_leave_channel": False}
_HEADER_CHANGE: Final = "system_header_change"
#: The types of line read, each with its object under the same name.
_OBJECTS: Final = frozenset(
    {"team", "channel", "user", "post", "direct_channel", "direct_post", "emoji"}
)


@dataclass
class MattermostReport(ChatReport):
    """What a Mattermost import did and left out (printed on standard error)."""

    source: str = "mattermost"
    private_channels: int = 0
    direct_channels: int = 0
    group_channels: int = 0
    moved_after_parent: int = 0
    attachments_without_bytes: int = 0

    def rooms(self) -> str:
        public = self.channels - self.private_channels - self.direct_channels
        return (
            f"{public - self.group_channels} public channels, {self.private_channels} private"
            f" channels, {self.direct_channels} direct channels, {self.group_channels} group"
            " channels (as private rooms)"
        )

    def notes(self) -> list[str]:
        said = super().notes()
        if self.moved_after_parent:
            said.append(
                f"{self.moved_after_parent} replies or reactions dated before their message:"
                " placed right after it"
            )
        return said


class _Item(msgspec.Struct, array_like=True):
    """One spooled post, reply or reaction (``target``: the ``sub`` of the message a reply
    or reaction belongs to; -1 for a post)."""

    user: str
    target: int = -1
    text: str = ""
    type: str = ""
    edited: bool = False
    #: The attachments' paths in the export (below ``data/`` in the zip).
    files: list[str] = msgspec.field(default_factory=list)
    header: str | None = None
    emoji: str | None = None
    #: Later items refer to this one (it has replies or reactions).
    referred: bool = False


_ENCODE: Final = msgspec.msgpack.Encoder().encode
_DECODE: Final = msgspec.msgpack.Decoder(_Item).decode


def _channel_key(team: str, name: str) -> str:
    return f"c{_SEP}{team}{_SEP}{name}"


def _direct_key(members: Iterable[str]) -> str:
    return "d" + "".join(_SEP + member for member in sorted({m.lower() for m in members}))


@dataclass
class _Export:
    """What is kept of the lines besides the spooled posts."""

    users: list[User] = field(default_factory=list)
    channels: list[Channel] = field(default_factory=list)
    directs: dict[str, str] = field(default_factory=dict)  # key -> header
    custom_emoji: set[str] = field(default_factory=set)


def _read(
    source: ExportFile, spool: TimeSpool, report: MattermostReport, lines: Progress
) -> _Export:
    """Read every line: keep the lists, spool the posts."""
    export = _Export()
    for number, line in source.lines():
        lines.tick()
        kind = line.type
        if kind in _OBJECTS and getattr(line, kind) is None:
            raise ImportFailed(f"{source.where} line {number}: a {kind!r} line without {kind!r}")
        if kind == "user" and line.user is not None:
            export.users.append(line.user)
        elif kind == "channel" and line.channel is not None:
            if line.channel.type not in ("O", "P"):
                raise ImportFailed(
                    f"{source.where} line {number}: channel type {line.channel.type!r}: only"
                    " 'O' (public) and 'P' (private) are channels"
                )
            export.channels.append(line.channel)
        elif kind == "post" and line.post is not None:
            key = _channel_key(line.post.team, line.post.channel)
            _spool_post(spool, report, key, number, line.post)
        elif kind == "direct_channel" and line.direct_channel is not None:
            members = line.direct_channel.members or []
            export.directs[_direct_key(members)] = line.direct_channel.header or ""
        elif kind == "direct_post" and line.direct_post is not None:
            post: DirectPost = line.direct_post
            _spool_post(spool, report, _direct_key(post.channel_members), number, post)
        elif kind == "emoji" and line.emoji is not None:
            export.custom_emoji.add(line.emoji.name)
        elif kind == "team" and line.team is not None:
            pass  # a team is only where channels belong (names: see _room_names)
        else:
            report.skipped[f"{kind!r} lines"] += 1
    return export


def _spool_post(
    spool: TimeSpool, report: MattermostReport, key: str, line: int, post: Post
) -> None:
    """The post, its replies and the reactions of each into the spool (see the module
    docstring for their order)."""
    if post.is_pinned:
        report.skipped["pins (is_pinned)"] += 1
    if post.flagged_by:
        report.skipped["saved-post flags (flagged_by)"] += len(post.flagged_by)
    replies = post.replies or []
    spool.add(
        key, post.create_at, line, 0, _ENCODE(_message(post, -1, bool(replies or post.reactions)))
    )
    sub = 1
    for reply in replies:
        reply_sub, ts = sub, post.create_at
        if reply.create_at < ts:
            report.moved_after_parent += 1
        else:
            ts = reply.create_at
        spool.add(key, ts, line, reply_sub, _ENCODE(_message(reply, 0, bool(reply.reactions))))
        sub = _spool_reactions(spool, report, key, line, sub + 1, reply_sub, ts, reply)
    _spool_reactions(spool, report, key, line, sub, 0, post.create_at, post)


def _message(post: Reply, target: int, referred: bool) -> _Item:
    return _Item(
        post.user,
        target,
        post.message or "",
        post.type or "",
        bool(post.edit_at),
        [attachment.path for attachment in post.attachments or ()],
        post.props.new_header if post.props else None,
        referred=referred,
    )


def _spool_reactions(
    spool: TimeSpool,
    report: MattermostReport,
    key: str,
    line: int,
    sub: int,
    target: int,
    after: int,
    message: Reply,
) -> int:
    seen: set[tuple[str, str]] = set()
    distinct: set[str] = set()
    for reaction in message.reactions or ():
        if (reaction.user, reaction.emoji_name) in seen:
            report.skipped["reactions given twice by the same user"] += 1
            continue
        if reaction.emoji_name not in distinct and len(distinct) >= MAX_EMOJI_PER_MESSAGE:
            report.skipped[f"reactions past {MAX_EMOJI_PER_MESSAGE} emoji on a message"] += 1
            continue
        seen.add((reaction.user, reaction.emoji_name))
        distinct.add(reaction.emoji_name)
        ts = reaction.create_at
        if ts < after:
            report.moved_after_parent += reaction.create_at != 0
            ts = after
        spool.add(
            key, ts, line, sub, _ENCODE(_Item(reaction.user, target, emoji=reaction.emoji_name))
        )
        sub += 1
    return sub


@dataclass
class _Room:
    key: str
    name: str
    kind: RoomKind
    topic: str
    members: dict[str, int]


class _Import:
    """The kept lists and the spool into one :class:`Sink`."""

    def __init__(
        self,
        export: _Export,
        spool: TimeSpool,
        files: ArchiveFiles | None,
        sink: Sink,
        report: MattermostReport,
        max_text: int,
    ) -> None:
        self.export = export
        self.files = files
        self.spool = spool
        self.rows = ChatRows(sink, report, max_text)
        self.report = report
        self.users: dict[str, tuple[int, str]] = {}  # lower-cased username -> id, name
        self.renamed: dict[str, str] = {}  # lower-cased username -> Parley name, if changed
        self.emoji: dict[str, str | None] = {}  # emoji name -> Parley's, None: not imported
        self.dropped: set[str] = set()  # keys of direct channels not imported

    async def run(self) -> None:
        await self._users()
        rooms = self._rooms()
        counts = self.spool.rooms()
        for room_id, room in enumerate(rooms, start=1):
            counts.pop(room.key, None)
            await self._room(room_id, room)
        for key, count in counts.items():
            if key in self.dropped:
                self.report.skipped["posts, replies and reactions of those direct channels"] += (
                    count
                )
                continue
            where = key.split(_SEP)
            what = "/".join(where[1:]) if key.startswith("c") else "+".join(where[1:])
            self.report.skipped[
                f"posts, replies and reactions of a channel not in the export ({what})"
            ] += count
        await self.rows.finish()

    async def _users(self) -> None:
        taken: set[str] = set()
        for user_id, user in enumerate(self.export.users, start=1):
            key = user.username.lower()
            if key in self.users:
                raise ImportFailed(f"user {user.username!r} is listed twice")
            name = make_name(user.username, f"mattermost-{user_id}", taken)
            if name != user.username:
                self.report.renamed.append((user.username, name))
                self.renamed[key] = name
            self.users[key] = (user_id, name)
            await self.rows.user(
                user_id,
                name,
                admin="system_admin" in (user.roles or "").split(),
                disabled=bool(user.delete_at),
                email=user.email,
            )

    def _rooms(self) -> list[_Room]:
        """Every room to make: public channels, private ones, direct and group channels."""
        members: dict[str, dict[str, int]] = collections.defaultdict(dict)
        for user in self.export.users:
            user_id, name = self.users[user.username.lower()]
            for team in user.teams or ():
                for joined in team.channels or ():
                    members[_channel_key(team.name, joined.name)][name] = user_id
        teams_of: dict[str, set[str]] = collections.defaultdict(set)
        for channel in self.export.channels:
            teams_of[channel.name.lower()].add(channel.team)
        taken: set[str] = set()
        seen: set[str] = set()
        rooms: list[_Room] = []
        for kind in (RoomKind.PUBLIC, RoomKind.PRIVATE):
            code = "O" if kind is RoomKind.PUBLIC else "P"
            for channel in self.export.channels:
                if channel.type != code:
                    continue
                key = _channel_key(channel.team, channel.name)
                if key in seen:
                    raise ImportFailed(f"channel {channel.team}/{channel.name} is listed twice")
                seen.add(key)
                wanted = channel.name
                if len(teams_of[channel.name.lower()]) > 1:
                    wanted = f"{channel.team}-{channel.name}"
                name = make_name(wanted, f"mattermost-{len(rooms) + 1}", taken, room=True)
                if name != channel.name:
                    self.report.renamed.append((f"~{channel.team}/{channel.name}", "#" + name))
                topic = clean(channel.header or channel.purpose or "", one_line=True)
                self.report.characters_replaced += topic.replaced
                rooms.append(_Room(key, name, kind, topic.text, members.get(key, {})))
        directs = (
            dict.fromkeys((key for key in self.spool.rooms() if key.startswith("d")), "")
            | self.export.directs
        )
        for key in sorted(directs):
            room = self._direct(key, directs[key], taken)
            if room is not None:
                rooms.append(room)
        return rooms

    def _direct(self, key: str, header: str, taken: set[str]) -> _Room | None:
        usernames = key.split(_SEP)[1:]
        known = {self.users[u][1]: self.users[u][0] for u in usernames if u in self.users}
        unknown = [u for u in usernames if u not in self.users]
        self.report.unknown_users.update(unknown)
        topic = clean(header, one_line=True)
        if len(usernames) <= 1:
            alone = "of a user with themselves" if usernames else "without members"
            self.report.skipped[f"direct channels {alone}"] += 1
            self.dropped.add(key)
            return None
        if len(usernames) == 2:
            if unknown:
                self.report.skipped["direct channels with a user not in the export"] += 1
                self.dropped.add(key)
                return None
            first, second = known
            name = direct_room_name(first, second)
            return _Room(key, name, RoomKind.DIRECT, topic.text, known)
        wanted = "gm-" + "-".join(sorted(known, key=str.lower))
        name = make_name(wanted, f"gm-{len(taken) + 1}", taken, room=True)
        self.report.group_channels += 1
        return _Room(key, name, RoomKind.PRIVATE, topic.text, known)

    async def _room(self, room_id: int, room: _Room) -> None:
        state = RoomState(room_id, room.members)
        created = self.spool.first_ts(room.key) or 0
        await self.rows.room(state, room.name, room.kind, room.topic, created)
        self.report.channels += 1
        if room.kind is RoomKind.DIRECT:
            self.report.direct_channels += 1
        elif room.kind is RoomKind.PRIVATE and not room.name.startswith("gm-"):
            self.report.private_channels += 1
        for ts, line, sub, body in self.spool.items(room.key):
            await self._item(state, ts, line, sub, _DECODE(body))
        await self.rows.close_room(state, created)

    def _author(self, username: str) -> tuple[int | None, str]:
        found = self.users.get(username.lower())
        if found is None:
            self.report.unknown_users.add(username)
            return None, username
        return found

    async def _item(self, state: RoomState, ts: int, line: int, sub: int, item: _Item) -> None:
        report = self.report
        user_id, author = self._author(item.user)
        if item.emoji is not None:
            await self._reaction(state, ts, line, item, user_id, author)
            return
        if item.type in _JOINS and user_id is not None:
            await self.rows.join_or_leave(state, _JOINS[item.type], user_id, author, ts)
            return
        if item.type == _HEADER_CHANGE and item.header is not None:
            await self.rows.topic(state, user_id, author, ts, item.header)
            return
        if item.type:
            report.skipped[f"{item.type} posts"] += 1
            return
        root = None if item.target < 0 else self.spool.recall(line, item.target)
        uploads, listed = await self._files(item.files, user_id, ts)
        event_id = await self.rows.message(
            state,
            user_id,
            author,
            ts,
            convert(item.text, self.renamed),
            edited=item.edited,
            # The post's place in the export, as a client message id (an account's only).
            cid=f"mattermost:{line}:{sub}" if user_id is not None else None,
            files=listed,
            uploads=uploads,
            root=root,
            orphan=item.target >= 0 and root is None,
        )
        if item.referred and event_id is not None:
            self.spool.remember(line, sub, event_id)

    async def _files(
        self, paths: list[str], owner: int | None, ts: int
    ) -> tuple[list[Upload], list[str]]:
        """The attachments stored as files of the message, and the names of those that are
        not (listed in its text)."""
        uploads: list[Upload] = []
        listed: list[str] = []
        for path in paths:
            name = path.replace("\\", "/").rsplit("/", 1)[-1]
            if self.files is None:
                self.report.attachments_without_bytes += 1
                listed.append(name)
                continue
            if owner is None:
                self.report.skipped["attachments of users not in the export (listed by name)"] += 1
                listed.append(name)
                continue
            try:
                name, stored = await self.files.store(path)
            except NotStored as exc:
                self.report.skipped[str(exc)] += 1
                listed.append(name)
                continue
            uploads.append(
                Upload(
                    file=stored.ref(secrets.token_urlsafe(16), name),
                    owner_id=owner,
                    hash=stored.digest,
                    thumb_hash=stored.thumb_hash,
                    avatar=False,
                    created_at=ts,
                    message_id=None,
                    room_id=None,
                )
            )
        return uploads, listed

    async def _reaction(
        self, state: RoomState, ts: int, line: int, item: _Item, user_id: int | None, author: str
    ) -> None:
        assert item.emoji is not None
        emoji = self._emoji(item.emoji)
        message = self.spool.recall(line, item.target)
        if user_id is None:
            self.report.skipped["reactions of users not in the export"] += 1
        elif emoji is None:
            pass  # counted by _emoji
        elif message is None:
            self.report.skipped["reactions to posts not imported"] += 1
        else:
            await self.rows.reaction(state, message, user_id, author, ts, emoji)

    def _emoji(self, name: str) -> str | None:
        if name not in self.emoji:
            found = emoji_data.emojize(f":{name}:", language="alias")
            self.emoji[name] = found if found != f":{name}:" and valid_emoji(found) else None
        emoji = self.emoji[name]
        if emoji is None:
            if name in self.export.custom_emoji:
                self.report.skipped[f"reactions with custom emoji :{name}:"] += 1
            else:
                self.report.skipped[f"reactions with unknown emoji :{name}:"] += 1
        return emoji


async def import_mattermost(
    store: SQLStore,
    blobs: BlobStore,
    path: Path,
    progress: Progress,
    *,
    max_text: int = DEFAULT_MAX_TEXT,
) -> MattermostReport:
    """Import Mattermost's bulk export at ``path`` (zip or ``.jsonl``) into the empty
    ``store``, the files its zip carries into ``blobs`` (see the module docstring); a message
    longer than ``max_text`` characters becomes several."""
    report = MattermostReport()
    with ExportFile(path) as source, TimeSpool() as spool:
        reading = progress.sibling("read (sorting by time)")
        export = _read(source, spool, report, reading)
        spool.sort()
        reading.done()
        files = None if source.archive is None else ArchiveFiles(source.archive, blobs)

        async def fill(sink: Sink) -> None:
            await _Import(export, spool, files, sink, report, max_text).run()
            await account_threads(store)

        await into_empty_store(store, progress, fill)
    if report.attachments_without_bytes:
        report.left_out.append(
            f"the bytes of {report.attachments_without_bytes} attachments (a bare .jsonl has"
            " none: import the zip of `mmctl export create --attachments` for them); each is"
            " listed by name"
        )
    return report


__all__ = ["MattermostReport", "import_mattermost"]
