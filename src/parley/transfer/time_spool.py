"""An external sort for an import whose input is not in time order (Mattermost's export lists
posts in the order of their ids, which are random, not of their times).

Items (a post, a reply, a reaction: opaque bytes) are written to a temporary SQLite database
on disk as they are read, each with its room's key and its sort key ``(ts, line, sub)``; once
all are in, one index is built, and each room's items are read back in that order, a page at
a time. Memory stays a page (and SQLite's own bounded cache) whatever the size of the input;
the disk holds about the input's size while the import runs, and the database is removed at
:meth:`TimeSpool.close`. Beside it, :meth:`remember` / :meth:`recall` keep the event id given
to an item that later ones refer to (a thread's root, a message reacted to) on disk too.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Final, Self

#: Items written per statement, and read per page.
PAGE: Final = 5000


class TimeSpool:
    """Items by room, read back oldest first (see the module docstring)."""

    def __init__(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="parley-import-")
        self._db = sqlite3.connect(Path(self._folder.name) / "spool.db")
        self._db.executescript(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
            "CREATE TABLE items (room TEXT NOT NULL, ts INTEGER NOT NULL,"
            " line INTEGER NOT NULL, sub INTEGER NOT NULL, body BLOB NOT NULL);"
            "CREATE TABLE made (line INTEGER NOT NULL, sub INTEGER NOT NULL,"
            " id INTEGER NOT NULL, PRIMARY KEY (line, sub)) WITHOUT ROWID;"
        )
        self._pending: list[tuple[str, int, int, int, bytes]] = []

    def add(self, room: str, ts: int, line: int, sub: int, body: bytes) -> None:
        self._pending.append((room, ts, line, sub, body))
        if len(self._pending) >= PAGE:
            self._flush()

    def _flush(self) -> None:
        self._db.executemany("INSERT INTO items VALUES (?, ?, ?, ?, ?)", self._pending)
        self._pending = []

    def sort(self) -> None:
        """Every item is in: index them for reading in order."""
        self._flush()
        self._db.execute("CREATE INDEX items_in_order ON items (room, ts, line, sub)")
        self._db.commit()

    def rooms(self) -> dict[str, int]:
        """Every room's key with its number of items."""
        return dict(self._db.execute("SELECT room, COUNT(*) FROM items GROUP BY room"))

    def first_ts(self, room: str) -> int | None:
        row = self._db.execute("SELECT MIN(ts) FROM items WHERE room = ?", (room,)).fetchone()
        first: int | None = row[0]
        return first

    def items(self, room: str) -> Iterator[tuple[int, int, int, bytes]]:
        """The room's items, ``(ts, line, sub, body)``, oldest first."""
        after = (-(2**63), 0, 0)
        while True:
            page = self._db.execute(
                "SELECT ts, line, sub, body FROM items"
                " WHERE room = ? AND (ts, line, sub) > (?, ?, ?) ORDER BY ts, line, sub LIMIT ?",
                (room, *after, PAGE),
            ).fetchall()
            yield from page
            if len(page) < PAGE:
                return
            after = page[-1][:3]

    def remember(self, line: int, sub: int, event_id: int) -> None:
        self._db.execute("INSERT INTO made VALUES (?, ?, ?)", (line, sub, event_id))

    def recall(self, line: int, sub: int) -> int | None:
        row = self._db.execute(
            "SELECT id FROM made WHERE line = ? AND sub = ?", (line, sub)
        ).fetchone()
        return None if row is None else int(row[0])

    def close(self) -> None:
        self._db.close()
        self._folder.cleanup()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["TimeSpool"]
