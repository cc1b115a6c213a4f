"""Soak: thousands of clients connecting and disconnecting for minutes; RSS and fds must stay flat.

Not part of the test suite (it runs for minutes). It starts ``parley serve`` pinned to one
CPU, keeps ``--clients`` connections open (two thirds signed-in ``parley.v1`` clients, one
third plain-text guests), and every second replaces ``--churn`` of them: half leave cleanly
(close frame), half vanish (the socket is aborted, no close frame). Signed-in clients also
chat a little. Every ``--sample`` seconds it records the server's resident memory, its open
file descriptors and the connections it reports at ``/metrics``.

The verdict compares the end of the run with the first sample after warm-up: a leak of
connection state shows up as RSS or descriptors that keep climbing while the number of
connections stays the same.

    .venv/bin/python bench/soak.py --clients 3000 --minutes 5 --churn 100
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import cast

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.lib.server import ParleyServer, http_post_json, scrape_metrics, unlimited_flags
from bench.lib.wsclient import LeanClient, connect, mask_frame

try:
    import uvloop
except ImportError:  # pragma: no cover
    uvloop = None  # type: ignore[assignment]

PASSWORD = "soak test password"


class GuestClient(asyncio.Protocol):
    """A plain-text client that reads and discards everything (like a tutorial page)."""

    #: Connections lost, for the report (ours closed included).
    lost = 0

    def __init__(self, port: int) -> None:
        self.port = port
        self.transport: asyncio.Transport | None = None
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._head = b""
        self._buf = b""
        self._upgraded = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # (uvloop's transports implement asyncio.Transport without inheriting from it.)
        self.transport = cast(asyncio.Transport, transport)
        key = base64.b64encode(os.urandom(16))
        self.transport.write(
            b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )

    def data_received(self, data: bytes) -> None:
        if self._upgraded:
            self._frames(data)
            return
        self._head += data
        if b"\r\n\r\n" in self._head:
            self._upgraded = True
            self._frames(self._head.split(b"\r\n\r\n", 1)[1])
            if not self.ready.done():
                if self._head.startswith(b"HTTP/1.1 101"):
                    self.ready.set_result(None)
                else:
                    self.ready.set_exception(RuntimeError(self._head.split(b"\r\n")[0].decode()))

    def _frames(self, data: bytes) -> None:
        """Skip messages; answer pings, as every browser does."""
        buf = self._buf + data
        pos = 0
        while len(buf) - pos >= 2:
            opcode, length, header = buf[pos] & 0x0F, buf[pos + 1] & 0x7F, 2
            if length == 126:
                if len(buf) - pos < 4:
                    break
                length, header = int.from_bytes(buf[pos + 2 : pos + 4], "big"), 4
            elif length == 127:
                if len(buf) - pos < 10:
                    break
                length, header = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
            if len(buf) - pos < header + length:
                break
            if opcode == 0x9 and self.transport is not None and not self.transport.is_closing():
                self.transport.write(mask_frame(0xA, buf[pos + header : pos + header + length]))
            pos += header + length
        self._buf = buf[pos:]

    def connection_lost(self, exc: Exception | None) -> None:
        GuestClient.lost += 1
        if not self.ready.done():
            self.ready.set_exception(ConnectionError("closed during the handshake"))

    def close(self, clean: bool) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        if clean:
            self.transport.write(mask_frame(0x8, b"\x03\xe8"))
            self.transport.close()
        else:
            self.transport.abort()


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


Client = LeanClient | GuestClient


async def open_client(port: int, tokens: list[str], index: int) -> Client:
    loop = asyncio.get_running_loop()
    if index % 3 == 2:
        _, guest = await loop.create_connection(lambda: GuestClient(port), "127.0.0.1", port)
        try:
            await asyncio.wait_for(guest.ready, 10)
        except TimeoutError:
            raise RuntimeError(f"guest handshake timed out; got {guest._head[:120]!r}") from None
        return guest
    client = await connect(
        index=index,
        host="127.0.0.1",
        port=port,
        token=tokens[index % len(tokens)],
        room="lobby",
        text=b"soak",
    )
    await client.command({"type": "resume", "rooms": {}})
    return client


def close_client(client: Client, clean: bool) -> None:
    if isinstance(client, GuestClient):
        client.close(clean)
    elif client.transport is None or client.transport.is_closing():
        return
    elif clean:
        client.transport.write(mask_frame(0x8, b"\x03\xe8"))
        client.transport.close()
    else:
        client.transport.abort()


async def run(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="parley-soak-"))
    flags = unlimited_flags()
    server = ParleyServer(workdir, cpu=args.server_cpu, flags=flags, log_level="warning")
    await server.start()
    port = server.port
    print(f"server pid {server.pid} on port {port}; {args.clients} clients, churn {args.churn}/s")
    try:
        tokens = []
        for n in range(args.users):
            status, body = await http_post_json(
                "127.0.0.1", port, "/api/register", {"username": f"soak{n}", "password": PASSWORD}
            )
            assert status == 201, body
            tokens.append(str(body["token"]))
        clients: list[Client] = []
        counter = 0
        for _ in range(0, args.clients, 100):
            batch = await asyncio.gather(
                *(open_client(port, tokens, counter + i) for i in range(100))
            )
            counter += 100
            clients.extend(batch)
        clients = clients[: args.clients]
        samples: list[tuple[float, int, int, float]] = []
        started = time.monotonic()
        next_sample = started
        failures = 0
        deadline = started + args.minutes * 60
        while time.monotonic() < deadline:
            tick = time.monotonic()
            for _ in range(args.churn):
                victim = clients.pop(random.randrange(len(clients)))
                close_client(victim, clean=random.random() < 0.5)
            replacements = await asyncio.gather(
                *(open_client(port, tokens, counter + i) for i in range(args.churn)),
                return_exceptions=True,
            )
            counter += args.churn
            for replacement in replacements:
                if isinstance(replacement, BaseException):
                    failures += 1
                else:
                    clients.append(replacement)
            talkers = [c for c in clients if isinstance(c, LeanClient)]
            for talker in random.sample(talkers, min(args.messages, len(talkers))):
                talker.send_message(time.perf_counter())
            if tick >= next_sample:
                metrics = await scrape_metrics(port)
                sample = (
                    tick - started,
                    rss_kib(server.pid),
                    fd_count(server.pid),
                    metrics.get("connections", 0.0),
                )
                samples.append(sample)
                print(
                    f"t={sample[0]:6.0f}s  rss={sample[1] / 1024:7.1f} MiB  "
                    f"fds={sample[2]:6d}  connections={sample[3]:6.0f}  failed={failures}",
                    flush=True,
                )
                next_sample += args.sample
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
        for client in clients:
            close_client(client, clean=True)
        return report(samples, args, failures)
    finally:
        server.stop()


def report(
    samples: list[tuple[float, int, int, float]], args: argparse.Namespace, failures: int
) -> int:
    warm = [s for s in samples if s[0] >= args.warmup] or samples
    first, last = warm[0], warm[-1]
    rss_growth = (last[1] - first[1]) / max(first[1], 1)
    fd_change = last[2] - first[2]
    print()
    print("| | t (s) | RSS (MiB) | open fds | connections |")
    print("|---|---|---|---|---|")
    print(
        f"| after warm-up | {first[0]:.0f} | {first[1] / 1024:.1f} | {first[2]} | {first[3]:.0f} |"
    )
    print(f"| end | {last[0]:.0f} | {last[1] / 1024:.1f} | {last[2]} | {last[3]:.0f} |")
    print()
    print(f"RSS change {rss_growth:+.1%}, fd change {fd_change:+d}, failed connects {failures}")
    flat = abs(rss_growth) < 0.10 and abs(fd_change) <= max(20, int(0.02 * args.clients))
    print("verdict:", "flat" if flat else "NOT FLAT")
    return 0 if flat else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=3000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--churn", type=int, default=100, help="connections replaced per second")
    parser.add_argument("--messages", type=int, default=20, help="messages sent per second")
    parser.add_argument("--sample", type=float, default=15.0, help="seconds between samples")
    parser.add_argument("--warmup", type=float, default=30.0, help="seconds before the baseline")
    parser.add_argument("--server-cpu", type=int, default=0)
    args = parser.parse_args()
    if uvloop is not None:
        uvloop.install()
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
