"""Writing imported rows into an empty store: checked one by one, stored a chunk at a time.

Every source (a Parley export, a Slack export) ends here as rows of the tables of
:data:`~parley.store.sql.transfer_ops.TABLES`, with their ids. The sink checks what the
database cannot be trusted to (SQLite stores a string in an integer column without a word):
each table and column must be one the database has, each value of its column's kind, and
text free of U+0000 (which PostgreSQL cannot hold). A chunk of :data:`CHUNK` rows of one
table is one write, after the pending rows of the tables before it (which it may refer to),
so a source may give the rows of several tables interleaved; the foreign keys (checked by
both databases as each chunk commits) catch a row that refers to nothing. Memory stays a
chunk per table, whatever the size of the import.

An import that fails part-way leaves the rows already written: the error says so, and the
way out is a new, empty database (``begin`` refuses a database that is not empty).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Final

from parley.store.base import Conflict
from parley.store.sql.store import SQLStore
from parley.store.sql.transfer_ops import TABLES, TABLES_BY_NAME, Column, Table, Value
from parley.transfer.progress import Progress

#: Rows per write: big enough that a commit is amortised, small enough to bound memory.
CHUNK: Final = 10_000

_INT64: Final = 2**63


class ImportFailed(Exception):
    """The input cannot be imported: the message says where and why, in one line.
    ``partial``: rows were written before the failure (the database holds part of it)."""

    def __init__(self, message: str, *, partial: bool = False) -> None:
        super().__init__(message)
        self.partial = partial


class Sink:
    """Rows into one empty store: :meth:`begin`, :meth:`declare` each table's columns, then
    :meth:`add` rows, and :meth:`finish`."""

    def __init__(self, store: SQLStore, progress: Progress, *, chunk: int = CHUNK) -> None:
        self.store = store
        self._progress = progress
        self._chunk = chunk
        self._known: dict[str, dict[str, Column]] = {}
        self._declared: dict[str, tuple[Column, ...]] = {}
        self._pending: dict[str, list[Sequence[Value]]] = {}
        #: The chunk being written while the next one is read (the source's work overlaps
        #: the database's).
        self._writing: asyncio.Future[None] | None = None
        self.counts: dict[str, int] = {}

    async def begin(self) -> None:
        """Refuse a database that is not empty (:class:`~parley.store.base.Conflict`), and
        learn its columns."""
        try:
            await self.store.begin_import()
        except Conflict as exc:
            raise ImportFailed(str(exc)) from None
        for table in TABLES_BY_NAME.values():
            found = await self.store.table_columns(table)
            self._known[table.name] = {column.name: column for column in found}

    def declare(self, table: str, names: Sequence[str]) -> None:
        """The columns (in this order) of the rows of ``table`` to come. A column the
        database lacks is refused (the input is from a newer Parley); one the input lacks
        takes the database's default."""
        known = self._known.get(table)
        if known is None:
            raise ImportFailed(f"unknown table {table!r}")
        if len(set(names)) != len(names):
            raise ImportFailed(f"table {table!r}: a column is named twice")
        unknown = [name for name in names if name not in known]
        if unknown:
            raise ImportFailed(
                f"table {table!r}: unknown column {unknown[0]!r} (an export from a newer Parley?"
                " upgrade this one first)"
            )
        self._declared[table] = tuple(known[name] for name in names)

    async def add(self, table: str, values: Sequence[object]) -> None:
        """One row of ``table``, its values in the order :meth:`declare` gave."""
        columns = self._declared.get(table)
        if columns is None:
            raise ImportFailed(f"a row of table {table!r}, whose columns were not declared")
        if len(values) != len(columns):
            raise ImportFailed(
                f"a row of table {table!r} has {len(values)} values for {len(columns)} columns"
            )
        for column, value in zip(columns, values, strict=True):
            # The common cases inline (a million rows: this loop is most of the import's
            # Python time); anything else is _check's, which says what is wrong.
            kind = type(value)
            if value is None or (
                (kind is str and column.type == "text" and "\x00" not in value)  # type: ignore[operator]
                or (kind is int and column.type == "int" and -_INT64 <= value < _INT64)  # type: ignore[operator]
                or (kind is bool and column.type == "bool")
            ):
                continue
            _check(table, column, value)
        pending = self._pending.setdefault(table, [])
        pending.append(values)  # type: ignore[arg-type]  # checked above
        if len(pending) >= self._chunk:
            await self.flush(TABLES_BY_NAME[table])

    async def flush(self, upto: Table | None = None) -> None:
        """Write the pending rows of ``upto`` and of every table before it in
        :data:`~parley.store.sql.transfer_ops.TABLES` (the rows it may refer to); of every
        table when None."""
        for table in TABLES:
            rows = self._pending.get(table.name)
            if rows:
                self._pending[table.name] = []
                names = [column.name for column in self._declared[table.name]]
                await self.written()
                self._writing = asyncio.ensure_future(self.store.import_rows(table, names, rows))
                self.counts[table.name] = self.counts.get(table.name, 0) + len(rows)
                self._progress.tick(len(rows))
            if table is upto:
                return

    async def written(self) -> None:
        """Wait for the chunk being written (one at a time: each commits before the next is
        sent, so a chunk's references are always stored before it)."""
        writing, self._writing = self._writing, None
        if writing is not None:
            await writing

    async def abandon(self) -> None:
        """Wait for the chunk being written, ignoring its failure (the import failed already)."""
        with contextlib.suppress(Exception):
            await self.written()

    async def finish(self, counters: Sequence[tuple[int, int]] = ()) -> None:
        """Write what is pending, set the rooms' counters (``(room id, last seq)``) if the
        source gives them, and make new ids follow the imported ones."""
        await self.flush()
        await self.written()
        if counters:
            await self.store.set_room_counters(counters)
        await self.store.finish_import()


def _check(table: str, column: Column, value: object) -> None:
    if value is None:
        return  # the database enforces NOT NULL
    where = f"table {table!r}, column {column.name!r}"
    if column.type == "bool":
        if not isinstance(value, bool):
            raise ImportFailed(f"{where}: expected true or false, got {_kind(value)}")
    elif column.type == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ImportFailed(f"{where}: expected an integer, got {_kind(value)}")
        if not -_INT64 <= value < _INT64:
            raise ImportFailed(f"{where}: {value} does not fit in 64 bits")
    else:
        if not isinstance(value, str):
            raise ImportFailed(f"{where}: expected a string, got {_kind(value)}")
        if "\x00" in value:
            raise ImportFailed(f"{where}: a string contains U+0000")


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


__all__ = ["CHUNK", "ImportFailed", "Sink"]
