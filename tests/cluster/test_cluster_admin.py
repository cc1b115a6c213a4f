"""Administration across nodes (PostgreSQL and Redis): an admin's change made through one
node takes effect on the others at once."""

from __future__ import annotations

import asyncio

from tests.cluster.conftest import Cluster
from tests.helpers.chat import PASSWORD, Chat, http_json, register


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
