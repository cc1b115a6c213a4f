"""Send → ack: how many chat messages a second Parley stores and acknowledges, and how fast.

An ``ack`` is Parley's promise that a message is stored: the server sends it only after the
SQLite transaction holding the message committed (``synchronous=full``: fsynced). So the
send → ack path is the chat server's critical path: decode, the store's group commit, the
fan-out of the message to the room, the ack.

Per run, on a fresh server process and database (``--runs`` times, per ``--rooms`` mode):

1. **Closed loop**: ``--senders`` connections each send, wait for their ack, send again, for
   ``--duration`` seconds after ``--warmup``. Gives the capacity (acked sends/s) and the
   latency at that load.
2. **Open loop**: a fixed rate (half the closed-loop rate of the same run, or ``--rate``),
   spread evenly over the senders, for ``--duration`` seconds. Latency is measured from the
   *scheduled* send time, so a stalled load generator cannot hide latency (no coordinated
   omission). Says whether the rate was sustained.

``--rooms shared``: every sender is in the lobby, so each message is also delivered to all
``--senders`` connections (the fan-out is part of the cost, as in a busy room).
``--rooms separate``: each sender posts to its own room (``r<i>``): the same commit path with a
fan-out of one. The difference between the two is mostly the cost of the fan-out; not only,
because many rooms also spread the store's index inserts over more pages (see the pwrite
column). ``--rooms both`` (the default) runs and reports the two.

The server runs as a real process pinned to ``--server-cpu``, with the per-user rate limit
lifted (a person cannot send 50 messages a second; a load generator must). This load generator
pins itself to ``--client-cpu`` and reports its own CPU use next to every figure: near 100%,
the load generator was the bottleneck and the figure is a lower bound. Server-side, since a
benchmark must not add code to the server, it observes from outside: CPU per thread (event
loop vs. SQLite's threads) from ``/proc``, system-call counts from ``perf`` tracepoints, and
the server's own counters from ``GET /metrics`` when it serves them. The machine is shared, so
each phase first waits (bounded) for other processes to leave both cores nearly idle, and
their load during the window is reported.

SQLite's ``synchronous`` mode: ``parley serve`` has no flag for it, so every run uses the
server's default (``full``). There is deliberately no ``--db-sync`` option here.

``--postgres URL``: the same on PostgreSQL, each run on a database of its own created on that
server (and dropped after): what PostgreSQL's writers and pool do to the same path.

Run from the repository root: ``.venv/bin/python bench/send_ack.py --runs 3 --duration 10``.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import math
import os
import resource
import signal
import sys
import tempfile
import time
import urllib.parse
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter

from lib.cpus import CoreTimes, busy_shares, core_times, wait_for_quiet
from lib.postgres import create_database, drop_database, with_database
from lib.report import filesystem_of, machine_info, median, percentile, table
from lib.server import (
    ParleyServer,
    SyscallCounter,
    ThreadTimes,
    http_post_json,
    scrape_metrics,
    stop_all,
    unlimited_flags,
)
from lib.wsclient import LeanClient, connect

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
PASSWORD = "bench-password-1"
#: The open loop's shortest sleep: sends due within one tick go out together.
TICK = 0.001
#: An open-loop send issued this much later than scheduled counts as late.
LATE = 0.010
#: A load generator above this share of its core is probably the bottleneck.
CLIENT_BOUND = 0.90
#: How long to wait for outstanding acks and deliveries after a phase.
SETTLE_TIMEOUT = 20.0


# -- measurements ------------------------------------------------------------------------------


@dataclass
class Window:
    """What both sides did between two instants."""

    seconds: float
    client_cpu: float  #: this process, user + system, as a share of one core
    server: ThreadTimes  #: CPU seconds of the server's threads
    events: int  #: event frames received by all connections
    syscalls: dict[str, int]  #: the server's system calls (empty without perf)
    metrics: dict[str, float]  #: the server's own counters (empty without /metrics)
    #: Load of *other* processes on the server's and the load generator's cores (shares).
    noise_server_core: float = 0.0
    noise_client_core: float = 0.0
    #: Times the kernel took the core away from the load generator (involuntary context
    #: switches): each one can stall the open loop's schedule and inflate its latencies.
    client_preempted: int = 0
    #: CPU seconds of the database's own processes (PostgreSQL backends; 0 on SQLite).
    database_cpu: float = 0.0

    @property
    def server_loop_cpu(self) -> float:
        return self.server.loop / self.seconds

    @property
    def server_other_cpu(self) -> float:
        return self.server.others / self.seconds


class Meter:
    """Snapshots at a window's start and end: own CPU, server threads, events, syscalls and
    the server's ``/metrics`` (scraped in the background, so starting a window never waits)."""

    def __init__(
        self,
        server: ParleyServer,
        clients: Sequence[LeanClient],
        counter: SyscallCounter | None,
        client_core: int,
    ) -> None:
        self.server = server
        self.clients = clients
        self.counter = counter
        self.client_core = client_core
        self.t0 = 0.0
        self._cores0: dict[int, CoreTimes] = {}
        self._preempted0 = 0
        self._cpu0 = 0.0
        self._server0 = ThreadTimes(0.0, 0.0)
        self._database0 = 0.0
        self._events0 = 0
        self._metrics0: asyncio.Future[dict[str, float]] | None = None

    def start(self) -> float:
        self._metrics0 = asyncio.ensure_future(scrape_metrics(self.server.port))
        if self.counter is not None:
            self.counter.enable()
        self._server0 = self.server.thread_times()
        self._database0 = self.server.database_cpu()
        self._events0 = sum(c.events for c in self.clients)
        self._cores0 = core_times()
        self._preempted0 = resource.getrusage(resource.RUSAGE_SELF).ru_nivcsw
        self._cpu0 = _own_cpu()
        self.t0 = perf_counter()
        return self.t0

    async def stop(self) -> Window:
        seconds = perf_counter() - self.t0
        cpu = _own_cpu() - self._cpu0
        busy = busy_shares(self._cores0, core_times())
        preempted = resource.getrusage(resource.RUSAGE_SELF).ru_nivcsw - self._preempted0
        events = sum(c.events for c in self.clients) - self._events0
        server = self.server.thread_times() - self._server0
        database = self.server.database_cpu() - self._database0
        if self.counter is not None:
            self.counter.disable()
        after = await scrape_metrics(self.server.port)
        before = await self._metrics0 if self._metrics0 is not None else {}
        metrics = {key: after[key] - before[key] for key in after if key in before}
        window = Window(seconds, cpu / seconds, server, events, {}, metrics)
        server_share = (server.loop + server.others) / seconds
        window.noise_server_core = max(0.0, busy.get(self.server.cpu, 0.0) - server_share)
        window.noise_client_core = max(0.0, busy.get(self.client_core, 0.0) - window.client_cpu)
        window.client_preempted = preempted
        window.database_cpu = database
        return window


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


@dataclass
class ClosedResult:
    acks: int
    window: Window
    latencies: list[float]  #: seconds, sorted

    @property
    def rate(self) -> float:
        return self.acks / self.window.seconds


@dataclass
class OpenResult:
    target: float  #: sends per second asked for
    scheduled: int  #: sends scheduled inside the window
    acks_in_window: int  #: acks received inside the window (any send)
    unacked: int  #: window sends still without an ack when the phase gave up waiting
    late: int  #: window sends issued more than LATE after their scheduled time
    max_lag: float  #: the latest a send was issued, seconds
    window: Window
    latencies: list[float]  #: seconds from scheduled send to ack, sorted

    @property
    def ack_rate(self) -> float:
        return self.acks_in_window / self.window.seconds

    @property
    def achieved(self) -> bool:
        """Sustained: every send acked, acks kept pace (≥ 97 %), and sends left on time."""
        return (
            self.unacked == 0
            and self.ack_rate >= 0.97 * self.target
            and self.late <= 0.01 * max(self.scheduled, 1)
        )


@dataclass
class RunResult:
    mode: str
    index: int
    closed: ClosedResult | None = None
    open: OpenResult | None = None
    errors: list[str] = field(default_factory=list)
    server_log: list[str] = field(default_factory=list)
    #: Phases that started although other processes kept the cores busy (see --quiet-below).
    noisy_starts: list[str] = field(default_factory=list)


# -- the two loads -----------------------------------------------------------------------------


class ClosedLoop:
    """Each ack sends that connection's next message at once (no task, no sleep)."""

    def __init__(self) -> None:
        self.sending = True
        self.t0 = math.inf
        self.t1 = math.inf
        self.latencies: array[float] = array("d")

    def on_ack(self, client: LeanClient, started: float, now: float) -> None:
        if self.t0 <= now < self.t1:
            self.latencies.append(now - started)
        if self.sending:
            client.send_message(perf_counter())


class OpenLoop:
    """Acks of a paced load: latency of the sends scheduled in the window, acks per second."""

    def __init__(self) -> None:
        self.t0 = math.inf
        self.t1 = math.inf
        self.acks_in_window = 0
        self.latencies: array[float] = array("d")

    def on_ack(self, client: LeanClient, started: float, now: float) -> None:
        if self.t0 <= started < self.t1:
            self.latencies.append(now - started)
        if self.t0 <= now < self.t1:
            self.acks_in_window += 1


async def closed_loop(
    clients: Sequence[LeanClient], meter: Meter, warmup: float, duration: float, shared: bool
) -> tuple[ClosedResult, list[str]]:
    load = ClosedLoop()
    for client in clients:
        client.reset_counts()
        client.on_ack = load.on_ack
    for client in clients:
        client.send_message(perf_counter())
    await asyncio.sleep(warmup)
    load.t0 = meter.start()
    await asyncio.sleep(duration)
    load.t1 = perf_counter()
    window = await meter.stop()
    load.sending = False
    problems = await settle(clients, shared)
    result = ClosedResult(len(load.latencies), window, sorted(load.latencies))
    return result, problems


async def open_loop(
    clients: Sequence[LeanClient],
    meter: Meter,
    rate: float,
    warmup: float,
    duration: float,
    shared: bool,
) -> tuple[OpenResult, list[str]]:
    """Send ``rate`` messages a second, round-robin over the connections, on a fixed schedule.

    The schedule is absolute (send ``i`` is due at ``start + i / rate``): when the loop wakes
    late it catches up at once, and each send's latency counts from when it was due.
    """
    load = OpenLoop()
    for client in clients:
        client.reset_counts()
        client.on_ack = load.on_ack
    count = len(clients)
    interval = 1.0 / rate
    total = int(rate * (warmup + duration))
    start = perf_counter()
    load.t0 = start + warmup
    load.t1 = load.t0 + duration
    give_up = load.t1 + 5.0  # bounded even if the event loop falls hopelessly behind
    scheduled = late = 0
    max_lag = 0.0
    metering = False
    sent = 0
    while sent < total:
        now = perf_counter()
        if now > give_up:
            break
        if not metering and now >= load.t0:
            meter.start()
            metering = True
        due = min(total, int((now - start) * rate) + 1)
        while sent < due:
            planned = start + sent * interval
            clients[sent % count].send_message(planned)
            if planned >= load.t0:
                scheduled += 1
                lag = now - planned
                max_lag = max(max_lag, lag)
                if lag > LATE:
                    late += 1
            sent += 1
        # Event-loop timers have millisecond resolution: a shorter sleep would return at once
        # and turn this loop into a busy wait that eats the load generator's core.
        await asyncio.sleep(max(TICK, start + sent * interval - perf_counter()))
    if not metering:
        meter.start()
    await asyncio.sleep(max(0.0, load.t1 - perf_counter()))
    window = await meter.stop()
    problems = await settle(clients, shared)
    unacked = scheduled - len(load.latencies)
    result = OpenResult(
        target=rate,
        scheduled=scheduled,
        acks_in_window=load.acks_in_window,
        unacked=unacked,
        late=late,
        max_lag=max_lag,
        window=window,
        latencies=sorted(load.latencies),
    )
    return result, problems


async def wait_until(condition: Callable[[], bool], deadline: float, step: float = 0.01) -> bool:
    """Poll ``condition`` until it holds or ``time.monotonic()`` passes ``deadline``."""
    for _ in range(int(max(0.0, deadline - time.monotonic()) / step) + 1):
        if condition():
            return True
        await asyncio.sleep(step)
    return condition()


async def settle(clients: Sequence[LeanClient], shared: bool) -> list[str]:
    """Wait (bounded) for every ack and every delivery, then say what is missing.

    Every acked message must reach each connection of its room exactly once: with a shared
    room, every connection gets every message; with separate rooms, each its own.
    """
    deadline = time.monotonic() + SETTLE_TIMEOUT
    await wait_until(lambda: not any(c.pending for c in clients), deadline)
    total = sum(c.acked for c in clients)

    def expected(client: LeanClient) -> int:
        return total if shared else client.acked

    await wait_until(lambda: all(c.events >= expected(c) for c in clients), deadline)
    await asyncio.sleep(0.2)  # anything still arriving would be a duplicate: let it show
    problems = []
    unacked = sum(len(c.pending) for c in clients)
    if unacked:
        problems.append(f"{unacked} sends never acked within {SETTLE_TIMEOUT:.0f} s")
    wrong = [c for c in clients if c.events != expected(c)]
    if wrong:
        sample = ", ".join(f"#{c.index}: {c.events} of {expected(c)}" for c in wrong[:5])
        problems.append(f"{len(wrong)} connections got the wrong number of events ({sample})")
    return problems


# -- one run -----------------------------------------------------------------------------------


async def register_users(port: int, count: int) -> list[str]:
    """Sign up ``count`` users (a few at a time) and return their session tokens."""
    slots = asyncio.Semaphore(8)

    async def one(index: int) -> str:
        name = f"bench{index:03d}"
        async with slots:
            status, body = await http_post_json(
                HOST, port, "/api/register", {"username": name, "password": PASSWORD}
            )
        if status != 201:
            raise RuntimeError(f"registering {name} failed: {status} {body}")
        return str(body["token"])

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def connect_all(
    port: int, tokens: Sequence[str], shared: bool, text: bytes
) -> list[LeanClient]:
    """Connect every user, start its event stream, and (separate rooms) create its room."""
    slots = asyncio.Semaphore(16)

    async def one(index: int, token: str) -> LeanClient:
        room = "lobby" if shared else f"r{index}"
        async with slots:
            client = await connect(
                index=index, host=HOST, port=port, token=token, room=room, text=text
            )
            await client.command({"type": "resume", "rooms": {}})
            if not shared:
                await client.command({"type": "create", "room": room})
                # The room's first event (this user's join) follows the reply: wait for it,
                # so that it is not counted as a delivery of the first phase.
                joined = await wait_until(lambda: client.events >= 1, time.monotonic() + 10)
                if not joined:
                    raise RuntimeError(f"no join event in {room} after creating it")
        return client

    return list(await asyncio.gather(*(one(i, t) for i, t in enumerate(tokens))))


async def run_once(args: argparse.Namespace, mode: str, index: int) -> RunResult:
    """One fresh server and database; the closed loop, then the open loop."""
    shared = mode == "shared"
    result = RunResult(mode, index)
    # SIGTERM cancels the run like Ctrl+C does (asyncio.Runner handles SIGINT): the finally
    # below then stops this run's server. An exception raised by a plain signal handler
    # would land in some protocol callback instead, where uvloop swallows it.
    task = asyncio.current_task()
    if task is not None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    # A caller may give the text itself (bench/search.py: words to index, not one long token).
    given: str | None = getattr(args, "text", None)
    text = given.encode() if given else b"x" * args.text_size
    perf = args.perf
    flags = list(args.server_flags)
    database = None
    if args.postgres:  # a database of its own per run, as each SQLite run has a fresh file
        database = await create_database(args.postgres)
        flags += ["--db", with_database(args.postgres, database)]
    with tempfile.TemporaryDirectory(prefix="parley-bench-", dir=args.tmpdir) as tmp:
        server = ParleyServer(Path(tmp), cpu=args.server_cpu, flags=flags)
        clients: list[LeanClient] = []
        try:
            await server.start()
            if server.affinity() != {args.server_cpu}:
                raise RuntimeError(f"the server runs on CPUs {server.affinity()}")
            tokens = await register_users(server.port, args.senders)
            clients = await connect_all(server.port, tokens, shared, text)
            gc.collect()
            gc.freeze()  # setup garbage stays out of the measured collections

            await _calm_down(args, result, "closed loop")
            counter = SyscallCounter(server.pid, Path(tmp) / "closed.perf") if perf else None
            meter = Meter(server, clients, counter, args.client_cpu)
            closed, problems = await closed_loop(clients, meter, args.warmup, args.duration, shared)
            if counter is not None:
                closed.window.syscalls = counter.finish()
            result.closed = closed
            result.errors += [f"closed loop: {p}" for p in problems]
            _progress(f"{mode} run {index}: closed loop {closed.rate:,.0f} acked sends/s")

            rate = args.rate or closed.rate / 2
            if rate <= 0:
                result.errors.append("the closed loop acked nothing: no rate for the open loop")
                return result
            await asyncio.sleep(0.5)
            await _calm_down(args, result, "open loop")
            counter = SyscallCounter(server.pid, Path(tmp) / "open.perf") if perf else None
            meter = Meter(server, clients, counter, args.client_cpu)
            opened, problems = await open_loop(
                clients, meter, rate, min(args.warmup, 1.0), args.duration, shared
            )
            if counter is not None:
                opened.window.syscalls = counter.finish()
            result.open = opened
            result.errors += [f"open loop: {p}" for p in problems]
            _progress(
                f"{mode} run {index}: open loop {opened.ack_rate:,.0f}/s of {rate:,.0f}/s, "
                f"p99 {percentile(opened.latencies, 0.99) * 1e3:.1f} ms"
            )
        except Exception as exc:  # keep what was measured and what the clients saw
            result.errors.append(f"the run failed: {exc!r}")
        finally:
            gc.unfreeze()
            for client in clients:
                result.errors += [f"connection {client.index}: {e}" for e in client.errors[:3]]
                client.close()
            await asyncio.sleep(0.2)
            await asyncio.to_thread(server.stop)
            result.server_log = server.log_problems()
            if server.returncode not in (0, None):
                result.errors.append(f"the server exited with {server.returncode}")
            if database is not None:
                await drop_database(args.postgres, database)
    return result


async def _calm_down(args: argparse.Namespace, result: RunResult, phase: str) -> None:
    """Wait (bounded) until other processes leave both cores nearly idle: this machine is
    shared, and a test suite running next to the benchmark halves its figures."""
    if args.quiet_patience <= 0:
        return
    quiet, shares = await wait_for_quiet(
        (args.server_cpu, args.client_cpu),
        threshold=args.quiet_below,
        patience=args.quiet_patience,
    )
    if not quiet:
        load = ", ".join(f"CPU {core} {shares.get(core, 0):.0%}" for core in sorted(shares))
        result.noisy_starts.append(f"{phase} started on a busy machine ({load})")
        _progress(f"{result.mode} run {result.index}: {phase} starts on a busy machine: {load}")


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# -- the report --------------------------------------------------------------------------------

Cell = float | None


def _ms(seconds: Cell) -> str:
    return "-" if seconds is None else f"{seconds * 1e3:.2f}"


def _pct(share: Cell) -> str:
    return "-" if share is None else f"{share * 100:.0f}%"


def _num(value: Cell, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _client_cpu(share: Cell) -> str:
    return _pct(share) + (" ⚠" if share is not None and share >= CLIENT_BOUND else "")


def _ratio(count: Cell, per: Cell) -> Cell:
    return None if count is None or not per else count / per


def _med(values: Sequence[Cell]) -> Cell:
    """The median of the runs that have the value (None when none has it)."""
    present = [v for v in values if v is not None]
    return median(present) if present else None


def _syscalls(window: Window, *names: str) -> Cell:
    if not window.syscalls:
        return None
    return float(sum(window.syscalls.get(name, 0) for name in names))


def _commits(window: Window) -> Cell:
    """Committed write transactions: the server's own count when it publishes one, else the
    fdatasync calls (one per commit in WAL mode with synchronous=full, plus checkpoints)."""
    if "commits" in window.metrics:
        return window.metrics["commits"]
    return _syscalls(window, "fdatasync", "fsync")


def _closed_cells(c: ClosedResult) -> list[Cell]:
    lat = c.latencies
    w = c.window
    return [
        c.rate,
        percentile(lat, 0.50),
        percentile(lat, 0.90),
        percentile(lat, 0.99),
        lat[-1] if lat else None,
        w.client_cpu,
        w.server_loop_cpu,
        w.server_other_cpu,
        w.noise_server_core,
        w.noise_client_core,
    ]


def _closed_row(label: str, cells: Sequence[Cell]) -> list[str]:
    rate, p50, p90, p99, top, client, loop, others, noise_server, noise_client = cells
    return [
        label,
        _num(rate),
        _ms(p50),
        _ms(p90),
        _ms(p99),
        _ms(top),
        _client_cpu(client),
        f"{_pct(loop)} + {_pct(others)}",
        f"{_pct(noise_server)} / {_pct(noise_client)}",
    ]


CLOSED_HEADER = [
    "run",
    "acked sends/s",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "max ms",
    "load-gen CPU",
    "server CPU: loop + other threads",
    "others' load: server / load-gen core",
]


def _cost_cells(acks: int, w: Window) -> list[Cell]:
    commits = _commits(w)
    m = w.metrics
    return [
        w.events / w.seconds,
        _ratio(commits, w.seconds),
        _ratio(acks, commits),
        _ratio(m.get("commit_seconds"), m.get("commits")),
        _ratio(m.get("commit_seconds"), w.seconds),
        _ratio(m.get("fanout_seconds"), m.get("fanouts")),
        _ratio(_syscalls(w, "fdatasync", "fsync"), commits),
        _ratio(_syscalls(w, "pwrite64"), acks),
        _ratio(m.get("socket_writes", _syscalls(w, "write", "writev")), acks),
        _ratio(_syscalls(w, "futex"), acks),
    ]


def _cost_row(label: str, cells: Sequence[Cell]) -> list[str]:
    events, commits, batch, commit_time, writer_busy, fanout, syncs, pwrites, writes, futex = cells
    return [
        label,
        _num(events),
        _num(commits),
        _num(batch, 1),
        _ms(commit_time),
        _pct(writer_busy),
        "-" if fanout is None else f"{fanout * 1e6:.0f}",
        _num(syncs, 2),
        _num(pwrites, 1),
        _num(writes, 2),
        _num(futex, 2),
    ]


COST_HEADER = [
    "run",
    "events recv/s",
    "commits/s",
    "acks per commit",
    "commit ms (avg)",
    "writer in commits",
    "fan-out µs/event",
    "fdatasync per commit",
    "file writes (pwrite) per ack",
    "socket writes per ack",
    "futex per ack",
]


def _open_cells(o: OpenResult) -> list[Cell]:
    lat = o.latencies
    w = o.window
    return [
        o.target,
        o.ack_rate,
        percentile(lat, 0.50),
        percentile(lat, 0.99),
        lat[-1] if lat else None,
        float(o.late),
        o.max_lag,
        float(o.unacked),
        w.client_cpu,
        w.server_loop_cpu,
        w.server_other_cpu,
        w.noise_server_core,
        w.noise_client_core,
        float(w.client_preempted),
        _ratio(o.acks_in_window, _commits(w)),
    ]


def _open_row(
    label: str, cells: Sequence[Cell], *, verdicts: dict[str, str], summary: str
) -> list[str]:
    """A run's line (its verdict) or the median line (how many runs achieved the rate)."""
    target, acked, p50, p99, top, late, lag, unacked, client, loop, others = cells[:11]
    noise_server, noise_client, preempted, batch = cells[11:]
    achieved = verdicts.get(label, summary)
    return [
        label,
        _num(target),
        _num(acked),
        _ms(p50),
        _ms(p99),
        _ms(top),
        f"{_num(late)} (max lag {_ms(lag)} ms)",
        _num(unacked),
        achieved,
        _client_cpu(client),
        f"{_pct(loop)} + {_pct(others)}",
        f"{_pct(noise_server)} / {_pct(noise_client)}",
        _num(preempted),
        _num(batch, 1),
    ]


OPEN_HEADER = [
    "run",
    "target/s",
    "acked/s",
    "p50 ms",
    "p99 ms",
    "max ms",
    "sends >10 ms late",
    "unacked",
    "achieved",
    "load-gen CPU",
    "server CPU: loop + other threads",
    "others' load: server / load-gen core",
    "load-gen preempted",
    "acks per commit",
]


def _with_median(
    rows: Sequence[tuple[str, list[Cell]]], render_row: Callable[[str, list[Cell]], list[str]]
) -> list[list[str]]:
    """One line per run, then the median of each column over the runs."""
    lines = [render_row(label, cells) for label, cells in rows]
    if len(rows) > 1:
        columns = list(zip(*(cells for _, cells in rows), strict=True))
        lines.append(render_row("**median**", [_med(column) for column in columns]))
    return lines


def describe(url: str) -> str:
    """``host:port`` of a PostgreSQL URL, without a user or password (for the report)."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.hostname}:{parts.port or 5432}"


def render(args: argparse.Namespace, runs: Sequence[RunResult]) -> str:
    db_dir = args.tmpdir or tempfile.gettempdir()
    out = ["# Parley send → ack", ""]
    out += [f"- {name}: {value}" for name, value in machine_info(REPO)]
    out += [
        f"- load: {args.senders} senders, {args.text_size}-byte texts, warm-up {args.warmup:g} s, "
        f"measured {args.duration:g} s per phase, {args.runs} run(s) per mode, a fresh server "
        "and database per run",
        f"- server: `parley serve {' '.join(args.server_flags)}` (flags that lift the per-user "
        "rate limit, when this version has them), pinned to CPU "
        f"{args.server_cpu}; load generator pinned to CPU {args.client_cpu}; loopback",
        (
            f"- store: PostgreSQL at {describe(args.postgres)}, a new database per run"
            if args.postgres
            else "- SQLite synchronous: full (the server's default; `parley serve` has no flag "
            "to change it, so no other mode was measured)"
        ),
        f"- databases in: {db_dir}, file system {filesystem_of(Path(db_dir))}",
        "",
        "CPU is a share of one core over the measured window. ⚠ marks a load generator above "
        f"{CLIENT_BOUND:.0%} of its core: it may have been the bottleneck, so that figure is a "
        "lower bound. *server CPU* is the event-loop thread + every other thread (SQLite's "
        "writer and readers); they share one core. *commits*: the server's own count from "
        "`/metrics` when it has one, else fdatasync calls counted with perf. *writer in "
        "commits*: share of the window the SQLite writer spent inside transactions. *others' "
        "load*: what other processes (this machine is shared) used of the server's and the load "
        "generator's cores during the window; each phase first waited up to "
        f"{args.quiet_patience:g} s for both cores to be below {args.quiet_below:.0%} busy. "
        "*load-gen preempted*: involuntary context switches of the load generator (the kernel "
        "gave its core to another process); they stall its schedule and show as late sends.",
        "",
    ]
    for mode in dict.fromkeys(r.mode for r in runs):
        mine = [r for r in runs if r.mode == mode]
        fanout = f"fan-out to all {args.senders}" if mode == "shared" else "fan-out of 1"
        closed = [(str(r.index), r.closed) for r in mine if r.closed is not None]
        opened = [(str(r.index), r.open) for r in mine if r.open is not None]
        out += [f"## rooms: {mode} ({fanout})", "", "### closed loop", ""]
        rows = _with_median([(i, _closed_cells(c)) for i, c in closed], _closed_row)
        out += [table(CLOSED_HEADER, rows), ""]
        out += ["### closed loop: where the server's time goes", ""]
        rows = _with_median([(i, _cost_cells(c.acks, c.window)) for i, c in closed], _cost_row)
        out += [table(COST_HEADER, rows), ""]
        out += ["### open loop (latency counted from each send's scheduled time)", ""]
        verdicts = {i: "yes" if o.achieved else "NO" for i, o in opened}
        summary = f"{sum(o.achieved for _, o in opened)} of {len(opened)}"
        rows = _with_median(
            [(i, _open_cells(o)) for i, o in opened],
            functools.partial(_open_row, verdicts=verdicts, summary=summary),
        )
        out += [table(OPEN_HEADER, rows), ""]
        for r in mine:
            if r.errors:
                out += [f"**{mode} run {r.index} had errors: its figures are not valid.**", ""]
                out += [f"- {e}" for e in r.errors[:20]] + [""]
            if r.noisy_starts:
                out += [f"{mode} run {r.index}: " + "; ".join(r.noisy_starts), ""]
            if r.server_log:
                out += [f"{mode} run {r.index}: server log lines worth a look:", ""]
                out += [f"    {line}" for line in r.server_log[:10]] + [""]
    return "\n".join(out)


# -- command line ------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Parley send → ack throughput and latency (closed and open loop).",
        epilog="Run from the repository root with the project's venv: "
        ".venv/bin/python bench/send_ack.py",
    )
    parser.add_argument("--senders", type=int, default=100, help="connections that send")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per phase")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds first")
    parser.add_argument(
        "--rooms",
        choices=("shared", "separate", "both"),
        default="both",
        help="shared: everyone in the lobby (fan-out to all); separate: a room each; both",
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per mode, each a fresh server")
    parser.add_argument(
        "--rate", type=float, default=None, help="open-loop sends/s (default: half the closed)"
    )
    parser.add_argument("--text-size", type=int, default=64, help="bytes of text per message")
    parser.add_argument("--out", type=Path, default=None, help="also write the report here")
    parser.add_argument(
        "--postgres",
        default=None,
        metavar="URL",
        help="store on this PostgreSQL server instead of SQLite (postgresql://user@host:port/db"
        "; each run creates a database of its own there, dropped afterwards)",
    )
    parser.add_argument("--server-cpu", type=int, default=0, help="CPU the server is pinned to")
    parser.add_argument("--client-cpu", type=int, default=1, help="CPU this process is pinned to")
    parser.add_argument(
        "--tmpdir", default=None, help="where the databases go (must not be tmpfs to mean fsync)"
    )
    parser.add_argument(
        "--no-perf", dest="perf", action="store_false", help="do not count syscalls with perf"
    )
    parser.add_argument(
        "--quiet-below",
        type=float,
        default=0.15,
        help="before each phase, wait until other processes keep both cores below this share",
    )
    parser.add_argument(
        "--quiet-patience",
        type=float,
        default=60.0,
        help="seconds to wait for that before measuring anyway (0: do not wait)",
    )
    args = parser.parse_args(argv)
    if args.senders < 1 or args.runs < 1 or args.duration <= 0 or args.warmup < 0:
        parser.error("--senders and --runs must be ≥ 1, --duration > 0, --warmup ≥ 0")
    if not 1 <= args.text_size <= 3000:
        parser.error("--text-size must be 1 to 3000 bytes (the server's limit is 4000)")
    if args.rate is not None and args.rate <= 0:
        parser.error("--rate must be positive")
    cpus = os.sched_getaffinity(0)
    if args.server_cpu == args.client_cpu or not {args.server_cpu, args.client_cpu} <= cpus:
        parser.error(f"--server-cpu and --client-cpu must be two different CPUs of {cpus}")
    return args


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop when installed: the load generator needs the cheaper event loop most."""
    try:
        import uvloop
    except ImportError:
        _progress("uvloop is not installed: the load generator runs on asyncio's own loop")
        return None
    return uvloop.new_event_loop


def main() -> int:
    args = parse_args()
    os.sched_setaffinity(0, {args.client_cpu})
    if args.perf and not SyscallCounter.available():
        _progress("perf cannot count syscall tracepoints here: no group-commit figures")
        args.perf = False
    loop_factory = _loop_factory()
    args.server_flags = unlimited_flags()
    modes = ["shared", "separate"] if args.rooms == "both" else [args.rooms]
    # Each run: two waits for quiet, two phases, two settles, plus set-up and shut-down.
    budget = 2 * (args.quiet_patience + args.warmup + args.duration + SETTLE_TIMEOUT) + 120
    runs: list[RunResult] = []
    interrupted = False
    try:
        for mode, index in [(m, i) for m in modes for i in range(1, args.runs + 1)]:
            try:
                with asyncio.Runner(loop_factory=loop_factory) as runner:
                    coro = asyncio.wait_for(run_once(args, mode, index), budget)
                    runs.append(runner.run(coro))
            except (KeyboardInterrupt, asyncio.CancelledError):  # Ctrl+C or SIGTERM
                _progress(f"interrupted during {mode} run {index}: reporting the runs done")
                interrupted = True
                break
            except Exception as exc:  # one broken run must not hide the others
                _progress(f"{mode} run {index} failed: {exc!r}")
                runs.append(RunResult(mode, index, errors=[f"the run failed: {exc!r}"]))
    finally:
        stop_all()  # whatever happened, leave no server behind
    report = render(args, runs)
    print(report)
    if args.out is not None:
        args.out.write_text(report + "\n")
    if interrupted:
        return 130
    return 1 if any(r.errors for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
