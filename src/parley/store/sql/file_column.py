"""The ``events.files`` column: a message's files as a JSON list, in the order sent.

Kept on the message's row (migration 0008), in the shape the wire shows (a ``FileInfo`` with
the pixel sizes left out when 0), so that every query that reads events carries a message's
files with no join, and a delete clears them with the text.
"""

from __future__ import annotations

import msgspec

from parley.model import FileRef


class _Stored(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    id: str
    name: str
    type: str
    size: int
    width: int = 0
    height: int = 0
    thumb_width: int = 0
    thumb_height: int = 0


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(list[_Stored])


def encode_files(files: tuple[FileRef, ...]) -> str | None:
    """The column's value for ``files`` (NULL for none)."""
    if not files:
        return None
    stored = [
        _Stored(
            id=f.id,
            name=f.name,
            type=f.type,
            size=f.size,
            width=f.width,
            height=f.height,
            thumb_width=f.thumb_width,
            thumb_height=f.thumb_height,
        )
        for f in files
    ]
    return _encoder.encode(stored).decode()


def decode_files(value: str | None) -> tuple[FileRef, ...]:
    """The files the column holds (none for NULL)."""
    if not value:
        return ()
    return tuple(
        FileRef(
            id=s.id,
            name=s.name,
            type=s.type,
            size=s.size,
            width=s.width,
            height=s.height,
            thumb_width=s.thumb_width,
            thumb_height=s.thumb_height,
        )
        for s in _decoder.decode(value)
    )
