"""What only the SQLite store has: its file, WAL, its writer thread, several processes on one
file, and the multi-row insert of a batch's posts. (Group commit, migrations and durability,
which both backends share, are in the conformance suite.)
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from parley.model import Appended, EventKind, Room, RoomKind, User
from parley.store import migrations
from parley.store.base import LOBBY, Unavailable
from parley.store.sqlite import SQLiteStore, split_statements
from tests.store.conftest import POSTER, PythonRunner

# -- helpers -------------------------------------------------------------------------------


@contextlib.contextmanager
def raw(path: Path) -> Iterator[sqlite3.Connection]:
    """A plain autocommit connection to the store's file, as another process would have."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    opened = SQLiteStore(tmp_path / "parley.db")
    await opened.start()
    try:
        yield opened
    finally:
        await opened.close()


# -- construction and life cycle -----------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"path": ":memory:"},
        {"path": ""},
        {"path": "x.db", "synchronous": "sometimes"},
        {"path": "x.db", "max_batch": 0},
        {"path": "x.db", "readers": 0},
    ],
)
def test_rejects_bad_arguments(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"."):
        SQLiteStore(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("synchronous", ["OFF", "normal", "full", "extra"])
async def test_every_synchronous_level_works(tmp_path: Path, synchronous: str) -> None:
    store = SQLiteStore(tmp_path / "db", synchronous=synchronous, readers=1, max_batch=1)
    await store.start()
    try:
        user = await store.create_user("u", "h")
        assert await store.get_user("U") == user
    finally:
        await store.close()


async def test_unopenable_file_is_unavailable(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "missing-directory" / "db")
    with pytest.raises(Unavailable, match="cannot open"):
        await store.start()
    await store.close()


# -- the file: WAL and migrations ------------------------------------------------------------


async def test_wal_mode_and_schema(store: SQLiteStore) -> None:
    with raw(store.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"users", "sessions", "rooms", "memberships", "events", "schema_migrations"} <= tables


def test_migration_files_ship_with_the_package() -> None:
    initial, *later = migrations.load()
    assert [m.version for m in later] == list(range(2, len(later) + 2))  # numbered, no gap
    assert initial.version == 1
    assert initial.name == "0001_initial.sql"
    assert "CREATE TABLE events" in initial.sql


def test_load_orders_files_and_refuses_duplicate_versions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "fake_migrations"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "0002_second.sql").write_text("SELECT 2;")
    (package / "0001_first.sql").write_text("SELECT 1;")
    (package / "notes.txt").write_text("not a migration")
    (package / "3_bad_name.sql").write_text("not a migration either")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert [(m.version, m.name) for m in migrations.load("fake_migrations")] == [
        (1, "0001_first.sql"),
        (2, "0002_second.sql"),
    ]
    (package / "0002_again.sql").write_text("SELECT 3;")
    with pytest.raises(ValueError, match="two migrations with version 2"):
        migrations.load("fake_migrations")


def test_split_statements() -> None:
    script = textwrap.dedent(
        """
        -- a comment; with a semicolon
        CREATE TABLE t (x TEXT DEFAULT 'a;b');  CREATE TABLE u (y INTEGER);
        /* block; comment */
        CREATE TRIGGER tr AFTER INSERT ON t BEGIN
            INSERT INTO u VALUES (1);
            INSERT INTO u VALUES (2);
        END;
        -- trailing comment
        """
    )
    statements = split_statements(script)
    assert len(statements) == 4
    assert statements[0].endswith("CREATE TABLE t (x TEXT DEFAULT 'a;b');")
    assert statements[1] == "CREATE TABLE u (y INTEGER);"
    assert statements[2].startswith("/* block; comment */\nCREATE TRIGGER")
    assert statements[2].endswith("END;")
    assert statements[3] == "-- trailing comment"
    with sqlite3.connect(":memory:") as conn:
        for statement in statements:
            conn.execute(statement)
        conn.execute("INSERT INTO t VALUES ('x')")
        assert conn.execute("SELECT COUNT(*) FROM u").fetchone() == (2,)
    conn.close()


# -- locks and threads ---------------------------------------------------------------------


async def test_the_event_loop_runs_while_the_writer_waits(store: SQLiteStore, room: Room) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    counting = asyncio.create_task(ticker())
    with raw(store.path) as conn:
        conn.execute("BEGIN IMMEDIATE")
        waiting = asyncio.create_task(store.post_message(room.id, None, "g", "m"))
        await asyncio.sleep(0.3)
        assert not waiting.done()
        conn.execute("ROLLBACK")
    await waiting
    counting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await counting
    assert ticks > 20


async def test_reads_go_on_while_another_connection_writes(
    store: SQLiteStore, alice: User, room: Room
) -> None:
    with raw(store.path) as conn:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE rooms SET topic = 'uncommitted' WHERE id = ?", (room.id,))
        current = await asyncio.wait_for(store.get_room_by_id(room.id), 2)
        assert current == room  # the last committed state
        assert await store.get_user("alice") == alice
        conn.execute("ROLLBACK")


async def test_two_processes_write_to_one_database(
    tmp_path: Path, run_python: PythonRunner
) -> None:
    path = tmp_path / "db"
    store = SQLiteStore(path)
    await store.start()
    try:
        lobby = await store.get_room(LOBBY)
        assert lobby is not None
        other = run_python(POSTER, str(path), "200", "close")
        mine: list[Appended] = []
        while other.poll() is None or len(mine) < 200:
            mine.append(await store.post_message(lobby.id, None, "me", f"m{len(mine)}"))
        out, err = await asyncio.to_thread(other.communicate)
        assert other.returncode == 0, err
        theirs = [int(line) for line in out.split()]
        assert len(theirs) == 200
        assert sorted(theirs + [a.event.seq for a in mine]) == list(range(1, 201 + len(mine)))
        history = await store.events_after(lobby.id, 0, 100_000)
        assert [e.seq for e in history] == list(range(1, 201 + len(mine)))
        assert len({e.mid for e in history}) == len(history)
    finally:
        await store.close()


# -- what is in the file ---------------------------------------------------------------------


async def test_posts_queued_together_are_stored_with_one_insert_and_stay_exact(
    store: SQLiteStore, room: Room
) -> None:
    """Consecutive posts in a batch take the multi-row path; what it returns must be exactly
    what the database holds (seq, mid, text), across rooms, and a join in the middle of the
    batch keeps its place in the room's order."""
    alice = await store.create_user("alice2", "hash")
    other, _ = await store.create_room("other", RoomKind.PUBLIC, creator_id=alice.id)
    before = store.stats.transactions
    calls = []
    for n in range(60):
        target = room if n % 3 else other
        calls.append(store.post_message(target.id, alice.id, alice.name, f"m{n}", f"c{n}"))
        if n == 30:
            calls.append(store.join(room.id, alice.id, alice.name))
    results = await asyncio.gather(*calls)
    assert store.stats.transactions - before <= 3
    for result in results:
        if not isinstance(result, Appended):
            continue
        [stored] = await store.events_after(result.event.room_id, result.event.seq - 1, 1)
        assert stored == result.event
    for target in (room, other):
        events = await store.events_after(target.id, 0, 1000)
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
    texts = [
        e.text for e in await store.events_after(room.id, 0, 1000) if e.kind is EventKind.MESSAGE
    ]
    assert texts == [f"m{n}" for n in range(60) if n % 3]


async def test_a_repeated_cid_in_a_batch_falls_back_and_stays_idempotent(
    store: SQLiteStore, room: Room
) -> None:
    user = await store.create_user("bob2", "hash")
    results = await asyncio.gather(
        *(store.post_message(room.id, user.id, user.name, "same", "dup") for _ in range(10)),
        *(store.post_message(room.id, user.id, user.name, f"u{n}", f"u{n}") for n in range(10)),
    )
    originals = [r for r in results if not r.duplicate]
    assert len(originals) == 11  # one "dup" and ten unique ones
    assert len({r.event.mid for r in results[:10]}) == 1
