"""The figure board in Redis, shared by every server process.

Keys (``<prefix>`` defaults to ``parley``):

* ``<prefix>:figures:node:<node id>``: the node's entry (JSON, at most ``MAX_ENTRY`` bytes),
  with a time to live of ``ttl``: Redis removes it by itself when the node stops publishing.
* ``<prefix>:figures:nodes``: the index, node ids scored by the time (milliseconds, Redis's
  clock, so that the nodes' clocks need not agree) at which their entry expires. A read
  drops the expired ids first, then takes at most ``limit`` of the rest: one range query,
  never a scan of the key space. The index itself expires ``2 * ttl`` after the last
  publication, so nothing is left once every node is gone.

Each call is one Lua script (atomic; it builds keys from the prefix, so this needs one Redis,
as presence does). Every command is bounded by ``timeout``; a failure raises
:class:`~parley.figures.base.FiguresUnavailable`, and the caller carries on without the board
(the admin page then shows this node alone and says so).
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.connection import ConnectionPool
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from parley.broker.redis import command_pool_options, unreachable
from parley.figures.base import (
    MAX_ENTRY,
    MAX_NODES,
    TTL,
    BoardReading,
    FigureBoard,
    FiguresUnavailable,
    NodeFigures,
    checked,
    ordered,
)

log = logging.getLogger(__name__)

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

#: KEYS: entry key, index. ARGV: node id, entry, ttl (ms).
PUBLISH = (
    _NOW
    + """
local ttl = tonumber(ARGV[3])
redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl)
redis.call('ZADD', KEYS[2], now + ttl, ARGV[1])
redis.call('PEXPIRE', KEYS[2], 2 * ttl)
return 1
"""
)

#: KEYS: index. ARGV: entry key prefix, limit. Returns the number of live nodes, then up to
#: ``limit`` entries (an entry whose key vanished meanwhile is left out).
READ = (
    _NOW
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local out = {redis.call('ZCARD', KEYS[1])}
local limit = tonumber(ARGV[2])
if limit > 0 then
  for _, node in ipairs(redis.call('ZRANGE', KEYS[1], 0, limit - 1)) do
    local entry = redis.call('GET', ARGV[1] .. node)
    if entry then out[#out + 1] = entry end
  end
end
return out
"""
)

#: KEYS: entry key, index. ARGV: node id.
WITHDRAW = """
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
"""


class RedisFigureBoard(FigureBoard):
    """See the module docstring. ``timeout`` bounds connecting and each command."""

    def __init__(
        self, url: str, *, prefix: str = "parley", ttl: float = TTL, timeout: float = 2.0
    ) -> None:
        self._pool_options, self.where = command_pool_options(url, timeout)
        self.ttl = ttl
        self._ttl_ms = max(1, round(ttl * 1000))
        self._entry_prefix = f"{prefix}:figures:node:"
        self._index = f"{prefix}:figures:nodes"
        self._client: Redis | None = None
        self._scripts: dict[str, AsyncScript] = {}

    async def start(self) -> None:
        client = Redis.from_pool(ConnectionPool(**self._pool_options))
        self._client = client
        for name, source in [("publish", PUBLISH), ("read", READ), ("withdraw", WITHDRAW)]:
            self._scripts[name] = client.register_script(source)

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(RedisError, OSError):
                await client.aclose()

    async def publish(self, figures: NodeFigures) -> None:
        raw = checked(figures)
        await self._run(
            "publish",
            [self._entry_prefix + figures.node, self._index],
            [figures.node, raw, self._ttl_ms],
        )

    async def withdraw(self, node: str) -> None:
        await self._run("withdraw", [self._entry_prefix + node, self._index], [node])

    async def read(self, limit: int = MAX_NODES) -> BoardReading:
        found = await self._run("read", [self._index], [self._entry_prefix, max(0, limit)])
        entries: list[NodeFigures] = []
        for raw in found[1:]:
            try:
                entries.append(NodeFigures.decode(raw))
            except ValueError as exc:
                log.warning("skipped a figure board entry (%s): %.80r", exc, raw[:MAX_ENTRY])
        return BoardReading(ordered(entries), int(found[0]))

    async def _run(self, name: str, keys: list[str], args: list[Any]) -> Any:
        if self._client is None:
            raise FiguresUnavailable("the figure board is not started")
        try:
            return await self._scripts[name](keys=keys, args=args)
        except (RedisError, OSError) as exc:
            raise FiguresUnavailable(unreachable(self.where, exc)) from None
