"""Large messages through ``parley echo --verbatim``: time and memory (issue 14, finding 6).

The conformance tests (tests/websocket/test_conformance.py) go up to 16 MiB; this goes to
``--size`` (64 MiB by default), in one frame and in ``--fragment``-byte fragments, and reports
the round trip (last byte sent to last byte of the echo received) and the server's peak RSS
(sampled every 20 ms from ``/proc``). Before issue 14, each of these was closed: with 4001
(the echo did not fit the send buffer) or 1009 (more than 128 fragments).

Bounded: one message per case, ``--timeout`` seconds each. 127.0.0.1 only. Run from the
repository root: ``.venv/bin/python bench/echo_large.py [--out bench/results/FILE.md]``.
"""

from __future__ import annotations

import argparse
import os
import re
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

from flood import Socket, frame, rss_kib


def start_echo(size: int) -> tuple[subprocess.Popen[str], int]:
    argv = [
        sys.executable, "-m", "parley", "echo", "--verbatim", "--port", "0",
        "--max-message-size", str(size), "--log-level", "warning",
    ]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        found = re.search(r"socket initialized on port (\d+)", line)
        if found:
            threading.Thread(target=proc.stdout.read, daemon=True).start()
            return proc, int(found.group(1))
    raise RuntimeError("the echo server did not start")


class Echoed(Socket):
    """Counts the bytes of the echo instead of keeping them."""

    def _read(self) -> None:
        self.received = 0
        try:
            while True:
                first, second = self._take(2)
                n = second & 0x7F
                if n == 126:
                    n = struct.unpack("!H", self._take(2))[0]
                elif n == 127:
                    n = struct.unpack("!Q", self._take(8))[0]
                while n:
                    chunk = min(n, 1 << 20)
                    self._take(chunk)
                    n -= chunk
                    self.received += chunk
                if first & 0x0F == 8:
                    self.close_code = 1
                    return
        except (OSError, ConnectionError):
            return


def case(size: int, fragment: int | None, timeout: float) -> str:
    proc, port = start_echo(size)
    try:
        client = Echoed(port)
        payload = os.urandom(size)
        if fragment is None:
            data = frame(2, payload)
            label = "one frame"
        else:
            pieces = [payload[i : i + fragment] for i in range(0, size, fragment)]
            parts = [bytes([0x02]) + frame(2, pieces[0])[1:]]  # FIN off on all but the last
            for index, piece in enumerate(pieces[1:], 2):
                encoded = frame(0, piece)
                if index != len(pieces):
                    encoded = bytes([encoded[0] & 0x7F]) + encoded[1:]
                parts.append(encoded)
            data = b"".join(parts)
            label = f"{len(pieces):,} fragments of {fragment} bytes"
        before = peak = rss_kib(proc.pid)
        started = time.monotonic()
        sender = threading.Thread(target=client.sock.sendall, args=(data,), daemon=True)
        sender.start()
        while client.received < size and time.monotonic() - started < timeout:
            peak = max(peak, rss_kib(proc.pid))
            if client.close_code is not None:
                break
            time.sleep(0.02)
        elapsed = time.monotonic() - started
        ok = "yes" if client.received >= size else f"no ({client.received} bytes)"
        return (
            f"| {size >> 20} MiB | {label} | {ok} | {elapsed:.2f} s | {before / 1024:.0f} MiB | "
            f"{peak / 1024:.0f} MiB |"
        )
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=64 << 20)
    parser.add_argument("--fragment", type=int, default=64)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rows = [case(args.size, None, args.timeout), case(args.size, args.fragment, args.timeout)]
    table = "\n".join(
        [
            "| message | sent as | echoed whole | round trip | RSS before | RSS peak |",
            "|---|---|---|---|---|---|",
            *rows,
        ]
    )
    print(table)
    if args.out:
        command = "python bench/echo_large.py " + " ".join(sys.argv[1:])
        with args.out.open("a") as out:
            out.write(f"\n`{command}`\n\n{table}\n")


if __name__ == "__main__":
    main()
