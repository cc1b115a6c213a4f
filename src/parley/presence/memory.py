"""In-process presence: the default, for a single server process."""

from __future__ import annotations

from collections.abc import Iterable

from parley.presence.base import Presence


class MemoryPresence(Presence):
    """Connections per user, in a dict."""

    def __init__(self) -> None:
        self._connections: dict[int, set[str]] = {}

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._connections.clear()

    async def connect(self, user_id: int, conn_id: str) -> bool:
        conns = self._connections.setdefault(user_id, set())
        conns.add(conn_id)
        return len(conns) == 1

    async def disconnect(self, user_id: int, conn_id: str) -> bool:
        conns = self._connections.get(user_id)
        if conns is None or conn_id not in conns:
            return False
        conns.discard(conn_id)
        if conns:
            return False
        del self._connections[user_id]
        return True

    async def online(self, user_ids: Iterable[int]) -> set[int]:
        return {uid for uid in user_ids if uid in self._connections}
