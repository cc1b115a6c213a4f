"""Mentions on the store's write path: posts a second with and without ``@name``, and the cost
of the reads that count and list mentions.

A post that mentions someone leaves the multi-row insert of plain posts (SQLite) and is stored
one by one, with a member lookup and its ``mentions`` rows: this measures what that costs, on
the store alone (no sockets: the socket path is ``send_ack.py``'s), on a fresh SQLite file
(``synchronous=full``, the default) or the PostgreSQL of ``--postgres URL``.

Per mode (``plain``: no mention; ``mention``: every post mentions one member; ``mixed``: one
post in ten does), ``--posters`` tasks each post ``--posts`` messages into one room of
``--members`` members, waiting for each commit (as a sender waits for its ack), after one
discarded warm-up run. Then, with
every post of the ``mention`` run in place: ``unread_state`` (the welcome's counts) and a
``mentions_of`` page of 50, timed ``--reads`` times each.

Run from the repository root: ``.venv/bin/python bench/mentions.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from parley.model import RoomKind
from parley.store.base import Store
from parley.store.postgres import PostgresStore
from parley.store.sqlite import SQLiteStore


async def fresh_store(postgres: str | None, folder: Path, mode: str) -> Store:
    store: Store = PostgresStore(postgres) if postgres else SQLiteStore(folder / "bench.db")
    await store.start()
    return store


async def run(mode: str, args: argparse.Namespace, folder: Path) -> dict[str, float]:
    store = await fresh_store(args.postgres, folder, mode)
    try:
        users = [await store.create_user(f"user{i}", "h") for i in range(args.members)]
        room, _ = await store.create_room(
            f"bench-{mode}-{time.monotonic_ns()}", RoomKind.PUBLIC, creator_id=users[0].id
        )
        for user in users[1:]:
            await store.join(room.id, user.id, user.name)
        reader = users[-1]

        def text(i: int) -> str:
            if mode == "mention" or (mode == "mixed" and i % 10 == 0):
                return f"@{reader.name} look at this, number {i}"
            return f"look at this, number {i}"

        async def poster(index: int) -> None:
            author = users[index % (args.members - 1)]
            for i in range(args.posts):
                await store.post_message(room.id, author.id, author.name, text(i))

        started = time.perf_counter()
        await asyncio.gather(*(poster(p) for p in range(args.posters)))
        elapsed = time.perf_counter() - started
        result = {"posts_per_s": args.posters * args.posts / elapsed}
        if mode == "mention":
            for name, call in (
                ("unread_state_ms", lambda: store.unread_state(room.id, reader.id)),
                ("mentions_page_ms", lambda: store.mentions_of(reader.id, None, 50)),
            ):
                times = []
                for _ in range(args.reads):
                    t0 = time.perf_counter()
                    await call()
                    times.append((time.perf_counter() - t0) * 1000)
                times.sort()
                result[name + "_p50"] = statistics.median(times)
                result[name + "_p99"] = times[int(len(times) * 0.99) - 1]
        return result
    finally:
        await store.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posters", type=int, default=50)
    parser.add_argument("--posts", type=int, default=40)
    parser.add_argument("--members", type=int, default=60)
    parser.add_argument("--reads", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", help="a postgresql:// URL instead of SQLite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        # A discarded first run: the first store of a process pays for imports and caches.
        warm = Path(tmp) / "warmup"
        warm.mkdir()
        await run("plain", argparse.Namespace(**{**vars(args), "posts": 5}), warm)
        for mode in ("plain", "mixed", "mention"):
            results = []
            for r in range(args.runs):
                folder = Path(tmp) / f"{mode}-{r}"
                folder.mkdir()
                results.append(await run(mode, args, folder))
            keys = results[0].keys()
            line = ", ".join(
                f"{key} {statistics.median(res[key] for res in results):.1f}" for key in keys
            )
            print(f"{mode:8} (median of {args.runs}): {line}", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
