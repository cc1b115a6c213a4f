"""Reading Slack's export zip safely: its members as typed values, never as files on disk.

Slack's export ("Workspace settings > Import/Export Data") is a zip of JSON files:
``users.json``, ``channels.json`` (public channels; ``groups.json``, ``dms.json`` and
``mpims.json`` for private ones and direct messages when an owner exported those too), and one
folder per public channel, named after it, with one file per day (``2024-01-31.json``), each a
list of messages.

Nothing is extracted: members are read by name, in memory, one at a time. So a member's name
can never write anywhere, yet an archive with a name that would escape a folder
(``../x``, ``/etc/x``, ``C:\\x``) is refused whole, as a sign of a forged archive. A member
larger than :data:`MAX_MEMBER` once decompressed is refused before it is read (its declared
size) or as soon as the bound is passed while reading (a forged declared size): a zip bomb
costs at most that much memory. A corrupt archive or member (bad CRC, truncated) is one clear
error. The JSON is decoded into the structs below: a field of the wrong type is refused with
its path; unknown fields are ignored (Slack adds fields over time).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Final, TypeVar

import msgspec

from parley.transfer.sink import ImportFailed

#: The most bytes one member may decompress to (a day of a very busy channel is a few MiB).
MAX_MEMBER: Final = 64 * 1024 * 1024
#: The most members an archive may have (a bound on the index kept of them).
MAX_MEMBERS: Final = 2_000_000

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


def _unsafe(name: str) -> bool:
    """Whether a member's name would leave the folder it is extracted to."""
    parts = name.replace("\\", "/").split("/")
    return (
        name.startswith(("/", "\\"))
        or "\\" in name
        or ".." in parts
        or (len(name) > 1 and name[1] == ":")  # a drive letter
        or "\x00" in name
    )


class SlackArchive:
    """An open Slack export: :meth:`read` a member, :meth:`days` of a channel."""

    def __init__(self, path: Path) -> None:
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise ImportFailed(f"{path.name}: not a readable zip file ({exc})") from None
        infos = self._zip.infolist()
        if len(infos) > MAX_MEMBERS:
            self.close()
            raise ImportFailed(f"the archive has more than {MAX_MEMBERS} members")
        self._infos: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            if _unsafe(info.filename):
                self.close()
                raise ImportFailed(
                    f"the archive has a member named {info.filename!r}, outside its folder:"
                    " refused as forged"
                )
            if not info.is_dir():
                self._infos[info.filename] = info

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> SlackArchive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def has(self, name: str) -> bool:
        return name in self._infos

    def read(self, name: str, kind: type[T]) -> T:
        """Member ``name`` decoded as ``kind``; :class:`ImportFailed` if it is missing, too
        big, corrupt, or not that JSON."""
        info = self._infos.get(name)
        if info is None:
            raise ImportFailed(f"the archive has no {name} (is it Slack's export?)")
        if info.file_size > MAX_MEMBER:
            raise ImportFailed(f"{name}: {info.file_size} bytes, over the {MAX_MEMBER} allowed")
        try:
            with self._zip.open(info) as member:
                data = member.read(MAX_MEMBER + 1)
        except (zipfile.BadZipFile, OSError, RuntimeError, EOFError) as exc:
            raise ImportFailed(f"{name}: cannot be read from the archive ({exc})") from None
        if len(data) > MAX_MEMBER:
            raise ImportFailed(f"{name}: decompresses to more than {MAX_MEMBER} bytes")
        try:
            return msgspec.json.decode(data, type=kind)
        except msgspec.DecodeError as exc:  # ValidationError too
            raise ImportFailed(f"{name}: {exc}") from None

    def days(self, folder: str) -> list[str]:
        """The day files of a channel's folder, oldest first."""
        prefix = folder + "/"
        return sorted(
            name
            for name in self._infos
            if name.startswith(prefix) and _DAY_FILE.match(name[len(prefix) :])
        )

    def others(self, known: set[str]) -> Iterator[str]:
        """Members that are neither a known top-level file nor a day file of a folder."""
        for name in self._infos:
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
