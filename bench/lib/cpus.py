"""How busy each CPU core is, from ``/proc/stat``: to see the load nobody asked for.

This machine is shared: other people's test suites (browsers, servers) run on the same two
cores. Every figure is therefore reported next to the load *other* processes put on the
server's and the load generator's cores during the window, and a run can first wait for the
machine to calm down (:func:`wait_for_quiet`).

Softirq time is left out of "busy": on loopback it is mostly the kernel moving the
benchmark's own packets, which is part of what is measured, not noise.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CoreTimes:
    """Cumulative ticks of one core: all of them, and those spent busy (softirq excluded)."""

    total: int
    busy: int


def core_times() -> dict[int, CoreTimes]:
    """Every core's cumulative ticks so far."""
    cores: dict[int, CoreTimes] = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *fields = line.split()
        if not name.startswith("cpu") or name == "cpu":
            continue
        ticks = [int(f) for f in fields]
        # user nice system idle iowait irq softirq steal guest guest_nice; guest time is
        # already counted in user, so only the first eight add up to the total.
        total = sum(ticks[:8])
        idle = ticks[3] + ticks[4]
        softirq = ticks[6]
        cores[int(name[3:])] = CoreTimes(total, total - idle - softirq)
    return cores


def busy_shares(before: dict[int, CoreTimes], after: dict[int, CoreTimes]) -> dict[int, float]:
    """The share of each core that was busy between two :func:`core_times` snapshots."""
    shares = {}
    for core, end in after.items():
        start = before.get(core)
        if start is not None and end.total > start.total:
            shares[core] = (end.busy - start.busy) / (end.total - start.total)
    return shares


async def wait_for_quiet(
    cores: Iterable[int], *, threshold: float, patience: float, sample: float = 1.0
) -> tuple[bool, dict[int, float]]:
    """Wait until every core in ``cores`` is below ``threshold`` busy over one ``sample``.

    Gives up after ``patience`` seconds. Returns whether it got quiet, and the last shares.
    """
    wanted = list(cores)
    deadline = time.monotonic() + patience
    shares: dict[int, float] = {}
    for _ in range(int(patience / sample) + 1):
        before = core_times()
        await asyncio.sleep(sample)
        shares = busy_shares(before, core_times())
        if all(shares.get(core, 1.0) < threshold for core in wanted):
            return True, shares
        if time.monotonic() >= deadline:
            break
    return False, shares
