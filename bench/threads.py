"""Threads and reactions on the store's write path, and what a page read back costs with them.

A reply leaves the multi-row insert of plain posts (SQLite) and is stored one by one, with its
root's counters and its followers' rows; a reaction is a room event plus a ``reactions`` row.
This measures, on the store alone (no sockets: the socket path is ``send_ack.py``'s), on a
fresh SQLite file (``synchronous=full``, the default) or the PostgreSQL of ``--postgres URL``:

* writes a second, per mode, ``--posters`` tasks each making ``--posts`` writes into one room
  of ``--members`` members, each waiting for its commit (as a sender waits for its ack):
  ``plain`` posts, ``reply`` (every post a reply in one of 10 threads), ``react`` (each a new
  reaction: the poster's own emoji on one of 50 messages);
* then, with every write of the run in place, a ``history`` page of 100 events
  (``events_before``, which adds reactions and thread summaries to a page), timed ``--reads``
  times: p50 and p99 in ms.

Run from the repository root: ``.venv/bin/python bench/threads.py``.
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

MODES = ("plain", "reply", "react")


async def run(mode: str, args: argparse.Namespace, folder: Path) -> dict[str, float]:
    store: Store = PostgresStore(args.postgres) if args.postgres else SQLiteStore(folder / "b.db")
    await store.start()
    try:
        users = [await store.create_user(f"user{i}", "h") for i in range(args.members)]
        room, _ = await store.create_room(
            f"bench-{mode}-{time.monotonic_ns()}", RoomKind.PUBLIC, creator_id=users[0].id
        )
        for user in users[1:]:
            await store.join(room.id, user.id, user.name)
        targets = [
            (await store.post_message(room.id, users[0].id, users[0].name, f"target {i}")).event
            for i in range(50)
        ]

        async def poster(index: int) -> None:
            author = users[index % args.members]
            for i in range(args.posts):
                if mode == "plain":
                    await store.post_message(room.id, author.id, author.name, f"post {i}")
                elif mode == "reply":
                    root = targets[(index + i) % 10].mid
                    await store.post_message(
                        room.id, author.id, author.name, f"reply {i}", thread=root
                    )
                else:
                    mid = targets[i % len(targets)].mid or 0
                    emoji = f":p{index}-{i // len(targets)}:"
                    await store.react(room.id, author.id, author.name, mid, emoji, add=True)

        started = time.perf_counter()
        await asyncio.gather(*(poster(p) for p in range(args.posters)))
        elapsed = time.perf_counter() - started
        result = {"writes_per_s": args.posters * args.posts / elapsed}
        times = []
        for _ in range(args.reads):
            t0 = time.perf_counter()
            await store.events_before(room.id, targets[-1].seq + 1, 100)
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        result["page_ms_p50"] = statistics.median(times)
        result["page_ms_p99"] = times[int(len(times) * 0.99) - 1]
        return result
    finally:
        await store.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posters", type=int, default=20)
    parser.add_argument("--posts", type=int, default=50)
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--reads", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", help="a postgresql:// URL instead of SQLite")
    args = parser.parse_args()
    # The react mode makes at most 20 distinct emoji per message: posters x rounds.
    rounds = -(-args.posts // 50)
    if args.posters * rounds > 20:
        parser.error("--posters x ceil(--posts / 50) must be at most 20 (emoji per message)")
    with tempfile.TemporaryDirectory() as tmp:
        warm = Path(tmp) / "warmup"
        warm.mkdir()
        await run("plain", argparse.Namespace(**{**vars(args), "posts": 5, "reads": 5}), warm)
        for mode in MODES:
            results = []
            for r in range(args.runs):
                folder = Path(tmp) / f"{mode}-{r}"
                folder.mkdir()
                results.append(await run(mode, args, folder))
            line = ", ".join(
                f"{key} {statistics.median(res[key] for res in results):.1f}" for key in results[0]
            )
            print(f"{mode:6} (median of {args.runs}): {line}", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
