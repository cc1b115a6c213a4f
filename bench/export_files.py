"""Files through ``parley export`` / ``parley import``: peak memory against a file's size.

The claim (docs/architecture.md, "Export format"): a file's bytes are streamed, one 512 KiB
piece per line, so the processes' memory does not grow with the size of a file. For each
``--sizes`` (MiB), a SQLite database with one message carrying one file of that size (random
bytes: nothing compresses) is made, then ``parley export`` of it and ``parley import`` of that
export into another new database run as the operator runs them (separate processes), each
timed with its peak resident memory (``import_export.py``'s sampling, every 50 ms); the
re-imported database's export is compared byte for byte with the first.

Bounded: one process at a time, on local files (at most a few times the largest size on
disk, in ``bench/.work/files/``, emptied first and removed after unless ``--keep``); nothing
listens. Run from the repository root: ``.venv/bin/python bench/export_files.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.import_export import timed  # noqa: E402

from parley.backends import open_blobs  # noqa: E402
from parley.model import FileRef, RoomKind, Upload  # noqa: E402
from parley.store.sqlite import SQLiteStore  # noqa: E402

MIB = 1 << 20


async def make(db: Path, size: int) -> None:
    """A database whose one message carries one file of ``size`` random bytes."""
    store = SQLiteStore(db)
    blobs = open_blobs(db, None)
    await store.start()
    await blobs.start()
    try:
        alice = await store.create_user("alice", "x")
        room, _ = await store.create_room("files", RoomKind.PUBLIC, creator_id=alice.id)
        spool = blobs.spool_file()
        digest = hashlib.sha256()
        with spool.open("wb") as out:
            for _ in range(size // MIB):
                piece = os.urandom(MIB)
                digest.update(piece)
                out.write(piece)
        await blobs.put(digest.hexdigest(), spool)
        spool.unlink(missing_ok=True)
        ref = FileRef(id="A" * 22, name="big.bin", type="application/octet-stream", size=size)
        await store.add_upload(
            Upload(ref, alice.id, digest.hexdigest(), None, False, 0, None, None), quota=size
        )
        await store.post_message(room.id, alice.id, alice.name, "", "c1", files=(ref.id,))
    finally:
        await blobs.close()
        await store.close()


def measure(folder: Path, mib: int) -> list[str]:
    folder.mkdir(parents=True)
    one, two, dump = folder / "one.db", folder / "two.db", folder / "export.jsonl"
    asyncio.run(make(one, mib * MIB))
    lines = [f"## one file of {mib} MiB"]
    for what, args in (
        ("export", ["export", "--db", str(one), "-o", str(dump), "--quiet"]),
        ("import", ["import", str(dump), "--db", str(two), "--quiet"]),
    ):
        seconds, peak, _ = timed(args)
        lines.append(
            f"{what:8} {seconds:6.1f} s  {mib / seconds:7.1f} MiB/s"
            f"  peak RSS {peak / 1024:6.1f} MiB"
        )
    again = subprocess.run(
        [sys.executable, "-m", "parley", "export", "--db", str(two), "--quiet"],
        capture_output=True,
        check=True,
    ).stdout
    lines.append(
        f"export file {dump.stat().st_size / MIB:.1f} MiB;"
        f" export of the re-imported database identical: {again == dump.read_bytes()}"
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 256])
    parser.add_argument("--keep", action="store_true", help="keep bench/.work/files/")
    args = parser.parse_args()
    work = REPO / "bench" / ".work" / "files"
    shutil.rmtree(work, ignore_errors=True)
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    try:
        for mib in args.sizes:
            for line in measure(work / str(mib), mib):
                print(line, flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
