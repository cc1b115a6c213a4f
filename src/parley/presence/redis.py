"""Presence in Redis, shared by every server process, with entries that outlive no node.

Keys (``<prefix>`` defaults to ``parley``):

* ``<prefix>:presence:user:<id>``: a sorted set of the user's connections, members
  ``<node_id>:<conn_id>``, each scored by the time (milliseconds, Redis's clock) at which it
  expires. The user is online while one member's score is in the future.
* ``<prefix>:presence:users``: the sweep's index: user ids scored by the latest expiry among
  their connections, so that users whose connections all expired are found with one range
  query instead of a scan of the key space.

Every change runs as one Lua script, which makes "did the user just come online / go
offline cluster-wide?" atomic however many nodes race, and uses Redis's clock, so that the
nodes' clocks need not agree. The scripts build keys from the prefix, so this needs one Redis
(or one cluster slot), not a Redis Cluster.

Each node refreshes the scores of its own connections every ``heartbeat`` seconds to
``now + ttl``. When a node dies without disconnecting its connections, their scores stop
moving: ``online`` counts them out at most ``ttl`` seconds after the node's last heartbeat,
and the next :meth:`RedisPresence.sweep` of any other node removes them and returns the users
that thereby went offline (exactly one node gets each), which that node announces. So a killed
node's users go offline everywhere within ``ttl`` + the sweep interval: 20 s with the defaults
(``ttl`` 15 s) and a sweep every 5 s. Each user key also expires (``2 * ttl`` after its last
refresh), so that nothing is left behind when every node is gone.

While Redis is unreachable the node keeps working on what it knows. Once a call failed,
``connect`` and ``disconnect`` record the change locally and return False, ``online``
answers with the users connected to this node and ``sweep`` reports nothing, all without
waiting for Redis (a hung Redis would otherwise cost every sign-in a timeout); only the
heartbeat keeps trying. Its first success registers this node's connections again; the next
:meth:`RedisPresence.sweep` removes the connections closed meanwhile and reports the actual
state of every user whose change was not confirmed: a call that timed out may or may not have
happened in Redis, so these users are looked up rather than guessed. An announcement may
therefore repeat one already made, which is harmless: a presence notice states a state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Sequence
from typing import TypeVar

from redis.asyncio import Redis
from redis.asyncio.connection import ConnectionPool
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from parley.broker.redis import command_pool_options, unreachable
from parley.presence.base import Presence, PresenceChanges, PresenceUnavailable
from parley.tasks import stop

log = logging.getLogger(__name__)

#: Users (or connections) per script call: bounds the time Redis spends in one script.
CHUNK = 500

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local live = string.format('(%d', now)
"""

#: KEYS: user key, index. ARGV: member, ttl (ms), user id. 1 if the user just came online.
CONNECT = (
    _NOW
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local before = redis.call('ZCARD', KEYS[1])
local ttl = tonumber(ARGV[2])
local expires = now + ttl
redis.call('ZADD', KEYS[1], expires, ARGV[1])
redis.call('PEXPIRE', KEYS[1], 2 * ttl)
redis.call('ZADD', KEYS[2], 'GT', expires, ARGV[3])
if before == 0 then return 1 end
return 0
"""
)

#: KEYS: index, then n user keys. ARGV: n members, then their n user ids. The users that
#: went offline (their last live connection removed). A member already gone (swept) is
#: skipped: its node's sweep announced it.
DISCONNECT = (
    _NOW
    + """
local n = #KEYS - 1
local offline = {}
for i = 1, n do
  local key = KEYS[i + 1]
  local user = ARGV[n + i]
  if redis.call('ZREM', key, ARGV[i]) == 1 then
    local top = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
    if top[2] and tonumber(top[2]) > now then
      redis.call('ZADD', KEYS[1], top[2], user)
    else
      redis.call('DEL', key)
      redis.call('ZREM', KEYS[1], user)
      offline[#offline + 1] = user
    end
  end
end
return offline
"""
)

#: KEYS: index, then n user keys. ARGV: ttl (ms), n members, then their n user ids.
#: Registers each member again until now + ttl; returns the users that had no live
#: connection before (their entries had expired: they are back).
HEARTBEAT = (
    _NOW
    + """
local n = #KEYS - 1
local ttl = tonumber(ARGV[1])
local expires = now + ttl
local revived = {}
for i = 1, n do
  local key = KEYS[i + 1]
  local user = ARGV[n + i + 1]
  if redis.call('ZCOUNT', key, live, '+inf') == 0 then
    revived[#revived + 1] = user
  end
  redis.call('ZADD', key, expires, ARGV[i + 1])
  redis.call('PEXPIRE', key, 2 * ttl)
  redis.call('ZADD', KEYS[1], 'GT', expires, user)
end
return revived
"""
)

#: KEYS: index. ARGV: user key prefix, limit. Removes the expired connections of users whose
#: latest expiry passed; returns those users (now offline).
SWEEP = (
    _NOW
    + """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
local offline = {}
for _, user in ipairs(due) do
  local key = ARGV[1] .. user
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  local top = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if top[2] then
    redis.call('ZADD', KEYS[1], top[2], user)
  else
    redis.call('ZREM', KEYS[1], user)
    offline[#offline + 1] = user
  end
end
return offline
"""
)

#: KEYS: user keys. 1 for each user with a live connection, else 0.
ONLINE = (
    _NOW
    + """
local out = {}
for i, key in ipairs(KEYS) do
  if redis.call('ZCOUNT', key, live, '+inf') > 0 then out[i] = 1 else out[i] = 0 end
end
return out
"""
)


T = TypeVar("T")


def _chunks(items: Sequence[T]) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


class RedisPresence(Presence):
    """See the module docstring.

    ``node_id`` must be unique per process (the node's id): it keeps connection ids of
    different nodes apart. ``timeout`` bounds connecting and each command.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "parley",
        node_id: str,
        ttl: float = 15.0,
        heartbeat: float = 5.0,
        timeout: float = 2.0,
    ) -> None:
        if not 0 < heartbeat < ttl:
            raise ValueError("the heartbeat must be shorter than the time to live")
        self._pool_options, self.where = command_pool_options(url, timeout)
        self.prefix = prefix
        self.node_id = node_id
        self.ttl = ttl
        self.heartbeat_interval = heartbeat
        self._ttl_ms = round(ttl * 1000)
        self._user_prefix = f"{prefix}:presence:user:"
        self._index = f"{prefix}:presence:users"
        self._client: Redis | None = None
        self._scripts: dict[str, AsyncScript] = {}
        self._heartbeat_task: asyncio.Task[None] | None = None
        #: This node's connections, per user: what the heartbeat refreshes.
        self._local: dict[int, set[str]] = {}
        #: Users registered again by a heartbeat after their entries expired.
        self._revived: set[int] = set()
        #: Connections closed while Redis failed: removed by the next sweep.
        self._removals: set[tuple[int, str]] = set()
        #: Users whose connect or disconnect Redis did not confirm: looked up by the sweep.
        self._unsure: set[int] = set()
        #: Every write (and the local state it goes with) in one order: a heartbeat can then
        #: never re-register a connection behind its disconnect.
        self._lock = asyncio.Lock()
        self._failing = False
        self._closed = False

    @property
    def healthy(self) -> bool:
        """False from a failed call until the heartbeat reaches Redis again."""
        return self._client is not None and not self._failing and not self._closed

    # -- life cycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect, or raise :class:`PresenceUnavailable` with a one-line message naming
        Redis's address; then start the heartbeat."""
        client = Redis.from_pool(ConnectionPool(**self._pool_options))
        try:
            await client.ping()
        except BaseException as exc:
            with contextlib.suppress(RedisError, OSError):
                await client.aclose()
            if isinstance(exc, RedisError | OSError):
                raise PresenceUnavailable(unreachable(self.where, exc)) from None
            raise
        self._client = client
        for name, source in [
            ("connect", CONNECT),
            ("disconnect", DISCONNECT),
            ("heartbeat", HEARTBEAT),
            ("sweep", SWEEP),
            ("online", ONLINE),
        ]:
            self._scripts[name] = client.register_script(source)
        self._heartbeat_task = asyncio.create_task(self._heartbeat_forever())

    async def close(self) -> None:
        """Stop the heartbeat and remove this node's entries (users still connected here go
        offline for everyone; a clean shutdown leaves no ghosts)."""
        if self._closed:
            return
        self._closed = True
        await stop(self._heartbeat_task)  # (redis-py may swallow a cancellation: tasks.py)
        async with self._lock:
            pairs = [(user, conn) for user, conns in self._local.items() for conn in conns]
            pairs.extend(self._removals)
            self._local.clear()
            self._removals.clear()
            if pairs and self._client is not None:
                try:
                    await self._remove(pairs)
                except (RedisError, OSError) as exc:
                    log.warning(
                        "could not remove this node's presence (%s); it expires in %.0f s",
                        exc,
                        self.ttl,
                    )
        if self._client is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._client.aclose()

    # -- connections -------------------------------------------------------------------------

    async def connect(self, user_id: int, conn_id: str) -> bool:
        async with self._lock:
            if self._closed:
                return False
            self._local.setdefault(user_id, set()).add(conn_id)
            if not self._failing:
                try:
                    came = await self._scripts["connect"](
                        keys=[self._user_key(user_id), self._index],
                        args=[self._member(conn_id), self._ttl_ms, user_id],
                    )
                except (RedisError, OSError) as exc:
                    self._failed(exc)
                else:
                    return bool(came)
            # The heartbeat registers it once Redis is back; the sweep then tells.
            self._unsure.add(user_id)
            return False

    async def disconnect(self, user_id: int, conn_id: str) -> bool:
        async with self._lock:
            conns = self._local.get(user_id)
            if conns is None or conn_id not in conns:
                return False
            conns.discard(conn_id)
            if not conns:
                del self._local[user_id]
                self._revived.discard(user_id)
            if not self._failing:
                try:
                    offline = await self._remove([(user_id, conn_id)])
                except (RedisError, OSError) as exc:
                    self._failed(exc)
                else:
                    return bool(offline)
            # Removed by the sweep once Redis is back (or expired by then); the sweep tells.
            self._removals.add((user_id, conn_id))
            self._unsure.add(user_id)
            return False

    async def online(self, user_ids: Iterable[int]) -> set[int]:
        ids = list(dict.fromkeys(user_ids))
        if self._client is None or self._closed or self._failing:
            return {user for user in ids if user in self._local}
        try:
            return await self._online(ids)
        except (RedisError, OSError) as exc:
            self._failed(exc)
            return {user for user in ids if user in self._local}

    # -- expiry --------------------------------------------------------------------------------

    async def heartbeat(self) -> None:
        """Refresh this node's connections to ``now + ttl`` (run every ``heartbeat`` s).

        While Redis is failing, this is the only call that still tries it: the others answer
        from this node's connections at once instead of each waiting for a timeout. Its first
        success ends the outage, with every connection of this node registered again.
        """
        async with self._lock:
            if self._closed or self._client is None:
                return
            pairs = [(user, conn) for user, conns in self._local.items() for conn in conns]
            try:
                for chunk in _chunks(pairs):
                    revived = await self._scripts["heartbeat"](
                        keys=[self._index, *(self._user_key(user) for user, _ in chunk)],
                        args=[
                            self._ttl_ms,
                            *(self._member(conn) for _, conn in chunk),
                            *(user for user, _ in chunk),
                        ],
                    )
                    self._revived.update(int(user) for user in revived)
                if not pairs:
                    await self._client.ping()  # the probe, when there is nothing to refresh
            except (RedisError, OSError) as exc:
                self._failed(exc)
                return
            if self._failing:
                self._failing = False
                log.info("presence: Redis at %s is reachable again", self.where)

    async def sweep(self) -> PresenceChanges:
        """Remove expired connections and those closed during an outage; return who went
        offline by it (their node died, or they left meanwhile), who of this node's users is
        back, and the actual state of users whose change Redis did not confirm."""
        online: set[int] = set()
        offline: set[int] = set()
        async with self._lock:
            if self._closed or self._failing or self._client is None:
                return PresenceChanges()
            try:
                if self._removals:
                    await self._remove(list(self._removals))
                    self._removals.clear()
                for _ in range(100):
                    batch = await self._scripts["sweep"](
                        keys=[self._index], args=[self._user_prefix, CHUNK]
                    )
                    offline.update(int(user) for user in batch)
                    if len(batch) < CHUNK:
                        break
                if self._unsure:
                    unsure = list(self._unsure)
                    found = await self._online(unsure)
                    self._unsure.clear()
                    online |= found
                    offline |= set(unsure) - found
            except (RedisError, OSError) as exc:
                self._failed(exc)
        local = self._local.keys()
        stalled = offline & local
        if stalled:
            # This node's own entries had expired (a stalled loop, an outage): its users are
            # still here. Register them again at once instead of announcing a flap.
            await self.heartbeat()
        online = ((online | self._revived) & local) - stalled
        self._revived.clear()
        return PresenceChanges(frozenset(online), frozenset(offline - local))

    async def _heartbeat_forever(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            try:
                await self.heartbeat()
            except Exception:
                log.exception("the presence heartbeat failed")

    # -- helpers -------------------------------------------------------------------------------

    async def _online(self, ids: Sequence[int]) -> set[int]:
        found: set[int] = set()
        for chunk in _chunks(ids):
            flags = await self._scripts["online"](keys=[self._user_key(u) for u in chunk])
            found.update(user for user, flag in zip(chunk, flags, strict=True) if flag)
        return found

    async def _remove(self, pairs: Sequence[tuple[int, str]]) -> set[int]:
        offline: set[int] = set()
        for chunk in _chunks(pairs):
            gone = await self._scripts["disconnect"](
                keys=[self._index, *(self._user_key(user) for user, _ in chunk)],
                args=[*(self._member(conn) for _, conn in chunk), *(user for user, _ in chunk)],
            )
            offline.update(int(user) for user in gone)
        return offline

    def _user_key(self, user_id: int) -> str:
        return f"{self._user_prefix}{user_id}"

    def _member(self, conn_id: str) -> str:
        return f"{self.node_id}:{conn_id}"

    def _failed(self, exc: BaseException) -> None:
        if not self._failing:
            self._failing = True
            log.warning("presence: %s; using this node's connections only", exc)
