"""The figure board: each node's live figures (connections, messages per second, store
commit time), readable by every node, so that the admin page shows the whole deployment.

Each ``parley serve`` process publishes one small entry about itself every couple of seconds
(``figures/publisher.py``); an entry lives for the board's ``ttl`` unless published again, so
a node that stops publishing (killed, hung, cut off) leaves the board within ``ttl`` by
itself, as presence entries do. Reads are bounded: at most ``limit`` entries (``MAX_NODES``
by default), each at most ``MAX_ENTRY`` bytes; the answer says how many nodes there are in
all.
"""

from __future__ import annotations

import json
import math
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import Any, Final

#: Seconds an entry lives unless published again (a node publishes every 2 s): a node that
#: stops publishing leaves every node's list within this.
TTL: Final = 6.0
#: Most entries one read returns (the admin page's per-node list).
MAX_NODES: Final = 100
#: Largest entry (its JSON, in bytes) a board keeps or returns: an entry is about 300.
MAX_ENTRY: Final = 1024
#: Longest node id or address kept in an entry.
MAX_NAME: Final = 200


class FiguresUnavailable(Exception):
    """The board cannot be reached: one line naming where it was looked for."""


def _count(data: dict[str, Any], key: str) -> float:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{key} must be a finite number")
    if value < 0:
        raise ValueError(f"{key} must not be negative")
    return float(value)


def _name(data: dict[str, Any], key: str) -> str:
    value = data[key]
    if not isinstance(value, str) or not value or len(value) > MAX_NAME:
        raise ValueError(f"{key} must be a string of 1 to {MAX_NAME} characters")
    return value


@dataclass(frozen=True, slots=True)
class NodeFigures:
    """One node's entry. Counters are the node's totals since it started (as ``/metrics``);
    the rates are over the node's last publishing interval, so a node that joins or leaves
    never makes a total jump."""

    node: str
    address: str
    pid: int
    started: int  #: ms since the epoch, the node's clock
    at: int  #: when measured, ms since the epoch, the node's clock
    connections: int
    messages_in: int
    events_published: int
    commits: int
    commit_seconds: float
    messages_per_second: float
    #: Mean store commit time over the last interval, None when nothing was committed.
    commit_ms: float | None = field(default=None)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def encode(self) -> str:
        return json.dumps(self.to_json(), separators=(",", ":"))

    @classmethod
    def from_json(cls, data: object) -> NodeFigures:
        """The entry ``data`` describes; ValueError for anything malformed (another
        version's entry, a stray key), which a reader skips."""
        if not isinstance(data, dict):
            raise ValueError("an entry is a JSON object")
        try:
            commit_ms = data["commit_ms"]
            if commit_ms is not None:
                commit_ms = _count(data, "commit_ms")
            return cls(
                node=_name(data, "node"),
                address=_name(data, "address"),
                pid=int(_count(data, "pid")),
                started=int(_count(data, "started")),
                at=int(_count(data, "at")),
                connections=int(_count(data, "connections")),
                messages_in=int(_count(data, "messages_in")),
                events_published=int(_count(data, "events_published")),
                commits=int(_count(data, "commits")),
                commit_seconds=_count(data, "commit_seconds"),
                messages_per_second=_count(data, "messages_per_second"),
                commit_ms=commit_ms,
            )
        except KeyError as exc:
            raise ValueError(f"{exc.args[0]} is missing") from None

    @classmethod
    def decode(cls, raw: str | bytes) -> NodeFigures:
        if len(raw) > MAX_ENTRY:
            raise ValueError(f"an entry is at most {MAX_ENTRY} bytes")
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not JSON: {exc}") from None
        return cls.from_json(data)


@dataclass(frozen=True, slots=True)
class BoardReading:
    """What one read found: the entries (at most the limit, sorted by address and node id)
    and how many nodes are on the board in all (more than ``len(entries)`` when the limit
    cut the list)."""

    entries: tuple[NodeFigures, ...]
    total: int


class FigureBoard(ABC):
    """See the module docstring. ``ttl``: seconds an entry lives unless published again."""

    ttl: float

    @abstractmethod
    async def start(self) -> None:
        """Get ready (connect)."""

    @abstractmethod
    async def close(self) -> None:
        """Disconnect. Idempotent. Entries stay until withdrawn or expired."""

    @abstractmethod
    async def publish(self, figures: NodeFigures) -> None:
        """Put (or replace) ``figures.node``'s entry, alive for ``ttl`` from now. Raises
        :class:`FiguresUnavailable` when the board cannot be reached, ValueError for an
        entry over ``MAX_ENTRY``."""

    @abstractmethod
    async def withdraw(self, node: str) -> None:
        """Remove a node's entry (a clean shutdown). Raises :class:`FiguresUnavailable`."""

    @abstractmethod
    async def read(self, limit: int = MAX_NODES) -> BoardReading:
        """The live entries, at most ``limit``. Raises :class:`FiguresUnavailable`."""


def checked(figures: NodeFigures) -> str:
    """The entry as stored: its JSON, refused (ValueError) over ``MAX_ENTRY`` bytes."""
    raw = figures.encode()
    if len(raw.encode()) > MAX_ENTRY:
        raise ValueError(f"an entry is at most {MAX_ENTRY} bytes")
    return raw


def ordered(entries: list[NodeFigures]) -> tuple[NodeFigures, ...]:
    return tuple(sorted(entries, key=lambda entry: (entry.address, entry.node)))
