"""Three Parley processes on one PostgreSQL and one Redis: cross-node latency and throughput.

    .venv/bin/python bench/cluster.py [--receivers 150] [--rate 200] [--duration 10]

It creates a database of its own on the local PostgreSQL server (dropped afterwards), starts
a private ``redis-server`` on a free port, and three ``parley serve`` processes (all pinned to
CPU 0, like PostgreSQL and Redis would share the machine; the load generator on CPU 1).

* **Latency**: one sender on node A posts ``--rate`` messages a second to the lobby;
  ``--receivers`` connections, spread evenly over the three nodes, timestamp every event.
  Latency is from the moment the sender wrote the frame to the moment a receiver read it
  (one machine, one monotonic clock), reported separately for receivers on the sender's node
  (local fan-out) and on the other two (through Redis).
* **Throughput**: ``--senders`` connections, spread over the nodes, each send as soon as its
  previous message is acknowledged (closed loop) for ``--duration`` seconds: acknowledged
  messages per second, and deliveries per second counted by the receivers. Every receiver
  must get every message exactly once and in order (checked by seq), or the run is invalid.

Every loop is bounded in time; the servers, Redis and the database are removed in ``finally``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lib.report import percentile
from lib.server import ParleyServer, register_spread, unlimited_flags
from lib.wsclient import accept_key, mask_frame

PG_URL = os.environ.get("PARLEY_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
PASSWORD = "cluster bench password"


class Client(asyncio.Protocol):
    """A parley.v1 connection that timestamps events (receivers) or sends them (senders)."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.token = token
        self.transport: asyncio.Transport | None = None
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._key = base64.b64encode(os.urandom(16))
        self._head = b""
        self._buf = b""
        self._upgraded = False
        self.latencies: list[int] = []  # ns
        self.seqs: list[int] = []
        self.acks = 0
        self.acked: asyncio.Event = asyncio.Event()
        self.errors: list[str] = []
        self.measure = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        assert self.transport is not None
        self.transport.write(
            b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: " + self._key + b"\r\nSec-WebSocket-Version: 13\r\n"
            b"Sec-WebSocket-Protocol: parley.v1\r\nAuthorization: Bearer "
            + self.token.encode()
            + b"\r\n\r\n"
        )

    def send_json(self, payload: bytes) -> None:
        assert self.transport is not None
        self.transport.write(mask_frame(0x1, payload))

    def data_received(self, data: bytes) -> None:
        if not self._upgraded:
            self._head += data
            end = self._head.find(b"\r\n\r\n")
            if end < 0:
                return
            if accept_key(self._key) not in self._head[:end]:
                self.errors.append("bad handshake")
            self._upgraded = True
            data, self._head = self._head[end + 4 :], b""
        buf = self._buf + data if self._buf else data
        now = time.monotonic_ns()
        pos = 0
        while len(buf) - pos >= 2:
            length, start = buf[pos + 1] & 0x7F, pos + 2
            if length == 126:
                if len(buf) - pos < 4:
                    break
                length, start = int.from_bytes(buf[pos + 2 : pos + 4], "big"), pos + 4
            elif length == 127:
                if len(buf) - pos < 10:
                    break
                length, start = int.from_bytes(buf[pos + 2 : pos + 10], "big"), pos + 10
            if start + length > len(buf):
                break
            opcode = buf[pos] & 0x0F
            self._on_frame(opcode, buf[start : start + length], now)
            pos = start + length
        self._buf = buf[pos:]

    def _on_frame(self, opcode: int, payload: bytes, now: int) -> None:
        if opcode == 0x9 and self.transport is not None:
            self.transport.write(mask_frame(0xA, payload))
            return
        if opcode != 0x1:
            return
        if payload.startswith(b'{"type":"event"'):
            if b'"kind":"message"' not in payload:
                return
            seq_at = payload.find(b'"seq":') + 6
            self.seqs.append(int(payload[seq_at : payload.find(b",", seq_at)]))
            ts_at = payload.find(b"ts=")
            if self.measure and ts_at >= 0:
                end = payload.find(b" ", ts_at)
                self.latencies.append(now - int(payload[ts_at + 3 : end]))
        elif payload.startswith(b'{"type":"ack"'):
            self.acks += 1
            self.acked.set()
        elif payload.startswith(b'{"type":"resumed"'):
            if not self.ready.done():
                self.ready.set_result(None)
        elif payload.startswith(b'{"type":"error"'):
            self.errors.append(payload.decode(errors="replace")[:200])


async def connect(port: int, token: str) -> Client:
    loop = asyncio.get_running_loop()
    _, client = await loop.create_connection(lambda: Client(port, token), "127.0.0.1", port)
    client.send_json(b'{"type":"resume","rooms":{}}')
    await asyncio.wait_for(client.ready, 15)
    return client


def send_text(client: Client, n: int, tag: str) -> None:
    text = f"ts={time.monotonic_ns()} n={n} {tag}"
    client.send_json(
        b'{"type":"send","room":"lobby","text":"%s","cid":"%s-%d"}'
        % (text.encode(), tag.encode(), n)
    )


async def create_database() -> str:
    import asyncpg  # type: ignore[import-untyped]

    name = f"parley_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(PG_URL, timeout=5)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    finally:
        await admin.close()
    return PG_URL.rsplit("/", 1)[0] + "/" + name


async def drop_database(url: str) -> None:
    import asyncpg

    admin = await asyncpg.connect(PG_URL, timeout=5)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    finally:
        await admin.close()


def start_redis(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    # Wait until it answers, not a fixed time: a node started against a Redis that is not
    # listening yet would refuse to start.
    deadline = time.monotonic() + 10
    while True:
        try:
            with redis.Redis.from_url(url, socket_connect_timeout=0.2) as client:
                client.ping()
            return process, url
        except (redis.RedisError, OSError):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                process.wait(5)
                raise SystemExit(f"cluster.py: redis-server on port {port} did not start") from None
            time.sleep(0.02)


def summary(values_ns: list[int]) -> str:
    if not values_ns:
        return "—"
    ms = sorted(v / 1e6 for v in values_ns)
    return f"{percentile(ms, 0.50):.2f} / {percentile(ms, 0.99):.2f} / {ms[-1]:.2f}"


async def run(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="parley-cluster-"))
    db_url = await create_database()
    redis, redis_url = start_redis(workdir)
    nodes: list[ParleyServer] = []
    try:
        flags = [*unlimited_flags(), "--db", db_url, "--broker", redis_url, "--no-access-log"]
        for index in range(3):
            folder = workdir / f"node{index}"
            folder.mkdir()
            node = ParleyServer(folder, cpu=args.server_cpu, flags=flags, log_level="warning")
            await node.start()
            nodes.append(node)
        tokens = await register_spread(
            [node.port for node in nodes], max(args.receivers, args.senders) + 1, "bench", PASSWORD
        )
        receivers = [await connect(nodes[i % 3].port, tokens[i]) for i in range(args.receivers)]
        await asyncio.sleep(1.0)

        # -- latency: one sender on node 0, fixed rate --------------------------------------
        sender = await connect(nodes[0].port, tokens[-1])
        for r in receivers:
            r.measure = True
        count = int(args.rate * args.duration)
        started = time.monotonic()
        for n in range(count):
            due = started + n / args.rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            send_text(sender, n, "lat")
        await asyncio.sleep(2.0)
        local = [v for i, r in enumerate(receivers) if i % 3 == 0 for v in r.latencies]
        remote = [v for i, r in enumerate(receivers) if i % 3 != 0 for v in r.latencies]
        missing = sum(count - len(r.latencies) for r in receivers)
        for r in receivers:
            r.measure = False

        # -- throughput: closed-loop senders on every node ----------------------------------
        senders = [await connect(nodes[i % 3].port, tokens[i]) for i in range(args.senders)]
        before = [len(r.seqs) for r in receivers]
        stop = time.monotonic() + args.duration

        async def closed_loop(client: Client, tag: str) -> int:
            sent = 0
            while time.monotonic() < stop:
                client.acked.clear()
                send_text(client, sent, tag)
                await asyncio.wait_for(client.acked.wait(), 10)
                sent += 1
            return sent

        t0 = time.monotonic()
        sent = sum(await asyncio.gather(*(closed_loop(s, f"t{i}") for i, s in enumerate(senders))))
        elapsed = time.monotonic() - t0
        await asyncio.sleep(3.0)
        delivered = sum(len(r.seqs) - b for r, b in zip(receivers, before, strict=True))
        problems = [e for c in [*receivers, sender, *senders] for e in c.errors]
        for r in receivers:
            if r.seqs != sorted(set(r.seqs)):
                problems.append("a receiver saw a duplicate or an out-of-order event")
        expected = sent * len(receivers)

        print(f"\n## Three nodes, PostgreSQL + Redis ({time.strftime('%Y-%m-%d')})\n")
        print(
            f"{args.receivers} receivers spread over 3 nodes; server processes on CPU "
            f"{args.server_cpu}, load generator on CPU {args.client_cpu}.\n"
        )
        print("| measure | local node (same as sender) | other nodes (via Redis) |")
        print("|---|---|---|")
        print(
            f"| latency at {args.rate:g} msg/s, ms p50 / p99 / max | {summary(local)} | "
            f"{summary(remote)} |"
        )
        print(f"\nmissing at fixed rate: {missing}\n")
        print("| closed loop | value |")
        print("|---|---|")
        print(f"| senders (spread over 3 nodes) | {args.senders} |")
        print(f"| acked sends/s | {sent / elapsed:,.0f} |")
        print(f"| deliveries/s (counted by receivers) | {delivered / elapsed:,.0f} |")
        print(f"| deliveries expected / counted | {expected:,} / {delivered:,} |")
        print(f"| load generator CPU | {_own_cpu(t0):.0%} |")
        print("\nproblems:", "; ".join(problems[:5]) if problems else "none")
        return 0 if not problems and delivered == expected and missing == 0 else 1
    finally:
        for node in nodes:
            node.stop()
        redis.kill()
        redis.wait(5)
        await drop_database(db_url)


def _own_cpu(since: float) -> float:
    times = os.times()
    return (times.user + times.system) / max(time.monotonic() - since, 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--receivers", type=int, default=150)
    parser.add_argument("--senders", type=int, default=30)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--server-cpu", type=int, default=0)
    parser.add_argument("--client-cpu", type=int, default=1)
    args = parser.parse_args()
    os.sched_setaffinity(0, {args.client_cpu})
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
