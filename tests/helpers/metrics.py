"""Reading a running server's ``/metrics`` (Prometheus text) as ``{sample name: value}``."""

from __future__ import annotations

import urllib.request

from parley.store.base import LOBBY, Store


def read_metrics(base_url: str) -> dict[str, float]:
    """Every sample of ``base_url``'s ``/metrics`` (no token: the tests' servers set none)."""
    with urllib.request.urlopen(base_url + "/metrics", timeout=10) as response:
        text = response.read().decode()
    return {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }


async def fill_lobby(store: Store, count: int, prefix: str = "crowd") -> None:
    """Create ``count`` accounts in the lobby (directly in the store, before any server uses
    it: registering them through HTTP would hash a password each)."""
    lobby = await store.get_room(LOBBY)
    assert lobby is not None
    for n in range(count):
        user = await store.create_user(f"{prefix}{n}", "not-a-hash", admin=False)
        await store.join(lobby.id, user.id, user.name)
