"""Reading Mattermost's bulk export: its JSON lines as typed values, one line at a time.

``mmctl export create`` writes a zip holding ``import.jsonl`` (and, with ``--attachments``, a
``data/`` folder of the posts' files, at the paths the lines name); Mattermost's bulk import
reads the same lines. Each line is one object with a ``type``: ``version`` (first, once;
``"version": 1``), ``scheme``, ``emoji``, ``team``, ``channel``, ``user``, ``post``,
``direct_channel``, ``direct_post`` (and, from newer servers, ``role``, ``bot``...). The field
names below are those of Mattermost's import types (``server/channels/app/imports``); fields
this import has no use for are ignored, as are lines of types it does not read (counted).

Either the zip or the bare ``.jsonl`` is accepted: the zip through
:class:`~parley.transfer.safe_zip.SafeZip` (names that escape a folder refused, the lines'
member streamed with a bound on how far it inflates), the file as it is. A line longer than
:data:`MAX_LINE` bytes, not JSON, nested deeper than the decoder allows, or with a field of the
wrong type is one clear error naming its line; so is a first line that is not
``{"type": "version", "version": 1}``. Memory: one line at a time.
"""

from __future__ import annotations

import contextlib
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import msgspec

from parley.transfer.safe_zip import SafeZip
from parley.transfer.sink import ImportFailed

#: The longest line read (a post with all its replies is one line: 16 MiB is thousands).
MAX_LINE: Final = 16 * 1024 * 1024
#: The one version of the format there is.
VERSION: Final = 1
#: The lines' member in ``mmctl export create``'s zip.
LINES_MEMBER: Final = "import.jsonl"


class Team(msgspec.Struct):
    name: str
    display_name: str | None = None


class Channel(msgspec.Struct):
    team: str
    name: str
    type: str
    display_name: str | None = None
    header: str | None = None
    purpose: str | None = None


class ChannelMembership(msgspec.Struct):
    name: str


class TeamMembership(msgspec.Struct):
    name: str
    channels: list[ChannelMembership] | None = None


class User(msgspec.Struct):
    username: str
    email: str | None = None
    roles: str | None = None
    delete_at: int | None = None
    teams: list[TeamMembership] | None = None


class Reaction(msgspec.Struct):
    user: str
    emoji_name: str
    create_at: int = 0


class Attachment(msgspec.Struct):
    path: str


class Props(msgspec.Struct):
    #: A ``system_header_change`` post's new header.
    new_header: str | None = None


class Reply(msgspec.Struct):
    user: str
    create_at: int
    message: str | None = None
    type: str | None = None
    edit_at: int | None = None
    props: Props | None = None
    reactions: list[Reaction] | None = None
    attachments: list[Attachment] | None = None


class Post(Reply):
    team: str = ""
    channel: str = ""
    replies: list[Reply] | None = None
    is_pinned: bool | None = None
    flagged_by: list[str] | None = None


class DirectChannel(msgspec.Struct):
    members: list[str] | None = None
    header: str | None = None


class DirectPost(Post):
    channel_members: list[str] = msgspec.field(default_factory=list)


class Emoji(msgspec.Struct):
    name: str


class Line(msgspec.Struct):
    type: str
    version: int | None = None
    team: Team | None = None
    channel: Channel | None = None
    user: User | None = None
    post: Post | None = None
    direct_channel: DirectChannel | None = None
    direct_post: DirectPost | None = None
    emoji: Emoji | None = None


_DECODER: Final = msgspec.json.Decoder(Line)


class ExportFile:
    """An open Mattermost export, a zip or a bare ``.jsonl``: :meth:`lines`, and the zip's
    other members (the attachments' bytes)."""

    def __init__(self, path: Path) -> None:
        self.archive: SafeZip | None = None
        self._stack = contextlib.ExitStack()
        try:
            with path.open("rb") as probe:
                zipped = probe.read(4) == b"PK\x03\x04" or zipfile.is_zipfile(path)
        except OSError as exc:
            raise ImportFailed(f"{path.name}: cannot be read ({exc})") from None
        if zipped:
            self.archive = self._stack.enter_context(SafeZip(path))
            self.where = self._lines_member(self.archive)
            self._stream = self._stack.enter_context(self.archive.stream(self.where))
        else:
            self.where = path.name
            self._stream = self._stack.enter_context(path.open("rb"))

    @staticmethod
    def _lines_member(archive: SafeZip) -> str:
        if archive.has(LINES_MEMBER):
            return LINES_MEMBER
        found = [name for name in archive.names() if "/" not in name and name.endswith(".jsonl")]
        if len(found) == 1:
            return found[0]
        if not found:
            raise ImportFailed(
                "the archive has no import.jsonl (is it Mattermost's export, from"
                " `mmctl export create`?)"
            )
        raise ImportFailed(f"the archive has several .jsonl files: {', '.join(sorted(found))}")

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> ExportFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def lines(self) -> Iterator[tuple[int, Line]]:
        """Every line (its number, from 1) after the version line, which is checked."""
        number = 0
        versioned = False
        while True:
            raw = self._stream.readline(MAX_LINE + 1)
            if not raw:
                break
            number += 1
            where = f"{self.where} line {number}"
            if len(raw) > MAX_LINE:
                raise ImportFailed(f"{where}: longer than {MAX_LINE} bytes")
            if not raw.strip():
                continue
            try:
                line = _DECODER.decode(raw)
            except msgspec.DecodeError as exc:  # ValidationError too
                hint = "" if versioned else " (is it Mattermost's bulk export?)"
                raise ImportFailed(f"{where}: {exc}{hint}") from None
            except RecursionError:
                raise ImportFailed(f"{where}: JSON nested too deeply") from None
            if not versioned:
                if line.type != "version":
                    raise ImportFailed(
                        f"{where}: the first line must be the version line"
                        f' ({{"type": "version", "version": {VERSION}}}), not {line.type!r}'
                    )
                if line.version != VERSION:
                    raise ImportFailed(
                        f"{where}: version {line.version}: only version {VERSION} of the bulk"
                        " export format is known"
                    )
                versioned = True
                continue
            if line.type == "version":
                raise ImportFailed(f"{where}: a second version line")
            yield number, line
        if not versioned:
            raise ImportFailed(f"{self.where}: empty: no version line")


__all__ = [
    "MAX_LINE",
    "Attachment",
    "Channel",
    "DirectChannel",
    "DirectPost",
    "ExportFile",
    "Line",
    "Post",
    "Reaction",
    "Reply",
    "User",
]
