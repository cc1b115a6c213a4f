"""Idle clients stay connected: the keepalive pings a quiet server and keeps a connection whose
server answers, however late the client's own timer fires.

The keepalive once compared two durations ("quiet for ``ping_timeout`` now?") and so dropped a
healthy connection whenever its sleep overshot by more than the round trip: on loopback every
second ping, every 40 s with the defaults. Here the interval is 0.3 s, so the test covers more
than ten ping cycles in a few seconds; a connection that reconnects even once fails it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable

import pexpect

from parley.client import Client, Connected, Disconnected
from tests.client.test_scripting import Tail
from tests.helpers.chat import register
from tests.helpers.process import ServerProcess

INTERVAL = "0.3"
IDLE = 4.0  # seconds: over ten ping intervals and timeouts


async def test_an_idle_library_client_is_never_reconnected(server: ServerProcess) -> None:
    token = register(server.http_url, "idler")
    events: list[object] = []
    async with Client(
        server.http_url, token=token, ping_interval=float(INTERVAL), ping_timeout=float(INTERVAL)
    ) as client:

        async def collect() -> None:
            async for event in client.events():
                events.append(event)

        collector = asyncio.create_task(collect())
        await asyncio.sleep(IDLE)
        collector.cancel()
    lost = [
        e
        for e in events
        if isinstance(e, Disconnected) or (isinstance(e, Connected) and e.reconnected)
    ]
    assert lost == [], lost


def test_an_idle_tail_is_never_reconnected(server: ServerProcess) -> None:
    token = register(server.http_url, "idler")
    tail = Tail(server.http_url, "lobby", "--ping-interval", INTERVAL, env={"PARLEY_TOKEN": token})
    time.sleep(IDLE)
    assert tail.proc.poll() is None, tail.stderr()
    assert tail.finish(signal.SIGTERM) in (0, -signal.SIGTERM)
    assert "connection lost" not in tail.stderr(), tail.stderr()
    assert "reconnected" not in tail.stderr(), tail.stderr()


def test_an_idle_terminal_client_is_never_reconnected(
    server: ServerProcess, terminal: Callable[..., pexpect.spawn]
) -> None:
    token = register(server.http_url, "idler")
    child = terminal(
        "connect", server.http_url, "--ping-interval", INTERVAL, env={"PARLEY_TOKEN": token}
    )
    child.expect("#lobby>")
    # Nothing but the keepalive happens for IDLE seconds: any "connection lost" note is a
    # failure (expect returns 0 for it, 1 when the time runs out quietly).
    assert child.expect([r"connection lost", pexpect.TIMEOUT], timeout=IDLE) == 1, child.before
    child.sendline("/quit")
    child.expect(pexpect.EOF)


async def test_a_server_that_stops_answering_is_left(server: ServerProcess) -> None:
    """The other half of the keepalive: a server that answers nothing (here stopped with SIGSTOP)
    is given up after ``ping_timeout``, so the fix above did not switch the check off."""
    token = register(server.http_url, "watcher")
    async with Client(
        server.http_url, token=token, ping_interval=float(INTERVAL), ping_timeout=float(INTERVAL)
    ) as client:
        events = client.events()
        first = await asyncio.wait_for(anext(events), 5)
        assert isinstance(first, Connected), first
        os.kill(server.proc.pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            while True:
                event = await asyncio.wait_for(anext(events), 5)
                if isinstance(event, Disconnected):
                    break
            assert time.monotonic() - started < 3.0
        finally:
            os.kill(server.proc.pid, signal.SIGCONT)
