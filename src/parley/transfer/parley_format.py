"""Parley's export format: JSON lines, written and read as a stream.

One JSON value per line (UTF-8, ``\\n`` after each), in this order::

    {"format":"parley-export","version":1,"tables":{"users":["created_at","disabled",...],...}}
    {"table":"users","row":[1700000000000,false,...]}       one line per row, table by table
    ...
    {"blob":"<sha-256>","size":1234567}                    the bytes of each file, after the
    {"bytes":"<base64>"}                                   rows (parley.transfer.blob_lines)
    ...
    {"end":{"users":2,"rooms":3,...},"blobs":1}            the rows of each table and the
                                                           blobs: a cut file is told from a
                                                           complete one

The header names each table's columns, sorted by name; a row is the list of its values in
that order: numbers, strings, ``true``/``false``, ``null``. The tables (and the order of their
rows, by primary key) are those of :data:`~parley.store.sql.transfer_ops.TABLES`: users
(without password hashes), rooms (deleted ones included, so that their ids are never given
again), memberships, events (messages with their current state, edits, deletes, joins ...:
every kind, with its ``seq``), uploads (files' metadata; their bytes follow the rows),
mentions, the email outbox, thread references of imported Slack messages, reactions,
thread followers, room roles and sanctions, the audit log and server settings. Ids, seqs
and timestamps are kept as they are, so the same export read into an empty server and
exported again gives the same bytes.

``version`` changes when a reader of the old version would misread a new file (not when a
column or table is added: a reader refuses a column or table it does not know, naming it).
Version 2 added the files (the ``uploads`` table, the ``blob`` and ``bytes`` lines, the end
line's ``"blobs"``); a version 1 export (no files) is still read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO, Any, Final

import msgspec

from parley.files.blobs import BlobStore
from parley.store.sql.store import Snapshot, SQLStore
from parley.store.sql.transfer_ops import TABLES, TABLES_BY_NAME, Value
from parley.transfer.blob_lines import BlobReader, write_blobs
from parley.transfer.progress import Progress
from parley.transfer.sink import ImportFailed, Sink

FORMAT: Final = "parley-export"
VERSION: Final = 2
#: The versions this reader reads (1: before files were exported).
READS: Final = (1, 2)
#: The longest line read: a row is at most a message's worth, far below this.
MAX_LINE: Final = 1024 * 1024
#: Rows read per page while exporting.
PAGE: Final = 2000

_encoder = msgspec.json.Encoder()


def _line(value: object) -> bytes:
    return _encoder.encode(value) + b"\n"


async def export(
    store: SQLStore, blobs: BlobStore, out: IO[bytes], progress: Progress
) -> dict[str, int]:
    """Write the whole store, and the files of ``blobs`` its uploads refer to, to ``out``;
    return the rows of each table. Every row comes from one snapshot of the database
    (:meth:`SQLStore.snapshot`), so a server may go on writing meanwhile: the export is the
    database as it was when the export began, read page by page (memory: one page). The
    files are held first (:meth:`BlobStore.holding`): no blob the snapshot refers to is
    removed before its bytes are written."""
    async with blobs.holding(), store.snapshot() as snapshot:
        return await _export(snapshot, blobs, out, progress)


async def _export(
    snapshot: Snapshot, blobs: BlobStore, out: IO[bytes], progress: Progress
) -> dict[str, int]:
    columns = {table.name: await snapshot.table_columns(table) for table in TABLES}
    names = {table: [column.name for column in found] for table, found in columns.items()}
    out.write(_line({"format": FORMAT, "version": VERSION, "tables": names}))
    counts: dict[str, int] = {}
    for table in TABLES:
        width = len(names[table.name])
        booleans = [i for i, column in enumerate(columns[table.name]) if column.type == "bool"]
        after: Sequence[Value] | None = None
        count = 0
        while True:
            rows = await snapshot.export_page(table, names[table.name], after, PAGE)
            for row in rows:
                values = list(row[:width])
                for i in booleans:  # SQLite gives 0 and 1
                    if values[i] is not None:
                        values[i] = bool(values[i])
                out.write(_line({"table": table.name, "row": values}))
            count += len(rows)
            progress.tick(len(rows))
            if len(rows) < PAGE:
                break
            after = rows[-1][width:]
        counts[table.name] = count
    stored = await write_blobs(snapshot, blobs, out)
    out.write(_line({"end": counts, "blobs": stored}))
    progress.done()
    return counts


async def read_into(stream: IO[bytes], sink: Sink, blobs: BlobStore) -> None:
    """Read an export from ``stream`` into ``sink`` (begun, not finished), its files into
    ``blobs``. Raises :class:`ImportFailed` with the line number for anything but a complete,
    valid export."""
    reader = BlobReader(sink.store, blobs)
    try:
        await _read(stream, sink, reader)
    finally:
        reader.abandon()


async def _read(stream: IO[bytes], sink: Sink, reader: BlobReader) -> None:
    number = 0

    def next_line() -> bytes | None:
        nonlocal number
        line = stream.readline(MAX_LINE + 1)
        if not line:
            return None
        number += 1
        if len(line) > MAX_LINE:
            raise ImportFailed(f"line {number} is longer than {MAX_LINE} bytes")
        return line

    def decoded(line: bytes) -> dict[str, Any]:
        try:
            value = msgspec.json.decode(line)
        except msgspec.DecodeError as exc:
            raise ImportFailed(f"line {number}: not JSON ({exc})") from None
        if not isinstance(value, dict):
            raise ImportFailed(f"line {number}: expected a JSON object")
        return value

    first = next_line()
    if first is None:
        raise ImportFailed("the file is empty")
    header = decoded(first)
    if header.get("format") != FORMAT:
        raise ImportFailed('line 1: not a Parley export (no "format": "parley-export")')
    version = header.get("version")
    if version not in READS:
        raise ImportFailed(
            f"line 1: export format version {version!r}, but this Parley reads versions"
            f" {', '.join(map(str, READS))} only"
        )
    tables = header.get("tables")
    if not isinstance(tables, dict):
        raise ImportFailed('line 1: no "tables" object')
    for table, names in tables.items():
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            raise ImportFailed(f"line 1: the columns of {table!r} are not a list of names")
        try:
            sink.declare(table, names)
        except ImportFailed as exc:
            raise ImportFailed(f"line 1: {exc}") from None

    seen: dict[str, int] = {}
    in_blobs = False
    while (line := next_line()) is not None:
        item = decoded(line)
        try:
            if "bytes" in item:
                reader.add(item)
                continue
            if "blob" in item:
                if not in_blobs:  # the uploads' rows first: a blob must be one they refer to
                    await sink.flush()
                    await sink.written()
                    in_blobs = True
                await reader.begin(item)
                continue
            if "end" in item:
                await reader.end()
        except ImportFailed as exc:
            raise ImportFailed(f"line {number}: {exc}") from None
        if "end" in item:
            _check_end(item["end"], seen, number)
            if item.get("blobs", 0) != reader.count or set(item) - {"end", "blobs"}:
                raise ImportFailed(
                    f"line {number}: the end line counts {item.get('blobs', 0)!r} files,"
                    f" the file has {reader.count}"
                )
            if any(rest.strip() for rest in iter(lambda: stream.readline(MAX_LINE), b"")):
                raise ImportFailed(f"line {number}: more lines after the end line")
            await sink.flush()
            await sink.written()
            await reader.check_complete()
            return
        if in_blobs:
            raise ImportFailed(f"line {number}: a row after the files' bytes")
        table, row = item.get("table"), item.get("row")
        if not isinstance(table, str) or not isinstance(row, list):
            raise ImportFailed(f'line {number}: expected {{"table": ..., "row": [...]}}')
        if table not in tables:
            raise ImportFailed(f"line {number}: table {table!r} is not in the header")
        try:
            await sink.add(table, row)
        except ImportFailed as exc:
            raise ImportFailed(f"line {number}: {exc}") from None
        seen[table] = seen.get(table, 0) + 1
    raise ImportFailed(f"the export is cut short after line {number}: it has no end line")


def _check_end(end: object, seen: dict[str, int], number: int) -> None:
    if not isinstance(end, dict):
        raise ImportFailed(f'line {number}: "end" must be an object of row counts')
    for table in set(end) | set(seen):
        if table not in TABLES_BY_NAME:
            raise ImportFailed(f"line {number}: unknown table {table!r} in the end line")
        if end.get(table, 0) != seen.get(table, 0):
            raise ImportFailed(
                f"line {number}: the end line counts {end.get(table, 0)} rows of {table!r},"
                f" the file has {seen.get(table, 0)}"
            )


__all__ = ["FORMAT", "MAX_LINE", "READS", "VERSION", "export", "read_into"]
