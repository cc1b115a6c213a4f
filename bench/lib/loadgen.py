"""The C load generators (wsload, v1load): compiled on demand, cached by source and flags, and
run pinned to one CPU with a hard time limit, returning the JSON object of their last line."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


def compile_c(source: Path, name: str, cflags: Sequence[str], cache: Path) -> Path:
    """The binary ``name`` built from ``source`` with ``cflags``, compiling it if needed.

    The cache key is the source's and the flags' digest, so an edited source is rebuilt; the
    binary appears atomically, so a concurrent build never runs half a file.
    """
    digest = hashlib.sha256(source.read_bytes() + " ".join(cflags).encode()).hexdigest()[:16]
    binary = cache / digest / name
    if binary.exists():
        return binary
    compiler = os.environ.get("CC") or shutil.which("cc")
    if compiler is None:
        raise RuntimeError(f"no C compiler: install one (cc) to build {name}")
    binary.parent.mkdir(parents=True, exist_ok=True)
    partial = binary.with_name(f"{name}.{os.getpid()}.tmp")
    done = subprocess.run(
        [compiler, *cflags, "-o", str(partial), str(source)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        raise RuntimeError(f"building {name} from {source} failed:\n{done.stderr}")
    partial.replace(binary)
    return binary


def timeout_flag(args: Sequence[str], default: float = 60.0) -> float:
    """The ``--timeout`` a load generator was given (both use 60 s by default)."""
    for i, arg in enumerate(args):
        if arg == "--timeout" and i + 1 < len(args):
            return float(args[i + 1])
        if arg.startswith("--timeout="):
            return float(arg.split("=", 1)[1])
    return default


async def run_pinned(
    binary: Path,
    args: Sequence[str],
    *,
    cpu: int,
    limit: float,
    reported: Sequence[int],
    on_spawn: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Run ``taskset -c cpu binary *args`` and return the JSON object of its last output line.

    Past ``limit`` seconds the generator gets SIGTERM (both print what they measured on it),
    then SIGKILL; when cancelled it is killed, so no load generator outlives its run.
    ``reported`` are the exit codes after which a result line was printed. Added keys:
    ``exit_code``; ``spawned_at`` and ``ended_at`` (``time.monotonic()`` at the start and when
    the end was seen), so a caller sampling CPU can place the send phase on its own clock.
    ``on_spawn`` gets the process id (``taskset`` execs, so it is the generator's own).
    Raises :class:`RuntimeError` when no JSON result was printed (a usage error, a crash).
    """
    spawned_at = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        "taskset",
        "-c",
        str(cpu),
        str(binary),
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    if on_spawn is not None:
        on_spawn(proc.pid)
    try:
        stdout, stderr = await asyncio.wait_for(proc.communicate(), limit)
    except TimeoutError:
        proc.terminate()
        try:
            stdout, stderr = await asyncio.wait_for(proc.communicate(), 10.0)
        except TimeoutError:
            proc.kill()
            stdout, stderr = await proc.communicate()
    except BaseException:  # cancelled: leave no load generator behind
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        raise
    ended_at = time.monotonic()
    lines = [line for line in stdout.decode(errors="replace").splitlines() if line.strip()]
    result: dict[str, Any] | None = None
    if lines and proc.returncode in reported:
        with contextlib.suppress(json.JSONDecodeError):
            parsed = json.loads(lines[-1])
            if isinstance(parsed, dict):
                result = parsed
    if result is None:
        raise RuntimeError(
            f"{binary.name} {' '.join(args)} exited with {proc.returncode} and no result:\n"
            f"{stderr.decode(errors='replace')}{stdout.decode(errors='replace')[-2000:]}"
        )
    result["exit_code"] = proc.returncode
    result["spawned_at"] = spawned_at
    result["ended_at"] = ended_at
    return result
