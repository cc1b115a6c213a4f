"""Bringing a database's schema up to date: the numbered files of :mod:`parley.store.migrations`.

Written once for every engine; each backend has its own files (its dialect), with the same
numbers and names.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Final

from parley.clock import now_ms
from parley.store import migrations
from parley.store.base import Unavailable
from parley.store.sql import operations
from parley.store.sql.engine import Connection, lock_transaction, transaction

#: The transaction lock (:func:`lock_transaction`) under which migrations are applied.
MIGRATION_LOCK: Final = 0x7061726C65790001  # "parley" and a number


async def prepare(conn: Connection, available: Iterable[migrations.Migration]) -> None:
    """What a store does on its first connection at start: migrate, then make sure the lobby
    exists."""
    await apply_migrations(conn, available)
    await operations.ensure_lobby(conn)


async def apply_migrations(
    conn: Connection, available: Iterable[migrations.Migration]
) -> list[int]:
    """Apply the migrations not yet recorded in ``schema_migrations``, in version order.

    Each runs in its own transaction together with its ``schema_migrations`` row, under the
    engine's transaction lock (SQLite's write transaction excludes every other writer anyway):
    a failing one leaves the database as the previous one left it, and several processes
    starting at once apply each exactly once (the second waits for the lock, then finds the
    version recorded). Returns the versions applied. Raises :class:`Unavailable` for a
    database whose schema is newer than this code knows (it was opened by a newer Parley).
    """
    ordered = sorted(available, key=lambda migration: migration.version)
    newest_known = max((m.version for m in ordered), default=0)
    done = await transaction(conn, _applied)
    newest = max(done, default=0)
    if newest > newest_known:
        raise Unavailable(
            f"cannot use the database: it has schema version {newest}; this Parley knows up "
            f"to {newest_known}"
        )
    applied: list[int] = []
    for migration in ordered:
        if migration.version in done:
            continue
        if await transaction(conn, functools.partial(_apply_one, migration=migration)):
            applied.append(migration.version)
    return applied


async def _applied(conn: Connection) -> set[int]:
    await lock_transaction(conn, MIGRATION_LOCK)
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations"
        " (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)"
    )
    return {row[0] for row in await conn.fetch("SELECT version FROM schema_migrations")}


async def _apply_one(conn: Connection, migration: migrations.Migration) -> bool:
    await lock_transaction(conn, MIGRATION_LOCK)
    found = await conn.fetchval(
        "SELECT 1 FROM schema_migrations WHERE version = ?", migration.version
    )
    if found is not None:  # another process applied it while this one waited
        return False
    try:
        await conn.script(*conn.engine.statements(migration.sql))
    except Exception as exc:
        exc.add_note(f"in migration {migration.name}")
        raise
    await conn.execute(
        "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
        migration.version,
        now_ms(),
    )
    return True


__all__ = ["MIGRATION_LOCK", "apply_migrations", "prepare"]
