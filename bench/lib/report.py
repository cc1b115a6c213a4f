"""Numbers into text: percentiles, medians, markdown tables, and the facts about the machine.

A figure is only worth something next to how it was obtained, so every report carries the
exact command, the machine and the revision measured.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import platform
import shlex
import sqlite3
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values (0 when there are none)."""
    if not ordered:
        return 0.0
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A markdown table, columns padded so that it also reads well as plain text."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def _run(argv: list[str], cwd: Path) -> str:
    try:
        done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return done.stdout.strip() if done.returncode == 0 else "?"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def _version(package: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def source_digest(repo: Path) -> str:
    """A short hash of every file under ``src/``: names the code measured when it is not a
    commit (other people edit the working tree while benchmarks run)."""
    digest = hashlib.sha256()
    for path in sorted((repo / "src").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(repo)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def machine_info(repo: Path) -> list[tuple[str, str]]:
    """What the reader needs to judge a figure: machine, software, revision, command."""
    revision = _run(["git", "rev-parse", "--short", "HEAD"], repo)
    dirty = _run(["git", "--no-optional-locks", "status", "--porcelain", "-uno", "--", "src"], repo)
    if dirty and dirty != "?":
        revision += f" + uncommitted changes in src/ (content digest {source_digest(repo)})"
    # The interpreter as the reader would type it: relative to the repository when it is
    # there (results are committed, and name no path of the machine that made them).
    interpreter = Path(sys.executable)
    with contextlib.suppress(ValueError):
        interpreter = interpreter.relative_to(repo)
    command = " ".join(shlex.quote(str(arg)) for arg in [interpreter, *sys.argv])
    return [
        ("command", f"`{command}`"),
        ("parley revision", revision),
        ("nproc", str(os.cpu_count())),
        ("cpu", _cpu_model()),
        ("kernel", platform.release()),
        ("python", platform.python_version()),
        ("uvloop", _version("uvloop")),
        ("msgspec", _version("msgspec")),
        ("SQLite", sqlite3.sqlite_version),
    ]


def filesystem_of(path: Path) -> str:
    """The file system type holding ``path`` (``tmpfs`` would make fsync free, and the
    commit figures meaningless)."""
    best, kind = "", "?"
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return kind
    target = str(path.resolve())
    for line in mounts:
        fields = line.split()
        if len(fields) >= 3 and target.startswith(fields[1]) and len(fields[1]) > len(best):
            best, kind = fields[1], f"{fields[2]} ({fields[0]} on {fields[1]})"
    return kind
