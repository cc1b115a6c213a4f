"""What only the PostgreSQL store has: a server, several processes, races, outages.

Every test works in a schema or database of its own (see ``conftest.py``) and touches only the
connections of its own stores (found by their ``application_name``): the server is shared.
(Group commit, migrations and durability, which both backends share, are in the conformance
suite.)
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import subprocess
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from parley.model import Appended, Room, RoomKind
from parley.search.query import parse
from parley.store import migrations
from parley.store.base import LOBBY, Conflict, Unavailable
from parley.store.postgres import MIGRATIONS, PostgresStore, describe_target
from parley.store.sql.engine import Connection
from parley.store.sqlite import SQLiteStore
from tests.store.conftest import (
    POSTER,
    POSTGRES_URL,
    PostgresHarness,
    PythonRunner,
    postgres_connect,
    postgres_database,
    postgres_schema,
    wait_until,
    wait_until_waiting_for_a_lock,
    with_database,
    writes_held,
)
from tests.store.conftest import new_postgres_store as new_store

# -- helpers -------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def raw(url: str) -> AsyncIterator[Any]:
    """A plain connection to the store's schema, as another process would have."""
    conn = await postgres_connect(url)
    try:
        yield conn
    finally:
        await conn.close()


async def terminate_backends(conn: Any, store: PostgresStore) -> int:
    """Kill the store's server connections, as a server restart or a DBA would."""
    killed: int = await conn.fetchval(
        "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE application_name = $1 AND pid <> pg_backend_pid()",
        store.application_name,
    )
    return killed


async def seqs(store: PostgresStore, room: Room) -> list[int]:
    return [e.seq for e in await store.events_after(room.id, 0, 100_000)]


async def finished(process: subprocess.Popen[str], timeout: float = 60) -> str:
    """Wait for a child process without blocking the event loop; its output, or fail."""
    out, err = await asyncio.to_thread(process.communicate, timeout=timeout)
    assert process.returncode == 0, err
    return out


@pytest.fixture
async def url() -> AsyncIterator[str]:
    async with postgres_schema() as schema_url:
        yield schema_url


@pytest.fixture
async def store(url: str) -> AsyncIterator[PostgresStore]:
    opened = new_store(url, writers=1)  # one writer: batches are exact
    await opened.start()
    try:
        yield opened
    finally:
        await opened.close()


# -- construction and life cycle -----------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"url": "sqlite:///x.db"},
        {"url": "parley.db"},
        {"url": "postgresql://h/db", "max_size": 0},
        {"url": "postgresql://h/db", "min_size": 5, "max_size": 4},
        {"url": "postgresql://h/db", "writers": 0},
        {"url": "postgresql://h/db", "writers": 5, "max_size": 4},
        {"url": "postgresql://h/db", "max_batch": 0},
        {"url": "postgresql://h/db", "timeout": 0},
    ],
)
def test_rejects_bad_arguments(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"."):
        PostgresStore(**kwargs)


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("postgresql://u:secret@db.example:6432/parley", "db.example:6432"),
        ("postgresql://u:secret@db.example/parley", "db.example:5432"),
        ("postgres://[::1]:5433/parley", "[::1]:5433"),
        ("postgresql://u@[::1]/parley", "[::1]:5432"),
        ("postgresql://u:pw@a:1,b:2/parley", "a:1,b:2"),
        ("postgresql:///parley?host=/var/run/postgresql", "/var/run/postgresql"),
        ("postgresql:///parley", "localhost:5432"),
    ],
)
def test_target_names_the_server_without_password(url: str, target: str) -> None:
    assert describe_target(url) == target
    assert PostgresStore(url).target == target


async def test_unreachable_server_is_unavailable_quickly() -> None:
    store = PostgresStore("postgresql://postgres:secret@127.0.0.1:1/test", start_retry=0)
    started = time.monotonic()
    with pytest.raises(Unavailable) as failure:
        await store.start()
    assert time.monotonic() - started < 1
    message = str(failure.value)
    assert "127.0.0.1:1" in message
    assert "secret" not in message
    assert "\n" not in message
    await store.close()


async def test_a_refusing_server_is_retried_briefly() -> None:
    store = PostgresStore("postgresql://postgres@127.0.0.1:1/test", start_retry=0.5)
    started = time.monotonic()
    with pytest.raises(Unavailable, match=r"127\.0\.0\.1:1"):
        await store.start()
    assert 0.4 < time.monotonic() - started < 2


async def test_a_missing_database_is_unavailable_without_retrying(url: str) -> None:
    missing = with_database(url, f"parley_missing_{secrets.token_hex(4)}")
    store = PostgresStore(missing, start_retry=10)
    started = time.monotonic()
    with pytest.raises(Unavailable, match="does not exist"):
        await store.start()
    assert time.monotonic() - started < 2  # a wrong name will not change: no retrying


async def test_close_releases_every_connection(url: str) -> None:
    store = new_store(url, min_size=2)
    await store.start()
    await asyncio.gather(*(store.get_room(LOBBY) for _ in range(10)))
    async with raw(url) as conn:
        count = "SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = $1"
        assert await conn.fetchval(count, store.application_name) >= 2
        await store.close()
        await wait_until_true(lambda: conn.fetchval(count, store.application_name), 0)


async def wait_until_true(query: Callable[[], Any], expected: object) -> None:
    deadline = time.monotonic() + 5
    while await query() != expected:
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


# -- schema and migrations -----------------------------------------------------------------


async def test_schema_lives_in_the_urls_schema(store: PostgresStore, url: str) -> None:
    async with raw(url) as conn:
        schema = await conn.fetchval("SELECT current_schema()")
        tables = {
            r["table_name"]
            for r in await conn.fetch(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = $1",
                schema,
            )
        }
    assert schema.startswith("parley_")
    assert tables == {
        "users",
        "sessions",
        "rooms",
        "memberships",
        "events",
        "event_kinds",
        "mentions",
        "email_outbox",
        "claim_tokens",
        "imported_threads",
        "reactions",
        "thread_follows",
        "uploads",
        "blobs",
        "blob_chunks",
        "server_settings",
        "invites",
        "room_roles",
        "room_sanctions",
        "audit_log",
        "schema_migrations",
    }


def test_the_migrations_mirror_sqlites() -> None:
    """Both dialects have the same numbered files: a schema change is made for both."""
    postgres = migrations.load(MIGRATIONS)
    sqlite = migrations.load()
    assert [m.name for m in postgres] == [m.name for m in sqlite]
    assert "CREATE TABLE events" in postgres[0].sql
    assert "GENERATED ALWAYS AS IDENTITY" in postgres[0].sql


STARTER = """
    import asyncio, sys, time
    from parley.store.postgres import PostgresStore

    async def main(url: str, at: float) -> None:
        store = PostgresStore(url, max_size=1)
        await asyncio.sleep(max(0.0, at - time.time()))  # every process starts at once
        await store.start()
        lobby = await store.get_room("lobby")
        print(lobby.id, flush=True)
        await store.close()

    asyncio.run(main(sys.argv[1], float(sys.argv[2])))
"""


async def test_several_processes_start_at_once_on_an_empty_database(
    run_python: PythonRunner,
) -> None:
    async with postgres_database() as url:
        at = time.time() + 1.0  # time enough for each process to import Parley
        processes = [run_python(STARTER, url, str(at)) for _ in range(4)]
        await asyncio.sleep(max(0.0, at - time.time()))
        local = [new_store(url, max_size=1) for _ in range(3)]
        await asyncio.gather(*(store.start() for store in local))
        lobbies = [await store.get_room(LOBBY) for store in local]
        for store in local:
            await store.close()
        outputs = [await finished(process) for process in processes]

        assert len({int(out) for out in outputs} | {r.id for r in lobbies if r}) == 1
        async with raw(url) as conn:
            versions = await conn.fetch("SELECT version FROM schema_migrations")
            rooms = await conn.fetchval("SELECT COUNT(*) FROM rooms")
        assert [r["version"] for r in versions] == [m.version for m in migrations.load(MIGRATIONS)]
        assert rooms == 1


# -- one room, several writers -----------------------------------------------------------------


async def test_several_pools_write_to_one_room_gap_free(url: str) -> None:
    stores = [new_store(url, max_size=3) for _ in range(4)]
    for store in stores:
        await store.start()
    try:
        lobby = await stores[0].get_room(LOBBY)
        other, _ = await stores[0].create_room("other", RoomKind.PUBLIC, creator_id=None)
        assert lobby is not None
        calls = [
            stores[i % 4].post_message((lobby, other)[i % 3 == 0].id, None, "g", f"m{i}")
            for i in range(600)
        ]
        results = await asyncio.gather(*calls)
        for room in (lobby, other):
            mine = sorted(r.event.seq for r in results if r.event.room_id == room.id)
            assert mine == list(range(1, len(mine) + 1))  # no gap, no seq taken twice
            assert await seqs(stores[1], room) == mine
        assert len({r.event.mid for r in results}) == 600
    finally:
        for store in stores:
            await store.close()


async def test_several_processes_write_to_one_room_gap_free(
    url: str, run_python: PythonRunner
) -> None:
    store = new_store(url)
    await store.start()
    try:
        lobby = await store.get_room(LOBBY)
        assert lobby is not None
        others = [run_python(POSTER, url, "200", "close") for _ in range(3)]
        mine: list[Appended] = []
        while any(p.poll() is None for p in others) or len(mine) < 200:
            batch = [store.post_message(lobby.id, None, "me", f"m{len(mine)}") for _ in range(5)]
            mine.extend(await asyncio.gather(*batch))
        theirs = [int(line) for p in others for line in (await finished(p)).split()]
        assert len(theirs) == 600
        everything = sorted(theirs + [a.event.seq for a in mine])
        assert everything == list(range(1, 601 + len(mine)))
        history = await store.events_after(lobby.id, 0, 100_000)
        assert [e.seq for e in history] == everything
        assert len({e.mid for e in history}) == len(history)
        current = await store.get_room_by_id(lobby.id)
        assert current is not None
        assert current.last_seq == len(history)
    finally:
        await store.close()


async def test_the_same_cid_from_two_processes_stores_one_message(url: str) -> None:
    stores = [new_store(url) for _ in range(3)]
    for store in stores:
        await store.start()
    try:
        alice = await stores[0].create_user("Alice", "h")
        lobby = await stores[0].get_room(LOBBY)
        assert lobby is not None
        results = await asyncio.gather(
            *(
                stores[i % 3].post_message(lobby.id, alice.id, "Alice", "once", f"cid-{i // 6}")
                for i in range(60)
            )
        )
        assert sum(not r.duplicate for r in results) == 10
        for n in range(10):
            same = {(r.event.mid, r.event.seq) for r in results if r.event.cid == f"cid-{n}"}
            assert len(same) == 1
        assert await seqs(stores[2], lobby) == list(range(1, 11))
    finally:
        for store in stores:
            await store.close()


async def test_a_cid_racing_from_two_stores_is_stored_once(url: str) -> None:
    first, second = new_store(url, writers=1), new_store(url, writers=1)
    await first.start()
    await second.start()
    try:
        alice = await first.create_user("Alice", "h")
        lobby = await first.get_room(LOBBY)
        assert lobby is not None
        async with raw(url) as conn:
            # Both stores find no message with this cid, then wait for the room's lock ...
            await conn.execute("BEGIN")
            await conn.execute("SELECT 1 FROM rooms WHERE id = $1 FOR UPDATE", lobby.id)
            one = asyncio.create_task(first.post_message(lobby.id, alice.id, "Alice", "a", "c"))
            await wait_until_waiting_for_a_lock(conn, first)
            two = asyncio.create_task(second.post_message(lobby.id, alice.id, "Alice", "b", "c"))
            await wait_until_waiting_for_a_lock(conn, second)
            await conn.execute("ROLLBACK")
        # ... and the second to get it finds the first's message in the way: the original.
        results = await asyncio.gather(one, two)
        assert sorted(r.duplicate for r in results) == [False, True]
        assert results[0].event == results[1].event
        assert await seqs(first, lobby) == [1]
    finally:
        await first.close()
        await second.close()


async def test_a_direct_room_racing_from_two_stores_is_opened_once(url: str) -> None:
    first, second = new_store(url), new_store(url)
    await first.start()
    await second.start()
    try:
        alice = await first.create_user("Alice", "h")
        bob = await first.create_user("bob", "h")
        async with raw(url) as conn:
            # An uncommitted room of that name makes both stores' inserts wait for its fate.
            await conn.execute("BEGIN")
            await conn.execute(
                "INSERT INTO rooms (name, name_key, kind, created_at)"
                " VALUES ('dm:alice:bob', 'dm:alice:bob', 'direct', 0)"
            )
            one = asyncio.create_task(first.open_direct(alice.id, bob.id))
            await wait_until_waiting_for_a_lock(conn, first)
            two = asyncio.create_task(second.open_direct(bob.id, alice.id))
            await wait_until_waiting_for_a_lock(conn, second)
            await conn.execute("ROLLBACK")
        results = await asyncio.gather(one, two)
        assert results[0][0] == results[1][0]
        assert sorted(len(events) for _, events in results) == [0, 2]
    finally:
        await first.close()
        await second.close()


async def test_races_between_stores_end_as_one_writer_would(url: str) -> None:
    stores = [new_store(url) for _ in range(4)]
    for store in stores:
        await store.start()
    try:
        users = await asyncio.gather(
            *(stores[i].create_user(f"user{i}", "h") for i in range(4)),
        )
        assert sum(u.is_admin for u in users) == 1  # the first account only
        a, b = users[0], users[1]
        rooms = await asyncio.gather(
            *(
                stores[i % 4].open_direct(*((a.id, b.id) if i % 2 else (b.id, a.id)))
                for i in range(8)
            )
        )
        assert len({room.id for room, _ in rooms}) == 1
        assert sum(len(events) for _, events in rooms) == 2
        names = await asyncio.gather(
            *(stores[i].create_room("Same", RoomKind.PUBLIC, creator_id=None) for i in range(4)),
            return_exceptions=True,
        )
        assert sum(isinstance(n, Conflict) for n in names) == 3
        room = await stores[0].get_room("same")
        assert room is not None
        joins = await asyncio.gather(*(stores[i].join(room.id, a.id, "user0") for i in range(4)))
        assert sum(j is not None for j in joins) == 1
        assert await seqs(stores[0], room) == [1]
    finally:
        for store in stores:
            await store.close()


# -- group commit --------------------------------------------------------------------------


async def test_a_deadlock_victim_batch_runs_again(url: str) -> None:
    # This store's connections look for deadlocks after 50 ms, the other connection's after
    # 30 s: the store's transaction is the one PostgreSQL aborts.
    store = new_store(url + "&deadlock_timeout=50ms", writers=1)
    await store.start()
    try:
        first, _ = await store.create_room("first", RoomKind.PUBLIC, creator_id=None)
        second, _ = await store.create_room("second", RoomKind.PUBLIC, creator_id=None)
        async with raw(url) as conn:
            await conn.execute("SET deadlock_timeout = '30s'")
            await conn.execute("BEGIN")
            await conn.execute("SELECT 1 FROM rooms WHERE id = $1 FOR UPDATE", second.id)
            # One batch: it locks `first`, then waits for `second` ...
            posts = [
                asyncio.create_task(store.post_message(second.id, None, "g", "b")),
                asyncio.create_task(store.post_message(first.id, None, "g", "a")),
            ]
            await wait_until_waiting_for_a_lock(conn, store)
            # ... while this connection, holding `second`, now waits for `first`: a cycle.
            await conn.execute("SELECT 1 FROM rooms WHERE id = $1 FOR UPDATE", first.id)
            await conn.execute("ROLLBACK")
        b, a = await asyncio.gather(*posts)
        assert (a.event.seq, b.event.seq) == (1, 1)
        assert store.stats.retried_transactions >= 1
        assert store.stats.failed_transactions == 0
        assert await seqs(store, first) == [1]
        assert await seqs(store, second) == [1]
    finally:
        await store.close()


# -- outages -------------------------------------------------------------------------------


async def test_terminated_connections_are_replaced(url: str) -> None:
    store = new_store(url, min_size=3)
    await store.start()
    try:
        lobby = await store.get_room(LOBBY)
        assert lobby is not None
        await store.post_message(lobby.id, None, "g", "before")
        async with raw(url) as conn:
            for call in (
                lambda: store.get_room(LOBBY),
                lambda: store.post_message(lobby.id, None, "g", "after"),
                lambda: store.events_after(lobby.id, 0, 100),
                lambda: store.create_user(f"u{secrets.token_hex(3)}", "h"),
                lambda: store.rooms_for(1),
            ):
                for _ in range(3):
                    assert await terminate_backends(conn, store) >= 1
                    # The next call is tried again on a fresh connection: it succeeds (had
                    # it found no connection to the server at all, it would be Unavailable).
                    await asyncio.wait_for(call(), 10)
                    await asyncio.wait_for(call(), 10)
        assert store.stats.failed_transactions == 0
        history = await store.events_after(lobby.id, 0, 100)
        assert [e.seq for e in history] == list(range(1, 8))  # "before" and six "after"
        assert history[0].text == "before"
    finally:
        await store.close()


async def test_a_batch_whose_connection_dies_before_commit_runs_again(url: str) -> None:
    store = new_store(url, writers=1)
    await store.start()
    try:
        lobby = await store.get_room(LOBBY)
        assert lobby is not None
        async with raw(url) as conn:
            await conn.execute("BEGIN")
            await conn.execute("SELECT 1 FROM rooms WHERE id = $1 FOR UPDATE", lobby.id)
            post = asyncio.create_task(store.post_message(lobby.id, None, "g", "once"))
            await wait_until_waiting_for_a_lock(conn, store)
            assert await terminate_backends(conn, store) >= 1  # mid-transaction
            await wait_until(lambda: store.stats.retried_transactions == 1)
            await conn.execute("ROLLBACK")
        appended = await asyncio.wait_for(post, 10)
        assert appended.event.seq == 1
        assert [e.text for e in await store.events_after(lobby.id, 0, 10)] == ["once"]
        assert store.stats.failed_transactions == 0
    finally:
        await store.close()


async def test_a_batch_run_again_after_a_lost_connection_is_not_overtaken(url: str) -> None:
    """Issue 14: with two writers sharing one queue, a batch whose connection was lost while
    it waited for the room's lock ran again behind a later batch of the same room, which the
    other writer had taken meanwhile: "first" was stored after the five sent after it."""
    store = new_store(url)  # two writers
    await store.start()
    try:
        lobby = await store.get_room(LOBBY)
        assert lobby is not None
        # (Another connection watches: in a transaction, pg_stat_activity stays as it was.)
        async with raw(url) as conn, raw(url) as watcher:
            await conn.execute("BEGIN")
            await conn.execute("SELECT 1 FROM rooms WHERE id = $1 FOR UPDATE", lobby.id)
            first = asyncio.create_task(store.post_message(lobby.id, None, "g", "first"))
            await wait_until_waiting_for_a_lock(watcher, store)
            later = [
                asyncio.create_task(store.post_message(lobby.id, None, "g", f"later{i}"))
                for i in range(5)
            ]
            await asyncio.sleep(0.2)  # time for another writer to take them, were it allowed
            killed = await watcher.fetchval(  # the connection of the batch that waited first
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = $1 AND wait_event_type = 'Lock'"
                " ORDER BY xact_start LIMIT 1",
                store.application_name,
            )
            assert killed
            await wait_until(lambda: store.stats.retried_transactions == 1)
            await wait_until_waiting_for_a_lock(watcher, store)  # "first" again, lobby held
            await conn.execute("ROLLBACK")
        posted = await asyncio.wait_for(asyncio.gather(first, *later), 10)
        assert [p.event.seq for p in posted] == [1, 2, 3, 4, 5, 6]
        stored = await store.events_after(lobby.id, 0, 10)
        assert [e.text for e in stored] == ["first", *(f"later{i}" for i in range(5))]
    finally:
        await store.close()


async def test_other_rooms_commit_while_one_room_waits(url: str) -> None:
    """One room's batches taking turns keeps the order without serializing the store: while
    the lobby's batch waits for a lock held elsewhere, writes to other rooms commit (on the
    other writer), and later lobby writes wait behind the held one."""
    store = new_store(url)  # two writers
    await store.start()
    try:
        lobby = await store.get_room(LOBBY)
        assert lobby is not None
        rooms = [await store.create_room(f"r{i}", RoomKind.PUBLIC, creator_id=None) for i in (1, 2)]
        async with raw(url) as conn, raw(url) as watcher:
            await conn.execute("BEGIN")
            await conn.execute("SELECT 1 FROM rooms WHERE id = $1 FOR UPDATE", lobby.id)
            held = asyncio.create_task(store.post_message(lobby.id, None, "g", "held"))
            await wait_until_waiting_for_a_lock(watcher, store)
            behind = asyncio.create_task(store.post_message(lobby.id, None, "g", "behind"))
            for room, _ in rooms:
                posted = await asyncio.wait_for(store.post_message(room.id, None, "g", "free"), 5)
                assert posted.event.seq == 1
            assert not held.done()
            assert not behind.done()
            assert store.write_queue_depth == 1  # "behind": the lobby is held by a batch
            await conn.execute("ROLLBACK")
        assert (await asyncio.wait_for(held, 10)).event.seq == 1
        assert (await asyncio.wait_for(behind, 10)).event.seq == 2
    finally:
        await store.close()


async def test_sends_keep_their_order_while_connections_are_cut(url: str) -> None:
    """Connections pipeline sends to one room while the store's server connections are
    terminated again and again: whatever is stored of each connection's sends is in the order
    sent, every acknowledged send is stored with its seq, once; a send told ``unavailable``
    (its COMMIT lost: stored or not, no client of a database can tell) is the only kind that
    may be missing."""
    store = new_store(url, max_batch=8)
    await store.start()
    try:
        lobby = await store.get_room(LOBBY)
        assert lobby is not None
        users = [await store.create_user(f"c{i}", "h") for i in range(4)]
        done = asyncio.Event()

        async def sender(user_id: int, name: str) -> list[Appended | BaseException]:
            posts = []
            for n in range(80):
                text = f"{name}:{n}"
                post = store.post_message(lobby.id, user_id, name, text, text)
                posts.append(asyncio.ensure_future(post))
                await asyncio.sleep(0.001)
            return await asyncio.gather(*posts, return_exceptions=True)

        async def cutter() -> int:
            cuts = 0
            async with raw(url) as conn:
                while not done.is_set():
                    await asyncio.sleep(0.03)
                    cuts += await terminate_backends(conn, store)
            return cuts

        cutting = asyncio.create_task(cutter())
        outcomes = await asyncio.gather(*(sender(u.id, u.name) for u in users))
        done.set()
        assert await cutting > 0
        assert store.stats.retried_transactions > 0  # cut before their COMMIT: run again
        stored = await store.events_after(lobby.id, 0, 10_000)
        assert [e.seq for e in stored] == list(range(1, len(stored) + 1))
        for user, results in zip(users, outcomes, strict=True):
            mine = [e for e in stored if e.user_id == user.id]
            sent_at = [int((e.text or "").split(":")[1]) for e in mine]
            assert sent_at == sorted(set(sent_at)), f"{user.name}: {sent_at}"
            by_text = {e.text: e.seq for e in mine}
            for result in results:
                if isinstance(result, BaseException):
                    assert isinstance(result, Unavailable), result
                else:
                    assert by_text[result.event.text] == result.event.seq
    finally:
        await store.close()


async def test_an_unusable_database_is_unavailable_then_recovers() -> None:
    async with postgres_database() as url:
        store = new_store(url, min_size=2, timeout=5)
        await store.start()
        try:
            alice = await store.create_user("Alice", "h")
            lobby = await store.get_room(LOBBY)
            assert lobby is not None
            name = url.rsplit("/", 1)[1]
            async with raw(with_database(url, "postgres")) as admin:
                # The database refuses new connections and loses its current ones: an outage,
                # without stopping a server others use.
                await admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
                try:
                    await terminate_backends(admin, store)
                    for call in (
                        lambda: store.get_room(LOBBY),
                        lambda: store.rooms_for(alice.id),
                        lambda: store.post_message(lobby.id, alice.id, "Alice", "lost"),
                        lambda: store.create_user("bob", "h"),
                        lambda: store.mark_read(lobby.id, alice.id, 1),
                    ):
                        started = time.monotonic()
                        with pytest.raises(Unavailable) as failure:
                            await call()
                        assert time.monotonic() - started < 3  # never a hang
                        assert "\n" not in str(failure.value)
                finally:
                    await admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
            # Back: the pool reconnects by itself, and nothing of the outage was stored.
            appended = await store.post_message(lobby.id, alice.id, "Alice", "back")
            assert appended.event.seq == 1
            assert await store.get_user("bob") is None
            assert [e.text for e in await store.events_after(lobby.id, 0, 10)] == ["back"]
        finally:
            await store.close()


# -- the database's contents ---------------------------------------------------------------


async def test_names_sort_as_in_sqlite_whatever_the_databases_locale(tmp_path: Path) -> None:
    names = ["b", "A_c", "a-b", "ab", "Zed", "z", "_x", "\u00e9t\u00e9", "Ac", "1a", "a b"]
    sqlite = SQLiteStore(tmp_path / "db")
    admin = await postgres_connect()
    db = f"parley_test_icu_{secrets.token_hex(4)}"
    try:
        # An ICU database sorts text in the language's order (punctuation almost ignored):
        # the store's "C" collation must still give SQLite's code-point order.
        await admin.execute(
            f'CREATE DATABASE "{db}" TEMPLATE template0'
            " LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
        )
        postgres = new_store(with_database(POSTGRES_URL, db))
        orders = []
        for store in (sqlite, postgres):
            await store.start()
            try:
                user = await store.create_user("owner", "h")
                for name in names:
                    await store.create_room(name, RoomKind.PUBLIC, creator_id=user.id)
                    await store.create_user(f"u{name}", "h")
                lobby = await store.get_room(LOBBY)
                assert lobby is not None
                for name in names:
                    found = await store.get_user(f"u{name}")
                    assert found is not None
                    await store.join(lobby.id, found.id, found.name)
                orders.append(
                    (
                        [v.room.name for v in await store.rooms_for(user.id)],
                        [n for _, n in await store.room_members(lobby.id)],
                    )
                )
            finally:
                await store.close()
        assert orders[0] == orders[1]
        assert orders[0][0][0] == "1a"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        await admin.close()


async def test_a_nul_in_a_text_fails_alone_in_its_batch(store: PostgresStore, url: str) -> None:
    """A PostgreSQL ``TEXT`` cannot hold U+0000 (SQLite's can): the caller's input, not an
    outage, so :class:`ValueError`, and the rest of its batch commits."""
    room, _ = await store.create_room("room", RoomKind.PUBLIC, creator_id=None)
    async with writes_held(PostgresHarness(url), store):
        batch = [
            asyncio.create_task(store.post_message(room.id, None, "g", text))
            for text in ("before", "nul \x00 inside", "after")
        ]
        await wait_until(lambda: store.write_queue_depth == len(batch))
    before, nul, after = await asyncio.gather(*batch, return_exceptions=True)
    assert isinstance(nul, ValueError)
    assert isinstance(before, Appended)
    assert isinstance(after, Appended)
    assert (before.event.seq, after.event.seq) == (1, 2)


async def test_search_without_unaccent_still_folds_latin_accents() -> None:
    """Migration 0005 when ``CREATE EXTENSION unaccent`` is refused (a role that may not
    create anything in the database): it goes on, and Latin accents still fold."""
    role = f"parley_noext_{secrets.token_hex(4)}"
    async with postgres_database() as url:
        admin = await postgres_connect(url)
        try:
            await admin.execute(f"CREATE ROLE {role} LOGIN")
            await admin.execute(f"GRANT ALL ON SCHEMA public TO {role}")
            await admin.execute(f"REVOKE CREATE ON DATABASE {url.rsplit('/', 1)[1]} FROM PUBLIC")
        finally:
            await admin.close()
        parts = urllib.parse.urlsplit(url)
        netloc = f"{role}@{parts.hostname}:{parts.port}"
        as_role = urllib.parse.urlunsplit(parts._replace(netloc=netloc))
        store = PostgresStore(as_role)
        await store.start()
        try:
            alice = await store.create_user("alice", "h")
            lobby = await store.get_room(LOBBY)
            assert lobby is not None
            await store.post_message(lobby.id, alice.id, "alice", "Le CAFÉ de Ζήτα")
            for query in ("cafe ", "café ", "CAFE "):
                page = await store.search(alice.id, parse(query), public=True)
                assert [e.text for e in page.events] == ["Le CAFÉ de Ζήτα"], query
            # Other marks are not folded without the extension (docs/deployment.md).
            assert (await store.search(alice.id, parse("ζητα "), public=True)).events == []
        finally:
            await store.close()
        admin = await postgres_connect(url)
        try:
            assert (
                await admin.fetchval("SELECT count(*) FROM pg_extension WHERE extname = 'unaccent'")
                == 0
            )
            await admin.execute(f"DROP OWNED BY {role}")
        finally:
            await admin.close()
    admin = await postgres_connect()
    try:
        await admin.execute(f"DROP ROLE {role}")
    finally:
        await admin.close()


@pytest.mark.parametrize("cause", [asyncio.CancelledError(), TimeoutError()])
async def test_abandoning_a_live_pooled_connection_keeps_the_error_being_handled(
    url: str, cause: BaseException
) -> None:
    """A cancellation or a timeout mid-transaction drops the pooled connection (it may be
    mid-statement); the pool then refuses every call of its proxy, and asking it whether it
    is closed must not raise an ``InterfaceError`` in place of the cancellation (a cancelled
    task would go on as if it had failed) or of the timeout."""
    store = new_store(url, min_size=1, max_size=2)
    await store.start()

    used: list[Connection] = []

    async def fail_mid_transaction() -> None:
        async with store._connection(store._pool) as conn:
            used.append(conn)
            await conn.execute("BEGIN")
            try:
                raise cause
            except BaseException as exc:
                await conn.abandon(exc)
                raise

    try:
        with pytest.raises(type(cause)):
            await fail_mid_transaction()
        assert not used[0].in_transaction()  # dropped: closed, so in no transaction
        lobby = await store.get_room(LOBBY)  # the pool gives a working connection again
        assert lobby is not None
    finally:
        await store.close()
