"""One profile change with every account in the lobby: its time and its publications.

    .venv/bin/python bench/profile_fanout.py [--accounts 1000 10000] [--changes 10]

A ``profile`` change reaches every connection that shares a room with its user. What it costs
should follow the nodes and the connections present, not the accounts that share the lobby.
Per ``--accounts`` size, this makes a fresh PostgreSQL database with that many accounts in the
lobby (written through the store, before the servers start), starts a private
``redis-server`` on a free port and two ``parley serve`` nodes on 127.0.0.1 sharing both, and
connects ``--receivers`` signed-in clients spread over the two nodes. One user on the first
node then changes their display name ``--changes`` times, one after the other, and each
change is timed from the command sent to its ``ok``, and to the moment every receiver has its
``profile`` notice. Reported per change: those times (median and max), Redis's own count of
``PUBLISH`` commands (``INFO commandstats``), the publications node 1 counted
(``parley_broker_published_total``) and dropped (``parley_broker_dropped_total``: its queue
to Redis was full), the CPU time of the two nodes and of Redis, and the receivers a change did
not reach within 10 s (then the time to every receiver includes that wait).

Compare two versions by running this file against each one's ``src`` (the results file names
the commands). Every wait is bounded; the servers, Redis and the database are removed in
``finally``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import redis
from websockets.asyncio.client import ClientConnection, connect

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lib.postgres import create_database, drop_database, with_database
from lib.server import ParleyServer, register_spread, unlimited_flags

from cluster import start_redis
from parley.store.base import LOBBY
from parley.store.postgres import PostgresStore

PG_URL = os.environ.get("PARLEY_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
PASSWORD = "profile bench password"
#: Seconds a reply may take; and a change to reach every receiver (those it has not reached
#: by then are counted as missed: a broker whose queue overflowed dropped their notice).
WAIT = 30.0
REACH = 10.0


async def fill_lobby(db_url: str, accounts: int) -> None:
    """``accounts`` users in the lobby, written through the store (as registrations would,
    without hashing a password for each)."""
    store = PostgresStore(db_url)
    await store.start()
    try:
        lobby = await store.get_room(LOBBY)
        assert lobby is not None
        lobby_id = lobby.id

        async def one(n: int) -> None:
            user = await store.create_user(f"crowd{n}", "not-a-hash", admin=False)
            await store.join(lobby_id, user.id, user.name)

        for start in range(0, accounts, 200):
            await asyncio.gather(*(one(n) for n in range(start, min(start + 200, accounts))))
    finally:
        await store.close()


class Receiver:
    """A signed-in client that keeps the ``profile`` notices it gets."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.profiles: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, port: int, token: str) -> Receiver:
        ws = await connect(
            f"ws://127.0.0.1:{port}/ws",
            subprotocols=["parley.v1"],  # type: ignore[list-item]
            additional_headers={"Authorization": f"Bearer {token}"},
            max_size=None,
        )
        client = cls(ws)
        await client.command({"type": "resume", "id": "r", "rooms": {}})
        return client

    async def _read(self) -> None:
        async for raw in self.ws:
            message = json.loads(raw)
            if message.get("type") == "profile":
                self.profiles.put_nowait(message)
            elif message.get("re"):
                self.replies.put_nowait(message)

    async def command(self, body: dict[str, Any]) -> dict[str, Any]:
        await self.ws.send(json.dumps(body))
        return await asyncio.wait_for(self.replies.get(), WAIT)

    async def close(self) -> None:
        self._reader.cancel()
        await self.ws.close()


def broker_counter(port: int, name: str = "published") -> float:
    """A node's ``parley_broker_<name>_total``."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(f"parley_broker_{name}_total "):
                return float(line.split()[1])
    return 0.0


async def reached(client: Receiver, name: str, deadline: float) -> bool:
    """Whether ``client`` gets the notice of the change to ``name`` before ``deadline``
    (older notices, of changes it got late, are skipped)."""
    while True:
        try:
            notice = client.profiles.get_nowait()
        except asyncio.QueueEmpty:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                notice = await asyncio.wait_for(client.profiles.get(), left)
            except TimeoutError:
                return False
        if notice["display_name"] == name:
            return True


def redis_publishes(url: str) -> int:
    with redis.Redis.from_url(url) as client:
        stats = client.info("commandstats")
    return int(stats.get("cmdstat_publish", {}).get("calls", 0))


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(accounts: int, args: argparse.Namespace) -> dict[str, float]:
    workdir = Path(tempfile.mkdtemp(prefix="parley-profile-"))
    name = await create_database(PG_URL)
    db_url = with_database(PG_URL, name)
    redis_process, redis_url = start_redis(workdir)
    nodes: list[ParleyServer] = []
    clients: list[Receiver] = []
    try:
        await fill_lobby(db_url, accounts)
        flags = [*unlimited_flags(), "--db", db_url, "--broker", redis_url, "--no-access-log"]
        for index in range(2):
            folder = workdir / f"node{index}"
            folder.mkdir()
            node = ParleyServer(folder, cpu=index % 2, flags=flags, log_level="warning")
            await node.start()
            nodes.append(node)
        tokens = await register_spread(
            [node.port for node in nodes], args.receivers + 1, "watcher", PASSWORD
        )
        changer = await Receiver.open(nodes[0].port, tokens[0])
        clients = [changer] + [
            await Receiver.open(nodes[n % 2].port, tokens[n]) for n in range(1, len(tokens))
        ]
        await asyncio.sleep(1.0)
        for client in clients:
            while not client.profiles.empty():
                client.profiles.get_nowait()
        redis_before = redis_publishes(redis_url)
        node_before = broker_counter(nodes[0].port)
        dropped_before = broker_counter(nodes[0].port, "dropped")
        pids = [node.pid for node in nodes] + [redis_process.pid]
        cpu_before = [cpu_seconds(pid) for pid in pids]
        acks, everyone, missed = [], [], 0
        for n in range(args.changes):
            started = time.perf_counter()
            reply = await changer.command(
                {"type": "profile", "id": f"p{n}", "display_name": f"P{n}"}
            )
            assert reply["type"] == "ok", reply
            acks.append(time.perf_counter() - started)
            deadline = time.monotonic() + REACH
            for client in clients:
                missed += not await reached(client, f"P{n}", deadline)
            everyone.append(time.perf_counter() - started)
        await asyncio.sleep(0.5)  # the last publications are counted
        cpu = [cpu_seconds(pid) - before for pid, before in zip(pids, cpu_before, strict=True)]
        return {
            "ack_ms": statistics.median(acks) * 1000,
            "ack_max_ms": max(acks) * 1000,
            "all_ms": statistics.median(everyone) * 1000,
            "all_max_ms": max(everyone) * 1000,
            "redis_publish": (redis_publishes(redis_url) - redis_before) / args.changes,
            "node_published": (broker_counter(nodes[0].port) - node_before) / args.changes,
            "node_dropped": (broker_counter(nodes[0].port, "dropped") - dropped_before)
            / args.changes,
            "missed": missed / args.changes,
            "cpu_nodes_ms": (cpu[0] + cpu[1]) * 1000 / args.changes,
            "cpu_redis_ms": cpu[2] * 1000 / args.changes,
        }
    finally:
        for client in clients:
            await client.close()
        for node in nodes:
            node.stop()
        redis_process.kill()
        redis_process.wait(5)
        await drop_database(PG_URL, name)


async def run(args: argparse.Namespace) -> None:
    print(f"\n{args.receivers} receivers + the changer on 2 nodes; {args.changes} changes each\n")
    print(
        "| accounts in the lobby | ack ms (median / max) | all receivers ms (median / max) "
        "| Redis PUBLISH per change | node publications per change | nodes CPU ms per change "
        "| Redis CPU ms per change | node publications dropped per change "
        "| receivers missed per change |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for accounts in args.accounts:
        r = await measure(accounts, args)
        print(
            f"| {accounts:,} | {r['ack_ms']:.1f} / {r['ack_max_ms']:.1f} "
            f"| {r['all_ms']:.1f} / {r['all_max_ms']:.1f} | {r['redis_publish']:,.0f} "
            f"| {r['node_published']:,.0f} | {r['cpu_nodes_ms']:.1f} | {r['cpu_redis_ms']:.1f} "
            f"| {r['node_dropped']:,.0f} | {r['missed']:g} |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--receivers", type=int, default=40)
    parser.add_argument("--changes", type=int, default=10)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
