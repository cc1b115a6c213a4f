"""``wsload``, the external WebSocket load generator, compiled from its source and run.

wsload is not Parley's: it is a shared tool (one C file, epoll, libc only) used to measure
Parley *and* the tutorial's Node servers with the same client, so neither side gets a load
generator written for it. Its source is therefore never copied into this repository: it is
compiled at run time from ``<repo>/../shared/tools/wsload/wsload.c`` (or ``--wsload-source`` /
``$PARLEY_WSLOAD_SOURCE``) into ``bench/.work/wsload/<hash>/`` (git-ignored), once per version
of the source. See that directory's README for its modes, options and JSON output.

:func:`run` runs it pinned to one CPU and returns the JSON object of its last line.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lib.loadgen import compile_c, run_pinned, timeout_flag

BENCH = Path(__file__).resolve().parent.parent
REPO = BENCH.parent
DEFAULT_SOURCE = REPO.parent / "shared" / "tools" / "wsload" / "wsload.c"
SOURCE_ENV = "PARLEY_WSLOAD_SOURCE"
CACHE = BENCH / ".work" / "wsload"
CFLAGS = ("-O2", "-Wall")

#: Exit codes after which wsload has printed its JSON line: finished, hard timeout.
REPORTED = (0, 3)


class WsloadMissing(RuntimeError):
    """The wsload source is not where it was looked for (one line, for the user)."""


def source_path(explicit: str | Path | None = None) -> Path:
    """Where the source is: the explicit path, else ``$PARLEY_WSLOAD_SOURCE``, else the default
    next to this repository. Raises :class:`WsloadMissing` when that file does not exist."""
    chosen = explicit or os.environ.get(SOURCE_ENV) or DEFAULT_SOURCE
    path = Path(chosen).expanduser().resolve()
    if not path.is_file():
        raise WsloadMissing(
            f"wsload source not found at {path}: pass --wsload-source PATH or set {SOURCE_ENV}"
        )
    return path


def build(source: Path, cache: Path = CACHE) -> Path:
    """The ``wsload`` binary for this source, compiling it first if needed (``cc -O2 -Wall``)."""
    return compile_c(source, "wsload", CFLAGS, cache)


async def run(
    binary: Path,
    args: list[str],
    *,
    cpu: int = 1,
    # Not asyncio.timeout: past it wsload gets SIGTERM first, then SIGKILL.
    timeout: float | None = None,  # noqa: ASYNC109
    on_spawn: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Run ``taskset -c cpu wsload *args`` and return its JSON result.

    Added keys: ``exit_code``; ``spawned_at`` and ``ended_at`` (``time.monotonic()`` when the
    process was started and when it was seen to end), so that a caller sampling CPU can place
    the send phase (``open_all_s``, the settle time, ``span_s``) on its own clock. ``on_spawn``
    gets the process id (``taskset`` execs, so it is wsload's own) right after the start.

    ``timeout`` (default: wsload's own ``--timeout`` plus 30 s) bounds the whole run. Raises
    :class:`RuntimeError` when no JSON result was printed (a usage error, a crash, a kill).
    """
    limit = timeout if timeout is not None else timeout_flag(args) + 30.0
    return await run_pinned(
        binary, args, cpu=cpu, limit=limit, reported=REPORTED, on_spawn=on_spawn
    )
