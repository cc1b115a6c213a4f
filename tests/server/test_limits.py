"""Every limit answers with a clear close code or HTTP status, and leaves other clients alone.

Each test would fail if its protection were removed.
"""

from __future__ import annotations

import asyncio
import socket
import time
import urllib.request
from collections.abc import Callable

import pytest
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import InvalidStatus

from tests.helpers.chat import Chat, register
from tests.helpers.process import ServerProcess
from tests.helpers.rawws import RawClient, http_request

Factory = Callable[..., ServerProcess]


async def chatting(server: ServerProcess, text: str = "still fine") -> None:
    """Two fresh plain-text clients can still talk: the server is fine."""
    async with ws_connect(server.ws_url) as a, ws_connect(server.ws_url) as b:
        await a.send(text)
        assert await asyncio.wait_for(b.recv(), 5) == text


# -- origin ------------------------------------------------------------------------------


async def test_cross_origin_signed_in_websocket_is_refused(server_factory: Factory) -> None:
    server = server_factory("serve", "--allowed-origin", "https://chat.example.com")
    token = register(server.http_url, "alice")
    auth = {"Authorization": f"Bearer {token}"}
    for origin in ["http://evil.example", f"http://127.0.0.1:{server.port + 1}", "null"]:
        with pytest.raises(InvalidStatus) as info:
            await ws_connect(
                server.ws_url + "/ws",
                subprotocols=["parley.v1"],
                additional_headers=auth,
                origin=origin,  # type: ignore[arg-type]
            )
        assert info.value.response.status_code == 403
    for origin in [server.http_url, "https://chat.example.com", "HTTPS://CHAT.EXAMPLE.COM"]:
        ws = await ws_connect(
            server.ws_url + "/ws",
            subprotocols=["parley.v1"],
            additional_headers=auth,
            origin=origin,  # type: ignore[arg-type]
        )
        await ws.close()
    # Guests carry no credentials: any page may open one (the tutorial's pages are file://).
    async with ws_connect(server.ws_url, origin="null") as guest:  # type: ignore[arg-type]
        await guest.send("from a file:// page")
        assert await asyncio.wait_for(guest.recv(), 5) == "from a file:// page"


def test_bad_allowed_origin_flag_is_refused_in_one_line() -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "parley", "serve", "--allowed-origin", "chat.example.com"],
        capture_output=True,
        text=True,
        timeout=20,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    assert "scheme://host" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


# -- HTTP request limits -------------------------------------------------------------------


def test_too_many_or_too_long_headers_get_400(server_factory: Factory) -> None:
    server = server_factory("serve", "--max-headers", "20", "--max-header-size", "1KiB")
    many = "".join(f"X-Filler-{i}: x\r\n" for i in range(30))
    answer = http_request(server.port, f"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n{many}\r\n".encode())
    assert answer.split(b" ", 2)[1] == b"400"
    long = "X-Long: " + "y" * 2000 + "\r\n"
    answer = http_request(
        server.port, f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n{long}\r\n".encode()
    )
    assert answer.split(b" ", 2)[1] == b"400"
    ok = http_request(
        server.port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    assert ok.startswith(b"HTTP/1.1 200")


def test_a_client_that_never_finishes_its_request_is_closed(server_factory: Factory) -> None:
    server = server_factory("serve", "--handshake-timeout", "1s")
    slow = socket.create_connection(("127.0.0.1", server.port))
    slow.sendall(b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # ... and never the rest
    slow.settimeout(10)
    started = time.monotonic()
    assert slow.recv(100) == b""  # the server closed it
    assert time.monotonic() - started < 6
    slow.close()
    silent = socket.create_connection(("127.0.0.1", server.port))
    silent.settimeout(10)
    assert silent.recv(100) == b""
    silent.close()


# -- connection counts ---------------------------------------------------------------------


async def test_connection_limits(server_factory: Factory) -> None:
    server = server_factory("serve", "--max-connections", "6", "--max-connections-per-ip", "4")
    held = [await ws_connect(server.ws_url) for _ in range(4)]
    with pytest.raises(InvalidStatus) as info:
        await ws_connect(server.ws_url)
    assert info.value.response.status_code == 429
    # From "another address" (a trusted proxy is not configured, so the header is ignored):
    with pytest.raises(InvalidStatus):
        await ws_connect(server.ws_url, additional_headers={"X-Forwarded-For": "10.0.0.9"})
    await held.pop().close()
    await asyncio.sleep(0.2)
    held.append(await ws_connect(server.ws_url))  # room again
    await held[0].send("still chatting")
    assert await asyncio.wait_for(held[1].recv(), 5) == "still chatting"
    for ws in held:
        await ws.close()


async def test_total_connection_limit_behind_a_proxy(server_factory: Factory) -> None:
    server = server_factory(
        "serve", "--max-connections", "3", "--max-connections-per-ip", "2", "--behind-proxy"
    )
    held = []
    for address in ["10.0.0.1", "10.0.0.1", "10.0.0.2"]:
        held.append(
            await ws_connect(server.ws_url, additional_headers={"X-Forwarded-For": address})
        )
    with pytest.raises(InvalidStatus) as info:
        await ws_connect(server.ws_url, additional_headers={"X-Forwarded-For": "10.0.0.3"})
    assert info.value.response.status_code == 503
    for ws in held:
        await ws.close()
    await asyncio.sleep(0.2)
    for address in ["10.0.0.1", "10.0.0.1"]:
        held.append(
            await ws_connect(server.ws_url, additional_headers={"X-Forwarded-For": address})
        )
    with pytest.raises(InvalidStatus) as info:
        await ws_connect(server.ws_url, additional_headers={"X-Forwarded-For": "9.9.9.9, 10.0.0.1"})
    assert info.value.response.status_code == 429  # the proxy's last entry is what counts
    for ws in held[3:]:
        await ws.close()


# -- frames ----------------------------------------------------------------------------------


async def test_too_many_empty_fragments_close_with_1009(server_factory: Factory) -> None:
    """Past --max-fragments a message needs at least one byte per fragment on average:
    padding with empty fragments is refused (fragments that carry bytes are not, see
    tests/websocket/test_conformance.py)."""
    server = server_factory("serve", "--max-fragments", "4")
    client = RawClient(server.port)
    try:
        client.send_frame(0x1, b"ab", fin=False)
        for _ in range(4):
            client.send_frame(0x0, b"", fin=False)
        client.send_frame(0x0, b"cd")
        assert client.recv_close().close_code == 1009
    finally:
        client.close()
    await chatting(server)


# -- rate limits -----------------------------------------------------------------------------


async def test_flooding_gets_rate_limited_then_disconnected(server_factory: Factory) -> None:
    server = server_factory("serve", "--rate-limit", "5", "--rate-burst", "10")
    flooder = await Chat.connect(server.ws_url, register(server.http_url, "flooder"))
    calm = await Chat.connect(server.ws_url, register(server.http_url, "calm"))
    for n in range(15):
        await flooder.send_raw(
            {"type": "send", "room": "lobby", "text": f"spam {n}", "cid": f"{n}"}
        )
    replies: list[dict[str, object]] = []
    while len(replies) < 15:
        message = await flooder.next(timeout=5)
        if message["type"] in ("ack", "error"):
            replies.append(message)
    acks = [r for r in replies if r["type"] == "ack"]
    limited = [r for r in replies if r["type"] == "error" and r["code"] == "rate_limited"]
    assert len(limited) >= 3
    assert len(acks) <= 10  # the burst (one token went to the helper's resume)
    # The calm user is not affected by someone else's bucket.
    assert (await calm.command("send", room="lobby", text="hello", cid="c"))["type"] == "ack"
    # Sustained abuse: keep flooding past the burst of refusals.
    for _ in range(40):
        await flooder.send_raw({"type": "ping"})
    assert await asyncio.wait_for(flooder.closed, 10) == 4003
    await calm.close()


# (Guests over the rate limit are slowed, not dropped: tests/server/test_flow.py.)


# -- slow consumers --------------------------------------------------------------------------


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def test_clients_that_never_read_are_cut_off_and_memory_stays_bounded(
    server_factory: Factory,
) -> None:
    server = server_factory(
        "serve",
        "--max-send-buffer",
        "512KiB",
        "--rate-burst",
        "100000",
        "--rate-limit",
        "100000",
        "--guest-ip-rate",
        "100000",
    )
    stuck = []
    for _ in range(5):
        client = RawClient(server.port)
        client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck.append(client)  # never reads (until the end, for one of them)
    reader = await ws_connect(server.ws_url, max_size=None)
    writer = await ws_connect(server.ws_url)
    payload = "z" * 3000
    before = _rss_kib(server.proc.pid)
    received = 0

    async def read_all() -> None:
        nonlocal received
        while received < 3000:
            await asyncio.wait_for(reader.recv(), 30)
            received += 1

    async def discard_own_copies() -> None:
        async for _ in writer:  # the sender gets its own messages too, and reads them
            pass

    reading = asyncio.create_task(read_all())
    discarding = asyncio.create_task(discard_own_copies())
    deadline = time.monotonic() + 60
    for n in range(3000):  # about 9 MB to each client
        await writer.send(payload)
        while n - received > 20 and time.monotonic() < deadline:
            await asyncio.sleep(0.001)  # a well-behaved reader keeps up: pace to it
    await reading
    after = _rss_kib(server.proc.pid)
    assert received == 3000  # the reading client got everything
    # Five clients that never read would hold 45 MB if buffers were unbounded.
    assert after - before < 30_000, (before, after)
    # Each was sent a close frame with 4001 behind the data it never read, and its socket was
    # dropped when it did not answer within the close timeout: the server counted all five.
    for _ in range(100):
        with urllib.request.urlopen(server.http_url + "/metrics", timeout=10) as response:
            metrics = response.read().decode()
        if 'parley_disconnects_total{code="4001"} 5.0' in metrics:
            break
        await asyncio.sleep(0.1)
    assert 'parley_disconnects_total{code="4001"} 5.0' in metrics
    # They were cut at the hard cap (4 x 512 KiB), well before the 10 s grace period: the cap
    # is what bounds a non-reader's memory while a busy room keeps adding to its buffer.
    assert server.count("closing a slow client: unsent data over the cap of 2097152 bytes") == 5
    for client in stuck:
        client.close()
    await reader.close()
    await writer.close()
    await discarding


# -- heartbeats ------------------------------------------------------------------------------


async def test_silent_connections_are_pinged_and_dropped(server_factory: Factory) -> None:
    server = server_factory("serve", "--ping-interval", "1s", "--ping-timeout", "1s")
    silent = RawClient(server.port)  # never answers pings: a half-open connection
    lively = await ws_connect(server.ws_url, ping_interval=None)  # answers pings automatically
    silent.sock.settimeout(15)
    frames = []
    started = time.monotonic()

    def read_until_dropped() -> None:
        try:
            while True:
                frames.append(silent.recv_frame())
        except ConnectionError:
            pass

    # In a thread: the event loop must keep running for the lively client to answer pings.
    await asyncio.to_thread(read_until_dropped)
    assert any(frame.opcode == 0x9 for frame in frames), "no ping was sent"
    assert 1.5 <= time.monotonic() - started < 8
    silent.close()
    await asyncio.sleep(2.5)
    await lively.send("alive")  # still connected after several ping rounds
    assert await asyncio.wait_for(lively.recv(), 5) == "alive"
    await lively.close()


# -- permessage-deflate ----------------------------------------------------------------------


async def test_deflate_is_off_by_default(server_factory: Factory) -> None:
    server = server_factory("serve")
    client = RawClient(server.port, headers={"Sec-WebSocket-Extensions": "permessage-deflate"})
    assert "sec-websocket-extensions" not in client.response_headers
    client.close()


async def test_deflate_when_enabled(server_factory: Factory) -> None:
    import zlib

    server = server_factory("serve", "--deflate")
    client = RawClient(
        server.port,
        headers={"Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits"},
    )
    agreed = client.response_headers["sec-websocket-extensions"]
    assert "server_no_context_takeover" in agreed
    assert "client_no_context_takeover" in agreed
    async with ws_connect(server.ws_url) as other:  # websockets negotiates deflate itself
        text = "compress me " * 100
        await other.send(text)
        assert await asyncio.wait_for(other.recv(), 5) == text
        frame = client.recv_frame()
        assert frame.opcode == 1
        inflated = zlib.decompressobj(-15).decompress(frame.payload + b"\x00\x00\xff\xff")
        assert inflated.decode() == text
        assert len(frame.payload) < len(text) // 4
        # A client-compressed message is inflated and relayed.
        deflater = zlib.compressobj(6, zlib.DEFLATED, -15)
        body = deflater.compress(b"from the raw client") + deflater.flush(zlib.Z_SYNC_FLUSH)
        client.send_frame(0x1, body[:-4], rsv=0x40)
        assert await asyncio.wait_for(other.recv(), 5) == "from the raw client"
    client.close()


async def test_a_decompression_bomb_closes_with_1009(server_factory: Factory) -> None:
    import zlib

    server = server_factory("serve", "--deflate", "--max-message-size", "64KiB")
    client = RawClient(server.port, headers={"Sec-WebSocket-Extensions": "permessage-deflate"})
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = deflater.compress(b"\x00" * 50_000_000) + deflater.flush(zlib.Z_SYNC_FLUSH)
    assert len(bomb) < 64 * 1024  # small on the wire ...
    client.send_frame(0x2, bomb[:-4], rsv=0x40)  # ... 50 MB inflated
    assert client.recv_close().close_code == 1009
    client.close()
    await chatting(server)
