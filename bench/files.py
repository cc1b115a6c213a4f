"""Files (issue 18): upload and download throughput of a 20 MiB file, and the server's memory
while 20 uploads run at once, for 1 MiB and for 20 MiB files side by side.

The upload streams its body to a spool file and then to the blob store, a chunk at a time;
the download streams from the blob store. So the server's RSS growth during 20 concurrent
uploads should not depend on the file size (target: the 20 MiB row grows about as much as
the 1 MiB row, far less than 20 x 20 MiB = 400 MiB).

One ``parley serve`` on a fresh SQLite database (files in a directory beside it), pinned to
CPU 0 (``--cpu``); the clients (aiohttp) run in this process. Files are random bytes (no image
decoding: that is bounded separately, two at a time in threads). RSS is sampled every 10 ms
from ``/proc``. Bounded: 127.0.0.1 only, every request with a timeout, a few hundred MiB of
temporary files, removed at the end.

Run from the repository root: ``.venv/bin/python bench/files.py`` (``--out FILE`` appends
the results as Markdown; ``--postgres URL``: the store and the files in a new database on
that server, dropped afterwards).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lib.postgres import create_database, drop_database, with_database
from lib.report import median, table
from lib.server import ParleyServer, stop_all, unlimited_flags

MIB = 1 << 20


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def register(port: int, name: str) -> str:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/register",
        data=json.dumps({"username": name, "password": "correct horse battery"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(json.load(response)["token"])


async def upload(session: aiohttp.ClientSession, port: int, token: str, path: Path) -> str:
    with path.open("rb") as handle:
        async with session.post(
            f"http://127.0.0.1:{port}/api/uploads?name={path.name}",
            data=handle,
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/octet-stream",
            },
        ) as response:
            body = await response.json()
            if response.status != 201:
                raise RuntimeError(f"upload refused: {response.status} {body}")
            return str(body["upload"]["id"])


async def download(session: aiohttp.ClientSession, port: int, token: str, fid: str) -> int:
    got = 0
    async with session.get(
        f"http://127.0.0.1:{port}/files/{fid}/f", headers={"Authorization": f"Bearer {token}"}
    ) as response:
        assert response.status == 200, response.status
        async for chunk in response.content.iter_chunked(1 << 16):
            got += len(chunk)
    return got


async def throughput(
    port: int, token: str, path: Path, size: int, runs: int
) -> tuple[float, float]:
    """Median MiB/s of uploading ``path`` (``size`` bytes) and of downloading it."""
    ups, downs = [], []
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for _ in range(runs):
            started = time.perf_counter()
            fid = await upload(session, port, token, path)
            ups.append(size / MIB / (time.perf_counter() - started))
            started = time.perf_counter()
            size = await download(session, port, token, fid)
            downs.append(size / MIB / (time.perf_counter() - started))
    return median(ups), median(downs)


async def concurrent_rss(
    server: ParleyServer, tokens: list[str], files: list[Path]
) -> dict[str, float]:
    """Peak RSS growth while every token uploads its file at once."""
    before = rss_kib(server.pid)
    peak = before
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_kib(server.pid))
            await asyncio.sleep(0.01)

    sampler = asyncio.create_task(sample())
    started = time.perf_counter()
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        await asyncio.gather(
            *(upload(session, server.port, t, f) for t, f in zip(tokens, files, strict=True))
        )
    elapsed = time.perf_counter() - started
    done.set()
    await sampler
    return {
        "before": before / 1024,
        "peak": peak / 1024,
        "growth": (peak - before) / 1024,
        "seconds": elapsed,
    }


def random_file(folder: Path, name: str, size: int) -> Path:
    path = folder / name
    with path.open("wb") as out:
        left = size
        while left:
            piece = min(left, 4 * MIB)
            out.write(os.urandom(piece))
            left -= piece
    return path


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cpu", type=int, default=0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrent", type=int, default=20)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 5, 20], help="MiB")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="store (and files) on this PostgreSQL server, in a database of its own",
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="parley-bench-files-") as scratch:
        work = Path(scratch)
        flags = [*unlimited_flags(), "--max-upload", "64MiB", "--upload-quota", "100000MiB"]
        database = None
        if args.postgres:  # the last --db wins: the server's files are then in the database
            database = await create_database(args.postgres)
            flags += ["--db", with_database(args.postgres, database), "--file-dir", scratch]
            lines.append("store and files: PostgreSQL (a new database)\n")
        server = ParleyServer(work, cpu=args.cpu, flags=flags, log_level="warning")
        try:
            await server.start()
            tokens = [register(server.port, f"user{i}") for i in range(args.concurrent)]
            big = random_file(work, "big.bin", 20 * MIB)
            up, down = await throughput(server.port, tokens[0], big, 20 * MIB, args.runs)
            lines.append(
                f"20 MiB file, median of {args.runs}: upload {up:.0f} MiB/s,"
                f" download {down:.0f} MiB/s\n"
            )
            rows = []
            for size in args.sizes:
                files = [
                    random_file(work, f"c{size}-{i}.bin", size * MIB)
                    for i in range(args.concurrent)
                ]
                result = await concurrent_rss(server, tokens, files)
                rows.append([
                    f"{args.concurrent} x {size} MiB",
                    f"{result['seconds']:.1f} s",
                    f"{result['before']:.1f} MiB",
                    f"{result['peak']:.1f} MiB",
                    f"**{result['growth']:.1f} MiB**",
                ])  # fmt: skip
                for path in files:
                    path.unlink()
            lines.append(
                table(["uploads at once", "time", "RSS before", "RSS peak", "growth"], rows)
            )
            problems = server.log_problems()
            if problems:
                lines.append("server log problems:\n" + "\n".join(problems))
        finally:
            stop_all()
            if database is not None:
                await drop_database(args.postgres, database)
    text = "\n".join(lines)
    print(text)
    if args.out:
        with args.out.open("a") as out:
            out.write(text + "\n")


if __name__ == "__main__":
    asyncio.run(main())
