"""The in-process broker: the default, for a single server process.

Several :class:`MemoryBroker` instances sharing one :class:`MemoryBus` behave like nodes
sharing a real broker (used by tests). Delivery goes through the event loop, never
re-entrantly, like a network would.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict

from parley.broker.base import Broker, BrokerStats, PublicationHandler


class MemoryBus:
    """The shared medium of in-process brokers."""

    def __init__(self) -> None:
        self.subscribers: defaultdict[str, set[MemoryBroker]] = defaultdict(set)


class MemoryBroker(Broker):
    """See the module docstring."""

    def __init__(self, bus: MemoryBus | None = None) -> None:
        self._bus = bus or MemoryBus()
        self._handler: PublicationHandler | None = None
        self._channels: set[str] = set()
        self.stats = BrokerStats()

    async def start(self, handler: PublicationHandler) -> None:
        self._handler = handler

    async def close(self) -> None:
        for channel in list(self._channels):
            await self.unsubscribe(channel)
        self._handler = None

    async def subscribe(self, channel: str) -> None:
        self._channels.add(channel)
        self._bus.subscribers[channel].add(self)

    async def unsubscribe(self, channel: str) -> None:
        self._channels.discard(channel)
        members = self._bus.subscribers.get(channel)
        if members is not None:
            members.discard(self)
            if not members:
                del self._bus.subscribers[channel]

    def publish(self, channel: str, data: bytes) -> None:
        self.stats.published += 1
        members = self._bus.subscribers.get(channel)
        if not members:
            return
        loop = asyncio.get_running_loop()
        for broker in members:
            if broker is not self:
                loop.call_soon(broker._deliver, channel, data)

    def _deliver(self, channel: str, data: bytes) -> None:
        if self._handler is not None and channel in self._channels:
            self.stats.received += 1
            self._handler.on_publication(channel, data)

    @property
    def healthy(self) -> bool:
        return True
