"""Reading an export's zip safely: members by name, in memory or streamed, never as files.

Every zip an import reads (Slack's export, Mattermost's) goes through here, with the same
guards. Nothing is extracted, so a member's name can never write anywhere; yet an archive with
a name that would escape a folder (``../x``, ``/etc/x``, ``C:\\x``) is refused whole, as a sign
of a forged archive. A member read whole (:meth:`SafeZip.read_bytes`) larger than its bound
once decompressed is refused before it is read (its declared size) or as soon as the bound is
passed while reading (a forged declared size): a zip bomb costs at most that much memory. A
member read as a stream (:meth:`SafeZip.stream`, a file too large to hold: Mattermost's
JSON lines) may inflate to at most :data:`MAX_RATIO` times its compressed size (text
compresses ten- or twentyfold; a bomb a thousandfold and more), so a bomb is refused before it
has cost more than that in time. A corrupt archive or member (bad CRC, truncated) is one clear
error.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Final, Self

from parley.transfer.sink import ImportFailed

#: The most members an archive may have (a bound on the index kept of them).
MAX_MEMBERS: Final = 2_000_000
#: How many times its compressed size a streamed member may inflate to.
MAX_RATIO: Final = 200
#: What a streamed member may inflate to whatever its compressed size (a small file).
RATIO_SLACK: Final = 1024 * 1024

_FAILURES: Final = (zipfile.BadZipFile, OSError, RuntimeError, EOFError)


def unsafe_name(name: str) -> bool:
    """Whether a member's name would leave the folder it is extracted to."""
    parts = name.replace("\\", "/").split("/")
    return (
        name.startswith(("/", "\\"))
        or "\\" in name
        or ".." in parts
        or (len(name) > 1 and name[1] == ":")  # a drive letter
        or "\x00" in name
    )


class SafeZip:
    """An open zip whose member names were checked: :meth:`read_bytes`, :meth:`stream`."""

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
            if unsafe_name(info.filename):
                self.close()
                raise ImportFailed(
                    f"the archive has a member named {info.filename!r}, outside its folder:"
                    " refused as forged"
                )
            if not info.is_dir():
                self._infos[info.filename] = info

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def has(self, name: str) -> bool:
        return name in self._infos

    def names(self) -> Iterator[str]:
        """The members' names (files only), in the archive's order."""
        return iter(self._infos)

    def read_bytes(self, name: str, limit: int) -> bytes:
        """Member ``name`` whole; :class:`ImportFailed` if it is missing, decompresses to
        more than ``limit`` bytes, or is corrupt."""
        info = self._infos.get(name)
        if info is None:
            raise ImportFailed(f"the archive has no {name}")
        if info.file_size > limit:
            raise ImportFailed(f"{name}: {info.file_size} bytes, over the {limit} allowed")
        try:
            with self._zip.open(info) as member:
                data = member.read(limit + 1)
        except _FAILURES as exc:
            raise ImportFailed(f"{name}: cannot be read from the archive ({exc})") from None
        if len(data) > limit:
            raise ImportFailed(f"{name}: decompresses to more than {limit} bytes")
        return data

    def stream(self, name: str) -> IO[bytes]:
        """Member ``name`` as a stream of bytes, refused (:class:`ImportFailed`) while read
        past :data:`MAX_RATIO` times its compressed size, or corrupt."""
        info = self._infos.get(name)
        if info is None:
            raise ImportFailed(f"the archive has no {name}")
        bound = info.compress_size * MAX_RATIO + RATIO_SLACK
        if info.file_size > bound:
            raise ImportFailed(
                f"{name}: {info.file_size} bytes from {info.compress_size} compressed, over"
                f" {MAX_RATIO} times: refused as a zip bomb"
            )
        try:
            member = self._zip.open(info)
        except _FAILURES as exc:
            raise ImportFailed(f"{name}: cannot be read from the archive ({exc})") from None
        return io.BufferedReader(_Bounded(member, name, bound))


class _Bounded(io.RawIOBase):
    """A member's decompressed bytes, at most ``bound`` of them; read errors as
    :class:`ImportFailed`."""

    def __init__(self, member: IO[bytes], name: str, bound: int) -> None:
        self._member = member
        self._name = name
        self._left = bound

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        try:
            data = self._member.read(min(len(buffer), self._left + 1))
        except _FAILURES as exc:
            raise ImportFailed(f"{self._name}: cannot be read from the archive ({exc})") from None
        self._left -= len(data)
        if self._left < 0:
            raise ImportFailed(
                f"{self._name}: inflates to over {MAX_RATIO} times its compressed size:"
                " refused as a zip bomb"
            )
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._member.close()
        super().close()


__all__ = ["MAX_MEMBERS", "MAX_RATIO", "SafeZip", "unsafe_name"]
