"""Administration across nodes (PostgreSQL and Redis): an admin's change made through one
node takes effect on the others at once, and the admin page's figures cover every node."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from typing import Any

from parley.figures.base import TTL
from tests.cluster.conftest import Cluster
from tests.helpers.chat import PASSWORD, Chat, http_json, register
from tests.helpers.process import ServerProcess


async def test_an_admin_on_one_node_closes_a_user_on_another_and_sets_registration(
    cluster: Cluster,
) -> None:
    first, second = cluster.start_node(), cluster.start_node()
    admin = register(first.http_url, "alice")
    bob = await Chat.connect(second.ws_url, register(second.http_url, "bob"))
    status, _, _ = http_json(
        f"{first.http_url}/api/admin/users/disabled", {"user": "bob", "disabled": True}, token=admin
    )
    assert status == 200
    # Closed by the revoke notice on bob's broker channel, well before --session-check (30 s).
    await asyncio.wait_for(bob.closed, timeout=10)

    http_json(f"{first.http_url}/api/admin/settings", {"registration": "invite"}, token=admin)
    status, answer, _ = http_json(
        f"{second.http_url}/api/register", {"username": "zed", "password": PASSWORD}
    )
    assert (status, answer["error"]) == (403, "invite_required")
    status, made, _ = http_json(f"{first.http_url}/api/invites", {}, token=admin)
    status, answer, _ = http_json(
        f"{second.http_url}/api/register",
        {"username": "zed", "password": PASSWORD, "invite": made["token"]},
    )
    assert status == 201


async def admin_figures(
    node: ServerProcess, token: str, wanted: Callable[[dict[str, Any]], bool], timeout: float
) -> dict[str, Any]:
    """The node's ``/api/admin/stats`` once ``wanted`` holds (nodes publish every 2 s)."""
    deadline = time.monotonic() + timeout
    while True:
        status, figures, _ = await asyncio.to_thread(
            http_json, f"{node.http_url}/api/admin/stats", token=token
        )
        assert status == 200
        if wanted(figures):
            return figures
        assert time.monotonic() < deadline, f"still {figures}"
        await asyncio.sleep(0.2)


def connections_by_port(figures: dict[str, Any]) -> dict[int, int]:
    return {
        int(node["address"].rsplit(":", 1)[1]): node["connections"] for node in figures["nodes"]
    }


async def test_the_admin_figures_count_every_node_and_drop_a_killed_one(
    cluster: Cluster,
) -> None:
    first, second = cluster.start_node(), cluster.start_node()
    admin = register(first.http_url, "alice")
    bob = register(second.http_url, "bob")
    chats = [
        await Chat.connect(first.ws_url, admin),
        await Chat.connect(second.ws_url, bob),
        await Chat.connect(second.ws_url, bob),
    ]
    both = {first.port: 1, second.port: 2}
    for node in (first, second):  # whichever node answers, it counts both nodes' clients
        figures = await admin_figures(
            node, admin, lambda f: connections_by_port(f) == both, timeout=10
        )
        assert figures["connections"] == 3
        assert (figures["nodes_total"], figures["partial"]) == (2, False)
        assert len({entry["node"] for entry in figures["nodes"]}) == 2

    second.signal(signal.SIGKILL)
    killed = time.monotonic()
    figures = await admin_figures(first, admin, lambda f: f["nodes_total"] == 1, timeout=TTL + 5)
    assert time.monotonic() - killed <= TTL + 1  # its entry expired, nobody withdrew it
    assert connections_by_port(figures) == {first.port: 1}
    assert figures["connections"] == 1
    await chats[0].close()
