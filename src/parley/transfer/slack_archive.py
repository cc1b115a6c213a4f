"""Reading Slack's export zip safely: its members as typed values, never as files on disk.

Slack's export ("Workspace settings > Import/Export Data") is a zip of JSON files:
``users.json``, ``channels.json`` (public channels; ``groups.json``, ``dms.json`` and
``mpims.json`` for private ones and direct messages when an owner exported those too), and one
folder per public channel, named after it, with one file per day (``2024-01-31.json``), each a
list of messages.

The archive is read through :class:`~parley.transfer.safe_zip.SafeZip` (its guards: names
that escape a folder, zip bombs, corrupt members); a member is read whole, up to
:data:`MAX_MEMBER` bytes. The JSON is decoded into the structs below: a field of the wrong
type is refused with its path; unknown fields are ignored (Slack adds fields over time).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final, TypeVar

import msgspec

from parley.transfer.safe_zip import SafeZip
from parley.transfer.sink import ImportFailed

#: The most bytes one member may decompress to (a day of a very busy channel is a few MiB).
MAX_MEMBER: Final = 64 * 1024 * 1024

_DAY_FILE: Final = re.compile(r"\A\d{4}-\d{2}-\d{2}\.json\Z")

T = TypeVar("T")


class SlackProfile(msgspec.Struct):
    email: str | None = None
    display_name: str | None = None
    real_name: str | None = None


class SlackUser(msgspec.Struct):
    id: str
    name: str = ""
    deleted: bool = False
    is_admin: bool = False
    is_owner: bool = False
    is_bot: bool = False
    profile: SlackProfile | None = None


class SlackTopic(msgspec.Struct):
    value: str = ""


class SlackChannel(msgspec.Struct):
    id: str
    name: str
    created: int = 0
    creator: str | None = None
    is_archived: bool = False
    members: list[str] = msgspec.field(default_factory=list)
    topic: SlackTopic | None = None


class SlackEdited(msgspec.Struct):
    ts: str
    user: str | None = None


class SlackFile(msgspec.Struct):
    name: str | None = None
    title: str | None = None
    mimetype: str | None = None
    size: int | None = None


class SlackMessage(msgspec.Struct):
    ts: str
    type: str = "message"
    subtype: str | None = None
    user: str | None = None
    text: str = ""
    thread_ts: str | None = None
    edited: SlackEdited | None = None
    files: list[SlackFile] | None = None
    bot_id: str | None = None
    username: str | None = None
    topic: str | None = None


class SlackArchive(SafeZip):
    """An open Slack export: :meth:`read` a member, :meth:`days` of a channel."""

    def read(self, name: str, kind: type[T]) -> T:
        """Member ``name`` decoded as ``kind``; :class:`ImportFailed` if it is missing, too
        big, corrupt, or not that JSON."""
        if not self.has(name):
            raise ImportFailed(f"the archive has no {name} (is it Slack's export?)")
        data = self.read_bytes(name, MAX_MEMBER)
        try:
            return msgspec.json.decode(data, type=kind)
        except msgspec.DecodeError as exc:  # ValidationError too
            raise ImportFailed(f"{name}: {exc}") from None

    def days(self, folder: str) -> list[str]:
        """The day files of a channel's folder, oldest first."""
        prefix = folder + "/"
        return sorted(
            name
            for name in self.names()
            if name.startswith(prefix) and _DAY_FILE.match(name[len(prefix) :])
        )

    def others(self, known: set[str]) -> Iterator[str]:
        """Members that are neither a known top-level file nor a day file of a folder."""
        for name in self.names():
            if name in known:
                continue
            folder, _, rest = name.partition("/")
            if not (folder in known and _DAY_FILE.match(rest)):
                yield name


__all__ = [
    "MAX_MEMBER",
    "SlackArchive",
    "SlackChannel",
    "SlackFile",
    "SlackMessage",
    "SlackUser",
]
