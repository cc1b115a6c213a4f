"""The store operations behind ``parley export`` and ``parley import``, written once for every
SQL engine (the format itself: :mod:`parley.transfer.parley_format`).

They are generic over the tables: :data:`TABLES` lists, in one place, which tables an export
holds, in an order that satisfies every foreign key (a row's references come before it), each
with the key its rows are read in. Their columns are not listed anywhere: they are read from
the database's own catalogue (the engine's :attr:`~parley.store.sql.engine.Engine.columns_query`),
so a migration that adds a column, or an event kind (a row of ``event_kinds``, not a table),
flows through export and import with no change here; a new table is one line in
:data:`TABLES`.

Left out on purpose: ``sessions``, ``claim_tokens`` and ``invites`` (secrets, even hashed: an
import issues new claim tokens, and an admin new invitations), ``users.password_hash`` (never
leaves the server), ``search_pending`` and the full-text index (rebuilt from the events),
``event_kinds`` and ``schema_migrations`` (the schema's, made by the migrations), columns the
database computes (PostgreSQL's ``events.search``), and PostgreSQL's ``blobs`` and
``blob_chunks``: the bytes of files travel through the blob store's own interface
(:mod:`parley.transfer.blob_lines`), whichever store holds them; here only the digests the
``uploads`` rows refer to (:func:`referenced_blobs`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from parley.store.base import Conflict
from parley.store.sql.engine import Connection

#: The kind of a column's values, as an export writes them (JSON: number, string, boolean).
ColumnType = Literal["int", "text", "bool"]


@dataclass(frozen=True, slots=True)
class Table:
    """One exported table: its name, the columns its rows are ordered by (its primary key),
    the columns never exported, with what an import stores in their place."""

    name: str
    key: tuple[str, ...]
    #: Columns left out of the export, each with the value an import gives it.
    withheld: dict[str, object] = field(default_factory=dict)
    #: Whether the database assigns its ``id`` (an identity to move past imported ids).
    assigns_ids: bool = False


#: Every exported table, in an order where each row's references come first. One line per
#: table: the only change a feature adding a table makes to export and import.
TABLES: Final = (
    # An imported account has no password: "" matches no password (an invalid hash).
    Table("users", ("id",), withheld={"password_hash": ""}, assigns_ids=True),
    Table("rooms", ("id",), assigns_ids=True),
    Table("memberships", ("room_id", "user_id")),
    Table("events", ("id",), assigns_ids=True),
    Table("uploads", ("id",)),
    Table("mentions", ("user_id", "room_id", "seq")),
    Table("email_outbox", ("user_id", "message_id")),
    Table("imported_threads", ("message_id",)),
    Table("reactions", ("message_id", "emoji", "user_id")),
    Table("thread_follows", ("thread", "user_id")),
    Table("room_roles", ("room_id", "user_id")),
    Table("room_sanctions", ("room_id", "user_id", "kind")),
    Table("audit_log", ("id",), assigns_ids=True),
    Table("server_settings", ("name",)),
)

TABLES_BY_NAME: Final = {table.name: table for table in TABLES}


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: ColumnType


def _column_type(declared: str) -> ColumnType:
    """A declared SQL type as the JSON kind of its values (SQLite's ``BIGINT``, PostgreSQL's
    ``bigint``: numbers; ``BOOLEAN``: booleans; anything else, text)."""
    upper = declared.upper()
    if "BOOL" in upper:
        return "bool"
    if "INT" in upper:
        return "int"
    return "text"


async def columns(conn: Connection, table: Table) -> tuple[Column, ...]:
    """The columns of ``table`` an export holds, sorted by name (so both engines, whose
    tables may have grown their columns in different orders, write the same export)."""
    rows = await conn.fetch(conn.engine.columns_query, table.name)
    found = [
        Column(row[0], _column_type(row[1]))
        for row in rows
        if not row[2] and row[0] not in table.withheld
    ]
    return tuple(sorted(found, key=lambda column: column.name))


Value = int | str | bool | None


async def page(
    conn: Connection,
    table: Table,
    names: Sequence[str],
    after: Sequence[Value] | None,
    limit: int,
) -> list[tuple[Value, ...]]:
    """Up to ``limit`` rows of ``table`` (the columns ``names``, then the key's), in key
    order, after the key ``after`` (None: from the start). Keyset paging: each page costs
    one index range, however far into the table."""
    selected = ", ".join([*names, *table.key])
    key = ", ".join(table.key)
    where = ""
    args: list[object] = []
    if after is not None:
        where = f" WHERE ({key}) > ({', '.join('?' for _ in table.key)})"
        args.extend(after)
    # Identifiers only from TABLES and the database's catalogue; values as placeholders.
    sql = f"SELECT {selected} FROM {table.name}{where} ORDER BY {key} LIMIT ?"  # noqa: S608
    rows = await conn.fetch(sql, *args, limit)
    width = len(names) + len(table.key)
    return [tuple(row[i] for i in range(width)) for row in rows]


async def is_empty(conn: Connection) -> bool:
    """Whether the database holds nothing an import could collide with: no account, no event,
    and no room but the lobby every store makes at start (empty, with no members)."""
    row = await conn.fetchrow(
        "SELECT (SELECT COUNT(*) FROM users) AS users, (SELECT COUNT(*) FROM events) AS events,"
        " (SELECT COUNT(*) FROM rooms) AS rooms, (SELECT COUNT(*) FROM memberships) AS members"
    )
    assert row is not None
    empty: bool = row["users"] == 0 and row["events"] == 0 and row["members"] == 0
    return empty and row["rooms"] <= 1


async def begin_import(conn: Connection) -> None:
    """Refuse a database that is not empty (:class:`Conflict`); otherwise remove the empty
    lobby made at start, so that the imported rooms keep their ids (the lobby among them)."""
    if not await is_empty(conn):
        raise Conflict(
            "the database is not empty: import only into a new one (it has accounts, rooms or"
            " events already)"
        )
    await conn.execute("DELETE FROM rooms")


async def insert_rows(
    conn: Connection, table: Table, names: Sequence[str], rows: Sequence[Sequence[object]]
) -> None:
    """Insert ``rows`` (values of the columns ``names``, with their own ids) into ``table``;
    withheld columns get their import value."""
    withheld = list(table.withheld.items())
    all_names = [*names, *(name for name, _ in withheld)]
    fill = [value for _, value in withheld]
    placeholders = ", ".join("?" for _ in all_names)
    sql = (
        f"INSERT INTO {table.name} ({', '.join(all_names)}){conn.engine.given_ids}"  # noqa: S608
        f" VALUES ({placeholders})"
    )
    await conn.executemany(sql, [[*row, *fill] for row in rows])


async def set_counters(conn: Connection, counters: Sequence[tuple[int, int]]) -> None:
    """Set rooms' ``last_seq`` (room id, seq): an import that made a room's events after its
    row (Slack's) says where each room's counter stands."""
    await conn.executemany(
        "UPDATE rooms SET last_seq = ? WHERE id = ?", [(seq, room) for room, seq in counters]
    )


async def finish_import(conn: Connection) -> None:
    """Make the database assign new ids after the imported ones."""
    for table in TABLES:
        statement = conn.engine.resync_ids(table.name) if table.assigns_ids else None
        if statement is not None:
            await conn.execute(statement)


#: The digests of the blobs the ``uploads`` rows refer to: each file's and its thumbnail's.
_REFERENCED = (
    "SELECT hash AS digest FROM uploads"
    " UNION SELECT thumb_hash AS digest FROM uploads WHERE thumb_hash IS NOT NULL"
)


async def referenced_blobs(conn: Connection, after: str, limit: int) -> list[str]:
    """Up to ``limit`` digests greater than ``after`` of the blobs uploads refer to, in order
    (each once, however many uploads share it): the blobs an export carries."""
    rows = await conn.fetch(
        f"SELECT digest FROM ({_REFERENCED}) AS referenced"  # noqa: S608 (a constant)
        " WHERE digest > ? ORDER BY digest LIMIT ?",
        after,
        limit,
    )
    return [row["digest"] for row in rows]


async def refers_to_blob(conn: Connection, digest: str) -> bool:
    """Whether an upload refers to the blob ``digest`` (an import takes no other blob)."""
    found = await conn.fetchval(
        "SELECT 1 FROM uploads WHERE hash = ? OR thumb_hash = ? LIMIT 1", digest, digest
    )
    return found is not None


async def add_claim_tokens(
    conn: Connection, tokens: Sequence[tuple[str, int]], created_at: int, expires_at: int
) -> None:
    """Store claim tokens (their hashes) for accounts (``(token_hash, user_id)``)."""
    await conn.executemany(
        "INSERT INTO claim_tokens (token_hash, user_id, created_at, expires_at)"
        " VALUES (?, ?, ?, ?)",
        [(token_hash, user_id, created_at, expires_at) for token_hash, user_id in tokens],
    )


async def users_without_password(conn: Connection, after: int, limit: int) -> list[tuple[int, str]]:
    """Accounts that cannot sign in for want of a password (id, name), by id, after ``after``."""
    rows = await conn.fetch(
        "SELECT id, name FROM users WHERE password_hash = '' AND id > ? ORDER BY id LIMIT ?",
        after,
        limit,
    )
    return [(row["id"], row["name"]) for row in rows]


__all__ = [
    "TABLES",
    "TABLES_BY_NAME",
    "Column",
    "ColumnType",
    "Table",
    "Value",
    "add_claim_tokens",
    "begin_import",
    "columns",
    "finish_import",
    "insert_rows",
    "is_empty",
    "page",
    "referenced_blobs",
    "refers_to_blob",
    "set_counters",
    "users_without_password",
]
