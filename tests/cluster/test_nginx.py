"""``deploy/nginx.conf``, as shipped, in front of two Parley processes: WebSockets through
the proxy, both processes used, the client's address passed on, and a client that loses its
process carried on by the other one."""

from __future__ import annotations

import asyncio
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.asyncio.client import connect as ws_connect

from tests.cluster.conftest import Cluster
from tests.helpers.chat import Chat, http_json, register
from tests.helpers.process import free_port

CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "nginx.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
#: The processes' --metrics-token: /healthz shows its details (connections) only with it.
METRICS_TOKEN = "nginx-test-metrics-token"


@pytest.fixture
def nginx_for(tmp_path: Path) -> Iterator[object]:
    """Start nginx with the shipped config, pointed at given upstream ports."""
    assert Path(NGINX).exists(), f"{NGINX} is missing: ./dev test installs nginx-light"
    started: list[subprocess.Popen[bytes]] = []

    def start(upstreams: list[int]) -> int:
        port = free_port()
        text = CONFIG.read_text()
        servers = "".join(
            f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;\n" for p in upstreams
        )
        text = re.sub(r"( {8}server 127\.0\.0\.1:\d+ [^\n]*\n)+", servers, text)
        text = text.replace("listen 80;", f"listen 127.0.0.1:{port};")
        for path in re.findall(r"(/(?:run|var)/[\w/.-]+)", text):
            text = text.replace(path, str(tmp_path / Path(path).name))
        text = text.replace("worker_processes auto;", "worker_processes 1;\ndaemon off;")
        conf = tmp_path / "nginx.conf"
        conf.write_text(text)
        check = subprocess.run([NGINX, "-t", "-c", str(conf)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        process = subprocess.Popen(
            [NGINX, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        started.append(process)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return port
            except OSError:
                assert time.monotonic() < deadline, (tmp_path / "parley-error.log").read_text()
                time.sleep(0.05)

    yield start
    for process in started:
        process.send_signal(signal.SIGQUIT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


async def test_nginx_proxies_websockets_to_every_process(
    cluster: Cluster, nginx_for: object
) -> None:
    first = cluster.start_node("--behind-proxy", "--metrics-token", METRICS_TOKEN)
    second = cluster.start_node("--behind-proxy", "--metrics-token", METRICS_TOKEN)
    port = nginx_for([first.port, second.port])  # type: ignore[operator]
    base, ws_base = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}"
    with urllib.request.urlopen(base + "/", timeout=5) as response:
        assert response.status == 200
        assert "Content-Security-Policy" in response.headers
    token = register(base, "alice")
    chats = [await Chat.connect(ws_base, token) for _ in range(4)]
    bob = await Chat.connect(ws_base, register(base, "bob"))
    await bob.command("send", room="lobby", text="through nginx", cid="n1")
    for chat in chats:
        assert (await chat.next("event", 10, kind="message"))["text"] == "through nginx"
    # Both processes took connections (least_conn: no stickiness needed).
    counts = [
        http_json(node.http_url + "/healthz", token=METRICS_TOKEN)[1]["connections"]
        for node in (first, second)
    ]
    assert all(count > 0 for count in counts), counts
    # The tutorial's plain-text clients pass through too.
    async with ws_connect(ws_base + "/") as guest:
        await guest.send("a guest via nginx")
        assert await asyncio.wait_for(guest.recv(), 5) == "a guest via nginx"
    # The access log of a process names the client, not nginx (X-Forwarded-For, trusted).
    assert any('127.0.0.1 "GET /ws"' in line for line in first.lines + second.lines)
    for chat in [*chats, bob]:
        await chat.close()


async def test_a_client_of_a_dead_process_reconnects_through_nginx(
    cluster: Cluster, nginx_for: object
) -> None:
    first = cluster.start_node("--behind-proxy", "--metrics-token", METRICS_TOKEN)
    second = cluster.start_node("--behind-proxy", "--metrics-token", METRICS_TOKEN)
    port = nginx_for([first.port, second.port])  # type: ignore[operator]
    base, ws_base = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}"
    token = register(base, "carol")
    chats = [await Chat.connect(ws_base, token) for _ in range(4)]
    first.signal(signal.SIGKILL)
    deadline = time.monotonic() + 10
    while not any(chat.closed.done() for chat in chats):
        assert time.monotonic() < deadline, "no connection noticed its process died"
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    lost = [chat for chat in chats if chat.closed.done()]
    kept = [chat for chat in chats if not chat.closed.done()]
    assert lost, "least_conn put every connection on one process"
    for _ in lost:  # reconnecting through nginx reaches the live process
        again = await Chat.connect(ws_base, token)
        assert (await again.command("ping"))["type"] == "pong"
        await again.close()
    for chat in kept:  # the others never noticed
        assert (await chat.command("ping"))["type"] == "pong"
    for chat in chats:
        await chat.close()
