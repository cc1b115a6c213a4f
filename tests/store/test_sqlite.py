"""What only the SQLite store has: its file, WAL, migrations, the writer thread's batches.

Several tests hold SQLite's write lock from a second connection (:func:`writes_held`): the
store's writer thread then waits in ``BEGIN IMMEDIATE`` while the test queues writes, which
makes the next batch's content exact instead of a matter of thread timing.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from parley.model import Appended, EventKind, Room, RoomKind, User
from parley.store import migrations
from parley.store.base import LOBBY, Conflict, Forbidden, NotFound, Unavailable
from parley.store.migrations import Migration
from parley.store.sqlite import SQLiteStore, apply_migrations, split_statements

# -- helpers -------------------------------------------------------------------------------


@contextlib.contextmanager
def raw(path: Path) -> Iterator[sqlite3.Connection]:
    """A plain autocommit connection to the store's file, as another process would have."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()


async def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.001)


@contextlib.asynccontextmanager
async def writes_held(store: SQLiteStore) -> AsyncIterator[None]:
    """Hold the write lock while the body queues writes; they form one batch on exit.

    The writer thread first takes a plug write (a guest post to the lobby, its own batch and
    transaction) and blocks on the lock, so whatever the body queues meanwhile waits behind it.
    """
    lobby = await store.get_room(LOBBY)
    assert lobby is not None
    with raw(store.path) as conn:
        conn.execute("BEGIN IMMEDIATE")
        plug = asyncio.create_task(store.post_message(lobby.id, None, "plug", "plug"))
        await asyncio.sleep(0)  # the plug is queued ...
        await wait_until(lambda: store.write_queue_depth == 0)  # ... and taken by the writer
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
    await plug


async def queued(store: SQLiteStore, calls: list[asyncio.Task[object]] | int) -> None:
    """Wait until this many writes wait in the store's queue."""
    count = calls if isinstance(calls, int) else len(calls)
    await wait_until(lambda: store.write_queue_depth == count)


def tasks(*calls: object) -> list[asyncio.Task[object]]:
    return [asyncio.create_task(call) for call in calls]  # type: ignore[arg-type]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    opened = SQLiteStore(tmp_path / "parley.db")
    await opened.start()
    try:
        yield opened
    finally:
        await opened.close()


async def seqs(store: SQLiteStore, room: Room) -> list[int]:
    return [e.seq for e in await store.events_after(room.id, 0, 100_000)]


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


async def test_start_twice_or_after_close(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "db")
    await store.start()
    with pytest.raises(RuntimeError):
        await store.start()
    await store.close()
    with pytest.raises(Unavailable):
        await store.start()


async def test_close_without_start(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "db")
    await store.close()
    with pytest.raises(Unavailable):
        await store.get_room(LOBBY)


async def test_calls_before_start_are_unavailable(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "db")
    with pytest.raises(Unavailable):
        await store.get_room(LOBBY)
    with pytest.raises(Unavailable):
        await store.create_user("u", "h")


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


async def test_migrations_are_recorded_once(tmp_path: Path) -> None:
    path = tmp_path / "db"

    async def start_and_read_record() -> list[tuple[int, int]]:
        store = SQLiteStore(path)
        await store.start()
        await store.close()
        with raw(path) as conn:
            return conn.execute("SELECT version, applied_at FROM schema_migrations").fetchall()

    first = await start_and_read_record()
    assert [version for version, _ in first] == [m.version for m in migrations.load()] == [1, 2]
    assert await start_and_read_record() == first  # the second start applied nothing


def test_migration_files_ship_with_the_package() -> None:
    initial, *later = migrations.load()
    assert [m.version for m in later] == [2]
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


def test_apply_migrations_in_order_each_in_its_own_transaction(tmp_path: Path) -> None:
    one = Migration(1, "0001_a.sql", "CREATE TABLE a (x INTEGER);")
    two = Migration(2, "0002_b.sql", "CREATE TABLE b (x INTEGER);\nINSERT INTO a VALUES (2);")
    broken = Migration(3, "0003_c.sql", "CREATE TABLE c (x INTEGER);\nCREATE TABLE a (y);")
    with raw(tmp_path / "db") as conn:
        assert apply_migrations(conn, [two, one]) == [1, 2]
        assert apply_migrations(conn, [one, two]) == []
        with pytest.raises(sqlite3.OperationalError) as failure:
            apply_migrations(conn, [one, two, broken])
        assert "in migration 0003_c.sql" in (failure.value.__notes__ or [])
        assert not conn.in_transaction
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations")]
        assert versions == [1, 2]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert "c" not in tables  # the failed migration was rolled back whole
        assert conn.execute("SELECT x FROM a").fetchall() == [(2,)]


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "db"
    with raw(path) as conn:
        conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at)")
        conn.execute("INSERT INTO schema_migrations VALUES (99, 0)")
    store = SQLiteStore(path)
    with pytest.raises(Unavailable, match="schema version 99"):
        await store.start()
    await store.close()


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


# -- group commit --------------------------------------------------------------------------


async def test_concurrent_posts_share_transactions(store: SQLiteStore, room: Room) -> None:
    before = store.stats.transactions
    await asyncio.gather(*(store.post_message(room.id, None, "guest", f"m{i}") for i in range(300)))
    used = store.stats.transactions - before
    assert 1 <= used < 300
    assert store.stats.largest_batch > 1
    assert await seqs(store, room) == list(range(1, 302))


async def test_queued_writes_commit_in_one_transaction(store: SQLiteStore, room: Room) -> None:
    before = store.stats.transactions, store.stats.batched_ops
    async with writes_held(store):
        posts = tasks(*(store.post_message(room.id, None, "guest", f"m{i}") for i in range(100)))
        await queued(store, posts)
    await asyncio.gather(*posts)
    assert store.stats.transactions - before[0] == 2  # the plug's, then all 100 posts
    assert store.stats.batched_ops - before[1] == 101
    assert store.stats.largest_batch == 100
    assert await seqs(store, room) == list(range(1, 102))


async def test_max_batch_bounds_a_transaction(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "db", max_batch=8)
    await store.start()
    try:
        lobby = await store.get_room(LOBBY)
        assert lobby is not None
        before = store.stats.transactions
        async with writes_held(store):
            posts = tasks(*(store.post_message(lobby.id, None, "g", f"{i}") for i in range(40)))
            await queued(store, posts)
        await asyncio.gather(*posts)
        assert store.stats.transactions - before == 1 + 5
        assert store.stats.largest_batch == 8
        assert await seqs(store, lobby) == list(range(1, 42))
    finally:
        await store.close()


async def test_a_failing_write_does_not_fail_its_batch(
    store: SQLiteStore, alice: User, room: Room
) -> None:
    bob = await store.create_user("bob", "h")
    bobs = (await store.post_message(room.id, bob.id, "bob", "bob's")).event
    with raw(store.path) as conn:  # a real SQLite error for one write of the batch
        conn.execute(
            "CREATE TRIGGER refuse_boom BEFORE INSERT ON events WHEN NEW.text = 'boom'"
            " BEGIN SELECT RAISE(ABORT, 'boom refused'); END"
        )
    before = store.stats.transactions
    async with writes_held(store):
        batch = tasks(
            store.post_message(room.id, alice.id, "Alice", "first"),
            store.create_user("ALICE", "h"),
            store.post_message(987_654, alice.id, "Alice", "nowhere"),
            store.edit_message(room.id, alice.id, "Alice", bobs.mid or 0, "x", any_author=False),
            store.post_message(room.id, alice.id, "Alice", "boom"),
            store.create_user("carol", "h"),
            store.post_message(room.id, alice.id, "Alice", "last"),
        )
        await queued(store, batch)
    results = await asyncio.gather(*batch, return_exceptions=True)
    assert store.stats.transactions - before == 2  # the plug's, then this one batch

    first, conflict, not_found, forbidden, boom, carol, last = results
    assert isinstance(conflict, Conflict)
    assert isinstance(not_found, NotFound)
    assert isinstance(forbidden, Forbidden)
    assert isinstance(boom, Unavailable)
    assert "boom refused" in str(boom)
    assert isinstance(first, Appended)
    assert isinstance(last, Appended)
    assert isinstance(carol, User)
    assert (first.event.seq, last.event.seq) == (3, 4)  # no gap where the failures were
    history = await store.events_after(room.id, 0, 100)
    assert [e.text for e in history if e.kind is EventKind.MESSAGE] == ["bob's", "first", "last"]
    assert await store.get_user("carol") == carol


async def test_a_failed_commit_fails_every_write_of_the_batch(
    store: SQLiteStore, alice: User, room: Room
) -> None:
    # A deferred foreign key is only checked at COMMIT: this trigger makes that COMMIT fail.
    with raw(store.path) as conn:
        conn.execute(
            "CREATE TABLE commit_guard"
            " (room_id INTEGER REFERENCES rooms (id) DEFERRABLE INITIALLY DEFERRED)"
        )
        conn.execute(
            "CREATE TRIGGER fail_commit AFTER INSERT ON events WHEN NEW.text = 'fail the commit'"
            " BEGIN INSERT INTO commit_guard VALUES (-1); END"
        )
    async with writes_held(store):
        batch = tasks(
            store.post_message(room.id, alice.id, "Alice", "innocent"),
            store.post_message(room.id, alice.id, "Alice", "fail the commit"),
            store.create_user("bob", "h"),
            store.set_topic(room.id, alice.id, "Alice", "new topic"),
            store.create_user("ALICE", "h"),  # would be a Conflict, but nothing is committed
        )
        await queued(store, batch)
    results = await asyncio.gather(*batch, return_exceptions=True)
    assert all(isinstance(r, Unavailable) for r in results), results
    assert store.stats.failed_transactions == 1

    after = await store.get_room_by_id(room.id)
    assert after == room  # no seq taken, topic unchanged
    assert await store.get_user("bob") is None
    assert await seqs(store, room) == [1]

    # The store goes on, and the next seq follows the last committed one.
    again = await store.post_message(room.id, alice.id, "Alice", "innocent")
    assert again.event.seq == 2
    assert (await store.create_user("bob", "h")).name == "bob"
    assert await seqs(store, room) == [1, 2]


async def test_cancelled_callers_do_not_break_the_writer(store: SQLiteStore, room: Room) -> None:
    async with writes_held(store):
        posts = tasks(*(store.post_message(room.id, None, "g", f"m{i}") for i in range(20)))
        await queued(store, posts)
        for cancelled in posts[::2]:
            cancelled.cancel()
    results = await asyncio.gather(*posts, return_exceptions=True)
    assert all(isinstance(r, asyncio.CancelledError) for r in results[::2])
    kept = results[1::2]
    assert all(isinstance(r, Appended) for r in kept)
    # A caller cancelled before the writer reached its write gets nothing written.
    assert await seqs(store, room) == list(range(1, 12))
    assert (await store.post_message(room.id, None, "g", "after")).event.seq == 12


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


async def test_a_lock_held_too_long_is_unavailable(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "db", busy_timeout=0.05)
    await store.start()
    try:
        lobby = await store.get_room(LOBBY)
        assert lobby is not None
        with raw(store.path) as conn:
            conn.execute("BEGIN IMMEDIATE")
            with pytest.raises(Unavailable):
                await store.post_message(lobby.id, None, "g", "m")
            conn.execute("ROLLBACK")
        assert (await store.post_message(lobby.id, None, "g", "m")).event.seq == 1
        assert store.stats.failed_transactions == 1
    finally:
        await store.close()


def run_python(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


POSTER = """
    import asyncio, os, sys
    from parley.store.sqlite import SQLiteStore

    async def main(path: str, count: int, crash: bool) -> None:
        store = SQLiteStore(path)
        await store.start()
        lobby = await store.get_room("lobby")
        for i in range(count):
            appended = await store.post_message(lobby.id, None, "other", f"p{i}")
            print(appended.event.seq, flush=True)  # acknowledged
        if crash:
            os._exit(3)  # no close, no checkpoint: only what was committed survives
        await store.close()

    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3] == "crash"))
"""


async def test_two_processes_write_to_one_database(tmp_path: Path) -> None:
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
        out, err = other.communicate()
        assert other.returncode == 0, err
        theirs = [int(line) for line in out.split()]
        assert len(theirs) == 200
        assert sorted(theirs + [a.event.seq for a in mine]) == list(range(1, 201 + len(mine)))
        history = await store.events_after(lobby.id, 0, 100_000)
        assert [e.seq for e in history] == list(range(1, 201 + len(mine)))
        assert len({e.mid for e in history}) == len(history)
    finally:
        await store.close()


async def test_acknowledged_writes_survive_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "db"
    store = SQLiteStore(path)
    await store.start()  # create the database
    await store.close()
    crashed = run_python(POSTER, str(path), "50", "crash")
    out, err = crashed.communicate(timeout=60)
    assert crashed.returncode == 3, err
    acked = [int(line) for line in out.split()]
    assert acked == list(range(1, 51))

    store = SQLiteStore(path)
    await store.start()
    try:
        lobby = await store.get_room(LOBBY)
        assert lobby is not None
        assert lobby.last_seq == 50
        history = await store.events_after(lobby.id, 0, 100)
        assert [(e.seq, e.text) for e in history] == [(i + 1, f"p{i}") for i in range(50)]
    finally:
        await store.close()


# -- what is in the file ---------------------------------------------------------------------


async def test_deleted_text_is_removed_from_the_tables(
    store: SQLiteStore, alice: User, room: Room
) -> None:
    doomed = (await store.post_message(room.id, alice.id, "Alice", "secret one")).event
    mid = doomed.mid or 0
    await store.edit_message(room.id, alice.id, "Alice", mid, "secret two", any_author=False)
    await store.delete_message(room.id, alice.id, "Alice", mid, any_author=False)
    with raw(store.path) as conn:
        found = conn.execute("SELECT COUNT(*) FROM events WHERE text LIKE '%secret%'").fetchone()
    assert found == (0,)


async def test_room_last_seq_is_stored_with_the_events(store: SQLiteStore, room: Room) -> None:
    await asyncio.gather(*(store.post_message(room.id, None, "g", "m") for _ in range(30)))
    with raw(store.path) as conn:
        stored = conn.execute(
            "SELECT r.last_seq, MAX(e.seq), COUNT(*) FROM rooms AS r"
            " JOIN events AS e ON e.room_id = r.id WHERE r.id = ?",
            (room.id,),
        ).fetchone()
    assert stored == (31, 31, 31)


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
