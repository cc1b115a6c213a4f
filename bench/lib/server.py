"""The server under test, as a real process, and what can be seen of it from outside.

Benchmarks must not change the server, so everything here observes it from the operating
system: CPU time per thread from ``/proc`` (the event-loop thread is the one whose id is the
process id; the others are SQLite's writer and readers, and the hashing pool), and system
call counts from ``perf stat`` tracepoints (``fdatasync`` ≈ one per committed write
transaction, ``write``/``writev`` = socket writes). Tracepoint counting happens in the
kernel, so unlike ``strace`` it does not slow the server down.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

PORT_LINE = re.compile(r"socket initialized on port (\d+)")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

#: Cheap password hashing: it only makes signing up 100 users fast; it changes nothing else.
FAST_SIGNUP_ENV = {"PARLEY_ARGON2_TIME_COST": "1", "PARLEY_ARGON2_MEMORY_KIB": "8192"}

#: System calls counted in the server during a measurement window.
SYSCALLS = ("fdatasync", "fsync", "pwrite64", "write", "writev", "read", "futex")


@dataclass(frozen=True)
class ThreadTimes:
    """CPU seconds (user + system) of the server's event-loop thread and of its other threads."""

    loop: float
    others: float

    def __sub__(self, earlier: ThreadTimes) -> ThreadTimes:
        return ThreadTimes(self.loop - earlier.loop, self.others - earlier.others)


def unlimited_flags() -> list[str]:
    """``parley serve`` flags that lift limits made for people, not for a load generator.

    The per-user rate limit (10 commands/s by default) would refuse a benchmark's sends, the
    guests' per-address rate (20/s for all guests of 127.0.0.1) slow its plain-text senders to a
    crawl, the sign-up throttle its users, the per-address connection limit its connections;
    they are lifted when this version of the server has the flags (they are looked up in
    ``--help``, so the benchmark also runs against versions without them).
    """
    done = subprocess.run(
        [sys.executable, "-m", "parley", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    flags = []
    if "--rate-limit" in done.stdout:
        flags += ["--rate-limit", "1000000000"]
    if "--rate-burst" in done.stdout:
        flags += ["--rate-burst", "1000000000"]
    if "--guest-ip-rate" in done.stdout:  # all the load generator's guests share one address
        flags += ["--guest-ip-rate", "1000000000"]
    if "--auth-rate" in done.stdout:
        flags += ["--auth-rate", "1000000"]
    if "--max-connections-per-ip" in done.stdout:
        flags += ["--max-connections", "1000000", "--max-connections-per-ip", "1000000"]
    return flags


#: Servers started and not yet stopped, so that an interrupted benchmark leaves none behind.
_RUNNING: set[ParleyServer] = set()


def stop_all() -> None:
    """Stop every server still running (for the benchmark's last ``finally``)."""
    for server in list(_RUNNING):
        server.stop()


def backend_pids(database: str) -> list[int]:
    """The PostgreSQL backends connected to ``database``, found by their process title
    (``postgres: [CLUSTER:] USER DATABASE HOST ...``; Debian names the cluster, ``15/main:``)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            title = (proc / "cmdline").read_bytes().replace(b"\0", b" ").split()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if title[:1] == [b"postgres:"] and database.encode() in title[2:4]:
            found.append(int(proc.name))
    return found


def backend_cpu(database: str, pids: list[int] | None = None) -> float:
    """CPU seconds so far of the PostgreSQL backends connected to ``database`` (or of
    ``pids``), from ``/proc/PID/schedstat`` (nanoseconds: fine enough for one query); a
    backend that ended between two readings takes its time with it."""
    total = 0
    for pid in backend_pids(database) if pids is None else pids:
        try:
            total += int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total / 1e9


class ParleyServer:
    """``parley serve`` on 127.0.0.1, pinned to one CPU with ``taskset``, on a fresh database
    (or, with ``command="echo"``, ``parley echo``: the same process handling, no database)."""

    def __init__(
        self,
        workdir: Path,
        *,
        cpu: int,
        flags: Sequence[str] = (),
        log_level: str = "info",
        command: str = "serve",
    ) -> None:
        self.workdir = workdir
        #: ``serve`` (the chat server) or ``echo`` (the tutorial's echo, which has no ``--db``).
        self.command = command
        self.db = workdir / "bench.db"
        self.log_path = workdir / "server.log"
        self.cpu = cpu
        self.flags = list(flags)
        self.log_level = log_level
        self.port = 0
        self.pid = 0
        self.returncode: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def argv(self) -> list[str]:
        return [
            "taskset",
            "-c",
            str(self.cpu),
            sys.executable,
            "-m",
            "parley",
            self.command,
            "--port",
            "0",
            *(["--db", str(self.db)] if self.command == "serve" else []),
            "--log-level",
            self.log_level,
            *self.flags,
        ]

    def _spawn(self) -> subprocess.Popen[bytes]:
        env = {**os.environ, **FAST_SIGNUP_ENV, "PYTHONUNBUFFERED": "1"}
        with self.log_path.open("wb") as log:
            return subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
            )

    async def start(self, within: float = 30.0) -> None:
        """Start the process and wait for its port line (``taskset`` execs, so the pid is
        the server's own)."""
        proc = self._proc = self._spawn()
        _RUNNING.add(self)
        self.pid = proc.pid
        for _ in range(int(within / 0.05)):
            match = PORT_LINE.search(self.log_path.read_text(errors="replace"))
            if match:
                self.port = int(match.group(1))
                return
            if proc.poll() is not None:
                break
            await asyncio.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the server did not start; its log:\n{self.log_text()}")

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_problems(self) -> list[str]:
        """Log lines that say something went wrong (errors, warnings, slow clients closed)."""
        return [
            line
            for line in self.log_text().splitlines()
            if " ERROR " in line or " WARNING " in line or "closing " in line or "Traceback" in line
        ]

    def thread_times(self) -> ThreadTimes:
        """CPU time so far, split into the event-loop thread and every other thread."""
        loop = others = 0
        for task in Path(f"/proc/{self.pid}/task").iterdir():
            try:
                stat = (task / "stat").read_text()
            except FileNotFoundError:  # a thread that just ended
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            ticks = int(fields[11]) + int(fields[12])  # utime + stime (fields 14 and 15)
            if int(task.name) == self.pid:
                loop += ticks
            else:
                others += ticks
        return ThreadTimes(loop / CLOCK_TICKS, others / CLOCK_TICKS)

    def database_cpu(self) -> float:
        """CPU seconds so far of the database server processes working for this server (0
        here: SQLite runs inside the server). A subclass on PostgreSQL sums its backends
        (:func:`backend_cpu`), so that CPU per acknowledged message counts the database too."""
        return 0.0

    def affinity(self) -> set[int]:
        return os.sched_getaffinity(self.pid)

    def alive(self) -> bool:
        """Whether the process is still running (a run checks it before stopping the server,
        to tell a crash from the SIGTERM it sends)."""
        return self._proc is not None and self._proc.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (graceful: closes every WebSocket with 1001), then SIGKILL if it hangs."""
        _RUNNING.discard(self)
        proc = self._proc
        if proc is None or proc.poll() is not None:
            self.returncode = None if proc is None else proc.returncode
            return
        proc.send_signal(signal.SIGTERM)
        try:
            self.returncode = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            self.returncode = proc.wait(5)


class SyscallCounter:
    """``perf stat`` attached to the server, counting chosen system calls between
    :meth:`enable` and :meth:`disable` (perf's control pipe makes the window exact)."""

    def __init__(self, pid: int, out: Path) -> None:
        self.out = out
        events = ",".join(f"syscalls:sys_enter_{name}" for name in SYSCALLS)
        ctl_read, self._ctl = os.pipe()
        self._ack, ack_write = os.pipe()
        self._proc = subprocess.Popen(
            [
                "perf",
                "stat",
                "-x,",
                "-o",
                str(out),
                "-D",
                "-1",
                "--control",
                f"fd:{ctl_read},{ack_write}",
                "-e",
                events,
                "-p",
                str(pid),
            ],
            pass_fds=(ctl_read, ack_write),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(ctl_read)
        os.close(ack_write)

    @staticmethod
    def available() -> bool:
        """Whether ``perf`` can count system-call tracepoints here."""
        if shutil.which("perf") is None:
            return False
        probe = subprocess.run(
            ["perf", "stat", "-x,", "-e", "syscalls:sys_enter_fdatasync", "true"],
            capture_output=True,
            timeout=30,
            check=False,
        )
        return probe.returncode == 0

    def _control(self, command: bytes) -> None:
        os.write(self._ctl, command + b"\n")
        os.read(self._ack, 16)  # "ack\n": perf has applied the command

    def enable(self) -> None:
        self._control(b"enable")

    def disable(self) -> None:
        self._control(b"disable")

    def finish(self) -> dict[str, int]:
        """Stop perf and return the counts, by system call name."""
        self._proc.send_signal(signal.SIGINT)
        try:
            self._proc.wait(10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(5)
        os.close(self._ctl)
        os.close(self._ack)
        counts: dict[str, int] = {}
        for line in self.out.read_text().splitlines():
            fields = line.split(",")
            if len(fields) >= 3 and fields[2].startswith("syscalls:sys_enter_"):
                name = fields[2].removeprefix("syscalls:sys_enter_")
                counts[name] = int(fields[0]) if fields[0].isdigit() else -1
        return counts


async def http_request(
    host: str,
    port: int,
    method: str,
    path: str,
    body: dict[str, str] | None = None,
    within: float = 30.0,
) -> tuple[int, bytes]:
    """One HTTP/1.1 request over a fresh connection (``Connection: close``): status, body."""
    payload = json.dumps(body).encode() if body is not None else b""
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n"
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
    request = (head + "\r\n").encode() + payload

    async def exchange() -> bytes:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(request)
            return await reader.read()  # until the server closes: Connection: close
        finally:
            writer.close()

    raw = await asyncio.wait_for(exchange(), within)
    status_line, _, rest = raw.partition(b"\r\n")
    _, _, content = rest.partition(b"\r\n\r\n")
    return int(status_line.split(b" ", 2)[1]), content


async def http_post_json(
    host: str, port: int, path: str, body: dict[str, str]
) -> tuple[int, dict[str, object]]:
    """``POST`` a JSON body; returns (status, the JSON answer)."""
    status, content = await http_request(host, port, "POST", path, body)
    return status, json.loads(content) if content else {}


#: The server's own counters (``GET /metrics``, when it has them) that the report uses.
METRICS = {
    "commits": "parley_store_commit_seconds_count",
    "commit_seconds": "parley_store_commit_seconds_sum",
    "fanouts": "parley_fanout_seconds_count",
    "fanout_seconds": "parley_fanout_seconds_sum",
    "deliveries": "parley_deliveries_total",
    "socket_writes": "parley_socket_writes_total",
    "frames_out": "parley_frames_out_total",
    "rate_limited": "parley_rate_limited_total",
    "connections": "parley_connections",
}


async def scrape_metrics(port: int) -> dict[str, float]:
    """The server's counters in :data:`METRICS`, read from its ``/metrics`` page (Prometheus
    text). Empty when this server has no such page: the report then shows dashes."""
    try:
        status, content = await http_request("127.0.0.1", port, "GET", "/metrics", within=5)
    except (OSError, TimeoutError, ValueError):
        return {}
    if status != 200:
        return {}
    samples: dict[str, float] = {}
    for line in content.decode(errors="replace").splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            try:
                samples[name] = float(value)
            except ValueError:
                continue
    return {key: samples[name] for key, name in METRICS.items() if name in samples}


async def register_spread(
    ports: Sequence[int], count: int, prefix: str, password: str
) -> list[str]:
    """Register ``prefix0`` ... ``prefix{count-1}``, one after the other, each through the next
    of ``ports`` in turn (the nodes of a cluster); returns their tokens in that order."""
    tokens = []
    for n in range(count):
        status, body = await http_post_json(
            "127.0.0.1",
            ports[n % len(ports)],
            "/api/register",
            {"username": f"{prefix}{n}", "password": password},
        )
        assert status == 201, body
        tokens.append(str(body["token"]))
    return tokens
