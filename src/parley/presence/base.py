"""The presence interface: which users have at least one open connection, anywhere.

Presence is kept per user, not per room: a signed-in user is online in every room they are a
member of, and a room's online list is its members who are online. Several tabs (or devices)
of one user count once. Entries of a node that dies must disappear by themselves (the Redis
implementation gives them a time to live, refreshed by each node's heartbeat).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field


class PresenceUnavailable(Exception):
    """The presence backend cannot be reached at start: the message is one line naming where
    it was looked for."""


@dataclass(frozen=True, slots=True)
class PresenceChanges:
    """What changed without a ``connect``/``disconnect`` call on the node that sweeps.

    ``offline``: users whose last connection expired because its node died (or stalled past
    the time to live); no ``disconnect`` announced it. ``online``: users whose connections on
    *this* node had expired (a long outage, a stalled event loop) and were registered again.
    The node announces both, as it would for ``disconnect``/``connect`` returning True.
    """

    online: frozenset[int] = field(default_factory=frozenset)
    offline: frozenset[int] = field(default_factory=frozenset)


class Presence(ABC):
    """See the module docstring."""

    @abstractmethod
    async def start(self) -> None:
        """Connect and start any heartbeat."""

    @abstractmethod
    async def close(self) -> None:
        """Remove this node's entries and disconnect. Idempotent."""

    @abstractmethod
    async def connect(self, user_id: int, conn_id: str) -> bool:
        """Record one more connection of a user; True if the user just came online."""

    @abstractmethod
    async def disconnect(self, user_id: int, conn_id: str) -> bool:
        """Forget one connection; True if the user just went offline."""

    @abstractmethod
    async def online(self, user_ids: Iterable[int]) -> set[int]:
        """Which of ``user_ids`` are online."""

    async def sweep(self) -> PresenceChanges:
        """Expire the entries of dead nodes; see :class:`PresenceChanges`. The node calls it
        every few seconds. In-process presence has nothing that expires: no changes."""
        return PresenceChanges()
