"""Bounded replies (issue 14): a resume over a large backlog, and the welcome's size and time
against the number of public rooms.

Each scenario populates a fresh SQLite database through the store API directly (fast: no
WebSocket, no rate limit), then starts a real ``parley serve`` on it (127.0.0.1, port 0,
pinned to ``--server-cpu``) and connects real ``parley.v1`` clients (the ``websockets``
library, pinned to ``--client-cpu``):

1. **resume**: ``--messages`` messages of ``--chars`` characters (``--char``, by default a
   4-byte emoji, so a message is 4x its length in bytes) are posted to the lobby after bob's
   last seen seq; bob connects and resumes from it. Reported: the time from ``resume`` to
   ``resumed``, the events, bytes and frames received, the largest frame, and whether every
   event came once, in order (the run fails otherwise). The server's log must not mention a
   slow client (close 4001).
2. **welcome**: one server for each of ``--public-rooms`` (10 and 10,000 by default) public
   rooms with 250-character topics, all running at once; after ``--warmup`` connections each,
   ``--connections`` fresh connections of a user who is a member of the lobby only, to each
   server in turn: the welcome's size, the time from opening the TCP connection to the
   welcome (median and p90), and the size of the first page of ``rooms``.

Loops are bounded by the figures given. Run from the repository root::

    .venv/bin/python bench/replies.py --out bench/results/2026-12-06-replies.md
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent))

import contextlib

from lib.report import machine_info, median, percentile
from lib.server import ParleyServer, stop_all, unlimited_flags

from parley.model import RoomKind
from parley.store.sqlite import SQLiteStore

REPO = Path(__file__).resolve().parent.parent
DAY_MS = 86_400_000


async def _user(store: SQLiteStore, name: str) -> tuple[int, str]:
    """A user and a live session token for it (the store keeps the token's SHA-256)."""
    user = await store.create_user(name, "not-a-real-hash")
    token = secrets.token_urlsafe(32)
    expires = int(time.time() * 1000) + DAY_MS
    await store.create_session(user.id, hashlib.sha256(token.encode()).hexdigest(), expires)
    return user.id, token


async def _lobby_id(store: SQLiteStore) -> int:
    lobby = await store.get_room("lobby")
    assert lobby is not None, "the store made no lobby"
    return lobby.id


async def populate_backlog(db: Path, messages: int, text: str) -> tuple[str, int, int]:
    """bob's token, bob's last seen seq in the lobby, and the lobby's last seq."""
    store = SQLiteStore(db, synchronous="normal")
    await store.start()
    try:
        alice, _ = await _user(store, "alice")
        bob, bob_token = await _user(store, "bob")
        lobby = await _lobby_id(store)
        await store.join(lobby, alice, "alice")
        await store.join(lobby, bob, "bob")
        seen = (await store.get_room_by_id(lobby)).last_seq  # type: ignore[union-attr]
        for start in range(0, messages, 200):
            batch = range(start, min(messages, start + 200))
            await asyncio.gather(
                *(store.post_message(lobby, alice, "alice", text, f"m{n}") for n in batch)
            )
        last = (await store.get_room_by_id(lobby)).last_seq  # type: ignore[union-attr]
        return bob_token, seen, last
    finally:
        await store.close()


async def populate_rooms(db: Path, rooms: int) -> str:
    """``rooms`` public rooms with 250-character topics (made by alice); bob's token (bob is
    in the lobby only)."""
    store = SQLiteStore(db, synchronous="normal")
    await store.start()
    try:
        alice, _ = await _user(store, "alice")
        bob, bob_token = await _user(store, "bob")
        await store.join(await _lobby_id(store), bob, "bob")
        topic = "\N{GRINNING FACE}" * 250
        for start in range(0, rooms, 200):
            batch = range(start, min(rooms, start + 200))
            await asyncio.gather(
                *(
                    store.create_room(
                        f"room-{n:05d}", RoomKind.PUBLIC, creator_id=alice, topic=topic
                    )
                    for n in batch
                )
            )
        return bob_token
    finally:
        await store.close()


def _pin(cpu: int) -> None:
    with contextlib.suppress(OSError):
        os.sched_setaffinity(0, {cpu})


async def _server(workdir: Path, cpu: int) -> ParleyServer:
    server = ParleyServer(workdir, cpu=cpu, flags=unlimited_flags())
    await server.start()
    return server


async def bench_resume(args: argparse.Namespace, workdir: Path) -> dict[str, object]:
    text = args.char * args.chars
    started = time.perf_counter()
    token, seen, last = await populate_backlog(workdir / "bench.db", args.messages, text)
    populated = time.perf_counter() - started
    server = await _server(workdir, args.server_cpu)
    try:
        url = f"ws://127.0.0.1:{server.port}/ws"
        headers = {"Authorization": f"Bearer {token}"}
        async with connect(
            url,
            subprotocols=["parley.v1"],
            additional_headers=headers,
            max_size=2**24,  # type: ignore[list-item]
        ) as ws:
            welcome = json.loads(await ws.recv())
            assert welcome["type"] == "welcome", welcome
            t0 = time.perf_counter()
            await ws.send(json.dumps({"type": "resume", "id": "r", "rooms": {"lobby": seen}}))
            seqs: list[int] = []
            frames = 0
            received = 0
            largest = 0
            while True:
                raw = await asyncio.wait_for(ws.recv(decode=False), 120)
                frames += 1
                received += len(raw)
                largest = max(largest, len(raw))
                message = json.loads(raw)
                if message["type"] == "resumed":
                    break
                if message["type"] == "event":
                    seqs.append(message["seq"])
            elapsed = time.perf_counter() - t0
        complete = seqs == list(range(seen + 1, last + 1))
        if not complete:
            raise RuntimeError(f"resume incomplete: {len(seqs)} events of {last - seen}")
        if message["rooms"] != {"lobby": last}:
            raise RuntimeError(f"resumed reports {message['rooms']}, expected lobby {last}")
        problems = [line for line in server.log_problems() if "slow" in line]
        return {
            "messages": args.messages,
            "chars": args.chars,
            "event bytes (typical)": len(json.dumps({"text": text}, ensure_ascii=False).encode()),
            "populate s": round(populated, 1),
            "resume s": round(elapsed, 2),
            "events": len(seqs),
            "frames": frames,
            "MB received": round(received / 1e6, 1),
            "MB/s": round(received / 1e6 / elapsed, 1),
            "largest frame": largest,
            "pages of 256 KiB (at least)": -(-received // (256 * 1024)),
            "slow-client lines in the log": len(problems),
        }
    finally:
        server.stop()


async def _welcome_once(port: int, token: str, with_page: bool) -> tuple[float, int, int]:
    """Seconds from opening the TCP connection to the welcome, its bytes, and (with
    ``with_page``) the bytes of the first page of 100 ``rooms``."""
    url = f"ws://127.0.0.1:{port}/ws"
    headers = {"Authorization": f"Bearer {token}"}
    t0 = time.perf_counter()
    async with connect(
        url,
        subprotocols=["parley.v1"],  # type: ignore[list-item]
        additional_headers=headers,
    ) as ws:
        raw = await asyncio.wait_for(ws.recv(decode=False), 30)
        elapsed = time.perf_counter() - t0
        assert json.loads(raw)["type"] == "welcome"
        page_size = 0
        if with_page:
            await ws.send(json.dumps({"type": "rooms", "id": "p", "limit": 100}))
            page_size = len(await asyncio.wait_for(ws.recv(decode=False), 30))
    return elapsed, len(raw), page_size


async def bench_welcome(
    args: argparse.Namespace, workdirs: list[Path], counts: list[int]
) -> list[dict[str, object]]:
    """One server per number of public rooms, all running at once; the connections go to
    each in turn, so that a busy spell of the (shared) machine hits every server alike."""
    servers: list[ParleyServer] = []
    tokens: list[str] = []
    populated: list[float] = []
    try:
        for workdir, rooms in zip(workdirs, counts, strict=True):
            started = time.perf_counter()
            tokens.append(await populate_rooms(workdir / "bench.db", rooms))
            populated.append(time.perf_counter() - started)
            servers.append(await _server(workdir, args.server_cpu))
        for server, token in zip(servers, tokens, strict=True):
            for _ in range(args.warmup):
                await _welcome_once(server.port, token, False)
        times: list[list[float]] = [[] for _ in servers]
        sizes: list[int] = [0 for _ in servers]
        pages: list[int] = [0 for _ in servers]
        for n in range(args.connections):
            for i, (server, token) in enumerate(zip(servers, tokens, strict=True)):
                elapsed, size, page = await _welcome_once(server.port, token, n == 0)
                times[i].append(elapsed)
                sizes[i] = max(sizes[i], size)
                pages[i] = max(pages[i], page)
        return [
            {
                "public rooms": rooms,
                "populate s": round(populated[i], 1),
                "welcome bytes": sizes[i],
                "welcome ms (median)": round(median(times[i]) * 1000, 2),
                "welcome ms (p90)": round(percentile(sorted(times[i]), 0.9) * 1000, 2),
                "connections": args.connections,
                "first rooms page (100) bytes": pages[i],
            }
            for i, rooms in enumerate(counts)
        ]
    finally:
        for server in servers:
            server.stop()


def markdown(rows: list[dict[str, object]]) -> str:
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(str(row[k]) for k in keys) + " |" for row in rows]
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--chars", type=int, default=4000)
    parser.add_argument("--char", default="\N{GRINNING FACE}")
    parser.add_argument("--public-rooms", default="10,10000")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--server-cpu", type=int, default=0)
    parser.add_argument("--client-cpu", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    _pin(args.client_cpu)
    try:
        with tempfile.TemporaryDirectory(prefix="parley-replies-") as folder:
            resume = await bench_resume(args, Path(folder))
        print(markdown([resume]), flush=True)
        counts = [int(n) for n in args.public_rooms.split(",")]
        with contextlib.ExitStack() as stack:
            folders = [
                Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="parley-replies-")))
                for _ in counts
            ]
            welcomes = await bench_welcome(args, folders, counts)
        print(markdown(welcomes), flush=True)
    finally:
        stop_all()
    command = ".venv/bin/python bench/replies.py " + " ".join(sys.argv[1:])
    report = "\n\n".join(
        [
            "# Bounded replies: resume over a large backlog, welcome vs public rooms",
            f"Command: `{command}`",
            "\n".join(f"- {key}: {value}" for key, value in machine_info(REPO)),
            "## Resume\n\n" + markdown([resume]),
            "## Welcome\n\n" + markdown(welcomes),
        ]
    )
    if args.out is not None:
        args.out.write_text(report + "\n")
    print(report)


if __name__ == "__main__":
    asyncio.run(main())
