"""Search: how fast ``Store.search`` answers over a large history, and what indexing costs sends.

Two measurements, in one run, on both stores (docs/architecture.md, "Search"):

1. **Search latency.** ``--messages`` stored messages (default 1,000,000) of generated but
   realistic chat text: words drawn from a Zipf-distributed vocabulary (common English words
   first, then a long tail of made-up ones), some accented words, some URLs and host names,
   5 to 25 words each, over 500 rooms (public, private, direct) and 1,000 users. They are
   loaded with bulk SQL (the index built once at the end, as migration 0005 builds it for an
   existing database), then one user who is a member of 15 rooms runs ``--queries`` searches of
   each kind through the store's own ``search`` (its thread hop or pool included, JSON not):
   single words (common, medium, rare), two-word phrases taken from stored messages, prefixes
   (the last word as one types), and filters (``from:``, ``in:``, ``after:``, ``has:link``, and
   public rooms included). Reported: p50 / p99 / max per kind. Target: p99 ≤ 50 ms.
2. **Acked sends/s with the index on and off**: ``send_ack.py``'s closed loop (``--senders``
   connections, each sending its next message when the last is acked) against a real
   ``parley serve`` on a fresh database, alternately with migration 0005 as it is and with its
   index removed (SQLite: the three triggers; PostgreSQL: the generated column and its GIN
   index), ``--send-runs`` times each. The text is a sentence of words and a URL, so every
   message gives the index a dozen entries. Target: on ≥ 90 % of off (medians).

Run from the repository root::

    .venv/bin/python bench/search.py                          # both stores, 1,000,000 messages
    .venv/bin/python bench/search.py --stores sqlite --messages 200000 --queries 50

PostgreSQL: the server at ``$PARLEY_BENCH_POSTGRES`` (default ``postgresql://postgres@127.0.0.1
:5432/postgres``); the benchmark creates databases of its own (``parley_bench_*``) and drops
them. The report goes to ``bench/results/<date>-search.md`` (``--out``).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter

import send_ack
from lib.report import machine_info, percentile, table
from lib.server import ParleyServer, backend_cpu, backend_pids, stop_all, unlimited_flags

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

import asyncpg  # type: ignore[import-untyped]  # noqa: E402

from parley.search.query import parse  # noqa: E402
from parley.store.postgres import PostgresConnection, PostgresStore  # noqa: E402
from parley.store.sql.engine import Row  # noqa: E402
from parley.store.sql.store import SQLStore  # noqa: E402
from parley.store.sqlite import SQLiteStore  # noqa: E402

POSTGRES = os.environ.get("PARLEY_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
SEED = 16
USERS = 1000
PUBLIC_ROOMS, PRIVATE_ROOMS, DIRECT_ROOMS = 250, 100, 150
ROOMS_PER_USER = 15
DAY_MS = 86_400_000
#: The sentence every benchmark send carries (JSON-safe: no quotes or backslashes).
SEND_TEXT = "the deploy of build 42 failed again on https://ci.example.com/jobs/42 retrying now"

COMMON = (  # noqa: SIM905 (a list literal would be 200 lines)
    "the be to of and a in that have i it for not on with he as you do at this but his by "
    "from they we say her she or an will my one all would there their what so up out if about "
    "who get which go me when make can like time no just him know take people into year your "
    "good some could them see other than then now look only come its over think also back "
    "after use two how our work first well way even new want because any these give day most "
    "us deploy build release server test merge branch review bug fix issue meeting lunch "
    "coffee monday friday tomorrow today yesterday thanks please sorry ok yes sure great "
    "database query index search message room chat user password login error warning crash "
    "log docs api client browser phone laptop team project plan design idea question answer"
).split()
ACCENTED = "café déjà naïve façade Zürich São Paulo résumé crème brûlée El Niño Ångström".split()  # noqa: SIM905
DOMAINS = ("example.com", "docs.example.com", "github.com", "wiki.corp.net", "ci.example.com")


# -- the data -----------------------------------------------------------------------------------


def made_up_words(rng: random.Random, count: int) -> list[str]:
    """``count`` distinct made-up words in a random order, which is their frequency rank.

    Shuffled, not sorted: sorted, the most frequent made-up words all began with "b" and "c",
    so a three-letter prefix such as "bai" stood for 215 words of the top 1,000 ranks (a
    language's frequent words do not share their first letters like that), and the prefix
    queries measured that artefact: PostgreSQL's GIN index unions every matching word."""
    syllables = [c + v for c in "bcdfghjklmnprstvwz" for v in ("a", "e", "i", "o", "u", "ai", "ou")]
    words: set[str] = set()
    while len(words) < count:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    ordered = sorted(words)  # (a set's order is not the same from run to run)
    rng.shuffle(ordered)
    return ordered


@dataclass
class Corpus:
    """The vocabulary in rank order (most frequent first) and a sampler of message texts."""

    vocabulary: list[str]
    rng: random.Random
    cumulative: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        total = 0.0
        for rank in range(1, len(self.vocabulary) + 1):
            total += 1.0 / rank  # Zipf, s = 1
            self.cumulative.append(total)

    def text(self) -> str:
        rng = self.rng
        words = rng.choices(self.vocabulary, cum_weights=self.cumulative, k=rng.randint(5, 25))
        roll = rng.random()
        if roll < 0.08:
            words.insert(rng.randrange(len(words)), f"https://{rng.choice(DOMAINS)}/{words[0]}")
        elif roll < 0.12:
            words.insert(rng.randrange(len(words)), rng.choice(ACCENTED))
        if rng.random() < 0.3:
            words[0] = words[0].capitalize()
        return " ".join(words)


def corpus() -> Corpus:
    rng = random.Random(SEED)
    return Corpus(COMMON + made_up_words(rng, 30_000), rng)


@dataclass
class Layout:
    """Who is where: rooms (name, kind), users, and each room's members."""

    rooms: list[tuple[str, str]]
    members: dict[int, list[int]]  #: room index -> user indexes

    @staticmethod
    def make() -> Layout:
        rng = random.Random(SEED + 1)
        rooms = [(f"pub{i}", "public") for i in range(PUBLIC_ROOMS)]
        rooms += [(f"priv{i}", "private") for i in range(PRIVATE_ROOMS)]
        members: dict[int, list[int]] = {i: [] for i in range(len(rooms) + DIRECT_ROOMS)}
        for user in range(USERS):
            for room in rng.sample(range(len(rooms)), ROOMS_PER_USER):
                members[room].append(user)
        for _ in range(DIRECT_ROOMS):
            a, b = sorted(rng.sample(range(1, USERS), 2))
            rooms.append((f"dm:u{a:04d}:u{b:04d}", "direct"))
            members[len(rooms) - 1] = [a, b]
        return Layout(rooms, members)


def messages(count: int, layout: Layout, text: Corpus) -> Iterator[tuple[int, int, int, str]]:
    """``(room index, user index, ts, text)``, oldest first, spread over the last year."""
    rng = random.Random(SEED + 2)
    start = int(time.time() * 1000) - 365 * DAY_MS
    step = 365 * DAY_MS // max(count, 1)
    # Busy rooms and quiet ones: room weights are Zipf too.
    weights = [1.0 / (rank + 1) ** 0.8 for rank in range(len(layout.rooms))]
    rooms = rng.choices(range(len(layout.rooms)), weights=weights, k=count)
    for index, room in enumerate(rooms):
        members = layout.members[room] or [0]
        yield room, rng.choice(members), start + index * step, text.text()


# -- loading ------------------------------------------------------------------------------------

CHUNK = 50_000


def load_sqlite(path: Path, count: int, layout: Layout, text: Corpus) -> float:
    """Fill a migrated SQLite database; returns the seconds it took."""
    began = perf_counter()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA synchronous = OFF")
    triggers = [
        sql
        for (sql,) in db.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'events_fts_%'"
        )
    ]
    db.execute("BEGIN")
    for (name,) in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'events_fts_%'"
    ).fetchall():
        db.execute(f"DROP TRIGGER {name}")
    db.executemany(
        "INSERT INTO users (id, name, name_key, password_hash, created_at)"
        " VALUES (?, ?, ?, 'x', 0)",
        [(1000 + u, f"u{u:04d}", f"u{u:04d}") for u in range(USERS)],
    )
    db.executemany(
        "INSERT INTO rooms (id, name, name_key, kind, created_at) VALUES (?, ?, ?, ?, 0)",
        [(1000 + r, name, name, kind) for r, (name, kind) in enumerate(layout.rooms)],
    )
    db.executemany(
        "INSERT INTO memberships (room_id, user_id, joined_at) VALUES (?, ?, 0)",
        [(1000 + r, 1000 + u) for r, users in layout.members.items() for u in users],
    )
    seqs = [0] * len(layout.rooms)
    rows: list[tuple[int, int, int, str, int, str]] = []
    for room, user, ts, body in messages(count, layout, text):
        seqs[room] += 1
        rows.append((1000 + room, seqs[room], 1000 + user, f"u{user:04d}", ts, body))
        if len(rows) == CHUNK:
            _insert_sqlite(db, rows)
    _insert_sqlite(db, rows)
    db.executemany(
        "UPDATE rooms SET last_seq = ? WHERE id = ?",
        [(seq, 1000 + room) for room, seq in enumerate(seqs)],
    )
    db.execute(
        "INSERT INTO events_fts (rowid, text, author)"
        " SELECT id, text, author FROM events WHERE kind = 'message'"
    )
    for sql in triggers:
        db.execute(sql)
    db.execute("COMMIT")
    db.execute("ANALYZE")
    db.close()
    return perf_counter() - began


def _insert_sqlite(db: sqlite3.Connection, rows: list[tuple[int, int, int, str, int, str]]) -> None:
    db.executemany(
        "INSERT INTO events (room_id, seq, kind, user_id, author, ts, text)"
        " VALUES (?, ?, 'message', ?, ?, ?, ?)",
        rows,
    )
    rows.clear()


async def load_postgres(url: str, count: int, layout: Layout, text: Corpus) -> float:
    """Fill a migrated PostgreSQL database; returns the seconds it took."""
    began = perf_counter()
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("DROP INDEX events_search")
        await conn.execute("SET synchronous_commit = off")
        users = await conn.fetch(
            "INSERT INTO users (name, name_key, password_hash, created_at)"
            " SELECT n, n, 'x', 0 FROM unnest($1::text[]) AS n RETURNING id, name",
            [f"u{u:04d}" for u in range(USERS)],
        )
        user_ids = {row["name"]: row["id"] for row in users}
        rooms = await conn.fetch(
            "INSERT INTO rooms (name, name_key, kind, created_at)"
            " SELECT n, n, k, 0 FROM unnest($1::text[], $2::text[]) AS t (n, k)"
            " RETURNING id, name",
            [name for name, _ in layout.rooms],
            [kind for _, kind in layout.rooms],
        )
        room_ids = {row["name"]: row["id"] for row in rooms}
        rid = [room_ids[name] for name, _ in layout.rooms]
        uid = [user_ids[f"u{u:04d}"] for u in range(USERS)]
        await conn.copy_records_to_table(
            "memberships",
            records=[(rid[r], uid[u], 0, 0) for r, us in layout.members.items() for u in us],
            columns=["room_id", "user_id", "joined_at", "last_read_seq"],
        )
        seqs = [0] * len(layout.rooms)
        rows: list[tuple[int, int, str, int, str, int, str]] = []
        for room, user, ts, body in messages(count, layout, text):
            seqs[room] += 1
            rows.append((rid[room], seqs[room], "message", uid[user], f"u{user:04d}", ts, body))
            if len(rows) == CHUNK:
                await _copy_events(conn, rows)
        await _copy_events(conn, rows)
        await conn.executemany(
            "UPDATE rooms SET last_seq = $1 WHERE id = $2",
            [(seq, rid[room]) for room, seq in enumerate(seqs)],
        )
        await conn.execute(
            "CREATE INDEX events_search ON events USING gin (search) WHERE search IS NOT NULL"
        )
        await conn.execute("VACUUM ANALYZE events")
    finally:
        await conn.close()
    return perf_counter() - began


async def _copy_events(conn: asyncpg.Connection, rows: list[tuple[object, ...]]) -> None:
    await conn.copy_records_to_table(
        "events",
        records=rows,
        columns=["room_id", "seq", "kind", "user_id", "author", "ts", "text"],
    )
    rows.clear()


# -- searching ----------------------------------------------------------------------------------


@dataclass
class Kind:
    name: str
    queries: list[str]
    public: bool = False
    times: list[float] = field(default_factory=list)
    #: CPU seconds of each measured search (this process and the database's backends).
    cpu: list[float] = field(default_factory=list)
    found: int = 0
    #: PostgreSQL: pages (8 KiB buffers) each search read, from EXPLAIN (ANALYZE, BUFFERS).
    pages: list[int] = field(default_factory=list)


def query_kinds(count: int, text: Corpus, layout: Layout, searcher: int) -> list[Kind]:
    rng = random.Random(SEED + 3)
    vocab = text.vocabulary
    sample = [Corpus(vocab, random.Random(SEED + 4)).text() for _ in range(count * 4)]
    pairs = []
    for line in sample:
        words = [w for w in line.split() if w.isalpha()]
        if len(words) >= 2:
            i = rng.randrange(len(words) - 1)
            pairs.append(f'"{words[i]} {words[i + 1]}"')
    my_public = [
        layout.rooms[r][0]
        for r, users in layout.members.items()
        if searcher in users and layout.rooms[r][1] == "public"
    ]
    month_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(days=30)).date().isoformat()
    medium = vocab[300:3000]
    return [
        Kind("word, common (rank 1-50)", [w + " " for w in rng.choices(vocab[:50], k=count)]),
        Kind("word, medium (rank 300-3,000)", [w + " " for w in rng.choices(medium, k=count)]),
        Kind("word, rare (rank 20,000+)", [w + " " for w in rng.choices(vocab[20_000:], k=count)]),
        Kind("phrase (two words)", pairs[:count]),
        Kind(
            "prefix (2-4 letters)", [w[: rng.randint(2, 4)] for w in rng.choices(medium, k=count)]
        ),
        Kind(
            "two words + prefix",
            [
                f"{a} {b[:3]}"
                for a, b in zip(
                    rng.choices(vocab[:300], k=count), rng.choices(medium, k=count), strict=True
                )
            ],
        ),
        Kind(
            "word from:user",
            [f"{rng.choice(vocab[:300])} from:u{rng.randrange(USERS):04d} " for _ in range(count)],
        ),
        Kind(
            "word in:room",
            [f"{rng.choice(vocab[:300])} in:{rng.choice(my_public)} " for _ in range(count)],
        ),
        Kind(
            "word after:30 days ago",
            [f"{rng.choice(medium)} after:{month_ago} " for _ in range(count)],
        ),
        Kind("has:link + word", [f"has:link {rng.choice(vocab[:300])} " for _ in range(count)]),
        Kind(
            "word, public rooms too", [w + " " for w in rng.choices(medium, k=count)], public=True
        ),
        Kind(
            "common word, public rooms too",
            [w + " " for w in rng.choices(vocab[:50], k=count)],
            public=True,
        ),
    ]


async def time_searches(
    store: SQLStore, user_id: int, kinds: list[Kind], warmup: int, database: str = ""
) -> None:
    """Each query's wall-clock time, and its CPU time: this process's (SQLite searches in
    it) plus, on PostgreSQL, its backends' (``database``). On a shared machine the wall clock
    includes waiting for a core; the CPU time is what the search costs, whatever the load."""
    pids = backend_pids(database) if database else []
    for kind in kinds:
        for index, query in enumerate(kind.queries):
            parsed = parse(query)
            cpu0 = time.process_time() + (backend_cpu(database, pids) if pids else 0.0)
            began = perf_counter()
            found = await store.search(user_id, parsed, public=kind.public, limit=20)
            took = perf_counter() - began
            cpu = time.process_time() + (backend_cpu(database, pids) if pids else 0.0) - cpu0
            if index >= warmup:
                kind.times.append(took)
                kind.cpu.append(cpu)
                kind.found += len(found.events)


async def count_pages(store: PostgresStore, user_id: int, kinds: list[Kind], warmup: int) -> None:
    """The pages each measured search reads (shared buffers hit or read), a second pass after
    the timed one: unlike milliseconds, the work a plan does does not depend on what else the
    machine runs, so these compare across runs on a shared machine. The store's own search
    runs unchanged; its statement is run once more under ``EXPLAIN (ANALYZE, BUFFERS)``."""
    original = PostgresConnection.fetch
    seen: list[int] = []

    async def explaining(self: PostgresConnection, sql: str, *args: object) -> list[Row]:
        if "to_tsquery" in sql:
            rows = await original(self, "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, *args)
            plan = json.loads(rows[0][0])[0]["Plan"]
            seen.append(plan["Shared Hit Blocks"] + plan["Shared Read Blocks"])
        return await original(self, sql, *args)

    PostgresConnection.fetch = explaining  # type: ignore[method-assign]
    try:
        for kind in kinds:
            for query in kind.queries[warmup:]:
                seen.clear()
                await store.search(user_id, parse(query), public=kind.public, limit=20)
                kind.pages.append(sum(seen))
    finally:
        PostgresConnection.fetch = original  # type: ignore[method-assign]


# -- what indexing costs the writer ---------------------------------------------------------


def index_cost(texts: Sequence[str], batch: int, workdir: Path) -> dict[str, float]:
    """CPU microseconds per message stored in transactions of ``batch`` messages, on SQLite
    with the store's pragmas: no index; migration 0005's queue (an id per message); and FTS5
    in the same transaction (the trigger 0005 would have had). The decision of 0005."""
    costs: dict[str, float] = {}
    fts5 = (
        "CREATE VIRTUAL TABLE events_fts USING fts5(text, author, content = 'events',"
        " content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')"
    )
    setups = {
        "no index": [],
        "queued (0005)": [
            "CREATE TABLE search_pending (id INTEGER PRIMARY KEY)",
            "CREATE TRIGGER q AFTER INSERT ON events WHEN new.kind = 'message'"
            " BEGIN INSERT OR IGNORE INTO search_pending (id) VALUES (new.id); END",
        ],
        "FTS5 in the transaction": [
            fts5,
            "INSERT INTO events_fts (events_fts, rank) VALUES ('automerge', 8)",  # as 0012
            "CREATE TRIGGER f AFTER INSERT ON events WHEN new.kind = 'message'"
            " BEGIN INSERT INTO events_fts (rowid, text, author)"
            " VALUES (new.id, new.text, new.author); END",
        ],
    }
    for name, statements in setups.items():
        path = workdir / f"cost-{batch}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        db = sqlite3.connect(path, isolation_level=None)
        for pragma in ("journal_mode = WAL", "synchronous = FULL", "secure_delete = ON"):
            db.execute(f"PRAGMA {pragma}")
        db.execute(
            "CREATE TABLE events (id INTEGER PRIMARY KEY, room_id INTEGER, seq INTEGER,"
            " kind TEXT, author TEXT, text TEXT, UNIQUE (room_id, seq))"
        )
        for statement in statements:
            db.execute(statement)
        began = time.process_time()
        for start in range(0, len(texts), batch):
            db.execute("BEGIN IMMEDIATE")
            db.executemany(
                "INSERT INTO events (room_id, seq, kind, author, text)"
                " VALUES (?, ?, 'message', ?, ?)",
                [
                    (n % 50, n, f"u{n % USERS:04d}", texts[n])
                    for n in range(start, min(start + batch, len(texts)))
                ],
            )
            db.execute("COMMIT")
        costs[name] = (time.process_time() - began) / len(texts) * 1e6
        db.close()
    return costs


# -- sends with the index on and off ------------------------------------------------------------


def drop_index_sqlite(path: Path) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    for name in ("events_fts_insert", "events_fts_update", "events_fts_delete"):
        db.execute(f"DROP TRIGGER {name}")
    db.close()


async def prepare(db: str, index: bool) -> None:
    """Migrate a fresh database; without ``index``, remove migration 0005's index."""
    store = PostgresStore(db) if db.startswith("postgresql") else SQLiteStore(db)
    await store.start()
    await store.close()
    if index:
        return
    if db.startswith("postgresql"):
        conn = await asyncpg.connect(db)
        try:
            await conn.execute("DROP INDEX events_search")
            await conn.execute("ALTER TABLE events DROP COLUMN search")
        finally:
            await conn.close()
    else:
        drop_index_sqlite(Path(db))


def server_class(store: str, index: bool) -> type[ParleyServer]:
    """``send_ack``'s server, on a database prepared with or without the search index."""

    class Prepared(ParleyServer):
        database = ""

        async def start(self, within: float = 30.0) -> None:
            if store == "postgres":
                self.database = f"parley_bench_sends_{os.getpid()}_{time.monotonic_ns()}"
                await admin(f'CREATE DATABASE "{self.database}"')
                self.db = with_database(self.database)  # type: ignore[assignment]
            await prepare(str(self.db), index)
            await super().start(within)

        def database_cpu(self) -> float:
            return backend_cpu(self.database) if self.database else 0.0

        def stop(self, timeout: float = 15.0) -> None:
            super().stop(timeout)
            if self.database:
                asyncio.run(admin(f'DROP DATABASE IF EXISTS "{self.database}"'))
                self.database = ""

    return Prepared


def send_runs(
    store: str, runs: int, senders: int, duration: float
) -> tuple[dict[bool, list[float]], dict[bool, list[float]]]:
    """Closed-loop acked sends/s per run, index on (True) and off (False), alternating; and
    the CPU µs each acknowledged message cost the server and the database's processes (the
    steadier figure on a shared machine: another process's load lowers the rate, not the CPU
    a message takes)."""
    args = send_ack.parse_args(
        [
            "--senders", str(senders), "--duration", str(duration), "--warmup", "1",
            "--rooms", "separate", "--no-perf", "--quiet-patience", "20",
        ]
    )  # fmt: skip
    args.server_flags = unlimited_flags()
    args.text = SEND_TEXT
    rates: dict[bool, list[float]] = {True: [], False: []}
    cpu: dict[bool, list[float]] = {True: [], False: []}
    for run in range(runs):
        for index in (True, False) if run % 2 == 0 else (False, True):
            send_ack.ParleyServer = server_class(store, index)  # type: ignore[misc]
            result = asyncio.run(send_ack.run_once(args, "separate", run + 1))
            if result.errors or result.closed is None:
                raise RuntimeError(f"{store} sends, index {index}: {result.errors}")
            rates[index].append(result.closed.rate)
            window = result.closed.window
            spent = window.server.loop + window.server.others + window.database_cpu
            cpu[index].append(spent / max(result.closed.acks, 1) * 1e6)
            print(
                f"  {store} sends, index {'on' if index else 'off'}: "
                f"{result.closed.rate:,.0f} acked/s, {cpu[index][-1]:,.0f} CPU µs/ack",
                file=sys.stderr,
            )
    return rates, cpu


# -- PostgreSQL databases -----------------------------------------------------------------------


def with_database(name: str) -> str:
    """The benchmark's server URL naming database ``name``."""
    return urllib.parse.urlsplit(POSTGRES)._replace(path="/" + name).geturl()


async def admin(sql: str) -> None:
    conn = await asyncpg.connect(POSTGRES)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


# -- the run ------------------------------------------------------------------------------------


@dataclass
class StoreResult:
    store: str
    messages: int
    load_seconds: float
    kinds: list[Kind]
    size: str
    sends: dict[bool, list[float]]
    #: CPU µs per acknowledged message (server and database processes), index on / off.
    cpu: dict[bool, list[float]] = field(default_factory=dict)
    costs: dict[int, dict[str, float]] = field(default_factory=dict)


async def search_store(
    store: str, args: argparse.Namespace, layout: Layout, workdir: Path
) -> tuple[float, list[Kind], str]:
    text = corpus()
    searcher = 7
    kinds = query_kinds(args.queries + args.warmup, corpus(), layout, searcher)
    if store == "sqlite":
        path = workdir / "search.db"
        opened: SQLStore = SQLiteStore(path)
        await opened.start()
        await opened.close()
        print(f"  loading {args.messages:,} messages into SQLite ...", file=sys.stderr)
        took = load_sqlite(path, args.messages, layout, text)
        size = f"{path.stat().st_size / 2**20:,.0f} MiB database file"
        opened = SQLiteStore(path)
        user_id = 1000 + searcher
        database = ""
    else:
        database = args.use_db or f"parley_bench_search_{os.getpid()}"
        url = with_database(database)
        took = 0.0
        if not args.use_db:
            await admin(f'CREATE DATABASE "{database}"')
            opened = PostgresStore(url)
            await opened.start()
            await opened.close()
            print(f"  loading {args.messages:,} messages into PostgreSQL ...", file=sys.stderr)
            took = await load_postgres(url, args.messages, layout, text)
        conn = await asyncpg.connect(url)
        try:
            size = (
                f"{await conn.fetchval('SELECT pg_size_pretty(pg_total_relation_size($1))', 'events')}"  # noqa: E501
                f" events table with indexes, of which GIN {await conn.fetchval('SELECT pg_size_pretty(pg_relation_size($1))', 'events_search')}"  # noqa: E501
            )
            user_id = await conn.fetchval(
                "SELECT id FROM users WHERE name = $1", f"u{searcher:04d}"
            )
        finally:
            await conn.close()
        opened = PostgresStore(url)
    try:
        await opened.start()
        print(f"  searching ({len(kinds)} kinds x {args.queries} queries) ...", file=sys.stderr)
        await time_searches(opened, user_id, kinds, args.warmup, database)
        if isinstance(opened, PostgresStore):
            await count_pages(opened, user_id, kinds, args.warmup)
    finally:
        await opened.close()
        if database and not (args.keep_db or args.use_db):
            await admin(f'DROP DATABASE IF EXISTS "{database}"')
        elif database:
            print(f"  kept the database {database} (--keep-db): drop it yourself", file=sys.stderr)
    return took, kinds, size


def render(args: argparse.Namespace, results: Sequence[StoreResult], command: str) -> str:
    lines = [
        f"# Search benchmark, {dt.date.today().isoformat()}",
        "",
        f"Command: `{command}`",
        "",
        *table(["", ""], [[k, v] for k, v in machine_info(REPO)]).splitlines(),
        "",
        "The machine is shared (2 cores; other sessions ran their test suites at the same time),",
        "so figures vary from run to run; the on/off send runs alternate to share the noise.",
        "",
    ]
    for result in results:
        lines += [
            f"## {result.store}: {result.messages:,} messages",
            "",
            (f"Loaded in {result.load_seconds:,.0f} s" if result.load_seconds else "Kept database")
            + f"; {result.size}.",
            f"Searching user: a member of {ROOMS_PER_USER} rooms; limit 20 results; "
            f"{args.queries} queries per kind after {args.warmup} unmeasured.",
            "",
        ]
        rows = []
        for kind in result.kinds:
            times = sorted(kind.times)
            p99 = percentile(times, 0.99)
            row = [
                kind.name,
                f"{percentile(times, 0.5) * 1e3:.1f}",
                f"{p99 * 1e3:.1f}",
                f"{times[-1] * 1e3:.1f}",
                f"{kind.found / max(len(times), 1):.1f}",
                "met" if p99 <= 0.050 else "NOT MET",
            ]
            cpu = sorted(kind.cpu)
            row += [f"{percentile(cpu, 0.5) * 1e3:.1f}", f"{percentile(cpu, 0.99) * 1e3:.1f}"]
            if kind.pages:
                pages = sorted(kind.pages)
                row += [f"{percentile(pages, 0.5):,}", f"{percentile(pages, 0.99):,}"]
            rows.append(row)
        head = ["query kind", "p50 ms", "p99 ms", "max ms", "results/query", "p99 ≤ 50 ms"]
        head += ["CPU p50 ms", "CPU p99 ms"]
        if any(kind.pages for kind in result.kinds):
            head += ["pages p50", "pages p99"]
        lines += table(head, rows).splitlines()
        lines += [
            "",
            "CPU: each search's CPU time, this process's (`time.process_time`) and, on",
            "PostgreSQL, its backends' (`/proc/PID/schedstat`): what a search costs, without the",
            "wait for a core that the wall clock includes on a busy machine.",
        ]
        if any(kind.pages for kind in result.kinds):
            lines += [
                "Pages: 8 KiB buffers a search reads (EXPLAIN (ANALYZE, BUFFERS) of the store's",
                "own statement, in a second pass): the plan's work, which the machine's load does",
                "not change.",
            ]
        lines.append("")
        if result.costs:
            names = list(next(iter(result.costs.values())))
            lines += [
                "What storing a message costs the writer, CPU µs per message (20,000 generated",
                "messages, transactions of 20 and of 200; `index_cost` in bench/search.py):",
                "",
                *table(
                    ["messages per transaction", *names],
                    [[str(b), *(f"{c[n]:.1f}" for n in names)] for b, c in result.costs.items()],
                ).splitlines(),
                "",
            ]
        if result.sends[True]:
            on = statistics.median(result.sends[True])
            off = statistics.median(result.sends[False])
            lines += [
                f"Acked sends/s ({args.senders} senders, closed loop, {args.send_duration:.0f} s,"
                f" a room each, fresh database): index on "
                + ", ".join(f"{r:,.0f}" for r in result.sends[True])
                + " (median "
                + f"{on:,.0f}); off "
                + ", ".join(f"{r:,.0f}" for r in result.sends[False])
                + f" (median {off:,.0f}): on/off = {on / off:.1%}"
                + (" (target ≥ 90 %: met)" if on >= 0.9 * off else " (target ≥ 90 %: NOT MET)"),
                "",
            ]
        if result.cpu.get(True):
            cpu_on = statistics.median(result.cpu[True])
            cpu_off = statistics.median(result.cpu[False])
            lines += [
                "CPU per acknowledged message (server and database processes, same runs): index"
                " on "
                + ", ".join(f"{c:,.0f}" for c in result.cpu[True])
                + f" µs (median {cpu_on:,.0f}); off "
                + ", ".join(f"{c:,.0f}" for c in result.cpu[False])
                + f" µs (median {cpu_off:,.0f}): the sends/s the CPU allows, on/off ="
                f" {cpu_off / cpu_on:.1%}"
                + (" (≥ 90 %: met)" if cpu_off >= 0.9 * cpu_on else " (≥ 90 %: NOT MET)"),
                "",
            ]
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stores", default="sqlite,postgres", help="sqlite, postgres or both")
    parser.add_argument("--messages", type=int, default=1_000_000, help="messages stored")
    parser.add_argument(
        "--postgres-messages", type=int, default=None, help="messages for PostgreSQL (or same)"
    )
    parser.add_argument("--queries", type=int, default=100, help="measured queries per kind")
    parser.add_argument("--warmup", type=int, default=5, help="unmeasured queries per kind")
    parser.add_argument("--send-runs", type=int, default=3, help="send runs per store, on and off")
    parser.add_argument("--senders", type=int, default=50, help="sending connections")
    parser.add_argument("--send-duration", type=float, default=5.0, help="seconds per send run")
    parser.add_argument("--tmpdir", default=None, help="where the SQLite files go")
    parser.add_argument("--out", type=Path, default=None, help="the report file")
    parser.add_argument(
        "--keep-db", action="store_true", help="keep the PostgreSQL database (to EXPLAIN queries)"
    )
    parser.add_argument(
        "--use-db",
        default=None,
        help="search a database kept by --keep-db (PostgreSQL; no loading, not dropped)",
    )
    args = parser.parse_args()
    if not 1 <= args.messages <= 5_000_000 or not 1 <= args.queries <= 10_000:
        parser.error("--messages must be 1 to 5,000,000 and --queries 1 to 10,000")
    if args.send_runs < 0 or args.senders < 1:
        parser.error("--send-runs must be ≥ 0 and --senders ≥ 1")
    return args


def main() -> int:
    args = parse_args()
    command = "python bench/search.py " + " ".join(sys.argv[1:])
    layout = Layout.make()
    results: list[StoreResult] = []
    workdir = Path(tempfile.mkdtemp(prefix="parley-bench-search-", dir=args.tmpdir))
    try:
        for store in [s.strip() for s in args.stores.split(",") if s.strip()]:
            count = args.messages
            if store == "postgres" and args.postgres_messages:
                count = args.postgres_messages
            print(f"{store}:", file=sys.stderr)
            own = argparse.Namespace(**{**vars(args), "messages": count})
            took, kinds, size = asyncio.run(search_store(store, own, layout, workdir))
            sends: dict[bool, list[float]] = {True: [], False: []}
            cpu: dict[bool, list[float]] = {True: [], False: []}
            if args.send_runs:
                sends, cpu = send_runs(store, args.send_runs, args.senders, args.send_duration)
            costs = {}
            if store == "sqlite":
                text = corpus()
                texts = [text.text() for _ in range(20_000)]
                costs = {batch: index_cost(texts, batch, workdir) for batch in (20, 200)}
            results.append(StoreResult(store, count, took, kinds, size, sends, cpu, costs))
    finally:
        stop_all()
        shutil.rmtree(workdir, ignore_errors=True)
    report = render(args, results, command)
    print(report)
    out = args.out or REPO / "bench" / "results" / f"{dt.date.today().isoformat()}-search.md"
    out.write_text(report + "\n")
    shown = out.relative_to(REPO) if out.is_relative_to(REPO) else out
    print(f"written to {shown}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
