"""The broker interface: moves publications between the server processes of one deployment.

The broker keeps nothing: the store is the truth. A node delivers its own publications to
its local clients directly, and publishes them so that the other nodes can do the same;
whatever a broker loses (an outage, a node that died between commit and publish) the nodes
recover from the store, because every room event carries its ``seq``.

Channels are strings: ``room:<id>`` for a room's events and transient notices,
``user:<id>`` for notices to one user's connections, and ``profiles``, which every node
subscribes to, for profile changes (each node tells its own connections).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Protocol


@dataclass(slots=True)
class BrokerStats:
    """Counters for the metrics endpoint (monotonic, like Prometheus counters); every broker
    keeps them, so that what a deployment publishes can be measured whichever it uses."""

    #: Publications sent (Redis: accepted by Redis; in process: handed to the bus).
    published: int = 0
    #: Publications dropped: the queue was full, Redis was unreachable, or the write failed.
    dropped: int = 0
    #: Publications of other nodes handed to the handler.
    received: int = 0
    #: Connections re-established (and every channel subscribed again) after a loss.
    reconnects: int = 0


class BrokerUnavailable(Exception):
    """The broker cannot be reached at start (a wrong URL, or it is down): the message is one
    line naming where it was looked for. Once started, a broker never raises this: it keeps
    serving, reports ``healthy`` False and reconnects by itself."""


class PublicationHandler(Protocol):
    """Receives what other nodes published on the channels this node subscribed to.

    A handler may also define ``on_broker_reconnected(self) -> None`` (optional, so that
    existing handlers stay valid): a broker that lost its connection calls it once it is back
    and subscribed again to every channel. Whatever was published meanwhile was lost, so the
    handler should catch up from the store then.
    """

    def on_publication(self, channel: str, data: bytes) -> None: ...


def notify_reconnected(handler: PublicationHandler) -> None:
    """Call the handler's optional ``on_broker_reconnected`` hook, if it has one."""
    hook = getattr(handler, "on_broker_reconnected", None)
    if callable(hook):
        hook()


class Broker(ABC):
    """See the module docstring. ``stats`` counts what it does (``/metrics``)."""

    stats: BrokerStats

    @abstractmethod
    async def start(self, handler: PublicationHandler) -> None:
        """Connect; from now on ``handler`` receives publications of subscribed channels."""

    @abstractmethod
    async def close(self) -> None:
        """Disconnect. Idempotent."""

    @abstractmethod
    async def subscribe(self, channel: str) -> None:
        """Start receiving ``channel``. Returns once the subscription is active, so that a
        caller may then read the store knowing that nothing published later is missed."""

    @abstractmethod
    async def unsubscribe(self, channel: str) -> None:
        """Stop receiving ``channel``."""

    @abstractmethod
    def publish(self, channel: str, data: bytes) -> None:
        """Send ``data`` to every other node subscribed to ``channel``; never blocks.

        Delivery is best effort: a publication lost during an outage is recovered from the
        store by the receiving nodes.
        """

    @property
    @abstractmethod
    def healthy(self) -> bool:
        """False while the broker is unreachable (``/healthz`` reports it)."""
