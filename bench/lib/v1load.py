"""``v1load``, the C load generator for the ``parley.v1`` fan-out, built on demand and run.

The C source is ``bench/v1load/v1load.c`` (see its README for the options and the JSON it
prints). :func:`build` compiles it once per version of the source, into
``bench/.work/v1load/<hash>/`` (git-ignored); :func:`run` runs it pinned to one CPU and returns
the JSON object of its last line. :func:`stored_messages` and :func:`history_problems` check
a run against what the server stored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lib.loadgen import compile_c, run_pinned, timeout_flag

BENCH = Path(__file__).resolve().parent.parent
SOURCE = BENCH / "v1load" / "v1load.c"
CACHE = BENCH / ".work" / "v1load"
CFLAGS = ("-O2", "-Wall", "-Wextra")

#: Exit codes after which v1load has printed its JSON line: finished, sender not ready,
#: hard timeout (``--timeout``) or interrupted.
REPORTED = (0, 1, 3)


def build(cache: Path = CACHE) -> Path:
    """The ``v1load`` binary for the current source, compiling it first if needed."""
    return compile_c(SOURCE, "v1load", CFLAGS, cache)


async def run(
    args: list[str],
    *,
    cpu: int = 1,
    # Not asyncio.timeout: past it v1load gets SIGTERM, to still print what it measured.
    timeout: float | None = None,  # noqa: ASYNC109
) -> dict[str, Any]:
    """Run ``taskset -c cpu v1load *args`` and return its JSON result (see :func:`run_pinned`).

    ``timeout`` (default: v1load's own ``--timeout`` plus 30 s) bounds the whole run; past
    it v1load gets SIGTERM, which makes it print what it measured, then SIGKILL. Raises
    :class:`RuntimeError` when no JSON result was printed (a usage error, a crash).
    """
    limit = timeout if timeout is not None else timeout_flag(args) + 30.0
    return await run_pinned(build(), args, cpu=cpu, limit=limit, reported=REPORTED)


async def stored_messages(port: int, token: str, room: str = "lobby") -> list[tuple[str, str]]:
    """``(cid, text)`` of every message event stored in ``room``, in seq order, read back with
    the ``history`` command (100 events a page, newest first)."""
    from parley.client.client import Client  # only this check needs the server's package

    pages: list[list[tuple[str, str]]] = []
    async with Client(
        f"ws://127.0.0.1:{port}/ws", token=token, reconnect=False, receive_events=False
    ) as client:
        before: int | None = None
        for _ in range(10_000_000):  # bounded; ends at the room's first event
            reply = await client.history(room, before=before, limit=100)
            pages.append([(e.cid or "", e.text or "") for e in reply.events if e.kind == "message"])
            if not reply.more or not reply.events:
                break
            before = reply.events[0].seq
    return [message for page in reversed(pages) for message in page]


def history_problems(result: dict[str, Any], stored: list[tuple[str, str]]) -> list[str]:
    """What is wrong with the stored messages of a v1load run: every message sent must be
    stored exactly once, in the order sent, with its text intact (found by the run's cid
    prefix, so earlier runs against the same server do not count)."""
    prefix = f"{result['run_id']}-"
    mine = [(cid, text) for cid, text in stored if cid.startswith(prefix)]
    problems = []
    if len(mine) != result["msgs_sent"]:
        problems.append(f"{len(mine)} messages stored, {result['msgs_sent']} sent")
    seqs = [int(cid.removeprefix(prefix)) for cid, _ in mine]
    if seqs != list(range(len(seqs))):
        problems.append("the stored messages are not seq 0, 1, 2, ... in order")
    bad = [cid for cid, text in mine if not text.startswith(f"seq={cid.removeprefix(prefix)} ")]
    if bad:
        problems.append(f"{len(bad)} stored texts do not match their cid (first: {bad[0]})")
    short = [cid for cid, text in mine if len(text) < result["size"]]
    if short:
        problems.append(f"{len(short)} stored texts shorter than -s {result['size']}")
    return problems
