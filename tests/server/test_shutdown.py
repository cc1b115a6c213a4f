"""Start-up and shutdown: signals close clients with 1001 and exit 0; bad flags are one line."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.helpers.process import ServerProcess


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("command", ["serve", "echo"])
async def test_signal_closes_clients_with_1001_and_exits_0(
    server_factory: Callable[..., ServerProcess], signum: int, command: str
) -> None:
    server = server_factory(command)
    clients = [await connect(server.ws_url) for _ in range(3)]
    started = time.monotonic()
    server.signal(signum)
    for ws in clients:
        with pytest.raises(ConnectionClosed) as info:
            await asyncio.wait_for(ws.recv(), 5)
        assert info.value.rcvd is not None
        assert info.value.rcvd.code == 1001
    assert await asyncio.to_thread(server.wait, 10) == 0
    assert time.monotonic() - started < 5
    # It stopped accepting: nothing listens any more.
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=1)


async def test_signal_with_an_unresponsive_client_still_exits_promptly(
    server_factory: Callable[..., ServerProcess],
) -> None:
    server = server_factory("serve")
    # A client that never answers the close frame (it never reads).
    silent = socket.create_connection(("127.0.0.1", server.port))
    silent.sendall(
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    server.wait_for_count("Client connected", 1)
    server.signal(signal.SIGTERM)
    assert await asyncio.to_thread(server.wait, 15) == 0
    silent.close()


def test_port_in_use_is_one_line_and_exit_1(server_factory: Callable[..., ServerProcess]) -> None:
    server = server_factory("serve")
    result = subprocess.run(
        [sys.executable, "-m", "parley", "serve", "--port", str(server.port)],
        capture_output=True,
        text=True,
        timeout=20,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "cannot listen on 127.0.0.1:" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_a_file_that_is_not_a_database_is_one_line_and_exit_1(tmp_path: Path) -> None:
    not_a_db = tmp_path / "notes.txt"
    not_a_db.write_text("x" * 4096)
    result = subprocess.run(
        [sys.executable, "-m", "parley", "serve", "--port", "0", "--db", str(not_a_db)],
        capture_output=True,
        text=True,
        timeout=20,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 1
    # Said once: not "cannot open the database: cannot open the database ...".
    assert result.stderr == f"parley: cannot open the database {not_a_db}: file is not a database\n"


@pytest.mark.parametrize(
    "args",
    [
        ["serve", "--port", "99999"],
        ["serve", "--port", "eighty"],
        ["serve", "--max-message-size", "lots"],
        ["serve", "--max-message-size", "0"],
        ["echo", "--log-level", "chatty"],
        ["serve", "--no-such-flag"],
    ],
)
def test_bad_flags_are_refused_clearly(args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "parley", *args],
        capture_output=True,
        text=True,
        timeout=20,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    # One line (README: "a bad flag is refused with one line"), naming the command.
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"parley {args[0]}: "), result.stderr
    assert result.stderr.endswith(f"(see 'parley {args[0]} --help')\n"), result.stderr


def test_environment_sets_flags(server_factory: Callable[..., ServerProcess]) -> None:
    server = server_factory("serve", env={"PARLEY_LOG_LEVEL": "warning"})
    assert server.port > 0
    # INFO lines such as "Client connected" are now suppressed; the port line is not a log line.
    assert server.count("INFO") == 0
