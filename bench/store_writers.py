"""The PostgreSQL store's write throughput alone: posts/s with many concurrent posters.

``send_ack.py --postgres`` measures the whole server, on a machine where the server, the load
generator and PostgreSQL share two cores, so its figures move by 2x from run to run. This
measures only the store (``PostgresStore`` in this process, its default two writers and pool,
no server, no WebSocket) so that two versions of the store's writers can be compared with less
noise: run it with each version first on ``PYTHONPATH``, alternating.

Each of ``--posters`` tasks posts to room ``i % --rooms`` and waits for the commit before
posting again, for ``--duration`` seconds after ``--warmup``; a fresh database per run.

    .venv/bin/python bench/store_writers.py --postgres postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import asyncio
import time

from lib.postgres import create_database, drop_database, with_database

from parley.model import RoomKind
from parley.store.postgres import PostgresStore


async def run(args: argparse.Namespace) -> tuple[float, float]:
    """One measurement on a fresh database: (posts/s, p99 ms)."""
    name = await create_database(args.postgres)
    try:
        store = PostgresStore(with_database(args.postgres, name))
        await store.start()
        try:
            rooms = [
                (await store.create_room(f"r{i}", RoomKind.PUBLIC, creator_id=None))[0]
                for i in range(args.rooms)
            ]
            users = [await store.create_user(f"u{i}", "h") for i in range(args.posters)]
            latencies: list[float] = []
            measuring = False
            stop = False

            async def poster(index: int) -> None:
                room, user = rooms[index % len(rooms)], users[index]
                n = 0
                while not stop:
                    started = time.perf_counter()
                    await store.post_message(room.id, user.id, user.name, "x" * 64, f"{n}")
                    if measuring:
                        latencies.append(time.perf_counter() - started)
                    n += 1

            tasks = [asyncio.create_task(poster(i)) for i in range(args.posters)]
            await asyncio.sleep(args.warmup)
            measuring = True
            await asyncio.sleep(args.duration)
            measuring = False
            count = len(latencies)
            stop = True
            await asyncio.gather(*tasks)
        finally:
            await store.close()
    finally:
        await drop_database(args.postgres, name)
    latencies.sort()
    return count / args.duration, latencies[int(0.99 * (count - 1))] * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", required=True, metavar="URL")
    parser.add_argument("--rooms", type=int, default=100)
    parser.add_argument("--posters", type=int, default=100)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--label", default="", help="a name for this version in the output")
    args = parser.parse_args()
    if args.rooms < 1 or args.posters < 1 or args.duration <= 0 or args.warmup < 0:
        parser.error("--rooms and --posters must be >= 1, --duration > 0, --warmup >= 0")
    rate, p99 = asyncio.run(run(args))
    print(f"| {args.label} | {args.rooms} | {args.posters} | {rate:,.0f} | {p99:.1f} |")


if __name__ == "__main__":
    main()
