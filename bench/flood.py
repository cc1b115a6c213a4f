"""Input backpressure: the server's memory while one client pushes 120 MB as fast as it can.

Issue 14, finding 3: a client that sends faster than the store commits made the server queue
work without bound (one plain-text client pushing 60 KB messages grew RSS from 48 to 122 MB in
0.2 s). With backpressure the server stops reading that socket while its work in flight is
over the bound (``--max-in-flight``, ``--max-in-flight-bytes``, ``--max-store-queue``), so
its memory stays flat and TCP slows the sender down.

Per mode (``plain``: a guest of the tutorial's plain-text protocol; ``v1``: a signed-in
``parley.v1`` client sending ``send`` commands), on a fresh server process and database:

* one idle client connects as a guest and reads everything (it must not be disconnected);
* one pusher sends ``--total`` bytes in ``--size``-byte messages as fast as the socket takes
  them (the pusher reads what the server sends it in another thread, so that it is not a
  slow reader itself);
* the server's RSS is sampled every 20 ms from ``/proc``; reported: RSS before, peak, growth,
  push time (until the pusher's last ``sendall`` returned), messages the idle reader got,
  whether anyone was closed, and the server's ``parley_reads_paused_total`` (how often a
  socket stopped being read: the backpressure at work).

Bounded: each mode stops after ``--timeout`` seconds. 127.0.0.1 only. Run from the repository
root: ``.venv/bin/python bench/flood.py`` (``--out`` names the results file).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def frame(opcode: int, payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    key = os.urandom(4)
    stream = (key * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big")
    return head + key + masked


class Socket:
    """A raw client: handshake, then whole frames read in a background thread."""

    def __init__(self, port: int, path: str = "/", headers: dict[str, str] | None = None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1", "Host: 127.0.0.1", "Upgrade: websocket",
            "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13",
            *(f"{k}: {v}" for k, v in (headers or {}).items()),
        ]  # fmt: skip
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buf = bytearray()
        while b"\r\n\r\n" not in self.buf:
            self.buf += self.sock.recv(65536)
        head, _, rest = bytes(self.buf).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        self.buf = bytearray(rest)
        self.messages = 0
        self.close_code: int | None = None
        self.first: bytes = b""
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _take(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError
            self.buf += chunk
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def _read(self) -> None:
        try:
            while True:
                first, second = self._take(2)
                n = second & 0x7F
                if n == 126:
                    n = struct.unpack("!H", self._take(2))[0]
                elif n == 127:
                    n = struct.unpack("!Q", self._take(8))[0]
                payload = self._take(n)
                if first & 0x0F == 8:
                    self.close_code = struct.unpack("!H", payload[:2])[0] if payload else 1005
                    return
                if not self.first:
                    self.first = payload[:80]
                self.messages += 1
        except (OSError, ConnectionError):
            return


@dataclass
class Result:
    mode: str
    before_kib: int
    peak_kib: int
    push_seconds: float
    sent: int
    reader_got: int
    reader_closed: int | None
    pusher_closed: int | None
    reads_paused: str

    @property
    def growth_mib(self) -> float:
        return (self.peak_kib - self.before_kib) / 1024


def start_server(folder: Path, size: int, old: bool) -> tuple[subprocess.Popen[str], int]:
    argv = [
        sys.executable, "-m", "parley", "serve", "--port", "0", "--db", str(folder / "p.db"),
        "--max-text", str(size), "--max-message-size", "256KiB",
        "--rate-limit", "1000000", "--rate-burst", "1000000",
        "--auth-rate", "1000", "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    if not old:
        argv += ["--guest-ip-rate", "1000000"]
    proc = subprocess.Popen(
        argv, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        found = re.search(r"socket initialized on port (\d+)", line)
        if found:
            threading.Thread(target=proc.stdout.read, daemon=True).start()  # keep draining
            return proc, int(found.group(1))
    raise RuntimeError("the server did not start")


def metric(port: int, name: str) -> str:
    """A counter of the server's /metrics ("-" when it has none: older code)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(name + " "):
                return f"{float(line.split()[-1]):.0f}"
    return "-"


def register(port: int) -> str:
    body = json.dumps({"username": "pusher", "password": "correct horse battery"}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/register",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(json.loads(response.read())["token"])


def run(mode: str, total: int, size: int, timeout: float, old: bool) -> Result:
    with tempfile.TemporaryDirectory() as tmp:
        proc, port = start_server(Path(tmp), size, old)
        try:
            reader = Socket(port)
            if mode == "plain":
                pusher = Socket(port)
                frames = (
                    frame(1, f"{n:08d} ".encode() + b"p" * (size - 9)) for n in range(total // size)
                )
            else:
                token = register(port)
                pusher = Socket(
                    port,
                    "/ws",
                    {"Sec-WebSocket-Protocol": "parley.v1", "Authorization": f"Bearer {token}"},
                )
                pusher.sock.sendall(frame(1, b'{"type":"resume","id":"r","rooms":{}}'))
                text = "v" * (size - 200)
                frames = (
                    frame(
                        1,
                        json.dumps(
                            {"type": "send", "id": f"s{n}", "room": "lobby", "cid": f"c{n}",
                             "text": text}
                        ).encode(),
                    )
                    for n in range(total // size)
                )  # fmt: skip
            time.sleep(0.5)
            before = peak = rss_kib(proc.pid)
            sent = 0
            done = threading.Event()

            def push() -> None:
                nonlocal sent
                try:
                    for data in frames:
                        pusher.sock.sendall(data)
                        sent += 1
                except OSError:
                    pass
                done.set()

            started = time.monotonic()
            threading.Thread(target=push, daemon=True).start()
            deadline = started + timeout
            while not done.is_set() and time.monotonic() < deadline:
                peak = max(peak, rss_kib(proc.pid))
                time.sleep(0.02)
            pushed = time.monotonic() - started
            expected = total // size
            while reader.messages < expected and time.monotonic() < deadline:
                peak = max(peak, rss_kib(proc.pid))
                time.sleep(0.02)
            return Result(
                mode, before, peak, pushed, sent, reader.messages, reader.close_code,
                pusher.close_code, metric(port, "parley_reads_paused_total"),
            )  # fmt: skip
        finally:
            proc.terminate()
            proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--total", type=int, default=120_000_000, help="bytes to push")
    parser.add_argument("--size", type=int, default=60_000, help="bytes per message")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per mode")
    parser.add_argument("--modes", default="plain,v1")
    parser.add_argument("--out", type=Path, help="append a Markdown table to this file")
    parser.add_argument(
        "--old",
        action="store_true",
        help="leave out the flags that code before flow control lacks (to measure it with "
        "PYTHONPATH=<old checkout>/src)",
    )
    args = parser.parse_args()
    rows = []
    for mode in args.modes.split(","):
        result = run(mode, args.total, args.size, args.timeout, args.old)
        row = (
            f"| {mode} | {result.sent * args.size / 1e6:.0f} MB in {result.sent} messages | "
            f"{result.push_seconds:.1f} s | {result.before_kib / 1024:.1f} MiB | "
            f"{result.peak_kib / 1024:.1f} MiB | **{result.growth_mib:.1f} MiB** | "
            f"{result.reader_got} / {args.total // args.size} | "
            f"{result.reader_closed or 'no'} | {result.pusher_closed or 'no'} | "
            f"{result.reads_paused} |"
        )
        print(row, flush=True)
        rows.append(row)
    table = "\n".join(
        [
            "| mode | pushed | push time | RSS before | RSS peak | growth | idle reader got | "
            "reader closed | pusher closed | reads paused |",
            "|---|---|---|---|---|---|---|---|---|---|",
            *rows,
        ]
    )
    if args.out:
        command = "python bench/flood.py " + " ".join(sys.argv[1:])
        with args.out.open("a") as out:
            out.write(f"\n`{command}`\n\n{table}\n")


if __name__ == "__main__":
    main()
