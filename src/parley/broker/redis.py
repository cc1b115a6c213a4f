"""The Redis broker: Redis pub/sub between the server processes of one deployment.

Theory of operation:

* **Two connections.** One connection is in subscribe mode for the life of the broker; it is
  driven by two tasks, a *reader* (every reply: publications, subscription confirmations,
  PONGs) and a *writer* (the only task that sends on it). Publications go out on a second,
  ordinary connection, from a background *publisher* task.

* **Subscriptions are desired state.** :meth:`subscribe` and :meth:`unsubscribe` only edit the
  set of channels the node wants and wake the writer, which sends one ``SUBSCRIBE`` for what
  is wanted but not requested on the connection and one ``UNSUBSCRIBE`` for the reverse.
  Redis answers every channel of every command in order, so counting the answers still due
  per channel tells when a channel is *settled*: no answer due and the connection's state
  equals the wanted state. :meth:`subscribe` returns once its channel is settled, so when it
  returns Redis has confirmed the subscription. Because the writer always reconciles with
  the *latest* wanted state, an unsubscribe that races a new subscribe of the same channel
  cannot leave it unsubscribed: whatever order the commands take, the last one sent matches
  the last call. Publications of channels no longer wanted are dropped on arrival, so
  delivery stops as soon as :meth:`unsubscribe` is called.

* **Publishing never blocks.** :meth:`publish` appends to a bounded queue and returns; the
  publisher sends whatever has queued up in one pipeline (one round trip for many
  publications), one pipeline at a time, so one node's publications on a channel keep their
  order. When the queue is full, or Redis is unreachable, a publication is dropped and
  counted (``parley_broker_dropped_total``), and a full queue is logged when it starts
  dropping and when it drains, with the count: the store is the truth, and receivers fill
  gaps of room events from it (at the next event, or the periodic catch-up within 5 s);
  notices to users that are not stored (membership and follow notices, profiles) are lost
  with their publication, which the log says.

* **Outages.** The connection is lost when a read or write fails, or when Redis does not
  answer a ``PING`` (sent every ``ping_interval`` seconds) before the next one is due, so a
  hung Redis is noticed within two intervals (10 s by default). Then ``healthy`` turns
  False, waiting :meth:`subscribe` calls return (the channel stays wanted), queued
  publications are dropped, and the broker reconnects with exponential backoff (by default
  0.1 s doubling up to 5 s, each delay drawn between half and all of that, so that many
  nodes do not reconnect in step). On the new connection the writer subscribes every
  wanted channel and sends a ``PING`` behind them; its ``PONG`` means every subscription is
  confirmed, so the broker is healthy again and tells the handler
  (``on_broker_reconnected``, see :class:`~parley.broker.base.PublicationHandler`) so that
  the node catches up from the store. :meth:`subscribe` while disconnected returns at once:
  the channel is subscribed on reconnection, and that same notice covers what it missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import random
from collections import deque
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection, Connection, ConnectionPool, parse_url
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from parley.broker.base import (
    Broker,
    BrokerStats,
    BrokerUnavailable,
    PublicationHandler,
    notify_reconnected,
)
from parley.tasks import stop

log = logging.getLogger(__name__)


def redis_options(url: str) -> tuple[type[AbstractConnection], dict[str, Any], str]:
    """The connection class, keyword arguments and ``host:port`` (or socket path) of a
    ``redis://``, ``rediss://`` or ``unix://`` URL. Raises ValueError for anything else."""
    options: dict[str, Any] = dict(parse_url(url))
    connection_class: type[AbstractConnection] = options.pop("connection_class", Connection)
    if "path" in options:
        where = str(options["path"])
    else:
        where = f"{options.get('host', 'localhost')}:{options.get('port', 6379)}"
    return connection_class, options, where


def command_pool_options(url: str, timeout: float) -> tuple[dict[str, Any], str]:
    """Connection pool options for commands that must answer within ``timeout`` (presence,
    the figure board: no retry, a failure is theirs to handle), and ``host:port``."""
    connection_class, options, where = redis_options(url)
    return {
        **options,
        "connection_class": connection_class,
        "socket_connect_timeout": timeout,
        "socket_timeout": timeout,
        "retry": Retry(NoBackoff(), 0),
        # RESP2: redis-py then checks a pooled connection before using it, so the first
        # command after Redis restarted does not fail on a dead socket (with RESP3 it
        # skips that check when it listens for maintenance notifications).
        "protocol": 2,
    }, where


def unreachable(where: str, exc: BaseException) -> str:
    """A one-line reason why Redis at ``where`` could not be used."""
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, OSError) and cause.errno and cause.errno > 0:
        reason = os.strerror(cause.errno)  # asyncio's own text repeats the address
    elif isinstance(cause, OSError) and cause.strerror:
        reason = cause.strerror  # e.g. a name that does not resolve
    else:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"cannot reach Redis at {where}: {reason}"


class RedisBroker(Broker):
    """See the module docstring.

    ``prefix`` namespaces the Redis channels (``<prefix>:room:1``), so that several
    deployments (or tests) can share one Redis. ``timeout`` bounds connecting and waiting for
    Redis to take a batch of publications; ``subscribe_timeout`` bounds waiting for a
    subscription's confirmation, after which the connection is deemed stuck and replaced.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "parley",
        queue_size: int = 10_000,
        batch_size: int = 512,
        timeout: float = 2.0,
        ping_interval: float = 5.0,
        subscribe_timeout: float = 5.0,
        backoff_min: float = 0.1,
        backoff_max: float = 5.0,
        close_timeout: float = 1.0,
    ) -> None:
        connection_class, options, self.where = redis_options(url)
        self.prefix = prefix
        self.stats = BrokerStats()
        self._prefix = f"{prefix}:".encode()
        self._connection_class = connection_class
        common = {
            **options,
            "socket_connect_timeout": timeout,
            # Retrying is this class's business (and a publication is never retried).
            "retry": Retry(NoBackoff(), 0),
            # A health check would read a reply that belongs to the reader task.
            "health_check_interval": 0,
        }
        # RESP2 everywhere: publications arrive as ordinary replies, in order with the
        # confirmations; and redis-py checks a pooled connection before each use only then
        # (not while it listens for RESP3 maintenance notifications).
        self._subscriber_options = {**common, "protocol": 2, "socket_timeout": None}
        self._publisher_options = {**common, "protocol": 2, "socket_timeout": timeout}
        self._queue_size = queue_size
        self._batch_size = batch_size
        self._ping_interval = ping_interval
        self._subscribe_timeout = subscribe_timeout
        self._backoff_min = backoff_min
        self._backoff_max = backoff_max
        self._close_timeout = close_timeout

        self._handler: PublicationHandler | None = None
        self._publisher: Redis | None = None
        self._run_task: asyncio.Task[None] | None = None
        self._publish_task: asyncio.Task[None] | None = None
        self._healthy = False
        self._closed = False

        # Subscriptions: what the node wants ...
        self._desired: set[str] = set()
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}
        # ... and, on the current connection (reset on each): channels whose last command
        # sent was SUBSCRIBE, answers still due per channel, PINGs sent (True: the barrier
        # behind the subscriptions of a new connection).
        self._conn: AbstractConnection | None = None
        self._requested: set[str] = set()
        self._inflight: dict[str, int] = {}
        self._pings: deque[bool] = deque()
        self._reconnected = False
        self._dirty = asyncio.Event()
        self._writer_task: asyncio.Task[None] | None = None

        # Publishing.
        self._queue: deque[tuple[str, bytes]] = deque()
        self._overflow = 0  # publications dropped on a full queue since it last drained
        self._queued = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()
        self._publish_failing = False

    # -- life cycle ------------------------------------------------------------------------

    async def start(self, handler: PublicationHandler) -> None:
        """Connect both connections, or raise :class:`BrokerUnavailable` (within ``timeout``
        at most) with a one-line message naming Redis's address."""
        if self._handler is not None or self._closed:
            raise RuntimeError("a RedisBroker starts once")
        publisher = Redis.from_pool(
            ConnectionPool(connection_class=self._connection_class, **self._publisher_options)
        )
        conn = self._connection_class(**self._subscriber_options)
        try:
            await conn.connect_check_health(retry_socket_connect=False)
            await publisher.ping()
        except BaseException as exc:
            await self._disconnect(conn)
            with contextlib.suppress(RedisError, OSError):
                await publisher.aclose()
            if isinstance(exc, RedisError | OSError):
                raise BrokerUnavailable(unreachable(self.where, exc)) from None
            raise
        self._handler = handler
        self._publisher = publisher
        self._healthy = True
        self._run_task = asyncio.create_task(self._run(conn))
        self._publish_task = asyncio.create_task(self._publish_forever())

    async def close(self) -> None:
        """Send what is queued (for at most ``close_timeout`` seconds), then disconnect."""
        if self._closed:
            return
        self._closed = True
        if self._publish_task is not None and self._healthy and not self._drained.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._close_timeout):
                    await self._drained.wait()
        self._healthy = False
        for task in (self._publish_task, self._run_task):
            await stop(task)
        self.stats.dropped += len(self._queue)
        self._queue.clear()
        self._release_waiters()
        if self._publisher is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._publisher.aclose()
        self._handler = None

    @property
    def healthy(self) -> bool:
        return self._healthy

    @property
    def queued(self) -> int:
        """Publications waiting for the publisher (a gauge for the metrics endpoint)."""
        return len(self._queue)

    # -- subscriptions ---------------------------------------------------------------------

    async def subscribe(self, channel: str) -> None:
        """Want ``channel``; return once Redis confirmed it, or at once while disconnected
        (it is subscribed on reconnection, and the handler is then told to catch up)."""
        self._desired.add(channel)
        if self._closed or self._conn is None or self._settled(channel):
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(channel, []).append(waiter)
        self._dirty.set()
        try:
            async with asyncio.timeout(self._subscribe_timeout):
                await waiter
        except TimeoutError:
            log.warning(
                "Redis at %s did not confirm a subscription within %.1f s; reconnecting",
                self.where,
                self._subscribe_timeout,
            )
            if self._writer_task is not None:
                self._writer_task.cancel()
        finally:
            waiters = self._waiters.get(channel)
            if waiters is not None and waiter in waiters:
                waiters.remove(waiter)
                if not waiters:
                    del self._waiters[channel]

    async def unsubscribe(self, channel: str) -> None:
        """Stop wanting ``channel``: its publications are ignored from now on, and the writer
        unsubscribes it in the background."""
        self._desired.discard(channel)
        if self._conn is not None:
            self._dirty.set()
        self._settle(channel)

    def _settled(self, channel: str) -> bool:
        return not self._inflight.get(channel) and (
            (channel in self._requested) == (channel in self._desired)
        )

    def _settle(self, channel: str) -> None:
        """Release the waiters of ``channel`` if the connection reached the wanted state."""
        if self._settled(channel):
            for waiter in self._waiters.pop(channel, ()):
                if not waiter.done():
                    waiter.set_result(None)

    def _release_waiters(self) -> None:
        waiters, self._waiters = self._waiters, {}
        for channel_waiters in waiters.values():
            for waiter in channel_waiters:
                if not waiter.done():
                    waiter.set_result(None)

    # -- the subscriber connection -----------------------------------------------------------

    async def _run(self, conn: AbstractConnection | None) -> None:
        """Serve a connection until it is lost, then reconnect (backoff with jitter)."""
        attempt = 0
        while True:
            if conn is not None:
                await self._serve(conn)
                conn = None
                self._reconnected = True
                attempt = 0
            delay = min(self._backoff_max, self._backoff_min * 2 ** min(attempt, 30))
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
            attempt += 1
            candidate = self._connection_class(**self._subscriber_options)
            try:
                await candidate.connect_check_health(retry_socket_connect=False)
            except (RedisError, OSError) as exc:
                await self._disconnect(candidate)
                log.debug("%s", unreachable(self.where, exc))
                continue
            except BaseException:  # closed while connecting
                await self._disconnect(candidate)
                raise
            conn = candidate
            if self._publisher is not None:
                # The publisher's pooled connection died with the server: drop it now rather
                # than lose the first batch after the outage on it.
                with contextlib.suppress(RedisError, OSError):
                    await self._publisher.connection_pool.disconnect()

    async def _serve(self, conn: AbstractConnection) -> None:
        self._conn = conn
        self._requested.clear()
        self._inflight.clear()
        self._pings.clear()
        self._dirty.set()  # subscribe every wanted channel, then the barrier PING
        reader = asyncio.create_task(self._read(conn))
        writer = self._writer_task = asyncio.create_task(self._write(conn))
        try:
            done, _ = await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                error = None if task.cancelled() else task.exception()
                if error is not None and not isinstance(error, RedisError | OSError):
                    log.error("the Redis subscriber failed", exc_info=error)
                else:
                    log.warning(
                        "lost the connection to Redis at %s (%s); reconnecting",
                        self.where,
                        error or "stuck",
                    )
        finally:
            for task in (reader, writer):
                task.cancel()
            await asyncio.gather(reader, writer, return_exceptions=True)
            self._writer_task = None
            self._lost()
            await self._disconnect(conn)

    def _lost(self) -> None:
        """The connection is gone: report it, drop the queue, release subscribe callers."""
        self._conn = None
        self._healthy = False
        self._requested.clear()
        self._inflight.clear()
        self._pings.clear()
        self._release_waiters()
        self.stats.dropped += len(self._queue)
        self._queue.clear()

    async def _write(self, conn: AbstractConnection) -> None:
        """The only sender on the subscriber connection: reconcile, and PING to detect a
        connection that went silent."""
        loop = asyncio.get_running_loop()
        barrier = True
        next_ping = loop.time() + self._ping_interval
        while True:
            remaining = next_ping - loop.time()
            if remaining > 0 and not self._dirty.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(remaining):
                        await self._dirty.wait()
            commands: list[tuple[str, ...]] = []
            if self._dirty.is_set():
                self._dirty.clear()
                commands.extend(self._reconcile())
                if barrier:
                    commands.append(("PING",))
                    self._pings.append(True)
                    barrier = False
            if loop.time() >= next_ping:
                if self._pings:
                    raise RedisConnectionError(f"no answer to PING in {self._ping_interval} s")
                commands.append(("PING",))
                self._pings.append(False)
                next_ping = loop.time() + self._ping_interval
            if commands:
                await conn.send_packed_command(conn.pack_commands(commands), check_health=False)

    def _reconcile(self) -> list[tuple[str, ...]]:
        """The commands that take the connection from its requested state to the wanted one
        (recorded as sent: the caller sends them before anything else is sent)."""
        add = sorted(self._desired - self._requested)
        remove = sorted(self._requested - self._desired)
        commands: list[tuple[str, ...]] = []
        if add:
            commands.append(("SUBSCRIBE", *(f"{self.prefix}:{c}" for c in add)))
            self._requested.update(add)
        if remove:
            commands.append(("UNSUBSCRIBE", *(f"{self.prefix}:{c}" for c in remove)))
            self._requested.difference_update(remove)
        for channel in (*add, *remove):
            self._inflight[channel] = self._inflight.get(channel, 0) + 1
        return commands

    async def _read(self, conn: AbstractConnection) -> None:
        while True:
            reply = await conn.read_response(timeout=math.inf)
            if isinstance(reply, list) and len(reply) >= 2:
                kind = reply[0]
                if kind == b"message" and len(reply) == 3:
                    self._on_message(reply[1], reply[2])
                elif kind in (b"subscribe", b"unsubscribe"):
                    channel = self._channel(reply[1])
                    if channel is not None:
                        self._on_confirmation(channel)
                elif kind == b"pong":
                    self._on_pong()
            elif reply == b"PONG":  # PING outside subscribe mode (no channel subscribed)
                self._on_pong()

    def _channel(self, raw: object) -> str | None:
        if not isinstance(raw, bytes) or not raw.startswith(self._prefix):
            return None
        try:
            return raw[len(self._prefix) :].decode()
        except UnicodeDecodeError:
            return None

    def _on_message(self, raw_channel: object, data: object) -> None:
        channel = self._channel(raw_channel)
        handler = self._handler
        if channel is None or channel not in self._desired or handler is None:
            return  # not ours, or unsubscribed since (the UNSUBSCRIBE may still be in flight)
        if not isinstance(data, bytes):
            return
        self.stats.received += 1
        try:
            handler.on_publication(channel, data)
        except Exception:
            log.exception("the publication handler failed on %s", channel)

    def _on_confirmation(self, channel: str) -> None:
        due = self._inflight.get(channel, 0) - 1
        if due > 0:
            self._inflight[channel] = due
        else:
            self._inflight.pop(channel, None)
            self._settle(channel)

    def _on_pong(self) -> None:
        if not self._pings or not self._pings.popleft():
            return
        # The barrier: every subscription sent before it is confirmed.
        self._healthy = True
        if self._reconnected:
            self._reconnected = False
            self.stats.reconnects += 1
            log.info(
                "reconnected to Redis at %s; %d channels subscribed again",
                self.where,
                len(self._requested),
            )
            if self._handler is not None:
                try:
                    notify_reconnected(self._handler)
                except Exception:
                    log.exception("the handler failed on a broker reconnection")

    @staticmethod
    async def _disconnect(conn: AbstractConnection) -> None:
        with contextlib.suppress(RedisError, OSError, TimeoutError):
            await conn.disconnect(nowait=True)

    # -- publishing --------------------------------------------------------------------------

    def publish(self, channel: str, data: bytes) -> None:
        """Queue ``data`` for the publisher; drop it (counted) when the queue is full or
        Redis is unreachable. Never blocks, never raises."""
        if not self._healthy or self._closed:
            self.stats.dropped += 1
            return
        if len(self._queue) >= self._queue_size:
            self.stats.dropped += 1
            if not self._overflow:
                log.warning(
                    "broker publish queue full (%d): dropping publications until it drains;"
                    " rooms catch up from the store, notices to users are lost",
                    self._queue_size,
                    extra={"event": "broker_overflow"},
                )
            self._overflow += 1
            return
        self._queue.append((channel, data))
        self._drained.clear()
        self._queued.set()

    async def _publish_forever(self) -> None:
        assert self._publisher is not None
        while True:
            await self._queued.wait()
            self._queued.clear()
            while self._queue:
                count = min(len(self._queue), self._batch_size)
                batch = [self._queue.popleft() for _ in range(count)]
                if await self._send(self._publisher, batch):
                    self.stats.published += len(batch)
                else:
                    self.stats.dropped += len(batch)
                    # Redis is failing: do not spin; the subscriber decides about health.
                    await asyncio.sleep(self._backoff_min)
            if self._overflow:
                log.warning(
                    "broker publish queue drained; %d publications were dropped while it was full",
                    self._overflow,
                    extra={"event": "broker_overflow_end"},
                )
                self._overflow = 0
            self._drained.set()

    async def _send(self, publisher: Redis, batch: list[tuple[str, bytes]]) -> bool:
        """One pipeline, one round trip. True if Redis took every publication."""
        try:
            async with publisher.pipeline(transaction=False) as pipe:
                for channel, data in batch:
                    pipe.publish(f"{self.prefix}:{channel}", data)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            if not self._publish_failing:
                self._publish_failing = True
                log.warning("cannot publish to Redis at %s: %s", self.where, exc)
            return False
        except Exception:  # a bug: lose this batch, not the publisher
            log.exception("publishing to Redis at %s failed", self.where)
            return False
        self._publish_failing = False
        return True
