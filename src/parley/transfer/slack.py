"""``parley import --from slack``: Slack's export zip into an empty Parley (docs/deployment.md).

Into an EMPTY server only, like a Parley export: the import gives every row its id and every
event its ``seq`` itself (so history, resume and search work on it unchanged), which it can
only do where nothing holds ids or names yet. A team moving to Parley starts a new server
from Slack's export, then opens it.

What becomes what (the rows as every chat import writes them:
:mod:`parley.transfer.chat_import`):

* each user of ``users.json`` an account without a password (a claim link is printed for
  it), its Slack name made a valid Parley name (accents dropped, other characters ``-``; a
  name taken twice gets ``-2``...: each renaming is reported); deleted users are disabled;
  Slack's admins and owners are admins; the profile's email is kept;
* each public channel of ``channels.json`` a public room (same rules for its name), with its
  topic, archived if it was, and its ``members`` as members (their read markers at the end
  of the imported history: imported history is not unread);
* each day file's messages, oldest first, events of the room with their Slack time (``ts``, to
  the millisecond): messages (bots' too, authored by the bot's name, as a guest is),
  ``channel_join`` / ``channel_leave`` as join and leave events, ``channel_topic`` as a topic
  event. Markup is converted (:mod:`parley.transfer.slack_text`); the mentions in the
  converted text are found and resolved against the channel's members exactly as the server
  does, so unread mention counts and the mentions view work on imported history. An edited
  message is marked edited (Slack's export keeps only its last text). A file shared with a
  message is listed in its text as ``[file: name]`` (Slack's export holds only the files'
  URLs, which need Slack's sign-in: no bytes to import). A thread reply is a reply of
  Parley's threads (migration 0007: a ``message`` whose ``thread`` is its root's id, its
  mentions ``in_thread``); once the rows are written, the roots' reply counts and the
  threads' followers are derived by the server's own thread bookkeeping
  (:mod:`parley.store.sql.import_thread_ops`). ``imported_threads`` (migration 0011) still
  records each reply imported from Slack with its root: the record of what came from Slack's
  ``thread_ts``, kept because dropping it would need a migration for no gain. A reply whose
  root is not in the export is a message of the room (no thread), and is counted.
* not imported, and reported: private channels and direct messages (``groups.json``,
  ``dms.json``, ``mpims.json``), subtypes that are settings rather than messages
  (``channel_purpose``, ``channel_name``, ``pinned_item`` ...), empty messages, members of
  channels who are not in ``users.json``. A message from a user missing from ``users.json``
  is kept, authored by the Slack id, without an account.

Memory: the users and channels lists, one day file at a time, and per channel the ids of its
thread roots (not of every message).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from parley.model import RoomKind
from parley.protocol.codec import DEFAULT_MAX_TEXT
from parley.store.sql.store import SQLStore
from parley.transfer.chat_import import (
    ChatReport,
    ChatRows,
    RoomState,
    account_threads,
    valid_name,
)
from parley.transfer.jobs import into_empty_store
from parley.transfer.progress import Progress
from parley.transfer.sink import ImportFailed, Sink
from parley.transfer.slack_archive import (
    SlackArchive,
    SlackChannel,
    SlackMessage,
    SlackUser,
)
from parley.transfer.slack_text import clean, convert

#: Subtypes that record a change of settings, not something said: not imported, counted.
SETTINGS_SUBTYPES: Final = frozenset(
    {
        "channel_purpose",
        "channel_name",
        "channel_archive",
        "channel_unarchive",
        "channel_convert_to_private",
        "group_join",
        "group_leave",
        "pinned_item",
        "unpinned_item",
        "tombstone",
        "bot_add",
        "bot_remove",
    }
)

#: Files of the export that hold what this import leaves out (private conversations).
PRIVATE_FILES: Final = ("groups.json", "dms.json", "mpims.json")

_TS: Final = re.compile(r"\A(\d{1,12})(?:\.(\d{1,6}))?\Z")


@dataclass
class SlackReport(ChatReport):
    """What a Slack import did and left out (printed on standard error)."""

    source: str = "slack"

    def rooms(self) -> str:
        return f"{self.channels} public channels"


def ts_ms(ts: str, where: str) -> int:
    """A Slack timestamp (``"1700000000.123456"``, seconds) in milliseconds."""
    match = _TS.match(ts)
    if match is None:
        raise ImportFailed(f"{where}: {ts!r} is not a Slack timestamp")
    micros = int((match.group(2) or "").ljust(6, "0"))
    return int(match.group(1)) * 1000 + micros // 1000


class _Import:
    """One Slack export into one :class:`Sink`."""

    def __init__(
        self, archive: SlackArchive, sink: Sink, report: SlackReport, max_text: int
    ) -> None:
        self.archive = archive
        self.rows = ChatRows(sink, report, max_text)
        self.report = report
        self.user_ids: dict[str, int] = {}  # Slack id -> Parley id
        self.user_names: dict[str, str] = {}  # Slack id -> Parley name
        self.room_names: dict[str, str] = {}  # Slack channel id -> Parley room name

    async def run(self, users: list[SlackUser], channels: list[SlackChannel]) -> None:
        await self._users(users)
        taken: set[str] = set()
        public = [
            (room_id, channel, self._room_name(channel, taken))
            for room_id, channel in enumerate(channels, start=1)
        ]
        for room_id, channel, name in public:
            await self._channel(room_id, channel, name)
        await self.rows.finish()

    async def _users(self, users: list[SlackUser]) -> None:
        taken: set[str] = set()
        for user_id, slack in enumerate(users, start=1):
            if slack.id in self.user_ids:
                raise ImportFailed(f"users.json: user {slack.id!r} is listed twice")
            name = valid_name(slack.name or slack.id, "slack-" + slack.id.lower(), taken)
            if name != slack.name:
                self.report.renamed.append((slack.name, name))
            self.user_ids[slack.id] = user_id
            self.user_names[slack.id] = name
            await self.rows.user(
                user_id,
                name,
                admin=slack.is_admin or slack.is_owner,
                disabled=slack.deleted,
                email=slack.profile.email if slack.profile else None,
            )

    def _room_name(self, channel: SlackChannel, taken: set[str]) -> str:
        if channel.id in self.room_names:
            raise ImportFailed(f"channels.json: channel {channel.id!r} is listed twice")
        name = valid_name(channel.name, "slack-" + channel.id.lower(), taken, room=True)
        if name != channel.name:
            self.report.renamed.append(("#" + channel.name, "#" + name))
        self.room_names[channel.id] = name
        return name

    async def _channel(self, room_id: int, channel: SlackChannel, name: str) -> None:
        created = channel.created * 1000
        topic = clean(channel.topic.value if channel.topic else "", one_line=True)
        self.report.characters_replaced += topic.replaced
        members: dict[str, int] = {}
        for slack_id in channel.members:
            user_id = self.user_ids.get(slack_id)
            if user_id is None:
                self.report.unknown_users.add(slack_id)
            else:
                members[self.user_names[slack_id]] = user_id
        state = _Channel(room_id, members, channel_id=channel.id)
        await self.rows.room(
            state,
            name,
            RoomKind.PUBLIC,
            topic.text,
            created,
            archived=channel.is_archived,
            created_by=self.user_ids.get(channel.creator or ""),
        )
        self.report.channels += 1
        for day in self.archive.days(channel.name):
            messages = self.archive.read(day, list[SlackMessage])
            timed = sorted(
                ((ts_ms(message.ts, day), i, message) for i, message in enumerate(messages)),
                key=lambda item: (item[0], item[1]),
            )
            seen: set[str] = set()
            for ts, _, message in timed:
                if message.ts in seen:
                    self.report.skipped["messages listed twice"] += 1
                    continue
                seen.add(message.ts)
                await self._message(state, message, ts)
        await self.rows.close_room(state, created)

    def _author(self, message: SlackMessage) -> tuple[int | None, str]:
        if message.user is not None and message.user in self.user_ids:
            return self.user_ids[message.user], self.user_names[message.user]
        if message.subtype == "bot_message" or message.bot_id is not None:
            return None, message.username or message.bot_id or "bot"
        if message.user is not None:
            self.report.unknown_users.add(message.user)
            return None, message.user
        return None, "unknown"

    async def _message(self, state: _Channel, message: SlackMessage, ts: int) -> None:
        report = self.report
        subtype = message.subtype
        user_id, author = self._author(message)
        if subtype in ("channel_join", "channel_leave"):
            if user_id is None:
                report.skipped[f"{subtype} of users not in users.json"] += 1
                return
            await self.rows.join_or_leave(state, subtype == "channel_join", user_id, author, ts)
            return
        if subtype == "channel_topic":
            await self.rows.topic(state, user_id, author, ts, message.topic or "")
            return
        if subtype in SETTINGS_SUBTYPES or message.type != "message":
            report.skipped[f"{subtype or message.type} events"] += 1
            return
        thread = message.thread_ts
        replying = thread is not None and thread != message.ts
        root = state.roots.get(thread) if replying and thread is not None else None
        event_id = await self.rows.message(
            state,
            user_id,
            author,
            ts,
            convert(message.text, self.user_names, self.room_names),
            edited=message.edited is not None,
            # The Slack message's identity, as a client message id (an account's only:
            # messages without one have no cid scope, as guests' posts).
            cid=f"slack:{state.channel_id}:{message.ts}" if user_id is not None else None,
            files=(shared.name or shared.title or "unnamed" for shared in message.files or ()),
            root=root,
            orphan=replying and root is None,
        )
        if event_id is not None and thread is not None and thread == message.ts:
            state.roots[thread] = event_id


@dataclass
class _Channel(RoomState):
    channel_id: str = ""
    roots: dict[str, int] = field(default_factory=dict)  # thread_ts -> message id


async def import_slack(
    store: SQLStore, path: Path, progress: Progress, *, max_text: int = DEFAULT_MAX_TEXT
) -> SlackReport:
    """Import Slack's export at ``path`` into the empty ``store`` (see the module docstring);
    a message longer than ``max_text`` characters becomes several."""
    report = SlackReport()
    with SlackArchive(path) as archive:
        users = archive.read("users.json", list[SlackUser])
        channels = archive.read("channels.json", list[SlackChannel])
        known = {"users.json", "channels.json", *(channel.name for channel in channels)}
        for private in PRIVATE_FILES:
            if archive.has(private):
                report.left_out.append(f"{private} (private conversations)")
        others = sum(1 for _ in archive.others(known | set(PRIVATE_FILES)))
        if others:
            report.left_out.append(f"{others} other files of the archive")

        async def fill(sink: Sink) -> None:
            await _Import(archive, sink, report, max_text).run(users, channels)
            await account_threads(store)

        await into_empty_store(store, progress, fill)
    return report


__all__ = ["SlackReport", "import_slack", "ts_ms"]
