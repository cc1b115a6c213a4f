"""Parley against the tutorial's Node servers: the headline benchmark of issue #7.

Parley grew from a tutorial whose servers are ``tutorial/index.js`` (echo) and
``tutorial/app.js`` (broadcast), both on the ``ws`` package. Issue #7 states Parley's speed as
ratios against those seed servers *measured in the same run, on the same machine, with the
same load generator*, because absolute figures on a shared 2-core VM mean little from one day
to the next. This script runs the seven scenarios of the issue and writes one report:

1. ``parley serve`` plain-text fan-out to 1,000 receivers (window 16): ≥ 3x Node app.js.
2. ``parley serve`` ``parley.v1`` fan-out (signed in, JSON, stored): ≥ 2x Node app.js.
3. 100 msg/s to 1,000 receivers, both modes: p99 delivery latency ≤ 10 ms.
4. ``parley echo``: ≥ 1.0x Node index.js round trips/s.
5. Memory per idle connection: ≤ 12 KiB plain text, ≤ 16 KiB ``parley.v1``.
6. 20,000 concurrent connections all receiving a broadcast with no loss (as many as this
   machine's per-process open-file limit allows, which is fewer: the report says why).
7. Acked, persisted sends with 100 senders: ≥ 10,000/s, p99 send → ack ≤ 20 ms at half that.

How it keeps the comparison fair:

* **One external load generator for both sides.** ``wsload`` (a shared C tool, compiled here
  from its source, see ``lib/wsload.py``) drives Node and Parley alike; ``v1load``
  (``bench/v1load``) speaks ``parley.v1``, which has no Node counterpart; scenario 7 reuses
  ``send_ack.py``. Python load generators would measure themselves at these rates.
* **Pinned cores.** The server runs on core 0 (``taskset``, every thread), the load generator
  on core 1, over loopback. This process also pins itself to core 1: it mostly sleeps.
* **Alternation.** Each scenario's servers take turns (Node, Parley, Node, Parley, ...), each
  run on a fresh process (and a fresh database for Parley), so a slow spell of the shared
  machine hits both sides rather than one. Medians over ``--runs`` runs are compared.
* **The machine is watched.** Before each run it waits (bounded) for other processes to leave
  both cores nearly idle, and it reports their load during the measured window, the load
  generator's CPU (a generator near its core's limit makes the figure a lower bound) and the
  server's.

Every subprocess is bounded by a timeout, and every server is stopped in ``finally``, also on
Ctrl+C or SIGTERM (the runs completed are still reported).

Run from the repository root: ``.venv/bin/python bench/compare.py`` (``--quick`` for a short
look while developing; ``--only 1,4`` for some scenarios).
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import datetime
import hashlib
import json
import os
import resource
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import send_ack
from lib import node, v1load, wsload
from lib.cpus import CoreTimes, core_times, wait_for_quiet
from lib.report import machine_info, median, percentile, table
from lib.server import CLOCK_TICKS, FAST_SIGNUP_ENV, ParleyServer, unlimited_flags
from lib.server import stop_all as stop_parley_servers

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
SERVER_CPU = 0
CLIENT_CPU = 1
#: A load generator above this share of its core may be what limits the figure.
GEN_BOUND = 0.60
#: A server process above this share of its core is saturated: it is the limit.
SATURATED = 0.95
#: Other processes above this share of a core during a run's window: the run was disturbed.
DISTURBED = 0.10
#: Message size of the fan-out scenarios (issue #7: ``-s 100``).
FANOUT_SIZE = 100
#: wsload's pause between "everything connected" and the first send (its default).
SETTLE_S = 1.0
#: Handshakes in flight at once. Parley listens with a backlog of 128: with more in flight,
#: SYNs are dropped and retried a second later, which only slows the set-up down.
CONNECT_CONCURRENCY = 100
#: Descriptors left free in the server for what it opens besides sockets (SQLite files, the
#: log, pipes) when sizing scenario 6; the count is then rounded down to a multiple of 100.
SERVER_FD_MARGIN = 50
#: Descriptors wsload keeps for itself (it refuses to start with fewer than conns + 16).
WSLOAD_FD_RESERVE = 16
#: The ``parley.v1`` hello that makes an idle connection a fully started session.
RESUME_HELLO = '{"type":"resume","rooms":{}}'
#: Scenario 6's note on how its connection count was chosen (shown once, not per run).
SIZING = "sizing: "


# -- settings ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """Sizes and durations of every scenario: the issue's, or short ones for ``--quick``."""

    runs: int
    quick: bool = False
    receivers: int = 1000
    window: int = 16
    window_msgs: int = 5000
    rate: float = 100.0
    rate_duration: float = 10.0
    echo_conns: int = 50
    echo_size: int = 32
    echo_duration: float = 10.0
    echo_warmup: float = 2.0
    idle_conns: int = 10_000
    hold: float = 10.0
    #: Scenario 6's receivers; ``None``: as many as the open-file limits allow.
    big_receivers: int | None = None
    big_msgs: int = 5
    ack_senders: int = 100
    ack_duration: float = 10.0
    ack_warmup: float = 2.0
    quiet_below: float = 0.15
    quiet_patience: float = 60.0


def quick_settings(runs: int) -> Settings:
    """Short runs for development: minutes, not the full half hour. Not for quoting."""
    return Settings(
        runs=runs,
        quick=True,
        window_msgs=500,
        rate_duration=3.0,
        echo_duration=3.0,
        echo_warmup=1.0,
        idle_conns=2000,
        hold=3.0,
        big_receivers=5000,
        big_msgs=2,
        ack_duration=3.0,
        ack_warmup=1.0,
        quiet_patience=10.0,
    )


# -- what is measured --------------------------------------------------------------------------


@dataclass(frozen=True)
class Measurement:
    """One server under one load; a scenario compares two or three of them."""

    key: str
    label: str  #: the row label in the tables
    server: str  #: node-broadcast | node-echo | parley-serve | parley-echo | send-ack
    load: str  #: window | rate | echo | idle | big | ack
    protocol: str = "plain"  #: plain (any text) | v1 (signed-in parley.v1 JSON)


MEASUREMENTS = {
    m.key: m
    for m in (
        Measurement("node-window", "Node app.js", "node-broadcast", "window"),
        Measurement("plain-window", "Parley plain text", "parley-serve", "window"),
        Measurement("v1-window", "Parley parley.v1", "parley-serve", "window", "v1"),
        Measurement("node-rate", "Node app.js", "node-broadcast", "rate"),
        Measurement("plain-rate", "Parley plain text", "parley-serve", "rate"),
        Measurement("v1-rate", "Parley parley.v1", "parley-serve", "rate", "v1"),
        Measurement("node-echo", "Node index.js", "node-echo", "echo"),
        Measurement("parley-echo", "parley echo", "parley-echo", "echo"),
        Measurement("node-idle", "Node app.js", "node-broadcast", "idle"),
        Measurement("plain-idle", "Parley plain text", "parley-serve", "idle"),
        Measurement("v1-idle", "Parley parley.v1", "parley-serve", "idle", "v1"),
        Measurement("node-big", "Node app.js", "node-broadcast", "big"),
        Measurement("plain-big", "Parley plain text", "parley-serve", "big"),
        Measurement("ack-shared", "shared room", "send-ack", "ack", "v1"),
        Measurement("ack-separate", "separate rooms", "send-ack", "ack", "v1"),
    )
}

#: Phases in the order they run; within a phase, rounds alternate the servers.
PHASES = ("window", "rate", "echo", "idle", "big", "ack")


@dataclass(frozen=True)
class Scenario:
    number: int
    title: str
    keys: tuple[str, ...]  #: Node's first when there is a Node counterpart
    target: str


SCENARIOS = {
    s.number: s
    for s in (
        Scenario(
            1,
            "fan-out, plain text, 1,000 receivers (window 16)",
            ("node-window", "plain-window"),
            "≥ 3x Node app.js deliveries/s (aim 5x)",
        ),
        Scenario(
            2,
            "fan-out, parley.v1 (signed in, JSON events, stored), 1,000 receivers (window 16)",
            ("node-window", "v1-window"),
            "≥ 2x Node app.js deliveries/s",
        ),
        Scenario(
            3,
            "100 messages/s to 1,000 receivers: delivery latency",
            ("node-rate", "plain-rate", "v1-rate"),
            "p99 ≤ 10 ms in both Parley modes (Node for reference)",
        ),
        Scenario(4, "echo, 50 connections", ("node-echo", "parley-echo"), "≥ 1.0x Node index.js"),
        Scenario(
            5,
            "memory per idle connection",
            ("node-idle", "plain-idle", "v1-idle"),
            "≤ 12 KiB plain text, ≤ 16 KiB parley.v1 (Node for reference)",
        ),
        Scenario(
            6,
            "20,000 concurrent connections receiving a broadcast",
            ("node-big", "plain-big"),
            "every connection receives every message (missing 0)",
        ),
        Scenario(
            7,
            "acked, persisted sends, 100 senders (send_ack.py)",
            ("ack-shared", "ack-separate"),
            "≥ 10,000 acked sends/s; p99 send → ack ≤ 20 ms at half the closed-loop rate",
        ),
    )
}


@dataclass
class Run:
    """One measurement on one fresh server: its figures, and what makes them doubtful."""

    key: str
    index: int
    started: str = ""
    figures: dict[str, float] = field(default_factory=dict)
    #: The figures are not valid (lost messages, failed connections, a crash, ...).
    problems: list[str] = field(default_factory=list)
    #: Worth knowing, not disqualifying (a busy machine at the start, server log lines).
    notes: list[str] = field(default_factory=list)
    generator: str = ""  #: the load generator's command, with $PORT / $PID / $TOKEN
    server: str = ""  #: the server's command
    raw: dict[str, Any] = field(default_factory=dict)  #: the load generator's JSON

    @property
    def valid(self) -> bool:
        return not self.problems

    @property
    def measurement(self) -> Measurement:
        return MEASUREMENTS[self.key]


@dataclass
class Context:
    """What every run needs, prepared once."""

    settings: Settings
    wsload_source: Path
    wsload_bin: Path
    v1load_bin: Path
    node_modules: Path
    parley_flags: list[str]
    facts: list[tuple[str, str]] = field(default_factory=list)


# -- CPU seen from outside ---------------------------------------------------------------------


def process_cpu(pid: int) -> float | None:
    """CPU seconds (user + system, every thread, exited ones included) of a process so far."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _at(series: Sequence[tuple[float, float]], t: float) -> float | None:
    """A cumulative series' value at time ``t``, linearly interpolated, clamped at its ends."""
    if not series:
        return None
    times = [s[0] for s in series]
    i = bisect.bisect_left(times, t)
    if i == 0:
        return series[0][1]
    if i >= len(series):
        return series[-1][1]
    (t0, v0), (t1, v1) = series[i - 1], series[i]
    return v0 + (v1 - v0) * (t - t0) / (t1 - t0) if t1 > t0 else v1


class CpuTrace:
    """Samples, every ``interval`` seconds, the CPU time of the watched processes and of each
    core, so that the share of a core used during any window can be read afterwards.

    The load generators do not say when their send phase started on *our* clock, but they
    report how long connecting and sending took: the window is placed from those, and the
    generator's and the server's CPU, and other processes' load, are read over it. The
    kernel counts process time in 10 ms ticks: over a window of a second that is ±2 %.
    """

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.pids: dict[str, int] = {}
        self.series: dict[str, list[tuple[float, float]]] = {}
        self.cores: list[tuple[float, dict[int, CoreTimes]]] = []
        self._task: asyncio.Task[None] | None = None

    def watch(self, name: str, pid: int) -> None:
        self.pids[name] = pid
        self.series.setdefault(name, [])
        self.sample()

    def sample(self) -> None:
        now = time.monotonic()
        for name, pid in self.pids.items():
            cpu = process_cpu(pid)
            if cpu is not None:
                self.series[name].append((now, cpu))
        self.cores.append((now, core_times()))

    async def _loop(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(self.interval)

    async def __aenter__(self) -> CpuTrace:
        self._task = asyncio.ensure_future(self._loop())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.sample()

    def share(self, name: str, t0: float, t1: float) -> float | None:
        """The share of one core the process ``name`` used between ``t0`` and ``t1``."""
        series = self.series.get(name, [])
        start, end = _at(series, t0), _at(series, t1)
        if start is None or end is None or t1 <= t0:
            return None
        return (end - start) / (t1 - t0)

    def core_busy(self, core: int, t0: float, t1: float) -> float | None:
        """The share of ``core`` that was busy (softirq left out, as in ``lib.cpus``)."""
        busy = [(t, c[core].busy) for t, c in self.cores if core in c]
        total = [(t, c[core].total) for t, c in self.cores if core in c]
        b0, b1, n0, n1 = _at(busy, t0), _at(busy, t1), _at(total, t0), _at(total, t1)
        if None in (b0, b1, n0, n1) or n1 == n0:  # type: ignore[operator]
            return None
        return (b1 - b0) / (n1 - n0)  # type: ignore[operator]


def cpu_figures(
    trace: CpuTrace, t0: float, t1: float, gen_share: float | None = None
) -> dict[str, float]:
    """The load generator's and the server's CPU over a window, and other processes' load on
    both cores (a core's busy share minus what the benchmark's own process used of it)."""
    figures: dict[str, float] = {}
    gen = gen_share if gen_share is not None else trace.share("gen", t0, t1)
    server = trace.share("server", t0, t1)
    if gen is not None:
        figures["gen_cpu"] = gen
    if server is not None:
        figures["server_cpu"] = server
    busy_server = trace.core_busy(SERVER_CPU, t0, t1)
    busy_client = trace.core_busy(CLIENT_CPU, t0, t1)
    if busy_server is not None and server is not None:
        figures["noise_server"] = max(0.0, busy_server - server)
    if busy_client is not None and gen is not None:
        figures["noise_gen"] = max(0.0, busy_client - gen)
    figures["window_s"] = t1 - t0
    return figures


# -- servers -----------------------------------------------------------------------------------

Server = ParleyServer | node.NodeServer


def make_server(ctx: Context, m: Measurement, workdir: Path) -> Server:
    """A fresh, not yet started server for one run (Parley's database goes in ``workdir``)."""
    if m.server == "node-broadcast":
        return node.NodeServer("broadcast", ctx.node_modules, cpu=SERVER_CPU)
    if m.server == "node-echo":
        return node.NodeServer("echo", ctx.node_modules, cpu=SERVER_CPU)
    if m.server == "parley-echo":
        return ParleyServer(workdir, cpu=SERVER_CPU, command="echo")
    return ParleyServer(workdir, cpu=SERVER_CPU, flags=ctx.parley_flags)


def server_command(server: Server) -> str:
    """How the server was started, for the report (the temporary paths shortened)."""
    if isinstance(server, node.NodeServer):
        return f"taskset -c {server.cpu} node {server.file}  (a copy of tutorial/{server.file})"
    argv = [a if a != str(server.db) else "<fresh tmp>/bench.db" for a in server.argv]
    argv = ["python" if a == sys.executable else a for a in argv]  # the venv's: see the facts
    env = " ".join(f"{k}={v}" for k, v in sorted(FAST_SIGNUP_ENV.items()))
    prefix = f"{env} " if server.command == "serve" else ""
    return prefix + shlex.join(argv)


def descriptors(pid: int) -> tuple[int, int]:
    """(soft limit on open files, descriptors open now) of a process."""
    limit = 0
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            limit = int(line.split()[3])
    return limit, len(os.listdir(f"/proc/{pid}/fd"))


def has_cap_sys_resource() -> bool:
    """Whether this process could raise its hard open-file limit (capability 24)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapEff:"):
            return bool(int(line.split()[1], 16) >> 24 & 1)
    return False


def big_receivers(ctx: Context, server: Server) -> tuple[int, str]:
    """Scenario 6's receiver count: what fits under both processes' open-file limits.

    The server needs one descriptor per connection (receivers + the sender) plus those it
    already holds; wsload needs one per connection plus 16. Rounded down to 100s.
    """
    limit, open_now = descriptors(server.pid)
    gen_limit = resource.getrlimit(resource.RLIMIT_NOFILE)[1]  # wsload raises soft to hard
    fits = min(limit - open_now - SERVER_FD_MARGIN, gen_limit - WSLOAD_FD_RESERVE) - 1
    receivers = fits // 100 * 100
    why = (
        f"server: {limit} open files allowed, {open_now} open before any connection; "
        f"wsload: {gen_limit} allowed, {WSLOAD_FD_RESERVE} kept for itself"
    )
    if ctx.settings.big_receivers is not None:
        receivers = min(receivers, ctx.settings.big_receivers)
    return receivers, why


# -- load generator arguments ------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """What a load generator is pointed at; shown with placeholders in the report."""

    port: str
    pid: str
    token: str
    hello: str
    receivers: str = ""


def wsload_args(ctx: Context, m: Measurement, t: Target) -> list[str]:
    """wsload's command line for a measurement: the issue's commands, plus a hard
    ``--timeout`` on every run and at most ``CONNECT_CONCURRENCY`` handshakes at once."""
    s = ctx.settings
    common = ["-p", t.port, "--connect-concurrency", str(CONNECT_CONCURRENCY), "--quiet"]
    size = ["-s", str(FANOUT_SIZE)]
    if m.load == "window":
        load = ["-n", str(s.receivers), "-m", str(s.window_msgs), *size, "-w", str(s.window)]
        return ["fanout", *load, "--timeout", "600", *common]
    if m.load == "rate":
        load = ["-n", str(s.receivers), "--rate", f"{s.rate:g}", "-d", f"{s.rate_duration:g}"]
        timeout = s.rate_duration + 120
        return ["fanout", *load, *size, "--timeout", f"{timeout:g}", *common]
    if m.load == "echo":
        load = ["-c", str(s.echo_conns), "-s", str(s.echo_size), "-d", f"{s.echo_duration:g}"]
        timeout = s.echo_duration + s.echo_warmup + 60
        load += ["--warmup", f"{s.echo_warmup:g}"]
        return ["echo", *load, "--timeout", f"{timeout:g}", *common]
    if m.load == "idle":
        load = ["-n", str(s.idle_conns), "--hold", f"{s.hold:g}", "--server-pid", t.pid]
        if m.protocol == "v1":
            load += ["--path", "/ws", "--subprotocol", "parley.v1"]
            load += ["--header", f"Authorization: Bearer {t.token}", "--hello", t.hello]
            load += ["--skip", "2"]  # welcome and resumed
        timeout = s.hold + 240
        load += ["--connect-timeout", "30000"]
        return ["connect", *load, "--timeout", f"{timeout:g}", *common]
    if m.load == "big":
        load = ["-n", t.receivers, "-m", str(s.big_msgs), "-w", "1", *size]
        return ["fanout", *load, "--connect-timeout", "30000", "--timeout", "400", *common]
    raise ValueError(f"wsload has no load {m.load!r}")


def v1load_args(ctx: Context, m: Measurement, t: Target) -> list[str]:
    """v1load's command line: the same window / rate loads as wsload's, in ``parley.v1``
    (one signed-in user, every connection a session of it, all in the lobby)."""
    s = ctx.settings
    common = ["-p", t.port, "--token", t.token, "--connect-concurrency", str(CONNECT_CONCURRENCY)]
    common += ["--quiet"]
    size = ["-s", str(FANOUT_SIZE)]
    if m.load == "window":
        load = ["-n", str(s.receivers), "-m", str(s.window_msgs), *size, "-w", str(s.window)]
        return [*load, "--timeout", "600", *common]
    if m.load == "rate":
        load = ["-n", str(s.receivers), "--rate", f"{s.rate:g}", "-d", f"{s.rate_duration:g}"]
        return [*load, *size, "--timeout", f"{s.rate_duration + 120:g}", *common]
    raise ValueError(f"v1load has no load {m.load!r}")


def shown(tool: str, args: Sequence[str]) -> str:
    """The command as the report shows it: placeholders (``$PORT``) left unquoted."""
    words = [a if a.startswith("$") else f'"{a}"' if "$" in a else shlex.quote(a) for a in args]
    return f"taskset -c {CLIENT_CPU} {tool} " + " ".join(words)


# -- checks ------------------------------------------------------------------------------------


def connection_problems(result: dict[str, Any], tool: str) -> list[str]:
    """What went wrong with the connections of a wsload or v1load run."""
    problems = []
    if result.get("timed_out"):
        problems.append(f"{tool} hit its hard --timeout")
    if result.get("interrupted"):
        problems.append(f"{tool} was interrupted")
    if result.get("failed"):
        problems.append(
            f"{result['failed']} connections failed (connect {result.get('connect_errors')}, "
            f"handshake {result.get('handshake_errors')}, timeout "
            f"{result.get('handshake_timeouts')}): {result.get('first_error')}"
        )
    if result.get("unopened"):
        problems.append(f"{result['unopened']} connections never opened")
    for key in ("dropped", "protocol_errors", "errors"):
        if result.get(key):
            problems.append(f"{key}: {result[key]} (first error: {result.get('first_error')})")
    return problems


def fanout_problems(result: dict[str, Any]) -> list[str]:
    """Every message must reach every receiver exactly once, in order."""
    problems = []
    if result.get("msgs_sent") != result.get("msgs_planned"):
        problems.append(f"sent {result.get('msgs_sent')} of {result.get('msgs_planned')} messages")
    for key in ("missing", "dup", "reordered", "foreign", "sender_lost"):
        if result.get(key):
            problems.append(f"{key}: {result[key]}")
    if result.get("drained"):
        problems.append("the run stalled (no progress for --drain ms)")
    return problems


# -- one run -----------------------------------------------------------------------------------


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


async def calm_down(ctx: Context, run: Run) -> None:
    """Wait (bounded) until other processes leave both cores nearly idle."""
    s = ctx.settings
    if s.quiet_patience <= 0:
        return
    quiet, shares = await wait_for_quiet(
        (SERVER_CPU, CLIENT_CPU), threshold=s.quiet_below, patience=s.quiet_patience
    )
    if not quiet:
        load = ", ".join(f"CPU {core} {shares.get(core, 0):.0%}" for core in sorted(shares))
        run.notes.append(f"started on a busy machine ({load})")


async def measure(ctx: Context, m: Measurement, index: int) -> Run:
    """One run of one measurement, on a fresh server (and database); the server is always
    stopped before this returns."""
    run = Run(m.key, index, started=datetime.datetime.now().strftime("%H:%M:%S"))
    if m.server == "send-ack":
        await measure_send_ack(ctx, m, run)
        return run
    with tempfile.TemporaryDirectory(prefix="parley-compare-") as tmp:
        workdir = Path(tmp)
        server = make_server(ctx, m, workdir)
        run.server = server_command(server)
        try:
            await server.start()
            if os.sched_getaffinity(server.pid) != {SERVER_CPU}:
                raise RuntimeError(f"the server runs on CPUs {os.sched_getaffinity(server.pid)}")
            token = ""
            if m.protocol == "v1":
                token = (await send_ack.register_users(server.port, 1))[0]
            await calm_down(ctx, run)
            if m.protocol == "v1" and m.load in ("window", "rate"):
                await run_v1load(ctx, m, run, server, token)
            else:
                await run_wsload(ctx, m, run, server, token, workdir)
            if not server.alive():
                run.problems.append("the server exited during the run")
        finally:
            alive = server.alive()
            server.stop()
            if isinstance(server, ParleyServer) and alive and server.returncode not in (0, None):
                run.problems.append(f"the server exited with {server.returncode} on SIGTERM")
            log = server.log_problems()
            if log:
                run.notes.append(f"{len(log)} server log lines worth a look, first: {log[0]}")
    return run


async def run_wsload(
    ctx: Context, m: Measurement, run: Run, server: Server, token: str, workdir: Path
) -> None:
    s = ctx.settings
    hello = workdir / "hello.txt"
    hello.write_text(RESUME_HELLO + "\n")
    receivers = ""
    if m.load == "big":
        count, why = big_receivers(ctx, server)
        receivers = str(count)
        run.notes.append(f"{SIZING}{count:,} receivers + 1 sender fit ({why})")
    real = Target(str(server.port), str(server.pid), token, str(hello), receivers)
    port = str(server.port) if isinstance(server, node.NodeServer) else "$PORT"  # 8080
    placeholders = Target(port, "$PID", "$TOKEN", "hello.txt", receivers or "$N")
    run.generator = shown("wsload", wsload_args(ctx, m, placeholders))
    trace = CpuTrace()
    trace.watch("server", server.pid)
    async with trace:
        result = await wsload.run(
            ctx.wsload_bin,
            wsload_args(ctx, m, real),
            cpu=CLIENT_CPU,
            on_spawn=lambda pid: trace.watch("gen", pid),
        )
    run.raw = result
    run.problems += connection_problems(result, "wsload")
    start = result["spawned_at"] + max(0.0, result.get("open_all_s", 0.0))
    f = run.figures
    if m.load in ("window", "rate", "big"):
        run.problems += fanout_problems(result)
        t0 = start + SETTLE_S
        f.update(cpu_figures(trace, t0, t0 + max(result.get("span_s", 0.0), 0.001)))
        for key in ("deliveries_per_s", "missing", "dup", "receivers", "msgs_sent", "open_all_s"):
            f[key] = float(result.get(key, 0))
        for q in ("p50", "p90", "p99", "max"):
            f[f"lat_{q}"] = float(result.get(f"lat_ms_{q}", 0.0))
        f["opened"] = float(result.get("opened", 0))
    elif m.load == "echo":
        if not result.get("round_trips"):
            run.problems.append("no round trip completed")
        t0 = start + s.echo_warmup
        f.update(cpu_figures(trace, t0, t0 + result.get("duration_s", s.echo_duration)))
        for key in ("msgs_per_s", "rtt_us_p50", "rtt_us_p99"):
            f[key] = float(result.get(key, 0.0))
    elif m.load == "idle":
        if result.get("opened") != result.get("conns"):
            run.problems.append(f"opened {result.get('opened')} of {result.get('conns')}")
        if result.get("rss_before_kib", -1) < 0 or result.get("rss_end_kib", -1) < 0:
            run.problems.append("the server's RSS could not be read")
        if m.protocol == "v1" and result.get("other_frames", 0) < 2 * result.get("opened", 0):
            run.problems.append(
                f"{result.get('other_frames')} frames for {result.get('opened')} sessions: "
                "not every one got welcome + resumed"
            )
        gen = float(result.get("client_cpu_pct", 0.0)) / 100
        f.update(cpu_figures(trace, result["spawned_at"], result["ended_at"], gen_share=gen))
        for key in ("kib_per_conn", "kib_per_conn_at_open", "opened", "open_all_s"):
            f[key] = float(result.get(key, 0.0))
        f["rss_before_mib"] = result.get("rss_before_kib", 0) / 1024
        f["rss_end_mib"] = result.get("rss_end_kib", 0) / 1024


async def run_v1load(ctx: Context, m: Measurement, run: Run, server: Server, token: str) -> None:
    placeholders = Target("$PORT", "$PID", "$TOKEN", "")
    run.generator = shown("v1load", v1load_args(ctx, m, placeholders))
    real = Target(str(server.port), str(server.pid), token, "")
    trace = CpuTrace()
    trace.watch("server", server.pid)
    async with trace:
        spawned = time.monotonic()
        result = await v1load.run(v1load_args(ctx, m, real), cpu=CLIENT_CPU)
    run.raw = result
    run.problems += connection_problems(result, "v1load")
    run.problems += fanout_problems(result)
    if result.get("receivers_ready") != result.get("receivers"):
        run.problems.append(
            f"{result.get('receivers_ready')} of {result.get('receivers')} receivers got ready"
        )
    # The send phase is the end of v1load's run: from its own figures, on our clock.
    t1 = spawned + float(result.get("wall_s", 0.0))
    t0 = t1 - float(result.get("send_phase_s", 0.0))
    gen = float(result.get("send_phase_cpu_pct", 0.0)) / 100
    f = run.figures
    f.update(cpu_figures(trace, t0, t1, gen_share=gen))
    for key in ("deliveries_per_s", "missing", "dup", "receivers", "msgs_sent", "open_all_s"):
        f[key] = float(result.get(key, 0))
    for q in ("p50", "p90", "p99", "max"):
        f[f"lat_{q}"] = float(result.get(f"lat_ms_{q}", 0.0))
    if "arrival_lat_ms_p99" in result:  # ts -> the kernel's arrival stamp: v1load's own
        f["arrival_p99"] = float(result["arrival_lat_ms_p99"])  # queueing left out
    if "client_lag_ms_p99" in result:  # arrival -> v1load's read: its own queueing
        f["client_lag_p99"] = float(result["client_lag_ms_p99"])
    # Persisted: every message sent is in the room's history, once, in order, intact.
    try:
        stored = await asyncio.wait_for(v1load.stored_messages(server.port, token), 120)
        run.problems += [f"history: {p}" for p in v1load.history_problems(result, stored)]
        f["stored"] = float(len(stored))
    except Exception as exc:  # the check failing is a finding, not a crash of the benchmark
        run.problems.append(f"reading the history back failed: {exc!r}")


async def measure_send_ack(ctx: Context, m: Measurement, run: Run) -> None:
    """Scenario 7 through ``send_ack.py``'s own run (closed loop, then open loop at half the
    closed-loop rate), so this report and that benchmark cannot disagree on method."""
    s = ctx.settings
    args = argparse.Namespace(
        senders=s.ack_senders,
        duration=s.ack_duration,
        warmup=s.ack_warmup,
        rate=None,
        text_size=64,
        server_cpu=SERVER_CPU,
        client_cpu=CLIENT_CPU,
        tmpdir=None,
        perf=False,
        quiet_below=s.quiet_below,
        quiet_patience=s.quiet_patience,
        server_flags=ctx.parley_flags,
    )
    mode = "shared" if m.key == "ack-shared" else "separate"
    run.generator = (
        f"send_ack.run_once: --senders {s.ack_senders} --rooms {mode} --duration "
        f"{s.ack_duration:g} --warmup {s.ack_warmup:g} (this process, pinned to CPU {CLIENT_CPU})"
    )
    run.server = server_command(ParleyServer(Path("."), cpu=SERVER_CPU, flags=ctx.parley_flags))
    result = await send_ack.run_once(args, mode, run.index)
    # run_once points SIGTERM at the current task; this benchmark wants it back.
    install_sigterm()
    run.problems += result.errors
    run.notes += result.noisy_starts
    if result.server_log:
        run.notes.append(f"server log: {result.server_log[0]}")
    f = run.figures
    if result.closed is not None:
        c = result.closed
        f["closed_rate"] = c.rate
        f["closed_p50"] = percentile(c.latencies, 0.50) * 1e3
        f["closed_p99"] = percentile(c.latencies, 0.99) * 1e3
        f["gen_cpu"] = c.window.client_cpu
        f["server_cpu"] = c.window.server_loop_cpu + c.window.server_other_cpu
        f["noise_server"] = c.window.noise_server_core
        f["noise_gen"] = c.window.noise_client_core
    if result.open is not None:
        o = result.open
        f["open_target"] = o.target
        f["open_rate"] = o.ack_rate
        f["open_p50"] = percentile(o.latencies, 0.50) * 1e3
        f["open_p99"] = percentile(o.latencies, 0.99) * 1e3
        f["open_achieved"] = 1.0 if o.achieved else 0.0
        f["open_late"] = float(o.late)
        f["gen_cpu_open"] = o.window.client_cpu
        f["noise_server_open"] = o.window.noise_server_core


# -- the plan ----------------------------------------------------------------------------------


def plan(scenarios: Sequence[int], runs: int) -> list[tuple[str, int]]:
    """(measurement key, run index) in the order they run: phase by phase, and within a
    phase round by round, every server once per round (Node first)."""
    wanted: list[str] = []
    for number in sorted(scenarios):
        for key in SCENARIOS[number].keys:
            if key not in wanted:
                wanted.append(key)
    order: list[tuple[str, int]] = []
    for phase in PHASES:
        keys = [k for k in MEASUREMENTS if k in wanted and MEASUREMENTS[k].load == phase]
        for index in range(1, runs + 1):
            order += [(key, index) for key in keys]
    return order


def run_budget(ctx: Context, m: Measurement) -> float:
    """The most one run may take, all waits included."""
    s = ctx.settings
    waits = s.quiet_patience + 120  # quiet, server start and stop, registering, history
    per_load = {
        "window": 630.0,
        "rate": s.rate_duration + 150,
        "echo": s.echo_duration + s.echo_warmup + 90,
        "idle": s.hold + 270,
        "big": 430.0,
        "ack": 2 * (s.quiet_patience + s.ack_warmup + s.ack_duration + 20) + 120,
    }
    return waits + per_load[m.load]


def summary_line(run: Run) -> str:
    f = run.figures
    m = run.measurement
    if m.load in ("window", "big"):
        head = f"{f.get('deliveries_per_s', 0):,.0f} deliveries/s, p99 {f.get('lat_p99', 0):.1f} ms"
    elif m.load == "rate":
        head = f"p99 {f.get('lat_p99', 0):.2f} ms, {f.get('deliveries_per_s', 0):,.0f} deliveries/s"
    elif m.load == "echo":
        head = f"{f.get('msgs_per_s', 0):,.0f} msgs/s"
    elif m.load == "idle":
        head = f"{f.get('kib_per_conn', 0):.2f} KiB/connection"
    else:
        head = f"{f.get('closed_rate', 0):,.0f} acked/s, open p99 {f.get('open_p99', 0):.1f} ms"
    gen = f.get("gen_cpu")
    tail = f" (load-gen CPU {gen:.0%})" if gen is not None else ""
    bad = f"  INVALID: {'; '.join(run.problems[:2])}" if run.problems else ""
    return head + tail + bad


def install_sigterm() -> None:
    """SIGTERM cancels the main task (as Ctrl+C does): the ``finally`` clauses stop the
    servers and the load generator, then the runs completed are reported."""
    task = asyncio.current_task()
    if task is not None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)


async def run_all(ctx: Context, order: Sequence[tuple[str, int]], runs: list[Run]) -> None:
    install_sigterm()
    for number, (key, index) in enumerate(order, 1):
        m = MEASUREMENTS[key]
        _progress(f"[{number}/{len(order)}] {m.load}: {m.label}, run {index} ...")
        try:
            async with asyncio.timeout(run_budget(ctx, m)):
                run = await measure(ctx, m, index)
        except TimeoutError:
            run = Run(key, index, problems=[f"the run took more than {run_budget(ctx, m):.0f} s"])
        except Exception as exc:  # one broken run must not hide the others
            run = Run(key, index, problems=[f"the run failed: {exc!r}"])
        runs.append(run)
        _progress(f"    {summary_line(run)}")


# -- the report --------------------------------------------------------------------------------

Cell = float | None


def _num(value: Cell, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _pct(share: Cell) -> str:
    return "-" if share is None else f"{share * 100:.0f}%"


def _gen(share: Cell) -> str:
    """The load generator's CPU, marked when it may have been the limit."""
    return _pct(share) + (" ⚠" if share is not None and share > GEN_BOUND else "")


def _noise(run: Run) -> str:
    f = run.figures
    return f"{_pct(f.get('noise_server'))} / {_pct(f.get('noise_gen'))}"


def medians(runs: Sequence[Run]) -> dict[str, float]:
    """The median of each figure over the valid runs."""
    valid = [r for r in runs if r.valid]
    keys = {k for r in valid for k in r.figures}
    return {k: median([r.figures[k] for r in valid if k in r.figures]) for k in keys}


def by_key(runs: Sequence[Run]) -> dict[str, list[Run]]:
    grouped: dict[str, list[Run]] = {}
    for run in runs:
        grouped.setdefault(run.key, []).append(run)
    return grouped


@dataclass
class Section:
    """A scenario's part of the report, and its line in the summary."""

    lines: list[str]
    node: str
    parley: str
    ratio: str
    verdict: str


COMMON_NOTE = (
    "*load-gen CPU*: the load generator's share of its core during the measured window "
    f"(⚠ above {GEN_BOUND:.0%}: generator-bound, the figure is a lower bound for the server's "
    "throughput, and its latency includes the generator's own queueing). *server CPU*: the "
    "server process, every thread, on its one core. *others' load*: what other processes "
    "used of the server's / the load generator's core during the window."
)


def _rows(
    runs: Sequence[Run], keys: Sequence[str], cells: Callable[[Run], list[str]]
) -> list[list[str]]:
    """Every run in the order it ran, then a median line per server."""
    rows = []
    for run in runs:
        label = run.measurement.label
        mark = "" if run.valid else " (INVALID)"
        rows.append([str(run.index), label + mark, *cells(run)])
    grouped = by_key(runs)
    if max((len(v) for v in grouped.values()), default=0) > 1:
        for key in keys:
            mine = grouped.get(key, [])
            if mine:
                med = Run(key, 0, figures=medians(mine))
                rows.append(["**median**", MEASUREMENTS[key].label, *cells(med)])
    return rows


def _problems(runs: Sequence[Run]) -> list[str]:
    """Per run: why it is not valid, whether other processes disturbed it, its notes."""
    out = []
    for run in runs:
        label = f"{run.measurement.label}, run {run.index}"
        if run.problems:
            out.append(f"- **{label}: not valid**: " + "; ".join(run.problems[:6]))
        f = run.figures
        noise = max(f.get("noise_server", 0.0), f.get("noise_gen", 0.0))
        if noise > DISTURBED:
            out.append(
                f"- **{label}: disturbed**: other processes used {_noise(run)} of the server's / "
                "the load generator's core during the window; treat its figure with caution"
            )
        for note in run.notes:
            if not note.startswith(SIZING):
                out.append(f"- {label}: {note}")
    return out


def _commands(runs: Sequence[Run], keys: Sequence[str]) -> list[str]:
    out = []
    for key in keys:
        first = next((r for r in runs if r.key == key and r.generator), None)
        if first is not None:
            out.append(f"- {MEASUREMENTS[key].label}: server `{first.server}`")
            out.append(f"  - load: `{first.generator}`")
    return out


def _ratio(parley: Cell, node_value: Cell) -> Cell:
    return parley / node_value if parley is not None and node_value else None


def _bound_warning(base: Sequence[Run], mine: Sequence[Run]) -> list[str]:
    """How a busy load generator skews a ratio: Parley's figure a lower bound makes the
    ratio a lower bound; Node's, an overstatement. Unless the server's own core was
    saturated at the same time: then the server is the likelier limit, and that is said."""
    out = []
    for side, runs, effect in (
        ("Parley", mine, "the ratio is a lower bound"),
        ("Node", base, "the ratio may be overstated"),
    ):
        busy = [r for r in runs if r.valid and r.figures.get("gen_cpu", 0) > GEN_BOUND]
        if not busy:
            continue
        saturated = all(r.figures.get("server_cpu", 0) >= SATURATED for r in busy)
        gen = ", ".join(_pct(r.figures.get("gen_cpu")) for r in busy)
        server = ", ".join(_pct(r.figures.get("server_cpu")) for r in busy)
        if saturated:
            out.append(
                f"the load generator was busy on {side} ({gen}) but the server's core was "
                f"saturated too ({server}): the server is the likelier limit"
            )
        else:
            out.append(f"the load generator was near its limit on {side} ({gen}): {effect}")
    return out


def _verdict(ok: bool | None) -> str:
    return "NO DATA" if ok is None else ("**MET**" if ok else "**NOT MET**")


def fanout_cells(run: Run) -> list[str]:
    f = run.figures
    return [
        _num(f.get("deliveries_per_s")),
        f"{_num(f.get('lat_p50'), 1)} / {_num(f.get('lat_p99'), 1)}",
        f"{_num(f.get('missing'))} / {_num(f.get('dup'))}",
        _gen(f.get("gen_cpu")),
        _pct(f.get("server_cpu")),
        _noise(run),
    ]


FANOUT_HEADER = [
    "run",
    "server",
    "deliveries/s",
    "latency p50 / p99 ms",
    "missing / dup",
    "load-gen CPU",
    "server CPU",
    "others' load",
]


def ratio_section(
    scenario: Scenario, runs: Sequence[Run], need: float, aim: float | None
) -> Section:
    """Scenarios 1, 2 (deliveries/s) and 4 (round trips/s): Parley's median over Node's."""
    base_key, mine_key = scenario.keys
    grouped = by_key(runs)
    base, mine = grouped.get(base_key, []), grouped.get(mine_key, [])
    metric = "msgs_per_s" if scenario.number == 4 else "deliveries_per_s"
    node_med = medians(base).get(metric)
    parley_med = medians(mine).get(metric)
    ratio = _ratio(parley_med, node_med)
    ok: bool | None = None
    if ratio is not None:
        ok = ratio >= need and all(r.valid for r in mine)
    if scenario.number == 4:
        header = ["run", "server", "msgs/s", "rtt p50 / p99 µs", "load-gen CPU", "server CPU"]
        header.append("others' load")

        def cells(run: Run) -> list[str]:
            f = run.figures
            rtt = f"{_num(f.get('rtt_us_p50'))} / {_num(f.get('rtt_us_p99'))}"
            return [
                _num(f.get("msgs_per_s")),
                rtt,
                _gen(f.get("gen_cpu")),
                _pct(f.get("server_cpu")),
                _noise(run),
            ]

    else:
        header, cells = FANOUT_HEADER, fanout_cells
    lines = [table(header, _rows(runs, scenario.keys, cells)), ""]
    ratio_text = "-" if ratio is None else f"{ratio:.2f}x"
    line = f"**Parley / Node (medians): {ratio_text}**. Target {scenario.target}: {_verdict(ok)}"
    if aim is not None and ratio is not None:
        line += f" (aim {aim:g}x: {'reached' if ratio >= aim else 'not reached'})"
    lines.append(line + ".")
    if any(not r.valid for r in mine):
        lines.append(
            "A Parley run was not valid (see below): the target is not met by a run that "
            "loses or breaks connections."
        )
    lines += [f"Note: {w}." for w in _bound_warning(base, mine)]
    if scenario.number == 2:
        lines.append(
            "Node's runs are those of scenario 1 (app.js has no parley.v1: the issue compares "
            "with its plain-text fan-out). Parley's figure here includes signing in, JSON "
            "events and storing every message; the history was read back after each run."
        )
    unit = "msgs/s" if scenario.number == 4 else "deliveries/s"
    return Section(
        lines,
        node=f"{_num(node_med)} {unit}",
        parley=f"{_num(parley_med)} {unit}",
        ratio=ratio_text,
        verdict=_verdict(ok),
    )


def latency_section(scenario: Scenario, runs: Sequence[Run]) -> Section:
    def cells(run: Run) -> list[str]:
        f = run.figures
        return [
            _num(f.get("deliveries_per_s")),
            _num(f.get("lat_p50"), 2),
            _num(f.get("lat_p90"), 2),
            _num(f.get("lat_p99"), 2),
            _num(f.get("arrival_p99"), 2),
            _num(f.get("lat_max"), 2),
            _num(f.get("missing")),
            _gen(f.get("gen_cpu")),
            _pct(f.get("server_cpu")),
            _noise(run),
        ]

    header = ["run", "server", "deliveries/s", "p50 ms", "p90 ms", "p99 ms"]
    header += ["p99 ms at arrival", "max ms", "missing"]
    header += ["load-gen CPU", "server CPU", "others' load"]
    grouped = by_key(runs)
    p99 = {key: medians(grouped.get(key, [])).get("lat_p99") for key in scenario.keys}
    parley_keys = scenario.keys[1:]
    present = [p99[k] for k in parley_keys if p99[k] is not None]
    ok: bool | None = None
    if len(present) == len(parley_keys):
        valid = all(r.valid for k in parley_keys for r in grouped.get(k, []))
        ok = valid and all(v is not None and v <= 10.0 for v in present)
    lines = [table(header, _rows(runs, scenario.keys, cells)), ""]
    figures = ", ".join(f"{MEASUREMENTS[k].label} {_num(p99[k], 2)} ms" for k in scenario.keys)
    lines.append(f"**Median p99**: {figures}. Target {scenario.target}: {_verdict(ok)}.")
    busy = [
        r
        for k in parley_keys
        for r in grouped.get(k, [])
        if r.figures.get("gen_cpu", 0) > GEN_BOUND
    ]
    lines.append(
        "*p99 ms at arrival* (v1load only): from the timestamp in the message to the kernel's "
        "receive timestamp of the segment that carried it (SO_TIMESTAMPNS), which leaves the "
        "load generator's own queueing out; wsload has no such figure."
    )
    if busy:
        lines.append(
            "Note: the load generator was busy above "
            f"{GEN_BOUND:.0%} in {len(busy)} Parley run(s): its own queueing is part of those "
            "latencies (compare the arrival column where there is one)."
        )
    lags = [
        r.figures["client_lag_p99"]
        for r in grouped.get("v1-rate", [])
        if r.valid and "client_lag_p99" in r.figures
    ]
    if lags:
        lines.append(
            f"v1load's own lag (segment arrival → its read) had a p99 of {median(lags):.2f} ms "
            "(median over runs): the parley.v1 latency above is the server's, not v1load's."
            if median(lags) < 1.0
            else f"v1load's own lag (segment arrival → its read) had a p99 of "
            f"{median(lags):.2f} ms (median over runs): part of the latency is v1load's."
        )
    hot = [
        r
        for k in parley_keys
        for r in grouped.get(k, [])
        if r.figures.get("server_cpu", 0) >= SATURATED
    ]
    if hot:
        cpu = ", ".join(_pct(r.figures.get("server_cpu")) for r in hot)
        lines.append(
            f"Note: the server's core was saturated ({cpu}) in {len(hot)} Parley run(s) at this "
            "fixed rate: messages queue in the server, which is what the latency shows."
        )
    return Section(
        lines,
        node=f"p99 {_num(p99[scenario.keys[0]], 2)} ms",
        parley=" / ".join(f"p99 {_num(p99[k], 2)} ms" for k in parley_keys) + " (plain / v1)",
        ratio="-",
        verdict=_verdict(ok),
    )


def memory_section(scenario: Scenario, runs: Sequence[Run]) -> Section:
    def cells(run: Run) -> list[str]:
        f = run.figures
        return [
            _num(f.get("opened")),
            _num(f.get("kib_per_conn"), 2),
            _num(f.get("kib_per_conn_at_open"), 2),
            f"{_num(f.get('rss_before_mib'), 1)} → {_num(f.get('rss_end_mib'), 1)}",
            _num(f.get("open_all_s"), 2),
            _gen(f.get("gen_cpu")),
            _noise(run),
        ]

    header = ["run", "server", "connections", "KiB/conn (end of hold)", "KiB/conn (all open)"]
    header += ["RSS MiB before → end", "open all s", "load-gen CPU (whole run)", "others' load"]
    grouped = by_key(runs)
    kib = {key: medians(grouped.get(key, [])).get("kib_per_conn") for key in scenario.keys}
    limits = {"plain-idle": 12.0, "v1-idle": 16.0}
    ok: bool | None = None
    if all(kib[k] is not None for k in limits):
        valid = all(r.valid for k in limits for r in grouped.get(k, []))
        ok = valid and all(kib[k] <= limit for k, limit in limits.items())  # type: ignore[operator]
    lines = [table(header, _rows(runs, scenario.keys, cells)), ""]
    figures = ", ".join(f"{MEASUREMENTS[k].label} {_num(kib[k], 2)} KiB" for k in scenario.keys)
    lines.append(
        f"**Median RSS growth per connection**: {figures}. Target {scenario.target}: "
        f"{_verdict(ok)}."
    )
    lines.append(
        "RSS growth = (server RSS at the end of the hold - before the first connection) / "
        "connections opened, read by wsload from /proc. parley.v1 connections are sessions of "
        "one signed-in user that each sent `resume` and got `resumed`."
    )
    return Section(
        lines,
        node=f"{_num(kib['node-idle'], 2)} KiB",
        parley=f"{_num(kib['plain-idle'], 2)} / {_num(kib['v1-idle'], 2)} KiB (plain / v1)",
        ratio="-",
        verdict=_verdict(ok),
    )


def big_section(scenario: Scenario, runs: Sequence[Run]) -> Section:
    def cells(run: Run) -> list[str]:
        f = run.figures
        return [
            _num(f.get("receivers")),
            _num(f.get("opened")),
            _num(f.get("msgs_sent")),
            f"{_num(f.get('missing'))} / {_num(f.get('dup'))}",
            _num(f.get("open_all_s"), 1),
            _num(f.get("lat_p99"), 0),
            _gen(f.get("gen_cpu")),
            _pct(f.get("server_cpu")),
        ]

    header = ["run", "server", "receivers", "connections opened", "messages", "missing / dup"]
    header += ["open all s", "latency p99 ms", "load-gen CPU", "server CPU"]
    grouped = by_key(runs)
    mine = grouped.get("plain-big", [])
    counts = sorted({int(r.figures.get("receivers", 0)) for r in mine if r.figures})
    ok: bool | None = None
    if mine and counts:
        ok = all(r.valid and r.figures.get("missing") == 0 for r in mine)
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    cap = "has" if has_cap_sys_resource() else "lacks"
    held = f"{counts[0] + 1:,} ({counts[0]:,} receivers + 1 sender)" if counts else "no"
    fd_note = next((note for r in mine for note in r.notes if note.startswith(SIZING)), "")
    outcome = "every message reached every receiver, missing 0, in every run" if ok else "see below"
    lines = [table(header, _rows(runs, scenario.keys, cells)), ""]
    lines.append(
        f"**20,000 is not possible on this machine**: a process may hold at most {hard:,} open "
        f"files (the RLIMIT_NOFILE hard limit; raising it needs CAP_SYS_RESOURCE, which this "
        f"process {cap}), and the server needs a descriptor per connection *plus* those it "
        f"already holds (listening socket, SQLite files, log, epoll, pipes). "
        f"**{held} connections: {_verdict(ok).strip('*')}** ({outcome})."
    )
    if fd_note:
        lines.append(
            f"Sizing: {fd_note.removeprefix(SIZING)}. One wsload process holds them all "
            "(it needs one descriptor per connection plus 16)."
        )
    return Section(
        lines,
        node=_missing_summary(grouped.get("node-big", [])),
        parley=_missing_summary(mine),
        ratio="-",
        verdict=f"20,000: not possible here; {counts[0] if counts else 0:,}: {_verdict(ok)}",
    )


def _missing_summary(runs: Sequence[Run]) -> str:
    if not runs:
        return "-"
    worst = max(r.figures.get("missing", 0) for r in runs)
    count = int(runs[0].figures.get("receivers", 0))
    return f"{count:,} receivers, missing {worst:,.0f}" + (
        "" if all(r.valid for r in runs) else " (a run not valid)"
    )


def ack_section(scenario: Scenario, runs: Sequence[Run]) -> Section:
    def cells(run: Run) -> list[str]:
        f = run.figures
        achieved = f.get("open_achieved")
        return [
            _num(f.get("closed_rate")),
            f"{_num(f.get('closed_p50'), 2)} / {_num(f.get('closed_p99'), 2)}",
            _num(f.get("open_target")),
            _num(f.get("open_rate")),
            f"{_num(f.get('open_p50'), 2)} / {_num(f.get('open_p99'), 2)}",
            "-" if achieved is None else ("yes" if achieved >= 0.5 else "NO"),
            f"{_gen(f.get('gen_cpu'))} / {_gen(f.get('gen_cpu_open'))}",
            _pct(f.get("server_cpu")),
            _noise(run),
        ]

    header = ["run", "rooms", "closed: acked/s", "closed p50 / p99 ms", "open: target/s"]
    header += ["open: acked/s", "open p50 / p99 ms", "rate held", "load-gen CPU closed / open"]
    header += ["server CPU (closed)", "others' load (closed)"]
    grouped = by_key(runs)
    verdicts = []
    summary = []
    all_ok: bool | None = True
    for key in scenario.keys:
        mine = grouped.get(key, [])
        med = medians(mine)
        rate, p99 = med.get("closed_rate"), med.get("open_p99")
        label = MEASUREMENTS[key].label
        if rate is None or p99 is None:
            verdicts.append(f"{label}: NO DATA")
            all_ok = None
            continue
        misses = [
            *(["fewer than 10,000 acked/s"] if rate < 10_000 else []),
            *(["p99 above 20 ms"] if p99 > 20.0 else []),
            *(["a run not valid"] if not all(r.valid for r in mine) else []),
        ]
        ok = not misses
        if all_ok is not None:
            all_ok = all_ok and ok
        why = f" ({', '.join(misses)})" if misses else ""
        verdicts.append(
            f"{label}: {rate:,.0f} acked/s, open-loop p99 {p99:.2f} ms at "
            f"{med.get('open_target', 0):,.0f}/s: {_verdict(ok)}{why}"
        )
        summary.append(f"{label} {rate:,.0f}/s, p99 {p99:.1f} ms")
    lines = [table(header, _rows(runs, scenario.keys, cells)), ""]
    lines.append("**Medians**: " + "; ".join(verdicts) + f". Target: {scenario.target}.")
    lines.append(
        "No Node counterpart: the tutorial stores nothing and sends no acknowledgement. "
        "The open loop runs at half the closed-loop rate *measured in the same run* "
        "(send_ack.py's default). Its latency counts from each send's scheduled time (see "
        "`bench/README.md`, send_ack.py). The load generator here is send_ack.py's Python "
        "client: a ⚠ on it means the capacity figure is a lower bound."
    )
    return Section(lines, node="-", parley="; ".join(summary), ratio="-", verdict=_verdict(all_ok))


def section(scenario: Scenario, runs: Sequence[Run]) -> Section:
    mine = [r for r in runs if r.key in scenario.keys]
    if scenario.number == 1:
        return ratio_section(scenario, mine, 3.0, 5.0)
    if scenario.number == 2:
        return ratio_section(scenario, mine, 2.0, None)
    if scenario.number == 3:
        return latency_section(scenario, mine)
    if scenario.number == 4:
        return ratio_section(scenario, mine, 1.0, None)
    if scenario.number == 5:
        return memory_section(scenario, mine)
    if scenario.number == 6:
        return big_section(scenario, mine)
    return ack_section(scenario, mine)


def render(ctx: Context, scenarios: Sequence[int], runs: Sequence[Run], interrupted: bool) -> str:
    s = ctx.settings
    today = datetime.date.today().isoformat()
    kind = "quick look (--quick: short runs, not for quoting)" if s.quick else "full"
    out = [f"# Parley vs the tutorial's Node servers ({today})", ""]
    if interrupted:
        out += ["**Interrupted: only the runs completed are reported.**", ""]
    out += [
        f"Issue #7's targets, as ratios against the tutorial's own servers measured in the same "
        f"run. Kind: {kind}; {s.runs} run(s) per server, alternating the servers (Node, "
        "Parley, Node, Parley, ...), each run on a fresh server process (Parley: and a fresh "
        f"database). Server on CPU {SERVER_CPU}, load generator on CPU {CLIENT_CPU}, loopback. "
        "Medians over the valid runs.",
        "",
        "## Summary",
        "",
    ]
    sections = {n: section(SCENARIOS[n], runs) for n in scenarios}
    rows = [
        [
            str(n),
            SCENARIOS[n].title,
            SCENARIOS[n].target,
            sec.node,
            sec.parley,
            sec.ratio,
            sec.verdict,
        ]
        for n, sec in sections.items()
    ]
    out += [table(["#", "scenario", "target", "Node", "Parley", "ratio", "verdict"], rows), ""]
    out += ["## Machine and software", ""]
    out += [f"- {name}: {value}" for name, value in ctx.facts]
    out += [
        f"- waiting for quiet: before each run, up to {s.quiet_patience:g} s until other "
        f"processes keep both cores below {s.quiet_below:.0%} busy",
        "",
        COMMON_NOTE,
        "",
    ]
    for n, sec in sections.items():
        scenario = SCENARIOS[n]
        mine = [r for r in runs if r.key in scenario.keys]
        out += [f"## {n}. {scenario.title}", "", f"Target: {scenario.target}.", ""]
        out += _commands(mine, scenario.keys)
        out += ["", *sec.lines, ""]
        problems = _problems(mine)
        if problems:
            out += [*problems, ""]
    return "\n".join(out)


# -- set-up and command line -------------------------------------------------------------------


def _tool_version(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return (done.stdout or done.stderr).strip().splitlines()[0] if done.returncode == 0 else "?"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def prepare(args: argparse.Namespace, settings: Settings) -> Context:
    """Build the load generators, install ``ws``, and note the facts the report needs."""
    source = wsload.source_path(args.wsload_source)
    _progress(f"building wsload from {source} and v1load ...")
    wsload_bin = wsload.build(source)
    v1load_bin = v1load.build()
    _progress("installing ws for the tutorial's servers (cached) ...")
    modules = node.install_ws()
    flags = unlimited_flags()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    ports = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    facts = machine_info(REPO)
    facts += [
        ("python executable", sys.executable),
        ("node", node.node_version()),
        ("ws", f"{node.ws_version(modules)} (npm install {node.WS_SPEC})"),
        ("C compiler", _tool_version([os.environ.get("CC") or "cc", "--version"])),
        ("wsload", f"{source} (sha256 {_digest(source)}), built with cc {' '.join(wsload.CFLAGS)}"),
        ("v1load", f"bench/v1load/v1load.c (sha256 {_digest(v1load.SOURCE)})"),
        ("open files per process", f"soft {soft:,}, hard {hard:,}"),
        ("ephemeral ports", f"{ports[0]}-{ports[1]}"),
        ("load average at start", " ".join(Path("/proc/loadavg").read_text().split()[:3])),
    ]
    return Context(settings, source, wsload_bin, v1load_bin, modules, flags, facts)


def parse_only(text: str) -> list[int]:
    numbers = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit() or int(part) not in SCENARIOS:
            raise argparse.ArgumentTypeError(f"scenarios are 1 to {len(SCENARIOS)}, got {part!r}")
        numbers.append(int(part))
    if not numbers:
        raise argparse.ArgumentTypeError("no scenario given")
    return sorted(set(numbers))


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Parley against the tutorial's Node servers: issue #7's seven scenarios.",
        epilog="Run from the repository root: .venv/bin/python bench/compare.py",
    )
    parser.add_argument("--runs", type=int, default=None, help="runs per server (default 3)")
    parser.add_argument(
        "--quick", action="store_true", help="1 run, short durations, fewer connections"
    )
    parser.add_argument(
        "--only", type=parse_only, default=None, help="scenarios to run, e.g. 1,4 (default all)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="report file (default bench/results/<date>.md; -quick / -only-N suffixes)",
    )
    parser.add_argument(
        "--wsload-source",
        default=None,
        help=f"wsload.c (default ${wsload.SOURCE_ENV} or {wsload.DEFAULT_SOURCE})",
    )
    parser.add_argument(
        "--quiet-below", type=float, default=0.15, help="'quiet' = both cores below this share"
    )
    parser.add_argument(
        "--quiet-patience",
        type=float,
        default=None,
        help="seconds to wait for quiet before each run (default 60, --quick 10; 0: no wait)",
    )
    args = parser.parse_args(argv)
    if args.runs is not None and args.runs < 1:
        parser.error("--runs must be ≥ 1")
    cpus = os.sched_getaffinity(0)
    if not {SERVER_CPU, CLIENT_CPU} <= cpus:
        parser.error(f"needs CPUs {SERVER_CPU} and {CLIENT_CPU}; this process may use {cpus}")
    return args


def default_out(args: argparse.Namespace) -> Path:
    name = datetime.date.today().isoformat()
    if args.quick:
        name += "-quick"
    if args.only is not None and len(args.only) < len(SCENARIOS):
        name += "-only-" + "-".join(str(n) for n in args.only)
    return RESULTS / f"{name}.md"


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def main() -> int:
    args = parse_args()
    runs_wanted = args.runs if args.runs is not None else (1 if args.quick else 3)
    settings = quick_settings(runs_wanted) if args.quick else Settings(runs=runs_wanted)
    patience = args.quiet_patience
    if patience is None:
        patience = settings.quiet_patience
    settings = replace(settings, quiet_patience=patience, quiet_below=args.quiet_below)
    scenarios = args.only or sorted(SCENARIOS)
    try:
        ctx = prepare(args, settings)
    except wsload.WsloadMissing as exc:
        print(f"compare.py: {exc}", file=sys.stderr)
        return 2
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        print(f"compare.py: set-up failed: {exc}", file=sys.stderr)
        return 2
    os.sched_setaffinity(0, {CLIENT_CPU})
    order = plan(scenarios, settings.runs)
    runs: list[Run] = []
    interrupted = False
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(run_all(ctx, order, runs))
    except (KeyboardInterrupt, asyncio.CancelledError):
        _progress("interrupted: reporting the runs completed")
        interrupted = True
    finally:
        node.stop_all()  # whatever happened, leave no server behind
        stop_parley_servers()
    report = render(ctx, scenarios, runs, interrupted)
    print(report)
    out = args.out or default_out(args)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report + "\n")
    raw = RESULTS / "raw" / f"{out.stem}-{datetime.datetime.now():%H%M%S}.json"
    raw.parent.mkdir(parents=True, exist_ok=True)
    raw.write_text(json.dumps([asdict(r) for r in runs], indent=1, default=str) + "\n")
    _progress(f"report written to {out} (every run's raw figures: {raw})")
    if interrupted:
        return 130
    return 1 if any(not r.valid for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
