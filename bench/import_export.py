"""Import and export of a big history: time, rate and peak memory of ``parley import`` and
``parley export`` as the operator runs them (separate processes, a SQLite file).

1. Writes a Slack-like export of ``--messages`` messages (the tests' generator,
   tests/helpers/slack_export.py, scaled: 3 channels, ``--per-day`` messages per day file,
   with threads, edits, files, mentions, joins and bots) in a scratch folder.
2. ``parley import --from slack`` into a new database, then ``parley export`` of it, then
   ``parley import`` of that export into another new database, each timed, with the process's
   resident memory (``VmRSS`` in ``/proc/PID/status``) sampled every 50 ms: the peak is
   what the claim "memory independent of size" is about, so ``--small`` runs the same at a
   tenth of the size for comparison.

``--from mattermost`` does the same from a Mattermost bulk export (the zip of
``mmctl export create``: tests/helpers/mattermost_export.py, scaled: 4 channels of two teams,
posts listed in random order, a thread of 3 replies on every third post, reactions on every
second, edits, direct and group messages, two attachments per channel), so the import's sort
by time (a temporary SQLite database on disk) is in what is measured.

Bounded: one process at a time, on local files, for as long as the rows take; nothing listens.
Run from the repository root: ``.venv/bin/python bench/import_export.py`` (the scratch folder
is ``bench/.work/import/``, emptied first; ``--keep`` leaves it).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # tests.helpers

from tests.helpers.mattermost_export import CHANNELS as MATTERMOST_CHANNELS  # noqa: E402
from tests.helpers.mattermost_export import write_mattermost_export  # noqa: E402
from tests.helpers.slack_export import write_slack_export  # noqa: E402

CHANNELS = 3


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def timed(args: list[str]) -> tuple[float, int, str]:
    """Run ``parley ARGS``; return seconds, peak RSS (KiB), and its standard error."""
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "parley", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = 0
    while process.poll() is None:
        peak = max(peak, rss_kib(process.pid))
        time.sleep(0.05)
    elapsed = time.monotonic() - started
    errors = process.stderr.read() if process.stderr else ""
    if process.returncode != 0:
        raise SystemExit(f"parley {' '.join(args)} failed:\n{errors}")
    return elapsed, peak, errors


def measure(folder: Path, messages: int, per_day: int, source: str) -> list[str]:
    folder.mkdir(parents=True)
    started = time.monotonic()
    if source == "slack":
        days = max(1, messages // (CHANNELS * per_day))
        zipped = folder / "slack.zip"
        write_slack_export(zipped, days=days, per_day=per_day, expect=False)
        total = days * per_day * CHANNELS
        title = f"{total:,} Slack messages ({CHANNELS} channels x {days} days x {per_day})"
    else:
        # A post has a reply on average (3 on every third): two messages a post.
        posts = max(1, messages // (2 * len(MATTERMOST_CHANNELS)))
        zipped = folder / "mattermost.zip"
        write_mattermost_export(zipped, posts=posts, expect=False)
        total = 2 * posts * len(MATTERMOST_CHANNELS)
        title = (
            f"about {total:,} Mattermost messages ({len(MATTERMOST_CHANNELS)} channels x"
            f" {posts} posts, with their replies)"
        )
    made = time.monotonic() - started
    lines = [
        f"## {title}",
        f"generated in {made:.1f} s: {zipped.stat().st_size / 2**20:.1f} MiB zip",
    ]
    db1, db2, dump = folder / "one.db", folder / "two.db", folder / "export.jsonl"
    steps = [
        (f"import --from {source}", ["import", "--from", source, str(zipped), "--db", str(db1)]),
        ("export", ["export", "--db", str(db1), "-o", str(dump), "--quiet"]),
        ("import (Parley export)", ["import", str(dump), "--db", str(db2), "--quiet"]),
    ]
    for what, args in steps:
        seconds, peak, errors = timed(args)
        summary = [line for line in errors.splitlines() if line.startswith(f"{source}: ")][:1]
        lines.append(
            f"{what:24} {seconds:7.1f} s  {total / seconds:9,.0f} messages/s"
            f"  peak RSS {peak / 1024:6.1f} MiB"
        )
        lines += [f"    {line}" for line in summary]
    lines.append(
        f"export file {dump.stat().st_size / 2**20:.1f} MiB; database"
        f" {db1.stat().st_size / 2**20:.1f} MiB"
    )
    same = (
        subprocess.run(
            [sys.executable, "-m", "parley", "export", "--db", str(db2), "--quiet"],
            capture_output=True,
            check=True,
        ).stdout
        == dump.read_bytes()
    )
    lines.append(f"export of the re-imported database identical: {same}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--per-day", type=int, default=1000)
    parser.add_argument("--small", action="store_true", help="also a tenth of the size")
    parser.add_argument("--keep", action="store_true", help="keep bench/.work/import/")
    parser.add_argument("--from", dest="source", choices=["slack", "mattermost"], default="slack")
    args = parser.parse_args()
    work = REPO / "bench" / ".work" / "import"
    shutil.rmtree(work, ignore_errors=True)
    print(f"load average at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    sizes = [args.messages // 10, args.messages] if args.small else [args.messages]
    try:
        for size in sizes:
            for line in measure(work / str(size), size, args.per_day, args.source):
                print(line, flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
